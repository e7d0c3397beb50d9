//! The documented need-to-know policy (`docs/ACCESS.md`) and the code cannot drift apart:
//! every category × role cell must render identically, and a walk over every category, role
//! and field checks that `policy::decide` behaves as the document says, conditions included.

#![expect(clippy::expect_used, reason = "test helpers abort the test with their reason")]

use std::collections::{HashMap, HashSet};

use pupitre::policy::{
    self, Actor, Category, Channel, Column, DataField, Decision, Op, Relations, Role, RoleSet,
    SubjectFacts,
};
use uuid::Uuid;

#[path = "common/access_doc.rs"]
#[expect(
    dead_code,
    reason = "this test compares the raw cells; tests/access_matrix.rs uses the rest"
)]
mod access_doc;

fn documented() -> HashMap<(String, String), String> {
    access_doc::AccessDoc::load().raw
}

#[test]
fn every_documented_cell_matches_the_policy_table() {
    let doc = documented();
    let mut expected = String::from("| category | ");
    expected.push_str(&Column::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(" | "));
    expected.push_str(" |\n");
    let mut mismatches = Vec::new();
    for cat in Category::ALL {
        expected.push_str(&format!("| `{}` |", cat.as_str()));
        for col in Column::ALL {
            let code = policy::matrix::cell(cat, col).render();
            expected.push_str(&format!(" {code} |"));
            match doc.get(&(cat.as_str().to_owned(), col.as_str().to_owned())) {
                Some(d) if *d == code => {}
                other => mismatches.push(format!(
                    "{} × {}: doc {:?}, code {:?}",
                    cat.as_str(),
                    col.as_str(),
                    other,
                    code
                )),
            }
        }
        expected.push('\n');
    }
    assert_eq!(
        doc.len(),
        Category::ALL.len() * Column::ALL.len(),
        "the document has extra or missing cells"
    );
    assert!(
        mismatches.is_empty(),
        "docs/ACCESS.md and policy::matrix disagree:\n{}\n\nthe code's table:\n{expected}",
        mismatches.join("\n")
    );
}

struct Parsed {
    read: bool,
    write: bool,
    quals: HashSet<String>,
}

fn parse(cell: &str) -> Parsed {
    let (base, quals) = match cell.split_once(" (") {
        Some((b, q)) => (b, q.trim_end_matches(')').split(", ").map(str::to_owned).collect()),
        None => (cell, HashSet::new()),
    };
    Parsed { read: base.starts_with('R'), write: base.contains('W'), quals }
}

/// An actor whose only relation to `subject` is `column`.
fn actor_in(column: Column, subject: Uuid) -> (Actor, Relations) {
    let me = Uuid::now_v7();
    let mut rel = Relations::default();
    let (id, role) = match column {
        Column::Subject => (subject, Role::Learner),
        Column::Guardian => {
            rel.wards.insert(subject);
            (me, Role::Guardian)
        }
        Column::Instructor => {
            rel.learners.insert(subject);
            (me, Role::Instructor)
        }
        Column::Support => (me, Role::Support),
        Column::Billing => (me, Role::Billing),
        Column::Reviewer => (me, Role::Reviewer),
        Column::Marketing => (me, Role::Marketing),
        Column::PrivacyOfficer => (me, Role::PrivacyOfficer),
        Column::Admin => (me, Role::Admin),
    };
    (Actor::user(Uuid::nil(), id, None, RoleSet::from_roles(&[role]), "policy-test".into()), rel)
}

/// Facts under which every condition of the document is satisfied.
fn favourable(id: Uuid) -> SubjectFacts {
    SubjectFacts {
        marketing_consent: true,
        phone_consent: true,
        is_staff: true,
        is_applicant: true,
        decided: false,
        ..SubjectFacts::person(id)
    }
}

