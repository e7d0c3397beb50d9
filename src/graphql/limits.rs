//! Checks on a GraphQL request before anything of it executes: every operation of the HTTP
//! request (a batch included) is parsed once and refused as a whole, with `BAD_USER_INPUT`,
//! when
//!
//! - **a string input holds a control character.** Every string that could reach a resolver is
//!   checked: literal arguments anywhere in the document (nested input objects and lists,
//!   directive arguments, variable defaults), variable values (object keys too), and the file
//!   name and declared type of every uploaded file. Refused: the Unicode `Cc` characters, i.e.
//!   C0 controls U+0000–U+001F except tab, line feed and carriage return, DEL U+007F and the C1
//!   controls U+0080–U+009F. They are never text a person typed, and PostgreSQL cannot even store
//!   U+0000. `extensions.field` names the input as resolvers do (`input.email`,
//!   `input.lines.1.sessionId`, `filter.tag`; `$name…` for a variable no argument uses,
//!   `upload.<n>` for a file no variable points at);
//! - **it is nested too deep.** Data selections are measured like async-graphql's own depth
//!   limit (fields along a path, fragments expanded) against `PUPITRE_GRAPHQL_MAX_DEPTH`. An
//!   introspection subtree (`__schema`, `__type`) has its own bound, deep enough for the query of
//!   every common client (graphql-js's is 15 levels) and at most [`INTROSPECTION_MAX_LISTS`]
//!   lists nested in one another, which is what makes introspection expensive; with
//!   introspection off, `__schema` and `__type` are refused;
//! - **it is too large once its fragments are expanded** (more than
//!   [`MAX_EXPANDED_FIELDS`] fields): a few nested fragments spread twice each would otherwise
//!   make the validation itself (and this check) do exponential work;
//! - **it runs an expensive mutation more than once.** [`EXPENSIVE`] lists the mutations that
//!   hash a password, call Stripe or encrypt files; each may run at most once per HTTP request,
//!   counting aliases, fragments and every operation of a batch. Their cost also counts in the
//!   complexity limit (the constants below, used by the resolvers' `complexity`). Throttles
//!   (log-in failures per e-mail and client) are applied by the domain on every call.
//!
//! It must never look at the database, execute anything, or recurse without bound: selections
//! and values nested deeper than [`MAX_NESTING`] are refused (async-graphql refuses anything
//! over 32 anyway), and fragments are walked once each (memoised, cycles cut; validation then
//! rejects the cycle).
//!
//! One job, one file (about 580 lines without its tests): the checks a request passes before
//! execution, over the same parsed documents and variables, read together.

use std::collections::{BTreeMap, HashMap, HashSet};

use async_graphql::parser::types::{
    Directive, DocumentOperations, ExecutableDocument, OperationType, Selection, SelectionSet,
};
use async_graphql::{Positioned, Request, UploadValue};

use super::Limits;
use super::parsed::ParsedDocuments;
use crate::error::ErrorCode;

pub use crate::config::{MIN_COMPLEXITY, PASSWORD_HASH_COST};
/// Complexity points of a call to Stripe (a network round trip of up to the Stripe timeout).
pub const STRIPE_CALL_COST: usize = 250;
/// Complexity points of an upload (every file sniffed, encrypted and stored).
pub const UPLOAD_COST: usize = 250;

/// Mutations that may run at most once per HTTP request, with what makes them expensive.
pub const EXPENSIVE: &[(&str, &str)] = &[
    ("register", "hashes a password"),
    ("login", "verifies a password hash"),
    ("changePassword", "verifies and hashes a password"),
    ("requestDataSubjectRight", "verifies a password hash"),
    ("createOrder", "calls Stripe"),
    ("refundOrder", "calls Stripe"),
    ("approveApplication", "calls Stripe for unpaid orders"),
    ("addDocuments", "encrypts and stores files"),
];

