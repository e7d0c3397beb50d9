//! Retention policies as data: for each rule, the registry class it serves (SPEC §5), the tables
//! it sweeps, the clock it runs from, what happens when it ends (delete, anonymise, or only
//! report), its default period, and the legal bounds within which an organisation may change
//! that period. Tenant overrides live in the tenant's `settings` JSON and are read and written
//! here, so the sweep, the report and `setRetentionPeriod` agree.
//!
//! Pure data and functions: this module never queries the database (the sweep lives in
//! `domain::retention`).
//!
//! One job, one file: the retention rules are one table of data and the few pure functions that
//! read it; splitting it would scatter one table.

use serde_json::{Map, Value, json};

use super::registry::{Clock, Retention};

/// One retention rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RuleId {
    /// Live-class recording references, 7 or 14 days after the class.
    Recording,
    /// Equal-opportunity applications and their documents, 3 years after the last contact.
    EqualOpportunity,
    /// Accounts without any contract, 3 years after the last contact (reported only: account
    /// erasure carries them out).
    Prospect,
    /// Prospects' requests for information (contact form), 3 years after the last contact.
    ContactRequests,
    /// Enrollments (and their progress and attendance), 10 years after the end of the contract.
    Contract,
    /// Invoices, credit notes, orders and their lines, refunds and payment events, 10 years
    /// after issue.
    Accounting,
    /// Cookie consents in the consent ledger, 13 months after they were given.
    CookieConsent,
    /// Sessions and refresh tokens, once expired or revoked.
    Sessions,
    /// Log-in failures, once out of the throttling window.
    LoginFailures,
    /// The audit log, 2 years after the event.
    AuditLog,
    /// Sent e-mail in the outbox, 30 days after sending.
    Outbox,
    /// Closed data-subject requests, their steps and erasure reports, 2 years after the close.
    Requests,
}

impl RuleId {
    pub const ALL: [RuleId; 12] = [
        RuleId::Recording,
        RuleId::EqualOpportunity,
        RuleId::Prospect,
        RuleId::ContactRequests,
        RuleId::Contract,
        RuleId::Accounting,
        RuleId::CookieConsent,
        RuleId::Sessions,
        RuleId::LoginFailures,
        RuleId::AuditLog,
        RuleId::Outbox,
        RuleId::Requests,
    ];

    /// The key of the rule in the tenant's settings and in run records.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleId::Recording => "recording",
            RuleId::EqualOpportunity => "equal_opportunity",
            RuleId::Prospect => "prospect",
            RuleId::ContactRequests => "contact_requests",
            RuleId::Contract => "contract",
            RuleId::Accounting => "accounting",
            RuleId::CookieConsent => "cookie_consent",
            RuleId::Sessions => "sessions",
            RuleId::LoginFailures => "login_failures",
            RuleId::AuditLog => "audit_log",
            RuleId::Outbox => "outbox",
            RuleId::Requests => "requests",
        }
    }

    pub fn parse(s: &str) -> Option<RuleId> {
        RuleId::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn rule(self) -> &'static Rule {
        // RULES lists every rule once, in the order of `ALL` (a unit test holds it to that).
        &RULES[self as usize]
    }
}

/// What happens to a row when its period ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Delete,
    /// The row stays; its personal column is cleared (a recording reference).
    Anonymise,
    /// Counted and reported as due, not carried out by the sweep (prospects: account erasure).
    ReportOnly,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Delete => "delete",
            Action::Anonymise => "anonymise",
            Action::ReportOnly => "report_only",
        }
    }

    pub fn parse(s: &str) -> Option<Action> {
        [Action::Delete, Action::Anonymise, Action::ReportOnly]
            .into_iter()
            .find(|a| a.as_str() == s)
    }
}

/// The periods an organisation may choose, and why these and no others.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bounds {
    pub min_days: i64,
    pub max_days: i64,
    /// Only the two ends may be chosen (recordings: 7 or 14 days, as the seeds promise).
    pub ends_only: bool,
    pub reason: &'static str,
}

/// One rule: the registry class it serves, its tables, clock, action, default and bounds.
#[derive(Clone, Copy, Debug)]
pub struct Rule {
    pub id: RuleId,
    pub class: Retention,
    /// The tables the sweep touches for this rule (the first one is the rule's own).
    pub tables: &'static [&'static str],
    pub clock: Clock,
    pub action: Action,
    pub default_days: i64,
    pub bounds: Bounds,
    /// What goes and when, for people (the report and the record of processing).
    pub describe: &'static str,
}

/// Prospects' data, as an account or as a request for information.
const PROSPECT_BOUNDS: Bounds = Bounds {
    min_days: 365,
    max_days: 3 * 365,
    ends_only: false,
    reason: "prospects: at most 3 years after the last contact (CNIL); at least 1 year, one \
             season of courses",
};

