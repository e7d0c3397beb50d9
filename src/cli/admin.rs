//! One-off administration: demo data, document-key rotation, an operator's role grant and the
//! record of processing activities.

use pupitre::config::Settings;
use pupitre::startup::{self, Application};

use super::{named_flags, offline_app};

/// Loads the demo data through the services of a built (not serving) application.
pub async fn seed(settings: &Settings) -> Result<(), String> {
    let app = offline_app(settings).await?;
    load_demo(&app).await
}

pub async fn load_demo(app: &Application) -> Result<(), String> {
    let report = app.load_demo().await.map_err(|e| e.to_string())?;
    tracing::info!(
        seed.created = report.created,
        seed.existing = report.existing,
        "demo data loaded"
    );
    Ok(())
}

/// Re-wraps every document key under the first of `PUPITRE_DOCUMENT_KEYS`.
pub async fn rotate_document_keys(settings: &Settings) -> Result<(), String> {
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
pub async fn grant_role(
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
pub fn processing_flags(flags: &[String]) -> Option<(Option<&str>, bool)> {
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
pub async fn processing_record(
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
