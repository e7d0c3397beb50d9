//! The need-to-know matrix walked end to end over HTTP and judged by `docs/ACCESS.md` alone.
//!
//! Every personal field of `User`, `Order` (lines, invoices, refunds), `Enrollment`, `Application`
//! (with its `applicant`), `DataSubjectRequest`, the session roster and the audit log, plus the
//! invoice and document downloads, is asked for by every demo role, anonymously, and by a person
//! with two roles, about a learner, the minor, applicants, a staff account and buyers: first as
//! seeded, then with a restricted and an erased subject. What each (viewer, subject, field) should
//! give is computed from the document: its "Fields by category" table names the field's category,
//! the matrix the viewer's columns (relations: self, guardian of a minor, instructor of the
//! subject's session, reviewer of applicants; the viewer's staff roles), its qualifiers and its
//! written rules (restriction, erasure, drafts, the buyer-only client secret). The facts those
//! rules need (roles, guardianship, who teaches whom, consent, applications) are read from the
//! database with SQL, never from the API under test.
//!
//! A second test walks the SDL: every field of every object type must be classified, and every
//! personal field is one the HTTP walk checks, so a new personal field cannot ship unguarded.
//!
//! This file must never ask `pupitre::policy` what to expect.

#![expect(clippy::expect_used, reason = "test helpers abort the test with their reason")]

mod common;

#[path = "common/access_doc.rs"]
mod access_doc;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use access_doc::AccessDoc;
use chrono::{DateTime, Months, NaiveDate, Utc};
use common::{TestApp, demo};
use sea_orm::{ConnectionTrait, QueryResult, Statement};
use serde_json::Value;
use uuid::Uuid;

// ---------------------------------------------------------------------------------------------
// What is walked: each personal field, how to select it, and the document's label for it.
// ---------------------------------------------------------------------------------------------