/// Every rule, in the order of [`RuleId::ALL`].
pub const RULES: &[Rule] = &[
    Rule {
        id: RuleId::Recording,
        class: Retention::Recording,
        tables: &["live_classes"],
        clock: Clock::SinceEvent,
        action: Action::Anonymise,
        default_days: 7,
        bounds: Bounds {
            min_days: 7,
            max_days: 14,
            ends_only: true,
            reason: "the privacy policy promises recordings for 7 or 14 days after the class",
        },
        describe: "the recording reference of a live class is cleared once the class ended this many days ago",
    },
    Rule {
        id: RuleId::EqualOpportunity,
        class: Retention::EqualOpportunity,
        tables: &["eo_applications", "eo_documents"],
        clock: Clock::SinceLastContact,
        action: Action::Delete,
        default_days: 3 * 365,
        bounds: Bounds {
            min_days: 365,
            max_days: 3 * 365,
            ends_only: false,
            reason: "at most 3 years after the last contact (SPEC §5, CNIL guidance); at least 1 \
                     year so that an application outlives the school year it serves and an appeal",
        },
        describe: "applications with their documents (blobs and keys) are deleted this many days after the last contact",
    },
    Rule {
        id: RuleId::Prospect,
        class: Retention::Prospect,
        tables: &["users"],
        clock: Clock::SinceLastContact,
        action: Action::ReportOnly,
        default_days: 3 * 365,
        bounds: PROSPECT_BOUNDS,
        describe: "accounts without any contract are due for erasure this many days after the last contact (reported; account erasure carries it out)",
    },
    Rule {
        id: RuleId::ContactRequests,
        class: Retention::Prospect,
        tables: &["contact_requests"],
        clock: Clock::SinceLastContact,
        action: Action::Delete,
        default_days: 3 * 365,
        bounds: PROSPECT_BOUNDS,
        describe: "requests for information (contact form) are deleted this many days after the last exchange",
    },
    Rule {
        id: RuleId::Contract,
        class: Retention::Contract,
        tables: &["enrollments", "lesson_completions", "live_class_attendance"],
        clock: Clock::SinceEndOfContract,
        action: Action::Delete,
        default_days: 10 * 365,
        bounds: Bounds {
            min_days: 5 * 365,
            max_days: 10 * 365,
            ends_only: false,
            reason: "at least 5 years, the limitation period of contractual claims (Code civil \
                     art. 2224, Code de commerce L110-4); at most 10 years (SPEC §5)",
        },
        describe: "completed, cancelled or ended enrollments with their progress and attendance are deleted this many days after the end",
    },
    Rule {
        id: RuleId::Accounting,
        class: Retention::Accounting,
        tables: &["invoices", "orders", "order_lines", "refunds", "payment_events"],
        clock: Clock::SinceIssue,
        action: Action::Delete,
        default_days: 10 * 365,
        bounds: Bounds {
            min_days: 10 * 365,
            max_days: 10 * 365,
            ends_only: false,
            reason: "exactly 10 years: accounting records must be kept that long (Code de \
                     commerce L123-22) and nothing justifies longer",
        },
        describe: "invoices and credit notes are deleted this many days after issue; orders, their lines, refunds and payment events once no invoice of theirs is younger",
    },
    Rule {
        id: RuleId::CookieConsent,
        class: Retention::ConsentLedger,
        tables: &["consent_records"],
        clock: Clock::SinceCreation,
        action: Action::Delete,
        default_days: 397,
        bounds: Bounds {
            min_days: 397,
            max_days: 794,
            ends_only: false,
            reason: "at least 13 months (397 days, the longest 13 months): the record proves a \
                     consent that is valid that long; at most two such periods",
        },
        describe: "cookie consents (analytics, advertising) are deleted from the ledger this many days after they were given",
    },
    Rule {
        id: RuleId::Sessions,
        class: Retention::Expiring,
        tables: &["auth_sessions", "refresh_tokens", "password_tokens"],
        clock: Clock::UntilExpiry,
        action: Action::Delete,
        default_days: 0,
        bounds: Bounds {
            min_days: 0,
            max_days: 90,
            ends_only: false,
            reason: "an expired or revoked session serves nothing but the investigation of a \
                     compromised account: 90 days at most",
        },
        describe: "sessions, refresh tokens and set-password links are deleted this many days after they expired, were revoked or were used",
    },
    Rule {
        id: RuleId::LoginFailures,
        class: Retention::Expiring,
        tables: &["login_failures"],
        clock: Clock::UntilExpiry,
        action: Action::Delete,
        default_days: 0,
        bounds: Bounds {
            min_days: 0,
            max_days: 90,
            ends_only: false,
            reason: "a failure outside the throttling window counts for nothing: 90 days at most, \
                     to investigate an attack",
        },
        describe: "log-in failures are deleted this many days after they left the throttling window",
    },
    Rule {
        id: RuleId::AuditLog,
        class: Retention::Logs,
        tables: &["audit_log"],
        clock: Clock::SinceEvent,
        action: Action::Delete,
        default_days: 2 * 365,
        bounds: Bounds {
            min_days: 365,
            max_days: 2 * 365,
            ends_only: false,
            reason: "at most 2 years (SPEC §5, logs); at least 1 year so that a person can see \
                     who read their data over a year (art. 15) and incidents can be traced",
        },
        describe: "audit entries are deleted this many days after the event, through the one controlled path",
    },
    Rule {
        id: RuleId::Outbox,
        class: Retention::Outbox,
        tables: &["outbox"],
        clock: Clock::SinceEvent,
        action: Action::Delete,
        default_days: 30,
        bounds: Bounds {
            min_days: 1,
            max_days: 90,
            ends_only: false,
            reason: "a sent message is kept only to answer delivery questions: 90 days at most",
        },
        describe: "sent e-mail is deleted from the outbox this many days after sending",
    },
    Rule {
        id: RuleId::Requests,
        class: Retention::Logs,
        tables: &[
            "data_subject_requests",
            "data_subject_request_steps",
            "erasure_reports",
            "erasure_report_tables",
        ],
        clock: Clock::SinceEvent,
        action: Action::Delete,
        default_days: 2 * 365,
        bounds: Bounds {
            min_days: 365,
            max_days: 5 * 365,
            ends_only: false,
            reason: "a closed request is the proof that it was answered, and how (art. 5(2), \
                     12): at least 1 year, at most the 5-year limitation period in which its \
                     handling may be contested (Code civil, art. 2224)",
        },
        describe: "closed data-subject requests, their steps and erasure reports are deleted this many days after the close (a request that carries a post-mortem directive, a recorded death or an export waiting to be downloaded stays while they do)",
    },
];

