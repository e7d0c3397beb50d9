//! Profiles: the rectification of a person's identity data (SPEC §6) by the person or their
//! guardian. Every touched field must be writable under the policy, and the change commits with
//! its audit record, which names the fields changed, never their values.

use sea_orm::{ActiveModelTrait, ActiveValue::Set, TransactionTrait};
use uuid::Uuid;

use super::registration::email_taken;
use super::{UserRecord, audit_identity_change, find_record};
use crate::domain::Services;
use crate::domain::types::{BirthDate, Civility, Email, Locale, PersonName, Phone, PostalAddress};
use crate::entities::user;
use crate::error::{AppError, AppResult};
use crate::policy::{self, Actor, DataField, Op, Relations};

/// A change to one field: leave it, clear it, or set it.
#[derive(Clone, Debug, Default)]
pub enum Patch<T> {
    #[default]
    Keep,
    Clear,
    Set(T),
}

impl<T> Patch<T> {
    fn touched(&self) -> bool {
        !matches!(self, Patch::Keep)
    }
}

/// A rectification of a profile (SPEC §6), already parsed.
#[derive(Clone, Debug, Default)]
pub struct ProfilePatch {
    pub civility: Patch<Civility>,
    pub first_name: Patch<PersonName>,
    pub last_name: Patch<PersonName>,
    pub email: Patch<Email>,
    pub phone: Patch<Phone>,
    pub postal_address: Patch<PostalAddress>,
    pub birth_date: Patch<BirthDate>,
    pub locale: Patch<Locale>,
}

impl ProfilePatch {
    fn touched_fields(&self) -> Vec<DataField> {
        let mut f = Vec::new();
        let pairs: [(bool, DataField); 8] = [
            (self.civility.touched(), DataField::Civility),
            (self.first_name.touched(), DataField::FirstName),
            (self.last_name.touched(), DataField::LastName),
            (self.email.touched(), DataField::Email),
            (self.phone.touched(), DataField::Phone),
            (self.postal_address.touched(), DataField::PostalAddress),
            (self.birth_date.touched(), DataField::BirthDate),
            (self.locale.touched(), DataField::Locale),
        ];
        for (t, d) in pairs {
            if t {
                f.push(d);
            }
        }
        f
    }
}

/// Rectifies a profile (the subject, or a guardian for a ward). Every touched field must be
/// writable under the policy; the change and its audit record commit together.
#[tracing::instrument(
    skip_all,
    fields(
        tenant.id = %actor.tenant_id,
        actor.id = actor.user_id.map(tracing::field::display),
        user.id = %target,
    )
)]
pub async fn update_profile(
    services: &Services,
    actor: &Actor,
    relations: &Relations,
    target: Uuid,
    patch: ProfilePatch,
) -> AppResult<UserRecord> {
    let record = find_record(services, actor.tenant_id, target).await?.ok_or(AppError::NotFound)?;
    let facts = record.facts();
    let fields = patch.touched_fields();
    if fields.is_empty() {
        return Err(AppError::bad_input("input", "names no field to change"));
    }
    // Every touched field must be writable; the column that grants the first one gives the
    // purpose recorded in the audit log (own data, guardianship).
    let mut column = None;
    for f in &fields {
        let granted = policy::granting_column(actor, relations, &facts, *f, Op::Write)
            .ok_or(AppError::Forbidden)?;
        column.get_or_insert(granted);
    }
    let column = column.ok_or(AppError::Forbidden)?;
    if let Patch::Set(email) = &patch.email
        && email_taken(&services.db, actor.tenant_id, email, Some(target)).await?
    {
        return Err(AppError::Conflict("another account uses this e-mail address".into()));
    }
    let now = services.clock.now();
    let mut m: user::ActiveModel = record.user.clone().into();
    match patch.civility {
        Patch::Keep => {}
        Patch::Clear => m.civility = Set(None),
        Patch::Set(c) => m.civility = Set(Some(c)),
    }
    if let Patch::Set(n) = patch.first_name {
        m.first_name = Set(n.into_inner());
    }
    if let Patch::Set(n) = patch.last_name {
        m.last_name = Set(n.into_inner());
    }
    if let Patch::Set(e) = patch.email {
        m.email = Set(Some(e.into_inner()));
    }
    match patch.phone {
        Patch::Keep => {}
        Patch::Clear => m.phone = Set(None),
        Patch::Set(p) => m.phone = Set(Some(p.into_inner())),
    }
    match patch.postal_address {
        Patch::Keep => {}
        Patch::Clear => {
            m.address_line1 = Set(None);
            m.address_line2 = Set(None);
            m.postal_code = Set(None);
            m.city = Set(None);
            m.country = Set(None);
        }
        Patch::Set(a) => {
            m.address_line1 = Set(Some(a.line1));
            m.address_line2 = Set(a.line2);
            m.postal_code = Set(Some(a.postal_code));
            m.city = Set(Some(a.city));
            m.country = Set(Some(a.country));
        }
    }
    match patch.birth_date {
        Patch::Keep => {}
        Patch::Clear => m.birth_date = Set(None),
        Patch::Set(b) => m.birth_date = Set(Some(b.date())),
    }
    if let Patch::Set(l) = patch.locale {
        m.locale = Set(l.into_inner());
    }
    m.updated_at = Set(now);
    let names: Vec<&str> = fields.iter().map(|f| field_name(*f)).collect();
    let actor_c = actor.clone();
    services
        .db
        .transaction::<_, _, AppError>(|txn| {
            Box::pin(async move {
                m.update(txn).await?;
                audit_identity_change(
                    txn,
                    &actor_c,
                    now,
                    target,
                    "profile.rectified",
                    column.purpose(),
                    serde_json::json!({ "fields": names }),
                )
                .await
            })
        })
        .await
        .map_err(|e| {
            AppError::from(e).unique_as_conflict("another account uses this e-mail address")
        })?;
    find_record(services, actor.tenant_id, target).await?.ok_or(AppError::NotFound)
}

fn field_name(f: DataField) -> &'static str {
    match f {
        DataField::Civility => "civility",
        DataField::FirstName => "firstName",
        DataField::LastName => "lastName",
        DataField::Email => "email",
        DataField::Phone => "phone",
        DataField::PostalAddress => "postalAddress",
        DataField::BirthDate => "birthDate",
        DataField::Locale => "locale",
        other => other.category().as_str(),
    }
}