/// How the document decides a field.
#[derive(Clone, Copy, Debug)]
enum Guard {
    /// A field label of the document's "Fields by category" table.
    Field(&'static str),
    /// A field of that label narrowed further, by a rule written next to it, to these columns.
    Only(&'static str, &'static [&'static str]),
}

impl Guard {
    fn label(self) -> &'static str {
        match self {
            Guard::Field(l) | Guard::Only(l, _) => l,
        }
    }
}

/// One guarded field: its GraphQL name, the selection under it, its guard.
struct Probe {
    field: &'static str,
    selection: &'static str,
    guard: Guard,
}

const fn probe(field: &'static str, selection: &'static str, guard: Guard) -> Probe {
    Probe { field, selection, guard }
}

const FINANCIAL: Guard = Guard::Field("declared situation of an equal-opportunity application");
const BILLING: Guard = Guard::Field("payments");
const ENROLLMENT_SELECTION: &str = " { id status createdAt completedAt session { id } progress { completedLessons totalLessons percent } completedLessonIds attendance { liveClassId talkSeconds } joinUrl }";
/// Marks the selection of a nested `User` (the applicant).
const NESTED_USER: &str = "@user";

/// `User`: every field but the id ("Where it is enforced": every personal field is guarded).
const USER: &[Probe] = &[
    probe("civility", "", Guard::Field("civility")),
    probe("firstName", "", Guard::Field("first name")),
    probe("lastName", "", Guard::Field("last name")),
    probe("email", "", Guard::Field("e-mail")),
    probe("phone", "", Guard::Field("phone")),
    probe(
        "postalAddress",
        " { line1 line2 postalCode city country }",
        Guard::Field("postal address"),
    ),
    probe("birthDate", "", Guard::Field("birth date")),
    probe("isMinor", "", Guard::Field("minor status")),
    probe("locale", "", Guard::Field("locale")),
    probe("status", "", Guard::Field("account status")),
    probe("roles", "", Guard::Field("roles")),
    probe("pendingRoles", "", Guard::Field("pending roles")),
    probe("acceptedPolicyVersion", "", Guard::Field("accepted privacy-policy version")),
    probe("acceptedPolicyAt", "", Guard::Field("accepted privacy-policy version")),
    probe("mustAcceptPolicy", "", Guard::Field("accepted privacy-policy version")),
    probe(
        "consents",
        " { purpose granted recordedAt expiresAt source policyVersion }",
        Guard::Field("current consents"),
    ),
    probe("wards", " { id }", Guard::Field("wards")),
    probe("enrollments", ENROLLMENT_SELECTION, Guard::Field("enrollments")),
    probe(
        "accessLog",
        "(first: 1) { edges { node { id at action category purpose } } }",
        Guard::Field("audit entries whose subject is the person"),
    ),
    probe("dataSubjectRequests", " { id status }", REQUEST_STATUS),
    probe(
        "newsletterSubscriptions",
        " { id email topics status consentedAt source policyVersion }",
        Guard::Field("current consents"),
    ),
];

const REQUEST_STATUS: Guard = Guard::Field("status");
const REQUEST_DETAILS: Guard = Guard::Field("details");

/// `DataSubjectRequest`: "`status` fields to the person, their guardian, support and the
/// privacy officer, `details` fields to the person, their guardian and the privacy officer".
const REQUEST: &[Probe] = &[
    probe("status", "", REQUEST_STATUS),
    probe("subject", " { id }", REQUEST_STATUS),
    probe("receivedAt", "", REQUEST_STATUS),
    probe("dueAt", "", REQUEST_STATUS),
    probe("extendedUntil", "", REQUEST_STATUS),
    probe("overdue", "", REQUEST_STATUS),
    probe("completedAt", "", REQUEST_STATUS),
    probe("kind", "", REQUEST_DETAILS),
    probe("channel", "", REQUEST_DETAILS),
    probe("details", "", REQUEST_DETAILS),
    probe("purposes", "", REQUEST_DETAILS),
    probe("identityCheck", "", REQUEST_DETAILS),
    probe("requestedBy", " { id }", REQUEST_DETAILS),
    probe("handledBy", " { id }", REQUEST_DETAILS),
    probe("extensionReason", "", REQUEST_DETAILS),
    probe("outcome", "", REQUEST_DETAILS),
    probe("refusalReason", "", REQUEST_DETAILS),
    probe(
        "steps",
        " { name position status attempts lastError nextAttemptAt finishedAt }",
        REQUEST_DETAILS,
    ),
    probe("failedSteps", " { name attempts lastError }", REQUEST_DETAILS),
    probe("export", " { id createdAt expiresAt sizeBytes }", REQUEST_DETAILS),
    probe(
        "postMortemDirective",
        " { instructions outcome trustedPersonName trustedPersonContact recordedAt }",
        REQUEST_DETAILS,
    ),
    probe(
        "erasureReport",
        " { startedAt finishedAt ordersCancelled documentsDeleted consentsWithdrawn suppressed tables { table outcome rows releasedRows referencesCleared referencesKept legalBasis keptUntil } scan { passed valueKinds sharedValueKinds tablesScanned columnsScanned hits { table column rows keptRows organisationRecord } } }",
        REQUEST_DETAILS,
    ),
];

/// `Order`: "`Order.status` and `holdExpiresAt` are `order_status`; its lines, amounts, payment,
/// billing name and billing address …, invoices and refunds are `billing`"; "`clientSecret` is
/// for the buyer alone".
const ORDER: &[Probe] = &[
    probe("status", "", Guard::Field("order status")),
    probe("holdExpiresAt", "", Guard::Field("order status")),
    probe(
        "lines",
        " { description session { id } unitPrice { amountCents } discount { amountCents } taxRateBp tax { amountCents } total { amountCents } enrollmentId }",
        BILLING,
    ),
    probe("subtotal", " { amountCents currency }", BILLING),
    probe("discount", " { amountCents currency }", BILLING),
    probe("tax", " { amountCents currency }", BILLING),
    probe("total", " { amountCents currency }", BILLING),
    probe("refunded", " { amountCents currency }", BILLING),
    probe("billingName", "", BILLING),
    probe("billingAddress", " { line1 city country }", BILLING),
    probe("payment", " { paymentIntentId paidAt lastError }", BILLING),
    probe("clientSecret", "", Guard::Only("payments", &["self"])),
    probe(
        "invoices",
        " { id number kind issuedAt total { amountCents } tax { amountCents } buyerName billingAddress { city } lines { description totalCents } pdfUrl }",
        Guard::Field("invoices"),
    ),
    probe(
        "refunds",
        " { id amountCents status reason createdAt completedAt }",
        Guard::Field("refunds"),
    ),
];

/// `Application`: "Status, course, situation and decision are `financial_situation`; documents
/// are `supporting_documents`; the reviewer's note is `reviewer_notes`" and "every field but the
/// id then answers by the matrix".
const APPLICATION: &[Probe] = &[
    probe("status", "", FINANCIAL),
    probe("applicant", NESTED_USER, FINANCIAL),
    probe("course", " { id }", FINANCIAL),
    probe("session", " { id }", FINANCIAL),
    probe("situation", " { incomeBracket scholarshipHolder text }", FINANCIAL),
    probe(
        "documents",
        " { id kind originalName mimeType sizeBytes sha256 createdAt downloadUrl }",
        Guard::Field("documents of an application"),
    ),
    probe("decision", " { status discountPercent reason decidedAt }", FINANCIAL),
    probe("reviewerNote", "", Guard::Field("reviewer's note")),
    probe("submittedAt", "", FINANCIAL),
    probe("createdAt", "", FINANCIAL),
    probe("lastContactAt", "", FINANCIAL),
];

/// `RosterEntry`: the learner's learning record, reached through `Session.roster`.
const ROSTER: &[Probe] = &[
    probe("status", "", Guard::Field("enrollments")),
    probe("progress", " { percent }", Guard::Field("progress")),
    probe(
        "attendance",
        " { liveClassId talkSeconds recordingConsent }",
        Guard::Field("attendance"),
    ),
    probe("recordingConsent", "", Guard::Field("attendance")),
];

/// Tenant-wide: the whole audit log.
const TENANT: &[Probe] = &[probe(
    "auditLog",
    "(first: 1) { edges { node { id action } } }",
    Guard::Field("the whole audit log"),
)];

/// The object types the walk checks, with their personal fields.
const WALKED: &[(&str, &[Probe])] = &[
    ("User", USER),
    ("Order", ORDER),
    ("Application", APPLICATION),
    ("RosterEntry", ROSTER),
    ("DataSubjectRequest", REQUEST),
    ("Query", TENANT),
];

fn selection(probes: &[Probe]) -> String {
    probes
        .iter()
        .map(|p| {
            let sel = if p.selection == NESTED_USER {
                format!(" {{ id {} }}", selection(USER))
            } else {
                p.selection.to_owned()
            };
            format!("{}{sel}", p.field)
        })
        .collect::<Vec<_>>()
        .join(" ")
}

// ---------------------------------------------------------------------------------------------
// The facts the document's rules depend on, read from the database with SQL.
// ---------------------------------------------------------------------------------------------

struct Person {
    id: Uuid,
    email: String,
    status: String,
    roles: Vec<String>,
    birth_date: Option<NaiveDate>,
    marketing_consent: bool,
    phone_consent: bool,
}

impl Person {
    fn name(&self) -> &str {
        self.email.split('@').next().unwrap_or_default()
    }
}

struct Application {
    id: Uuid,
    applicant: Uuid,
    status: String,
}

/// Applications a reviewer looks at: submitted ones, decided or not. Drafts "exist only for
/// their applicant"; a withdrawn application leaves the reviewers' queue (issue 9, defect 12).
const REVIEWABLE: [&str; 4] = ["submitted", "under_review", "approved", "rejected"];

/// The columns that are relations to the subject rather than roles of the viewer.
const PERSONAL_COLUMNS: [&str; 2] = ["self", "guardian"];

struct World {
    people: HashMap<Uuid, Person>,
    /// (guardian, ward) links.
    links: Vec<(Uuid, Uuid)>,
    /// (learner, session) of every enrollment not cancelled.
    enrollments: Vec<(Uuid, Uuid)>,
    /// Instructor of each session.
    instructors: HashMap<Uuid, Option<Uuid>>,
    /// (order, buyer).
    orders: Vec<(Uuid, Option<Uuid>)>,
    /// (invoice, its buyer as issued).
    invoices: Vec<(Uuid, Option<Uuid>)>,
    applications: Vec<Application>,
    /// (document, application).
    documents: Vec<(Uuid, Uuid)>,
    /// (data-subject request, its subject).
    requests: Vec<(Uuid, Uuid)>,
    today: NaiveDate,
}

fn get<T: sea_orm::TryGetable>(row: &QueryResult, column: &str) -> T {
    row.try_get("", column).unwrap_or_else(|e| panic!("column {column}: {e}"))
}

impl World {
    async fn load(app: &TestApp) -> World {
        let (conn, _) =
            pupitre::db::connect(&app.settings().database_url, 1).await.expect("connect");
        let backend = conn.get_database_backend();
        let rows = |sql: &'static str| {
            let conn = &conn;
            async move {
                conn.query_all_raw(Statement::from_string(backend, sql.to_owned()))
                    .await
                    .unwrap_or_else(|e| panic!("{sql}: {e}"))
            }
        };
        let mut roles: HashMap<Uuid, Vec<String>> = HashMap::new();
        for r in rows("SELECT user_id, role FROM user_roles").await {
            roles.entry(get(&r, "user_id")).or_default().push(get(&r, "role"));
        }
        // The consent ledger: the latest record per person is their current consent.
        let mut consent: HashMap<(Uuid, String), (DateTime<Utc>, Uuid, bool)> = HashMap::new();
        for r in rows("SELECT id, subject_user_id, purpose, granted, recorded_at FROM consent_records WHERE purpose IN ('marketing_email', 'marketing_phone') AND subject_user_id IS NOT NULL").await {
            let entry = (get::<DateTime<Utc>>(&r, "recorded_at"), get::<Uuid>(&r, "id"), get::<bool>(&r, "granted"));
            let key = (get::<Uuid>(&r, "subject_user_id"), get::<String>(&r, "purpose"));
            if consent.get(&key).is_none_or(|c| (c.0, c.1) < (entry.0, entry.1)) {
                consent.insert(key, entry);
            }
        }
        let given =
            |id: Uuid, purpose: &str| consent.get(&(id, purpose.to_owned())).is_some_and(|c| c.2);
        let people = rows("SELECT id, email, status, birth_date FROM users")
            .await
            .iter()
            .map(|r| {
                let id: Uuid = get(r, "id");
                let person = Person {
                    id,
                    email: get::<Option<String>>(r, "email").unwrap_or_default(),
                    status: get(r, "status"),
                    roles: roles.remove(&id).unwrap_or_default(),
                    birth_date: get(r, "birth_date"),
                    marketing_consent: given(id, "marketing_email"),
                    phone_consent: given(id, "marketing_phone"),
                };
                (id, person)
            })
            .collect();
        let pairs = |rows: Vec<QueryResult>, a: &str, b: &str| {
            rows.iter().map(|r| (get::<Uuid>(r, a), get::<Uuid>(r, b))).collect::<Vec<_>>()
        };
        let links = pairs(
            rows("SELECT guardian_id, minor_id FROM guardian_links").await,
            "guardian_id",
            "minor_id",
        );
        let enrollments = pairs(
            rows("SELECT learner_id, session_id FROM enrollments WHERE status <> 'cancelled'")
                .await,
            "learner_id",
            "session_id",
        );
        let instructors = rows("SELECT id, instructor_id FROM sessions")
            .await
            .iter()
            .map(|r| (get(r, "id"), get(r, "instructor_id")))
            .collect();
        let orders = rows("SELECT id, buyer_id FROM orders")
            .await
            .iter()
            .map(|r| (get(r, "id"), get(r, "buyer_id")))
            .collect();
        let invoices = rows("SELECT id, buyer_id FROM invoices")
            .await
            .iter()
            .map(|r| (get(r, "id"), get(r, "buyer_id")))
            .collect();
        let applications = rows("SELECT id, applicant_id, status FROM eo_applications")
            .await
            .iter()
            .map(|r| Application {
                id: get(r, "id"),
                applicant: get(r, "applicant_id"),
                status: get(r, "status"),
            })
            .collect();
        let documents = pairs(
            rows("SELECT id, application_id FROM eo_documents").await,
            "id",
            "application_id",
        );
        let requests = pairs(
            rows("SELECT id, subject_id FROM data_subject_requests").await,
            "id",
            "subject_id",
        );
        World {
            people,
            links,
            enrollments,
            instructors,
            orders,
            invoices,
            applications,
            documents,
            requests,
            today: app.clock.now().date_naive(),
        }
    }

    fn person(&self, email: &str) -> &Person {
        self.people
            .values()
            .find(|p| p.email == email)
            .unwrap_or_else(|| panic!("no account {email}"))
    }

    /// "Guardianship lasts while the ward is a minor".
    fn is_ward_of(&self, guardian: Uuid, ward: Uuid) -> bool {
        let minor = self.people[&ward]
            .birth_date
            .and_then(|b| b.checked_add_months(Months::new(18 * 12)))
            .is_some_and(|adult| adult > self.today);
        minor && self.links.contains(&(guardian, ward))
    }

    /// "instructor (of a session that person is enrolled in)".
    fn teaches(&self, instructor: Uuid, learner: Uuid) -> bool {
        self.enrollments.iter().any(|(l, s)| {
            *l == learner && self.instructors.get(s).copied().flatten() == Some(instructor)
        })
    }

    /// "staff accounts: only accounts that hold a staff role": a role that names a column of
    /// the table other than the personal relations.
    fn is_staff_account(&self, doc: &AccessDoc, person: &Person) -> bool {
        person
            .roles
            .iter()
            .any(|r| doc.columns.contains(r) && !PERSONAL_COLUMNS.contains(&r.as_str()))
    }

    fn has_reviewable_application(&self, person: Uuid) -> bool {
        self.applications
            .iter()
            .any(|a| a.applicant == person && REVIEWABLE.contains(&a.status.as_str()))
    }
}

/// Whose data, and in which setting: the person, whether the reviewer column applies, and
/// which columns may be considered at all (a draft exists only for its applicant).
struct Scope<'a> {
    subject: &'a Person,
    reviewer_applies: bool,
    only_columns: Option<&'static [&'static str]>,
}