/// Depth bound of an introspection subtree (graphql-js 16's query needs 15).
pub const INTROSPECTION_MAX_DEPTH: usize = 24;
/// Lists nested in one another within an introspection subtree (the standard query has
/// `types → fields → args`).
pub const INTROSPECTION_MAX_LISTS: usize = 3;
/// Lexical tokens of one document, counted before it is parsed (graphql-js's `maxTokens`): the
/// standard introspection query has about 400, a large catalogue page a few hundred.
pub const MAX_TOKENS: usize = 15_000;
/// Fields of an operation once every fragment spread is expanded.
pub const MAX_EXPANDED_FIELDS: usize = 10_000;
/// Nesting of selections or values beyond which nothing is walked.
pub const MAX_NESTING: usize = 64;

/// The introspection fields that return lists.
const INTROSPECTION_LISTS: &[&str] = &[
    "types",
    "directives",
    "fields",
    "args",
    "interfaces",
    "possibleTypes",
    "enumValues",
    "inputFields",
];

/// Why a request was refused before execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub message: String,
    /// The offending input, as `extensions.field`.
    pub field: Option<String>,
}

impl Refusal {
    fn new(message: impl Into<String>) -> Self {
        Refusal { message: message.into(), field: None }
    }

    fn at(field: String, message: impl Into<String>) -> Self {
        Refusal { message: message.into(), field: Some(field) }
    }

    /// The refusal as a GraphQL response (errors only), for each operation of the request.
    pub fn response(&self) -> async_graphql::Response {
        let mut err = async_graphql::ServerError::new(self.message.clone(), None);
        let mut ext = async_graphql::ErrorExtensionValues::default();
        ext.set("code", ErrorCode::BadUserInput.as_str());
        if let Some(f) = &self.field {
            ext.set("field", f.as_str());
        }
        err.extensions = Some(ext);
        async_graphql::Response::from_errors(vec![err])
    }
}

/// Checks every operation of one HTTP request (see the module comment). Each document is
/// parsed here (or copied from `parsed`, which keeps what it parsed) and handed to
/// async-graphql parsed; a document that does not parse is left to async-graphql, which
/// reports the syntax error.
pub fn check(
    limits: &Limits,
    parsed: &ParsedDocuments,
    requests: &mut [Request],
) -> Result<(), Refusal> {
    let mut expensive: BTreeMap<&'static str, usize> = BTreeMap::new();
    for r in requests.iter_mut() {
        if token_estimate(&r.query) > MAX_TOKENS {
            return Err(Refusal::new(format!(
                "Query is too large: more than {MAX_TOKENS} tokens."
            )));
        }
        let Ok(doc) = parsed.parse(&r.query) else {
            continue;
        };
        Strings::new(&doc, &r.variables, &r.uploads).check()?;
        check_shape(limits, &doc)?;
        for (field, n) in expensive_fields(&doc, r.operation_name.as_deref()) {
            *expensive.entry(field).or_default() += n;
        }
        r.set_parsed_query(doc);
    }
    if let Some((field, n)) = expensive.into_iter().find(|(_, n)| *n > 1) {
        let why = EXPENSIVE.iter().find(|(f, _)| *f == field).map_or("", |(_, w)| *w);
        return Err(Refusal::at(
            field.to_owned(),
            format!(
                "`{field}` {why}: one request may run it once, this one asks for it {n} times; send them one by one"
            ),
        ));
    }
    Ok(())
}

/// Whether a character is refused in string inputs: Unicode `Cc` except tab, LF and CR.
pub fn is_refused_char(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r')
}

fn text(s: &str, path: &str) -> Result<(), Refusal> {
    match s.chars().find(|c| is_refused_char(*c)) {
        None => Ok(()),
        Some(c) => Err(Refusal::at(
            path.to_owned(),
            format!(
                "`{path}` contains a control character (U+{:04X}); only tab, line feed and carriage return are accepted",
                u32::from(c)
            ),
        )),
    }
}

/// async-graphql reads `#__graphql_file__:<n>` in an `Upload` input as "file `n` of this
/// request" (and panics on a malformed one): only the multipart `map` may put it there.
fn no_placeholder(s: &str, path: &str) -> Result<(), Refusal> {
    if s.contains(UPLOAD_MARKER) {
        return Err(Refusal::at(
            path.to_owned(),
            format!("`{path}` holds an upload placeholder that points at no file of this request"),
        ));
    }
    Ok(())
}

