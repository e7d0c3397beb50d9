//! `pupitre tenant export`: the whole of one tenant as a ZIP the organisation takes with it
//! (GDPR art. 28(3)(g): at the end of the contract the processor returns the data, then
//! deletes it). Written to a local file, streamed: rows are read a page at a time in one
//! read-only snapshot and written through the ZIP writer, documents decrypted one at a time,
//! so memory stays flat whatever the tenant's size.
//!
//! The archive holds:
//! - `tables/<table>.json`: every row of the tenant in that table (every table [`tables`]
//!   finds, children first), an array of objects with the columns as stored, person references
//!   as ids. Secrets never leave (password and token hashes, wrapped keys, keyed hashes): they
//!   mean nothing outside this installation, and users set a new password on the next system.
//! - `documents/<document id>.<ext>`: each supporting document, decrypted (the rows of
//!   `tables/eo_documents.json` describe them).
//! - `manifest.json`, written last: the organisation, when, and each table's row count.
//!
//! The file is written as `<path>.partial` and renamed when complete, so a file at `path` is
//! always whole; running the command again writes it again.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::{Value as Json, json};
use uuid::Uuid;
use zip::{CompressionMethod, ZipWriter};

use super::tables::{TenantTable, tenant_tables};
use crate::domain::Services;
use crate::domain::privacy::export::archive::{
    entry, open_document, options, read_transaction, zip_error,
};
use crate::domain::privacy::export::rows::Cursor;
use crate::domain::tenancy::scoped;
use crate::domain::types::Slug;
use crate::entities::{eo_document, tenant};
use crate::error::{AppError, AppResult};

/// The archive's format, in its manifest.
pub const FORMAT: &str = "pupitre-tenant-export/1";

/// Told of the export's progress (the command's progress bar).
pub trait Progress {
    /// A table (or `documents`) starts, with the rows (files) it holds.
    fn start(&self, what: &str, total: u64);
    /// `n` more rows (files) written.
    fn advanced(&self, n: u64);
}

/// What an export wrote.
#[derive(Clone, Debug, Default)]
pub struct ExportSummary {
    pub path: PathBuf,
    /// Each table with its rows, in the archive's order.
    pub tables: Vec<(String, u64)>,
    pub documents: u64,
    pub bytes: u64,
}

impl ExportSummary {
    pub fn rows(&self) -> u64 {
        self.tables.iter().map(|(_, n)| n).sum()
    }
}

