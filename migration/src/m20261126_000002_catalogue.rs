//! Catalogue and learning: courses (with tags), sessions (cohorts), ordered lessons,
//! enrollments with lesson completions, live classes with per-participant attendance; and the
//! public display name instructors appear under.
//!
//! `sessions.seats_taken` is the capacity guard: it only ever changes through a conditional
//! `UPDATE … WHERE seats_taken < capacity`, so concurrent enrollments never oversell.

use sea_orm_migration::{prelude::*, schema::*};

use crate::util::{fk, index};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261126_000002_catalogue"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table("users").add_column(string_null("display_name")).take())
            .await?;
        m.create_table(
            Table::create()
                .table("courses")
                .col(pk_uuid("id"))
                .col(uuid("tenant_id"))
                .col(string("slug"))
                .col(string("title"))
                .col(string("summary"))
                .col(text("description"))
                .col(string("level"))
                .col(string("format"))
                .col(string("language"))
                .col(big_integer("price_cents"))
                .col(string("currency"))
                .col(integer("tax_rate_bp"))
                .col(string("status"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(&mut fk("courses", "tenant_id", "tenants"))
                .take(),
        )
        .await?;
        m.create_index(
            index("ux_courses_tenant_slug", "courses", &["tenant_id", "slug"]).unique().take(),
        )
        .await?;
        m.create_index(index("ix_courses_tenant_status", "courses", &["tenant_id", "status"]))
            .await?;
        m.create_table(
            Table::create()
                .table("course_tags")
                .col(uuid("course_id"))
                .col(string("tag"))
                .col(uuid("tenant_id"))
                .primary_key(Index::create().col("course_id").col("tag"))
                .foreign_key(&mut fk("course_tags", "course_id", "courses"))
                .take(),
        )
        .await?;
        m.create_index(index("ix_course_tags_tag", "course_tags", &["tenant_id", "tag"])).await?;
        m.create_table(
            Table::create()
                .table("sessions")
                .col(pk_uuid("id"))
                .col(uuid("tenant_id"))
                .col(uuid("course_id"))
                .col(timestamp_with_time_zone("starts_at"))
                .col(timestamp_with_time_zone("ends_at"))
                .col(uuid_null("instructor_id"))
                .col(integer("capacity"))
                .col(integer("seats_taken"))
                .col(string_null("location"))
                .col(string_null("virtual_room"))
                .col(boolean("cancelled"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(&mut fk("sessions", "course_id", "courses"))
                .take(),
        )
        .await?;
        m.create_index(index("ix_sessions_course_start", "sessions", &["course_id", "starts_at"]))
            .await?;
        m.create_index(index("ix_sessions_instructor", "sessions", &["instructor_id"])).await?;
        m.create_table(
            Table::create()
                .table("lessons")
                .col(pk_uuid("id"))
                .col(uuid("tenant_id"))
                .col(uuid("course_id"))
                .col(integer("position"))
                .col(string("title"))
                .col(integer_null("duration_minutes"))
                .foreign_key(&mut fk("lessons", "course_id", "courses"))
                .take(),
        )
        .await?;
        m.create_index(index("ix_lessons_course_position", "lessons", &["course_id", "position"]))
            .await?;
        m.create_table(
            Table::create()
                .table("enrollments")
                .col(pk_uuid("id"))
                .col(uuid("tenant_id"))
                .col(uuid("session_id"))
                .col(uuid("learner_id"))
                .col(string("status"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("hold_expires_at"))
                .col(timestamp_with_time_zone_null("activated_at"))
                .col(timestamp_with_time_zone_null("completed_at"))
                .col(timestamp_with_time_zone_null("cancelled_at"))
                .foreign_key(&mut fk("enrollments", "session_id", "sessions"))
                .foreign_key(&mut fk("enrollments", "learner_id", "users"))
                .take(),
        )
        .await?;
        m.create_index(index("ix_enrollments_learner", "enrollments", &["learner_id"])).await?;
        m.create_index(index("ix_enrollments_session", "enrollments", &["session_id", "status"]))
            .await?;
        // One live (not cancelled) enrollment per learner and session; a partial unique index is
        // the database's own guard against double enrollment under concurrency.
        m.get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX ux_enrollments_live ON enrollments (session_id, learner_id) WHERE status <> 'cancelled'",
            )
            .await?;
        m.create_table(
            Table::create()
                .table("lesson_completions")
                .col(uuid("enrollment_id"))
                .col(uuid("lesson_id"))
                .col(uuid("tenant_id"))
                .col(timestamp_with_time_zone("completed_at"))
                .primary_key(Index::create().col("enrollment_id").col("lesson_id"))
                .foreign_key(&mut fk("lesson_completions", "enrollment_id", "enrollments"))
                .foreign_key(&mut fk("lesson_completions", "lesson_id", "lessons"))
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("live_classes")
                .col(pk_uuid("id"))
                .col(uuid("tenant_id"))
                .col(uuid("session_id"))
                .col(string("title"))
                .col(timestamp_with_time_zone("starts_at"))
                .col(timestamp_with_time_zone("ends_at"))
                .col(boolean("recorded"))
                .col(string_null("recording_ref"))
                .foreign_key(&mut fk("live_classes", "session_id", "sessions"))
                .take(),
        )
        .await?;
        m.create_index(index(
            "ix_live_classes_session",
            "live_classes",
            &["session_id", "starts_at"],
        ))
        .await?;
        m.create_table(
            Table::create()
                .table("live_class_attendance")
                .col(uuid("live_class_id"))
                .col(uuid("learner_id"))
                .col(uuid("tenant_id"))
                .col(timestamp_with_time_zone("joined_at"))
                .col(timestamp_with_time_zone("left_at"))
                .col(integer("talk_seconds"))
                .col(integer("chat_messages"))
                .col(integer("hand_raises"))
                .col(integer("poll_answers"))
                .primary_key(Index::create().col("live_class_id").col("learner_id"))
                .foreign_key(&mut fk("live_class_attendance", "live_class_id", "live_classes"))
                .foreign_key(&mut fk("live_class_attendance", "learner_id", "users"))
                .take(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "live_class_attendance",
            "live_classes",
            "lesson_completions",
            "enrollments",
            "lessons",
            "sessions",
            "course_tags",
            "courses",
        ] {
            m.drop_table(Table::drop().table(t).if_exists().take()).await?;
        }
        m.alter_table(Table::alter().table("users").drop_column("display_name").take()).await?;
        Ok(())
    }
}