/// A rough count of the lexical tokens of a GraphQL document (names, numbers, punctuators,
/// strings), cheap enough to run before parsing: the parser's memory grows with the tokens.
fn token_estimate(query: &str) -> usize {
    let mut tokens = 0usize;
    let mut in_word = false;
    let mut chars = query.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                in_word = false;
                tokens += 1;
                // Skip the string (block strings too), honouring escapes.
                let mut escaped = false;
                for d in chars.by_ref() {
                    match (escaped, d) {
                        (true, _) => escaped = false,
                        (false, '\\') => escaped = true,
                        (false, '"') => break,
                        _ => {}
                    }
                }
            }
            '#' => {
                in_word = false;
                for d in chars.by_ref() {
                    if d == '\n' {
                        break;
                    }
                }
            }
            c if c.is_alphanumeric() || c == '_' || c == '-' || c == '.' => {
                if !in_word {
                    tokens += 1;
                    in_word = true;
                }
            }
            c if c.is_whitespace() || c == ',' => in_word = false,
            _ => {
                in_word = false;
                tokens += 1;
            }
        }
    }
    tokens
}

fn too_deep() -> Refusal {
    Refusal::new(format!("Query is nested too deep (more than {MAX_NESTING} levels)."))
}

const UPLOAD_MARKER: &str = "#__graphql_file__";
const UPLOAD_PLACEHOLDER: &str = "#__graphql_file__:";

/// The control-character walk over one document, its variables and its files.
struct Strings<'a> {
    doc: &'a ExecutableDocument,
    variables: &'a async_graphql::Variables,
    uploads: &'a [UploadValue],
    defaults: HashMap<&'a str, &'a async_graphql::Value>,
}

impl<'a> Strings<'a> {
    fn new(
        doc: &'a ExecutableDocument,
        variables: &'a async_graphql::Variables,
        uploads: &'a [UploadValue],
    ) -> Self {
        let defaults = doc
            .operations
            .iter()
            .flat_map(|(_, op)| op.node.variable_definitions.iter())
            .filter_map(|d| {
                d.node.default_value.as_ref().map(|v| (d.node.name.node.as_str(), &v.node))
            })
            .collect();
        Strings { doc, variables, uploads, defaults }
    }

    fn check(&self) -> Result<(), Refusal> {
        // First with the names resolvers use, through the arguments that take each value…
        for (_, op) in self.doc.operations.iter() {
            self.directives(&op.node.directives)?;
            self.selection_set(&op.node.selection_set.node, 0)?;
        }
        for f in self.doc.fragments.values() {
            self.directives(&f.node.directives)?;
            self.selection_set(&f.node.selection_set.node, 0)?;
        }
        // …then everything else a request carries, whether or not an argument uses it.
        for (name, v) in self.variables.iter() {
            self.constant(v, &format!("${name}"), 0)?;
        }
        for (name, v) in &self.defaults {
            self.constant(v, &format!("${name}"), 0)?;
        }
        for (i, _) in self.uploads.iter().enumerate() {
            self.upload(i, &format!("upload.{i}"))?;
        }
        Ok(())
    }

    fn directives(&self, ds: &[Positioned<Directive>]) -> Result<(), Refusal> {
        for d in ds {
            for (name, v) in &d.node.arguments {
                self.value(&v.node, &format!("@{}.{}", d.node.name.node, name.node), 0)?;
            }
        }
        Ok(())
    }

    fn selection_set(&self, set: &SelectionSet, level: usize) -> Result<(), Refusal> {
        if level > MAX_NESTING {
            return Err(too_deep());
        }
        for item in &set.items {
            match &item.node {
                Selection::Field(f) => {
                    for (name, v) in &f.node.arguments {
                        self.value(&v.node, name.node.as_str(), 0)?;
                    }
                    self.directives(&f.node.directives)?;
                    self.selection_set(&f.node.selection_set.node, level + 1)?;
                }
                Selection::FragmentSpread(s) => self.directives(&s.node.directives)?,
                Selection::InlineFragment(i) => {
                    self.directives(&i.node.directives)?;
                    self.selection_set(&i.node.selection_set.node, level + 1)?;
                }
            }
        }
        Ok(())
    }

