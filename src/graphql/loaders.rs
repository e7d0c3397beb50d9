//! Per-request batch loaders: every nested list (sessions of courses, lessons, tags, instructor
//! names, enrollments, completions, live classes, attendance, users) is loaded with one query
//! per level, whatever the number of parents.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use uuid::Uuid;

use crate::domain::Services;
use crate::domain::accounts::{self, UserRecord};
use crate::domain::consent::{self, ConsentState};
use crate::domain::{catalog, equal_opportunity, learning, newsletter, shop};
use crate::entities::{
    course, eo_document, invoice, lesson, live_class, live_class_attendance,
    newsletter_subscription, order_line, refund, session,
};
use crate::error::AppError;

/// One loader, many key types; scoped to the request's tenant.
pub struct Batch {
    pub services: Arc<Services>,
    pub tenant_id: Uuid,
}

macro_rules! key {
    ($($name:ident),*) => {$(
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub struct $name(pub Uuid);
    )*};
}
key!(
    UserConsents,
    GuardianWards,
    CourseSessions,
    CourseUpcomingSessions,
    CourseLessons,
    CourseTags,
    InstructorName,
    CourseById,
    SessionById,
    LearnerEnrollments,
    EnrollmentCompletions,
    EnrollmentProgress,
    SessionLiveClasses,
    LearnerAttendance,
    UserById,
    OrderLines,
    OrderInvoices,
    OrderRefunds,
    ApplicationDocuments,
    InReview,
    PendingRoles,
    PersonSubscriptions,
    CurrentPolicy
);

fn ids<K: Copy>(keys: &[K], f: impl Fn(K) -> Uuid) -> Vec<Uuid> {
    keys.iter().map(|k| f(*k)).collect()
}

macro_rules! loader {
    ($key:ident => $value:ty, |$this:ident, $ids:ident| $load:expr) => {
        impl Loader<$key> for Batch {
            type Value = $value;
            type Error = Arc<AppError>;

            async fn load(&self, keys: &[$key]) -> Result<HashMap<$key, $value>, Self::Error> {
                let $this = self;
                let $ids = ids(keys, |k| k.0);
                let mut found: HashMap<Uuid, $value> = $load.await.map_err(Arc::new)?;
                Ok(keys.iter().filter_map(|k| found.remove(&k.0).map(|v| (*k, v))).collect())
            }
        }
    };
}

loader!(CourseSessions => Vec<session::Model>, |b, ids| catalog::sessions_of(&b.services, b.tenant_id, &ids));
loader!(CourseUpcomingSessions => Vec<session::Model>, |b, ids| catalog::upcoming_sessions_of(&b.services, b.tenant_id, &ids));
loader!(CourseLessons => Vec<lesson::Model>, |b, ids| catalog::lessons_of(&b.services, b.tenant_id, &ids));
loader!(CourseTags => Vec<String>, |b, ids| catalog::tags_of(&b.services, b.tenant_id, &ids));
loader!(InstructorName => String, |b, ids| catalog::instructor_names(&b.services, b.tenant_id, &ids));
loader!(CourseById => course::Model, |b, ids| catalog::courses_by_id(&b.services, b.tenant_id, &ids));
loader!(SessionById => session::Model, |b, ids| catalog::sessions_by_id(&b.services, b.tenant_id, &ids));
loader!(LearnerEnrollments => Vec<learning::Enrolled>, |b, ids| learning::enrolled_of(&b.services, b.tenant_id, &ids));
loader!(EnrollmentProgress => learning::ProgressCounts, |b, ids| learning::progress_counts_of(&b.services, b.tenant_id, &ids));
loader!(EnrollmentCompletions => Vec<Uuid>, |b, ids| learning::completions_of(&b.services, b.tenant_id, &ids));
loader!(SessionLiveClasses => Vec<live_class::Model>, |b, ids| learning::live_classes_of(&b.services, b.tenant_id, &ids));
loader!(LearnerAttendance => Vec<live_class_attendance::Model>, |b, ids| learning::attendance_of(&b.services, b.tenant_id, &ids));
loader!(UserById => UserRecord, |b, ids| async {
    Ok::<_, AppError>(accounts::find_records(&b.services, b.tenant_id, &ids).await?.into_iter().map(|r| (r.user.id, r)).collect())
});
loader!(UserConsents => Vec<ConsentState>, |b, ids| consent::current_for_users(&b.services, b.tenant_id, &ids));
loader!(GuardianWards => Vec<UserRecord>, |b, ids| accounts::wards_of_many(&b.services, b.tenant_id, &ids));
loader!(OrderLines => Vec<order_line::Model>, |b, ids| shop::lines_of(&b.services, b.tenant_id, &ids));
loader!(OrderInvoices => Vec<invoice::Model>, |b, ids| shop::invoice::invoices_of(&b.services, b.tenant_id, &ids));
loader!(OrderRefunds => Vec<refund::Model>, |b, ids| shop::refund::refunds_of(&b.services, b.tenant_id, &ids));
loader!(InReview => bool, |b, ids| equal_opportunity::in_review_applicants(&b.services, b.tenant_id, &ids));
loader!(CurrentPolicy => crate::entities::privacy_policy::Model, |b, ids| crate::domain::policy_versions::current_of(&b.services, &ids));
loader!(PendingRoles => crate::policy::RoleSet, |b, ids| accounts::pending_roles_of(&b.services, b.tenant_id, &ids));
loader!(PersonSubscriptions => Vec<newsletter_subscription::Model>, |b, ids| newsletter::of_people(&b.services, b.tenant_id, &ids));
loader!(ApplicationDocuments => Vec<eo_document::Model>, |b, ids| equal_opportunity::documents_of(&b.services, b.tenant_id, &ids));
