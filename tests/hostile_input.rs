//! Hostile input at the GraphQL boundary, written as the attacks an outside reviewer sent:
//! control characters in every string input (literals, variables, fragments, GET, file names),
//! `Int` values beyond 32 bits, expensive mutations repeated by aliases, fragments and batches,
//! and the introspection queries of common clients against the depth limit. Every refusal
//! happens before execution: nothing is written and no response carries `INTERNAL`.

#![expect(clippy::expect_used, reason = "test helpers abort the test with their reason")]

mod common;

use std::collections::HashMap;

use async_graphql::parser::types::{
    BaseType, InputValueDefinition, Type, TypeKind, TypeSystemDefinition,
};
use common::{DEMO_PASSWORD, TestApp, demo};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// Operations generated from the SDL
// ---------------------------------------------------------------------------------------------

/// What to put in the one position under test.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Probe {
    /// A string holding this character, in every `String` and `ID` position.
    Control(char),
    /// 2^31, in every `Int` position.
    BeyondInt32,
}

/// A GraphQL input value, printable as a literal and as JSON (for variables).
#[derive(Clone, Debug)]
enum Lit {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Enum(String),
    List(Vec<Lit>),
    Obj(Vec<(String, Lit)>),
    /// The position under test: hostile, or (for the control request) a harmless value.
    Probe(Probe),
}

