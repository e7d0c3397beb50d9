//! Typed settings read from the environment (and a `.env` file when present).
//!
//! Every key is documented in `.env.example` and the README. Secrets are held in [`Secret`],
//! whose `Debug` never prints them. Production refuses to start with unsafe settings and names
//! each one.
//!
//! One job, one file (about 540 lines without its tests): every setting with its default, its
//! parse and its production check, so that one read shows everything an operator can set.

use std::collections::HashMap;
use std::fmt;

/// Which kind of deployment this is; production tightens the defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

/// A secret value: never printed by `Debug`.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Which GraphQL documents an instance runs (`PUPITRE_PERSISTED_QUERIES`, see
/// `http::graphql::persisted`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PersistedQueries {
    /// Any document; hashes of documents seen before (APQ) or registered.
    Automatic,
    /// Registered documents only (trusted documents).
    Trusted,
}

/// Log output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// All settings of one Pupitre instance.
#[derive(Clone, Debug)]
pub struct Settings {
    pub env: Environment,
    pub bind: String,
    pub database_url: String,
    /// Pool size; by default [`DEFAULT_POOL_SIZE`].
    pub db_max_connections: u32,
    pub jwt_secret: Secret,
    /// True when no secret was configured and a random one was generated (development only).
    pub jwt_secret_generated: bool,
    pub jwt_issuer: String,
    pub jwt_audience: String,
    pub access_token_ttl_secs: i64,
    pub refresh_token_ttl_secs: i64,
    pub introspection: bool,
    pub graphiql: bool,
    pub max_body_bytes: usize,
    /// How long a client may take to send a request head or a whole request body (an upload:
    /// the longest pause between two pieces of it); 408 after.
    pub body_read_timeout_secs: u64,
    /// How long a whole upload (a multipart request) may take, however steadily it arrives; 408
    /// after. Bounds what a signed-in client trickling bytes can hold.
    pub upload_timeout_secs: u64,
    /// Most open connections per worker; further clients wait in the listen backlog.
    pub max_connections_per_worker: usize,
    pub graphql_max_depth: usize,
    pub graphql_max_complexity: usize,
    pub graphql_max_batch: usize,
    pub default_tenant: Option<String>,
    pub login_max_failures: u64,
    pub login_window_secs: i64,
    pub log_format: LogFormat,
    pub log_filter: String,
    pub workers: usize,
    /// How long public catalogue responses are kept in-process (0: never).
    pub response_cache_ms: u64,
    /// Addresses of reverse proxies / load balancers whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Browser origins every tenant's API accepts (CORS), besides each tenant's own
    /// (`corsOrigins` in its settings). Development also accepts any `localhost` origin.
    pub cors_origins: Vec<String>,
    /// Which GraphQL documents run: any, with automatic persisted queries, or only the
    /// registered operations (trusted documents).
    pub persisted_queries: PersistedQueries,
    /// The registered operations (an Apollo persisted query manifest written by `pupitre
    /// operations register`); `None`: the reference operations built into the server.
    pub operations_manifest: Option<String>,
    /// Stripe secret API key (`sk_live_…` / `sk_test_…`).
    pub stripe_secret_key: Secret,
    /// Stripe API base URL; `None` is Stripe itself (tests point it at a local stand-in).
    pub stripe_api_base: Option<String>,
    /// Signing secret of the `/webhooks/stripe` endpoint (`whsec_…`).
    pub stripe_webhook_secret: Secret,
    /// The tenant (slug) the installation's Stripe keys serve; unset: the only tenant, if there
    /// is one. Other tenants set their own keys (`setPaymentAccount`).
    pub stripe_tenant: Option<String>,
    /// Per-attempt timeout of every Stripe call.
    pub stripe_timeout_ms: u64,
    /// Largest accepted age (and clock skew) of a webhook signature timestamp.
    pub stripe_webhook_tolerance_secs: i64,
    /// How long an unpaid order holds its seats.
    pub order_hold_secs: i64,
    /// Period of the background jobs (order expiry); 0 disables them.
    pub jobs_interval_secs: u64,
    /// Seconds between two scheduled retention sweeps of a tenant (checked by the background
    /// jobs); 0 disables the scheduled sweep (`pupitre retention run` still works).
    pub retention_interval_secs: u64,
    /// Rows per retention batch (each batch is one transaction).
    pub retention_batch_size: u64,
    /// Master keys of document encryption, `kid:base64,…` (the first wraps new keys); `None`
    /// is the development key (refused in production).
    pub document_keys: Option<Secret>,
    /// Directory of the encrypted documents (the local document store).
    pub document_dir: String,
    /// S3-compatible object storage for the documents instead of the directory.
    pub document_s3: Option<S3Settings>,
    /// Largest accepted upload, in bytes.
    pub upload_max_file_bytes: usize,
    /// Most documents per application.
    pub upload_max_files: usize,
    /// The public address of this server, for the links in e-mails (confirm, unsubscribe).
    pub public_url: String,
    /// E-mail delivery (the outbox worker).
    pub mail: MailSettings,
}

