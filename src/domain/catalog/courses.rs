//! Admin writes on courses: creation (as a draft), changes, tags, and the status that puts a
//! course in the public catalogue or takes it out. Each write commits with its audit record.

use std::collections::HashSet;

use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    TransactionTrait,
};
use uuid::Uuid;

use super::readers::{course, sessions_of};
use super::{CourseStatus, Format, Level, record, require_admin};
use crate::domain::Services;
use crate::domain::types::{Money, Slug, Tag};
use crate::entities::{course, course_tag};
use crate::error::{AppError, AppResult};
use crate::policy::Actor;
use migration::catalogue::{fold, no_upcoming_session};

/// A new course, parsed.
#[derive(Clone, Debug)]
pub struct CourseDraft {
    pub slug: Slug,
    pub title: String,
    pub summary: String,
    pub description: String,
    pub level: Level,
    pub format: Format,
    pub language: String,
    pub price: Money,
    pub tax_rate_bp: i32,
    pub tags: Vec<Tag>,
}

/// Changes to a course; `None` leaves a field alone.
#[derive(Clone, Debug, Default)]
pub struct CoursePatch {
    pub slug: Option<Slug>,
    pub title: Option<String>,
    pub summary: Option<String>,
    pub description: Option<String>,
    pub level: Option<Level>,
    pub format: Option<Format>,
    pub language: Option<String>,
    pub price: Option<Money>,
    pub tax_rate_bp: Option<i32>,
    pub tags: Option<Vec<Tag>>,
}

async fn replace_tags<C: ConnectionTrait>(
    conn: &C,
    tenant_id: Uuid,
    course_id: Uuid,
    tags: &[Tag],
) -> AppResult<()> {
    course_tag::Entity::delete_many()
        .filter(course_tag::Column::CourseId.eq(course_id))
        .exec(conn)
        .await?;
    let unique: HashSet<&Tag> = tags.iter().collect();
    if unique.is_empty() {
        return Ok(());
    }
    course_tag::Entity::insert_many(unique.into_iter().map(|t| course_tag::ActiveModel {
        course_id: Set(course_id),
        tag: Set(t.clone().into_inner()),
        tenant_id: Set(tenant_id),
    }))
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// The text a course is searched by (see `migration::catalogue`).
fn searched(title: &str, summary: &str) -> String {
    fold(&format!("{title} {summary}"))
}

const SLUG_TAKEN: &str = "another course of this organisation uses this slug";

/// Creates a draft course (admin). A slug already used in the tenant → `CONFLICT`.
#[tracing::instrument(
    skip_all,
    fields(tenant.id = %actor.tenant_id, actor.id = actor.user_id.map(tracing::field::display))
)]
pub async fn create_course(
    services: &Services,
    actor: &Actor,
    d: CourseDraft,
) -> AppResult<course::Model> {
    require_admin(actor)?;
    let now = services.clock.now();
    let model = course::Model {
        id: Uuid::now_v7(),
        tenant_id: actor.tenant_id,
        slug: d.slug.as_str().to_owned(),
        title: d.title,
        summary: d.summary,
        description: d.description,
        level: d.level,
        format: d.format,
        language: d.language,
        price_cents: d.price.cents,
        currency: d.price.currency.as_str().into(),
        tax_rate_bp: d.tax_rate_bp,
        status: CourseStatus::Draft,
        created_at: now,
        updated_at: now,
        next_start_at: no_upcoming_session(),
        search_text: String::new(),
    };
    let model = course::Model { search_text: searched(&model.title, &model.summary), ..model };
    let (m, actor, tags) = (model.clone(), actor.clone(), d.tags);
    services
        .db
        .transaction::<_, _, AppError>(|txn| {
            Box::pin(async move {
                course::Entity::insert(course::ActiveModel::from(m.clone()))
                    .exec_without_returning(txn)
                    .await?;
                replace_tags(txn, m.tenant_id, m.id, &tags).await?;
                record(txn, &actor, now, "course.created", m.id).await
            })
        })
        .await
        .map_err(|e| AppError::from(e).unique_as_conflict(SLUG_TAKEN))?;
    Ok(model)
}

