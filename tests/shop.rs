//! Shop and payments end to end, on SQLite and PostgreSQL, against a local Stripe stand-in that
//! speaks Stripe's wire format and signs its webhooks as Stripe does: orders priced by the
//! server, idempotent creation, seats held and released, Stripe outages, webhooks (signatures,
//! duplicates, disorder), gap-free invoices under concurrency, PDFs, refunds, expiry and the
//! need-to-know matrix on orders.

#![expect(clippy::expect_used, reason = "test helpers abort the test with their reason")]

mod common;

use std::time::Duration;

use common::stripe::StripeStandIn;
use common::{TestApp, demo};
use serde_json::{Value, json};

const CREATE: &str = "mutation($input: CreateOrderInput!) { createOrder(input: $input) { clientSecret order { id status total { amountCents currency } tax { amountCents } subtotal { amountCents } holdExpiresAt lines { description enrollmentId unitPrice { amountCents } } payment { paymentIntentId } } } }";
const ORDER: &str = "query($id: ID!) { order(id: $id) { id status total { amountCents } refunded { amountCents } billingName billingAddress { city } payment { paymentIntentId lastError paidAt } invoices { id number kind total { amountCents } pdfUrl buyerName lines { description totalCents } } refunds { amountCents status } } }";
/// Orders and invoices made by the test, not the demo data's (whose keys start with `demo-`).
const ORDERS: &str = "orders WHERE idempotency_key NOT LIKE 'demo-%'";
const INVOICES: &str =
    "invoices WHERE order_id IN (SELECT id FROM orders WHERE idempotency_key NOT LIKE 'demo-%')";

/// The number the next invoice will get (the demo data has issued some already).
async fn next_invoice(app: &TestApp, after: i64) -> String {
    format!("F-{:06}", app.count("invoices WHERE series = 'F'").await + after)
}

const REFUND: &str = "mutation($input: RefundOrderInput!) { refundOrder(input: $input) { order { status refunded { amountCents } } refund { amountCents status } creditNote { number kind total { amountCents } } } }";

/// A published course at `price` cents (20 % VAT included) with one session of `capacity` seats
/// starting in 10 days. Returns (course id, session id).
async fn paid_course(
    app: &TestApp,
    slug: &str,
    price: i64,
    currency: &str,
    capacity: i32,
) -> (String, String) {
    let input = json!({ "slug": slug, "title": format!("Cours {slug}"), "summary": "Un cours payant.", "description": "",
        "level": "BEGINNER", "format": "ONLINE", "language": "fr", "priceCents": price, "currency": currency, "taxRateBp": 2000 });
    common::published_course(app, input, capacity).await
}

fn order_input(key: &str, sessions: &[&str]) -> Value {
    json!({
        "idempotencyKey": key,
        "lines": sessions.iter().map(|s| json!({ "sessionId": s })).collect::<Vec<_>>(),
        "billing": { "name": "Léa Martin", "address": { "line1": "12 rue des Écoles", "postalCode": "75005", "city": "Paris", "country": "FR" } },
    })
}

async fn seats_left(app: &TestApp, session: &str) -> i64 {
    let r = app
        .gql(None, "query($id: ID!) { session(id: $id) { seatsLeft } }", json!({ "id": session }))
        .await;
    r.assert_ok()["session"]["seatsLeft"].as_i64().expect("seats")
}

/// Creates an order and returns (order id, PaymentIntent id).
async fn order(app: &TestApp, token: &str, key: &str, sessions: &[&str]) -> (String, String) {
    let r = app.gql(Some(token), CREATE, json!({ "input": order_input(key, sessions) })).await;
    let o = &r.assert_ok()["createOrder"]["order"];
    (
        o["id"].as_str().expect("order id").to_owned(),
        o["payment"]["paymentIntentId"].as_str().expect("intent id").to_owned(),
    )
}

async fn order_view(app: &TestApp, token: &str, id: &str) -> Value {
    let r = app.gql(Some(token), ORDER, json!({ "id": id })).await;
    r.assert_ok()["order"].clone()
}

async fn register(app: &TestApp, email: &str) -> String {
    let r = app
        .gql(
            None,
            "mutation($e: String!) { register(input: {email: $e, password: \"a long enough passphrase\", firstName: \"Buyer\", lastName: \"Rush\", acceptedPolicyVersion: \"2026-09\"}) { accessToken } }",
            json!({ "e": email }),
        )
        .await;
    r.assert_ok()["register"]["accessToken"].as_str().expect("token").to_owned()
}

