//! `tenant create|list|update|admin|export|offboard`: the operator's commands on tenants,
//! parsed and checked before anything is opened.

use std::path::PathBuf;

use pupitre::config::Settings;

use super::{Bar, named_flags, offline_app};

/// An operator command on tenants, parsed and checked before anything is opened.
pub enum TenantCommand {
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
pub enum Refused {
    Usage,
    Invalid(String),
}

pub fn parse_tenant_command(verb: &str, flags: &[String]) -> Result<TenantCommand, Refused> {
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
pub async fn tenant_command(settings: &Settings, command: TenantCommand) -> Result<(), String> {
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