    fn value(
        &self,
        v: &async_graphql_value::Value,
        path: &str,
        level: usize,
    ) -> Result<(), Refusal> {
        use async_graphql_value::Value as V;
        if level > MAX_NESTING {
            return Err(too_deep());
        }
        match v {
            V::Variable(name) => {
                match self.variables.get(name).or_else(|| self.defaults.get(name.as_str()).copied())
                {
                    Some(c) => self.constant(c, path, level),
                    None => Ok(()),
                }
            }
            V::String(s) => {
                // A literal never carries a file: async-graphql would take it for one.
                no_placeholder(s, path)?;
                text(s, path)
            }
            V::List(items) => items
                .iter()
                .enumerate()
                .try_for_each(|(i, x)| self.value(x, &format!("{path}.{i}"), level + 1)),
            V::Object(fields) => fields.iter().try_for_each(|(k, x)| {
                text(k, path)?;
                self.value(x, &format!("{path}.{k}"), level + 1)
            }),
            V::Null | V::Number(_) | V::Boolean(_) | V::Binary(_) | V::Enum(_) => Ok(()),
        }
    }

    fn constant(&self, v: &async_graphql::Value, path: &str, level: usize) -> Result<(), Refusal> {
        use async_graphql::Value as V;
        if level > MAX_NESTING {
            return Err(too_deep());
        }
        match v {
            V::String(s) => {
                match s.strip_prefix(UPLOAD_PLACEHOLDER).and_then(|n| n.parse::<usize>().ok()) {
                    // Only the placeholders the multipart `map` put there, pointing at a file.
                    Some(i) if i < self.uploads.len() => self.upload(i, path),
                    _ => {
                        no_placeholder(s, path)?;
                        text(s, path)
                    }
                }
            }
            V::List(items) => items
                .iter()
                .enumerate()
                .try_for_each(|(i, x)| self.constant(x, &format!("{path}.{i}"), level + 1)),
            V::Object(fields) => fields.iter().try_for_each(|(k, x)| {
                text(k, path)?;
                self.constant(x, &format!("{path}.{k}"), level + 1)
            }),
            V::Null | V::Number(_) | V::Boolean(_) | V::Binary(_) | V::Enum(_) => Ok(()),
        }
    }

    /// An uploaded file's name and declared type (the content is checked by its magic bytes).
    fn upload(&self, i: usize, path: &str) -> Result<(), Refusal> {
        match self.uploads.get(i) {
            Some(u) => {
                text(&u.filename, path)?;
                u.content_type.as_deref().map_or(Ok(()), |t| text(t, path))
            }
            None => Ok(()),
        }
    }
}

/// What one selection set costs once its fragments are expanded.
#[derive(Clone, Copy, Default, Debug)]
struct Shape {
    data_depth: usize,
    introspection_depth: usize,
    introspection_lists: usize,
    fields: usize,
    introspects: bool,
    too_deep: bool,
}

impl Shape {
    fn merge(self, o: Shape) -> Shape {
        Shape {
            data_depth: self.data_depth.max(o.data_depth),
            introspection_depth: self.introspection_depth.max(o.introspection_depth),
            introspection_lists: self.introspection_lists.max(o.introspection_lists),
            fields: self.fields.saturating_add(o.fields),
            introspects: self.introspects || o.introspects,
            too_deep: self.too_deep || o.too_deep,
        }
    }
}

struct ShapeWalk<'a> {
    doc: &'a ExecutableDocument,
    memo: HashMap<(&'a str, bool), Shape>,
    expanding: HashSet<&'a str>,
}