/// Tables whose period a job of their own enforces, because more than rows must go: each with
/// the job and what it does.
pub const SWEPT_ELSEWHERE: &[(&str, &str)] = &[
    (
        "data_exports",
        "domain::privacy::export::delete_expired: the encrypted file in the document store and \
         its row, 7 days after the export was made",
    ),
    (
        "newsletter_subscriptions",
        "domain::newsletter::sweep: a subscription whose last interaction (subscribing, \
         confirming, unsubscribing) is 3 years old is deleted; an unconfirmed one goes once its \
         confirmation link has expired",
    ),
];

/// The key of the recording period in the tenant settings (read by `Tenant` too).
pub const RECORDING_SETTING: &str = "recording_retention_days";
/// The object of the other overrides in the tenant settings: `{"retention": {"contract": 1825}}`.
pub const OVERRIDES_SETTING: &str = "retention";

/// A rule as one organisation applies it.
#[derive(Clone, Copy, Debug)]
pub struct Effective {
    pub rule: &'static Rule,
    pub days: i64,
    /// The organisation chose this period (within the bounds).
    pub overridden: bool,
}

/// Why a period was refused: each says which bound and why that bound exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeriodError {
    /// Shorter than a legal obligation (or the promise the bound stands for) allows.
    BelowMinimum { min_days: i64, reason: &'static str },
    /// Longer than the data may be kept.
    AboveMaximum { max_days: i64, reason: &'static str },
    /// The rule offers two periods only (recordings: 7 or 14 days).
    NotAChoice { choices: [i64; 2], reason: &'static str },
}

impl std::fmt::Display for PeriodError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PeriodError::BelowMinimum { min_days, reason } => {
                write!(f, "below the minimum of {min_days} days: {reason}")
            }
            PeriodError::AboveMaximum { max_days, reason } => {
                write!(f, "above the maximum of {max_days} days: {reason}")
            }
            PeriodError::NotAChoice { choices: [a, b], reason } => {
                write!(f, "must be {a} or {b} days: {reason}")
            }
        }
    }
}

/// Whether `days` is a period an organisation may choose for `id`: never below the rule's
/// minimum (a legal obligation such as the 10 years of accounting records, or a promise the
/// organisation makes), never above its maximum.
pub fn validate(id: RuleId, days: i64) -> Result<(), PeriodError> {
    let b = id.rule().bounds;
    if b.ends_only {
        return if days == b.min_days || days == b.max_days {
            Ok(())
        } else {
            Err(PeriodError::NotAChoice { choices: [b.min_days, b.max_days], reason: b.reason })
        };
    }
    if days < b.min_days {
        Err(PeriodError::BelowMinimum { min_days: b.min_days, reason: b.reason })
    } else if days > b.max_days {
        Err(PeriodError::AboveMaximum { max_days: b.max_days, reason: b.reason })
    } else {
        Ok(())
    }
}

