//! The GraphQL API: types, inputs, resolvers and loaders. Thin: resolvers parse input, call a
//! domain service, wrap the result in an API type. Personal fields carry a [`guard::Need`]
//! guard naming their data category; no resolver decides access on its own. The object types
//! several areas return are in `nodes`; each area's queries and mutations are in its own module
//! and use those, never one another's. A resolver reaches the request's
//! [`RequestCtx`](crate::request::RequestCtx) (shared with the plain HTTP routes) and the batch
//! loaders through `context`.

/// A GraphQL enum mirroring a domain (or stored) enum variant for variant, with both
/// conversions; every enum of the API is made with it.
macro_rules! gql_enum {
    ($(#[$meta:meta])* $gql:ident as $name:literal <=> $dom:ident { $($(#[$doc:meta])* $v:ident),* $(,)? }) => {
        $(#[$meta])*
        #[derive(async_graphql::Enum, Copy, Clone, Eq, PartialEq, Debug)]
        #[graphql(name = $name)]
        pub enum $gql { $($(#[$doc])* $v),* }
        impl From<$gql> for $dom {
            fn from(x: $gql) -> Self { match x { $($gql::$v => $dom::$v),* } }
        }
        impl From<$dom> for $gql {
            fn from(x: $dom) -> Self { match x { $($dom::$v => $gql::$v),* } }
        }
    };
}

mod account;
mod audit;
mod campaigns;
mod catalog;
mod consent;
mod context;
mod death;
mod equal_opportunity;
mod erasure;
mod export;
pub mod guard;
mod learning;
pub mod limits;
mod loaders;
mod narrowing;
mod newsletter;
mod nodes;
mod pagination;
pub mod parsed;
mod payments;
mod privacy;
mod processing;
mod prospects;
mod retention;
mod shop;
mod tenant;
mod user;

use async_graphql::{EmptySubscription, MergedObject, Schema};

use crate::domain::Services;

pub use context::with_request;

/// The query root.
#[derive(MergedObject, Default)]
pub struct Query(
    user::UserQuery,
    tenant::TenantQuery,
    tenant::TenantSettingsQuery,
    payments::PaymentQuery,
    narrowing::NarrowingQuery,
    audit::AuditQuery,
    consent::ConsentQuery,
    catalog::CatalogQuery,
    shop::ShopQuery,
    equal_opportunity::EqualOpportunityQuery,
    privacy::PrivacyQuery,
    processing::ProcessingQuery,
    retention::RetentionQuery,
    newsletter::MailQuery,
    campaigns::CampaignQuery,
    prospects::ProspectQuery,
);

/// The mutation root.
#[derive(MergedObject, Default)]
pub struct Mutation(
    account::AccountMutation,
    tenant::TenantMutation,
    tenant::TenantSettingsMutation,
    payments::PaymentMutation,
    narrowing::NarrowingMutation,
    user::ProfileMutation,
    consent::ConsentMutation,
    catalog::CatalogMutation,
    learning::LearningMutation,
    shop::ShopMutation,
    equal_opportunity::EqualOpportunityMutation,
    privacy::PrivacyMutation,
    death::DeathMutation,
    retention::RetentionMutation,
    newsletter::NewsletterMutation,
    campaigns::CampaignMutation,
    prospects::ProspectMutation,
);

pub type PupitreSchema = Schema<Query, Mutation, EmptySubscription>;

/// Limits checked before any resolver (or SQL) runs: complexity by async-graphql's validation,
/// depth, introspection and the rest by [`limits::check`].
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_depth: usize,
    pub max_complexity: usize,
    pub introspection: bool,
}

impl From<&crate::config::Settings> for Limits {
    fn from(s: &crate::config::Settings) -> Self {
        Limits {
            max_depth: s.graphql_max_depth,
            max_complexity: s.graphql_max_complexity,
            introspection: s.introspection,
        }
    }
}

/// Builds the schema; `services` is `None` only to print the SDL. The depth limit is not
/// async-graphql's (which would count introspection like data and refuse every common client's
/// introspection query): [`limits::check`] applies it, before the schema sees the request.
pub fn build_schema(limits: Limits, services: Option<Services>) -> PupitreSchema {
    let mut b = Schema::build(Query::default(), Mutation::default(), EmptySubscription)
        .limit_complexity(limits.max_complexity)
        .limit_recursive_depth(32)
        .limit_directives(16);
    if !limits.introspection {
        b = b.disable_introspection();
    }
    if let Some(s) = services {
        b = b.data(s);
    }
    b.finish()
}

/// The SDL checked in at `graphql/schema.graphql`.
pub fn sdl() -> String {
    build_schema(Limits { max_depth: 64, max_complexity: 100_000, introspection: true }, None).sdl()
}
