//! The organisation's own Stripe account (see `domain::payments::accounts`): admins set its
//! keys and read what is shown of them. Keys are never read back.

use async_graphql::{Context, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::context::{request, services};
use crate::domain::payments::accounts::{self, AccountInfo, NewKeys};
use crate::error::IntoGql;

/// Whose Stripe account takes this organisation's payments.
#[derive(SimpleObject)]
pub struct PaymentAccount {
    /// Whether the organisation set keys of its own (else the installation's keys serve it, if
    /// it is the organisation they are for).
    pub own_keys: bool,
    /// Whether checkout works (`UNAVAILABLE` otherwise).
    pub ready: bool,
    pub publishable_key: Option<String>,
    /// The secret key's last four characters, to tell which key is set.
    pub secret_key_last4: Option<String>,
    pub updated_at: Option<DateTime<Utc>>,
    /// Where Stripe must send this account's events (register it in the Stripe dashboard with
    /// the signing secret given here).
    pub webhook_path: String,
}

fn shown(info: AccountInfo, slug: &str) -> PaymentAccount {
    PaymentAccount {
        own_keys: info.own_keys,
        ready: info.ready,
        publishable_key: info.publishable_key,
        secret_key_last4: info.secret_key_last4,
        updated_at: info.updated_at,
        webhook_path: format!("/webhooks/stripe/{slug}"),
    }
}

#[derive(Default)]
pub struct PaymentQuery;

#[Object]
impl PaymentQuery {
    /// This organisation's Stripe account (admins).
    async fn payment_account(&self, ctx: &Context<'_>) -> async_graphql::Result<PaymentAccount> {
        let s = services(ctx).gql()?;
        let rc = request(ctx).gql()?;
        let actor = rc.user_actor(s).await.gql()?;
        Ok(shown(accounts::info(s, &actor).await.gql()?, &rc.tenant.slug))
    }
}

/// The organisation's Stripe keys (from the Stripe dashboard).
#[derive(InputObject)]
pub struct SetPaymentAccountInput {
    /// `sk_live_…` / `sk_test_…`, or a restricted key `rk_…` allowed to manage PaymentIntents
    /// and refunds.
    pub secret_key: String,
    /// `pk_live_…` / `pk_test_…`, for the storefront's Stripe Elements.
    pub publishable_key: String,
    /// The signing secret (`whsec_…`) of the endpoint `webhookPath`.
    pub webhook_secret: String,
}

#[derive(SimpleObject)]
pub struct SetPaymentAccountPayload {
    pub payment_account: PaymentAccount,
}

#[derive(Default)]
pub struct PaymentMutation;

#[Object]
impl PaymentMutation {
    /// Sets this organisation's own Stripe keys (admins; audited without the keys), sealed under
    /// the master key: its learners pay into its account from the next checkout on.
    async fn set_payment_account(
        &self,
        ctx: &Context<'_>,
        input: SetPaymentAccountInput,
    ) -> async_graphql::Result<SetPaymentAccountPayload> {
        let s = services(ctx).gql()?;
        let rc = request(ctx).gql()?;
        let actor = rc.user_actor(s).await.gql()?;
        let keys = NewKeys::parse(&input.secret_key, &input.publishable_key, &input.webhook_secret)
            .gql()?;
        let info = accounts::configure(s, &actor, keys).await.gql()?;
        Ok(SetPaymentAccountPayload { payment_account: shown(info, &rc.tenant.slug) })
    }
}