#[derive(Clone)]
struct Viewer {
    name: String,
    token: Option<String>,
    id: Option<Uuid>,
}

/// The document's answer: may `viewer` read the field guarded by `guard` in `scope`?
fn documented_read(
    doc: &AccessDoc,
    world: &World,
    viewer: &Viewer,
    scope: &Scope<'_>,
    guard: Guard,
) -> bool {
    let Some(me) = viewer.id else { return false };
    let subject = scope.subject;
    let roles = &world.people[&me].roles;
    let mut columns: Vec<&str> = Vec::new();
    if me == subject.id {
        columns.push("self");
    }
    if world.is_ward_of(me, subject.id) {
        columns.push("guardian");
    }
    if roles.iter().any(|r| r == "instructor") && world.teaches(me, subject.id) {
        columns.push("instructor");
    }
    if roles.iter().any(|r| r == "reviewer") && scope.reviewer_applies {
        columns.push("reviewer");
    }
    for role in roles {
        if doc.columns.contains(role)
            && !["self", "guardian", "instructor", "reviewer"].contains(&role.as_str())
        {
            columns.push(role);
        }
    }
    let label = guard.label();
    let category = doc.category_of(label);
    columns.into_iter().any(|col| {
        if scope.only_columns.is_some_and(|only| !only.contains(&col)) {
            return false;
        }
        if let Guard::Only(_, only) = guard
            && !only.contains(&col)
        {
            return false;
        }
        // "A restricted person's data is closed to every staff column except privacy_officer;
        // an erased account is closed to all but the privacy officer."
        let open = match subject.status.as_str() {
            "restricted" => PERSONAL_COLUMNS.contains(&col) || col == "privacy_officer",
            "erased" => col == "privacy_officer",
            _ => true,
        };
        let cell = doc.cell(category, col);
        open && cell.read
            && (cell.fields.is_empty() || cell.fields.iter().any(|f| f == label))
            && cell.conditions.iter().all(|c| match c.as_str() {
                // "through the field's channel: an e-mail address (and a subscriber's topics)
                // needs consent to marketing e-mail, a phone number consent to marketing by
                // phone, any other field either of the two".
                "consent" => match label {
                    "phone" | "prospect phone" => subject.phone_consent,
                    "e-mail" | "subscriber e-mail" | "subscriber topics" | "prospect e-mail" => {
                        subject.marketing_consent
                    }
                    _ => subject.marketing_consent || subject.phone_consent,
                },
                "staff accounts" => world.is_staff_account(doc, subject),
                // Conditions on writing and deciding; reading is not narrowed by them.
                "until decision" | "decides" => true,
                other => panic!("docs/ACCESS.md has a qualifier this test does not know: {other:?} ({category} × {col}); teach it"),
            })
    })
}

/// Tenant-wide data (no single subject): only the viewer's role columns count.
fn documented_tenant_read(doc: &AccessDoc, world: &World, viewer: &Viewer, guard: Guard) -> bool {
    let Some(me) = viewer.id else { return false };
    let category = doc.category_of(guard.label());
    world.people[&me].roles.iter().filter(|r| doc.columns.contains(r) && !PERSONAL_COLUMNS.contains(&r.as_str())).any(|r| {
        let cell = doc.cell(category, r);
        assert!(cell.quals.is_empty(), "a qualified cell on tenant-wide data ({category} × {r}): teach this test what it means");
        cell.read
    })
}

