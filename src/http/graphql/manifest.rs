//! The registered operations ("trusted documents"): every operation of the `*.graphql` files of
//! `graphql/operations/`, with the fragments it uses, hashed with SHA-256. `pupitre operations
//! register` writes them to `graphql/operations/manifest.json` in Apollo's persisted query
//! manifest format (`{"format":"apollo-persisted-query-manifest","version":1,"operations":[…]}`,
//! each operation `{id, name, type, body}`, `id` the hex SHA-256 of `body`), which the server
//! embeds at build time; `PUPITRE_OPERATIONS_MANIFEST` points at another one (a storefront's own
//! operations).
//!
//! An operation's `body` is its own text as written in its file, followed by the text of each
//! fragment it uses (in order of first use), separated by a blank line, and is parsed again to
//! check that it holds just that: a client that sends the registered text or only its hash runs
//! exactly what was reviewed. Fragments are shared within a file, not across files.

use std::collections::HashMap;
use std::path::Path;

use async_graphql::parser::types::{ExecutableDocument, OperationType, Selection, SelectionSet};
use serde::{Deserialize, Serialize};
use sha2::Digest as _;

/// The manifest shipped with the server: the reference operations of `graphql/operations/`.
const EMBEDDED: &str = include_str!("../../../graphql/operations/manifest.json");

/// Apollo's persisted query manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub version: u32,
    pub operations: Vec<Operation>,
}

/// One registered operation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operation {
    /// The hex SHA-256 of `body`.
    pub id: String,
    pub name: String,
    /// `query`, `mutation` or `subscription`.
    #[serde(rename = "type")]
    pub kind: String,
    pub body: String,
}

/// Why operations could not be registered or a manifest read.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    #[error("{file}: {message}")]
    Invalid { file: String, message: String },
    #[error("the manifest is not valid: {0}")]
    Json(#[from] serde_json::Error),
}

/// The hex SHA-256 of a document, as APQ and the manifest write it.
pub fn sha256_hex(text: &str) -> String {
    hex(&sha2::Sha256::digest(text.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Manifest {
    pub const FORMAT: &'static str = "apollo-persisted-query-manifest";

    /// The manifest built into the server.
    pub fn embedded() -> Result<Self, ManifestError> {
        Self::parse(EMBEDDED)
    }

    /// Reads a manifest, checking that every id is the hash of its body.
    pub fn parse(text: &str) -> Result<Self, ManifestError> {
        let m: Manifest = serde_json::from_str(text)?;
        let invalid = |message: String| ManifestError::Invalid { file: "manifest".into(), message };
        if m.format != Self::FORMAT || m.version != 1 {
            return Err(invalid(format!("expected format {} version 1", Self::FORMAT)));
        }
        if let Some(op) = m.operations.iter().find(|o| o.id != sha256_hex(&o.body)) {
            return Err(invalid(format!("the id of {} is not the SHA-256 of its body", op.name)));
        }
        Ok(m)
    }

    /// The manifest file at `path`.
    pub fn load(path: &Path) -> Result<Self, ManifestError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ManifestError::Io(path.display().to_string(), e))?;
        Self::parse(&text)
    }

    /// Every operation of the `*.graphql` files of `dir` (in file-name order). Operation names
    /// must be unique across the files (clients look them up by name).
    pub fn build(dir: &Path) -> Result<Self, ManifestError> {
        let io = |e| ManifestError::Io(dir.display().to_string(), e);
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .map_err(io)?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "graphql"))
            .collect();
        files.sort();
        let mut operations: Vec<Operation> = Vec::new();
        for path in files {
            let file = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&path)
                .map_err(|e| ManifestError::Io(path.display().to_string(), e))?;
            for op in operations_of(&text)
                .map_err(|message| ManifestError::Invalid { file: file.clone(), message })?
            {
                if operations.iter().any(|o| o.name == op.name) {
                    return Err(ManifestError::Invalid {
                        file,
                        message: format!("operation {} is defined twice", op.name),
                    });
                }
                operations.push(op);
            }
        }
        Ok(Manifest { format: Self::FORMAT.into(), version: 1, operations })
    }

    /// The manifest as written to disk (pretty JSON, one trailing newline).
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }

    /// The registered documents by hash.
    pub fn by_id(&self) -> HashMap<String, std::sync::Arc<str>> {
        self.operations.iter().map(|o| (o.id.clone(), o.body.as_str().into())).collect()
    }
}

/// The operations of one file, each named, with the fragments it uses.
fn operations_of(text: &str) -> Result<Vec<Operation>, String> {
    let doc = async_graphql::parser::parse_query(text).map_err(|e| e.to_string())?;
    let pieces = definitions(text, &doc);
    let mut out = Vec::new();
    // In the file's order (the parser keeps several operations in a map).
    let mut ops: Vec<_> = doc.operations.iter().collect();
    ops.sort_by_key(|(_, op)| (op.pos.line, op.pos.column));
    for (name, op) in ops {
        let Some(name) = name else {
            return Err("every operation needs a name".into());
        };
        let mut used: Vec<String> = Vec::new();
        spreads(&doc, &op.node.selection_set.node, &mut used)?;
        let mut body = pieces.get(name.as_str()).cloned().unwrap_or_default();
        for f in &used {
            body.push_str("\n\n");
            body.push_str(pieces.get(f.as_str()).map_or("", String::as_str));
        }
        let kind = match op.node.ty {
            OperationType::Query => "query",
            OperationType::Mutation => "mutation",
            OperationType::Subscription => "subscription",
        };
        let op =
            Operation { id: sha256_hex(&body), name: name.to_string(), kind: kind.into(), body };
        check_body(&op, &used)?;
        out.push(op);
    }
    Ok(out)
}

