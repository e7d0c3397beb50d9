//! The few decisions erasure needs beyond the registry's [`Erasure`] of each table, written out
//! once with their reasons:
//!
//! - which columns an anonymisation keeps (they describe the record, not the person) or sets
//!   to a value ([`kept_by_anonymisation`], [`set_by_anonymisation`]); every other personal
//!   column of an anonymised table is cleared (null, or empty text where null is not allowed);
//! - which rows of a kept table a legal obligation covers ([`covered`]; the person's other rows
//!   there are deleted) and the date each kept row's retention runs from ([`clock`]);
//! - which columns name an object outside the database ([`BLOB_COLUMNS`]), deleted first.
//!
//! A table that none of these name is handled by its registry entry alone: anonymised whole,
//! kept whole (until the erasure date plus its retention), deleted with no outside objects.
//!
//! [`Erasure`]: crate::policy::registry::Erasure

use sea_orm::{ActiveEnum, Value};

use crate::entities::enums::AccountStatus;

/// Columns of anonymised tables that stay as they are, with why.
const KEPT_BY_ANONYMISATION: &[(&str, &str, &str)] = &[
    ("users", "locale", "a language tag: nobody is found by it, and the tombstone keeps it"),
    ("data_subject_requests", "channel", "how the request came: proof that it was answered"),
    ("data_subject_requests", "kind", "what was asked: proof that it was answered"),
    ("data_subject_requests", "status", "where the request stands"),
    ("data_subject_requests", "received_at", "proof of the due date kept"),
    ("data_subject_requests", "due_at", "proof of the due date kept"),
    ("data_subject_requests", "extended_until", "proof of the due date kept"),
    ("data_subject_requests", "completed_at", "proof that it was answered in time"),
    ("data_subject_request_steps", "name", "what carrying the request out consisted of"),
];

pub(super) fn kept_by_anonymisation(table: &str, column: &str) -> bool {
    KEPT_BY_ANONYMISATION.iter().any(|(t, c, _)| *t == table && *c == column)
}

/// The value an anonymisation writes instead of clearing, where clearing is not the meaning:
/// the account becomes `erased`.
pub(super) fn set_by_anonymisation(table: &str, column: &str) -> Option<Value> {
    match (table, column) {
        ("users", "status") => Some(AccountStatus::Erased.to_value().into()),
        _ => None,
    }
}

/// Which rows of a kept table the legal obligation covers, as a condition on the table's own
/// columns (unlisted: every row). An order is an accounting record once it has an invoice; an
/// enrollment is a contract once it was activated (paid or free); the rest (never-paid orders
/// and their lines, seats held and let go) is deleted with the person.
pub(super) fn covered(table: &str) -> Option<&'static str> {
    match table {
        "orders" => Some("EXISTS (SELECT 1 FROM invoices i WHERE i.order_id = orders.id)"),
        "order_lines" => {
            Some("EXISTS (SELECT 1 FROM invoices i WHERE i.order_id = order_lines.order_id)")
        }
        "enrollments" => Some("enrollments.activated_at IS NOT NULL"),
        _ => None,
    }
}

/// When a kept row's retention starts, as an expression over the table's own columns: the
/// issue of the invoice (the last one, credit notes included, for an order and its lines),
/// the end of the contract for an enrollment. Unlisted: the erasure date (never earlier than
/// the true date, so nothing goes too soon).
pub(super) fn clock(table: &str) -> Option<&'static str> {
    match table {
        "invoices" => Some("invoices.issued_at"),
        "orders" => Some("(SELECT MAX(i.issued_at) FROM invoices i WHERE i.order_id = orders.id)"),
        "order_lines" => Some(
            "(SELECT MAX(i.issued_at) FROM invoices i WHERE i.order_id = order_lines.order_id)",
        ),
        "refunds" => Some("COALESCE(refunds.completed_at, refunds.created_at)"),
        "payment_events" => Some("payment_events.created_at"),
        "enrollments" => Some(
            "COALESCE(enrollments.completed_at, enrollments.cancelled_at, \
             (SELECT s.ends_at FROM sessions s WHERE s.id = enrollments.session_id))",
        ),
        _ => None,
    }
}

/// Columns holding the key of an object outside the database (the encrypted document blobs):
/// the objects of the person's rows are deleted before the rows.
pub(super) const BLOB_COLUMNS: &[(&str, &str)] = &[("eo_documents", "storage_key")];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::registry::{self, Erasure, Holds};

    #[test]
    fn every_rule_names_a_registered_column_of_a_table_with_that_fate() {
        let column = |t: &str, c: &str| {
            registry::table(t).and_then(|t| t.column(c)).map(|c| c.holds).is_some()
                || c == "id"
                || c == "activated_at"
        };
        for (t, c, _) in KEPT_BY_ANONYMISATION {
            assert!(column(t, c), "{t}.{c}");
            assert_eq!(registry::table(t).map(|t| t.erasure), Some(Erasure::Anonymise), "{t}");
        }
        assert!(set_by_anonymisation("users", "status").is_some());
        for t in ["orders", "order_lines", "enrollments", "invoices", "refunds", "payment_events"] {
            assert!(
                matches!(registry::table(t).map(|t| t.erasure), Some(Erasure::Keep(_))),
                "{t} is kept"
            );
            assert!(clock(t).is_some(), "{t} has a clock");
        }
        for (t, c) in BLOB_COLUMNS {
            let holds = registry::table(t).and_then(|t| t.column(c)).map(|c| c.holds);
            assert_eq!(holds, Some(Holds::Secret), "{t}.{c}");
            assert_eq!(registry::table(t).map(|t| t.erasure), Some(Erasure::Delete), "{t}");
        }
    }
}
