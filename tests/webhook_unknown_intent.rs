//! Stripe webhooks that can never apply: an unclear event (`payment_intent.requires_action`, or
//! a `succeeded` event whose object contradicts its type) naming a PaymentIntent Stripe does not
//! know. Pupitre asks Stripe, Stripe answers 404 `resource_missing`: the event is recorded once
//! and acknowledged (2xx) instead of a 500 that Stripe would retry for days, and nothing else
//! changes. An outage of Stripe while asking still answers 5xx and records nothing, so that
//! Stripe's retry is processed. SQLite and PostgreSQL, against the local Stripe stand-in (events
//! signed as Stripe signs them).

#![expect(clippy::expect_used, reason = "test helpers abort the test with their reason")]

mod common;

use std::time::Duration;

use common::stripe::StripeStandIn;
use common::{TestApp, demo};
use serde_json::{Value, json};

const ORDER: &str = "query($id: ID!) { order(id: $id) { status payment { paymentIntentId paidAt lastError } invoices { id } } }";

/// An order of a paid course, awaiting payment; returns (buyer token, order id, intent id).
async fn awaiting_order(app: &TestApp, slug: &str) -> (String, String, String) {
    let input = json!({ "slug": slug, "title": "Cours payant", "summary": "Un cours payant.", "description": "",
        "level": "BEGINNER", "format": "ONLINE", "language": "fr", "priceCents": 5_000, "currency": "EUR", "taxRateBp": 2000 });
    let (_, session) = common::published_course(app, input, 3).await;
    let buyer = app.token(demo::LEARNER).await;
    let r = app
        .gql(
            Some(&buyer),
            "mutation($input: CreateOrderInput!) { createOrder(input: $input) { order { id payment { paymentIntentId } } } }",
            json!({ "input": {
                "idempotencyKey": format!("{slug}-key-0001"),
                "lines": [{ "sessionId": session }],
                "billing": { "name": "Léa Martin", "address": { "line1": "12 rue des Écoles", "postalCode": "75005", "city": "Paris", "country": "FR" } },
            } }),
        )
        .await;
    let o = &r.assert_ok()["createOrder"]["order"];
    let id = o["id"].as_str().expect("order id").to_owned();
    let pi = o["payment"]["paymentIntentId"].as_str().expect("intent id").to_owned();
    (buyer, id, pi)
}

/// Everything the attack must leave as it was: the order as its buyer sees it, and the rows
/// a payment would write.
async fn snapshot(app: &TestApp, buyer: &str, order: &str) -> (Value, i64, i64, i64, i64) {
    let view =
        app.gql(Some(buyer), ORDER, json!({ "id": order })).await.assert_ok()["order"].clone();
    (
        view,
        app.count("invoices").await,
        app.count("outbox").await,
        app.count("enrollments WHERE status = 'active'").await,
        app.count("orders WHERE status = 'paid'").await,
    )
}

/// `object` as it would be, for an intent Stripe never made, pointing at our real order.
fn unknown_intent(real: &Value, id: &str, status: &str) -> Value {
    let mut o = real.clone();
    o["id"] = json!(id);
    o["status"] = json!(status);
    o["amount_received"] = if status == "succeeded" { real["amount"].clone() } else { json!(0) };
    o
}

/// The number of `payment_events` rows for `event` with `outcome`.
async fn recorded(app: &TestApp, event: &str, outcome: &str) -> i64 {
    app.count(&format!("payment_events WHERE id = '{event}' AND outcome = '{outcome}'")).await
}

/// Stripe API calls asking about the intent `id`.
fn lookups(stripe: &StripeStandIn, id: &str) -> usize {
    stripe
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path == format!("/v1/payment_intents/{id}"))
        .count()
}

