//! The catalogue: courses (with tags), sessions (cohorts) and ordered lessons; admin
//! management and the public, anonymous catalogue.
//!
//! The public side exposes no personal data: instructors appear by display name only. Batch
//! loaders (`*_of`) take many ids and answer in one query each, so list resolvers never issue a
//! query per row.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Condition, Expr, ExprTrait, Func, JoinType, LikeExpr, Order, Query};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait, TransactionTrait,
};
use uuid::Uuid;

use super::Services;
use super::audit::{self, AuditRecord};
use super::tenancy::scoped;
use super::types::{HttpsUrl, Money, Slug, Tag};
use crate::entities::{course, course_tag, lesson, session, user, user_role};
use crate::error::{AppError, AppResult};
use crate::policy::{Actor, Column, Role};

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $s:literal),* $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),* }
        impl $name {
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $s),* }
            }
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($s => Some($name::$variant),)* _ => None }
            }
        }
    };
}

string_enum!(
    /// Course level.
    Level { Beginner = "beginner", Intermediate = "intermediate", Advanced = "advanced" }
);
string_enum!(
    /// How a course is taught.
    Format { Online = "online", InPerson = "in_person", VirtualClass = "virtual_class" }
);
string_enum!(
    /// Catalogue visibility: only published courses are shown to visitors.
    CourseStatus { Draft = "draft", Published = "published", Archived = "archived" }
);

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

/// A new session (cohort), parsed.
#[derive(Clone, Debug)]
pub struct SessionDraft {
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub instructor_id: Option<Uuid>,
    pub capacity: i32,
    pub location: Option<String>,
    pub virtual_room: Option<HttpsUrl>,
}

fn require_admin(actor: &Actor) -> AppResult<()> {
    if crate::policy::may_manage_catalogue(actor) { Ok(()) } else { Err(AppError::Forbidden) }
}

async fn record<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    at: DateTime<Utc>,
    action: &'static str,
    id: Uuid,
) -> AppResult<()> {
    audit::record(
        conn,
        actor,
        at,
        AuditRecord {
            action,
            category: None,
            subject_id: None,
            purpose: Column::Admin.purpose(),
            details: Some(serde_json::json!({ "id": id })),
        },
    )
    .await
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

const SLUG_TAKEN: &str = "another course of this organisation uses this slug";

/// Creates a draft course (admin). A slug already used in the tenant → `CONFLICT`.
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
        level: d.level.as_str().into(),
        format: d.format.as_str().into(),
        language: d.language,
        price_cents: d.price.cents,
        currency: d.price.currency.as_str().into(),
        tax_rate_bp: d.tax_rate_bp,
        status: CourseStatus::Draft.as_str().into(),
        created_at: now,
        updated_at: now,
    };
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

/// One course of the tenant, whatever its status (admin and internal use).
pub async fn course(
    services: &Services,
    tenant_id: Uuid,
    id: Uuid,
) -> AppResult<Option<course::Model>> {
    Ok(scoped::<course::Entity>(tenant_id)
        .filter(course::Column::Id.eq(id))
        .one(&services.db)
        .await?)
}