impl<'a> ShapeWalk<'a> {
    fn selection_set(&mut self, set: &'a SelectionSet, introspection: bool, level: usize) -> Shape {
        if level > MAX_NESTING {
            return Shape { too_deep: true, ..Shape::default() };
        }
        let mut shape = Shape::default();
        for item in &set.items {
            let one = match &item.node {
                Selection::Field(f) => {
                    let name = f.node.name.node.as_str();
                    let inside = introspection || name == "__schema" || name == "__type";
                    let child = self.selection_set(&f.node.selection_set.node, inside, level + 1);
                    let mut one = Shape { fields: child.fields.saturating_add(1), ..child };
                    if inside {
                        one.introspects = true;
                        one.introspection_depth = child.introspection_depth + 1;
                        if introspection && INTROSPECTION_LISTS.contains(&name) {
                            one.introspection_lists = child.introspection_lists + 1;
                        }
                    } else {
                        one.data_depth = child.data_depth + 1;
                    }
                    one
                }
                Selection::FragmentSpread(s) => {
                    self.fragment(s.node.fragment_name.node.as_str(), introspection, level)
                }
                Selection::InlineFragment(i) => {
                    self.selection_set(&i.node.selection_set.node, introspection, level + 1)
                }
            };
            shape = shape.merge(one);
        }
        shape
    }

    fn fragment(&mut self, name: &'a str, introspection: bool, level: usize) -> Shape {
        if let Some(s) = self.memo.get(&(name, introspection)) {
            return *s;
        }
        let Some((key, def)) = self.doc.fragments.get_key_value(name) else {
            return Shape::default();
        };
        if !self.expanding.insert(key.as_str()) {
            // A cycle: validation refuses it; walk no further.
            return Shape::default();
        }
        let shape = self.selection_set(&def.node.selection_set.node, introspection, level + 1);
        self.expanding.remove(key.as_str());
        self.memo.insert((key.as_str(), introspection), shape);
        shape
    }
}

/// Depth, introspection and size of every operation of the document.
fn check_shape(limits: &Limits, doc: &ExecutableDocument) -> Result<(), Refusal> {
    let mut walk = ShapeWalk { doc, memo: HashMap::new(), expanding: HashSet::new() };
    for (_, op) in doc.operations.iter() {
        let s = walk.selection_set(&op.node.selection_set.node, false, 0);
        if s.too_deep {
            return Err(too_deep());
        }
        if s.introspects && !limits.introspection {
            return Err(Refusal::new("introspection is disabled on this server"));
        }
        if s.data_depth > limits.max_depth {
            return Err(Refusal::new(format!(
                "Query is nested too deep ({} levels, at most {}).",
                s.data_depth, limits.max_depth
            )));
        }
        if s.introspection_depth > INTROSPECTION_MAX_DEPTH
            || s.introspection_lists > INTROSPECTION_MAX_LISTS
        {
            return Err(Refusal::new(format!(
                "Introspection query is nested too deep (at most {INTROSPECTION_MAX_DEPTH} levels and {INTROSPECTION_MAX_LISTS} nested lists)."
            )));
        }
        if s.fields > MAX_EXPANDED_FIELDS {
            return Err(Refusal::new(format!(
                "Query is too large: more than {MAX_EXPANDED_FIELDS} fields once its fragments are expanded."
            )));
        }
    }
    Ok(())
}

/// How many times the operation that will run asks for each expensive mutation: every
/// occurrence at its root counts (async-graphql runs each one, even two with the same response
/// key), through fragments and inline fragments too, a fragment as many times as it is spread.
/// Fragment counts are memoised, so a fragment spread many times costs one walk.
fn expensive_fields(
    doc: &ExecutableDocument,
    operation_name: Option<&str>,
) -> Vec<(&'static str, usize)> {
    let op = match (&doc.operations, operation_name) {
        (DocumentOperations::Single(op), _) => Some(op),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops.values().next(),
        (DocumentOperations::Multiple(_), None) => None,
    };
    let Some(op) = op.filter(|op| op.node.ty == OperationType::Mutation) else {
        return Vec::new();
    };
    let mut memo: HashMap<&str, Vec<usize>> = HashMap::new();
    let counts = expensive_in(doc, &op.node.selection_set.node, &mut memo, 0);
    EXPENSIVE
        .iter()
        .zip(counts)
        .map(|((field, _), n)| (*field, n))
        .filter(|(_, n)| *n > 0)
        .collect()
}

