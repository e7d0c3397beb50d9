//! A tenant's narrowing of the need-to-know matrix (issue 14, item 4): the organisation may
//! remove cells of the default table (instructors without their learners' contact data, say),
//! never add any. Stored as data (`tenants.settings.narrowed`, pairs of ACCESS.md names), carried
//! by every [`Actor`](super::Actor) of the tenant and applied by
//! [`granting_column`](super::granting_column), so every decision sees it.
//!
//! What may be removed: a cell of a staff column that grants something, except the privacy
//! officer's (who answers people's requests). A person's own data (`self`) and their guardian's
//! access are their rights, not the organisation's choice.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::matrix::{self, Category, Column};

/// The cells a tenant removed (empty: the default table).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Narrowing(Arc<BTreeSet<(Category, Column)>>);

/// Why a cell cannot be removed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotNarrowable {
    /// `self`, `guardian` and `privacy_officer` keep their cells.
    ProtectedColumn,
    /// The default table grants nothing there.
    NothingGranted,
}

impl Narrowing {
    pub fn new(cells: impl IntoIterator<Item = (Category, Column)>) -> Self {
        Narrowing(Arc::new(cells.into_iter().collect()))
    }

    /// Whether the tenant removed `column`'s access to `category`.
    pub fn removes(&self, category: Category, column: Column) -> bool {
        self.0.contains(&(category, column))
    }

    pub fn cells(&self) -> impl Iterator<Item = (Category, Column)> + '_ {
        self.0.iter().copied()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether a tenant may remove this cell.
    pub fn check(category: Category, column: Column) -> Result<(), NotNarrowable> {
        if matches!(column, Column::Subject | Column::Guardian | Column::PrivacyOfficer) {
            return Err(NotNarrowable::ProtectedColumn);
        }
        let cell = matrix::cell(category, column);
        if !cell.read && !cell.write {
            return Err(NotNarrowable::NothingGranted);
        }
        Ok(())
    }

    /// From the stored form (`[["contact", "instructor"], …]`); entries that are unknown or no
    /// longer removable are ignored (a later release may rename or protect a cell).
    pub fn from_json(v: Option<&serde_json::Value>) -> Self {
        let cells = v.and_then(|v| v.as_array()).into_iter().flatten().filter_map(|pair| {
            let category = Category::parse(pair.get(0)?.as_str()?)?;
            let column = Column::parse(pair.get(1)?.as_str()?)?;
            Narrowing::check(category, column).ok()?;
            Some((category, column))
        });
        Narrowing::new(cells)
    }

    /// The stored form.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::Value::Array(
            self.cells().map(|(c, col)| serde_json::json!([c.as_str(), col.as_str()])).collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_granted_staff_cells_may_be_removed_and_the_stored_form_round_trips() {
        assert_eq!(Narrowing::check(Category::Contact, Column::Instructor), Ok(()));
        assert_eq!(
            Narrowing::check(Category::Contact, Column::Subject),
            Err(NotNarrowable::ProtectedColumn)
        );
        assert_eq!(
            Narrowing::check(Category::Identity, Column::PrivacyOfficer),
            Err(NotNarrowable::ProtectedColumn)
        );
        assert_eq!(
            Narrowing::check(Category::FinancialSituation, Column::Marketing),
            Err(NotNarrowable::NothingGranted)
        );
        let n = Narrowing::new([(Category::Contact, Column::Instructor)]);
        assert!(n.removes(Category::Contact, Column::Instructor));
        assert!(!n.removes(Category::Contact, Column::Support));
        assert_eq!(Narrowing::from_json(Some(&n.to_json())), n);
        let stored = serde_json::json!([["contact", "self"], ["nope", "instructor"], 3]);
        assert!(
            Narrowing::from_json(Some(&stored)).is_empty(),
            "protected and unknown are ignored"
        );
    }
}