async fn an_event_for_an_intent_stripe_does_not_know_is_recorded_once_and_acknowledged(
    app: TestApp,
    stripe: StripeStandIn,
) {
    // Arrange: a real order awaiting payment; events stop being delivered by themselves.
    let (buyer, order, pi) = awaiting_order(&app, "webhook-inconnu").await;
    stripe.set_auto_deliver(false);
    let real = stripe.payment_intent(&pi).expect("the real intent");
    let before = snapshot(&app, &buyer, &order).await;
    let events_before = app.count("payment_events").await;

    // Act: two unclear events about intents Stripe never made, whose objects point at our
    // order (its metadata) and claim it is paid.
    let requires_action = stripe.make_event(
        "payment_intent.requires_action",
        unknown_intent(&real, "pi_NeverMadeByStripe01", "succeeded"),
    );
    let contradicting = stripe.make_event(
        "payment_intent.succeeded",
        unknown_intent(&real, "pi_NeverMadeByStripe02", "processing"),
    );
    let first = (stripe.deliver(&requires_action).await, stripe.deliver(&contradicting).await);

    // Assert: both acknowledged (2xx, so Stripe stops retrying), recorded once each with the
    // intent they named, after asking Stripe once each.
    assert_eq!(first, (200, 200), "an event that can never apply is acknowledged");
    assert_eq!(recorded(&app, &requires_action.id, "unknown_intent").await, 1);
    assert_eq!(recorded(&app, &contradicting.id, "unknown_intent").await, 1);
    assert_eq!(app.count("payment_events WHERE payment_intent_id = 'pi_NeverMadeByStripe01' AND order_id IS NULL AND tenant_id IS NOT NULL").await, 1);
    assert_eq!(app.count("payment_events").await, events_before + 2);
    assert_eq!(
        (lookups(&stripe, "pi_NeverMadeByStripe01"), lookups(&stripe, "pi_NeverMadeByStripe02")),
        (1, 1)
    );

    // A replay (Stripe redelivers, or an attacker replays a signed body) is acknowledged and
    // changes nothing: no second record, no second call to Stripe.
    let again = (stripe.deliver(&requires_action).await, stripe.deliver(&contradicting).await);
    assert_eq!(again, (200, 200));
    assert_eq!(app.count("payment_events").await, events_before + 2);
    assert_eq!(
        (lookups(&stripe, "pi_NeverMadeByStripe01"), lookups(&stripe, "pi_NeverMadeByStripe02")),
        (1, 1)
    );

    // Nothing else changed: the order still awaits its payment, no invoice, no seat given.
    assert_eq!(snapshot(&app, &buyer, &order).await, before);
    assert_eq!(before.0["status"], "AWAITING_PAYMENT");
}

async fn the_same_unclear_event_about_a_known_intent_is_still_resolved_by_asking_stripe(
    app: TestApp,
    stripe: StripeStandIn,
) {
    // Arrange: the buyer pays, but the `succeeded` event Stripe sent is lost; a later event
    // whose object contradicts its type arrives instead.
    let (buyer, order, pi) = awaiting_order(&app, "webhook-connu").await;
    stripe.set_auto_deliver(false);
    let (status, paid) = stripe.confirm(&pi, "pm_card_visa").await;
    assert_eq!(status, 200);
    let mut stale = paid.clone();
    stale["status"] = json!("processing");
    let contradicting = stripe.make_event("payment_intent.succeeded", stale);

    // Act
    let status = stripe.deliver(&contradicting).await;

    // Assert: Stripe was asked, said it is paid, and the order is paid once.
    assert_eq!(status, 200);
    assert_eq!(lookups(&stripe, &pi), 1);
    assert_eq!(recorded(&app, &contradicting.id, "applied").await, 1);
    let view =
        app.gql(Some(&buyer), ORDER, json!({ "id": order })).await.assert_ok()["order"].clone();
    assert_eq!(view["status"], "PAID");
    assert_eq!(view["invoices"].as_array().map(Vec::len), Some(1));
}

async fn a_stripe_outage_while_asking_answers_5xx_records_nothing_and_the_retry_is_processed(
    app: TestApp,
    stripe: StripeStandIn,
) {
    // Arrange
    let (buyer, order, pi) = awaiting_order(&app, "webhook-panne").await;
    stripe.set_auto_deliver(false);
    let real = stripe.payment_intent(&pi).expect("the real intent");
    let before = snapshot(&app, &buyer, &order).await;
    let event = stripe.make_event(
        "payment_intent.requires_action",
        unknown_intent(&real, "pi_NeverMadeByStripe03", "requires_action"),
    );

    // Act + assert: Stripe answers 500, then does not answer in time: the endpoint answers
    // 5xx (Stripe will retry) and records nothing.
    stripe.set_failure(Some(500));
    let status = stripe.deliver(&event).await;
    assert!((500..600).contains(&status), "a Stripe 500 while asking is worth a retry: {status}");
    stripe.set_failure(None);
    stripe.set_latency(Duration::from_millis(2_500));
    let status = stripe.deliver(&event).await;
    assert!(
        (500..600).contains(&status),
        "a Stripe timeout while asking is worth a retry: {status}"
    );
    stripe.set_latency(Duration::ZERO);
    assert_eq!(
        app.count(&format!("payment_events WHERE id = '{}'", event.id)).await,
        0,
        "nothing recorded: the retry must be processed"
    );

    // Stripe's retry, once Stripe answers again: 404, so recorded and acknowledged.
    assert_eq!(stripe.deliver(&event).await, 200);
    assert_eq!(recorded(&app, &event.id, "unknown_intent").await, 1);
    assert_eq!(snapshot(&app, &buyer, &order).await, before);
}

with_stripe_on_both_databases!(
    an_event_for_an_intent_stripe_does_not_know_is_recorded_once_and_acknowledged,
    the_same_unclear_event_about_a_known_intent_is_still_resolved_by_asking_stripe,
    a_stripe_outage_while_asking_answers_5xx_records_nothing_and_the_retry_is_processed,
);