/// Updates a course (admin).
#[tracing::instrument(
    skip_all,
    fields(
        tenant.id = %actor.tenant_id,
        actor.id = actor.user_id.map(tracing::field::display),
        course.id = %id,
    )
)]
pub async fn update_course(
    services: &Services,
    actor: &Actor,
    id: Uuid,
    p: CoursePatch,
) -> AppResult<course::Model> {
    require_admin(actor)?;
    let current = course(services, actor.tenant_id, id).await?.ok_or(AppError::NotFound)?;
    if let Some(f) = p.format {
        // The sessions must still make sense in the new format.
        let sessions =
            sessions_of(services, actor.tenant_id, &[id]).await?.remove(&id).unwrap_or_default();
        let missing = match f {
            Format::InPerson => sessions.iter().any(|s| s.location.is_none()),
            Format::VirtualClass => sessions.iter().any(|s| s.virtual_room.is_none()),
            Format::Online => false,
        };
        if missing {
            return Err(AppError::bad_input(
                "input.format",
                "some sessions lack the location or virtual room this format needs",
            ));
        }
    }
    let now = services.clock.now();
    let search_text = (p.title.is_some() || p.summary.is_some()).then(|| {
        searched(
            p.title.as_deref().unwrap_or(&current.title),
            p.summary.as_deref().unwrap_or(&current.summary),
        )
    });
    let mut m: course::ActiveModel = current.into();
    if let Some(v) = p.slug {
        m.slug = Set(v.as_str().to_owned());
    }
    if let Some(v) = p.title {
        m.title = Set(v);
    }
    if let Some(v) = p.summary {
        m.summary = Set(v);
    }
    if let Some(v) = p.description {
        m.description = Set(v);
    }
    if let Some(v) = p.level {
        m.level = Set(v);
    }
    if let Some(v) = p.format {
        m.format = Set(v);
    }
    if let Some(v) = p.language {
        m.language = Set(v);
    }
    if let Some(v) = p.price {
        m.price_cents = Set(v.cents);
        m.currency = Set(v.currency.as_str().into());
    }
    if let Some(v) = p.tax_rate_bp {
        m.tax_rate_bp = Set(v);
    }
    if let Some(v) = search_text {
        m.search_text = Set(v);
    }
    m.updated_at = Set(now);
    let (actor, tags, tenant_id) = (actor.clone(), p.tags, actor.tenant_id);
    services
        .db
        .transaction::<_, _, AppError>(|txn| {
            Box::pin(async move {
                let updated = m.update(txn).await?;
                if let Some(tags) = tags {
                    replace_tags(txn, tenant_id, id, &tags).await?;
                }
                record(txn, &actor, now, "course.updated", id).await?;
                Ok(updated)
            })
        })
        .await
        .map_err(|e| AppError::from(e).unique_as_conflict(SLUG_TAKEN))
}

/// Publishes, unpublishes (back to draft) or archives a course (admin).
#[tracing::instrument(
    skip_all,
    fields(
        tenant.id = %actor.tenant_id,
        actor.id = actor.user_id.map(tracing::field::display),
        course.id = %id,
        status = %status,
    )
)]
pub async fn set_course_status(
    services: &Services,
    actor: &Actor,
    id: Uuid,
    status: CourseStatus,
) -> AppResult<course::Model> {
    require_admin(actor)?;
    let current = course(services, actor.tenant_id, id).await?.ok_or(AppError::NotFound)?;
    let now = services.clock.now();
    let mut m: course::ActiveModel = current.into();
    m.status = Set(status);
    m.updated_at = Set(now);
    let actor = actor.clone();
    let action = match status {
        CourseStatus::Published => "course.published",
        CourseStatus::Draft => "course.unpublished",
        CourseStatus::Archived => "course.archived",
    };
    Ok(services
        .db
        .transaction::<_, _, AppError>(|txn| {
            Box::pin(async move {
                let updated = m.update(txn).await?;
                record(txn, &actor, now, action, id).await?;
                Ok(updated)
            })
        })
        .await?)
}
