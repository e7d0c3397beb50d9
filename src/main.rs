//! The `pupitre` binary: `serve` (default; `--demo` loads the demo data first), `migrate`,
//! `seed`, `schema`, `rotate-document-keys`, `grant-role`, `tenant create|list|update|admin|export|offboard`,
//! `processing-record`, `retention run`, `operations register`.
//! Everything else lives in the library.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;

use pupitre::config::Settings;
use pupitre::startup::{self, Application};

const USAGE: &str = "usage: pupitre [serve [--demo] | migrate | seed | schema | rotate-document-keys | grant-role <tenant-slug> <email> <role> | tenant create --slug S --name N --dpo-name N --dpo-email E --policy-url U [--policy-version V] [--host H] | tenant list | tenant update --slug S [--name N] [--dpo-name N] [--dpo-email E] [--host H|\"\"] | tenant admin --slug S --email E [--first-name F] [--last-name L] | tenant export --slug S [--out FILE] | tenant offboard --slug S --confirm S [--out FILE] | processing-record [--tenant SLUG] [--format md|json] | retention run [--dry-run] [--tenant SLUG] | operations register [--dir DIR] [--out FILE]]";

/// `operations register [--dir graphql/operations] [--out DIR/manifest.json]`: writes the
/// manifest of registered operations (trusted documents, see `http::graphql::manifest`).
fn register_operations(flags: &[String]) -> ExitCode {
    let Some(rest) = flags.strip_prefix(&["register".to_owned()]) else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let mut dir = PathBuf::from("graphql/operations");
    let mut out = None;
    let mut it = rest.iter();
    while let Some(flag) = it.next() {
        match (flag.as_str(), it.next()) {
            ("--dir", Some(d)) => dir = PathBuf::from(d),
            ("--out", Some(f)) => out = Some(PathBuf::from(f)),
            _ => {
                eprintln!("{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    let out = out.unwrap_or_else(|| dir.join("manifest.json"));
    let manifest = match pupitre::http::graphql::Manifest::build(&dir) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = std::fs::write(&out, manifest.to_json()) {
        eprintln!("cannot write {}: {e}", out.display());
        return ExitCode::FAILURE;
    }
    println!("registered {} operations in {}", manifest.operations.len(), out.display());
    ExitCode::SUCCESS
}

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

/// Loads the demo data through the services of a built (not serving) application.
async fn seed(settings: &Settings) -> Result<(), String> {
    let app = offline_app(settings).await?;
    load_demo(&app).await
}

async fn load_demo(app: &Application) -> Result<(), String> {
    let report = app.load_demo().await.map_err(|e| e.to_string())?;
    tracing::info!(
        seed.created = report.created,
        seed.existing = report.existing,
        "demo data loaded"
    );
    Ok(())
}

/// Re-wraps every document key under the first of `PUPITRE_DOCUMENT_KEYS`.
async fn rotate_document_keys(settings: &Settings) -> Result<(), String> {
    let (conn, _) = startup::prepare_database(settings).await.map_err(|e| e.to_string())?;
    let documents = startup::document_config(settings).map_err(|e| e.to_string())?;
    let moved = pupitre::domain::equal_opportunity::rotate_keys(&conn, &documents)
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!(documents.rewrapped = moved, "document keys rotated");
    Ok(())
}

/// The operator's grant of a role (the first privacy officer of a tenant, or a new one): pending
/// until the person accepts it in the API, and audited.
async fn grant_role(
    settings: &Settings,
    tenant: &str,
    email: &str,
    role: &str,
) -> Result<(), String> {
    let role = pupitre::policy::Role::parse(role).ok_or_else(|| {
        let names: Vec<&str> = pupitre::policy::Role::ALL.iter().map(|r| r.as_str()).collect();
        format!("unknown role `{role}`: one of {}", names.join(", "))
    })?;
    let app = offline_app(settings).await?;
    pupitre::domain::accounts::operator_grant(app.services(), tenant, email, role)
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!(
        role = role.as_str(),
        "role granted by the operator; it takes effect when its holder accepts it"
    );
    Ok(())
}

/// `[--tenant SLUG] [--format md|json]`, in any order: the tenant, and whether JSON is asked.
fn processing_flags(flags: &[String]) -> Option<(Option<&str>, bool)> {
    let f = named_flags(flags, &["tenant", "format"])?;
    let json = match f.get("format").copied() {
        None | Some("md") => false,
        Some("json") => true,
        Some(_) => return None,
    };
    Some((f.get("tenant").copied(), json))
}

/// Prints the record of processing activities (GDPR art. 30), made from the registry and the
/// need-to-know matrix; with `--tenant`, headed by that organisation and its DPO.
async fn processing_record(
    settings: &Settings,
    tenant: Option<&str>,
    json: bool,
) -> Result<(), String> {
    let record = match tenant {
        None => pupitre::domain::privacy::record::ProcessingRecord {
            controller: "(the organisation)".to_owned(),
            dpo: "(its data-protection officer)".to_owned(),
            activities: pupitre::policy::processing::record(),
        },
        Some(slug) => {
            let (conn, _) = startup::prepare_database(settings).await.map_err(|e| e.to_string())?;
            let t = pupitre::domain::tenancy::TenantDirectory::new(conn)
                .by_slug(slug)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("no tenant `{slug}`"))?;
            pupitre::domain::privacy::record::ProcessingRecord::of(&t)
        }
    };
    if json {
        println!("{:#}", serde_json::json!(record));
    } else {
        print!("{}", pupitre::policy::processing::to_markdown(&record.controller, &record.dpo));
    }
    Ok(())
}

/// `[--dry-run] [--tenant SLUG]`, in any order.
fn retention_flags(flags: &[String]) -> Option<(bool, Option<&str>)> {
    let (mut dry_run, mut tenant) = (false, None);
    let mut it = flags.iter();
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--dry-run" => dry_run = true,
            "--tenant" => tenant = Some(it.next()?.as_str()),
            _ => return None,
        }
    }
    Some((dry_run, tenant))
}

/// The command's progress bar (stderr; hidden when stderr is not a terminal).
struct Bar(indicatif::ProgressBar);

impl Bar {
    /// An empty bar counting rows, headed by `prefix`.
    fn rows(prefix: &str) -> Bar {
        let bar = indicatif::ProgressBar::new(0);
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{prefix} [{bar:40}] {pos}/{len} rows {msg}")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_prefix(prefix.to_owned());
        Bar(bar)
    }
}

impl pupitre::domain::retention::Progress for Bar {
    fn tenant(&self, slug: &str, rows: u64) {
        self.0.inc_length(rows);
        self.0.set_prefix(slug.to_owned());
    }
    fn step(&self, rule: pupitre::policy::retention::RuleId, table: &str) {
        self.0.set_message(format!("{} / {table}", rule.as_str()));
    }
    fn advanced(&self, rows: u64) {
        self.0.inc(rows);
    }
}

impl pupitre::domain::platform::export::Progress for Bar {
    fn start(&self, what: &str, total: u64) {
        self.0.inc_length(total);
        self.0.set_message(what.to_owned());
    }
    fn advanced(&self, n: u64) {
        self.0.inc(n);
    }
}

/// Sweeps (or, with `--dry-run`, counts) what has outlived its retention rule, with a progress
/// bar on stderr and a summary on stdout.
async fn retention_run(
    settings: &Settings,
    dry_run: bool,
    tenant: Option<&str>,
) -> Result<(), String> {
    use pupitre::domain::retention::{self, Origin, SweepOptions};
    let app = offline_app(settings).await?;
    let services = app.services();
    let batch = services.retention.batch_size;
    let mut opts = if dry_run {
        SweepOptions::dry_run(batch)
    } else {
        SweepOptions::sweep(Origin::Command, batch)
    };
    if let Some(slug) = tenant {
        let t = services
            .tenants
            .by_slug(slug)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("no tenant `{slug}`"))?;
        opts.tenant = Some(t.id);
    }
    let bar = Bar::rows("");
    let outcome = retention::sweep(services, &opts, &bar).await;
    bar.0.finish_and_clear();
    let tenants = outcome.map_err(|e| e.to_string())?;
    let mut failed = false;
    for t in &tenants {
        let verb = if dry_run { "would go" } else { "went" };
        println!("{} (as of {}): {} rows {verb}", t.slug, t.as_of.to_rfc3339(), t.total());
        if let Some(why) = t.skipped {
            println!("  skipped: {why}");
            continue;
        }
        for c in t.counts.iter().filter(|c| c.rows > 0) {
            let note = if c.action == pupitre::policy::retention::Action::ReportOnly {
                " (due; not erased here: account erasure carries it out)"
            } else {
                ""
            };
            println!(
                "  {:<18} {:<22} {:>10}  {} before {}{note}",
                c.rule.as_str(),
                c.table,
                c.rows,
                c.action.as_str(),
                c.cutoff.format("%Y-%m-%d %H:%M"),
            );
        }
        if let Some(e) = &t.error {
            failed = true;
            println!("  stopped: {e}");
        }
    }
    if failed { Err("the sweep stopped early; run it again to resume".into()) } else { Ok(()) }
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

/// The values of `--name value` flags, each allowed at most once; `None` for anything else.
fn named_flags<'a>(flags: &'a [String], allowed: &[&str]) -> Option<HashMap<&'a str, &'a str>> {
    let mut out = HashMap::new();
    let mut it = flags.iter();
    while let Some(flag) = it.next() {
        let name = flag.strip_prefix("--").filter(|n| allowed.contains(n))?;
        let value = it.next()?;
        if out.insert(name, value.as_str()).is_some() {
            return None;
        }
    }
    Some(out)
}

