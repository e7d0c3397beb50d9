//! Builds the application once: database, migrations, services, schema, HTTP server. Used by
//! `main` and by the integration tests, which start the real server on port 0.

use std::net::TcpListener;
use std::sync::Arc;

use actix_service::{IntoServiceFactory, ServiceFactoryExt, fn_service, map_config};
use actix_web::dev::AppConfig;
use actix_web::dev::Server;
use actix_web::{App, middleware, web};

use crate::config::Settings;
use crate::db::{self, StatementCounter};
use crate::domain::{Clock, Services};
use crate::http::{self, AppState, metrics::Metrics};

/// Why the application could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot open the database: {0}")]
    Database(#[from] sea_orm::DbErr),
    #[error("cannot bind {addr}: {source}")]
    Bind { addr: String, source: std::io::Error },
    #[error("cannot set up metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    #[error("cannot set up the Stripe client: {0}")]
    Stripe(#[from] crate::domain::payments::GatewayError),
    #[error("cannot set up document storage: {0}")]
    Documents(#[from] crate::domain::equal_opportunity::vault::VaultError),
    #[error("refusing the development document key in production")]
    DevelopmentDocumentKey,
    #[error("cannot start the HTTP server: {0}")]
    Server(#[from] std::io::Error),
    #[error("cannot read the registered operations: {0}")]
    Operations(#[from] crate::http::graphql::ManifestError),
    #[error("cannot load the e-mail templates: {0}")]
    Mail(#[from] crate::error::AppError),
}

/// A built, not yet running, application.
pub struct Application {
    port: u16,
    server: Server,
    services: Services,
    /// Period of the background jobs in seconds (0: none).
    jobs_every: u64,
}

/// Connects and migrates.
pub async fn prepare_database(
    settings: &Settings,
) -> Result<(sea_orm::DatabaseConnection, StatementCounter), StartupError> {
    let (conn, counter) = db::connect(&settings.database_url, settings.db_max_connections).await?;
    db::migrate(&conn).await?;
    Ok((conn, counter))
}

/// Document keys, store and limits from the settings.
pub fn document_config(
    settings: &Settings,
) -> Result<crate::domain::equal_opportunity::DocumentConfig, StartupError> {
    use crate::domain::equal_opportunity::{DocumentConfig, vault};
    let keys = match &settings.document_keys {
        Some(raw) => vault::MasterKeys::parse(raw.expose())?,
        None => vault::MasterKeys::development(),
    };
    if settings.is_production() && keys.is_development() {
        return Err(StartupError::DevelopmentDocumentKey);
    }
    if keys.is_development() {
        tracing::warn!(
            "documents are encrypted with the development key (set PUPITRE_DOCUMENT_KEYS)"
        );
    }
    let store = match &settings.document_s3 {
        None => vault::DocumentStore::local(std::path::Path::new(&settings.document_dir))?,
        Some(s3) => s3_store(s3)?,
    };
    Ok(DocumentConfig {
        keys: Arc::new(keys),
        store,
        max_file_bytes: settings.upload_max_file_bytes,
        max_files: settings.upload_max_files,
    })
}

/// The S3-compatible document store (TLS through rustls with the ring provider).
fn s3_store(
    s3: &crate::config::S3Settings,
) -> Result<crate::domain::equal_opportunity::vault::DocumentStore, StartupError> {
    use crate::domain::equal_opportunity::vault::{DocumentStore, VaultError};
    use object_store::aws::AmazonS3Builder;
    // One process-wide TLS crypto provider; a second call finds it installed, which is fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut b = AmazonS3Builder::new().with_bucket_name(&s3.bucket).with_region(&s3.region);
    if let Some(e) = &s3.endpoint {
        b = b
            .with_endpoint(e)
            .with_allow_http(e.starts_with("http://"))
            .with_virtual_hosted_style_request(false);
    }
    if let (Some(k), Some(sk)) = (&s3.access_key_id, &s3.secret_access_key) {
        b = b.with_access_key_id(k.expose()).with_secret_access_key(sk.expose());
    }
    let store = b.build().map_err(|e| VaultError::Storage(format!("S3 configuration: {e}")))?;
    let store: Arc<dyn object_store::ObjectStore> = if s3.prefix.is_empty() {
        Arc::new(store)
    } else {
        Arc::new(object_store::prefix::PrefixStore::new(store, s3.prefix.as_str()))
    };
    Ok(DocumentStore::from_store(store))
}

impl Application {
    /// Builds everything with the system clock.
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        Self::build_with_clock(settings, Clock::system()).await
    }

    /// Builds everything with an injected clock (tests).
    pub async fn build_with_clock(settings: Settings, clock: Clock) -> Result<Self, StartupError> {
        let (conn, counter) = prepare_database(&settings).await?;
        let gateway = crate::domain::payments::StripeGateway::new(
            settings.stripe_secret_key.expose(),
            settings.stripe_api_base.as_deref(),
            std::time::Duration::from_millis(settings.stripe_timeout_ms),
        )?;
        let documents = document_config(&settings)?;
        let mailer =
            crate::domain::mail::Mailer::new(settings.mail.clone(), settings.public_url.clone())?;
        let services =
            Services::new(conn, counter.clone(), &settings, clock, gateway, documents, mailer);
        let schema = http::graphql::schema(&settings, services.clone());
        let metrics = Arc::new(Metrics::new(counter, services.payments.stats.clone())?);
        let listener = TcpListener::bind(&settings.bind)
            .map_err(|source| StartupError::Bind { addr: settings.bind.clone(), source })?;
        let port = listener.local_addr().map_err(StartupError::Server)?.port();
        let max_body = settings.max_body_bytes;
        let read_timeout = settings.body_read_timeout();
        let max_connections = settings.max_connections_per_worker.max(1);
        let jobs_every = settings.jobs_interval_secs;
        let workers = settings.workers.max(1);
        let microcache = Arc::new(http::microcache::MicroCache::new(
            std::time::Duration::from_millis(settings.response_cache_ms),
            2_000,
        ));
        let manifest = match &settings.operations_manifest {
            Some(path) => http::graphql::Manifest::load(std::path::Path::new(path))?,
            None => http::graphql::Manifest::embedded()?,
        };
        let persisted = http::graphql::Persisted::new(settings.persisted_queries, &manifest);
        let state = web::Data::new(AppState {
            services: Arc::new(services.clone()),
            schema,
            settings: Arc::new(settings),
            metrics,
            microcache,
            persisted,
            parsed: Default::default(),
        });
        let addr = listener.local_addr().map_err(StartupError::Server)?;
        let mut builder = actix_server::Server::build();
        let shutdown = builder.graceful_shutdown_signal();
        builder = builder
            .workers(workers)
            // Past this many open connections a worker stops accepting; clients wait in the
            // listen backlog instead of each holding buffers here.
            .max_concurrent_connections(max_connections)
            .shutdown_timeout(20);
        // What `HttpServer` builds, with one step in front: `http::front` looks at the first
        // request line of each connection before actix-http's parser does.
        let server = builder
            .listen("pupitre-http", listener, move || {
                let app = App::new()
                    .app_data(state.clone())
                    // Outermost last: request id and metrics, then the allowed origins, then
                    // CORS itself (preflights are answered there).
                    .wrap(http::cors::cors())
                    .wrap(middleware::from_fn(http::cors::origins))
                    .wrap(middleware::from_fn(http::observe))
                    .configure(|cfg| http::configure(cfg, max_body))
                    .into_factory()
                    .map_err(|e: actix_web::Error| e.error_response());
                let shutdown = shutdown.clone();
                let http = actix_http::HttpService::build()
                    .graceful_shutdown_signal(move || {
                        let signal = shutdown.clone();
                        async move { signal.notified().await }
                    })
                    // A request head must arrive within the body read timeout (408 from
                    // actix-http after); bodies are timed by the routes reading them (see
                    // `http::body`).
                    .client_request_timeout(read_timeout)
                    // An idle keep-alive connection is closed after 5 s.
                    .keep_alive(std::time::Duration::from_secs(5))
                    // After an early answer (413, 408) the rest of the body is read and
                    // discarded for up to 2 s, so that the client sees the answer rather than a
                    // reset, then the connection is closed.
                    .client_disconnect_timeout(std::time::Duration::from_secs(2))
                    .local_addr(addr)
                    .h1(map_config(app, |_| AppConfig::default()))
                    .tcp();
                fn_service(move |io: tokio::net::TcpStream| http::front::screen(io, read_timeout))
                    .and_then(http)
            })?
            .run();
        Ok(Application { port, server, services, jobs_every })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The domain services (tests use them to arrange data and read counters).
    pub fn services(&self) -> &Services {
        &self.services
    }

    /// Loads the demo data into this application's database (idempotent).
    pub async fn load_demo(&self) -> crate::error::AppResult<crate::seed::SeedReport> {
        crate::seed::load_demo(&self.services).await
    }

    /// Serves until SIGTERM/SIGINT (graceful: in-flight requests finish, up to 20 s).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let jobs = (self.jobs_every > 0).then(|| {
            crate::jobs::spawn(
                self.services.clone(),
                std::time::Duration::from_secs(self.jobs_every),
            )
        });
        let res = self.server.await;
        if let Some(j) = jobs {
            j.abort();
        }
        res
    }
}