/// Updates a course (admin).
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
        m.level = Set(v.as_str().into());
    }
    if let Some(v) = p.format {
        m.format = Set(v.as_str().into());
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
    m.status = Set(status.as_str().into());
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

async fn check_instructor(
    services: &Services,
    tenant_id: Uuid,
    id: Uuid,
    field: &str,
) -> AppResult<()> {
    let ok = super::accounts::held_roles(tenant_id)
        .filter(user_role::Column::UserId.eq(id))
        .filter(user_role::Column::Role.eq(Role::Instructor.as_str()))
        .one(&services.db)
        .await?
        .is_some();
    if ok {
        Ok(())
    } else {
        Err(AppError::bad_input(field, "is not an instructor of this organisation"))
    }
}

fn check_session_shape(format: Format, d: &SessionDraft) -> AppResult<()> {
    if d.ends_at <= d.starts_at {
        return Err(AppError::bad_input("input.endsAt", "must be after startsAt"));
    }
    if !(1..=10_000).contains(&d.capacity) {
        return Err(AppError::bad_input("input.capacity", "must be between 1 and 10000"));
    }
    match format {
        Format::InPerson if d.location.is_none() => {
            Err(AppError::bad_input("input.location", "is required for an in-person course"))
        }
        Format::VirtualClass if d.virtual_room.is_none() => {
            Err(AppError::bad_input("input.virtualRoom", "is required for a virtual-class course"))
        }
        _ => Ok(()),
    }
}

/// Adds a session to a course (admin).
pub async fn create_session(
    services: &Services,
    actor: &Actor,
    course_id: Uuid,
    d: SessionDraft,
) -> AppResult<session::Model> {
    require_admin(actor)?;
    let c = course(services, actor.tenant_id, course_id).await?.ok_or(AppError::NotFound)?;
    let format = Format::parse(&c.format).unwrap_or(Format::Online);
    check_session_shape(format, &d)?;
    if let Some(i) = d.instructor_id {
        check_instructor(services, actor.tenant_id, i, "input.instructorId").await?;
    }
    let now = services.clock.now();
    let model = session::Model {
        id: Uuid::now_v7(),
        tenant_id: actor.tenant_id,
        course_id,
        starts_at: d.starts_at,
        ends_at: d.ends_at,
        instructor_id: d.instructor_id,
        capacity: d.capacity,
        seats_taken: 0,
        location: d.location,
        virtual_room: d.virtual_room.map(HttpsUrl::into_inner),
        cancelled: false,
        created_at: now,
    };
    let (m, actor) = (model.clone(), actor.clone());
    services
        .db
        .transaction::<_, _, AppError>(|txn| {
            Box::pin(async move {
                session::Entity::insert(session::ActiveModel::from(m.clone()))
                    .exec_without_returning(txn)
                    .await?;
                record(txn, &actor, now, "session.created", m.id).await
            })
        })
        .await?;
    Ok(model)
}

/// Changes a session's dates, instructor, capacity or place (admin). The capacity can never go
/// below the seats already taken: the check is part of the UPDATE itself.
pub async fn update_session(
    services: &Services,
    actor: &Actor,
    id: Uuid,
    d: SessionDraft,
) -> AppResult<session::Model> {
    require_admin(actor)?;
    let s = session_by_id(services, actor.tenant_id, id).await?.ok_or(AppError::NotFound)?;
    let c = course(services, actor.tenant_id, s.course_id).await?.ok_or(AppError::NotFound)?;
    check_session_shape(Format::parse(&c.format).unwrap_or(Format::Online), &d)?;
    if let Some(i) = d.instructor_id {
        check_instructor(services, actor.tenant_id, i, "input.instructorId").await?;
    }
    let now = services.clock.now();
    let actor = actor.clone();
    services
        .db
        .transaction::<_, _, AppError>(|txn| {
            Box::pin(async move {
                let res = session::Entity::update_many()
                    .col_expr(session::Column::StartsAt, Expr::value(d.starts_at))
                    .col_expr(session::Column::EndsAt, Expr::value(d.ends_at))
                    .col_expr(session::Column::InstructorId, Expr::value(d.instructor_id))
                    .col_expr(session::Column::Capacity, Expr::value(d.capacity))
                    .col_expr(session::Column::Location, Expr::value(d.location))
                    .col_expr(
                        session::Column::VirtualRoom,
                        Expr::value(d.virtual_room.map(HttpsUrl::into_inner)),
                    )
                    .filter(session::Column::Id.eq(id))
                    .filter(session::Column::SeatsTaken.lte(d.capacity))
                    .exec(txn)
                    .await?;
                if res.rows_affected != 1 {
                    return Err(AppError::bad_input(
                        "input.capacity",
                        "is below the number of seats already taken",
                    ));
                }
                record(txn, &actor, now, "session.updated", id).await
            })
        })
        .await?;
    session_by_id(services, s.tenant_id, id).await?.ok_or(AppError::NotFound)
}

/// Cancels a session (admin): it leaves the catalogue, its live enrollments are cancelled and its
/// seats freed, in one transaction with the audit record. Returns how many enrollments were
/// cancelled (refunds of paid ones belong to the shop). Idempotent.
pub async fn cancel_session(services: &Services, actor: &Actor, id: Uuid) -> AppResult<u64> {
    require_admin(actor)?;
    session_by_id(services, actor.tenant_id, id).await?.ok_or(AppError::NotFound)?;
    let (actor, now) = (actor.clone(), services.clock.now());
    Ok(services
        .db
        .transaction::<_, _, AppError>(|txn| {
            Box::pin(async move {
                session::Entity::update_many()
                    .col_expr(session::Column::Cancelled, Expr::value(true))
                    .col_expr(session::Column::SeatsTaken, Expr::value(0))
                    .filter(session::Column::Id.eq(id))
                    .exec(txn)
                    .await?;
                let live = ["pending_payment", "active"];
                let cancelled = crate::entities::enrollment::Entity::update_many()
                    .col_expr(crate::entities::enrollment::Column::Status, Expr::value("cancelled"))
                    .col_expr(crate::entities::enrollment::Column::CancelledAt, Expr::value(now))
                    .filter(crate::entities::enrollment::Column::SessionId.eq(id))
                    .filter(crate::entities::enrollment::Column::Status.is_in(live))
                    .exec(txn)
                    .await?
                    .rows_affected;
                record(txn, &actor, now, "session.cancelled", id).await?;
                Ok(cancelled)
            })
        })
        .await?)
}

/// Appends a lesson to a course outline, or inserts it at `position` (1-based), shifting the
/// following ones (admin).
pub async fn add_lesson(
    services: &Services,
    actor: &Actor,
    course_id: Uuid,
    title: String,
    duration_minutes: Option<i32>,
    position: Option<i32>,
) -> AppResult<lesson::Model> {
    require_admin(actor)?;
    course(services, actor.tenant_id, course_id).await?.ok_or(AppError::NotFound)?;
    let (actor, now, tenant_id) = (actor.clone(), services.clock.now(), actor.tenant_id);
    Ok(services
        .db
        .transaction::<_, _, AppError>(|txn| {
            Box::pin(async move {
                let outline = lock_outline(txn, course_id, now).await?;
                let last = outline.len() as i32 + 1;
                let position = position.unwrap_or(last);
                if !(1..=last).contains(&position) {
                    return Err(AppError::bad_input(
                        "input.position",
                        format!("must be between 1 and {last}"),
                    ));
                }
                lesson::Entity::update_many()
                    .col_expr(lesson::Column::Position, Expr::col(lesson::Column::Position).add(1))
                    .filter(lesson::Column::CourseId.eq(course_id))
                    .filter(lesson::Column::Position.gte(position))
                    .exec(txn)
                    .await?;
                let m = lesson::Model {
                    id: Uuid::now_v7(),
                    tenant_id,
                    course_id,
                    position,
                    title,
                    duration_minutes,
                };
                lesson::Entity::insert(lesson::ActiveModel::from(m.clone()))
                    .exec_without_returning(txn)
                    .await?;
                record(txn, &actor, now, "lesson.created", m.id).await?;
                Ok(m)
            })
        })
        .await?)
}

/// Writes positions 1..n in the given order, touching only lessons whose position changes.
async fn renumber<C: ConnectionTrait>(conn: &C, ordered: &[lesson::Model]) -> AppResult<()> {
    for (i, l) in ordered.iter().enumerate() {
        let position = i as i32 + 1;
        if l.position != position {
            lesson::Entity::update_many()
                .col_expr(lesson::Column::Position, Expr::value(position))
                .filter(lesson::Column::Id.eq(l.id))
                .exec(conn)
                .await?;
        }
    }
    Ok(())
}

async fn lesson_and_outline(
    services: &Services,
    actor: &Actor,
    lesson_id: Uuid,
) -> AppResult<(lesson::Model, Vec<lesson::Model>)> {
    let l = scoped::<lesson::Entity>(actor.tenant_id)
        .filter(lesson::Column::Id.eq(lesson_id))
        .one(&services.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let outline = lessons_of(services, actor.tenant_id, &[l.course_id])
        .await?
        .remove(&l.course_id)
        .unwrap_or_default();
    Ok((l, outline))
}

/// First statement of every outline change: a write on the course row, so concurrent changes
/// of one outline take turns (row lock on PostgreSQL, write lock on SQLite) and each reads the
/// outline only once it holds the lock.
async fn lock_outline<C: ConnectionTrait>(
    conn: &C,
    course_id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<Vec<lesson::Model>> {
    course::Entity::update_many()
        .col_expr(course::Column::UpdatedAt, Expr::value(now))
        .filter(course::Column::Id.eq(course_id))
        .exec(conn)
        .await?;
    Ok(lesson::Entity::find()
        .filter(lesson::Column::CourseId.eq(course_id))
        .order_by_asc(lesson::Column::Position)
        .all(conn)
        .await?)
}

/// Renames a lesson, changes its duration and/or moves it to `position` (1-based) in its
/// outline (admin). `duration_minutes: Some(None)` clears the duration.
pub async fn update_lesson(
    services: &Services,
    actor: &Actor,
    lesson_id: Uuid,
    title: Option<String>,
    duration_minutes: Option<Option<i32>>,
    position: Option<i32>,
) -> AppResult<lesson::Model> {
    require_admin(actor)?;
    let (current, _) = lesson_and_outline(services, actor, lesson_id).await?;
    let (actor_c, now, course_id) = (actor.clone(), services.clock.now(), current.course_id);
    services
        .db
        .transaction::<_, _, AppError>(|txn| {
            Box::pin(async move {
                let mut outline = lock_outline(txn, course_id, now).await?;
                if let Some(p) = position {
                    if !(1..=outline.len() as i32).contains(&p) {
                        return Err(AppError::bad_input(
                            "input.position",
                            format!("must be between 1 and {}", outline.len()),
                        ));
                    }
                    if let Some(from) = outline.iter().position(|l| l.id == lesson_id) {
                        let moved = outline.remove(from);
                        outline.insert(p as usize - 1, moved);
                    }
                }
                let mut m: lesson::ActiveModel = current.into();
                if let Some(t) = title {
                    m.title = Set(t);
                }
                if let Some(d) = duration_minutes {
                    m.duration_minutes = Set(d);
                }
                sea_orm::ActiveModelTrait::update(m, txn).await?;
                renumber(txn, &outline).await?;
                record(txn, &actor_c, now, "lesson.updated", lesson_id).await
            })
        })
        .await?;
    Ok(lesson_and_outline(services, actor, lesson_id).await?.0)
}

/// Removes a lesson from its outline and closes the gap (admin). Learners' completions of it
/// go with it.
pub async fn remove_lesson(services: &Services, actor: &Actor, lesson_id: Uuid) -> AppResult<()> {
    require_admin(actor)?;
    let (current, _) = lesson_and_outline(services, actor, lesson_id).await?;
    let (actor, now, course_id) = (actor.clone(), services.clock.now(), current.course_id);
    services
        .db
        .transaction::<_, _, AppError>(|txn| {
            Box::pin(async move {
                let outline = lock_outline(txn, course_id, now).await?;
                let rest: Vec<lesson::Model> =
                    outline.into_iter().filter(|l| l.id != lesson_id).collect();
                lesson::Entity::delete_many()
                    .filter(lesson::Column::Id.eq(lesson_id))
                    .exec(txn)
                    .await?;
                renumber(txn, &rest).await?;
                record(txn, &actor, now, "lesson.removed", lesson_id).await
            })
        })
        .await?;
    Ok(())
}

/// Filters of the public catalogue.
#[derive(Clone, Debug, Default)]
pub struct CourseFilter {
    pub format: Option<Format>,
    pub level: Option<Level>,
    pub language: Option<String>,
    pub tag: Option<String>,
    pub min_price_cents: Option<i64>,
    pub max_price_cents: Option<i64>,
    pub has_upcoming_session: Option<bool>,
    pub search: Option<String>,
}

/// Orders of the public catalogue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum CourseSort {
    /// Next upcoming session first; courses without one last.
    #[default]
    StartDate,
    Price,
    Title,
}

fn like_pattern(term: &str) -> String {
    let escaped: String = term
        .to_lowercase()
        .chars()
        .flat_map(|c| match c {
            '%' | '_' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    format!("%{escaped}%")
}

/// A page of published courses: `offset` rows skipped, `first` returned, and whether more follow.
pub async fn published_courses(
    services: &Services,
    tenant_id: Uuid,
    filter: &CourseFilter,
    sort: CourseSort,
    first: u64,
    offset: u64,
) -> AppResult<(Vec<course::Model>, bool)> {
    let now = services.clock.now();
    let mut q = scoped::<course::Entity>(tenant_id)
        .filter(course::Column::Status.eq(CourseStatus::Published.as_str()));
    if let Some(f) = filter.format {
        q = q.filter(course::Column::Format.eq(f.as_str()));
    }
    if let Some(l) = filter.level {
        q = q.filter(course::Column::Level.eq(l.as_str()));
    }
    if let Some(l) = &filter.language {
        q = q.filter(course::Column::Language.eq(l.as_str()));
    }
    if let Some(t) = &filter.tag {
        let tagged = Query::select()
            .column(course_tag::Column::CourseId)
            .from(course_tag::Entity)
            .and_where(course_tag::Column::Tag.eq(t.as_str()))
            .to_owned();
        q = q.filter(course::Column::Id.in_subquery(tagged));
    }
    if let Some(p) = filter.min_price_cents {
        q = q.filter(course::Column::PriceCents.gte(p));
    }
    if let Some(p) = filter.max_price_cents {
        q = q.filter(course::Column::PriceCents.lte(p));
    }
    // Sessions of the outer course that are still to come.
    let upcoming = || {
        Query::select()
            .from(session::Entity)
            .and_where(
                Expr::col((session::Entity, session::Column::CourseId))
                    .equals((course::Entity, course::Column::Id)),
            )
            .and_where(Expr::col((session::Entity, session::Column::Cancelled)).eq(false))
            .and_where(Expr::col((session::Entity, session::Column::StartsAt)).gt(now))
            .to_owned()
    };
    match filter.has_upcoming_session {
        Some(true) => q = q.filter(Expr::exists(upcoming().expr(Expr::val(1)).to_owned())),
        Some(false) => q = q.filter(Expr::exists(upcoming().expr(Expr::val(1)).to_owned()).not()),
        None => {}
    }
    if let Some(s) = filter.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        let p = like_pattern(s);
        q = q.filter(
            Condition::any()
                .add(
                    Expr::expr(Func::lower(Expr::col((course::Entity, course::Column::Title))))
                        .like(LikeExpr::new(p.clone()).escape('\\')),
                )
                .add(
                    Expr::expr(Func::lower(Expr::col((course::Entity, course::Column::Summary))))
                        .like(LikeExpr::new(p).escape('\\')),
                ),
        );
    }
    q = match sort {
        CourseSort::StartDate => {
            // One pass over the upcoming sessions (grouped), joined to the page, rather than a
            // correlated subquery per course.
            let next_starts = Query::select()
                .column(session::Column::CourseId)
                .expr_as(Expr::col(session::Column::StartsAt).min(), "next_start")
                .from(session::Entity)
                .and_where(session::Column::TenantId.eq(tenant_id))
                .and_where(session::Column::Cancelled.eq(false))
                .and_where(session::Column::StartsAt.gt(now))
                .group_by_col(session::Column::CourseId)
                .to_owned();
            QueryTrait::query(&mut q).join_subquery(
                JoinType::LeftJoin,
                next_starts,
                "nx",
                Expr::col(("nx", "course_id")).equals((course::Entity, course::Column::Id)),
            );
            let next = Expr::col(("nx", "next_start"));
            q.order_by(
                Expr::Case(Box::new(Expr::case(next.clone().is_null(), 1).finally(0))),
                Order::Asc,
            )
            .order_by(next, Order::Asc)
        }
        CourseSort::Price => q.order_by_asc(course::Column::PriceCents),
        CourseSort::Title => q.order_by_asc(course::Column::Title),
    };
    let mut rows = q
        .order_by_asc(course::Column::Id)
        .offset(offset)
        .limit(first + 1)
        .all(&services.db)
        .await?;
    let has_next = rows.len() as u64 > first;
    rows.truncate(first as usize);
    Ok((rows, has_next))
}

/// A course by slug: published only, unless `include_drafts` (admin).
pub async fn course_by_slug(
    services: &Services,
    tenant_id: Uuid,
    slug: &str,
    include_drafts: bool,
) -> AppResult<Option<course::Model>> {
    let mut q = scoped::<course::Entity>(tenant_id).filter(course::Column::Slug.eq(slug));
    if !include_drafts {
        q = q.filter(course::Column::Status.eq(CourseStatus::Published.as_str()));
    }
    Ok(q.one(&services.db).await?)
}

pub async fn session_by_id(
    services: &Services,
    tenant_id: Uuid,
    id: Uuid,
) -> AppResult<Option<session::Model>> {
    Ok(scoped::<session::Entity>(tenant_id)
        .filter(session::Column::Id.eq(id))
        .one(&services.db)
        .await?)
}

fn group<K: std::hash::Hash + Eq, V>(
    rows: impl IntoIterator<Item = V>,
    key: impl Fn(&V) -> K,
) -> HashMap<K, Vec<V>> {
    let mut map: HashMap<K, Vec<V>> = HashMap::new();
    for r in rows {
        map.entry(key(&r)).or_default().push(r);
    }
    map
}

/// Sessions (not cancelled) of several courses, by start date: one query.
pub async fn sessions_of(
    services: &Services,
    tenant_id: Uuid,
    courses: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<session::Model>>> {
    let rows = scoped::<session::Entity>(tenant_id)
        .filter(session::Column::CourseId.is_in(courses.iter().copied()))
        .filter(session::Column::Cancelled.eq(false))
        .order_by_asc(session::Column::StartsAt)
        .all(&services.db)
        .await?;
    Ok(group(rows, |s| s.course_id))
}

/// Lessons of several courses, in order: one query.
pub async fn lessons_of(
    services: &Services,
    tenant_id: Uuid,
    courses: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<lesson::Model>>> {
    let rows = scoped::<lesson::Entity>(tenant_id)
        .filter(lesson::Column::CourseId.is_in(courses.iter().copied()))
        .order_by_asc(lesson::Column::Position)
        .all(&services.db)
        .await?;
    Ok(group(rows, |l| l.course_id))
}

/// Tags of several courses: one query.
pub async fn tags_of(
    services: &Services,
    tenant_id: Uuid,
    courses: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<String>>> {
    let rows = scoped::<course_tag::Entity>(tenant_id)
        .filter(course_tag::Column::CourseId.is_in(courses.iter().copied()))
        .order_by_asc(course_tag::Column::Tag)
        .all(&services.db)
        .await?;
    Ok(rows.into_iter().fold(HashMap::new(), |mut m: HashMap<Uuid, Vec<String>>, t| {
        m.entry(t.course_id).or_default().push(t.tag);
        m
    }))
}

/// Courses by id (any status): one query.
pub async fn courses_by_id(
    services: &Services,
    tenant_id: Uuid,
    ids: &[Uuid],
) -> AppResult<HashMap<Uuid, course::Model>> {
    let rows = scoped::<course::Entity>(tenant_id)
        .filter(course::Column::Id.is_in(ids.iter().copied()))
        .all(&services.db)
        .await?;
    Ok(rows.into_iter().map(|c| (c.id, c)).collect())
}

/// Sessions by id: one query.
pub async fn sessions_by_id(
    services: &Services,
    tenant_id: Uuid,
    ids: &[Uuid],
) -> AppResult<HashMap<Uuid, session::Model>> {
    let rows = scoped::<session::Entity>(tenant_id)
        .filter(session::Column::Id.is_in(ids.iter().copied()))
        .all(&services.db)
        .await?;
    Ok(rows.into_iter().map(|s| (s.id, s)).collect())
}

/// Public display names of instructors: the chosen display name, else first name and the
/// initial of the last name ("Inès M."). Never e-mail or full identity.
pub async fn instructor_names(
    services: &Services,
    tenant_id: Uuid,
    ids: &[Uuid],
) -> AppResult<HashMap<Uuid, String>> {
    let rows: Vec<(Uuid, String, String, Option<String>)> = scoped::<user::Entity>(tenant_id)
        .filter(user::Column::Id.is_in(ids.iter().copied()))
        .select_only()
        .column(user::Column::Id)
        .column(user::Column::FirstName)
        .column(user::Column::LastName)
        .column(user::Column::DisplayName)
        .into_tuple()
        .all(&services.db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, first, last, display)| {
            let name = display.unwrap_or_else(|| match last.chars().next() {
                Some(i) => format!("{first} {i}."),
                None => first,
            });
            (id, name)
        })
        .collect())
}