/// An operator command on tenants, parsed and checked before anything is opened.
enum TenantCommand {
    Create {
        new: pupitre::domain::tenancy::NewTenant,
        policy_version: String,
        policy_url: String,
    },
    List,
    Update {
        slug: pupitre::domain::types::Slug,
        update: pupitre::domain::platform::TenantUpdate,
    },
    Export {
        slug: pupitre::domain::types::Slug,
        out: PathBuf,
    },
    Admin {
        slug: pupitre::domain::types::Slug,
        email: pupitre::domain::types::Email,
        first_name: String,
        last_name: String,
    },
    Offboard {
        slug: pupitre::domain::types::Slug,
        confirm: String,
        out: PathBuf,
    },
}

/// Why a `tenant` command line was refused: not a command at all (usage, exit 2), or a value
/// that is not valid (named by its flag, exit 1).
enum Refused {
    Usage,
    Invalid(String),
}

fn parse_tenant_command(verb: &str, flags: &[String]) -> Result<TenantCommand, Refused> {
    use pupitre::domain::platform::{self, TenantUpdate};
    use pupitre::domain::tenancy::NewTenant;
    use pupitre::domain::types::{self, Email, HttpsUrl, Slug};

    let invalid = |e: pupitre::error::AppError| match e {
        pupitre::error::AppError::BadUserInput { field, message } => {
            Refused::Invalid(format!("{field} {message}"))
        }
        e => Refused::Invalid(e.to_string()),
    };
    let name = |flag: &str, raw: &str| types::text(flag, raw, 1, 200, false).map_err(invalid);
    match verb {
        "create" => {
            let f = named_flags(
                flags,
                &["slug", "name", "dpo-name", "dpo-email", "policy-url", "policy-version", "host"],
            )
            .ok_or(Refused::Usage)?;
            let need = |k: &str| {
                f.get(k).copied().ok_or_else(|| Refused::Invalid(format!("--{k} is required")))
            };
            let new = NewTenant {
                slug: Slug::parse("--slug", need("slug")?).map_err(invalid)?,
                name: name("--name", need("name")?)?,
                dpo_name: name("--dpo-name", need("dpo-name")?)?,
                dpo_email: Email::parse("--dpo-email", need("dpo-email")?).map_err(invalid)?,
                host: f
                    .get("host")
                    .map(|h| platform::host("--host", h))
                    .transpose()
                    .map_err(invalid)?,
            };
            let policy_url =
                HttpsUrl::parse("--policy-url", need("policy-url")?).map_err(invalid)?.into_inner();
            let policy_version = types::text(
                "--policy-version",
                f.get("policy-version").copied().unwrap_or("1"),
                1,
                32,
                false,
            )
            .map_err(invalid)?;
            Ok(TenantCommand::Create { new, policy_version, policy_url })
        }
        "list" if flags.is_empty() => Ok(TenantCommand::List),
        "update" => {
            let f = named_flags(flags, &["slug", "name", "dpo-name", "dpo-email", "host"])
                .ok_or(Refused::Usage)?;
            let slug = f.get("slug").ok_or(Refused::Invalid("--slug is required".into()))?;
            let update = TenantUpdate {
                name: f.get("name").map(|n| name("--name", n)).transpose()?,
                dpo_name: f.get("dpo-name").map(|n| name("--dpo-name", n)).transpose()?,
                dpo_email: f
                    .get("dpo-email")
                    .map(|e| Email::parse("--dpo-email", e))
                    .transpose()
                    .map_err(invalid)?,
                host: match f.get("host") {
                    None => None,
                    Some(&"") => Some(None),
                    Some(h) => Some(Some(platform::host("--host", h).map_err(invalid)?)),
                },
            };
            Ok(TenantCommand::Update {
                slug: Slug::parse("--slug", slug).map_err(invalid)?,
                update,
            })
        }
        "admin" => {
            let f = named_flags(flags, &["slug", "email", "first-name", "last-name"])
                .ok_or(Refused::Usage)?;
            let need = |k: &str| {
                f.get(k).copied().ok_or_else(|| Refused::Invalid(format!("--{k} is required")))
            };
            Ok(TenantCommand::Admin {
                slug: Slug::parse("--slug", need("slug")?).map_err(invalid)?,
                email: Email::parse("--email", need("email")?).map_err(invalid)?,
                first_name: name(
                    "--first-name",
                    f.get("first-name").copied().unwrap_or("Administrateur"),
                )?,
                last_name: name("--last-name", f.get("last-name").copied().unwrap_or("Pupitre"))?,
            })
        }
        "export" | "offboard" => {
            let allowed: &[&str] =
                if verb == "export" { &["slug", "out"] } else { &["slug", "out", "confirm"] };
            let f = named_flags(flags, allowed).ok_or(Refused::Usage)?;
            let slug = f.get("slug").ok_or(Refused::Invalid("--slug is required".into()))?;
            let slug = Slug::parse("--slug", slug).map_err(invalid)?;
            let date = chrono::Utc::now().format("%Y%m%d");
            let out = f.get("out").map_or_else(
                || PathBuf::from(format!("{}-export-{date}.zip", slug.as_str())),
                PathBuf::from,
            );
            if verb == "export" {
                return Ok(TenantCommand::Export { slug, out });
            }
            let confirm = f.get("confirm").ok_or(Refused::Invalid(format!(
                "--confirm {} is required: offboarding destroys every row of the tenant",
                slug.as_str()
            )))?;
            Ok(TenantCommand::Offboard { slug, confirm: (*confirm).to_owned(), out })
        }
        _ => Err(Refused::Usage),
    }
}