// ---------------------------------------------------------------------------------------------
// What the API answered.
// ---------------------------------------------------------------------------------------------

#[derive(Debug)]
enum Got {
    /// No error at the field; the value may be null (nothing stored).
    Read { null: bool },
    /// An error at the field itself, with its code.
    Denied(String),
    /// The node holding the field was not reached (null parent, with the code found there).
    Unreached(String),
}

impl std::fmt::Display for Got {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Got::Read { null: false } => f.write_str("a value"),
            Got::Read { null: true } => f.write_str("null without an error"),
            Got::Denied(code) => write!(f, "{code}"),
            Got::Unreached(code) => write!(f, "node not reached ({code})"),
        }
    }
}

struct Answer {
    body: Value,
    errors: HashMap<Vec<String>, String>,
}

impl Answer {
    fn new(body: Value) -> Answer {
        let mut errors = HashMap::new();
        for e in body["errors"].as_array().cloned().unwrap_or_default() {
            let path: Vec<String> = match e["path"].as_array() {
                Some(p) => p
                    .iter()
                    .map(|s| s.as_str().map_or_else(|| s.to_string(), str::to_owned))
                    .collect(),
                None => panic!("an error without a path (the whole query was refused): {body}"),
            };
            let code = e["extensions"]["code"].as_str().unwrap_or("no code").to_owned();
            errors.entry(path).or_insert(code);
        }
        Answer { body, errors }
    }

    fn got(&self, path: &[String]) -> Got {
        let mut v = &self.body["data"];
        for (i, seg) in path.iter().enumerate() {
            if i + 1 == path.len() {
                return match self.errors.get(path) {
                    Some(code) => Got::Denied(code.clone()),
                    None => Got::Read { null: v.get(seg).is_none_or(Value::is_null) },
                };
            }
            v = match v {
                Value::Array(a) => {
                    seg.parse::<usize>().ok().and_then(|i| a.get(i)).unwrap_or(&Value::Null)
                }
                other => other.get(seg).unwrap_or(&Value::Null),
            };
            if v.is_null() {
                return Got::Unreached(
                    self.errors.get(&path[..=i]).cloned().unwrap_or_else(|| "null".into()),
                );
            }
        }
        Got::Unreached("empty path".into())
    }
}

// ---------------------------------------------------------------------------------------------
// The walk.
// ---------------------------------------------------------------------------------------------

#[derive(Default)]
struct Report {
    checked: usize,
    mismatches: Vec<[String; 6]>,
    /// Per walked (type, field): seen read, seen refused with FORBIDDEN on a reached node.
    proof: BTreeMap<(&'static str, &'static str), (bool, bool)>,
    /// Per (subject, field): whether each viewer allowed to read it got null.
    nullness: BTreeMap<String, Vec<(String, bool)>>,
}

impl Report {
    #[expect(clippy::too_many_arguments, reason = "one row of the report, named at the call")]
    fn judge(
        &mut self,
        phase: &str,
        viewer: &Viewer,
        subject: &str,
        what: String,
        ty: &'static str,
        field: &'static str,
        expected: bool,
        got: Got,
    ) {
        self.checked += 1;
        let ok = match (&got, expected) {
            (Got::Read { null }, true) => {
                self.nullness
                    .entry(format!("{subject} {what}"))
                    .or_default()
                    .push((viewer.name.clone(), *null));
                true
            }
            // Refused: FORBIDDEN, or UNAUTHENTICATED for an anonymous visitor.
            (Got::Denied(code), false) => {
                code == "FORBIDDEN" || (viewer.token.is_none() && code == "UNAUTHENTICATED")
            }
            (Got::Unreached(_), false) => true,
            _ => false,
        };
        let proof = self.proof.entry((ty, field)).or_default();
        match &got {
            Got::Read { .. } => proof.0 = true,
            Got::Denied(code) if code == "FORBIDDEN" => proof.1 = true,
            _ => {}
        }
        if !ok {
            let says = if expected { "read" } else { "no read" };
            self.mismatches.push([
                phase.into(),
                viewer.name.clone(),
                subject.into(),
                what,
                says.into(),
                got.to_string(),
            ]);
        }
    }

    fn download(
        &mut self,
        phase: &str,
        viewer: &Viewer,
        subject: &str,
        url: &str,
        expected: bool,
        status: u16,
    ) {
        self.checked += 1;
        let ok = match status {
            200 => expected,
            404 => !expected,
            401 => !expected && viewer.token.is_none(),
            _ => false,
        };
        if !ok {
            let says = if expected { "200" } else { "404" };
            self.mismatches.push([
                phase.into(),
                viewer.name.clone(),
                subject.into(),
                format!("GET {url}"),
                says.into(),
                status.to_string(),
            ]);
        }
    }
}

const SUBJECTS: [&str; 5] =
    [demo::LEARNER, demo::LEARNER2, demo::MINOR, demo::GUARDIAN, demo::SUPPORT];

