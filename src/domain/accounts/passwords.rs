//! Password hashing with argon2id (OWASP parameters: 19 MiB, 2 passes, 1 lane), run on the
//! blocking pool so a log-in never stalls the async workers.

use std::sync::OnceLock;

use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};

use crate::domain::types::Password;
use crate::error::{AppError, AppResult};

/// At most one argon2 computation (19 MiB each) per CPU at a time: a flood of log-ins queues
/// here instead of exhausting memory on the blocking pool.
fn permits() -> &'static tokio::sync::Semaphore {
    static SEM: OnceLock<tokio::sync::Semaphore> = OnceLock::new();
    SEM.get_or_init(|| {
        tokio::sync::Semaphore::new(
            std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2),
        )
    })
}

async fn blocking<T: Send + 'static>(
    what: &'static str,
    f: impl FnOnce() -> AppResult<T> + Send + 'static,
) -> AppResult<T> {
    let _permit = permits().acquire().await.map_err(|e| AppError::internal(what, e))?;
    tokio::task::spawn_blocking(f).await.map_err(|e| AppError::internal(what, e))?
}

fn argon2() -> AppResult<Argon2<'static>> {
    let params = Params::new(19 * 1024, 2, 1, None)
        .map_err(|e| AppError::internal("configuring argon2", e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes a password into a PHC string.
#[tracing::instrument(skip_all)]
pub async fn hash(password: Password) -> AppResult<String> {
    blocking("hashing a password", move || {
        let hash = argon2()?
            .hash_password(password.expose().as_bytes())
            .map_err(|e| AppError::internal("hashing a password", e.to_string()))?;
        Ok(hash.to_string())
    })
    .await
}

/// Verifies `password` against `phc`; when there is no account, verifies against a fixed dummy
/// hash so that the answer takes the same time either way.
#[tracing::instrument(skip_all)]
pub async fn verify(password: String, phc: Option<String>) -> AppResult<bool> {
    blocking("verifying a password", move || {
        let known = phc.is_some();
        let phc = match phc {
            Some(p) => p,
            None => dummy_hash()?.to_owned(),
        };
        let ok = argon2()?.verify_password(password.as_bytes(), phc.as_str()).is_ok();
        Ok(ok && known)
    })
    .await
}

fn dummy_hash() -> AppResult<&'static str> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    if let Some(d) = DUMMY.get() {
        return Ok(d);
    }
    let h = argon2()?
        .hash_password(b"pupitre-timing-equaliser")
        .map_err(|e| AppError::internal("hashing a password", e.to_string()))?
        .to_string();
    Ok(DUMMY.get_or_init(|| h))
}
