//! The one controlled path through the append-only guards of `audit_log` and `consent_records`:
//! the person's references there (as actor, subject, or whoever recorded a consent) are
//! rewritten to a pseudonym, and nothing else.
//!
//! Inside the caller's transaction: a row is inserted into `erasure_gate` (tenant, person,
//! pseudonym), which the guards of migration 000008 require for an UPDATE to pass, and which
//! only lets through an UPDATE that changes the person-reference columns from that person to
//! that pseudonym; the rows are rewritten; the gate row is deleted again before the caller
//! commits; the rewrite is written to the audit log (with the person as subject, and without
//! the pseudonym). Other transactions never see the gate row.
//!
//! The pseudonym is a keyed hash of the tenant, the request and the person: the same on every
//! run of one erasure (a resumed erasure gives both tables the same pseudonym), never stored,
//! and not computable without the server's key.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde_json::json;
use uuid::Uuid;

use super::sql::Sql;
use crate::domain::Services;
use crate::domain::audit::{self, AuditRecord};
use crate::entities::erasure_gate;
use crate::error::AppResult;
use crate::policy::registry::{Holds, Table};
use crate::policy::{Actor, Category, Column};

/// The pseudonym of `person` in the erasure `request`.
pub(super) fn pseudonym(services: &Services, tenant_id: Uuid, request: Uuid, person: Uuid) -> Uuid {
    keyed_uuid(&services.pseudonym_secret, &format!("{tenant_id}:{request}:{person}"))
}

/// A UUID (version 4 layout) made of the first 16 bytes of HMAC-SHA-256(`key`, `message`).
fn keyed_uuid(key: &[u8], message: &str) -> Uuid {
    use hmac::{Hmac, Mac};
    let digest = match Hmac::<sha2::Sha256>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(message.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
        // HMAC takes keys of any length; this arm is never reached.
        Err(_) => Vec::new(),
    };
    let mut bytes = [0u8; 16];
    for (b, d) in bytes.iter_mut().zip(digest.iter()) {
        *b = *d;
    }
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// Rewrites the person's references in the append-only table `t` to `pseudonym` through the
/// gate, and audits it. Returns the number of rows rewritten.
#[expect(clippy::too_many_arguments, reason = "the gate needs each of these facts")]
pub(super) async fn pseudonymise<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    t: &Table,
    tenant_id: Uuid,
    request: Uuid,
    person: Uuid,
    pseudonym: Uuid,
    now: DateTime<Utc>,
) -> AppResult<u64> {
    let refs: Vec<&str> = t
        .columns
        .iter()
        .filter(|c| matches!(c.holds, Holds::Owner | Holds::OtherPerson))
        .map(|c| c.name)
        .collect();
    if refs.is_empty() {
        return Ok(0);
    }
    let gate = Uuid::now_v7();
    erasure_gate::Entity::insert(erasure_gate::ActiveModel {
        id: Set(gate),
        tenant_id: Set(tenant_id),
        person_id: Set(person),
        pseudonym: Set(pseudonym),
        opened_at: Set(now),
    })
    .exec_without_returning(conn)
    .await?;
    let mut q = Sql::new(conn.get_database_backend());
    q.push("UPDATE ").ident(t.name).push(" SET ");
    for (i, c) in refs.iter().enumerate() {
        if i > 0 {
            q.push(", ");
        }
        q.ident(c).push(" = CASE WHEN ").ident(c).push(" = ").bind(person);
        q.push(" THEN ").bind(pseudonym).push(" ELSE ").ident(c).push(" END");
    }
    q.push(" WHERE ").ident("tenant_id").push(" = ").bind(tenant_id).push(" AND (");
    for (i, c) in refs.iter().enumerate() {
        if i > 0 {
            q.push(" OR ");
        }
        q.ident(c).push(" = ").bind(person);
    }
    q.push(")");
    let rows = conn.execute_raw(q.statement()).await?.rows_affected();
    erasure_gate::Entity::delete_many()
        .filter(erasure_gate::Column::Id.eq(gate))
        .exec(conn)
        .await?;
    audit::record(
        conn,
        actor,
        now,
        AuditRecord {
            action: "erasure.pseudonymised",
            category: Some(Category::DataSubjectRequests),
            subject_id: Some(person),
            purpose: Column::PrivacyOfficer.purpose(),
            details: Some(json!({ "requestId": request, "table": t.name, "rows": rows })),
        },
    )
    .await?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::keyed_uuid;

    #[test]
    fn a_pseudonym_is_stable_under_one_key_and_differs_by_message_and_key() {
        let a = keyed_uuid(b"key one", "tenant:request:person");
        assert_eq!(a, keyed_uuid(b"key one", "tenant:request:person"), "a resumed run agrees");
        assert_ne!(a, keyed_uuid(b"key one", "tenant:request:other"));
        assert_ne!(a, keyed_uuid(b"key two", "tenant:request:person"));
        assert_eq!(a.get_version_num(), 4);
    }
}