/// The expensive mutations of one selection set, by position in [`EXPENSIVE`].
fn expensive_in<'a>(
    doc: &'a ExecutableDocument,
    set: &'a SelectionSet,
    memo: &mut HashMap<&'a str, Vec<usize>>,
    level: usize,
) -> Vec<usize> {
    let mut counts = vec![0usize; EXPENSIVE.len()];
    if level > MAX_NESTING {
        return counts;
    }
    let add = |counts: &mut Vec<usize>, more: &[usize]| {
        for (c, m) in counts.iter_mut().zip(more) {
            *c = c.saturating_add(*m);
        }
    };
    for item in &set.items {
        match &item.node {
            Selection::Field(f) => {
                if let Some(i) =
                    EXPENSIVE.iter().position(|(name, _)| *name == f.node.name.node.as_str())
                {
                    counts[i] = counts[i].saturating_add(1);
                }
            }
            Selection::FragmentSpread(s) => {
                let name = s.node.fragment_name.node.as_str();
                let inner = match memo.get(name) {
                    Some(c) => c.clone(),
                    None => {
                        // Cut cycles (validation rejects them): a fragment in progress counts 0.
                        memo.insert(name, vec![0; EXPENSIVE.len()]);
                        let c = match doc.fragments.get(name) {
                            Some(def) => {
                                expensive_in(doc, &def.node.selection_set.node, memo, level + 1)
                            }
                            None => vec![0; EXPENSIVE.len()],
                        };
                        memo.insert(name, c.clone());
                        c
                    }
                };
                add(&mut counts, &inner);
            }
            Selection::InlineFragment(i) => {
                let inner = expensive_in(doc, &i.node.selection_set.node, memo, level + 1);
                add(&mut counts, &inner);
            }
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits { max_depth: 10, max_complexity: 5000, introspection: true }
    }

    fn run(query: &str, variables: serde_json::Value) -> Result<(), Refusal> {
        let vars = async_graphql::Variables::from_json(variables);
        let mut rs = vec![Request::new(query).variables(vars)];
        check(&limits(), &ParsedDocuments::default(), &mut rs)
    }

    #[test]
    fn control_characters_are_named_by_their_input_path() {
        let e = run(
            r#"mutation { login(input: {email: "a\u0000b", password: "x"}) { accessToken } }"#,
            serde_json::json!({}),
        );
        assert_eq!(e.err().and_then(|r| r.field).as_deref(), Some("input.email"));
        let e = run(
            "query($f: CourseFilterInput) { courses(filter: $f) { totalCount } }",
            serde_json::json!({ "f": { "tag": "a\u{85}" } }),
        );
        assert_eq!(e.err().and_then(|r| r.field).as_deref(), Some("filter.tag"));
        let e = run(
            "mutation($l: [OrderLineInput!]!) { createOrder(input: {lines: $l}) { order { id } } }",
            serde_json::json!({ "l": [{ "sessionId": "1" }, { "sessionId": "\u{7f}" }] }),
        );
        assert_eq!(e.err().and_then(|r| r.field).as_deref(), Some("input.lines.1.sessionId"));
        assert!(
            run("{ course(slug: \"tab\\there\\nline\") { id } }", serde_json::json!({})).is_ok()
        );
    }

    #[test]
    fn fragment_bombs_are_measured_without_expanding_them() {
        let mut q = String::from("{ ...F0 } ");
        for i in 0..40 {
            q.push_str(&format!("fragment F{i} on Query {{ ...F{n} ...F{n} }} ", n = i + 1));
        }
        q.push_str("fragment F40 on Query { __typename }");
        let refused = run(&q, serde_json::json!({})).err().map(|r| r.message).unwrap_or_default();
        assert!(refused.contains("too large"), "{refused}");
    }

    #[test]
    fn fragment_cycles_end() {
        let q = "{ tenant { ...A } } fragment A on Tenant { ...B } fragment B on Tenant { ...A }";
        assert!(run(q, serde_json::json!({})).is_ok(), "left to validation");
    }
}
