//! The values the final scan looks for: the person's e-mail, phone, name (both orders, and the
//! display name), postal address lines and birth date, read from their account row before it
//! is anonymised. Postal codes, cities and countries alone are nobody's.
//!
//! A value another account of the organisation holds as its own (a household's shared address
//! or phone, a namesake, someone born the same day) is that person's data too: it is not
//! searched, and the report says which kinds were left out for that reason.
//!
//! Nothing here ever prints a value: [`Values`]' `Debug` shows the kinds only.

use sea_orm::{ColumnTrait, Condition, ConnectionTrait, QueryFilter};
use serde::{Deserialize, Serialize};

use crate::domain::tenancy::scoped;
use crate::entities::enums::AccountStatus;
use crate::entities::user;
use crate::error::AppResult;

/// The kinds of personal value the final scan looks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueKind {
    Email,
    Phone,
    Name,
    Address,
    BirthDate,
}

impl ValueKind {
    pub const ALL: [ValueKind; 5] = [
        ValueKind::Email,
        ValueKind::Phone,
        ValueKind::Name,
        ValueKind::Address,
        ValueKind::BirthDate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ValueKind::Email => "email",
            ValueKind::Phone => "phone",
            ValueKind::Name => "name",
            ValueKind::Address => "address",
            ValueKind::BirthDate => "birth_date",
        }
    }
}

/// Values shorter than this are not searched: they would match everywhere.
const MIN_CHARS: usize = 4;

/// The person's values, by kind.
pub(super) struct Values {
    items: Vec<(ValueKind, String)>,
}

impl std::fmt::Debug for Values {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.kinds()).finish()
    }
}

impl Values {
    /// The values of an account row (not anonymised yet).
    pub(super) fn of(u: &user::Model) -> Values {
        let mut items = Vec::new();
        let mut add = |kind: ValueKind, v: Option<String>| {
            if let Some(v) = v.map(|v| v.trim().to_owned())
                && v.chars().count() >= MIN_CHARS
                && !items.iter().any(|(k, x)| *k == kind && *x == v)
            {
                items.push((kind, v));
            }
        };
        add(ValueKind::Email, u.email.as_ref().map(|e| e.to_lowercase()));
        add(ValueKind::Phone, u.phone.clone());
        let (first, last) = (u.first_name.trim(), u.last_name.trim());
        if !first.is_empty() && !last.is_empty() {
            add(ValueKind::Name, Some(format!("{first} {last}")));
            add(ValueKind::Name, Some(format!("{last} {first}")));
        }
        add(ValueKind::Name, u.display_name.clone());
        add(ValueKind::Address, u.address_line1.clone());
        add(ValueKind::Address, u.address_line2.clone());
        add(ValueKind::BirthDate, u.birth_date.map(|d| d.format("%Y-%m-%d").to_string()));
        Values { items }
    }

    /// The kinds present, each once, in [`ValueKind::ALL`] order.
    pub(super) fn kinds(&self) -> Vec<ValueKind> {
        ValueKind::ALL.into_iter().filter(|k| self.items.iter().any(|(i, _)| i == k)).collect()
    }

    pub(super) fn values(&self) -> impl Iterator<Item = &str> {
        self.items.iter().map(|(_, v)| v.as_str())
    }

    /// Leaves out the kinds another active account of the tenant holds as its own; returns
    /// them.
    pub(super) async fn drop_shared<C: ConnectionTrait>(
        &mut self,
        conn: &C,
        u: &user::Model,
    ) -> AppResult<Vec<ValueKind>> {
        let mut shared = Vec::new();
        for kind in self.kinds() {
            let cond = match kind {
                // Unique per organisation.
                ValueKind::Email => continue,
                ValueKind::Phone => match &u.phone {
                    Some(p) => Condition::all().add(user::Column::Phone.eq(p.as_str())),
                    None => continue,
                },
                ValueKind::Name => {
                    let mut c = Condition::any().add(
                        Condition::all()
                            .add(user::Column::FirstName.eq(u.first_name.as_str()))
                            .add(user::Column::LastName.eq(u.last_name.as_str())),
                    );
                    if let Some(d) = &u.display_name {
                        c = c.add(user::Column::DisplayName.eq(d.as_str()));
                    }
                    c
                }
                ValueKind::Address => {
                    let lines: Vec<&str> = [&u.address_line1, &u.address_line2]
                        .into_iter()
                        .filter_map(|l| l.as_deref())
                        .collect();
                    if lines.is_empty() {
                        continue;
                    }
                    let mut c = Condition::any();
                    for l in lines {
                        c = c
                            .add(user::Column::AddressLine1.eq(l))
                            .add(user::Column::AddressLine2.eq(l));
                    }
                    c
                }
                ValueKind::BirthDate => match u.birth_date {
                    Some(d) => Condition::all().add(user::Column::BirthDate.eq(d)),
                    None => continue,
                },
            };
            let other = scoped::<user::Entity>(u.tenant_id)
                .filter(user::Column::Id.ne(u.id))
                .filter(user::Column::Status.ne(AccountStatus::Erased))
                .filter(cond)
                .one(conn)
                .await?;
            if other.is_some() {
                shared.push(kind);
            }
        }
        self.items.retain(|(k, _)| !shared.contains(k));
        Ok(shared)
    }
}
