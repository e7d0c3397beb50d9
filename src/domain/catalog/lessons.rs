//! Admin writes on a course's outline: adding, renaming, moving and removing lessons, with the
//! positions kept 1..n. Concurrent changes of one outline take turns on the course row.
//! Each write commits with its audit record.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    TransactionTrait,
};
use uuid::Uuid;

use super::readers::{course, lessons_of};
use super::{record, require_admin};
use crate::domain::Services;
use crate::domain::tenancy::scoped;
use crate::entities::{course, lesson};
use crate::error::{AppError, AppResult};
use crate::policy::Actor;

/// Appends a lesson to a course outline, or inserts it at `position` (1-based), shifting the
/// following ones (admin).
#[tracing::instrument(
    skip_all,
    fields(
        tenant.id = %actor.tenant_id,
        actor.id = actor.user_id.map(tracing::field::display),
        course.id = %course_id,
    )
)]
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
#[tracing::instrument(
    skip_all,
    fields(
        tenant.id = %actor.tenant_id,
        actor.id = actor.user_id.map(tracing::field::display),
        lesson.id = %lesson_id,
    )
)]
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
#[tracing::instrument(
    skip_all,
    fields(
        tenant.id = %actor.tenant_id,
        actor.id = actor.user_id.map(tracing::field::display),
        lesson.id = %lesson_id,
    )
)]
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
