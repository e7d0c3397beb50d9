//! The one application error type and its mapping to GraphQL and HTTP.
//!
//! Clients see a stable `extensions.code` (and, for bad input, the offending field); internal
//! causes are logged once with their whole chain and never sent to clients.

use std::fmt;

/// What a client can switch on; the GraphQL `extensions.code` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    Unauthenticated,
    Forbidden,
    BadUserInput,
    NotFound,
    Conflict,
    RateLimited,
    /// A service Pupitre depends on (the payment provider) did not answer: retry later.
    Unavailable,
    /// Stored data failed its integrity check (a tampered or damaged encrypted document).
    DataCorrupted,
    Internal,
    /// Automatic persisted queries: this hash is unknown here; send the query text with it.
    PersistedQueryNotFound,
    /// Trusted documents: only registered operations run on this installation.
    PersistedQueryNotInList,
}

impl ErrorCode {
    /// Every code, for metrics and documentation.
    pub const ALL: [ErrorCode; 11] = [
        ErrorCode::Unauthenticated,
        ErrorCode::Forbidden,
        ErrorCode::BadUserInput,
        ErrorCode::NotFound,
        ErrorCode::Conflict,
        ErrorCode::RateLimited,
        ErrorCode::Unavailable,
        ErrorCode::DataCorrupted,
        ErrorCode::Internal,
        ErrorCode::PersistedQueryNotFound,
        ErrorCode::PersistedQueryNotInList,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Unauthenticated => "UNAUTHENTICATED",
            ErrorCode::Forbidden => "FORBIDDEN",
            ErrorCode::BadUserInput => "BAD_USER_INPUT",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::Conflict => "CONFLICT",
            ErrorCode::RateLimited => "RATE_LIMITED",
            ErrorCode::Unavailable => "UNAVAILABLE",
            ErrorCode::DataCorrupted => "DATA_CORRUPTED",
            ErrorCode::Internal => "INTERNAL",
            ErrorCode::PersistedQueryNotFound => "PERSISTED_QUERY_NOT_FOUND",
            ErrorCode::PersistedQueryNotInList => "PERSISTED_QUERY_NOT_IN_LIST",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What an installation without any tenant answers and logs at start.
pub const NO_TENANT_HINT: &str = "this installation has no tenant yet: create one with `pupitre tenant create --slug SLUG --name NAME --dpo-name NAME --dpo-email EMAIL --policy-url URL` (see README, \"Running Pupitre for several organisations\"), or try the demo with `pupitre serve --demo`";

/// Every failure a domain service or resolver can report.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("authentication required")]
    Unauthenticated,
    /// The one answer to a failed log-in, whether or not the account exists.
    #[error("invalid e-mail or password")]
    InvalidCredentials,
    #[error("not allowed")]
    Forbidden,
    /// A fresh re-authentication (the current password, asked again before a data-subject
    /// request) failed: `FORBIDDEN`, and nothing was recorded.
    #[error(
        "the password is not correct: your identity could not be confirmed and nothing was recorded"
    )]
    ReauthenticationFailed,
    /// `field` is the path of the offending input, e.g. `input.phone`.
    #[error("{message}")]
    BadUserInput { field: String, message: String },
    #[error("not found")]
    NotFound,
    /// The installation has no tenant at all (`NOT_FOUND`): the message says how to create one.
    #[error("{}", NO_TENANT_HINT)]
    NoTenant,
    #[error("{0}")]
    Conflict(String),
    #[error("too many attempts, retry in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    /// The payment provider failed or timed out; `then` tells the client what became of the
    /// operation (nothing kept, or kept and retried by Pupitre).
    #[error("the payment provider is unavailable: {then}")]
    Unavailable {
        then: &'static str,
        #[source]
        source: BoxError,
    },
    /// Stored data failed its integrity check; it is never returned.
    #[error("{0}")]
    Corrupted(&'static str),
    #[error("internal error while {context}")]
    Internal {
        context: &'static str,
        #[source]
        source: BoxError,
    },
}