/// How the outbox worker delivers e-mail.
#[derive(Clone, Debug)]
pub struct MailSettings {
    /// The SMTP server; `None` (development default): messages are logged and marked sent.
    pub smtp: Option<SmtpSettings>,
    /// The `From` address.
    pub from: String,
    /// The address of the `mailto:` unsubscribe (RFC 2369); by default `unsubscribe@` the
    /// domain of `from`.
    pub unsubscribe_mailto: String,
    /// Attempts before a message is `dead`.
    pub max_attempts: i32,
    /// The first retry waits this long; each next one twice as long (capped at 6 hours).
    pub retry_base_secs: i64,
    /// Messages sent per round of the worker, at most.
    pub batch: u64,
    /// Soft bounces (temporary failures reported by the mail provider) after which an address
    /// is suppressed like a hard bounce.
    pub soft_bounce_limit: i32,
}

/// How the SMTP connection is secured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain text: a local relay only (refused in production).
    None,
    /// STARTTLS required (port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
}

/// The SMTP server.
#[derive(Clone, Debug)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub timeout_secs: u64,
}

/// The placeholder secret shipped in `.env.example`; production refuses it.
/// The Stripe key used when none is configured (development only): calls to Stripe fail.
pub const DEVELOPMENT_STRIPE_KEY: &str = "sk_test_pupitre_development_placeholder";

/// An S3-compatible bucket (AWS S3, MinIO, Scaleway, OVH…) holding the encrypted documents.
#[derive(Clone, Debug)]
pub struct S3Settings {
    pub bucket: String,
    /// Key prefix inside the bucket (may be empty).
    pub prefix: String,
    pub region: String,
    /// Endpoint of a non-AWS service, e.g. `https://s3.fr-par.scw.cloud`.
    pub endpoint: Option<String>,
    pub access_key_id: Option<Secret>,
    pub secret_access_key: Option<Secret>,
}

pub const EXAMPLE_JWT_SECRET: &str = "change-me-development-only-secret-0123456789";

/// Complexity points of one argon2 computation (19 MiB and tens of milliseconds of a CPU):
/// as much as a whole page of catalogue results. The GraphQL layer charges it to the
/// mutations that hash a password.
pub const PASSWORD_HASH_COST: usize = 500;
/// The smallest `PUPITRE_GRAPHQL_MAX_COMPLEXITY` with which every mutation stays possible
/// (`changePassword`: two hashes, plus its payload).
pub const MIN_COMPLEXITY: usize = 2 * PASSWORD_HASH_COST + 100;

/// Why the settings cannot be used; lists every problem at once.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration:\n  - {}", .0.join("\n  - "))]
pub struct ConfigError(pub Vec<String>);