async fn walk(
    app: &TestApp,
    doc: &AccessDoc,
    viewers: &[Viewer],
    phase: &str,
    report: &mut Report,
) {
    let world = World::load(app).await;
    let user_sel = selection(USER);
    let order_sel = selection(ORDER);
    let app_sel = selection(APPLICATION);
    let request_sel = selection(REQUEST);
    let subjects: Vec<&Person> = SUBJECTS.iter().map(|e| world.person(e)).collect();
    for viewer in viewers {
        for subject in &subjects {
            let orders: Vec<Uuid> = world
                .orders
                .iter()
                .filter(|(_, b)| *b == Some(subject.id))
                .map(|(o, _)| *o)
                .collect();
            let apps: Vec<&Application> =
                world.applications.iter().filter(|a| a.applicant == subject.id).collect();
            let mut q = format!("{{ u: user(id: \"{}\") {{ id {user_sel} }}", subject.id);
            for (i, o) in orders.iter().enumerate() {
                q.push_str(&format!(" o{i}: order(id: \"{o}\") {{ id {order_sel} }}"));
            }
            for (i, a) in apps.iter().enumerate() {
                q.push_str(&format!(" a{i}: application(id: \"{}\") {{ id {app_sel} }}", a.id));
            }
            let requests: Vec<Uuid> =
                world.requests.iter().filter(|(_, s)| *s == subject.id).map(|(r, _)| *r).collect();
            for (i, r) in requests.iter().enumerate() {
                q.push_str(&format!(
                    " d{i}: dataSubjectRequest(id: \"{r}\") {{ id {request_sel} }}"
                ));
            }
            q.push('}');
            let r = app.gql(viewer.token.as_deref(), &q, Value::Null).await;
            assert_eq!(r.status, 200, "{}", r.body);
            let answer = Answer::new(r.body);
            let person_scope = Scope {
                subject,
                reviewer_applies: world.has_reviewable_application(subject.id),
                only_columns: None,
            };
            let who = subject.name();
            let judge_user = |report: &mut Report, prefix: &[&str]| {
                for p in USER {
                    let path: Vec<String> = prefix
                        .iter()
                        .map(|s| (*s).to_owned())
                        .chain([p.field.to_owned()])
                        .collect();
                    let expected = documented_read(doc, &world, viewer, &person_scope, p.guard);
                    report.judge(
                        phase,
                        viewer,
                        who,
                        path.join("."),
                        "User",
                        p.field,
                        expected,
                        answer.got(&path),
                    );
                }
            };
            judge_user(report, &["u"]);
            for (i, o) in orders.iter().enumerate() {
                let alias = format!("o{i}");
                for p in ORDER {
                    let expected = documented_read(doc, &world, viewer, &person_scope, p.guard);
                    let got = answer.got(&[alias.clone(), p.field.to_owned()]);
                    report.judge(
                        phase,
                        viewer,
                        who,
                        format!("order {o}.{}", p.field),
                        "Order",
                        p.field,
                        expected,
                        got,
                    );
                }
            }
            // A data-subject request's subject is the person it is about.
            for (i, r) in requests.iter().enumerate() {
                let alias = format!("d{i}");
                for p in REQUEST {
                    let expected = documented_read(doc, &world, viewer, &person_scope, p.guard);
                    report.judge(
                        phase,
                        viewer,
                        who,
                        format!("request {r}.{}", p.field),
                        "DataSubjectRequest",
                        p.field,
                        expected,
                        answer.got(&[alias.clone(), p.field.to_owned()]),
                    );
                }
            }
            // An invoice's subject is its buyer as issued (the invoice keeps its own).
            for (invoice, _) in
                world.invoices.iter().filter(|(_, buyer)| *buyer == Some(subject.id))
            {
                let url = format!("/invoices/{invoice}.pdf");
                let expected =
                    documented_read(doc, &world, viewer, &person_scope, Guard::Field("invoices"));
                report.download(
                    phase,
                    viewer,
                    who,
                    &url,
                    expected,
                    get_status(app, viewer, &url).await,
                );
            }
            for (i, a) in apps.iter().enumerate() {
                let alias = format!("a{i}");
                let draft = a.status == "draft";
                let scope = Scope {
                    subject,
                    reviewer_applies: REVIEWABLE.contains(&a.status.as_str()),
                    only_columns: if draft { Some(&PERSONAL_COLUMNS) } else { None },
                };
                for p in APPLICATION {
                    let expected = documented_read(doc, &world, viewer, &scope, p.guard);
                    let got = answer.got(&[alias.clone(), p.field.to_owned()]);
                    let applicant_read =
                        p.field == "applicant" && matches!(got, Got::Read { null: false });
                    report.judge(
                        phase,
                        viewer,
                        who,
                        format!("application {} ({}).{}", a.id, a.status, p.field),
                        "Application",
                        p.field,
                        expected,
                        got,
                    );
                    if applicant_read {
                        judge_user(report, &[alias.as_str(), "applicant"]);
                    }
                }
                for (document, _) in
                    world.documents.iter().filter(|(_, application)| *application == a.id)
                {
                    let url = format!("/documents/{document}");
                    let expected = documented_read(
                        doc,
                        &world,
                        viewer,
                        &scope,
                        Guard::Field("documents of an application"),
                    );
                    report.download(
                        phase,
                        viewer,
                        who,
                        &url,
                        expected,
                        get_status(app, viewer, &url).await,
                    );
                }
            }
        }
        walk_tenant_and_rosters(app, doc, &world, viewer, &subjects, phase, report).await;
    }
}

/// The audit log, and the rosters of the sessions the subjects are enrolled in. "A session's
/// roster is readable by its instructor, support and the privacy officer (each learner's fields
/// still go through the table)."
async fn walk_tenant_and_rosters(
    app: &TestApp,
    doc: &AccessDoc,
    world: &World,
    viewer: &Viewer,
    subjects: &[&Person],
    phase: &str,
    report: &mut Report,
) {
    let ids: HashSet<Uuid> = subjects.iter().map(|s| s.id).collect();
    let sessions: BTreeSet<Uuid> =
        world.enrollments.iter().filter(|(l, _)| ids.contains(l)).map(|(_, s)| *s).collect();
    let sessions: Vec<Uuid> = sessions.into_iter().collect();
    let mut q = format!("{{ {}", selection(TENANT));
    for (i, s) in sessions.iter().enumerate() {
        q.push_str(&format!(
            " r{i}: session(id: \"{s}\") {{ id roster {{ learner {{ id }} enrollmentId {} }} }}",
            selection(ROSTER)
        ));
    }
    q.push('}');
    let r = app.gql(viewer.token.as_deref(), &q, Value::Null).await;
    let answer = Answer::new(r.body);
    for p in TENANT {
        let expected = documented_tenant_read(doc, world, viewer, p.guard);
        report.judge(
            phase,
            viewer,
            "(tenant)",
            p.field.to_owned(),
            "Query",
            p.field,
            expected,
            answer.got(&[p.field.to_owned()]),
        );
    }
    let roles = viewer.id.map(|me| world.people[&me].roles.clone()).unwrap_or_default();
    for (i, session) in sessions.iter().enumerate() {
        let alias = format!("r{i}");
        let teaches = viewer.id.is_some()
            && world.instructors.get(session).copied().flatten() == viewer.id
            && roles.iter().any(|r| r == "instructor");
        let roster_open = teaches || roles.iter().any(|r| r == "support" || r == "privacy_officer");
        let entries = answer.body["data"][&alias]["roster"].as_array().cloned().unwrap_or_default();
        for subject in subjects.iter().filter(|s| world.enrollments.contains(&(s.id, *session))) {
            let scope = Scope {
                subject,
                reviewer_applies: world.has_reviewable_application(subject.id),
                only_columns: None,
            };
            let index =
                entries.iter().position(|e| e["learner"]["id"] == subject.id.to_string().as_str());
            for p in ROSTER {
                let expected = roster_open && documented_read(doc, world, viewer, &scope, p.guard);
                let got = match index {
                    Some(idx) => answer.got(&[
                        alias.clone(),
                        "roster".into(),
                        idx.to_string(),
                        p.field.to_owned(),
                    ]),
                    None => match answer.got(&[alias.clone(), "roster".into()]) {
                        Got::Denied(code) | Got::Unreached(code) => Got::Unreached(code),
                        Got::Read { .. } => Got::Unreached("not on the roster".into()),
                    },
                };
                report.judge(
                    phase,
                    viewer,
                    subject.name(),
                    format!("session {session} roster.{}", p.field),
                    "RosterEntry",
                    p.field,
                    expected,
                    got,
                );
            }
        }
    }
}

async fn get_status(app: &TestApp, viewer: &Viewer, url: &str) -> u16 {
    let mut req = app.client.get(app.url(url));
    if let Some(t) = &viewer.token {
        req = req.bearer_auth(t);
    }
    req.send().await.expect("download request").status().as_u16()
}

async fn sign_in(app: &TestApp, name: &str, email: &str) -> Viewer {
    let (token, _, id) = app.login(email).await;
    Viewer { name: name.into(), token: Some(token), id: Some(id.parse().expect("a user id")) }
}