/// The fragments a selection set uses, transitively, in order of first use.
fn spreads(
    doc: &ExecutableDocument,
    set: &SelectionSet,
    used: &mut Vec<String>,
) -> Result<(), String> {
    for sel in &set.items {
        match &sel.node {
            Selection::Field(f) => spreads(doc, &f.node.selection_set.node, used)?,
            Selection::InlineFragment(i) => spreads(doc, &i.node.selection_set.node, used)?,
            Selection::FragmentSpread(s) => {
                let name = s.node.fragment_name.node.to_string();
                if used.contains(&name) {
                    continue;
                }
                let frag = doc
                    .fragments
                    .get(&s.node.fragment_name.node)
                    .ok_or_else(|| format!("fragment {name} is not defined"))?;
                used.push(name);
                spreads(doc, &frag.node.selection_set.node, used)?;
            }
        }
    }
    Ok(())
}

/// The byte offset of a parser position (1-based line, 1-based column in characters).
fn offset(text: &str, pos: async_graphql::Pos) -> usize {
    let line_start: usize =
        text.split_inclusive('\n').take(pos.line.saturating_sub(1)).map(str::len).sum();
    let line = &text[line_start..];
    line_start
        + line.char_indices().nth(pos.column.saturating_sub(1)).map_or(line.len(), |(i, _)| i)
}

/// The source text of each named definition: from its first character to the start of the
/// next definition, without the trailing comments and blank lines (which introduce the next
/// one). Two definitions on one line are cut between them.
fn definitions(text: &str, doc: &ExecutableDocument) -> HashMap<String, String> {
    let mut starts: Vec<(usize, String)> = doc
        .operations
        .iter()
        .filter_map(|(n, op)| n.map(|n| (offset(text, op.pos), n.to_string())))
        .chain(doc.fragments.iter().map(|(n, f)| (offset(text, f.pos), n.to_string())))
        .collect();
    starts.sort();
    let mut out = HashMap::new();
    for (i, (start, name)) in starts.iter().enumerate() {
        let end = starts.get(i + 1).map_or(text.len(), |(next, _)| *next);
        let mut lines: Vec<&str> = text[*start..end].lines().collect();
        while lines.last().is_some_and(|l| l.trim().is_empty() || l.trim_start().starts_with('#')) {
            lines.pop();
        }
        out.insert(name.clone(), lines.join("\n").trim_end().to_owned());
    }
    out
}

/// A registered body must be what it claims: it parses, and holds that one operation and only
/// the fragments it uses.
fn check_body(op: &Operation, used: &[String]) -> Result<(), String> {
    let doc = async_graphql::parser::parse_query(&op.body)
        .map_err(|e| format!("operation {} does not stand on its own: {e}", op.name))?;
    let names: Vec<String> =
        doc.operations.iter().filter_map(|(n, _)| n.map(|n| n.to_string())).collect();
    let mut fragments: Vec<String> = doc.fragments.keys().map(|n| n.to_string()).collect();
    let mut want = used.to_vec();
    fragments.sort();
    want.sort();
    if names != [op.name.clone()] || fragments != want {
        return Err(format!("operation {} could not be cut out of its file on its own", op.name));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_operation_carries_the_fragments_it_uses() {
        let text = "# header\nquery A { me { ...F } }\n\n# about B\nmutation B { x }\n\nfragment F on User { id ...G }\nfragment G on User { email }\n";
        let ops = operations_of(text).expect("parses");
        let a = ops.iter().find(|o| o.name == "A").expect("A");
        assert_eq!(
            a.body,
            "query A { me { ...F } }\n\nfragment F on User { id ...G }\n\nfragment G on User { email }"
        );
        assert_eq!(a.id, sha256_hex(&a.body));
        let b = ops.iter().find(|o| o.name == "B").expect("B");
        assert_eq!((b.body.as_str(), b.kind.as_str()), ("mutation B { x }", "mutation"));
        assert!(
            operations_of("{ me { id } }").is_err(),
            "anonymous operations cannot be registered"
        );
    }

    #[test]
    fn a_manifest_whose_id_does_not_match_is_refused() {
        let m = Manifest {
            format: Manifest::FORMAT.into(),
            version: 1,
            operations: vec![Operation {
                id: sha256_hex("query A { a }"),
                name: "A".into(),
                kind: "query".into(),
                body: "query A { b }".into(),
            }],
        };
        assert!(Manifest::parse(&m.to_json()).is_err());
    }
}
