//! The `pupitre` binary's commands other than `serve`, one file per family: `tenant` (operator
//! commands on tenants), `retention` (`retention run`), `operations` (`operations register`) and
//! `admin` (demo data, key rotation, role grants, the record of processing). Each parses its own
//! flags and calls the library; `main` only dispatches.

pub mod admin;
pub mod operations;
pub mod retention;
pub mod tenant;

use std::collections::HashMap;

use pupitre::config::Settings;
use pupitre::startup::Application;

pub const USAGE: &str = "usage: pupitre [serve [--demo] | migrate | seed | schema | rotate-document-keys | grant-role <tenant-slug> <email> <role> | tenant create --slug S --name N --dpo-name N --dpo-email E --policy-url U [--policy-version V] [--host H] | tenant list | tenant update --slug S [--name N] [--dpo-name N] [--dpo-email E] [--host H|\"\"] | tenant admin --slug S --email E [--first-name F] [--last-name L] | tenant export --slug S [--out FILE] | tenant offboard --slug S --confirm S [--out FILE] | processing-record [--tenant SLUG] [--format md|json] | retention run [--dry-run] [--tenant SLUG] | operations register [--dir DIR] [--out FILE]]";

/// The values of `--name value` flags, each allowed at most once; `None` for anything else.
pub fn named_flags<'a>(flags: &'a [String], allowed: &[&str]) -> Option<HashMap<&'a str, &'a str>> {
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

/// The command's progress bar (stderr; hidden when stderr is not a terminal).
pub struct Bar(pub indicatif::ProgressBar);

impl Bar {
    /// An empty bar counting rows, headed by `prefix`.
    pub fn rows(prefix: &str) -> Bar {
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

/// The application for a one-off command: its database and services, on no public port and
/// without the periodic jobs.
pub async fn offline_app(settings: &Settings) -> Result<Application, String> {
    Application::build(Settings {
        bind: "127.0.0.1:0".into(),
        jobs_interval_secs: 0,
        ..settings.clone()
    })
    .await
    .map_err(|e| e.to_string())
}
