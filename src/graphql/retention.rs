//! The retention report and the organisation's retention periods, for the privacy officer:
//! `retentionReport` (rules, last runs, what is due within 30 days) and `setRetentionPeriod`.
//! Nothing here is personal data (rules, tables, dates and counts); the domain decides access
//! (`policy::may_manage_retention`, read from the matrix).

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::context::signed_in;
use crate::domain::retention::{self, Origin, RecordedCount, StepCount};
use crate::entities::retention_run;
use crate::error::IntoGql;
use crate::policy::retention::{Action, Effective, RuleId};

gql_enum!(RetentionRuleGql as "RetentionRule" <=> RuleId {
    /// Live-class recording references (7 or 14 days after the class).
    Recording,
    /// Equal-opportunity applications and documents (after the last contact).
    EqualOpportunity,
    /// Accounts without any contract (after the last contact); reported, erased by the
    /// erasure procedure.
    Prospect,
    /// Prospects' requests for information (after the last exchange).
    ContactRequests,
    /// Enrollments, progress and attendance (after the end of the contract).
    Contract,
    /// Invoices, credit notes, orders, refunds, payment events (after issue).
    Accounting,
    /// Cookie consents in the consent ledger (after they were given).
    CookieConsent,
    /// Expired or revoked sessions and their refresh tokens.
    Sessions,
    /// Log-in failures (after the throttling window).
    LoginFailures,
    /// The audit log (after the event).
    AuditLog,
    /// Sent e-mail (after sending).
    Outbox,
    /// Closed data-subject requests, their steps and erasure reports (after the close).
    Requests,
});

gql_enum!(RetentionOriginGql as "RetentionOrigin" <=> Origin {
    /// `pupitre retention run`.
    Command,
    /// The scheduled background job.
    Job,
});

gql_enum!(RetentionActionGql as "RetentionAction" <=> Action {
    Delete,
    Anonymise,
    /// Counted and reported, carried out elsewhere.
    ReportOnly,
});

/// A retention rule as this organisation applies it.
pub struct RetentionPolicyGql(Effective);

#[Object(name = "RetentionPolicy")]
impl RetentionPolicyGql {
    async fn rule(&self) -> RetentionRuleGql {
        self.0.rule.id.into()
    }
    /// What goes and when.
    async fn description(&self) -> &str {
        self.0.rule.describe
    }
    /// The tables the sweep touches for this rule.
    async fn tables(&self) -> Vec<&str> {
        self.0.rule.tables.to_vec()
    }
    async fn action(&self) -> RetentionActionGql {
        self.0.rule.action.into()
    }
    /// The period applied, in days.
    async fn days(&self) -> i64 {
        self.0.days
    }
    async fn default_days(&self) -> i64 {
        self.0.rule.default_days
    }
    /// The organisation chose its own period.
    async fn overridden(&self) -> bool {
        self.0.overridden
    }
    async fn min_days(&self) -> i64 {
        self.0.rule.bounds.min_days
    }
    async fn max_days(&self) -> i64 {
        self.0.rule.bounds.max_days
    }
    /// Why the period may not leave these bounds.
    async fn bounds_reason(&self) -> &str {
        self.0.rule.bounds.reason
    }
}

/// Rows of one table under one rule.
#[derive(SimpleObject)]
#[graphql(name = "RetentionCount")]
pub struct RetentionCountGql {
    /// Absent for a rule this server no longer knows (a run recorded by an older version).
    pub rule: Option<RetentionRuleGql>,
    pub table: String,
    /// Absent for an action this server no longer knows.
    pub action: Option<RetentionActionGql>,
    pub rows: i64,
    /// Rows older than this went (or go).
    pub cutoff: Option<DateTime<Utc>>,
}