#[test]
fn decisions_follow_the_document_for_every_category_role_and_field() {
    let doc = documented();
    let mut checked = 0;
    for cat in Category::ALL {
        for col in Column::ALL {
            let cell = parse(&doc[&(cat.as_str().to_owned(), col.as_str().to_owned())]);
            let field_quals: HashSet<&str> = DataField::ALL
                .iter()
                .map(|f| f.label())
                .filter(|l| cell.quals.contains(*l))
                .collect();
            let subject = Uuid::now_v7();
            let (actor, rel) = actor_in(col, subject);
            for field in DataField::of(cat) {
                let in_scope = field_quals.is_empty() || field_quals.contains(field.label());
                let facts = favourable(subject);
                let read = policy::decide(&actor, &rel, &facts, field, Op::Read).allowed();
                let write = policy::decide(&actor, &rel, &facts, field, Op::Write).allowed();
                let decide = policy::decide(&actor, &rel, &facts, field, Op::Decide).allowed();
                let ctx = format!("{} × {} × {:?}", cat.as_str(), col.as_str(), field);
                assert_eq!(read, cell.read && in_scope, "read {ctx}");
                assert_eq!(write, cell.write && in_scope, "write {ctx}");
                assert_eq!(
                    decide,
                    cell.read && in_scope && cell.quals.contains("decides"),
                    "decide {ctx}"
                );
                // Each condition, when not met, takes the access away.
                if cell.quals.contains("consent") {
                    let f = SubjectFacts {
                        marketing_consent: false,
                        phone_consent: false,
                        ..favourable(subject)
                    };
                    assert!(
                        !policy::decide(&actor, &rel, &f, field, Op::Read).allowed(),
                        "consent {ctx}"
                    );
                    // Only the consent of the field's own channel opens it.
                    let (email_only, phone_only) = (
                        SubjectFacts { phone_consent: false, ..favourable(subject) },
                        SubjectFacts { marketing_consent: false, ..favourable(subject) },
                    );
                    let by = |f: &SubjectFacts| {
                        policy::decide(&actor, &rel, f, field, Op::Read).allowed()
                    };
                    let (want_email, want_phone) = match field.channel() {
                        Channel::Email => (read, false),
                        Channel::Phone => (false, read),
                        Channel::Any => (read, read),
                    };
                    assert_eq!(by(&email_only), want_email, "e-mail consent only {ctx}");
                    assert_eq!(by(&phone_only), want_phone, "phone consent only {ctx}");
                }
                if cell.quals.contains("staff accounts") {
                    let f = SubjectFacts { is_staff: false, ..favourable(subject) };
                    assert!(
                        !policy::decide(&actor, &rel, &f, field, Op::Read).allowed(),
                        "staff {ctx}"
                    );
                }
                if cell.quals.contains("until decision") {
                    let f = SubjectFacts { decided: true, ..favourable(subject) };
                    assert!(
                        !policy::decide(&actor, &rel, &f, field, Op::Write).allowed(),
                        "decided {ctx}"
                    );
                    assert_eq!(
                        policy::decide(&actor, &rel, &f, field, Op::Read).allowed(),
                        cell.read && in_scope,
                        "read after decision {ctx}"
                    );
                }
                // Staff reads of audited categories come with an audit record.
                if read && col.is_staff() && cat.audited_staff_read() {
                    assert_eq!(
                        policy::decide(&actor, &rel, &facts, field, Op::Read),
                        Decision::Allow { audit: Some(col) },
                        "audit {ctx}"
                    );
                }
                checked += 1;
            }
        }
    }
    assert_eq!(checked, DataField::ALL.len() * Column::ALL.len());
}

#[test]
fn a_reviewer_sees_nothing_of_people_who_did_not_apply() {
    let subject = Uuid::now_v7();
    let (actor, rel) = actor_in(Column::Reviewer, subject);
    let facts = SubjectFacts { is_applicant: false, ..favourable(subject) };
    for field in DataField::ALL {
        assert!(!policy::decide(&actor, &rel, &facts, field, Op::Read).allowed(), "{field:?}");
    }
}

/// The "Who grants roles" table of `docs/ACCESS.md`: (role, opens personal data, granted by,
/// revoked by).
fn documented_role_rules() -> Vec<(String, bool, HashSet<String>, HashSet<String>)> {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/ACCESS.md"))
        .expect("docs/ACCESS.md");
    let start = doc.find("<!-- roles:start -->").expect("roles start marker");
    let end = doc.find("<!-- roles:end -->").expect("roles end marker");
    let set = |c: &str| c.split(", ").map(str::to_owned).collect::<HashSet<_>>();
    doc[start..end]
        .lines()
        .filter(|l| l.trim_start().starts_with('|'))
        .skip(2)
        .map(|l| {
            let c: Vec<String> = l
                .trim()
                .trim_matches('|')
                .split('|')
                .map(|c| c.trim().trim_matches('`').to_owned())
                .collect();
            (c[0].clone(), c[1] == "yes", set(&c[2]), set(&c[3]))
        })
        .collect()
}

#[test]
fn role_grants_follow_the_document_for_every_role_and_granter() {
    let rules = documented_role_rules();
    assert_eq!(rules.len(), Role::ALL.len(), "one row per role");
    for (name, opens, granted_by, revoked_by) in rules {
        let role = Role::parse(&name).unwrap_or_else(|| panic!("unknown role {name}"));
        assert_eq!(policy::processes_personal_data(role), opens, "processes personal data: {name}");
        let target = Uuid::now_v7();
        for granter in Role::ALL {
            let actor = Actor::user(
                Uuid::nil(),
                Uuid::now_v7(),
                None,
                RoleSet::from_roles(&[granter]),
                "policy-test".into(),
            );
            assert_eq!(
                policy::may_grant_role(&actor, target, role),
                granted_by.contains(granter.as_str()),
                "{} grants {name}",
                granter.as_str()
            );
            assert_eq!(
                policy::may_revoke_role(&actor, target, role),
                revoked_by.contains(granter.as_str()),
                "{} revokes {name}",
                granter.as_str()
            );
            // Never on one's own account.
            let me = actor.user_id.expect("a user");
            assert!(
                !policy::may_grant_role(&actor, me, role)
                    && !policy::may_revoke_role(&actor, me, role),
                "{} on themselves",
                granter.as_str()
            );
        }
        // Anonymous requests grant nothing.
        let anon = Actor::anonymous(Uuid::nil(), "policy-test".into());
        assert!(
            !policy::may_grant_role(&anon, target, role)
                && !policy::may_revoke_role(&anon, target, role)
        );
    }
}

#[test]
fn a_role_whose_column_reads_anything_is_granted_by_the_privacy_officer_only() {
    // Derived from the matrix: widening any cell of a staff column makes its role a data role.
    for role in Role::ALL {
        let reads = Column::of_role(role)
            .is_some_and(|c| Category::ALL.iter().any(|k| policy::matrix::cell(*k, c).read));
        let admin = Actor::user(
            Uuid::nil(),
            Uuid::now_v7(),
            None,
            RoleSet::from_roles(&[Role::Admin]),
            "policy-test".into(),
        );
        if reads {
            assert!(!policy::may_grant_role(&admin, Uuid::now_v7(), role), "{}", role.as_str());
        }
    }
}
