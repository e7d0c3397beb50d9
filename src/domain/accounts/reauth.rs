//! Fresh re-authentication: the signed-in person types their current password again before an
//! action that must be theirs (a data-subject request: an access token alone, perhaps stolen or
//! left on a shared computer, must not be enough to have someone's data exported or erased).
//!
//! Wrong passwords are throttled under the same key as the password change's current-password
//! check, so a stolen token gets `max_failures` guesses in the window, whichever form it uses.
//! The password is never logged.

use sea_orm::{ColumnTrait, QueryFilter};

use super::passwords;
use super::throttle::{forgive, throttle, throttle_key};
use crate::domain::Services;
use crate::domain::tenancy::scoped;
use crate::entities::user;
use crate::error::{AppError, AppResult};
use crate::policy::Actor;

/// Checks `password` against the actor's own account. A wrong one is
/// [`AppError::ReauthenticationFailed`] (`FORBIDDEN`); too many within the log-in window are
/// `RATE_LIMITED`. Writes nothing but the throttling record (taken back on success).
#[tracing::instrument(
    skip_all,
    fields(tenant.id = %actor.tenant_id, actor.id = actor.user_id.map(tracing::field::display))
)]
pub async fn reauthenticate(services: &Services, actor: &Actor, password: String) -> AppResult<()> {
    let user_id = actor.user_id.ok_or(AppError::Unauthenticated)?;
    let found = scoped::<user::Entity>(actor.tenant_id)
        .filter(user::Column::Id.eq(user_id))
        .one(&services.db)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    let key = throttle_key(services, actor.tenant_id, "password", &user_id.to_string());
    let attempt =
        throttle(services, actor.tenant_id, &[(key.clone(), services.login.max_failures)]).await?;
    if !passwords::verify(password, found.password_hash.clone()).await? {
        return Err(AppError::ReauthenticationFailed);
    }
    forgive(services, actor.tenant_id, attempt, &key).await
}