impl From<&StepCount> for RetentionCountGql {
    fn from(c: &StepCount) -> Self {
        RetentionCountGql {
            rule: Some(c.rule.into()),
            table: c.table.to_owned(),
            action: Some(c.action.into()),
            rows: i64::try_from(c.rows).unwrap_or(i64::MAX),
            cutoff: Some(c.cutoff),
        }
    }
}

impl From<RecordedCount> for RetentionCountGql {
    fn from(c: RecordedCount) -> Self {
        RetentionCountGql {
            rule: RuleId::parse(&c.rule).map(Into::into),
            table: c.table,
            action: Action::parse(&c.action).map(Into::into),
            rows: i64::try_from(c.rows).unwrap_or(i64::MAX),
            cutoff: c.cutoff,
        }
    }
}

/// One sweep of this organisation.
pub struct RetentionRunGql(retention_run::Model);

#[Object(name = "RetentionRun")]
impl RetentionRunGql {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn origin(&self) -> RetentionOriginGql {
        self.0.origin.into()
    }
    async fn started_at(&self) -> DateTime<Utc> {
        self.0.started_at
    }
    /// Absent while running, or when the process stopped during the run (the next run resumes).
    async fn finished_at(&self) -> Option<DateTime<Utc>> {
        self.0.finished_at
    }
    /// Why the run stopped early.
    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }
    /// What went, per rule and table.
    async fn counts(&self) -> Vec<RetentionCountGql> {
        retention::recorded_counts(&self.0).into_iter().map(Into::into).collect()
    }
}

/// The retention report.
#[derive(SimpleObject)]
#[graphql(name = "RetentionReport")]
pub struct RetentionReportGql {
    /// Every rule with the period this organisation applies.
    pub policies: Vec<RetentionPolicyGql>,
    /// The last sweeps, newest first (dry runs change nothing and are not recorded).
    pub runs: Vec<RetentionRunGql>,
    /// The instant the look ahead is made for (now + 30 days).
    pub due_as_of: DateTime<Utc>,
    /// What will have expired by `dueAsOf`, per rule and table (what is already due included).
    pub due: Vec<RetentionCountGql>,
}

#[derive(Default)]
pub struct RetentionQuery;

#[Object]
impl RetentionQuery {
    /// The retention report of this organisation (privacy officer).
    #[graphql(cache_control(no_cache))]
    async fn retention_report(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<RetentionReportGql>> {
        let (s, actor, _) = signed_in(ctx).await.gql()?;
        let r = retention::report(s, &actor, 10).await.gql()?;
        Ok(Some(RetentionReportGql {
            policies: r.rules.into_iter().map(RetentionPolicyGql).collect(),
            runs: r.runs.into_iter().map(RetentionRunGql).collect(),
            due_as_of: r.due.as_of,
            due: r.due.counts.iter().map(Into::into).collect(),
        }))
    }
}

/// A retention period for one rule, within its legal bounds.
#[derive(InputObject)]
pub struct SetRetentionPeriodInput {
    pub rule: RetentionRuleGql,
    /// Within the rule's bounds (`minDays`..`maxDays`); a 32-bit GraphQL `Int`.
    pub days: i32,
}

#[derive(SimpleObject)]
pub struct SetRetentionPeriodPayload {
    pub policy: RetentionPolicyGql,
}

#[derive(Default)]
pub struct RetentionMutation;

#[Object]
impl RetentionMutation {
    /// Sets how long this organisation keeps the data of one rule (privacy officer); refused
    /// outside the rule's legal bounds. Audited.
    async fn set_retention_period(
        &self,
        ctx: &Context<'_>,
        input: SetRetentionPeriodInput,
    ) -> async_graphql::Result<SetRetentionPeriodPayload> {
        let (s, actor, _) = signed_in(ctx).await.gql()?;
        let e = retention::set_period(s, &actor, input.rule.into(), i64::from(input.days))
            .await
            .gql()?;
        Ok(SetRetentionPeriodPayload { policy: RetentionPolicyGql(e) })
    }
}
