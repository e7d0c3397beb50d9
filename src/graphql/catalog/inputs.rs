//! The inputs of the catalogue's admin mutations and how each is parsed into the domain's
//! drafts and patches (`CourseDraft`, `CoursePatch`, `SessionDraft`): every value through the
//! domain's types, every refusal `BAD_USER_INPUT` with the input field it concerns. Parsing
//! only: nothing here reads or writes anything.

use async_graphql::{ID, InputObject};
use chrono::{DateTime, Utc};

use crate::domain::catalog::{CourseDraft, CoursePatch, SessionDraft};
use crate::domain::types::{self, Money, Slug, Tag};
use crate::error::{AppError, AppResult};
use crate::graphql::nodes::{FormatGql, LevelGql};
use crate::graphql::pagination::parse_id;

/// A new course (created as a draft).
#[derive(InputObject)]
pub struct CreateCourseInput {
    pub slug: String,
    pub title: String,
    pub summary: String,
    pub description: String,
    pub level: LevelGql,
    pub format: FormatGql,
    pub language: String,
    pub price_cents: i32,
    #[graphql(default_with = "String::from(\"EUR\")")]
    pub currency: String,
    /// VAT in basis points (0–10000).
    #[graphql(default = 2000)]
    pub tax_rate_bp: i32,
    #[graphql(default)]
    pub tags: Vec<String>,
}

fn language(field: &str, raw: &str) -> AppResult<String> {
    let l = raw.trim().to_lowercase();
    if (2..=3).contains(&l.len()) && l.chars().all(|c| c.is_ascii_lowercase()) {
        Ok(l)
    } else {
        Err(AppError::bad_input(field, "must be an ISO 639-1 language code such as fr"))
    }
}

fn tax(field: &str, bp: i32) -> AppResult<i32> {
    if (0..=10_000).contains(&bp) {
        Ok(bp)
    } else {
        Err(AppError::bad_input(field, "must be between 0 and 10000 basis points"))
    }
}

fn tags(field: &str, raw: &[String]) -> AppResult<Vec<Tag>> {
    if raw.len() > 10 {
        return Err(AppError::bad_input(field, "at most 10 tags"));
    }
    raw.iter().enumerate().map(|(i, t)| Tag::parse(&format!("{field}.{i}"), t)).collect()
}

impl CreateCourseInput {
    pub(super) fn parse(self) -> AppResult<CourseDraft> {
        Ok(CourseDraft {
            slug: Slug::parse("input.slug", &self.slug)?,
            title: types::text("input.title", &self.title, 3, 120, false)?,
            summary: types::text("input.summary", &self.summary, 1, 300, false)?,
            description: types::text("input.description", &self.description, 0, 10_000, true)?,
            level: self.level.into(),
            format: self.format.into(),
            language: language("input.language", &self.language)?,
            price: Money::parse("input.price", i64::from(self.price_cents), &self.currency)
                .map_err(|e| match e {
                    AppError::BadUserInput { field, message } => AppError::BadUserInput {
                        field: field
                            .replace("input.price.amountCents", "input.priceCents")
                            .replace("input.price.currency", "input.currency"),
                        message,
                    },
                    other => other,
                })?,
            tax_rate_bp: tax("input.taxRateBp", self.tax_rate_bp)?,
            tags: tags("input.tags", &self.tags)?,
        })
    }
}

/// Changes to a course; omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateCourseInput {
    pub course_id: ID,
    pub slug: Option<String>,
    pub title: Option<String>,
    pub summary: Option<String>,
    pub description: Option<String>,
    pub level: Option<LevelGql>,
    pub format: Option<FormatGql>,
    pub language: Option<String>,
    pub price_cents: Option<i32>,
    pub currency: Option<String>,
    pub tax_rate_bp: Option<i32>,
    pub tags: Option<Vec<String>>,
}

