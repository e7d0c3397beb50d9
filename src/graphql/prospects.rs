//! Prospects: `requestInformation` (the storefront's contact form, anyone, throttled, with a
//! honeypot), `contactRequests` (`policy::may_list_prospects`: support, the privacy officer,
//! marketing for people who agreed to be contacted; each field decided by `policy` in the
//! domain) and `recordContactExchange` (support).

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::context::{request, services};
use super::pagination::{encode_cursor, page_args, parse_id};
use crate::domain::prospects::{self, InformationForm, InformationRequest, ProspectView};
use crate::entities::enums::ContactRequestStatus;
use crate::error::IntoGql;

gql_enum!(
    /// Where a request for information stands.
    ContactRequestStatusGql as "ContactRequestStatus" <=> ContactRequestStatus {
        Open,
        Answered,
    }
);

/// A prospect's request for information. A field the viewer may not read is `null` (marketing:
/// only people who agreed to be contacted; the phone only with consent to be called).
pub struct ContactRequestNode(pub ProspectView);

#[Object(name = "ContactRequest")]
impl ContactRequestNode {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn name(&self) -> Option<&str> {
        self.0.name.as_deref()
    }
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }
    async fn phone(&self) -> Option<&str> {
        self.0.phone.as_deref()
    }
    async fn message(&self) -> Option<&str> {
        self.0.message.as_deref()
    }
    /// The course the request is about, if any.
    async fn course_id(&self) -> Option<ID> {
        self.0.course_id.map(|c| ID(c.to_string()))
    }
    /// The person agreed to be contacted about other offers by e-mail.
    async fn contact_consent(&self) -> bool {
        self.0.contact_consent
    }
    /// The person agreed to be called about other offers.
    async fn phone_consent(&self) -> bool {
        self.0.phone_consent
    }
    async fn status(&self) -> ContactRequestStatusGql {
        self.0.status.into()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// The last exchange: the request is deleted 3 years after it.
    async fn last_contact_at(&self) -> DateTime<Utc> {
        self.0.last_contact_at
    }
}

pub type ContactRequestConnection = Connection<String, ContactRequestNode>;

/// A storefront's contact form.
#[derive(InputObject)]
pub struct RequestInformationInput {
    /// 1 to 100 characters.
    pub name: String,
    pub email: String,
    /// E.164, e.g. `+33612345678`.
    pub phone: Option<String>,
    /// The course asked about.
    pub course_id: Option<ID>,
    /// 1 to 5,000 characters.
    pub message: String,
    /// `fr` (default) or `en`.
    pub locale: Option<String>,
    /// May be contacted about other offers by e-mail (the answer to this request needs no
    /// consent).
    pub contact_consent: bool,
    /// May be called about other offers (needs `phone`).
    pub phone_consent: Option<bool>,
    /// The honeypot: render it hidden from people (e.g. an off-screen field named `website`)
    /// and send what it holds; a bot fills it and its request is dropped, with the same answer.
    pub website: Option<String>,
}

#[derive(SimpleObject)]
pub struct RequestInformationPayload {
    /// Always `true` when the request was well formed and not throttled.
    pub received: bool,
}

#[derive(InputObject)]
pub struct RecordContactExchangeInput {
    pub contact_request_id: ID,
}

#[derive(SimpleObject)]
pub struct RecordContactExchangePayload {
    pub contact_request: ContactRequestNode,
}

#[derive(Default)]
pub struct ProspectQuery;

#[Object]
impl ProspectQuery {
    /// Requests for information, newest first: support and the privacy officer see all of
    /// them, marketing those of people who agreed to be contacted. Reads are audited.
    #[graphql(
        cache_control(no_cache),
        complexity = "first.unwrap_or(20).clamp(1, 100) as usize * child_complexity"
    )]
    async fn contact_requests(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        status: Option<ContactRequestStatusGql>,
    ) -> async_graphql::Result<ContactRequestConnection> {
        let s = services(ctx).gql()?;
        let rc = request(ctx).gql()?;
        let (first, after) = page_args(first, after, "contact-request").gql()?;
        let (actor, _) = rc.signed_in(s).await.gql()?;
        let page = prospects::list(s, &actor, status.map(Into::into), after, first).await.gql()?;
        let mut conn = Connection::new(false, page.has_next);
        conn.edges.extend(
            page.rows
                .into_iter()
                .map(|r| Edge::new(encode_cursor("contact-request", r.id), ContactRequestNode(r))),
        );
        Ok(conn)
    }
}

#[derive(Default)]
pub struct ProspectMutation;

#[Object]
impl ProspectMutation {
    /// Sends a request for information (no sign-in needed; throttled per client address).
    async fn request_information(
        &self,
        ctx: &Context<'_>,
        input: RequestInformationInput,
    ) -> async_graphql::Result<RequestInformationPayload> {
        let s = services(ctx).gql()?;
        let rc = request(ctx).gql()?;
        let course_id =
            input.course_id.as_ref().map(|c| parse_id("input.courseId", c)).transpose().gql()?;
        let parsed = InformationRequest::parse(
            "input",
            InformationForm {
                name: &input.name,
                email: &input.email,
                phone: input.phone.as_deref(),
                course_id,
                message: &input.message,
                locale: input.locale.as_deref(),
                contact_consent: input.contact_consent,
                phone_consent: input.phone_consent.unwrap_or(false),
            },
        )
        .gql()?;
        let actor = rc.actor(s).await.gql()?;
        prospects::request_information(
            s,
            &actor,
            parsed,
            rc.client_key.as_deref(),
            input.website.as_deref(),
        )
        .await
        .gql()?;
        Ok(RequestInformationPayload { received: true })
    }

    /// Records an exchange with the person of a request (support): answered, and its 3-year
    /// retention starts again.
    async fn record_contact_exchange(
        &self,
        ctx: &Context<'_>,
        input: RecordContactExchangeInput,
    ) -> async_graphql::Result<RecordContactExchangePayload> {
        let s = services(ctx).gql()?;
        let rc = request(ctx).gql()?;
        let id = parse_id("input.contactRequestId", &input.contact_request_id).gql()?;
        let (actor, _) = rc.signed_in(s).await.gql()?;
        let v = prospects::record_exchange(s, &actor, id).await.gql()?;
        Ok(RecordContactExchangePayload { contact_request: ContactRequestNode(v) })
    }
}