/// Shorthand for results of domain services.
pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn bad_input(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::BadUserInput { field: field.into(), message: message.into() }
    }

    pub fn internal(context: &'static str, source: impl Into<BoxError>) -> Self {
        AppError::Internal { context, source: source.into() }
    }

    /// True for a database unique-constraint violation (a lost race on a unique key).
    pub fn is_unique_violation(&self) -> bool {
        match self {
            AppError::Internal { source, .. } => source
                .downcast_ref::<sea_orm::DbErr>()
                .and_then(sea_orm::DbErr::sql_err)
                .is_some_and(|e| matches!(e, sea_orm::SqlErr::UniqueConstraintViolation(_))),
            _ => false,
        }
    }

    /// Turns a unique-constraint violation into `CONFLICT` with `message`.
    pub fn unique_as_conflict(self, message: &str) -> Self {
        if self.is_unique_violation() { AppError::Conflict(message.into()) } else { self }
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            AppError::Unauthenticated | AppError::InvalidCredentials => ErrorCode::Unauthenticated,
            AppError::Forbidden | AppError::ReauthenticationFailed => ErrorCode::Forbidden,
            AppError::BadUserInput { .. } => ErrorCode::BadUserInput,
            AppError::NotFound | AppError::NoTenant => ErrorCode::NotFound,
            AppError::Conflict(_) => ErrorCode::Conflict,
            AppError::RateLimited { .. } => ErrorCode::RateLimited,
            AppError::Unavailable { .. } => ErrorCode::Unavailable,
            AppError::Corrupted(_) => ErrorCode::DataCorrupted,
            AppError::Internal { .. } => ErrorCode::Internal,
        }
    }

    /// Prefixes the field path of a bad-input error (`phone` becomes `input.phone`).
    pub fn under(self, prefix: &str) -> Self {
        match self {
            AppError::BadUserInput { field, message } => {
                AppError::BadUserInput { field: format!("{prefix}.{field}"), message }
            }
            other => other,
        }
    }
}

impl From<sea_orm::DbErr> for AppError {
    fn from(e: sea_orm::DbErr) -> Self {
        AppError::internal("accessing the database", e)
    }
}

impl From<sea_orm::TransactionError<AppError>> for AppError {
    fn from(e: sea_orm::TransactionError<AppError>) -> Self {
        match e {
            sea_orm::TransactionError::Connection(db) => db.into(),
            sea_orm::TransactionError::Transaction(app) => app,
        }
    }
}

/// Writes the whole cause chain on one line, for logs.
pub struct Chain<'a>(pub &'a (dyn std::error::Error + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cur = self.0.source();
        while let Some(c) = cur {
            write!(f, ": {c}")?;
            cur = c.source();
        }
        Ok(())
    }
}

/// Resolvers turn domain results into GraphQL results with `.gql()`, never with a bare `?`
/// (async-graphql's blanket `From<Display>` would drop the code).
pub trait IntoGql<T> {
    fn gql(self) -> async_graphql::Result<T>;
}

impl<T> IntoGql<T> for AppResult<T> {
    fn gql(self) -> async_graphql::Result<T> {
        self.map_err(|e| async_graphql::ErrorExtensions::extend(&e))
    }
}

impl async_graphql::ErrorExtensions for AppError {
    fn extend(&self) -> async_graphql::Error {
        let e = self;
        if let AppError::Internal { .. } = e {
            // Logged here, once, inside the request span that carries the request id.
            tracing::error!(error.chain = %Chain(e), "internal error");
            let mut err = async_graphql::Error::new("internal error");
            err = err.extend_with(|_, ext| ext.set("code", ErrorCode::Internal.as_str()));
            return err;
        }
        if let AppError::Unavailable { .. } = e {
            tracing::warn!(error.chain = %Chain(e), "upstream unavailable");
        }
        let code = e.code();
        let message = e.to_string();
        async_graphql::Error::new(message).extend_with(|_, ext| {
            ext.set("code", code.as_str());
            match e {
                AppError::BadUserInput { field, .. } => ext.set("field", field.as_str()),
                AppError::RateLimited { retry_after_secs } => {
                    ext.set("retryAfter", *retry_after_secs)
                }
                _ => {}
            }
        })
    }
}