fn stored(settings: &Value, id: RuleId) -> Option<i64> {
    match id {
        RuleId::Recording => settings.get(RECORDING_SETTING),
        _ => settings.get(OVERRIDES_SETTING).and_then(|o| o.get(id.as_str())),
    }
    .and_then(Value::as_i64)
}

/// The period of `id` for an organisation with these `settings`: its override when it is
/// within the bounds (an override the bounds no longer allow falls back to the default).
pub fn effective(settings: &Value, id: RuleId) -> Effective {
    let rule = id.rule();
    match stored(settings, id).filter(|d| validate(id, *d).is_ok()) {
        Some(days) => Effective { rule, days, overridden: days != rule.default_days },
        None => Effective { rule, days: rule.default_days, overridden: false },
    }
}

/// Every rule as the organisation applies it.
pub fn effective_all(settings: &Value) -> Vec<Effective> {
    RuleId::ALL.into_iter().map(|id| effective(settings, id)).collect()
}

/// The settings with `id` set to `days` (already validated), everything else kept.
pub fn with_override(settings: &Value, id: RuleId, days: i64) -> Value {
    let mut out = match settings {
        Value::Object(m) => m.clone(),
        _ => Map::new(),
    };
    match id {
        RuleId::Recording => {
            out.insert(RECORDING_SETTING.into(), json!(days));
        }
        _ => {
            let entry = out.entry(OVERRIDES_SETTING).or_insert_with(|| json!({}));
            if !entry.is_object() {
                *entry = json!({});
            }
            if let Value::Object(o) = entry {
                o.insert(id.as_str().into(), json!(days));
            }
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_listed_once_in_the_order_of_their_ids() {
        assert_eq!(RULES.len(), RuleId::ALL.len());
        for (i, id) in RuleId::ALL.into_iter().enumerate() {
            assert_eq!(RULES[i].id, id);
            assert_eq!(RuleId::parse(id.as_str()), Some(id));
        }
    }

    #[test]
    fn defaults_are_those_of_the_registry_and_within_their_bounds() {
        for r in RULES {
            if let Some(d) = r.class.default_days() {
                assert_eq!(r.default_days, d, "{:?}", r.id);
            }
            assert!(validate(r.id, r.default_days).is_ok(), "{:?}", r.id);
            assert!(r.bounds.min_days <= r.bounds.max_days);
        }
    }

    #[test]
    fn every_table_with_a_retention_period_is_swept_by_a_rule() {
        for t in super::super::registry::TABLES {
            if t.retention.default_days().is_some() {
                assert!(
                    RULES.iter().any(|r| r.tables.contains(&t.name))
                        || SWEPT_ELSEWHERE.iter().any(|(name, _)| *name == t.name),
                    "{} has a retention period but no rule sweeps it",
                    t.name
                );
            }
        }
    }

    #[test]
    fn invoices_never_go_before_ten_years_and_contracts_before_five() {
        assert!(matches!(
            validate(RuleId::Accounting, 5 * 365),
            Err(PeriodError::BelowMinimum { min_days: 3650, .. })
        ));
        assert!(matches!(
            validate(RuleId::Accounting, 11 * 365),
            Err(PeriodError::AboveMaximum { max_days: 3650, .. })
        ));
        assert!(validate(RuleId::Accounting, 10 * 365).is_ok());
        assert!(validate(RuleId::Contract, 5 * 365).is_ok());
        assert!(validate(RuleId::Contract, 4 * 365).is_err());
        assert!(matches!(
            validate(RuleId::Recording, 10),
            Err(PeriodError::NotAChoice { choices: [7, 14], .. })
        ));
        assert!(validate(RuleId::Recording, 14).is_ok());
    }

    #[test]
    fn overrides_are_read_back_and_out_of_bounds_ones_ignored() {
        let s = json!({ "recording_retention_days": 7 });
        let s = with_override(&s, RuleId::Contract, 5 * 365);
        let s = with_override(&s, RuleId::Recording, 14);
        assert_eq!(effective(&s, RuleId::Contract).days, 5 * 365);
        assert!(effective(&s, RuleId::Contract).overridden);
        assert_eq!(effective(&s, RuleId::Recording).days, 14);
        assert_eq!(s["recording_retention_days"], 14);
        let bad = json!({ "retention": { "accounting": 30 } });
        assert_eq!(effective(&bad, RuleId::Accounting).days, 10 * 365);
        assert!(!effective(&bad, RuleId::Accounting).overridden);
    }
}
