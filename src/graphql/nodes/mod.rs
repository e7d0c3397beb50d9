//! The API's object types that several areas return: catalogue items (`Course`, `Session`,
//! `Lesson`, `Money`), learning records (`Enrollment`, `RosterEntry`, `LiveClass`) and people
//! (`User`). The object graph is one cycle (a session's roster lists users, a user's enrollments
//! name their session), so these types live together here, and the resolver modules (catalog,
//! learning, user, shop, equal opportunity, account) use them without using one another.
//!
//! Nodes wrap domain models and list their fields explicitly; a personal field carries the
//! one-line [`super::guard::Need`] guard, and a node never decides access or queries the
//! database itself (nested lists come through the request's batch loaders).

mod catalog;
mod learning;
mod user;

pub use catalog::{CourseNode, FormatGql, LessonNode, LevelGql, MoneyGql, SessionNode};
pub use learning::{EnrollmentNode, LiveClassNode};
pub use user::{CivilityGql, PostalAddressGql, RoleGql, UserNode};