/// `tenant export`: finds the tenant, writes its export and logs it in the platform's log (the
/// file, counts and size; nothing about people).
pub async fn export(
    services: &Services,
    slug: &Slug,
    path: &Path,
    progress: &dyn Progress,
) -> AppResult<ExportSummary> {
    let tenant = tenant::Entity::find()
        .filter(tenant::Column::Slug.eq(slug.as_str()))
        .one(&services.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let summary = export_tenant(services, &tenant, path, progress).await?;
    let details = json!({
        "tenant_id": tenant.id,
        "file": summary.path.display().to_string(),
        "rows": summary.rows(),
        "documents": summary.documents,
        "bytes": summary.bytes,
    });
    super::log(&services.db, services.clock.now(), "tenant.export", &tenant.slug, details).await?;
    Ok(summary)
}

fn io_error(path: &Path, e: std::io::Error) -> AppError {
    AppError::internal("writing a tenant export", format!("{}: {e}", path.display()))
}

/// Writes the export of `tenant` to `path` (replacing a file there) and says what it holds.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant.id))]
pub async fn export_tenant(
    services: &Services,
    tenant: &tenant::Model,
    path: &Path,
    progress: &dyn Progress,
) -> AppResult<ExportSummary> {
    let tables = tenant_tables(&services.db).await?;
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    // It holds every learner's data and documents in clear: the operator's eyes only (a file
    // left by an interrupted run is replaced, not reused with its permissions).
    let _ = std::fs::remove_file(&partial);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let file = options.open(&partial).map_err(|e| io_error(&partial, e))?;
    let result = write(services, tenant, &tables, file, progress).await;
    let mut summary = match result {
        Ok(s) => s,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    std::fs::rename(&partial, path).map_err(|e| io_error(path, e))?;
    summary.bytes = std::fs::metadata(path).map_err(|e| io_error(path, e))?.len();
    summary.path = path.to_owned();
    Ok(summary)
}

async fn write(
    services: &Services,
    tenant: &tenant::Model,
    tables: &[TenantTable],
    file: File,
    progress: &dyn Progress,
) -> AppResult<ExportSummary> {
    let now = services.clock.now();
    let mut zip = ZipWriter::new_stream(BufWriter::with_capacity(256 * 1024, file));
    let mut summary = ExportSummary::default();
    let reader = read_transaction(services).await?;
    let result = async {
        for t in tables {
            let total = t.count(&reader, tenant.id).await?;
            progress.start(t.name(), total);
            zip.start_file(
                format!("tables/{}.json", t.name()),
                options(CompressionMethod::Deflated, now),
            )
            .map_err(zip_error)?;
            let mut rows = 0u64;
            zip.write_all(b"[").map_err(zip_error)?;
            let mut cursor = Cursor::of_tenant(&t.plan, tenant.id, t.via);
            while let Some(page) = cursor.next_page(&reader, services).await? {
                for row in &page {
                    if rows > 0 {
                        zip.write_all(b",").map_err(zip_error)?;
                    }
                    zip.write_all(b"\n").map_err(zip_error)?;
                    serde_json::to_writer(&mut zip, row).map_err(zip_error)?;
                    rows += 1;
                }
                progress.advanced(page.len() as u64);
            }
            zip.write_all(b"\n]\n").map_err(zip_error)?;
            summary.tables.push((t.name().to_owned(), rows));
        }
        let total = scoped::<eo_document::Entity>(tenant.id).count(&reader).await?;
        progress.start("documents", total);
        let mut after: Option<Uuid> = None;
        loop {
            let mut q = scoped::<eo_document::Entity>(tenant.id)
                .order_by_asc(eo_document::Column::Id)
                .limit(100);
            if let Some(a) = after {
                q = q.filter(eo_document::Column::Id.gt(a));
            }
            let docs = q.all(&reader).await?;
            let Some(last) = docs.last() else { break };
            after = Some(last.id);
            for doc in &docs {
                let plain = open_document(services, doc).await?;
                // PDF, JPEG and PNG are compressed already.
                zip.start_file(entry(doc).file, options(CompressionMethod::Stored, now))
                    .map_err(zip_error)?;
                zip.write_all(&plain).map_err(zip_error)?;
                summary.documents += 1;
                progress.advanced(1);
            }
        }
        Ok::<(), AppError>(())
    }
    .await;
    // It only read: ending it changes nothing.
    let _ = reader.rollback().await;
    result?;
    let manifest = json!({
        "format": FORMAT,
        "generatedAt": now,
        "organisation": {
            "id": tenant.id,
            "slug": tenant.slug,
            "name": tenant.name,
            "host": tenant.host,
            "dpoName": tenant.dpo_name,
            "dpoEmail": tenant.dpo_email,
            "settings": tenant.settings,
            "createdAt": tenant.created_at,
        },
        "tables": summary.tables.iter().map(|(name, rows)| json!({
            "name": name,
            "file": format!("tables/{name}.json"),
            "rows": rows,
        })).collect::<Vec<Json>>(),
        "documents": summary.documents,
        "note": "Person references are ids of rows in tables/users.json. Secrets (password and \
                 token hashes, wrapped keys) are not exported. documents/<id>.<ext> is the \
                 decrypted file of the row <id> of tables/eo_documents.json.",
    });
    zip.start_file("manifest.json", options(CompressionMethod::Deflated, now))
        .map_err(zip_error)?;
    serde_json::to_writer_pretty(&mut zip, &manifest).map_err(zip_error)?;
    let mut out = zip.finish().map_err(zip_error)?.into_inner();
    out.flush().map_err(zip_error)?;
    out.into_inner().map_err(zip_error)?.sync_all().map_err(zip_error)?;
    Ok(summary)
}
