//! `retention run [--dry-run] [--tenant SLUG]`.

use pupitre::config::Settings;

use super::{Bar, offline_app};

/// `[--dry-run] [--tenant SLUG]`, in any order.
pub fn retention_flags(flags: &[String]) -> Option<(bool, Option<&str>)> {
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

/// Sweeps (or, with `--dry-run`, counts) what has outlived its retention rule, with a progress
/// bar on stderr and a summary on stdout.
pub async fn retention_run(
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
