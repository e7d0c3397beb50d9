//! `docs/ACCESS.md` as data, for the tests that hold the code to it: the need-to-know table
//! (between `<!-- matrix:start -->` and `<!-- matrix:end -->`) and the "Fields by category"
//! table. It reads the document only, never `pupitre::policy`: the document is the reference
//! the code is judged by.

use std::collections::{HashMap, HashSet};

/// The parsed document.
pub struct AccessDoc {
    /// Column headers in document order (`self`, `guardian`, …, `admin`).
    pub columns: Vec<String>,
    /// The text of every cell by (category, column), backticks removed.
    pub raw: HashMap<(String, String), String>,
    /// Field label → category, from "Fields by category" (`first name` → `identity`).
    pub field_category: HashMap<String, String>,
}

/// One cell, read: what a column may do with a category and under which qualifiers.
#[derive(Clone, Debug)]
pub struct DocCell {
    pub read: bool,
    /// Every qualifier, as written.
    pub quals: HashSet<String>,
    /// The qualifiers that are field labels of the cell's category (only those fields).
    pub fields: Vec<String>,
    /// The other qualifiers (`consent`, `staff accounts`, `until decision`, `decides`, …).
    pub conditions: Vec<String>,
}

/// The rows of the first Markdown table in `text`, each cell trimmed and without backticks.
fn table_rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .skip_while(|l| !l.trim_start().starts_with('|'))
        .take_while(|l| l.trim_start().starts_with('|'))
        .map(|l| {
            l.trim()
                .trim_matches('|')
                .split('|')
                .map(|c| c.trim().trim_matches('`').to_owned())
                .collect()
        })
        .collect()
}

/// `e-mail, phone, wards (whom a person is guardian of reveals minors)` → the labels, each
/// without its parenthesised explanation.
fn labels(list: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (mut depth, mut current) = (0usize, String::new());
    for ch in list.chars() {
        match ch {
            '(' => {
                depth += 1;
                current.push(ch);
            }
            ')' => {
                depth = depth.saturating_sub(1);
                current.push(ch);
            }
            ',' if depth == 0 => out.push(std::mem::take(&mut current)),
            _ => current.push(ch),
        }
    }
    out.push(current);
    out.into_iter()
        .map(|l| l.split_once(" (").map_or(l.as_str(), |(head, _)| head).trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect()
}

impl AccessDoc {
    /// Reads `docs/ACCESS.md` of this crate.
    pub fn load() -> AccessDoc {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/ACCESS.md"))
            .expect("docs/ACCESS.md");
        AccessDoc::parse(&text)
    }

    pub fn parse(doc: &str) -> AccessDoc {
        let start = doc.find("<!-- matrix:start -->").expect("matrix start marker");
        let end = doc.find("<!-- matrix:end -->").expect("matrix end marker");
        let rows = table_rows(&doc[start..end]);
        let header = rows.first().expect("header row").clone();
        let mut raw = HashMap::new();
        for row in rows.iter().skip(2) {
            for (i, col) in header.iter().enumerate().skip(1) {
                raw.insert((row[0].clone(), col.clone()), row.get(i).cloned().unwrap_or_default());
            }
        }
        let at = doc.find("## Fields by category").expect("a '## Fields by category' section");
        let section = &doc[at..];
        let section = section[3..].find("\n## ").map_or(section, |i| &section[..i + 3]);
        let mut field_category = HashMap::new();
        for row in table_rows(section).iter().skip(2) {
            for label in labels(row.get(1).expect("a fields column")) {
                let previous = field_category.insert(label.clone(), row[0].clone());
                assert!(
                    previous.is_none(),
                    "docs/ACCESS.md lists the field label {label:?} under two categories"
                );
            }
        }
        AccessDoc { columns: header[1..].to_vec(), raw, field_category }
    }

    /// The category a field label belongs to.
    pub fn category_of(&self, label: &str) -> &str {
        self.field_category
            .get(label)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("docs/ACCESS.md has no field labelled {label:?}"))
    }

    /// The cell of `category` × `column`.
    pub fn cell(&self, category: &str, column: &str) -> DocCell {
        let text = self
            .raw
            .get(&(category.to_owned(), column.to_owned()))
            .unwrap_or_else(|| panic!("no cell {category} × {column}"));
        let (base, quals) = match text.split_once(" (") {
            Some((b, q)) => {
                (b, q.trim_end_matches(')').split(", ").map(str::to_owned).collect::<Vec<_>>())
            }
            None => (text.as_str(), Vec::new()),
        };
        let (fields, conditions) = quals
            .iter()
            .cloned()
            .partition(|q| self.field_category.get(q).is_some_and(|c| c == category));
        DocCell {
            read: base.starts_with('R'),
            quals: quals.into_iter().collect(),
            fields,
            conditions,
        }
    }
}