impl Lit {
    fn graphql(&self, hostile: bool) -> String {
        match self {
            Lit::Str(s) => Value::String(s.clone()).to_string(),
            Lit::Int(i) => i.to_string(),
            Lit::Float(f) => format!("{f:?}"),
            Lit::Bool(b) => b.to_string(),
            Lit::Enum(e) => e.clone(),
            Lit::List(items) => format!(
                "[{}]",
                items.iter().map(|x| x.graphql(hostile)).collect::<Vec<_>>().join(", ")
            ),
            Lit::Obj(fields) => format!(
                "{{{}}}",
                fields
                    .iter()
                    .map(|(k, v)| format!("{k}: {}", v.graphql(hostile)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Lit::Probe(p) => match (p, hostile) {
                // JSON string escapes are GraphQL string escapes: `\u0000`.
                (Probe::Control(c), true) => Value::String(format!("a{c}b")).to_string(),
                (Probe::Control(_), false) => "\"ab\"".into(),
                (Probe::BeyondInt32, true) => "2147483648".into(),
                (Probe::BeyondInt32, false) => "1".into(),
            },
        }
    }

    fn json(&self, hostile: bool) -> Value {
        match self {
            Lit::Str(s) | Lit::Enum(s) => json!(s),
            Lit::Int(i) => json!(i),
            Lit::Float(f) => json!(f),
            Lit::Bool(b) => json!(b),
            Lit::List(items) => Value::Array(items.iter().map(|x| x.json(hostile)).collect()),
            Lit::Obj(fields) => {
                Value::Object(fields.iter().map(|(k, v)| (k.clone(), v.json(hostile))).collect())
            }
            Lit::Probe(p) => match (p, hostile) {
                (Probe::Control(c), true) => json!(format!("a{c}b")),
                (Probe::Control(_), false) => json!("ab"),
                (Probe::BeyondInt32, true) => json!(2_147_483_648_i64),
                (Probe::BeyondInt32, false) => json!(1),
            },
        }
    }
}

struct Sdl {
    types: HashMap<String, TypeKind>,
}

/// One generated attack: an operation with the probe in one argument position.
struct Case {
    /// `Mutation.login(input.email)`, for the report.
    name: String,
    /// What `extensions.field` must say (`input.email`).
    field: String,
    op: &'static str,
    field_name: String,
    other_args: String,
    arg: String,
    arg_type: String,
    value: Lit,
    selection: String,
}

impl Case {
    /// The operation with every value inline; the control skips the field, so that it is
    /// validated (every type checked) and nothing runs.
    fn inline(&self, hostile: bool) -> String {
        let skip = if hostile { "" } else { " @skip(if: true)" };
        let sep = if self.other_args.is_empty() { "" } else { ", " };
        format!(
            "{} {{ {}({}{sep}{}: {}){skip}{} }}",
            self.op,
            self.field_name,
            self.other_args,
            self.arg,
            self.value.graphql(hostile),
            self.selection
        )
    }

    /// The operation with the probed argument passed as a variable.
    fn with_variable(&self) -> (String, Value) {
        let sep = if self.other_args.is_empty() { "" } else { ", " };
        let q = format!(
            "{}($v: {}) {{ {}({}{sep}{}: $v){} }}",
            self.op, self.arg_type, self.field_name, self.other_args, self.arg, self.selection
        );
        (q, json!({ "v": self.value.json(true) }))
    }
}

impl Sdl {
    fn parse() -> Sdl {
        let doc =
            async_graphql::parser::parse_schema(pupitre::graphql::sdl()).expect("the SDL parses");
        let types = doc
            .definitions
            .into_iter()
            .filter_map(|d| match d {
                TypeSystemDefinition::Type(t) => Some((t.node.name.node.to_string(), t.node.kind)),
                _ => None,
            })
            .collect();
        Sdl { types }
    }

    fn named(ty: &Type) -> &str {
        match &ty.base {
            BaseType::Named(n) => n.as_str(),
            BaseType::List(inner) => Self::named(inner),
        }
    }

    fn required(v: &InputValueDefinition) -> bool {
        !v.ty.node.nullable && v.default_value.is_none()
    }

    fn probed(probe: Probe, named: &str) -> bool {
        match probe {
            Probe::Control(_) => matches!(named, "String" | "ID"),
            Probe::BeyondInt32 => named == "Int",
        }
    }

    /// A harmless value of `ty` (lists are empty).
    fn dummy(&self, ty: &Type) -> Lit {
        match &ty.base {
            BaseType::List(_) => Lit::List(vec![]),
            BaseType::Named(n) => match n.as_str() {
                "String" => Lit::Str("x".into()),
                "ID" => Lit::Str("00000000-0000-4000-8000-000000000000".into()),
                "Int" => Lit::Int(1),
                "Float" => Lit::Float(1.5),
                "Boolean" => Lit::Bool(true),
                "DateTime" => Lit::Str("2030-01-01T00:00:00Z".into()),
                "NaiveDate" => Lit::Str("2000-01-01".into()),
                other => match self.types.get(other) {
                    Some(TypeKind::Enum(e)) => {
                        Lit::Enum(e.values.first().expect("enum value").node.value.node.to_string())
                    }
                    Some(TypeKind::InputObject(o)) => Lit::Obj(
                        o.fields
                            .iter()
                            .filter(|f| Self::required(&f.node))
                            .map(|f| (f.node.name.node.to_string(), self.dummy(&f.node.ty.node)))
                            .collect(),
                    ),
                    _ => panic!("no dummy value for {other}"),
                },
            },
        }
    }

    /// Every value of `ty` with the probe in one position, with that position's path.
    fn variants(&self, ty: &Type, probe: Probe, depth: usize) -> Vec<(Vec<String>, Lit)> {
        if depth > 8 {
            return vec![];
        }
        match &ty.base {
            BaseType::List(inner) => self
                .variants(inner, probe, depth + 1)
                .into_iter()
                .map(|(mut p, v)| {
                    p.insert(0, "0".into());
                    (p, Lit::List(vec![v]))
                })
                .collect(),
            BaseType::Named(n) if Self::probed(probe, n) => vec![(vec![], Lit::Probe(probe))],
            BaseType::Named(n) => match self.types.get(n.as_str()) {
                Some(TypeKind::InputObject(o)) => {
                    let mut out = Vec::new();
                    for f in &o.fields {
                        for (mut p, v) in self.variants(&f.node.ty.node, probe, depth + 1) {
                            let mut fields: Vec<(String, Lit)> = o
                                .fields
                                .iter()
                                .filter(|g| {
                                    g.node.name.node != f.node.name.node && Self::required(&g.node)
                                })
                                .map(|g| {
                                    (g.node.name.node.to_string(), self.dummy(&g.node.ty.node))
                                })
                                .collect();
                            fields.push((f.node.name.node.to_string(), v));
                            p.insert(0, f.node.name.node.to_string());
                            out.push((p, Lit::Obj(fields)));
                        }
                    }
                    out
                }
                _ => vec![],
            },
        }
    }

    /// Every Query and Mutation field × every argument position the probe applies to.
    fn cases(&self, probe: Probe) -> Vec<Case> {
        let mut cases = Vec::new();
        for (root, op) in [("Query", "query"), ("Mutation", "mutation")] {
            let Some(TypeKind::Object(obj)) = self.types.get(root) else {
                panic!("no {root} type")
            };
            for field in &obj.fields {
                let f = &field.node;
                if f.name.node.starts_with("__") {
                    continue;
                }
                let selection = match self.types.get(Self::named(&f.ty.node)) {
                    Some(TypeKind::Object(_) | TypeKind::Interface(_) | TypeKind::Union(_)) => {
                        " { __typename }".to_owned()
                    }
                    _ => String::new(),
                };
                for arg in &f.arguments {
                    let a = &arg.node;
                    let other_args = f
                        .arguments
                        .iter()
                        .filter(|b| b.node.name.node != a.name.node && Self::required(&b.node))
                        .map(|b| {
                            format!(
                                "{}: {}",
                                b.node.name.node,
                                self.dummy(&b.node.ty.node).graphql(false)
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(", ");
                    for (path, value) in self.variants(&a.ty.node, probe, 0) {
                        let field_path = std::iter::once(a.name.node.to_string())
                            .chain(path)
                            .collect::<Vec<_>>()
                            .join(".");
                        cases.push(Case {
                            name: format!("{root}.{}({field_path})", f.name.node),
                            field: field_path,
                            op,
                            field_name: f.name.node.to_string(),
                            other_args: other_args.clone(),
                            arg: a.name.node.to_string(),
                            arg_type: a.ty.node.to_string(),
                            value,
                            selection: selection.clone(),
                        });
                    }
                }
            }
        }
        cases
    }
}

/// Tables whose row counts prove that nothing was written.
const WRITTEN: [&str; 8] = [
    "users",
    "auth_sessions",
    "login_failures",
    "audit_log",
    "courses",
    "orders",
    "eo_applications",
    "eo_documents",
];

async fn counts(app: &TestApp) -> Vec<i64> {
    let mut out = Vec::new();
    for t in WRITTEN {
        out.push(app.count(t).await);
    }
    out
}

fn tenant() -> [(&'static str, &'static str); 1] {
    [("x-pupitre-tenant", "demo")]
}

/// The first error's code and field, and whether any error anywhere is INTERNAL.
fn refusal(r: &common::Gql) -> (Option<String>, Option<String>, bool) {
    let e = r.errors();
    let first = e.first();
    let code = first.and_then(|e| e["extensions"]["code"].as_str().map(str::to_owned));
    let field = first.and_then(|e| e["extensions"]["field"].as_str().map(str::to_owned));
    (code, field, r.body.to_string().contains("INTERNAL"))
}

// ---------------------------------------------------------------------------------------------
// Defect 5: control characters
// ---------------------------------------------------------------------------------------------

async fn every_string_argument_and_input_field_refuses_a_nul_byte(app: TestApp) {
    let sdl = Sdl::parse();
    let cases = sdl.cases(Probe::Control('\0'));
    assert!(cases.len() > 100, "the SDL walk found only {} string positions", cases.len());
    assert!(cases.iter().any(|c| c.name == "Mutation.login(input.email)"));
    assert!(cases.iter().any(|c| c.name == "Mutation.createOrder(input.lines.0.sessionId)"));
    let before = counts(&app).await;
    let mut failures = Vec::new();
    for case in &cases {
        // Control: the same operation with a harmless value validates (and, skipped, runs nothing).
        let control = app.gql_with(None, &tenant(), &case.inline(false), json!({})).await;
        if !control.errors().is_empty() {
            failures
                .push(format!("{}: the control operation is invalid: {}", case.name, control.body));
            continue;
        }
        let inline = app.gql_with(None, &tenant(), &case.inline(true), json!({})).await;
        let (q, vars) = case.with_variable();
        let variable = app.gql_with(None, &tenant(), &q, vars).await;
        for (how, r) in [("inline", &inline), ("variable", &variable)] {
            let (code, field, internal) = refusal(r);
            if code.as_deref() != Some("BAD_USER_INPUT")
                || field.as_deref() != Some(case.field.as_str())
                || internal
                || !r.data().is_null()
            {
                failures.push(format!(
                    "{} ({how}): expected BAD_USER_INPUT at {}, got {}",
                    case.name, case.field, r.body
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} positions failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    assert_eq!(counts(&app).await, before, "nothing was written by any refused request");
}

async fn the_reported_nul_bytes_are_refused_naming_the_field(app: TestApp) {
    let before = counts(&app).await;
    let cases: [(&str, Value, &str); 6] = [
        (
            "mutation($e: String!) { login(input: {email: $e, password: \"x\"}) { accessToken } }",
            json!({ "e": "lea.martin\u{0}@demo.pupitre.test" }),
            "input.email",
        ),
        (
            "mutation($p: String!) { login(input: {email: \"lea.martin@demo.pupitre.test\", password: $p}) { accessToken } }",
            json!({ "p": format!("{DEMO_PASSWORD}\u{0}") }),
            "input.password",
        ),
        ("query($s: String!) { course(slug: $s) { id } }", json!({ "s": "anglais\u{0}" }), "slug"),
        (
            "query($t: String) { courses(filter: {tag: $t}) { edges { node { id } } } }",
            json!({ "t": "b1\u{0}" }),
            "filter.tag",
        ),
        (
            "query($l: String) { courses(filter: {language: $l}) { edges { node { id } } } }",
            json!({ "l": "fr\u{0}" }),
            "filter.language",
        ),
        // Other control characters: ESC, DEL and a C1 control.
        ("query { a: course(slug: \"x\\u001b[31m\") { id } }", json!({}), "slug"),
    ];
    for (q, vars, field) in cases {
        let r = app.gql_with(None, &tenant(), q, vars).await;
        let (code, got, internal) = refusal(&r);
        assert_eq!(
            (code.as_deref(), got.as_deref(), internal),
            (Some("BAD_USER_INPUT"), Some(field), false),
            "{q}: {}",
            r.body
        );
        assert!(r.errors()[0]["extensions"]["requestId"].is_string());
    }
    for c in ['\u{7f}', '\u{85}', '\u{9b}'] {
        let r = app
            .gql_with(
                None,
                &tenant(),
                "query($s: String!) { course(slug: $s) { id } }",
                json!({ "s": format!("x{c}") }),
            )
            .await;
        assert_eq!(
            refusal(&r).0.as_deref(),
            Some("BAD_USER_INPUT"),
            "U+{:04X}: {}",
            u32::from(c),
            r.body
        );
        assert_eq!(refusal(&r).1.as_deref(), Some("slug"), "U+{:04X}: {}", u32::from(c), r.body);
    }
    assert_eq!(counts(&app).await, before, "no log-in attempt recorded, nothing written");
    // Tab, line feed and carriage return are text: they pass the boundary.
    let r = app
        .gql_with(
            None,
            &tenant(),
            "query($s: String!) { course(slug: $s) { id } }",
            json!({ "s": "a\tb\r\nc" }),
        )
        .await;
    assert!(r.errors().is_empty(), "{}", r.body);
    assert!(r.data()["course"].is_null());
}

async fn nul_bytes_are_refused_through_fragments_aliases_batches_and_get(app: TestApp) {
    let before = counts(&app).await;
    let fragment = "query($s: String!) { ...F } fragment F on Query { a: course(slug: \"ok\") { id } b: course(slug: $s) { id } }";
    let r = app.gql_with(None, &tenant(), fragment, json!({ "s": "x\u{0}" })).await;
    assert_eq!(refusal(&r).0.as_deref(), Some("BAD_USER_INPUT"), "{}", r.body);
    assert_eq!(refusal(&r).1.as_deref(), Some("slug"), "{}", r.body);
    let inline = "query { ... on Query { ...G } } fragment G on Query { c: courses(filter: {tag: \"\\u0000\"}) { totalCount } }";
    let r = app.gql_with(None, &tenant(), inline, json!({})).await;
    assert_eq!(refusal(&r).0.as_deref(), Some("BAD_USER_INPUT"), "{}", r.body);
    assert_eq!(refusal(&r).1.as_deref(), Some("filter.tag"), "{}", r.body);
    // A variable nothing uses, and a default value.
    let r = app
        .gql_with(
            None,
            &tenant(),
            "query($unused: String) { __typename }",
            json!({ "unused": "\u{0}" }),
        )
        .await;
    assert_eq!(refusal(&r).0.as_deref(), Some("BAD_USER_INPUT"), "{}", r.body);
    let r = app
        .gql_with(
            None,
            &tenant(),
            "query($s: String = \"\\u0000\") { course(slug: $s) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(refusal(&r).0.as_deref(), Some("BAD_USER_INPUT"), "{}", r.body);
    assert_eq!(refusal(&r).1.as_deref(), Some("slug"), "{}", r.body);
    // A batch: the second operation carries the NUL, so none runs.
    let batch = json!([
        { "query": "{ tenant { name } }" },
        { "query": "query($s: String!) { course(slug: $s) { id } }", "variables": { "s": "\u{0}" } },
    ]);
    let res = app
        .client
        .post(app.url("/graphql"))
        .header("x-pupitre-tenant", "demo")
        .json(&batch)
        .send()
        .await
        .expect("batch");
    let body: Value = res.json().await.expect("json");
    let answers = body.as_array().expect("an answer per operation");
    assert_eq!(answers.len(), 2);
    for a in answers {
        assert!(a.get("data").is_none_or(Value::is_null), "nothing of the batch ran: {body}");
        assert_eq!(a["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{body}");
        assert_eq!(a["errors"][0]["extensions"]["field"], "slug", "{body}");
    }
    // GET, inline and as a variable.
    for (query, variables) in [
        ("{ course(slug: \"\\u0000\") { id } }", None),
        ("query($s: String!) { course(slug: $s) { id } }", Some(r#"{"s":"\u0000"}"#)),
    ] {
        let mut url = format!("{}?query={}", app.url("/graphql"), urlencode(query));
        if let Some(v) = variables {
            url.push_str(&format!("&variables={}", urlencode(v)));
        }
        let res = app.client.get(url).header("x-pupitre-tenant", "demo").send().await.expect("get");
        let body: Value = res.json().await.expect("json");
        assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], "slug", "{body}");
    }
    assert_eq!(counts(&app).await, before);
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Sends `addDocuments` as a multipart request whose file part carries `disposition_name`
/// as its file name, raw. Returns the JSON answer.
async fn upload_named(app: &TestApp, token: &str, disposition_name: &[u8]) -> Value {
    let boundary = "pupitre-hostile-boundary-4f1c";
    let operations = json!({
        "query": "mutation($input: AddDocumentsInput!) { addDocuments(input: $input) { documents { id originalName } } }",
        "variables": { "input": { "applicationId": "00000000-0000-4000-8000-000000000000", "kind": "TAX_NOTICE", "files": [null] } },
    });
    let mut body = Vec::new();
    for (name, value) in [
        ("operations", operations.to_string()),
        ("map", json!({ "0": ["variables.input.files.0"] }).to_string()),
    ] {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"0\"; filename=\"")
            .as_bytes(),
    );
    body.extend_from_slice(disposition_name);
    body.extend_from_slice(b"\"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.4\n%hostile\r\n");
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    app.post_multipart(token, boundary, body).await.json().await.expect("JSON")
}

async fn file_names_with_control_characters_are_refused_before_the_upload_runs(app: TestApp) {
    let learner = app.token(demo::LEARNER).await;
    let before = counts(&app).await;
    let blobs = files_under(app.documents.path());
    // A C1 control (U+009B, CSI) is valid UTF-8 in a header: it reaches the file name.
    let body = upload_named(&app, &learner, "avis\u{9b}2J.pdf".as_bytes()).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{body}");
    assert_eq!(body["errors"][0]["extensions"]["field"], "input.files.0", "{body}");
    assert!(body.get("data").is_none_or(Value::is_null), "{body}");
    // A raw NUL byte in the name: refused as well (by the multipart parser or by the check).
    let body = upload_named(&app, &learner, b"avis\0.pdf").await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{body}");
    assert!(!body.to_string().contains("INTERNAL"), "{body}");
    assert_eq!(counts(&app).await, before, "no document stored");
    assert_eq!(files_under(app.documents.path()), blobs, "no blob written");
}

/// Every file below `dir`.
fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() { todo.push(p) } else { out.push(p) }
        }
    }
    out.sort();
    out
}

// ---------------------------------------------------------------------------------------------
// Defect 12a: Int beyond 32 bits
// ---------------------------------------------------------------------------------------------

async fn every_int_argument_and_input_field_refuses_values_beyond_32_bits(app: TestApp) {
    let sdl = Sdl::parse();
    let cases = sdl.cases(Probe::BeyondInt32);
    assert!(
        cases.iter().any(|c| c.name == "Query.courses(filter.maxPriceCents)"),
        "the SDL walk found the reported position"
    );
    assert!(cases.iter().any(|c| c.name == "Mutation.createCourse(input.priceCents)"));
    let before = counts(&app).await;
    let mut failures = Vec::new();
    for case in &cases {
        let control = app.gql_with(None, &tenant(), &case.inline(false), json!({})).await;
        if !control.errors().is_empty() {
            failures
                .push(format!("{}: the control operation is invalid: {}", case.name, control.body));
            continue;
        }
        let (q, vars) = case.with_variable();
        for (how, r) in [
            ("inline", app.gql_with(None, &tenant(), &case.inline(true), json!({})).await),
            ("variable", app.gql_with(None, &tenant(), &q, vars).await),
        ] {
            let (code, _, internal) = refusal(&r);
            if code.as_deref() != Some("BAD_USER_INPUT") || internal || !r.data().is_null() {
                failures
                    .push(format!("{} ({how}): 2147483648 was not refused: {}", case.name, r.body));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} positions failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    assert_eq!(counts(&app).await, before, "nothing was written by any refused request");
    // The reported request, and the largest 32-bit value, which is accepted.
    let r = app
        .gql_with(
            None,
            &tenant(),
            "{ courses(filter: {maxPriceCents: 2147483648}) { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(refusal(&r).0.as_deref(), Some("BAD_USER_INPUT"), "{}", r.body);
    assert!(
        r.errors()[0]["message"].as_str().unwrap_or("").contains("2147483647"),
        "the message says the range: {}",
        r.body
    );
    // A value of the wrong type is refused by validation, which names the argument.
    let wrong = app
        .gql_with(
            None,
            &tenant(),
            "{ courses(filter: {maxPriceCents: \"cher\"}) { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(refusal(&wrong).0.as_deref(), Some("BAD_USER_INPUT"), "{}", wrong.body);
    assert_eq!(refusal(&wrong).1.as_deref(), Some("filter.maxPriceCents"), "{}", wrong.body);
    assert!(r.data().is_null() || r.data()["courses"].is_null(), "{}", r.body);
    let r = app
        .gql_with(
            None,
            &tenant(),
            "{ courses(filter: {maxPriceCents: 2147483647}) { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert!(r.errors().is_empty(), "{}", r.body);
    // As the admin, a price of 2^31 cents creates nothing.
    let admin = app.token(demo::ADMIN).await;
    let courses = app.count("courses").await;
    let input = json!({ "slug": "trop-cher", "title": "Trop cher", "summary": "S.", "description": "", "level": "BEGINNER", "format": "ONLINE", "language": "fr", "priceCents": 2_147_483_648_i64 });
    let r = app.gql(Some(&admin), "mutation($input: CreateCourseInput!) { createCourse(input: $input) { course { id } } }", json!({ "input": input })).await;
    assert_eq!(refusal(&r).0.as_deref(), Some("BAD_USER_INPUT"), "{}", r.body);
    assert_eq!(app.count("courses").await, courses);
}

// ---------------------------------------------------------------------------------------------
// Defect 8: expensive mutations
// ---------------------------------------------------------------------------------------------

fn login_field(alias: &str) -> String {
    format!(
        "{alias}: login(input: {{email: \"{}\", password: \"{DEMO_PASSWORD}\"}}) {{ accessToken }}",
        demo::LEARNER
    )
}

async fn a_request_repeating_login_is_refused_before_any_password_is_hashed(app: TestApp) {
    let sessions = app.count("auth_sessions").await;
    let failures = app.count("login_failures").await;
    let aliases = (0..60).map(|i| login_field(&format!("a{i}"))).collect::<Vec<_>>().join(" ");
    let started = std::time::Instant::now();
    let r = app.gql_with(None, &tenant(), &format!("mutation {{ {aliases} }}"), json!({})).await;
    let (code, field, _) = refusal(&r);
    assert_eq!(
        (code.as_deref(), field.as_deref()),
        (Some("BAD_USER_INPUT"), Some("login")),
        "{}",
        r.body
    );
    assert!(r.errors()[0]["message"].as_str().unwrap_or("").contains("60 times"), "{}", r.body);
    assert!(r.data().is_null(), "no login ran: {}", r.body);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "refused without hashing: {:?}",
        started.elapsed()
    );
    // Through fragments (spread twice, and nested in an inline fragment).
    let fragments = format!(
        "mutation {{ ...L ... on Mutation {{ ...M }} }} fragment L on Mutation {{ {} }} fragment M on Mutation {{ {} }}",
        login_field("one"),
        login_field("two")
    );
    let r = app.gql_with(None, &tenant(), &fragments, json!({})).await;
    assert_eq!(refusal(&r).0.as_deref(), Some("BAD_USER_INPUT"), "{}", r.body);
    assert_eq!(refusal(&r).1.as_deref(), Some("login"), "{}", r.body);
    // Through a batch: one login per operation, two operations.
    let one = json!({ "query": format!("mutation {{ {} }}", login_field("only")) });
    let res = app
        .client
        .post(app.url("/graphql"))
        .header("x-pupitre-tenant", "demo")
        .json(&json!([one, one]))
        .send()
        .await
        .expect("batch");
    let body: Value = res.json().await.expect("json");
    let answers = body.as_array().expect("answers");
    assert_eq!(answers.len(), 2, "{body}");
    for a in answers {
        assert_eq!(a["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{body}");
        assert_eq!(a["errors"][0]["extensions"]["field"], "login", "{body}");
        assert!(a.get("data").is_none_or(Value::is_null), "{body}");
    }
    // Other expensive mutations, each twice.
    let twice = [
        "mutation { a: register(input: {email: \"a@x.test\", password: \"long-enough-1\", firstName: \"A\", lastName: \"B\", acceptedPolicyVersion: \"x\"}) { accessToken } b: register(input: {email: \"b@x.test\", password: \"long-enough-1\", firstName: \"A\", lastName: \"B\", acceptedPolicyVersion: \"x\"}) { accessToken } }",
        "mutation { a: changePassword(input: {currentPassword: \"a\", newPassword: \"b\"}) { changed } b: changePassword(input: {currentPassword: \"a\", newPassword: \"b\"}) { changed } }",
    ];
    for q in twice {
        let r = app.gql_with(None, &tenant(), q, json!({})).await;
        assert_eq!(refusal(&r).0.as_deref(), Some("BAD_USER_INPUT"), "{q}: {}", r.body);
        assert!(r.data().is_null(), "{}", r.body);
    }
    assert_eq!(app.count("auth_sessions").await, sessions, "no session opened");
    assert_eq!(app.count("login_failures").await, failures, "no log-in attempt recorded");
    // One login per request still works, and each executed attempt is throttled on its own.
    let ok = app
        .gql_with(None, &tenant(), &format!("mutation {{ {} }}", login_field("single")), json!({}))
        .await;
    assert!(ok.data()["single"]["accessToken"].is_string(), "{}", ok.body);
    assert_eq!(app.count("auth_sessions").await, sessions + 1);
    let wrong = "mutation { login(input: {email: \"lea.martin@demo.pupitre.test\", password: \"wrong-password\"}) { accessToken } }";
    let base = app.count("login_failures").await;
    app.gql_with(None, &tenant(), wrong, json!({})).await;
    let after_one = app.count("login_failures").await;
    app.gql_with(None, &tenant(), wrong, json!({})).await;
    let after_two = app.count("login_failures").await;
    assert!(
        after_one > base && after_two - after_one == after_one - base,
        "each attempt recorded: {base} {after_one} {after_two}"
    );
}

// ---------------------------------------------------------------------------------------------
// Defect 10: introspection and depth
// ---------------------------------------------------------------------------------------------

/// `getIntrospectionQuery()` of graphql-js 16.15.0, default options (what GraphiQL sends).
const GRAPHQL_JS_16: &str = r#"
    query IntrospectionQuery {
      __schema {
        
        queryType { name kind }
        mutationType { name kind }
        subscriptionType { name kind }
        types {
          ...FullType
        }
        directives {
          name
          description
          
          
          
          locations
          args {
            ...InputValue
          }
        }
      }
    }

    fragment FullType on __Type {
      kind
      name
      description
      
      
      fields(includeDeprecated: true) {
        name
        description
        args {
          ...InputValue
        }
        type {
          ...TypeRef
        }
        isDeprecated
        deprecationReason
      }
      inputFields {
        ...InputValue
      }
      interfaces {
        ...TypeRef
      }
      enumValues(includeDeprecated: true) {
        name
        description
        isDeprecated
        deprecationReason
      }
      possibleTypes {
        ...TypeRef
      }
    }

    fragment InputValue on __InputValue {
      name
      description
      type { ...TypeRef }
      defaultValue
      
      
    }

    fragment TypeRef on __Type {
      kind
      name
      ofType {
        name
        kind
        ofType {
          name
          kind
          ofType {
            name
            kind
            ofType {
              name
              kind
              ofType {
                name
                kind
                ofType {
                  name
                  kind
                  ofType {
                    name
                    kind
                    ofType {
                      name
                      kind
                      ofType {
                        name
                        kind
                      }
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
  "#;

/// graphql-js 16.15.0 with `descriptions`, `specifiedByUrl`, `directiveIsRepeatable`, `schemaDescription` and `inputValueDeprecation`.
const GRAPHQL_JS_16_ALL_OPTIONS: &str = r#"
    query IntrospectionQuery {
      __schema {
        description
        queryType { name kind }
        mutationType { name kind }
        subscriptionType { name kind }
        types {
          ...FullType
        }
        directives {
          name
          description
          isRepeatable
          
          
          locations
          args(includeDeprecated: true) {
            ...InputValue
          }
        }
      }
    }

    fragment FullType on __Type {
      kind
      name
      description
      specifiedByURL
      
      fields(includeDeprecated: true) {
        name
        description
        args(includeDeprecated: true) {
          ...InputValue
        }
        type {
          ...TypeRef
        }
        isDeprecated
        deprecationReason
      }
      inputFields(includeDeprecated: true) {
        ...InputValue
      }
      interfaces {
        ...TypeRef
      }
      enumValues(includeDeprecated: true) {
        name
        description
        isDeprecated
        deprecationReason
      }
      possibleTypes {
        ...TypeRef
      }
    }

    fragment InputValue on __InputValue {
      name
      description
      type { ...TypeRef }
      defaultValue
      isDeprecated
      deprecationReason
    }

    fragment TypeRef on __Type {
      kind
      name
      ofType {
        name
        kind
        ofType {
          name
          kind
          ofType {
            name
            kind
            ofType {
              name
              kind
              ofType {
                name
                kind
                ofType {
                  name
                  kind
                  ofType {
                    name
                    kind
                    ofType {
                      name
                      kind
                      ofType {
                        name
                        kind
                      }
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
  "#;

/// `get_introspection_query()` of graphql-core 3.2.8 (Python; the library schemathesis builds on).
const GRAPHQL_CORE_3_2: &str = r#"
query IntrospectionQuery {
  __schema {

    queryType { name }
    mutationType { name }
    subscriptionType { name }
    types {
      ...FullType
    }
    directives {
      name
      description

      locations
      args {
        ...InputValue
      }
    }
  }
}

fragment FullType on __Type {
  kind
  name
  description


  fields(includeDeprecated: true) {
    name
    description
    args {
      ...InputValue
    }
    type {
      ...TypeRef
    }
    isDeprecated
    deprecationReason
  }
  inputFields {
    ...InputValue
  }
  interfaces {
    ...TypeRef
  }
  enumValues(includeDeprecated: true) {
    name
    description
    isDeprecated
    deprecationReason
  }
  possibleTypes {
    ...TypeRef
  }
}

fragment InputValue on __InputValue {
  name
  description
  type { ...TypeRef }
  defaultValue


}

fragment TypeRef on __Type {
  kind
  name
  ofType {
    kind
    name
    ofType {
      kind
      name
      ofType {
        kind
        name
        ofType {
          kind
          name
          ofType {
            kind
            name
            ofType {
              kind
              name
              ofType {
                kind
                name
                ofType {
                  kind
                  name
                  ofType {
                    kind
                    name
                  }
                }
              }
            }
          }
        }
      }
    }
  }
}
"#;

async fn common_introspection_queries_are_answered_and_data_depth_still_holds(app: TestApp) {
    for (client, query) in [
        ("graphql-js 16", GRAPHQL_JS_16),
        ("graphql-js 16, every option", GRAPHQL_JS_16_ALL_OPTIONS),
        ("graphql-core 3.2", GRAPHQL_CORE_3_2),
    ] {
        let r = app.gql(None, query, json!({})).await;
        assert!(r.errors().is_empty(), "{client}: {}", r.body);
        let types = r.data()["__schema"]["types"].as_array().map(Vec::len).unwrap_or(0);
        assert!(types > 20, "{client}: {types} types");
        assert!(
            r.data()["__schema"]["types"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|t| t["name"] == "Course")
        );
        // Over GET too (GraphiQL may send it either way).
        let res = app
            .client
            .get(format!("{}?query={}", app.url("/graphql"), urlencode(query)))
            .send()
            .await
            .expect("get");
        let body: Value = res.json().await.expect("json");
        assert!(
            body.get("errors").is_none() && body["data"]["__schema"]["types"].is_array(),
            "{client} over GET: {body}"
        );
    }
    // Introspection with lists nested beyond the standard query's is still refused.
    let bomb = "{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }";
    let r = app.gql(None, bomb, json!({})).await;
    assert_eq!(refusal(&r).0.as_deref(), Some("BAD_USER_INPUT"), "{}", r.body);
    assert!(r.data().is_null());
    // Data keeps the depth limit (10): 11 levels are refused before any SQL.
    let token = app.token(demo::GUARDIAN).await;
    app.gql(Some(&token), "{ __typename }", json!({})).await.assert_ok();
    let nested = |levels: usize| {
        let mut q = String::from("id");
        for _ in 0..levels - 2 {
            q = format!("wards {{ {q} }}");
        }
        format!("{{ me {{ {q} }} }}")
    };
    let before = app.app_statements.get();
    let r = app.gql(Some(&token), &nested(11), json!({})).await;
    assert_eq!(app.app_statements.get(), before, "no SQL for a query over the depth limit");
    assert_eq!(refusal(&r).0.as_deref(), Some("BAD_USER_INPUT"));
    assert!(
        r.errors()[0]["message"].as_str().unwrap_or("").contains("nested too deep"),
        "{}",
        r.body
    );
    // And through a fragment, which cannot hide levels.
    let r = app.gql(Some(&token), "{ me { ...W } } fragment W on User { wards { wards { wards { wards { wards { wards { wards { wards { wards { id } } } } } } } } } }", json!({})).await;
    assert!(
        r.errors()[0]["message"].as_str().unwrap_or("").contains("nested too deep"),
        "{}",
        r.body
    );
}

async fn introspection_when_off_is_refused_for_every_client_query() {
    let app = TestApp::sqlite_with(|s| s.introspection = false).await;
    for query in [
        GRAPHQL_JS_16,
        GRAPHQL_JS_16_ALL_OPTIONS,
        GRAPHQL_CORE_3_2,
        "{ __type(name: \"User\") { name } }",
    ] {
        let r = app.gql(None, query, json!({})).await;
        assert_eq!(refusal(&r).0.as_deref(), Some("BAD_USER_INPUT"), "{}", r.body);
        assert!(r.data().is_null(), "{}", r.body);
        assert!(
            !r.body.to_string().contains("Course"),
            "nothing of the schema is revealed: {}",
            r.body
        );
    }
    // `__typename` is not introspection.
    assert!(app.gql(None, "{ __typename }", json!({})).await.errors().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn introspection_when_off_is_refused() {
    introspection_when_off_is_refused_for_every_client_query().await;
}

/// The depth limit counts exactly: 10 levels of data pass it (with complexity lifted).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_levels_of_data_pass_the_depth_limit() {
    let app = TestApp::sqlite_with(|s| s.graphql_max_complexity = usize::MAX).await;
    let token = app.token(demo::GUARDIAN).await;
    let r = app.gql(Some(&token), "{ me { wards { wards { wards { wards { wards { wards { wards { wards { id } } } } } } } } } }", json!({})).await;
    assert!(r.errors().is_empty(), "{}", r.body);
}

/// A forged upload placeholder, escaped so that no raw-byte check sees it, used to panic
/// async-graphql's `Upload` parser (before any resolver: anonymous requests too).
async fn escaped_upload_placeholders_are_refused_before_anything_runs(app: TestApp) {
    let q = "mutation($f: Upload!) { addDocuments(input: {applicationId: \"00000000-0000-0000-0000-000000000000\", kind: OTHER, files: [$f]}) { __typename } }";
    // JSON-escaped `#` in a variable, anonymous and signed in, malformed and out of range.
    let learner = app.token(demo::LEARNER).await;
    for token in [None, Some(learner.as_str())] {
        for marker in
            ["\\u0023__graphql_file__:x", "\\u0023__graphql_file__:99", "\\u0023__graphql_file__:0"]
        {
            let body = format!(
                r#"{{"query":{},"variables":{{"f":"{marker}"}}}}"#,
                serde_json::to_string(q).expect("json")
            );
            let mut req = app
                .client
                .post(app.url("/graphql"))
                .header("content-type", "application/json")
                .header("x-pupitre-tenant", "demo")
                .body(body);
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            let res = req.send().await.expect("an answer, not a reset");
            let status = res.status().as_u16();
            let v: Value = res.json().await.expect("json");
            assert_eq!(v["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{marker}: {v}");
            assert!(status == 200 || status == 400, "{status}");
        }
    }
    // GraphQL-escaped, as a literal.
    let literal = "mutation { addDocuments(input: {applicationId: \"00000000-0000-0000-0000-000000000000\", kind: OTHER, files: [\"\\u0023__graphql_file__:x\"]}) { __typename } }";
    let r = app.gql(Some(&learner), literal, json!({})).await;
    assert_eq!(refusal(&r).0.as_deref(), Some("BAD_USER_INPUT"), "{}", r.body);
    assert_eq!(refusal(&r).1.as_deref(), Some("input.files.0"), "{}", r.body);
    // The server is still there.
    assert!(app.gql(None, "{ __typename }", json!({})).await.errors().is_empty());
}

/// Repeats that async-graphql would all run: the same response key twice, a fragment spread
/// twice, two different credentials through an inline fragment.
async fn every_occurrence_of_an_expensive_mutation_counts(app: TestApp) {
    let sessions = app.count("auth_sessions").await;
    let failures = app.count("login_failures").await;
    let same_key = format!("mutation {{ {} {} }}", login_field("k"), login_field("k"));
    let spread_twice =
        format!("mutation {{ ...F ...F }} fragment F on Mutation {{ {} }}", login_field("f"));
    let other = "b: login(input: {email: \"hugo.bernard@demo.pupitre.test\", password: \"wrong password\"}) { accessToken }";
    let two_credentials =
        format!("mutation {{ {} ... on Mutation {{ {other} }} }}", login_field("a"));
    for q in [same_key, spread_twice, two_credentials] {
        let r = app.gql_with(None, &tenant(), &q, json!({})).await;
        assert_eq!(refusal(&r).1.as_deref(), Some("login"), "{q}: {}", r.body);
        assert!(r.data().is_null(), "{}", r.body);
    }
    assert_eq!(
        (app.count("auth_sessions").await, app.count("login_failures").await),
        (sessions, failures),
        "no login ran"
    );
}

/// Memory before parsing: a document of too many tokens and a body of too many JSON values
/// are refused before they are parsed into trees.
async fn oversized_documents_and_variables_are_refused_before_parsing(app: TestApp) {
    let q = format!("{{ {} }}", "__typename ".repeat(20_000));
    let r = app.gql(None, &q, json!({})).await;
    assert_eq!(refusal(&r).0.as_deref(), Some("BAD_USER_INPUT"), "{}", r.body);
    assert!(r.errors()[0]["message"].as_str().unwrap_or("").contains("tokens"), "{}", r.body);
    let zeros = vec![0; 30_000];
    let r = app.gql(None, "query($v: [Int!]) { __typename }", json!({ "v": zeros })).await;
    assert_eq!((r.status, refusal(&r).0.as_deref()), (400, Some("BAD_USER_INPUT")), "{}", r.body);
    assert!(r.errors()[0]["message"].as_str().unwrap_or("").contains("JSON values"), "{}", r.body);
    // Control: an ordinary document and a few variables pass.
    let r = app
        .gql_with(
            None,
            &tenant(),
            "query($s: String!) { course(slug: $s) { id } }",
            json!({ "s": "x" }),
        )
        .await;
    assert!(r.errors().is_empty(), "{}", r.body);
}

on_both_databases!(
    every_string_argument_and_input_field_refuses_a_nul_byte,
    the_reported_nul_bytes_are_refused_naming_the_field,
    nul_bytes_are_refused_through_fragments_aliases_batches_and_get,
    file_names_with_control_characters_are_refused_before_the_upload_runs,
    every_int_argument_and_input_field_refuses_values_beyond_32_bits,
    a_request_repeating_login_is_refused_before_any_password_is_hashed,
    common_introspection_queries_are_answered_and_data_depth_still_holds,
    escaped_upload_placeholders_are_refused_before_anything_runs,
    every_occurrence_of_an_expensive_mutation_counts,
    oversized_documents_and_variables_are_refused_before_parsing,
);