async fn an_order_paid_through_stripe_activates_the_enrollment_and_issues_a_numbered_invoice(
    app: TestApp,
    stripe: StripeStandIn,
) {
    let (_, session) = paid_course(&app, "paid-e2e", 12_000, "EUR", 5).await;
    let learner = app.token(demo::LEARNER).await;
    let number = next_invoice(&app, 1).await;
    let r = app
        .gql(
            Some(&learner),
            CREATE,
            json!({ "input": order_input("checkout-e2e-0001", &[&session]) }),
        )
        .await;
    let created = r.assert_ok()["createOrder"].clone();
    let o = &created["order"];
    assert_eq!(o["status"], "AWAITING_PAYMENT");
    assert_eq!(o["total"], json!({ "amountCents": 12_000, "currency": "EUR" }));
    assert_eq!(o["tax"]["amountCents"], 2_000, "20 % VAT included in 120.00");
    assert!(o["holdExpiresAt"].is_string());
    let secret = created["clientSecret"].as_str().expect("client secret");
    let pi = o["payment"]["paymentIntentId"].as_str().expect("intent").to_owned();
    assert!(
        secret.starts_with(&format!("{pi}_secret_")),
        "the PaymentIntent's client secret goes to the storefront"
    );
    assert_eq!(seats_left(&app, &session).await, 4, "the seat is held while the buyer pays");

    // What Pupitre asked of Stripe: the server's amount, the order id, an idempotency key.
    let creates: Vec<_> = stripe
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path == "/v1/payment_intents")
        .collect();
    assert_eq!(creates.len(), 1);
    let form = &creates[0].form;
    let field = |k: &str| form.iter().find(|(name, _)| name == k).map(|(_, v)| v.clone());
    assert_eq!(field("amount").as_deref(), Some("12000"));
    assert_eq!(field("currency").as_deref(), Some("eur"));
    assert_eq!(field("metadata[order_id]").as_deref(), o["id"].as_str());
    assert!(
        creates[0]
            .idempotency_key
            .as_deref()
            .is_some_and(|k| k.contains(o["id"].as_str().expect("id")))
    );

    // The storefront confirms with a test card; Stripe's signed event reaches the webhook.
    let (status, intent) = stripe.confirm(&pi, "pm_card_visa").await;
    assert_eq!(status, 200, "{intent}");
    assert_eq!(intent["status"], "succeeded");
    assert!(
        stripe.deliveries().iter().any(|d| d.status == Some(200)),
        "the webhook accepted the event"
    );

    let id = o["id"].as_str().expect("id");
    let view = order_view(&app, &learner, id).await;
    assert_eq!(view["status"], "PAID");
    assert!(view["payment"]["paidAt"].is_string());
    let invoices = view["invoices"].as_array().expect("invoices");
    assert_eq!(invoices.len(), 1);
    assert_eq!(invoices[0]["kind"], "INVOICE");
    assert_eq!(invoices[0]["number"], number.as_str());
    assert_eq!(invoices[0]["buyerName"], "Léa Martin");
    assert_eq!(invoices[0]["total"]["amountCents"], 12_000);

    let me = app
        .gql(Some(&learner), "{ me { enrollments { status session { id } } } }", json!({}))
        .await;
    let enrollments = me.assert_ok()["me"]["enrollments"].as_array().expect("enrollments").clone();
    assert!(
        enrollments
            .iter()
            .any(|e| e["session"]["id"] == session.as_str() && e["status"] == "ACTIVE"),
        "{enrollments:?}"
    );
    assert_eq!(seats_left(&app, &session).await, 4, "paying keeps the seat");
    assert_eq!(
        app.count("outbox WHERE kind = 'payment_receipt' AND status = 'queued'").await,
        1,
        "a receipt is queued"
    );

    // The PDF: the buyer downloads it; it carries the number and the amount.
    let url = app.url(invoices[0]["pdfUrl"].as_str().expect("pdf url"));
    let res = app.client.get(&url).bearer_auth(&learner).send().await.expect("pdf");
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.headers()["content-type"], "application/pdf");
    let bytes = res.bytes().await.expect("bytes");
    assert!(bytes.starts_with(b"%PDF-"), "a PDF document");
    let text = String::from_utf8_lossy(&bytes);
    assert!(
        text.contains(&format!("Facture {number}")) && text.contains("120,00 EUR"),
        "the PDF shows the number and the total"
    );
    let anonymous = app.client.get(&url).send().await.expect("pdf");
    assert_eq!(anonymous.status().as_u16(), 401);

    // The metrics tell Stripe's share of the time.
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("pupitre_stripe_requests_total ") && !l.ends_with(" 0")),
        "{metrics}"
    );
}

