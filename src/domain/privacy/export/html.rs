//! `index.html`: the same data for a person to read, in their language, with what the
//! organisation does with each category (purposes, legal basis, retention, recipients: the
//! record of processing and the registry). Every value is escaped; the page loads nothing
//! (no script, no remote style) and is written as a stream, one row at a time.

use std::collections::BTreeSet;
use std::io::{self, Write};

use serde_json::{Map, Value};

use super::archive::{DocumentEntry, Heading, Sink};
use super::plan::TablePlan;
use super::texts::{self, Lang};
use crate::policy::registry;

/// Escapes text for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Writes `index.html`.
pub struct HtmlSink {
    lang: Lang,
    rows: u64,
}

impl HtmlSink {
    pub fn new(lang: Lang) -> Self {
        HtmlSink { lang, rows: 0 }
    }

    fn cell(&self, v: &Value) -> String {
        match v {
            Value::Null => String::new(),
            Value::String(s) => esc(s),
            Value::Object(o) if o.len() == 1 && o.contains_key("displayName") => {
                match o.get("displayName").and_then(Value::as_str) {
                    Some(name) => esc(name),
                    None => format!("<i>{}</i>", esc(texts::ui(self.lang).other_person)),
                }
            }
            other => esc(&other.to_string()),
        }
    }
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2rem;max-width:80rem}\
table{border-collapse:collapse;margin:.5rem 0 1.5rem;font-size:.85rem}\
td,th{border:1px solid #ccc;padding:.2rem .4rem;text-align:left;vertical-align:top}\
th{background:#f3f3f3}section{margin-bottom:1.5rem}";

impl Sink for HtmlSink {
    fn head(&mut self, w: &mut dyn Write, h: &Heading) -> io::Result<()> {
        let ui = texts::ui(self.lang);
        writeln!(
            w,
            "<!DOCTYPE html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\">\
             <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
             <title>{}</title><style>{STYLE}</style></head><body>\n<h1>{}</h1>\n<p>{}</p>\n\
             <p>{} {}.<br>{}: {}<br>{}: {}</p>",
            self.lang.code(),
            esc(ui.title),
            esc(ui.title),
            esc(ui.intro),
            esc(ui.generated),
            esc(&h.generated_at.format("%Y-%m-%d %H:%M UTC").to_string()),
            esc(ui.controller),
            esc(&h.controller),
            esc(ui.dpo),
            esc(&h.dpo_email),
        )?;
        // Per category: why it is held, on which basis, how long, who receives it.
        writeln!(w, "<h2>{}</h2>", esc(ui.why_heading))?;
        let mut categories: BTreeSet<&str> = BTreeSet::new();
        for t in registry::TABLES.iter().filter(|t| t.export) {
            categories.extend(t.categories());
        }
        for name in categories {
            let c = texts::category(self.lang, name);
            let retention: BTreeSet<&str> = registry::TABLES
                .iter()
                .filter(|t| t.export && t.categories().contains(name))
                .map(|t| texts::retention(self.lang, t.retention))
                .collect();
            let retention: Vec<&str> = retention.into_iter().collect();
            let recipients = if c.recipients.is_empty() {
                ui.no_recipient.to_owned()
            } else {
                c.recipients.join(" ; ")
            };
            writeln!(
                w,
                "<section><h3>{}</h3><dl><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd>\
                 <dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd></dl></section>",
                esc(&c.name),
                esc(ui.purposes),
                esc(&c.purposes.join(" ; ")),
                esc(ui.legal_basis),
                esc(&c.legal_basis),
                esc(ui.retention),
                esc(&retention.join(" ; ")),
                esc(ui.recipients),
                esc(&recipients),
            )?;
        }
        writeln!(w, "<h2>{}</h2>", esc(ui.data_heading))
    }

    fn begin_table(&mut self, w: &mut dyn Write, plan: &TablePlan) -> io::Result<()> {
        self.rows = 0;
        let ui = texts::ui(self.lang);
        let t = plan.table;
        write!(
            w,
            "<section id=\"{}\"><h3>{}</h3><p>{}: {}</p><table><thead><tr>",
            esc(t.name),
            esc(texts::about(self.lang, t)),
            esc(ui.retention),
            esc(texts::retention(self.lang, t.retention)),
        )?;
        for c in &plan.columns {
            write!(w, "<th>{}</th>", esc(&c.name.replace('_', " ")))?;
        }
        w.write_all(b"</tr></thead><tbody>\n")
    }

    fn row(
        &mut self,
        w: &mut dyn Write,
        plan: &TablePlan,
        row: &Map<String, Value>,
    ) -> io::Result<()> {
        self.rows += 1;
        w.write_all(b"<tr>")?;
        for c in &plan.columns {
            let v = row.get(&c.name).unwrap_or(&Value::Null);
            write!(w, "<td>{}</td>", self.cell(v))?;
        }
        w.write_all(b"</tr>\n")
    }

    fn end_table(&mut self, w: &mut dyn Write, _plan: &TablePlan) -> io::Result<()> {
        let ui = texts::ui(self.lang);
        if self.rows == 0 {
            writeln!(w, "</tbody></table><p>{}</p></section>", esc(ui.none))
        } else {
            writeln!(w, "</tbody></table><p>{} {}</p></section>", self.rows, esc(ui.rows))
        }
    }

    fn documents(&mut self, w: &mut dyn Write, docs: &[DocumentEntry]) -> io::Result<()> {
        let ui = texts::ui(self.lang);
        writeln!(
            w,
            "<h2>{}</h2><p>{}</p><ul>",
            esc(ui.documents_heading),
            esc(ui.documents_intro)
        )?;
        for d in docs {
            writeln!(
                w,
                "<li><a href=\"{}\">{}</a> ({}, {} bytes)</li>",
                esc(&d.file),
                esc(&d.original_name),
                esc(&d.mime_type),
                d.size_bytes
            )?;
        }
        w.write_all(b"</ul>\n")
    }

    fn tail(&mut self, w: &mut dyn Write) -> io::Result<()> {
        w.write_all(b"</body></html>\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_values_is_escaped() {
        assert_eq!(
            esc("<script>alert('x')</script> & \"y\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;y&quot;"
        );
        let s = HtmlSink::new(Lang::Fr);
        assert_eq!(
            s.cell(&serde_json::json!({ "displayName": "<b>Inès</b>" })),
            "&lt;b&gt;Inès&lt;/b&gt;"
        );
        assert_eq!(s.cell(&serde_json::json!({ "displayName": null })), "<i>autre personne</i>");
    }
}
