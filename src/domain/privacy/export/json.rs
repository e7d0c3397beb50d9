//! `data.json`: the machine-readable export (GDPR art. 20), written as a stream, one row at a
//! time. Its shape is documented by `docs/export.schema.json` (and checked against it by
//! `tests/export.rs`):
//!
//! ```text
//! { "format": "pupitre-export", "version": 1, "generatedAt", "subject": { "id", "displayName" },
//!   "controller": { "name", "dpoEmail" },
//!   "tables": [ { "name", "about", "categories", "retention", "key", "columns",
//!                 "rows": [ { column: value, … } ], "rowCount" } ],
//!   "documents": [ { "id", "applicationId", "kind", "file", "originalName", "mimeType",
//!                    "sizeBytes", "sha256" } ] }
//! ```
//!
//! A person reference holds the subject's own id, or `{"displayName": …}` for anyone else.

use std::io::{self, Write};

use serde_json::{Map, Value, json};

use super::archive::{DocumentEntry, Heading, Sink};
use super::plan::TablePlan;

/// Writes `data.json`.
#[derive(Default)]
pub struct JsonSink {
    first_table: bool,
    rows: u64,
}

fn put(w: &mut dyn Write, v: &impl serde::Serialize) -> io::Result<()> {
    serde_json::to_writer(&mut *w, v).map_err(io::Error::other)
}

impl Sink for JsonSink {
    fn head(&mut self, w: &mut dyn Write, h: &Heading) -> io::Result<()> {
        w.write_all(b"{\"format\":\"pupitre-export\",\"version\":1,\"generatedAt\":")?;
        put(w, &h.generated_at)?;
        w.write_all(b",\"subject\":")?;
        put(w, &json!({ "id": h.subject_id, "displayName": h.subject_name }))?;
        w.write_all(b",\"controller\":")?;
        put(w, &json!({ "name": h.controller, "dpoEmail": h.dpo_email }))?;
        w.write_all(b",\"tables\":[")?;
        self.first_table = true;
        Ok(())
    }

    fn begin_table(&mut self, w: &mut dyn Write, plan: &TablePlan) -> io::Result<()> {
        if !self.first_table {
            w.write_all(b",")?;
        }
        self.first_table = false;
        self.rows = 0;
        let t = plan.table;
        w.write_all(b"{\"name\":")?;
        put(w, &t.name)?;
        w.write_all(b",\"about\":")?;
        put(w, &t.about)?;
        w.write_all(b",\"categories\":")?;
        put(w, &t.categories())?;
        w.write_all(b",\"retention\":")?;
        put(w, &t.retention.describe())?;
        w.write_all(b",\"key\":")?;
        put(w, &plan.key.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>())?;
        w.write_all(b",\"columns\":")?;
        put(w, &plan.columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>())?;
        w.write_all(b",\"rows\":[")
    }

    fn row(
        &mut self,
        w: &mut dyn Write,
        _plan: &TablePlan,
        row: &Map<String, Value>,
    ) -> io::Result<()> {
        if self.rows > 0 {
            w.write_all(b",")?;
        }
        self.rows += 1;
        put(w, row)
    }

    fn end_table(&mut self, w: &mut dyn Write, _plan: &TablePlan) -> io::Result<()> {
        write!(w, "],\"rowCount\":{}}}", self.rows)
    }

    fn documents(&mut self, w: &mut dyn Write, docs: &[DocumentEntry]) -> io::Result<()> {
        w.write_all(b"],\"documents\":")?;
        put(w, &docs)
    }

    fn tail(&mut self, w: &mut dyn Write) -> io::Result<()> {
        w.write_all(b"}")
    }
}