async fn create_order_is_idempotent_and_a_reused_key_with_other_input_conflicts(
    app: TestApp,
    stripe: StripeStandIn,
) {
    let (_, session) = paid_course(&app, "paid-idem", 5_000, "EUR", 5).await;
    let (_, other) = paid_course(&app, "paid-idem-2", 7_000, "EUR", 5).await;
    let learner = app.token(demo::LEARNER).await;
    let first = app
        .gql(Some(&learner), CREATE, json!({ "input": order_input("same-key-0001", &[&session]) }))
        .await;
    let again = app
        .gql(Some(&learner), CREATE, json!({ "input": order_input("same-key-0001", &[&session]) }))
        .await;
    let a = &first.assert_ok()["createOrder"];
    let b = &again.assert_ok()["createOrder"];
    assert_eq!(a["order"]["id"], b["order"]["id"], "the same key and input give the same order");
    assert_eq!(a["clientSecret"], b["clientSecret"]);
    assert_eq!(seats_left(&app, &session).await, 4, "one seat held, not two");
    let creates = stripe.requests().into_iter().filter(|r| r.path == "/v1/payment_intents").count();
    assert_eq!(creates, 1, "one PaymentIntent");

    let conflict = app
        .gql(Some(&learner), CREATE, json!({ "input": order_input("same-key-0001", &[&other]) }))
        .await;
    assert_eq!(conflict.code_at("createOrder").as_deref(), Some("CONFLICT"), "{}", conflict.body);
    assert_eq!(seats_left(&app, &other).await, 5);
    assert_eq!(app.count(ORDERS).await, 1);

    // Keys are per buyer: another learner may use the same one.
    let other_learner = app.token(demo::LEARNER2).await;
    let r = app
        .gql(
            Some(&other_learner),
            CREATE,
            json!({ "input": order_input("same-key-0001", &[&session]) }),
        )
        .await;
    assert_ne!(r.assert_ok()["createOrder"]["order"]["id"], a["order"]["id"]);

    // The server stopped between holding the seats and creating the PaymentIntent (simulated):
    // the retry with the same key finishes the order, with the same intent at Stripe.
    let order_id = a["order"]["id"].as_str().expect("id");
    app.execute("UPDATE orders SET status = 'pending', payment_intent_id = NULL, client_secret = NULL WHERE id IN (SELECT id FROM orders WHERE idempotency_key = 'same-key-0001' ORDER BY created_at LIMIT 1)").await;
    let pending = order_view(&app, &learner, order_id).await;
    assert_eq!(pending["status"], "PENDING");
    let resumed = app
        .gql(Some(&learner), CREATE, json!({ "input": order_input("same-key-0001", &[&session]) }))
        .await;
    let c = &resumed.assert_ok()["createOrder"];
    assert_eq!(c["order"]["id"], a["order"]["id"]);
    assert_eq!(c["order"]["status"], "AWAITING_PAYMENT");
    assert_eq!(
        c["clientSecret"], a["clientSecret"],
        "Stripe gave back the same intent for the same key"
    );
    assert_eq!(seats_left(&app, &session).await, 3, "no second hold (the other learner holds one)");

    // Concurrent retries with one key still make one order.
    let (_, third) = paid_course(&app, "paid-idem-3", 3_000, "EUR", 5).await;
    let input = json!({ "input": order_input("racing-key-0001", &[&third]) });
    let results = common::race(6, |_| app.gql(Some(&learner), CREATE, input.clone())).await;
    assert!(
        results.iter().all(|r| r.errors().is_empty()),
        "every retry succeeds: {:?}",
        results.iter().map(|r| r.body.clone()).collect::<Vec<_>>()
    );
    let ids: std::collections::HashSet<String> = results
        .iter()
        .filter_map(|r| r.data()["createOrder"]["order"]["id"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(ids.len(), 1, "and they all get the same order");
    assert_eq!(seats_left(&app, &third).await, 4);
}

async fn bad_order_input_names_the_field_and_writes_nothing(app: TestApp, stripe: StripeStandIn) {
    let (_, eur) = paid_course(&app, "paid-eur", 5_000, "EUR", 5).await;
    let (_, usd) = paid_course(&app, "paid-usd", 5_000, "USD", 5).await;
    let learner = app.token(demo::LEARNER).await;
    let admin = app.token(demo::ADMIN).await;
    // A draft course's session and a free course's session.
    let r = app
        .gql(
            Some(&admin),
            "mutation($input: CreateCourseInput!) { createCourse(input: $input) { course { id } } }",
            json!({ "input": { "slug": "draft-paid", "title": "Brouillon", "summary": "s", "description": "", "level": "BEGINNER", "format": "ONLINE", "language": "fr", "priceCents": 900 } }),
        )
        .await;
    let draft = r.assert_ok()["createCourse"]["course"]["id"].as_str().expect("id").to_owned();
    let start = (chrono::Utc::now() + chrono::Duration::days(10)).to_rfc3339();
    let end = (chrono::Utc::now() + chrono::Duration::days(20)).to_rfc3339();
    let r = app
        .gql(Some(&admin), "mutation($input: CreateSessionInput!) { createSession(input: $input) { session { id } } }", json!({ "input": { "courseId": draft, "startsAt": start, "endsAt": end, "capacity": 3 } }))
        .await;
    let draft_session =
        r.assert_ok()["createSession"]["session"]["id"].as_str().expect("id").to_owned();
    let (_, free) = paid_course(&app, "free-one", 0, "EUR", 5).await;

    let unknown = uuid::Uuid::new_v4().to_string();
    let cases: Vec<(Value, &str)> = vec![
        (order_input("bad-input-0001", &[&unknown]), "input.lines.0.sessionId"),
        (order_input("bad-input-0002", &[&eur, &draft_session]), "input.lines.1.sessionId"),
        (order_input("bad-input-0003", &[&free]), "input.lines.0.sessionId"),
        (order_input("bad-input-0004", &[&eur, &usd]), "input.lines.1.sessionId"),
        (order_input("bad-input-0005", &[&eur, &eur]), "input.lines.1.sessionId"),
        (order_input("bad-input-0006", &["not-an-id"]), "input.lines.0.sessionId"),
        (order_input("short", &[&eur]), "input.idempotencyKey"),
        (order_input("bad-input-0007", &[]), "input.lines"),
        (
            {
                let mut v = order_input("bad-input-0008", &[&eur]);
                v["currency"] = json!("USD");
                v
            },
            "input.currency",
        ),
        (
            {
                let mut v = order_input("bad-input-0009", &[&eur]);
                v["billing"]["address"]["country"] = json!("France");
                v
            },
            "input.billing.address.country",
        ),
        (
            {
                let mut v = order_input("bad-input-0010", &[&eur]);
                v["billing"]["name"] = json!("");
                v
            },
            "input.billing.name",
        ),
        (
            {
                let mut v = order_input("bad-input-0011", &[&eur]);
                v["learnerId"] = json!("zzz");
                v
            },
            "input.learnerId",
        ),
    ];
    for (input, field) in cases {
        let r = app.gql(Some(&learner), CREATE, json!({ "input": input })).await;
        assert_eq!(
            r.code_at("createOrder").as_deref(),
            Some("BAD_USER_INPUT"),
            "{field}: {}",
            r.body
        );
        assert_eq!(r.errors()[0]["extensions"]["field"], field, "{}", r.body);
    }
    // Buying for someone who is not one's ward.
    let stranger = app.user_id(demo::LEARNER2).await;
    let mut input = order_input("not-my-ward-01", &[&eur]);
    input["learnerId"] = json!(stranger);
    let r = app.gql(Some(&learner), CREATE, json!({ "input": input })).await;
    assert_eq!(r.code_at("createOrder").as_deref(), Some("FORBIDDEN"));
    // Not signed in.
    let r = app.gql(None, CREATE, json!({ "input": order_input("anonymous-0001", &[&eur]) })).await;
    assert_eq!(r.code_at("createOrder").as_deref(), Some("UNAUTHENTICATED"));

    assert_eq!(app.count(ORDERS).await, 0);
    assert_eq!(app.count("order_lines WHERE order_id IN (SELECT id FROM orders WHERE idempotency_key NOT LIKE 'demo-%')").await, 0);
    assert_eq!(seats_left(&app, &eur).await, 5);
    assert!(stripe.requests().is_empty(), "Stripe was never called");
}

async fn a_stripe_outage_leaves_no_order_and_no_seat_and_the_retry_works(
    app: TestApp,
    stripe: StripeStandIn,
) {
    let (_, session) = paid_course(&app, "paid-outage", 5_000, "EUR", 2).await;
    let learner = app.token(demo::LEARNER).await;
    // Stripe hangs longer than the client's timeout (2 s in tests).
    stripe.set_latency(Duration::from_secs(4));
    let r = app
        .gql(Some(&learner), CREATE, json!({ "input": order_input("outage-key-001", &[&session]) }))
        .await;
    assert_eq!(r.code_at("createOrder").as_deref(), Some("UNAVAILABLE"), "{}", r.body);
    assert!(!r.body.to_string().contains("127.0.0.1"), "no internal detail leaks");
    assert_eq!(app.count(ORDERS).await, 0, "no half-created order");
    assert_eq!(seats_left(&app, &session).await, 2, "no seat leaked");
    // Stripe answers 503.
    stripe.set_latency(Duration::ZERO);
    stripe.set_failure(Some(503));
    let r = app
        .gql(Some(&learner), CREATE, json!({ "input": order_input("outage-key-001", &[&session]) }))
        .await;
    assert_eq!(r.code_at("createOrder").as_deref(), Some("UNAVAILABLE"));
    assert_eq!(app.count(ORDERS).await, 0);
    assert_eq!(seats_left(&app, &session).await, 2);
    // Back up: the same key now makes the order.
    stripe.set_failure(None);
    let r = app
        .gql(Some(&learner), CREATE, json!({ "input": order_input("outage-key-001", &[&session]) }))
        .await;
    assert_eq!(r.assert_ok()["createOrder"]["order"]["status"], "AWAITING_PAYMENT");
    assert_eq!(seats_left(&app, &session).await, 1);
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(metrics.contains("pupitre_stripe_failures_total 2"), "{metrics}");
}

async fn a_sold_out_session_is_a_conflict_and_holds_nothing(app: TestApp, _stripe: StripeStandIn) {
    let (_, one_seat) = paid_course(&app, "paid-one-seat", 5_000, "EUR", 1).await;
    let (_, roomy) = paid_course(&app, "paid-roomy", 5_000, "EUR", 5).await;
    let first = app.token(demo::LEARNER).await;
    let second = app.token(demo::LEARNER2).await;
    order(&app, &first, "sold-out-0001", &[&one_seat]).await;
    let r = app
        .gql(
            Some(&second),
            CREATE,
            json!({ "input": order_input("sold-out-0002", &[&roomy, &one_seat]) }),
        )
        .await;
    assert_eq!(r.code_at("createOrder").as_deref(), Some("CONFLICT"), "{}", r.body);
    assert_eq!(seats_left(&app, &roomy).await, 5, "the other line's seat was given back");
    assert_eq!(app.count(ORDERS).await, 1);
}

/// The latest event of `kind` the stand-in emitted.
fn last_event(stripe: &StripeStandIn, kind: &str) -> common::stripe::StandInEvent {
    stripe.events().into_iter().rev().find(|e| e.type_ == kind).expect("such an event")
}

/// The order is paid, with one invoice, one receipt queued and one `succeeded` event recorded.
async fn assert_paid_once(app: &TestApp, learner: &str, id: &str) {
    let view = order_view(app, learner, id).await;
    assert_eq!(view["status"], "PAID");
    assert_eq!(view["invoices"].as_array().expect("invoices").len(), 1);
    assert_eq!(app.count(INVOICES).await, 1);
    assert_eq!(app.count("outbox").await, 1);
    assert_eq!(app.count("payment_events WHERE event_type = 'payment_intent.succeeded'").await, 1);
}

/// A learner's order of one seat of a new 50 € course `slug`, paid with a good card, whose
/// `payment_intent.succeeded` event is held back: (learner's token, order id, that event).
async fn paid_but_not_told(
    app: &TestApp,
    stripe: &StripeStandIn,
    slug: &str,
    key: &str,
) -> (String, String, common::stripe::StandInEvent) {
    let (_, session) = paid_course(app, slug, 5_000, "EUR", 3).await;
    let learner = app.token(demo::LEARNER).await;
    let (id, pi) = order(app, &learner, key, &[&session]).await;
    stripe.set_auto_deliver(false);
    let (status, _) = stripe.confirm(&pi, "pm_card_visa").await;
    assert_eq!(status, 200);
    (learner, id, last_event(stripe, "payment_intent.succeeded"))
}

async fn webhooks_need_a_valid_fresh_signature_and_count_once(app: TestApp, stripe: StripeStandIn) {
    let (learner, id, event) =
        paid_but_not_told(&app, &stripe, "paid-hooks", "hooks-key-0001").await;

    // A wrong signature and a stale one are refused, and change nothing. (The server's clock
    // is the test clock, which stands still unless the test moves it.)
    let now = app.clock.now().timestamp();
    let forged = stripe.sign(&event.payload.replace("5000", "5001"), now);
    assert_eq!(stripe.deliver_raw(&event.payload, Some(&forged)).await, 400);
    assert_eq!(stripe.deliver_raw(&event.payload, None).await, 400);
    assert_eq!(stripe.deliver_raw(&event.payload, Some("t=1,v1=00")).await, 400);
    let stale = stripe.sign(&event.payload, now - 301);
    assert_eq!(stripe.deliver_raw(&event.payload, Some(&stale)).await, 400);
    let future = stripe.sign(&event.payload, now + 301);
    assert_eq!(stripe.deliver_raw(&event.payload, Some(&future)).await, 400);
    let tampered = format!("{} ", event.payload);
    let good_for_original = stripe.sign(&event.payload, now);
    assert_eq!(stripe.deliver_raw(&tampered, Some(&good_for_original)).await, 400);
    assert_eq!(order_view(&app, &learner, &id).await["status"], "AWAITING_PAYMENT");
    assert_eq!(app.count("payment_events WHERE event_type = 'payment_intent.succeeded'").await, 0);

    // The same event three times at once, then again: one payment, one invoice.
    let statuses = common::race(3, |_| stripe.deliver(&event)).await;
    assert_eq!(statuses, [200, 200, 200]);
    assert_eq!(stripe.deliver(&event).await, 200);
    assert_paid_once(&app, &learner, &id).await;
}

async fn events_out_of_order_still_end_paid_and_a_decline_keeps_the_seats(
    app: TestApp,
    stripe: StripeStandIn,
) {
    let (_, session) = paid_course(&app, "paid-order", 5_000, "EUR", 3).await;
    let learner = app.token(demo::LEARNER).await;
    let (id, pi) = order(&app, &learner, "disorder-key-01", &[&session]).await;
    stripe.set_auto_deliver(false);

    // A declined card: payment_failed arrives; the order says so and keeps its seat.
    let (status, _) = stripe.confirm(&pi, "pm_card_chargeDeclined").await;
    assert_eq!(status, 402);
    let failed = last_event(&stripe, "payment_intent.payment_failed");
    assert_eq!(stripe.deliver(&failed).await, 200);
    let view = order_view(&app, &learner, &id).await;
    assert_eq!(view["status"], "PAYMENT_FAILED");
    assert_eq!(view["payment"]["lastError"], "card_declined");
    assert_eq!(seats_left(&app, &session).await, 2, "seats are kept until the hold expires");

    // The buyer retries with a good card; `succeeded` arrives before a late `processing`.
    let (status, intent) = stripe.confirm(&pi, "pm_card_visa").await;
    assert_eq!(status, 200);
    let succeeded = last_event(&stripe, "payment_intent.succeeded");
    let mut processing_object = intent.clone();
    processing_object["status"] = json!("processing");
    processing_object["amount_received"] = json!(0);
    let processing = stripe.make_event("payment_intent.processing", processing_object);
    assert_eq!(stripe.deliver(&succeeded).await, 200);
    assert_eq!(stripe.deliver(&processing).await, 200);
    assert_eq!(stripe.deliver(&failed).await, 200, "an old event again");
    let view = order_view(&app, &learner, &id).await;
    assert_eq!(view["status"], "PAID", "the state machine only moves forward");
    assert!(view["payment"]["lastError"].is_null());
    assert_eq!(app.count(INVOICES).await, 1);
}

async fn an_event_signed_by_stripes_node_library_is_accepted(app: TestApp, stripe: StripeStandIn) {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/stripe-node");
    let node_ok = std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !node_ok {
        assert!(!ci, "CI=true and Node.js is missing: the Stripe signature check cannot run");
        eprintln!("skipping the Stripe Node check: Node.js is not installed");
        return;
    }
    // The SQLite and PostgreSQL runs of this test share the project: install it once (a second
    // `npm ci` would delete node_modules under the first).
    static INSTALLED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let installed = *INSTALLED.get_or_init(|| {
        std::path::Path::new(dir).join("node_modules/stripe").exists()
            || std::process::Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--silent"])
                .current_dir(dir)
                .status()
                .is_ok_and(|st| st.success())
    });
    assert!(installed, "npm ci in tests/stripe-node failed");
    let (_, session) = paid_course(&app, "paid-node", 5_000, "EUR", 3).await;
    let learner = app.token(demo::LEARNER).await;
    let (id, pi) = order(&app, &learner, "node-key-00001", &[&session]).await;
    stripe.set_auto_deliver(false);
    stripe.confirm(&pi, "pm_card_visa").await;
    let event = last_event(&stripe, "payment_intent.succeeded");
    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(file.path(), &event.payload).expect("write payload");
    let now = chrono::Utc::now().timestamp();
    let out = std::process::Command::new("node")
        .arg("sign.mjs")
        .arg(file.path())
        .arg(now.to_string())
        .env("STRIPE_WEBHOOK_SECRET", &stripe.webhook_secret)
        .current_dir(dir)
        .output()
        .expect("node runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let header = String::from_utf8(out.stdout).expect("utf-8").trim().to_owned();
    assert_eq!(
        header,
        stripe.sign(&event.payload, now),
        "the stand-in signs exactly as Stripe's library does"
    );
    assert_eq!(stripe.deliver_raw(&event.payload, Some(&header)).await, 200);
    assert_eq!(order_view(&app, &learner, &id).await["status"], "PAID");
}

async fn sixty_buyers_for_ten_seats_never_oversell_and_invoice_numbers_have_no_gap(
    app: TestApp,
    stripe: StripeStandIn,
) {
    let (_, session) = paid_course(&app, "paid-rush", 4_000, "EUR", 10).await;
    let issued = app.count("invoices WHERE series = 'F'").await;
    let mut tokens = Vec::new();
    for i in 0..60 {
        tokens.push(register(&app, &format!("buyer{i}@example.test")).await);
    }
    let results = common::race(tokens.len(), |i| {
        app.gql(
            Some(&tokens[i]),
            CREATE,
            json!({ "input": order_input(&format!("rush-key-{i:04}"), &[&session]) }),
        )
    })
    .await;
    let winners: Vec<String> = results
        .iter()
        .filter(|r| r.errors().is_empty())
        .map(|r| {
            r.data()["createOrder"]["order"]["payment"]["paymentIntentId"]
                .as_str()
                .expect("intent")
                .to_owned()
        })
        .collect();
    let codes: Vec<String> = results.iter().filter_map(|r| r.first_code()).collect();
    assert_eq!(winners.len(), 10, "exactly the capacity: {codes:?}");
    assert_eq!(codes.len(), 50);
    assert!(codes.iter().all(|c| c == "CONFLICT"), "{codes:?}");
    assert_eq!(seats_left(&app, &session).await, 0);
    assert_eq!(app.count(ORDERS).await, 10, "the refused buyers left no order");

    // All ten pay; their events arrive at the same time: ten invoices, numbered 1 to 10
    // without a gap.
    stripe.set_auto_deliver(false);
    let payments = winners.iter().map(|pi| stripe.confirm(pi, "pm_card_visa"));
    let paid = futures_util::future::join_all(payments).await;
    assert!(paid.iter().all(|(s, _)| *s == 200));
    let events: Vec<_> =
        stripe.events().into_iter().filter(|e| e.type_ == "payment_intent.succeeded").collect();
    assert_eq!(events.len(), 10);
    let deliveries = common::race(events.len(), |i| stripe.deliver(&events[i])).await;
    assert!(deliveries.iter().all(|s| *s == 200), "{deliveries:?}");
    assert_eq!(
        app.count("orders WHERE status = 'paid' AND idempotency_key LIKE 'rush-key-%'").await,
        10
    );
    assert_eq!(app.count("enrollments e JOIN sessions s ON s.id = e.session_id JOIN courses c ON c.id = s.course_id WHERE c.slug = 'paid-rush' AND e.status = 'active' AND s.seats_taken = 10").await, 10);
    let tenant = app.services().tenants.by_slug("demo").await.expect("tenants").expect("demo").id;
    let series = pupitre::domain::shop::invoice::InvoiceSeries::Invoice;
    let numbers = pupitre::domain::shop::invoice::numbers(app.services(), tenant, series)
        .await
        .expect("numbers");
    assert_eq!(numbers, (1..=issued + 10).collect::<Vec<i64>>());
}

async fn refunds_partial_then_full_issue_credit_notes_and_free_the_seat(
    app: TestApp,
    stripe: StripeStandIn,
) {
    let (_, session) = paid_course(&app, "paid-refund", 10_000, "EUR", 3).await;
    let learner = app.token(demo::LEARNER).await;
    let billing = app.token(demo::BILLING).await;
    let support = app.token(demo::SUPPORT).await;
    let (id, pi) = order(&app, &learner, "refund-key-0001", &[&session]).await;
    // Not paid yet: nothing to refund.
    let r = app
        .gql(Some(&billing), REFUND, json!({ "input": { "orderId": id, "amountCents": 100 } }))
        .await;
    assert_eq!(r.code_at("refundOrder").as_deref(), Some("CONFLICT"));
    stripe.confirm(&pi, "pm_card_visa").await;
    assert_eq!(seats_left(&app, &session).await, 2);

    // Only billing refunds.
    for who in [&learner, &support] {
        let r = app
            .gql(Some(who), REFUND, json!({ "input": { "orderId": id, "amountCents": 100 } }))
            .await;
        assert_eq!(r.code_at("refundOrder").as_deref(), Some("FORBIDDEN"));
    }
    for bad in [0, -5, 10_001] {
        let r = app
            .gql(Some(&billing), REFUND, json!({ "input": { "orderId": id, "amountCents": bad } }))
            .await;
        assert_eq!(r.code_at("refundOrder").as_deref(), Some("BAD_USER_INPUT"), "{bad}");
        assert_eq!(r.errors()[0]["extensions"]["field"], "input.amountCents");
    }

    let r = app.gql(Some(&billing), REFUND, json!({ "input": { "orderId": id, "amountCents": 2_500, "reason": "Geste commercial" } })).await;
    let d = &r.assert_ok()["refundOrder"];
    assert_eq!(d["order"]["status"], "PARTIALLY_REFUNDED");
    assert_eq!(d["order"]["refunded"]["amountCents"], 2_500);
    assert_eq!(d["refund"]["status"], "SUCCEEDED");
    assert_eq!(d["creditNote"]["number"], "AV-000001");
    assert_eq!(d["creditNote"]["kind"], "CREDIT_NOTE");
    assert_eq!(d["creditNote"]["total"]["amountCents"], -2_500);
    assert_eq!(seats_left(&app, &session).await, 2, "a partial refund keeps the enrollment");

    // The rest: everything left when no amount is given.
    let r = app.gql(Some(&billing), REFUND, json!({ "input": { "orderId": id } })).await;
    let d = &r.assert_ok()["refundOrder"];
    assert_eq!(d["order"]["status"], "REFUNDED");
    assert_eq!(d["refund"]["amountCents"], 7_500);
    assert_eq!(d["creditNote"]["number"], "AV-000002");
    assert_eq!(seats_left(&app, &session).await, 3, "a full refund frees the seat");
    let me = app
        .gql(Some(&learner), "{ me { enrollments { status session { id } } } }", json!({}))
        .await;
    let enrollments = me.assert_ok()["me"]["enrollments"].as_array().expect("list").clone();
    assert!(
        !enrollments
            .iter()
            .any(|e| e["session"]["id"] == session.as_str() && e["status"] == "ACTIVE"),
        "{enrollments:?}"
    );
    let cancelled = "enrollments e JOIN sessions s ON s.id = e.session_id JOIN courses c ON c.id = s.course_id WHERE c.slug = 'paid-refund' AND e.status = 'cancelled'";
    assert_eq!(app.count(cancelled).await, 1);
    let refunds: Vec<_> =
        stripe.requests().into_iter().filter(|r| r.path == "/v1/refunds").collect();
    assert_eq!(refunds.len(), 2);
    let keys: std::collections::HashSet<&str> =
        refunds.iter().filter_map(|r| r.idempotency_key.as_deref()).collect();
    assert_eq!(keys.len(), 2, "each refund has its own idempotency key: {refunds:?}");
    assert!(
        refunds.iter().all(|r| r.answer.as_ref().is_some_and(|(status, _)| *status == 200)),
        "Stripe made both: {refunds:?}"
    );
    let r = app.gql(Some(&billing), REFUND, json!({ "input": { "orderId": id } })).await;
    assert_eq!(r.code_at("refundOrder").as_deref(), Some("CONFLICT"), "nothing left to refund");
    let view = order_view(&app, &learner, &id).await;
    assert_eq!(
        view["invoices"].as_array().expect("invoices").len(),
        3,
        "one invoice and two credit notes"
    );
    assert_eq!(app.count("audit_log WHERE action LIKE 'order.%refunded'").await, 2);

    // Stripe times out on a refund it did make: the refund stays pending (its amount reserved),
    // the refund job sends it again with the same key, and the money goes back once.
    let (id2, pi2) = order(&app, &learner, "refund-key-0002", &[&session]).await;
    stripe.confirm(&pi2, "pm_card_visa").await;
    stripe.set_latency(Duration::from_secs(3));
    let r = app
        .gql(Some(&billing), REFUND, json!({ "input": { "orderId": id2, "amountCents": 1_000 } }))
        .await;
    assert_eq!(r.code_at("refundOrder").as_deref(), Some("UNAVAILABLE"), "{}", r.body);
    stripe.set_latency(Duration::ZERO);
    let view = order_view(&app, &learner, &id2).await;
    assert_eq!(view["status"], "PAID");
    assert_eq!(view["refunded"]["amountCents"], 0);
    assert_eq!(view["refunds"][0]["status"], "PENDING");
    let r = app
        .gql(Some(&billing), REFUND, json!({ "input": { "orderId": id2, "amountCents": 9_001 } }))
        .await;
    assert_eq!(
        r.code_at("refundOrder").as_deref(),
        Some("BAD_USER_INPUT"),
        "the pending amount is reserved"
    );
    app.clock.advance_secs(61);
    pupitre::jobs::run_once(app.services()).await;
    let view = order_view(&app, &learner, &id2).await;
    assert_eq!(view["status"], "PARTIALLY_REFUNDED");
    assert_eq!(view["refunded"]["amountCents"], 1_000);
    assert_eq!(view["refunds"][0]["status"], "SUCCEEDED");
    let charge = stripe.payment_intent(&pi2).expect("intent")["latest_charge"]
        .as_str()
        .expect("charge")
        .to_owned();
    assert_eq!(
        stripe.charge(&charge).expect("charge")["amount_refunded"],
        1_000,
        "refunded once, not twice"
    );
    pupitre::jobs::run_once(app.services()).await;
    assert_eq!(order_view(&app, &learner, &id2).await["refunded"]["amountCents"], 1_000);

    // A refund Stripe refuses is marked failed and frees its amount.
    stripe.set_failure(Some(400));
    let r = app
        .gql(Some(&billing), REFUND, json!({ "input": { "orderId": id2, "amountCents": 500 } }))
        .await;
    assert_eq!(r.code_at("refundOrder").as_deref(), Some("CONFLICT"), "{}", r.body);
    stripe.set_failure(None);
    let view = order_view(&app, &learner, &id2).await;
    assert_eq!(view["refunded"]["amountCents"], 1_000);
    assert_eq!(view["refunds"][1]["status"], "FAILED");
}

async fn orders_follow_the_need_to_know_matrix(app: TestApp, stripe: StripeStandIn) {
    let (_, session) = paid_course(&app, "paid-access", 6_000, "EUR", 5).await;
    let learner = app.token(demo::LEARNER).await;
    let number = next_invoice(&app, 1).await;
    let all_orders = app.count("orders").await + 1;
    let (id, pi) = order(&app, &learner, "access-key-0001", &[&session]).await;
    stripe.confirm(&pi, "pm_card_visa").await;

    // The buyer sees everything of their order, billing too (and each staff read is audited).
    let mine = order_view(&app, &learner, &id).await;
    assert_eq!(mine["billingAddress"]["city"], "Paris");
    let before = app.count("audit_log WHERE category = 'billing'").await;
    let billing = app.token(demo::BILLING).await;
    let b = order_view(&app, &billing, &id).await;
    assert_eq!(b["total"]["amountCents"], 6_000);
    assert_eq!(b["billingAddress"]["city"], "Paris");
    assert_eq!(b["invoices"][0]["number"], number.as_str());
    let after = app.count("audit_log WHERE category = 'billing'").await;
    assert!(after > before, "billing's read of billing data is in the audit log");
    let list = app
        .gql(
            Some(&billing),
            "{ orders(first: 50) { totalCount edges { node { id status } } } }",
            json!({}),
        )
        .await;
    let list = list.assert_ok()["orders"].clone();
    assert_eq!(list["totalCount"], all_orders, "billing sees every order");
    assert_eq!(list["edges"][0]["node"]["id"], id.as_str(), "newest first");

    // Support: the status only.
    let support = app.token(demo::SUPPORT).await;
    let r = app.gql(Some(&support), "query($id: ID!) { order(id: $id) { status total { amountCents } billingAddress { city } invoices { number } } }", json!({ "id": id })).await;
    assert_eq!(r.data()["order"]["status"], "PAID");
    for f in ["total", "billingAddress", "invoices"] {
        assert_eq!(
            r.code_at(&format!("order.{f}")).as_deref(),
            Some("FORBIDDEN"),
            "support must not read {f}: {}",
            r.body
        );
    }
    // Support cannot read the client secret either; nor can billing.
    let r = app
        .gql(
            Some(&billing),
            "query($id: ID!) { order(id: $id) { clientSecret } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(r.code_at("order.clientSecret").as_deref(), Some("FORBIDDEN"));

    // Instructors, reviewers, marketing and other learners see nothing of orders.
    for who in [demo::INSTRUCTOR, demo::REVIEWER, demo::MARKETING, demo::LEARNER2, demo::ADMIN] {
        let t = app.token(who).await;
        let r = app.gql(Some(&t), "query($id: ID!) { order(id: $id) { id } orders(first: 50) { edges { node { id } } } }", json!({ "id": id })).await;
        let d = r.assert_ok();
        assert!(d["order"].is_null(), "{who} must not see the order");
        let listed = d["orders"]["edges"]
            .as_array()
            .expect("edges")
            .iter()
            .any(|e| e["node"]["id"] == id.as_str());
        assert!(!listed, "{who} must not list it");
    }
    let r = app.gql(None, "{ orders { totalCount } }", json!({})).await;
    assert_eq!(r.first_code().as_deref(), Some("UNAUTHENTICATED"));

    // The PDF: the buyer and billing (audited); not another learner, not support.
    let url = app.url(mine["invoices"][0]["pdfUrl"].as_str().expect("url"));
    let get = |t: String| {
        let c = app.client.clone();
        let url = url.clone();
        async move { c.get(url).bearer_auth(t).send().await.expect("pdf").status().as_u16() }
    };
    assert_eq!(get(learner.clone()).await, 200);
    let before = app.count("audit_log WHERE action = 'invoice.downloaded'").await;
    assert_eq!(get(billing.clone()).await, 200);
    assert_eq!(app.count("audit_log WHERE action = 'invoice.downloaded'").await, before + 1);
    // Anyone else: as if it did not exist.
    assert_eq!(get(app.token(demo::LEARNER2).await).await, 404);
    assert_eq!(get(support.clone()).await, 404);
    assert_eq!(get(app.token(demo::INSTRUCTOR).await).await, 404);
    let missing = app
        .client
        .get(app.url(&format!("/invoices/{}.pdf", uuid::Uuid::new_v4())))
        .bearer_auth(&billing)
        .send()
        .await
        .expect("pdf");
    assert_eq!(missing.status().as_u16(), 404);

    // A guardian buys for their ward: the guardian sees the order, the ward is enrolled.
    let guardian = app.token(demo::GUARDIAN).await;
    let ward = app.user_id(demo::MINOR).await;
    let mut input = order_input("guardian-key-01", &[&session]);
    input["learnerId"] = json!(ward);
    let r = app.gql(Some(&guardian), CREATE, json!({ "input": input })).await;
    let o = r.assert_ok()["createOrder"]["order"].clone();
    let gid = o["id"].as_str().expect("id");
    stripe.confirm(o["payment"]["paymentIntentId"].as_str().expect("pi"), "pm_card_visa").await;
    assert_eq!(order_view(&app, &guardian, gid).await["status"], "PAID");
    let q = "query($id: ID!) { user(id: $id) { enrollments { status session { id } } } }";
    let r = app.gql(Some(&guardian), q, json!({ "id": ward })).await;
    let list = r.assert_ok()["user"]["enrollments"].as_array().expect("list").clone();
    assert!(
        list.iter().any(|e| e["session"]["id"] == session.as_str() && e["status"] == "ACTIVE"),
        "{list:?}"
    );
}

async fn unpaid_orders_expire_and_a_payment_whose_event_was_lost_is_still_applied(
    app: TestApp,
    stripe: StripeStandIn,
) {
    let (_, session) = paid_course(&app, "paid-expiry", 5_000, "EUR", 2).await;
    // Tokens are signed with the server's clock and checked against the system's: everything
    // that signs in does so before the clock moves.
    let (_, small) = paid_course(&app, "paid-expiry-2", 5_000, "EUR", 1).await;
    let learner = app.token(demo::LEARNER).await;
    let other = app.token(demo::LEARNER2).await;
    let (abandoned, abandoned_pi) = order(&app, &learner, "expiry-key-0001", &[&session]).await;
    let (paid, paid_pi) = order(&app, &other, "expiry-key-0002", &[&session]).await;
    assert_eq!(seats_left(&app, &session).await, 0);
    // The second buyer pays, but the webhook never arrives.
    stripe.set_auto_deliver(false);
    stripe.confirm(&paid_pi, "pm_card_visa").await;
    app.clock.advance_secs(31 * 60);
    pupitre::jobs::run_once(app.services()).await;

    assert_eq!(order_view(&app, &learner, &abandoned).await["status"], "CANCELLED");
    assert_eq!(
        stripe.payment_intent(&abandoned_pi).expect("intent")["status"],
        "canceled",
        "the abandoned intent can no longer be paid"
    );
    assert_eq!(order_view(&app, &other, &paid).await["status"], "PAID", "Stripe said it was paid");
    assert_eq!(seats_left(&app, &session).await, 1, "only the abandoned seat came back");
    // Running the job again changes nothing.
    pupitre::jobs::run_once(app.services()).await;
    assert_eq!(seats_left(&app, &session).await, 1);
    assert_eq!(app.count(INVOICES).await, 1);

    // Were a payment for the cancelled order to land after all (Stripe says succeeded), it is
    // reinstated if its seat is still free... (The event is made up: at Stripe this intent stays
    // cancelled and uncharged. A signed event whose object agrees with its type is taken at its
    // word, without asking Stripe again.)
    stripe.set_sign_time(Some(app.clock.now().timestamp()));
    let mut late = stripe.payment_intent(&abandoned_pi).expect("intent");
    late["status"] = json!("succeeded");
    late["amount_received"] = late["amount"].clone();
    let event = stripe.make_event("payment_intent.succeeded", late.clone());
    assert_eq!(stripe.deliver(&event).await, 200);
    assert_eq!(order_view(&app, &learner, &abandoned).await["status"], "PAID");
    assert_eq!(seats_left(&app, &session).await, 0);
    assert_eq!(app.count(INVOICES).await, 2);
    assert!(
        stripe.payment_intent(&abandoned_pi).expect("intent")["latest_charge"].is_null(),
        "Stripe holds no charge for it"
    );

    // ... and when its seat has gone to someone else, the order stays cancelled, nothing is
    // half-applied, and a refund of the whole intent is asked of Stripe, once per intent.
    let (gone, gone_pi) = order(&app, &learner, "expiry-key-0003", &[&small]).await;
    app.clock.advance_secs(31 * 60);
    pupitre::jobs::run_once(app.services()).await;
    assert_eq!(order_view(&app, &learner, &gone).await["status"], "CANCELLED");
    order(&app, &other, "expiry-key-0004", &[&small]).await;
    assert_eq!(seats_left(&app, &small).await, 0);
    stripe.set_sign_time(Some(app.clock.now().timestamp()));
    let mut late = stripe.payment_intent(&gone_pi).expect("intent");
    late["status"] = json!("succeeded");
    late["amount_received"] = late["amount"].clone();
    let event = stripe.make_event("payment_intent.succeeded", late);
    assert_eq!(stripe.deliver(&event).await, 200);
    let view = order_view(&app, &learner, &gone).await;
    assert_eq!(view["status"], "CANCELLED");
    assert!(view["payment"]["paidAt"].is_null());
    assert_eq!(app.count(INVOICES).await, 2, "no invoice for seats that are not there");
    assert_eq!(seats_left(&app, &small).await, 0, "the other buyer keeps the seat");
    assert_eq!(app.count("payment_events WHERE outcome = 'seats_gone'").await, 1);
    let refunds: Vec<_> =
        stripe.requests().into_iter().filter(|r| r.path == "/v1/refunds").collect();
    assert_eq!(refunds.len(), 1, "one refund asked: {refunds:?}");
    let refund = &refunds[0];
    assert_eq!(
        refund.idempotency_key.as_deref(),
        Some(format!("pupitre-autorefund-{gone_pi}").as_str())
    );
    let mut asked: Vec<(&str, &str)> =
        refund.form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    asked.sort_unstable();
    assert_eq!(
        asked,
        [("metadata[reason]", "seats_gone"), ("payment_intent", gone_pi.as_str())],
        "the whole intent, no amount"
    );
    // What Stripe answers. The success event above is made up: at Stripe this intent was
    // cancelled by the expiry job and never charged (Stripe cannot take a payment on a cancelled
    // intent, so a real event like it cannot come). Stripe therefore refuses the refund, no money
    // moves either way, and the app only logs that the refund failed.
    let intent = stripe.payment_intent(&gone_pi).expect("intent");
    assert_eq!(intent["status"], "canceled");
    assert!(
        intent["latest_charge"].is_null(),
        "no charge, so no amount_refunded to look at: {intent}"
    );
    let (status, answer) = refund.answer.clone().expect("Stripe answered");
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["error"]["type"], "invalid_request_error");
    assert_eq!(
        answer["error"]["message"],
        format!("This PaymentIntent ({gone_pi}) does not have a successful charge to refund.")
    );
}

async fn issued_invoices_cannot_be_rewritten(app: TestApp, stripe: StripeStandIn) {
    let (_, session) = paid_course(&app, "paid-immutable", 5_000, "EUR", 2).await;
    let learner = app.token(demo::LEARNER).await;
    let number = next_invoice(&app, 1).await;
    let (_, pi) = order(&app, &learner, "immutable-key-01", &[&session]).await;
    stripe.confirm(&pi, "pm_card_visa").await;
    assert_eq!(app.count(INVOICES).await, 1);
    for change in ["number = 'F-999999'", "total_cents = 1", "snapshot = '{}'"] {
        let refused = app.try_execute(&format!("UPDATE invoices SET {change}")).await;
        let error = refused.expect_err(change);
        assert!(
            error.contains("immutable columns of invoices"),
            "{change}: refused by the trigger, not by anything else: {error}"
        );
    }
    assert_eq!(
        app.count(&format!("invoices WHERE number = '{number}' AND total_cents = 5000")).await,
        1
    );
    // Detaching the buyer (erasure keeps accounting records) stays possible.
    assert!(app.try_execute("UPDATE invoices SET buyer_id = NULL").await.is_ok());
}

/// Behind a load balancer Stripe's retries may reach any instance: the same event delivered at
/// once to two Pupitre processes on one database pays once, issues one invoice (its number the
/// next of the series, no gap) and queues one receipt.
async fn one_event_delivered_to_two_instances_at_once_counts_once(
    app: TestApp,
    stripe: StripeStandIn,
) {
    let (learner, id, event) =
        paid_but_not_told(&app, &stripe, "paid-two-hosts", "two-hosts-key-01").await;
    let other = app.another_instance().await;
    let signature = stripe.sign(&event.payload, app.clock.now().timestamp());
    let hosts = [app.url(""), other.clone(), app.url(""), other];
    let statuses = common::race(hosts.len(), |i| {
        let (url, payload, signature) =
            (format!("{}/webhooks/stripe", hosts[i]), event.payload.clone(), signature.clone());
        async move {
            reqwest::Client::new()
                .post(url)
                .header("content-type", "application/json")
                .header("stripe-signature", signature)
                .body(payload)
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0)
        }
    })
    .await;
    assert_eq!(statuses, [200, 200, 200, 200]);
    assert_paid_once(&app, &learner, &id).await;
}

with_stripe_on_both_databases!(
    an_order_paid_through_stripe_activates_the_enrollment_and_issues_a_numbered_invoice,
    one_event_delivered_to_two_instances_at_once_counts_once,
    create_order_is_idempotent_and_a_reused_key_with_other_input_conflicts,
    bad_order_input_names_the_field_and_writes_nothing,
    a_stripe_outage_leaves_no_order_and_no_seat_and_the_retry_works,
    a_sold_out_session_is_a_conflict_and_holds_nothing,
    webhooks_need_a_valid_fresh_signature_and_count_once,
    events_out_of_order_still_end_paid_and_a_decline_keeps_the_seats,
    an_event_signed_by_stripes_node_library_is_accepted,
    sixty_buyers_for_ten_seats_never_oversell_and_invoice_numbers_have_no_gap,
    refunds_partial_then_full_issue_credit_notes_and_free_the_seat,
    orders_follow_the_need_to_know_matrix,
    unpaid_orders_expire_and_a_payment_whose_event_was_lost_is_still_applied,
    issued_invoices_cannot_be_rewritten,
);