impl Settings {
    /// Reads `.env` (if present) then the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        // A missing .env file is normal; a malformed one is reported by the parse below.
        let _ = dotenvy::dotenv();
        Self::from_map(&std::env::vars().collect())
    }

    /// Builds settings from a key/value map; used by `from_env` and by tests.
    pub fn from_map(vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let mut problems = Vec::new();
        let get = |k: &str| vars.get(k).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());

        let env = match get("PUPITRE_ENV").as_deref() {
            None | Some("development") => Environment::Development,
            Some("production") => Environment::Production,
            Some(other) => {
                problems.push(format!(
                    "PUPITRE_ENV must be `development` or `production`, not `{other}`"
                ));
                Environment::Development
            }
        };
        let prod = env == Environment::Production;

        fn parse<T: std::str::FromStr>(
            problems: &mut Vec<String>,
            key: &str,
            raw: Option<String>,
            default: T,
        ) -> T {
            match raw {
                None => default,
                Some(v) => v.parse().unwrap_or_else(|_| {
                    problems.push(format!("{key} has an invalid value `{v}`"));
                    default
                }),
            }
        }

        let (jwt_secret, jwt_secret_generated) = match get("PUPITRE_JWT_SECRET") {
            Some(s) => (Secret::new(s), false),
            None => {
                if prod {
                    problems.push("PUPITRE_JWT_SECRET is required in production".into());
                }
                (Secret::new(random_secret()), true)
            }
        };
        if prod && !jwt_secret_generated {
            if jwt_secret.expose().len() < 32 {
                problems.push("PUPITRE_JWT_SECRET must be at least 32 bytes in production".into());
            }
            if jwt_secret.expose() == EXAMPLE_JWT_SECRET {
                problems.push("PUPITRE_JWT_SECRET is the example value from .env.example".into());
            }
        }

        let graphiql = parse(&mut problems, "PUPITRE_GRAPHIQL", get("PUPITRE_GRAPHIQL"), !prod);
        if prod && graphiql {
            problems.push("PUPITRE_GRAPHIQL must not be enabled in production".into());
        }
        let log_format = match get("PUPITRE_LOG_FORMAT").as_deref() {
            None => {
                if prod {
                    LogFormat::Json
                } else {
                    LogFormat::Pretty
                }
            }
            Some("json") => LogFormat::Json,
            Some("pretty") => LogFormat::Pretty,
            Some(other) => {
                problems
                    .push(format!("PUPITRE_LOG_FORMAT must be `json` or `pretty`, not `{other}`"));
                LogFormat::Pretty
            }
        };
        let access_token_ttl_secs = parse(
            &mut problems,
            "PUPITRE_ACCESS_TOKEN_TTL_SECS",
            get("PUPITRE_ACCESS_TOKEN_TTL_SECS"),
            900,
        );
        if !(30..=3600).contains(&access_token_ttl_secs) {
            problems.push("PUPITRE_ACCESS_TOKEN_TTL_SECS must be between 30 and 3600".into());
        }
        let settings = Settings {
            env,
            bind: get("PUPITRE_BIND").unwrap_or_else(|| "127.0.0.1:8080".into()),
            database_url: get("DATABASE_URL")
                .unwrap_or_else(|| "sqlite://pupitre.db?mode=rwc".into()),
            db_max_connections: parse(
                &mut problems,
                "PUPITRE_DB_MAX_CONNECTIONS",
                get("PUPITRE_DB_MAX_CONNECTIONS"),
                DEFAULT_POOL_SIZE,
            ),
            jwt_secret,
            jwt_secret_generated,
            jwt_issuer: get("PUPITRE_JWT_ISSUER").unwrap_or_else(|| "pupitre".into()),
            jwt_audience: get("PUPITRE_JWT_AUDIENCE").unwrap_or_else(|| "pupitre-api".into()),
            access_token_ttl_secs,
            refresh_token_ttl_secs: parse(
                &mut problems,
                "PUPITRE_REFRESH_TOKEN_TTL_SECS",
                get("PUPITRE_REFRESH_TOKEN_TTL_SECS"),
                30 * 24 * 3600,
            ),
            introspection: parse(
                &mut problems,
                "PUPITRE_INTROSPECTION",
                get("PUPITRE_INTROSPECTION"),
                !prod,
            ),
            graphiql,
            max_body_bytes: parse(
                &mut problems,
                "PUPITRE_MAX_BODY_BYTES",
                get("PUPITRE_MAX_BODY_BYTES"),
                1 << 20,
            ),
            body_read_timeout_secs: parse(
                &mut problems,
                "PUPITRE_BODY_READ_TIMEOUT_SECS",
                get("PUPITRE_BODY_READ_TIMEOUT_SECS"),
                10,
            ),
            upload_timeout_secs: parse(
                &mut problems,
                "PUPITRE_UPLOAD_TIMEOUT_SECS",
                get("PUPITRE_UPLOAD_TIMEOUT_SECS"),
                300,
            ),
            max_connections_per_worker: parse(
                &mut problems,
                "PUPITRE_MAX_CONNECTIONS_PER_WORKER",
                get("PUPITRE_MAX_CONNECTIONS_PER_WORKER"),
                1024,
            ),
            graphql_max_depth: parse(
                &mut problems,
                "PUPITRE_GRAPHQL_MAX_DEPTH",
                get("PUPITRE_GRAPHQL_MAX_DEPTH"),
                10,
            ),
            graphql_max_complexity: parse(
                &mut problems,
                "PUPITRE_GRAPHQL_MAX_COMPLEXITY",
                get("PUPITRE_GRAPHQL_MAX_COMPLEXITY"),
                5000,
            ),
            graphql_max_batch: parse(
                &mut problems,
                "PUPITRE_GRAPHQL_MAX_BATCH",
                get("PUPITRE_GRAPHQL_MAX_BATCH"),
                5,
            ),
            default_tenant: get("PUPITRE_DEFAULT_TENANT"),
            login_max_failures: parse(
                &mut problems,
                "PUPITRE_LOGIN_MAX_FAILURES",
                get("PUPITRE_LOGIN_MAX_FAILURES"),
                5,
            ),
            login_window_secs: parse(
                &mut problems,
                "PUPITRE_LOGIN_WINDOW_SECS",
                get("PUPITRE_LOGIN_WINDOW_SECS"),
                900,
            ),
            log_format,
            log_filter: get("PUPITRE_LOG").unwrap_or_else(|| "info,sqlx=warn,sea_orm=warn".into()),
            trusted_proxies: match get("PUPITRE_TRUSTED_PROXIES") {
                None => Vec::new(),
                Some(list) => list
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .filter_map(|ip| match ip.parse() {
                        Ok(a) => Some(a),
                        Err(_) => {
                            problems.push(format!(
                                "PUPITRE_TRUSTED_PROXIES: `{ip}` is not an IP address"
                            ));
                            None
                        }
                    })
                    .collect(),
            },
            cors_origins: get("PUPITRE_CORS_ORIGINS")
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .filter_map(|o| {
                    match crate::domain::types::Origin::parse("PUPITRE_CORS_ORIGINS", o) {
                        Ok(o) => Some(o.into_inner()),
                        Err(_) => {
                            problems.push(format!(
                                "PUPITRE_CORS_ORIGINS: `{o}` is not an origin such as https://shop.example.org"
                            ));
                            None
                        }
                    }
                })
                .collect(),
            persisted_queries: match get("PUPITRE_PERSISTED_QUERIES").as_deref() {
                None | Some("automatic") => PersistedQueries::Automatic,
                Some("trusted") => PersistedQueries::Trusted,
                Some(other) => {
                    problems.push(format!(
                        "PUPITRE_PERSISTED_QUERIES must be `automatic` or `trusted`, not `{other}`"
                    ));
                    PersistedQueries::Automatic
                }
            },
            operations_manifest: get("PUPITRE_OPERATIONS_MANIFEST").filter(|s| !s.trim().is_empty()),
            stripe_secret_key: match get("PUPITRE_STRIPE_SECRET_KEY") {
                Some(k) => Secret::new(k),
                None => {
                    if prod {
                        problems.push("PUPITRE_STRIPE_SECRET_KEY is required in production".into());
                    }
                    Secret::new(DEVELOPMENT_STRIPE_KEY)
                }
            },
            stripe_api_base: get("PUPITRE_STRIPE_API_BASE"),
            stripe_tenant: get("PUPITRE_STRIPE_TENANT").filter(|s| !s.trim().is_empty()),
            stripe_webhook_secret: match get("PUPITRE_STRIPE_WEBHOOK_SECRET") {
                Some(k) => Secret::new(k),
                None => {
                    if prod {
                        problems
                            .push("PUPITRE_STRIPE_WEBHOOK_SECRET is required in production".into());
                    }
                    Secret::new(random_secret())
                }
            },
            stripe_timeout_ms: parse(
                &mut problems,
                "PUPITRE_STRIPE_TIMEOUT_MS",
                get("PUPITRE_STRIPE_TIMEOUT_MS"),
                10_000,
            ),
            stripe_webhook_tolerance_secs: parse(
                &mut problems,
                "PUPITRE_STRIPE_WEBHOOK_TOLERANCE_SECS",
                get("PUPITRE_STRIPE_WEBHOOK_TOLERANCE_SECS"),
                300,
            ),
            order_hold_secs: parse(
                &mut problems,
                "PUPITRE_ORDER_HOLD_SECS",
                get("PUPITRE_ORDER_HOLD_SECS"),
                1800,
            ),
            jobs_interval_secs: parse(
                &mut problems,
                "PUPITRE_JOBS_INTERVAL_SECS",
                get("PUPITRE_JOBS_INTERVAL_SECS"),
                60,
            ),
            retention_interval_secs: parse(
                &mut problems,
                "PUPITRE_RETENTION_INTERVAL_SECS",
                get("PUPITRE_RETENTION_INTERVAL_SECS"),
                3600,
            ),
            retention_batch_size: parse(
                &mut problems,
                "PUPITRE_RETENTION_BATCH_SIZE",
                get("PUPITRE_RETENTION_BATCH_SIZE"),
                500,
            ),
            document_keys: match get("PUPITRE_DOCUMENT_KEYS") {
                Some(k) => Some(Secret::new(k)),
                None => {
                    if prod {
                        problems.push("PUPITRE_DOCUMENT_KEYS is required in production".into());
                    }
                    None
                }
            },
            document_dir: get("PUPITRE_DOCUMENT_DIR").unwrap_or_else(|| "data/documents".into()),
            document_s3: match get("PUPITRE_DOCUMENT_STORE").as_deref() {
                None | Some("local") => None,
                Some(url) => {
                    match url.strip_prefix("s3://").map(|r| r.split_once('/').unwrap_or((r, ""))) {
                        Some((bucket, prefix)) if !bucket.is_empty() => Some(S3Settings {
                            bucket: bucket.to_owned(),
                            prefix: prefix.trim_matches('/').to_owned(),
                            region: get("PUPITRE_S3_REGION").unwrap_or_else(|| "us-east-1".into()),
                            endpoint: get("PUPITRE_S3_ENDPOINT"),
                            access_key_id: get("PUPITRE_S3_ACCESS_KEY_ID").map(Secret::new),
                            secret_access_key: get("PUPITRE_S3_SECRET_ACCESS_KEY").map(Secret::new),
                        }),
                        _ => {
                            problems.push(format!("PUPITRE_DOCUMENT_STORE must be `local` or `s3://bucket[/prefix]`, not `{url}`"));
                            None
                        }
                    }
                }
            },
            upload_max_file_bytes: parse(
                &mut problems,
                "PUPITRE_UPLOAD_MAX_FILE_BYTES",
                get("PUPITRE_UPLOAD_MAX_FILE_BYTES"),
                10 * 1024 * 1024,
            ),
            upload_max_files: parse(
                &mut problems,
                "PUPITRE_UPLOAD_MAX_FILES",
                get("PUPITRE_UPLOAD_MAX_FILES"),
                5,
            ),
            response_cache_ms: parse(
                &mut problems,
                "PUPITRE_RESPONSE_CACHE_MS",
                get("PUPITRE_RESPONSE_CACHE_MS"),
                1000,
            ),
            public_url: get("PUPITRE_PUBLIC_URL")
                .unwrap_or_else(|| "http://127.0.0.1:8080".into())
                .trim_end_matches('/')
                .to_owned(),
            mail: {
                let from = get("PUPITRE_MAIL_FROM")
                    .unwrap_or_else(|| "Pupitre <no-reply@pupitre.localhost>".into());
                let domain = from
                    .rsplit_once('@')
                    .map(|(_, d)| d.trim_end_matches('>').to_owned())
                    .unwrap_or_else(|| "pupitre.localhost".into());
                let security = match get("PUPITRE_SMTP_SECURITY").as_deref() {
                    None | Some("starttls") => SmtpSecurity::StartTls,
                    Some("tls") => SmtpSecurity::Tls,
                    Some("none") => SmtpSecurity::None,
                    Some(other) => {
                        problems.push(format!(
                            "PUPITRE_SMTP_SECURITY must be `starttls`, `tls` or `none`, not `{other}`"
                        ));
                        SmtpSecurity::StartTls
                    }
                };
                let default_port = match security {
                    SmtpSecurity::StartTls => 587,
                    SmtpSecurity::Tls => 465,
                    SmtpSecurity::None => 25,
                };
                MailSettings {
                    smtp: match get("PUPITRE_SMTP_HOST") {
                        Some(host) => Some(SmtpSettings {
                            host,
                            port: parse(
                                &mut problems,
                                "PUPITRE_SMTP_PORT",
                                get("PUPITRE_SMTP_PORT"),
                                default_port,
                            ),
                            security,
                            username: get("PUPITRE_SMTP_USERNAME"),
                            password: get("PUPITRE_SMTP_PASSWORD").map(Secret::new),
                            timeout_secs: parse(
                                &mut problems,
                                "PUPITRE_SMTP_TIMEOUT_SECS",
                                get("PUPITRE_SMTP_TIMEOUT_SECS"),
                                15,
                            ),
                        }),
                        None => {
                            if prod {
                                problems.push("PUPITRE_SMTP_HOST is required in production".into());
                            }
                            None
                        }
                    },
                    unsubscribe_mailto: get("PUPITRE_MAIL_UNSUBSCRIBE_MAILTO")
                        .unwrap_or_else(|| format!("unsubscribe@{domain}")),
                    from,
                    max_attempts: parse(
                        &mut problems,
                        "PUPITRE_MAIL_MAX_ATTEMPTS",
                        get("PUPITRE_MAIL_MAX_ATTEMPTS"),
                        8,
                    ),
                    retry_base_secs: parse(
                        &mut problems,
                        "PUPITRE_MAIL_RETRY_BASE_SECS",
                        get("PUPITRE_MAIL_RETRY_BASE_SECS"),
                        60,
                    ),
                    batch: parse(
                        &mut problems,
                        "PUPITRE_MAIL_BATCH",
                        get("PUPITRE_MAIL_BATCH"),
                        50,
                    ),
                    soft_bounce_limit: parse(
                        &mut problems,
                        "PUPITRE_MAIL_SOFT_BOUNCE_LIMIT",
                        get("PUPITRE_MAIL_SOFT_BOUNCE_LIMIT"),
                        5,
                    ),
                }
            },
            workers: parse(
                &mut problems,
                "PUPITRE_WORKERS",
                get("PUPITRE_WORKERS"),
                std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2),
            ),
        };
        if let Some(base) = &settings.stripe_api_base
            && !(base.starts_with("https://") || (!prod && base.starts_with("http://")))
        {
            problems.push(
                "PUPITRE_STRIPE_API_BASE must be an https:// URL (http:// only outside production)"
                    .into(),
            );
        }
        if let Some(s3) = &settings.document_s3
            && let Some(e) = &s3.endpoint
            && !(e.starts_with("https://") || (!prod && e.starts_with("http://")))
        {
            problems.push(
                "PUPITRE_S3_ENDPOINT must be an https:// URL (http:// only outside production)"
                    .into(),
            );
        }
        if prod && !settings.public_url.starts_with("https://") {
            problems.push("PUPITRE_PUBLIC_URL must be an https:// URL in production".into());
        }
        if prod && settings.mail.smtp.as_ref().is_some_and(|s| s.security == SmtpSecurity::None) {
            problems.push("PUPITRE_SMTP_SECURITY=none is refused in production".into());
        }
        if !(1..=50).contains(&settings.mail.max_attempts) {
            problems.push("PUPITRE_MAIL_MAX_ATTEMPTS must be between 1 and 50".into());
        }
        if !(1..=86_400).contains(&settings.mail.retry_base_secs) {
            problems.push("PUPITRE_MAIL_RETRY_BASE_SECS must be between 1 and 86400".into());
        }
        if !(1..=100).contains(&settings.mail.soft_bounce_limit) {
            problems.push("PUPITRE_MAIL_SOFT_BOUNCE_LIMIT must be between 1 and 100".into());
        }
        if !(1..=10_000).contains(&settings.mail.batch) {
            problems.push("PUPITRE_MAIL_BATCH must be between 1 and 10000".into());
        }
        if let Err(e) = settings.mail.from.parse::<lettre::message::Mailbox>() {
            problems.push(format!("PUPITRE_MAIL_FROM is not an address: {e}"));
        }
        if prod && settings.stripe_secret_key.expose() == DEVELOPMENT_STRIPE_KEY {
            problems.push("PUPITRE_STRIPE_SECRET_KEY is the development placeholder".into());
        }
        let ranges: [(&str, i64, i64, i64); 19] = [
            (
                "PUPITRE_UPLOAD_MAX_FILE_BYTES",
                settings.upload_max_file_bytes as i64,
                1024,
                100 * 1024 * 1024,
            ),
            ("PUPITRE_UPLOAD_MAX_FILES", settings.upload_max_files as i64, 1, 20),
            ("PUPITRE_STRIPE_TIMEOUT_MS", settings.stripe_timeout_ms as i64, 100, 60_000),
            (
                "PUPITRE_STRIPE_WEBHOOK_TOLERANCE_SECS",
                settings.stripe_webhook_tolerance_secs,
                1,
                3600,
            ),
            ("PUPITRE_ORDER_HOLD_SECS", settings.order_hold_secs, 60, 7 * 24 * 3600),
            ("PUPITRE_JOBS_INTERVAL_SECS", settings.jobs_interval_secs as i64, 0, 24 * 3600),
            (
                "PUPITRE_RETENTION_INTERVAL_SECS",
                settings.retention_interval_secs as i64,
                0,
                7 * 24 * 3600,
            ),
            ("PUPITRE_RETENTION_BATCH_SIZE", settings.retention_batch_size as i64, 1, 10_000),
            (
                "PUPITRE_REFRESH_TOKEN_TTL_SECS",
                settings.refresh_token_ttl_secs,
                300,
                365 * 24 * 3600,
            ),
            ("PUPITRE_LOGIN_WINDOW_SECS", settings.login_window_secs, 1, 24 * 3600),
            ("PUPITRE_LOGIN_MAX_FAILURES", settings.login_max_failures as i64, 1, 1000),
            ("PUPITRE_GRAPHQL_MAX_DEPTH", settings.graphql_max_depth as i64, 2, 64),
            ("PUPITRE_GRAPHQL_MAX_BATCH", settings.graphql_max_batch as i64, 1, 100),
            ("PUPITRE_DB_MAX_CONNECTIONS", settings.db_max_connections as i64, 1, 1000),
            ("PUPITRE_RESPONSE_CACHE_MS", settings.response_cache_ms as i64, 0, 60_000),
            ("PUPITRE_MAX_BODY_BYTES", settings.max_body_bytes as i64, 1024, 64 * 1024 * 1024),
            ("PUPITRE_BODY_READ_TIMEOUT_SECS", settings.body_read_timeout_secs as i64, 1, 600),
            ("PUPITRE_UPLOAD_TIMEOUT_SECS", settings.upload_timeout_secs as i64, 1, 3600),
            (
                "PUPITRE_MAX_CONNECTIONS_PER_WORKER",
                settings.max_connections_per_worker as i64,
                1,
                25_000,
            ),
        ];
        for (key, value, min, max) in ranges {
            if !(min..=max).contains(&value) {
                problems.push(format!("{key} must be between {min} and {max}"));
            }
        }
        // Below this, a password change (two argon2 computations) could never run.
        if settings.graphql_max_complexity < MIN_COMPLEXITY {
            problems
                .push(format!("PUPITRE_GRAPHQL_MAX_COMPLEXITY must be at least {MIN_COMPLEXITY}"));
        }
        if problems.is_empty() { Ok(settings) } else { Err(ConfigError(problems)) }
    }

    pub fn is_production(&self) -> bool {
        self.env == Environment::Production
    }

    /// [`Settings::body_read_timeout_secs`] as a duration.
    pub fn body_read_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.body_read_timeout_secs)
    }
}