impl UpdateCourseInput {
    pub(super) fn parse(
        self,
        current_currency: &str,
        current_price: i64,
    ) -> AppResult<CoursePatch> {
        let price = match (self.price_cents, &self.currency) {
            (None, None) => None,
            (p, c) => Some(
                Money::parse(
                    "input",
                    p.map_or(current_price, i64::from),
                    c.as_deref().unwrap_or(current_currency),
                )
                .map_err(|e| match e {
                    AppError::BadUserInput { field, message } => AppError::BadUserInput {
                        field: field.replace("input.amountCents", "input.priceCents"),
                        message,
                    },
                    other => other,
                })?,
            ),
        };
        Ok(CoursePatch {
            slug: self.slug.map(|s| Slug::parse("input.slug", &s)).transpose()?,
            title: self.title.map(|t| types::text("input.title", &t, 3, 120, false)).transpose()?,
            summary: self
                .summary
                .map(|t| types::text("input.summary", &t, 1, 300, false))
                .transpose()?,
            description: self
                .description
                .map(|t| types::text("input.description", &t, 0, 10_000, true))
                .transpose()?,
            level: self.level.map(Into::into),
            format: self.format.map(Into::into),
            language: self.language.map(|l| language("input.language", &l)).transpose()?,
            price,
            tax_rate_bp: self.tax_rate_bp.map(|t| tax("input.taxRateBp", t)).transpose()?,
            tags: self.tags.map(|t| tags("input.tags", &t)).transpose()?,
        })
    }
}

#[derive(InputObject)]
pub struct CourseIdInput {
    pub course_id: ID,
}

/// A new session of a course.
#[derive(InputObject)]
pub struct CreateSessionInput {
    pub course_id: ID,
    #[graphql(flatten)]
    pub values: SessionValues,
}

/// New values for a session (every field is replaced).
#[derive(InputObject)]
pub struct UpdateSessionInput {
    pub session_id: ID,
    #[graphql(flatten)]
    pub values: SessionValues,
}

/// The values of a session.
#[derive(InputObject)]
pub struct SessionValues {
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub instructor_id: Option<ID>,
    pub capacity: i32,
    pub location: Option<String>,
    /// `https://` link of the virtual room (virtual-class courses): a host, no credentials, at
    /// most 2,048 characters.
    pub virtual_room: Option<String>,
}

impl SessionValues {
    pub(super) fn parse(&self) -> AppResult<SessionDraft> {
        Ok(SessionDraft {
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            instructor_id: self
                .instructor_id
                .as_ref()
                .map(|i| parse_id("input.instructorId", i))
                .transpose()?,
            capacity: self.capacity,
            location: self
                .location
                .as_deref()
                .map(|l| types::text("input.location", l, 1, 200, false))
                .transpose()?,
            virtual_room: self
                .virtual_room
                .as_deref()
                .map(|v| types::HttpsUrl::parse("input.virtualRoom", v))
                .transpose()?,
        })
    }
}

/// A lesson to add to a course outline.
#[derive(InputObject)]
pub struct AddLessonInput {
    pub course_id: ID,
    pub title: String,
    pub duration_minutes: Option<i32>,
    /// 1-based; appended when omitted.
    pub position: Option<i32>,
}

/// Changes to a lesson; omitted fields stay, `durationMinutes: null` clears it.
#[derive(InputObject)]
pub struct UpdateLessonInput {
    pub lesson_id: ID,
    pub title: Option<String>,
    pub duration_minutes: async_graphql::MaybeUndefined<i32>,
    /// Moves the lesson to this 1-based position.
    pub position: Option<i32>,
}

#[derive(InputObject)]
pub struct RemoveLessonInput {
    pub lesson_id: ID,
}

pub(super) fn duration(field: &str, d: i32) -> AppResult<i32> {
    if (1..=1440).contains(&d) {
        Ok(d)
    } else {
        Err(AppError::bad_input(field, "must be between 1 and 1440"))
    }
}

#[derive(InputObject)]
pub struct CancelSessionInput {
    pub session_id: ID,
}