/// Runs a `tenant` command (see `domain::platform`).
async fn tenant_command(settings: &Settings, command: TenantCommand) -> Result<(), String> {
    use pupitre::domain::platform::{self, Created};

    let app = offline_app(settings).await?;
    let s = app.services();
    match command {
        TenantCommand::Create { new, policy_version, policy_url } => {
            match platform::create_tenant(s, new, &policy_version, &policy_url)
                .await
                .map_err(|e| e.to_string())?
            {
                Created::New(t) => println!("tenant {} created ({})", t.slug, t.id),
                Created::Unchanged(t) => {
                    println!("tenant {} exists with these values: unchanged", t.slug)
                }
            }
        }
        TenantCommand::List => {
            for t in platform::list_tenants(s).await.map_err(|e| e.to_string())? {
                println!(
                    "{}\t{}\t{}\t{}",
                    t.slug,
                    t.name,
                    t.host.as_deref().unwrap_or("-"),
                    t.created_at.format("%Y-%m-%d")
                );
            }
        }
        TenantCommand::Update { slug, update } => {
            let changed =
                platform::update_tenant(s, &slug, update).await.map_err(|e| no_tenant(&slug, e))?;
            println!(
                "tenant {} {}",
                slug.as_str(),
                if changed { "updated" } else { "unchanged: nothing differs" }
            );
        }
        TenantCommand::Admin { slug, email, first_name, last_name } => {
            use pupitre::domain::accounts::set_password::operator_admin;
            let link = operator_admin(s, slug.as_str(), &email, &first_name, &last_name)
                .await
                .map_err(|e| no_tenant(&slug, e))?;
            println!(
                "{} {}: give this one-time link to its holder (valid until {}; the admin role \
                 is accepted after the first sign-in):\n{}",
                if link.created { "account created for" } else { "new set-password link for" },
                email.as_str(),
                link.expires_at.format("%Y-%m-%d %H:%M UTC"),
                link.link
            );
        }
        TenantCommand::Export { slug, out } => {
            let bar = Bar::rows("exporting");
            let summary = platform::export::export(s, &slug, &out, &bar)
                .await
                .map_err(|e| no_tenant(&slug, e))?;
            bar.0.finish_and_clear();
            print_export(&summary);
        }
        TenantCommand::Offboard { slug, confirm, out } => {
            use platform::offboard::{Offboarded, offboard};
            let bar = Bar::rows("offboarding");
            let done =
                offboard(s, &slug, &confirm, &out, &bar).await.map_err(|e| no_tenant(&slug, e))?;
            bar.0.finish_and_clear();
            match done {
                Offboarded::Already(at) => println!(
                    "tenant {} was offboarded on {}: nothing left to do",
                    slug.as_str(),
                    at.format("%Y-%m-%d %H:%M UTC")
                ),
                Offboarded::Done(report) => {
                    match &report.export {
                        Some(summary) => print_export(summary),
                        None => println!(
                            "export written by the interrupted run: {}",
                            report.export_file
                        ),
                    }
                    for (table, rows) in &report.deleted {
                        println!("deleted\t{table}\t{rows}");
                    }
                    println!(
                        "tenant {} offboarded: {} rows and {} stored files deleted",
                        slug.as_str(),
                        report.rows(),
                        report.blobs
                    );
                }
            }
        }
    }
    Ok(())
}

/// `no tenant `slug`` for a missing tenant, the error's text otherwise.
fn no_tenant(slug: &pupitre::domain::types::Slug, e: pupitre::error::AppError) -> String {
    match e {
        pupitre::error::AppError::NotFound => format!("no tenant `{}`", slug.as_str()),
        e => e.to_string(),
    }
}

fn print_export(summary: &pupitre::domain::platform::export::ExportSummary) {
    for (table, rows) in &summary.tables {
        println!("exported\t{table}\t{rows}");
    }
    println!(
        "export written: {} ({} rows, {} documents, {} bytes)",
        summary.path.display(),
        summary.rows(),
        summary.documents,
        summary.bytes
    );
}

/// The application for a one-off command: its database and services, on no public port and
/// without the periodic jobs.
async fn offline_app(settings: &Settings) -> Result<Application, String> {
    Application::build(Settings {
        bind: "127.0.0.1:0".into(),
        jobs_interval_secs: 0,
        ..settings.clone()
    })
    .await
    .map_err(|e| e.to_string())
}