/// The pool size when `PUPITRE_DB_MAX_CONNECTIONS` is not set.
///
/// A connection goes back to the pool only once the worker that used it has polled its release
/// (sqlx checks it with one more round trip then), and a worker serving many requests polls it
/// late: with 32 requests in flight on 2 workers, 10 connections left the CPU 15 to 19 % idle.
/// 32 served 24 % more catalogue pages on PostgreSQL and 13 to 15 % more on SQLite, p99 1 to 3 ms
/// higher; on SQLite each connection also keeps its own page cache (peak 60 → 105 MB under
/// that load) (`docs/BENCHMARKS.md`, ninth pass).
pub const DEFAULT_POOL_SIZE: u32 = 32;

fn random_secret() -> String {
    use base64::Engine;
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn the_pool_size_defaults_to_32_and_is_set_by_the_operator() {
        let postgres = ("DATABASE_URL", "postgres://db.internal/pupitre");
        assert_eq!(Settings::from_map(&map(&[postgres])).expect("valid").db_max_connections, 32);
        let set = ("PUPITRE_DB_MAX_CONNECTIONS", "12");
        assert_eq!(
            Settings::from_map(&map(&[postgres, set])).expect("valid").db_max_connections,
            12
        );
        let zero = ("PUPITRE_DB_MAX_CONNECTIONS", "0");
        assert!(Settings::from_map(&map(&[postgres, zero])).is_err(), "at least one connection");
    }

    #[test]
    fn development_defaults_need_no_configuration() {
        let s = Settings::from_map(&map(&[])).expect("defaults are valid");
        assert_eq!(s.bind, "127.0.0.1:8080");
        assert_eq!(s.database_url, "sqlite://pupitre.db?mode=rwc");
        assert_eq!(s.db_max_connections, 32);
        assert!(s.jwt_secret_generated);
        assert!(s.graphiql && s.introspection);
    }

    #[test]
    fn production_refuses_unsafe_settings_and_names_each() {
        let err = Settings::from_map(&map(&[
            ("PUPITRE_ENV", "production"),
            ("PUPITRE_GRAPHIQL", "true"),
        ]))
        .expect_err("unsafe");
        let text = err.to_string();
        assert!(text.contains("PUPITRE_JWT_SECRET is required"), "{text}");
        assert!(text.contains("PUPITRE_GRAPHIQL"), "{text}");
        let err = Settings::from_map(&map(&[
            ("PUPITRE_ENV", "production"),
            ("PUPITRE_JWT_SECRET", EXAMPLE_JWT_SECRET),
        ]))
        .expect_err("example secret");
        assert!(err.to_string().contains("example value"));
    }

    #[test]
    fn production_with_a_real_secret_turns_introspection_off() {
        let s = Settings::from_map(&map(&[
            ("PUPITRE_ENV", "production"),
            ("PUPITRE_JWT_SECRET", "a-real-secret-that-is-long-enough-0123456789"),
            ("PUPITRE_STRIPE_SECRET_KEY", "sk_live_example"),
            ("PUPITRE_STRIPE_WEBHOOK_SECRET", "whsec_example"),
            ("PUPITRE_DOCUMENT_KEYS", "k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
            ("PUPITRE_PUBLIC_URL", "https://learn.example.org"),
            ("PUPITRE_SMTP_HOST", "smtp.example.org"),
        ]))
        .expect("valid");
        assert!(!s.introspection && !s.graphiql);
        assert_eq!(format!("{:?}", s.jwt_secret), "Secret(<redacted>)");
    }

    #[test]
    fn production_requires_stripe_keys_and_https() {
        let err = Settings::from_map(&map(&[
            ("PUPITRE_ENV", "production"),
            ("PUPITRE_JWT_SECRET", "a-real-secret-that-is-long-enough-0123456789"),
            ("PUPITRE_STRIPE_API_BASE", "http://stripe.internal"),
        ]))
        .expect_err("refused");
        let all = err.0.join("\n");
        assert!(all.contains("PUPITRE_STRIPE_SECRET_KEY is required"), "{all}");
        assert!(all.contains("PUPITRE_STRIPE_WEBHOOK_SECRET is required"), "{all}");
        assert!(all.contains("PUPITRE_STRIPE_API_BASE must be an https://"), "{all}");
        assert!(all.contains("PUPITRE_SMTP_HOST is required in production"), "{all}");
        assert!(all.contains("PUPITRE_PUBLIC_URL must be an https:// URL"), "{all}");
    }

    #[test]
    fn smtp_security_picks_its_port_and_the_mailto_follows_the_sender() {
        let s = Settings::from_map(&map(&[
            ("PUPITRE_SMTP_HOST", "smtp.example.org"),
            ("PUPITRE_SMTP_SECURITY", "tls"),
            ("PUPITRE_MAIL_FROM", "École <ecole@example.org>"),
        ]))
        .expect("valid");
        let smtp = s.mail.smtp.expect("smtp");
        assert_eq!((smtp.port, smtp.security), (465, SmtpSecurity::Tls));
        assert_eq!(s.mail.unsubscribe_mailto, "unsubscribe@example.org");
        let err = Settings::from_map(&map(&[("PUPITRE_SMTP_SECURITY", "ssl")])).expect_err("bad");
        assert!(err.0.join("\n").contains("PUPITRE_SMTP_SECURITY must be"));
    }

    #[test]
    fn http_limits_have_safe_defaults_and_bounds() {
        let s = Settings::from_map(&map(&[])).expect("defaults are valid");
        assert_eq!((s.body_read_timeout_secs, s.max_connections_per_worker), (10, 1024));
        let err = Settings::from_map(&map(&[
            ("PUPITRE_BODY_READ_TIMEOUT_SECS", "0"),
            ("PUPITRE_MAX_CONNECTIONS_PER_WORKER", "0"),
        ]))
        .expect_err("out of range");
        let all = err.0.join("\n");
        assert!(all.contains("PUPITRE_BODY_READ_TIMEOUT_SECS must be between 1 and 600"), "{all}");
        assert!(
            all.contains("PUPITRE_MAX_CONNECTIONS_PER_WORKER must be between 1 and 25000"),
            "{all}"
        );
    }
}
