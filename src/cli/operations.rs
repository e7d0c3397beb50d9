//! `operations register`: the manifest of trusted documents.

use std::path::PathBuf;
use std::process::ExitCode;

use super::USAGE;

/// `operations register [--dir graphql/operations] [--out DIR/manifest.json]`: writes the
/// manifest of registered operations (trusted documents, see `http::graphql::manifest`).
pub fn register_operations(flags: &[String]) -> ExitCode {
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
