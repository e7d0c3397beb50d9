//! Learning: enrollments (with the capacity guard), lesson completion and progress, rosters,
//! live classes and their attendance statistics and recordings.
//!
//! Capacity is decided by the database: a seat is taken by
//! `UPDATE sessions SET seats_taken = seats_taken + 1 WHERE id = ? AND seats_taken < capacity`
//! as the first statement of the enrollment transaction (on SQLite this also takes the write
//! lock up front, so concurrent transactions queue instead of failing on a stale snapshot), and
//! a partial unique index refuses a second live enrollment of the same learner in a session.
//! The reserve / activate / cancel operations take a connection so the shop can run them inside
//! its own order transaction.
//!
//! One file per job, re-exported here so callers write `learning::enroll`,
//! `learning::take_seat`, …:
//!
//! * `seats`: the capacity guard and seat holds (take, activate, release, reserve, expire), the
//!   pieces the shop runs inside its order transactions;
//! * `enrollments`: enrolling in a free course and cancelling, as a learner or their guardian,
//!   and the reads of enrollments (by id, by learner, a session's roster, an instructor's
//!   learners);
//! * `progress`: lesson completion, which completes the enrollment with the last lesson;
//! * `live_classes`: scheduling live classes, the attendance the virtual classroom reports, and
//!   who may watch a recording until when.
//!
//! Nothing here decides who may read a roster or a recording on its own: the rules are
//! `policy`'s, and these functions call them.

mod enrollments;
mod live_classes;
mod progress;
mod seats;

pub use enrollments::{
    Enrolled, cancel, enroll, enrolled_of, enrollment_by_id, enrollments_of,
    learners_of_instructor, roster,
};
pub use live_classes::{
    LiveClassDraft, LiveClassRecord, Participation, attendance_of, live_classes_of,
    record_live_class, recording, recording_expires_at, recording_notice, records_upcoming,
    schedule_live_class,
};
pub use progress::{ProgressCounts, complete_lesson, completions_of, progress_counts_of};
pub use seats::{
    activate, activate_paid, activate_reservation, release, release_expired_holds, reserve,
    take_seat,
};

pub use crate::entities::enums::EnrollmentStatus;

impl EnrollmentStatus {
    /// Paid up (or free) and not cancelled: the learner takes part in the session (joins its
    /// room, watches its recordings).
    pub fn is_live(self) -> bool {
        matches!(self, EnrollmentStatus::Active | EnrollmentStatus::Completed)
    }
}
