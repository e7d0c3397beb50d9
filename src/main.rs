//! The `pupitre` binary: `serve` (default; `--demo` loads the demo data first), `migrate`,
//! `seed`, `schema`, `rotate-document-keys`, `grant-role`, `tenant create|list|update|admin|export|offboard`,
//! `processing-record`, `retention run`, `operations register`.
//! This file starts the process and dispatches; the commands other than `serve` are in `cli`,
//! everything else lives in the library.

mod cli;

use std::process::ExitCode;

use cli::USAGE;
use cli::admin::{
    grant_role, load_demo, processing_flags, processing_record, rotate_document_keys, seed,
};
use cli::operations::register_operations;
use cli::retention::{retention_flags, retention_run};
use cli::tenant::{Refused, parse_tenant_command, tenant_command};
use pupitre::config::Settings;
use pupitre::startup::{self, Application};

/// glibc's malloc raises its mmap threshold to the size of the largest block freed (up to
/// 32 MiB): after the first password hash (argon2id, 19 MiB) such blocks were no longer given
/// back to the system but kept, fragmented, in its heaps (private memory 403 MB after 30
/// log-ins, 228 MB after the demo's seeding). A fixed threshold (set, it also turns the
/// adjustment off) maps every block of 1 MiB or more on its own and unmaps it when freed
/// (15 MB and 14 MB; `tests/binary.rs` holds it). glibc reads it only as a process starts, so
/// the binary starts itself again once, in place (`exec`: same process id, nothing run yet).
/// An operator's own value is kept; if the restart fails, the server runs without it.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn with_fixed_mmap_threshold() {
    use std::os::unix::process::CommandExt as _;
    const VAR: &str = "MALLOC_MMAP_THRESHOLD_";
    if std::env::var_os(VAR).is_some() {
        return;
    }
    let Ok(exe) = std::env::current_exe() else { return };
    let err = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env(VAR, "1048576")
        .exec();
    eprintln!("could not start again with {VAR} set ({err}); running without it");
}

fn main() -> ExitCode {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    with_fixed_mmap_threshold();
    run()
}

#[actix_web::main]
async fn run() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (command, flags) = match args.split_first() {
        Some((c, rest)) if !c.starts_with('-') => (c.as_str(), rest.to_vec()),
        _ => ("serve", args.clone()),
    };
    if command == "schema" {
        print!("{}", pupitre::http::graphql::sdl());
        return ExitCode::SUCCESS;
    }
    if command == "operations" {
        return register_operations(&flags);
    }
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    // Commands that print a document keep stdout for it; their logs go to stderr.
    // Colours only for a person at a terminal, never into a file or a log collector.
    use std::io::IsTerminal as _;
    let logs = if matches!(command, "processing-record" | "retention" | "tenant") {
        let ansi = std::io::stderr().is_terminal();
        pupitre::telemetry::init(&settings.log_filter, settings.log_format, ansi, std::io::stderr)
    } else {
        let ansi = std::io::stdout().is_terminal();
        pupitre::telemetry::init(&settings.log_filter, settings.log_format, ansi, std::io::stdout)
    };
    if let Err(e) = logs {
        eprintln!("{e}");
        return ExitCode::from(2);
    }
    if settings.jwt_secret_generated {
        tracing::warn!(
            "PUPITRE_JWT_SECRET is not set: using a random secret, tokens will not survive a restart"
        );
    }
    let result = match (command, flags.as_slice()) {
        ("serve", []) => serve(settings, false).await,
        ("serve", [flag]) if flag == "--demo" => serve(settings, true).await,
        ("migrate", []) => {
            startup::prepare_database(&settings).await.map(|_| ()).map_err(|e| e.to_string())
        }
        ("seed", []) => seed(&settings).await,
        ("rotate-document-keys", []) => rotate_document_keys(&settings).await,
        ("grant-role", [tenant, email, role]) => grant_role(&settings, tenant, email, role).await,
        ("tenant", [verb, flags @ ..]) => match parse_tenant_command(verb, flags) {
            Ok(command) => tenant_command(&settings, command).await,
            Err(Refused::Invalid(why)) => Err(why),
            Err(Refused::Usage) => {
                eprintln!("{USAGE}");
                return ExitCode::from(2);
            }
        },
        ("processing-record", flags) => match processing_flags(flags) {
            Some((tenant, json)) => processing_record(&settings, tenant, json).await,
            None => {
                eprintln!("{USAGE}");
                return ExitCode::from(2);
            }
        },
        ("retention", [run, flags @ ..]) if run == "run" => match retention_flags(flags) {
            Some((dry_run, tenant)) => retention_run(&settings, dry_run, tenant).await,
            None => {
                eprintln!("{USAGE}");
                return ExitCode::from(2);
            }
        },
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "pupitre stopped with an error");
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(settings: Settings, demo: bool) -> Result<(), String> {
    if demo && settings.is_production() {
        return Err("--demo is refused in production".into());
    }
    let bind = settings.bind.clone();
    let app = Application::build(settings).await.map_err(|e| e.to_string())?;
    if demo {
        load_demo(&app).await?;
    }
    tracing::info!(http.bind = %bind, http.port = app.port(), "pupitre listening");
    match app.services().tenants.all().await {
        Ok(all) if all.is_empty() => tracing::warn!("{}", pupitre::error::NO_TENANT_HINT),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "tenants could not be listed at start"),
    }
    app.run_until_stopped().await.map_err(|e| e.to_string())
}