/// Every demo role, the minor, another learner, the virtual-classroom machine account and an
/// anonymous visitor.
async fn demo_viewers(app: &TestApp) -> Vec<Viewer> {
    let mut viewers = Vec::new();
    for (name, email) in [
        ("learner (Léa)", demo::LEARNER),
        ("other learner (Hugo)", demo::LEARNER2),
        ("guardian (Claire)", demo::GUARDIAN),
        ("minor (Tom)", demo::MINOR),
        ("instructor (Inès)", demo::INSTRUCTOR),
        ("support", demo::SUPPORT),
        ("billing", demo::BILLING),
        ("reviewer", demo::REVIEWER),
        ("marketing", demo::MARKETING),
        ("privacy officer", demo::DPO),
        ("admin", demo::ADMIN),
        ("integration", demo::INTEGRATION),
    ] {
        viewers.push(sign_in(app, name, email).await);
    }
    viewers.push(Viewer { name: "anonymous".into(), token: None, id: None });
    viewers
}

fn finish(report: &Report, backend: &str) {
    let mut problems = Vec::new();
    for ((ty, field), (read, forbidden)) in &report.proof {
        if !read || !forbidden {
            problems.push(format!(
                "{ty}.{field} was {} (a guarded field is read by someone and refused with FORBIDDEN to someone who reaches it)",
                if *read { "never refused with FORBIDDEN" } else { "never read" }
            ));
        }
    }
    for (key, seen) in &report.nullness {
        if seen.iter().any(|(_, null)| *null) && seen.iter().any(|(_, null)| !null) {
            let nulls: Vec<&str> =
                seen.iter().filter(|(_, n)| *n).map(|(v, _)| v.as_str()).collect();
            problems.push(format!(
                "{key}: null for {nulls:?} but a value for other viewers the document allows"
            ));
        }
    }
    let mut table = String::new();
    if !report.mismatches.is_empty() {
        let head = ["phase", "viewer", "subject", "field", "document", "API"];
        let widths: Vec<usize> = (0..6)
            .map(|i| {
                report
                    .mismatches
                    .iter()
                    .map(|m| m[i].chars().count())
                    .chain([head[i].len()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |cells: [&str; 6]| {
            let padded: Vec<String> =
                cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
            format!("| {} |\n", padded.join(" | "))
        };
        table.push_str(&line(head));
        for m in &report.mismatches {
            table.push_str(&line([&m[0], &m[1], &m[2], &m[3], &m[4], &m[5]]));
        }
    }
    eprintln!(
        "[{backend}] {} cells checked, {} mismatches",
        report.checked,
        report.mismatches.len()
    );
    assert!(
        report.mismatches.is_empty() && problems.is_empty(),
        "[{backend}] the API and docs/ACCESS.md disagree on {} of {} cells:\n{table}\n{}",
        report.mismatches.len(),
        report.checked,
        problems.join("\n")
    );
}

async fn every_viewer_reads_exactly_what_the_document_grants_about_every_subject(app: TestApp) {
    let doc = AccessDoc::load();
    // Arrange: the minor buys (his guardian's demo order and its invoice become his), so the
    // guardian column meets billing data too.
    for table in ["orders", "invoices"] {
        app.execute(&format!(
            "UPDATE {table} SET buyer_id = (SELECT id FROM users WHERE email = 'tom.petit@demo.pupitre.test') \
             WHERE buyer_id = (SELECT id FROM users WHERE email = 'claire.petit@demo.pupitre.test')"
        ))
        .await;
    }
    // Arrange: data-subject requests, made by Léa (two), by Claire for Tom, and registered by
    // the privacy officer for Hugo's letter.
    arrange_requests(&app).await;
    let mut viewers = demo_viewers(&app).await;
    let mut report = Report::default();

    // Act and assert, as seeded.
    walk(&app, &doc, &viewers, "seeded", &mut report).await;

    // Arrange: Inès teaches and is marketing too (two roles); Tom is restricted; Hugo erased
    // (his session, opened before, stays open: an erased account reads nothing, not even itself).
    // The second role goes the documented way: the privacy officer grants it, Inès accepts it.
    let dpo = app.token(demo::DPO).await;
    let ines_id = app.user_id(demo::INSTRUCTOR).await;
    app.gql(Some(&dpo), "mutation($id: ID!) { setUserRole(input: {userId: $id, role: MARKETING, granted: true}) { user { id } } }", serde_json::json!({ "id": ines_id }))
        .await
        .assert_ok();
    let ines_token = app.token(demo::INSTRUCTOR).await;
    app.gql(
        Some(&ines_token),
        "mutation { acceptRole(input: {role: MARKETING}) { user { id } } }",
        serde_json::json!({}),
    )
    .await
    .assert_ok();
    app.execute(
        "UPDATE users SET status = 'restricted' WHERE email = 'tom.petit@demo.pupitre.test'",
    )
    .await;
    app.execute(
        "UPDATE users SET status = 'erased' WHERE email = 'hugo.bernard@demo.pupitre.test'",
    )
    .await;
    let ines =
        viewers.iter_mut().find(|v| v.name.starts_with("instructor")).expect("the instructor");
    *ines = sign_in(&app, "instructor + marketing (Inès)", demo::INSTRUCTOR).await;

    walk(&app, &doc, &viewers, "restricted Tom, erased Hugo, two-role Inès", &mut report).await;
    finish(&report, app.backend);
}

async fn arrange_requests(app: &TestApp) {
    let make = "mutation($input: RequestDataSubjectRightInput!) { requestDataSubjectRight(input: $input) { request { id } } }";
    let tom = app.user_id(demo::MINOR).await;
    for (email, input) in [
        (demo::LEARNER, serde_json::json!({ "kind": "ACCESS", "details": "My whole file." })),
        (
            demo::LEARNER,
            serde_json::json!({ "kind": "POST_MORTEM_DIRECTIVE", "details": "Delete everything.",
                                "directive": { "outcome": "DELETE" } }),
        ),
        (demo::GUARDIAN, serde_json::json!({ "kind": "OBJECTION", "subjectId": tom })),
    ] {
        let token = app.token(email).await;
        let mut input = input;
        input["password"] = common::DEMO_PASSWORD.into();
        app.gql(Some(&token), make, serde_json::json!({ "input": input })).await.assert_ok();
    }
    let dpo = app.token(demo::DPO).await;
    let hugo = app.user_id(demo::LEARNER2).await;
    app.gql(
        Some(&dpo),
        "mutation($input: RegisterDataSubjectRequestInput!) { registerDataSubjectRequest(input: $input) { request { id } } }",
        serde_json::json!({ "input": { "subjectId": hugo, "kind": "CONSENT_WITHDRAWAL", "channel": "POST",
                                       "purposes": ["MARKETING_EMAIL"], "identityCheck": "Signed letter, identity card seen." } }),
    )
    .await
    .assert_ok();
}

on_both_databases!(every_viewer_reads_exactly_what_the_document_grants_about_every_subject);

// ---------------------------------------------------------------------------------------------
// The schema walk.
// ---------------------------------------------------------------------------------------------

/// How a field that the HTTP walk does not check is justified.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// No personal data: ids, catalogue, published contacts, page info, counts, amounts.
    Public,
    /// A link to a `User`, whose own fields are guarded one by one (and walked).
    Link,
    /// An entry point or a node's own bookkeeping: which nodes one reaches is a row rule of
    /// ACCESS.md (`user_rows`, `sees_all_orders`, applications by id); their fields are walked.
    Reach,
    /// Inside a type that is reached only through a walked field, a named rule or one's own
    /// mutation (checked below).
    Inner,
    /// What a mutation returns, already decided by that mutation's policy.
    Action,
    /// Decided by a named rule outside the table (`may_read_roster`, `may_watch_recording`, a
    /// visitor's own consents by the random id their browser keeps, the privacy officer's
    /// retention report by `policy::may_manage_retention`, the record of processing by
    /// `policy::may_read_processing_record`).
    Rule,
}

/// Types whose every field is of one kind.
const WHOLE_TYPES: &[(&str, Kind)] = &[
    ("Course", Kind::Public),
    ("CourseConnection", Kind::Public),
    ("CourseEdge", Kind::Public),
    ("Lesson", Kind::Public),
    ("Instructor", Kind::Public),
    ("Money", Kind::Public),
    ("PageInfo", Kind::Public),
    ("PrivacyPolicy", Kind::Public),
    ("TenantInfo", Kind::Public),
    ("PrivacyPolicyConnection", Kind::Public),
    ("PrivacyPolicyEdge", Kind::Public),
    ("UserConnection", Kind::Public),
    ("UserEdge", Kind::Public),
    ("OrderConnection", Kind::Public),
    ("OrderEdge", Kind::Public),
    ("ApplicationConnection", Kind::Public),
    ("ApplicationEdge", Kind::Public),
    ("DataSubjectRequestConnection", Kind::Public),
    ("DataSubjectRequestEdge", Kind::Public),
    ("DataSubjectRequestStep", Kind::Inner),
    ("PostMortemDirective", Kind::Inner),
    ("ErasureReport", Kind::Inner),
    ("ErasureReportTable", Kind::Inner),
    ("ErasureScan", Kind::Inner),
    ("ErasureScanHit", Kind::Inner),
    ("DataExport", Kind::Inner),
    ("DownloadLink", Kind::Inner),
    ("Enrollment", Kind::Inner),
    ("Progress", Kind::Inner),
    ("Attendance", Kind::Inner),
    ("Invoice", Kind::Inner),
    ("InvoiceLine", Kind::Inner),
    ("OrderLine", Kind::Inner),
    ("Refund", Kind::Inner),
    ("Payment", Kind::Inner),
    ("ConsentState", Kind::Inner),
    ("AuditEntry", Kind::Inner),
    ("AuditEntryConnection", Kind::Inner),
    ("AuditEntryEdge", Kind::Inner),
    ("SupportingDocument", Kind::Inner),
    // The retention report holds no personal data (rules, dates, counts) but is the privacy
    // officer's alone (`policy::may_manage_retention`): inner to its rule-guarded root.
    ("RetentionReport", Kind::Inner),
    // What is shown of the organisation's Stripe keys: admins' (`may_configure_payments`).
    ("PaymentAccount", Kind::Inner),
    // The need-to-know table with the tenant's removed cells: the privacy officer's
    // (`may_narrow_access`); it describes access, not anyone.
    ("AccessMatrix", Kind::Inner),
    // The organisation's settings (the DPO contact is published anyway): admins and the privacy
    // officer (`domain::tenant_settings`).
    ("TenantSettings", Kind::Inner),
    ("AccessRow", Kind::Inner),
    ("AccessCell", Kind::Inner),
    ("AccessCellRef", Kind::Inner),
    // The record of processing describes processing, not anyone: the DPO contact is published.
    ("ProcessingRecord", Kind::Public),
    ("ProcessingActivity", Kind::Public),
    ("RoleAccess", Kind::Public),
    ("RetentionPolicy", Kind::Inner),
    ("RetentionRun", Kind::Inner),
    ("RetentionCount", Kind::Inner),
    ("SituationGql", Kind::Inner),
    ("DecisionGql", Kind::Inner),
    ("PostalAddressGql", Kind::Inner),
    ("Mutation", Kind::Action),
    ("AddDocumentsPayload", Kind::Action),
    ("ApplicationPayload", Kind::Action),
    ("AuthPayload", Kind::Action),
    ("CancelSessionPayload", Kind::Action),
    ("ChangePasswordPayload", Kind::Action),
    ("SetPasswordPayload", Kind::Action),
    ("PublishPrivacyPolicyPayload", Kind::Action),
    ("SetPaymentAccountPayload", Kind::Action),
    ("SetAccessNarrowingPayload", Kind::Action),
    ("UpdateTenantSettingsPayload", Kind::Action),
    ("AcceptPrivacyPolicyPayload", Kind::Action),
    ("CoursePayload", Kind::Action),
    ("CreateOrderPayload", Kind::Action),
    ("DeleteApplicationPayload", Kind::Action),
    ("DataSubjectRequestPayload", Kind::Action),
    ("LiftRestrictionPayload", Kind::Action),
    ("EnrollmentPayload", Kind::Action),
    ("LessonPayload", Kind::Action),
    ("LinkGuardianPayload", Kind::Action),
    ("UnlinkGuardianPayload", Kind::Action),
    ("AnswerRolePayload", Kind::Action),
    ("LiveClassPayload", Kind::Action),
    ("LogoutPayload", Kind::Action),
    ("RefundOrderPayload", Kind::Action),
    ("RemoveLessonPayload", Kind::Action),
    ("SessionPayload", Kind::Action),
    ("SetConsentPayload", Kind::Action),
    ("SetUserRolePayload", Kind::Action),
    ("SetRetentionPeriodPayload", Kind::Action),
    ("UpdateProfilePayload", Kind::Action),
    ("NewsletterSubscription", Kind::Inner),
    // Ids, kinds and error classes of undelivered mail: no recipient (`may_monitor_mail`).
    ("MailDelivery", Kind::Inner),
    ("SubscribeNewsletterPayload", Kind::Action),
    ("ConfirmNewsletterPayload", Kind::Action),
    ("UnsubscribeNewsletterPayload", Kind::Action),
    // A campaign's text and counts: nobody's personal data, marketing's alone
    // (`may_run_campaigns`), inner to its rule-guarded roots.
    ("Campaign", Kind::Inner),
    ("CampaignPayload", Kind::Action),
    ("RecordMailFeedbackPayload", Kind::Action),
    // Consenting subscribers' address and topics (`marketing_audience`): reached only through
    // `marketingAudience` (`may_list_audience`), each subscriber decided by `policy::decide`;
    // tests/campaigns.rs checks who gets FORBIDDEN.
    ("AudienceMember", Kind::Inner),
    // Requests for information (`prospects`): reached only through `contactRequests`
    // (`may_list_prospects`), each field of each request decided by `policy::decide` in the
    // domain (a prospect is no `User` to walk); tests/prospects.rs checks every role.
    ("ContactRequest", Kind::Inner),
    ("ContactRequestConnection", Kind::Inner),
    ("ContactRequestEdge", Kind::Inner),
    ("RequestInformationPayload", Kind::Action),
    ("RecordContactExchangePayload", Kind::Action),
    // The room's link and the recording notice of one's own live enrollment.
    ("VirtualClassroom", Kind::Inner),
];

/// Fields of the types that mix kinds, other than the walked (personal) ones.
const FIELDS: &[(&str, &str, Kind)] = &[
    ("Query", "me", Kind::Reach),
    ("Query", "user", Kind::Reach),
    ("Query", "users", Kind::Reach),
    ("Query", "tenant", Kind::Public),
    ("Query", "visitorConsents", Kind::Rule),
    ("Query", "courses", Kind::Public),
    ("Query", "course", Kind::Public),
    ("Query", "session", Kind::Public),
    ("Query", "orders", Kind::Reach),
    ("Query", "order", Kind::Reach),
    ("Query", "applications", Kind::Reach),
    ("Query", "application", Kind::Reach),
    ("Query", "dataSubjectRequests", Kind::Reach),
    ("Query", "dataSubjectRequest", Kind::Reach),
    ("DataSubjectRequest", "id", Kind::Public),
    ("Query", "retentionReport", Kind::Rule),
    ("Query", "processingRecord", Kind::Rule),
    ("Query", "paymentAccount", Kind::Rule),
    ("Query", "accessMatrix", Kind::Rule),
    ("Query", "tenantSettings", Kind::Rule),
    ("Query", "undeliveredMail", Kind::Rule),
    ("Query", "campaigns", Kind::Rule),
    ("Query", "marketingAudience", Kind::Rule),
    ("Query", "contactRequests", Kind::Rule),
    ("User", "id", Kind::Public),
    ("Order", "id", Kind::Public),
    // When an order was made, like its id, goes to whoever reaches the order (`sees_all_orders`).
    ("Order", "createdAt", Kind::Reach),
    ("Order", "buyer", Kind::Link),
    ("Application", "id", Kind::Public),
    ("RosterEntry", "learner", Kind::Link),
    ("RosterEntry", "enrollmentId", Kind::Reach),
    ("Session", "id", Kind::Public),
    ("Session", "startsAt", Kind::Public),
    ("Session", "endsAt", Kind::Public),
    ("Session", "capacity", Kind::Public),
    ("Session", "seatsLeft", Kind::Public),
    ("Session", "location", Kind::Public),
    ("Session", "instructor", Kind::Public),
    ("Session", "course", Kind::Public),
    ("Session", "liveClasses", Kind::Public),
    ("Session", "roster", Kind::Rule),
    ("LiveClass", "id", Kind::Public),
    ("LiveClass", "title", Kind::Public),
    ("LiveClass", "startsAt", Kind::Public),
    ("LiveClass", "endsAt", Kind::Public),
    ("LiveClass", "recorded", Kind::Public),
    ("LiveClass", "recordingExpiresAt", Kind::Public),
    ("LiveClass", "recordingRef", Kind::Rule),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    /// Personal: checked by the HTTP walk.
    Walked,
    Other(Kind),
}

fn classify(ty: &str, field: &str) -> Option<Class> {
    if WALKED.iter().any(|(t, probes)| *t == ty && probes.iter().any(|p| p.field == field)) {
        return Some(Class::Walked);
    }
    FIELDS
        .iter()
        .find(|(t, f, _)| *t == ty && *f == field)
        .map(|(_, _, k)| *k)
        .or_else(|| WHOLE_TYPES.iter().find(|(t, _)| *t == ty).map(|(_, k)| *k))
        .map(Class::Other)
}

/// Object types of the SDL → their fields and the named type each returns.
fn object_types() -> BTreeMap<String, Vec<(String, String)>> {
    use async_graphql::parser::types::{BaseType, Type, TypeKind, TypeSystemDefinition};
    fn named(t: &Type) -> String {
        match &t.base {
            BaseType::Named(n) => n.to_string(),
            BaseType::List(inner) => named(inner),
        }
    }
    let doc = async_graphql::parser::parse_schema(pupitre::graphql::sdl()).expect("the SDL parses");
    let mut types = BTreeMap::new();
    for def in doc.definitions {
        if let TypeSystemDefinition::Type(t) = def {
            match &t.node.kind {
                TypeKind::Object(o) => {
                    let fields = o
                        .fields
                        .iter()
                        .map(|f| (f.node.name.node.to_string(), named(&f.node.ty.node)))
                        .collect();
                    types.insert(t.node.name.node.to_string(), fields);
                }
                TypeKind::Interface(_) | TypeKind::Union(_) => {
                    panic!("{}: teach this test interfaces and unions", t.node.name.node)
                }
                _ => {}
            }
        }
    }
    types
}

#[test]
fn every_field_of_the_schema_is_classified_and_every_personal_one_is_walked_over_http() {
    let doc = AccessDoc::load();
    let types = object_types();
    let mut problems = Vec::new();

    // Every object type and field is known: a new one must be classified (and, if personal,
    // added to the HTTP walk, the only way to classify it as personal).
    for (ty, fields) in &types {
        for (field, _) in fields {
            if classify(ty, field).is_none() {
                problems.push(format!("{ty}.{field} is not classified: add it to the walk (personal) or to FIELDS / WHOLE_TYPES"));
            }
        }
    }
    // The classification names nothing the schema lacks.
    let exists = |ty: &str, field: Option<&str>| {
        types.get(ty).is_some_and(|fs| field.is_none_or(|f| fs.iter().any(|(n, _)| n == f)))
    };
    for (ty, probes) in WALKED {
        for p in *probes {
            if !exists(ty, Some(p.field)) {
                problems.push(format!(
                    "the walk checks {ty}.{}, which the schema does not have",
                    p.field
                ));
            }
            // Every label the walk uses is one the document defines.
            if !doc.field_category.contains_key(p.guard.label()) {
                problems.push(format!(
                    "{ty}.{}: docs/ACCESS.md has no field labelled {:?}",
                    p.field,
                    p.guard.label()
                ));
            }
        }
    }
    for (ty, field, _) in FIELDS {
        if !exists(ty, Some(field)) {
            problems.push(format!("FIELDS names {ty}.{field}, which the schema does not have"));
        }
    }
    for (ty, _) in WHOLE_TYPES {
        if !exists(ty, None) {
            problems.push(format!("WHOLE_TYPES names {ty}, which the schema does not have"));
        }
    }
    // Personal types are reached only through walked fields, named rules, other personal
    // types or mutation results, never through a public field.
    let inner: HashSet<&str> =
        WHOLE_TYPES.iter().filter(|(_, k)| *k == Kind::Inner).map(|(t, _)| *t).collect();
    for (ty, fields) in &types {
        for (field, returns) in fields {
            let class = classify(ty, field);
            if inner.contains(returns.as_str())
                && !matches!(
                    class,
                    Some(Class::Walked | Class::Other(Kind::Inner | Kind::Action | Kind::Rule))
                )
            {
                problems.push(format!("{ty}.{field} returns personal {returns} but is classified {class:?}, not guarded"));
            }
            if class == Some(Class::Other(Kind::Link)) && returns != "User" {
                problems.push(format!("{ty}.{field} is a link but returns {returns}, not a User"));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "the schema has fields whose guard nobody checks:\n{}",
        problems.join("\n")
    );
}
