//! The catalogue API: public `courses` / `course` / `session` (no personal data; cacheable for
//! anonymous visitors) and the admin mutations that manage courses, sessions and lessons. The
//! `Course`, `Session` and `Lesson` types are in [`super::nodes`].
//!
//! One file per job: `queries` (the public catalogue and its page priming), `inputs` (the
//! admin inputs and their parsing into domain drafts) and `mutations` (the admin mutations and
//! their payloads). The roots merge [`CatalogQuery`] and [`CatalogMutation`] as before; the
//! fields of each keep their order, so the SDL does not move.

mod inputs;
mod mutations;
mod queries;

pub use mutations::CatalogMutation;
pub use queries::CatalogQuery;
