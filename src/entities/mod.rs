//! sea-orm entities: one module per table, plain data, no behaviour.
//!
//! Enum-like columns are typed with the vocabularies of [`enums`], stored as the same strings
//! as before they were typed.
//!
//! Models that hold personal data implement `Debug` by hand so that nothing but their ids can
//! reach a log. GraphQL never exposes these types directly (see `graphql/`).

pub mod audit_entry;
pub mod auth_session;
pub mod consent_record;
pub mod contact_request;
pub mod course;
pub mod course_tag;
pub mod data_export;
pub mod data_subject_request;
pub mod data_subject_request_step;
pub mod death_record;
pub mod enrollment;
pub mod enums;
pub mod eo_application;
pub mod eo_document;
pub mod erasure_gate;
pub mod erasure_report;
pub mod erasure_report_table;
pub mod guardian_link;
pub mod invoice;
pub mod invoice_counter;
pub mod lesson;
pub mod lesson_completion;
pub mod live_class;
pub mod live_class_attendance;
pub mod login_failure;
pub mod marketing_suppression;
pub mod newsletter_campaign;
pub mod newsletter_subscription;
pub mod order;
pub mod order_line;
pub mod outbox;
pub mod password_token;
pub mod payment_account;
pub mod payment_event;
pub mod platform_log;
pub mod policy_acceptance;
pub mod post_mortem_directive;
pub mod privacy_policy;
pub mod refresh_token;
pub mod refund;
pub mod retention_gate;
pub mod retention_run;
pub mod session;
pub mod tenant;
pub mod user;
pub mod user_role;

/// Implements a redacted `Debug` that prints only the listed (non-personal) fields.
macro_rules! redacted_debug {
    ($ty:ty, $name:literal, $($field:ident),*) => {
        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct($name)$(.field(stringify!($field), &self.$field))*.finish_non_exhaustive()
            }
        }
    };
}
pub(crate) use redacted_debug;
