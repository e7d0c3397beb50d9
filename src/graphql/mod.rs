//! The GraphQL API: types, inputs, resolvers and loaders. Thin: resolvers parse input, call a
//! domain service, wrap the result in an API type. Personal fields carry a [`guard::Need`]
//! guard naming their data category; no resolver decides access on its own.

/// A GraphQL enum mirroring a domain enum variant for variant, with both conversions.
macro_rules! gql_enum {
    ($gql:ident as $name:literal <=> $dom:ident { $($(#[$doc:meta])* $v:ident),* $(,)? }) => {
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
mod catalog;
mod consent;
mod equal_opportunity;
pub mod context;
pub mod guard;
mod learning;
mod loaders;
mod pagination;
mod shop;
mod tenant;
mod user;

use async_graphql::{EmptySubscription, MergedObject, Schema};

use crate::domain::Services;

/// The query root.
#[derive(MergedObject, Default)]
pub struct Query(user::UserQuery, tenant::TenantQuery, audit::AuditQuery, consent::ConsentQuery, catalog::CatalogQuery, shop::ShopQuery, equal_opportunity::EqualOpportunityQuery);

/// The mutation root.
#[derive(MergedObject, Default)]
pub struct Mutation(
    account::AccountMutation,
    user::ProfileMutation,
    consent::ConsentMutation,
    catalog::CatalogMutation,
    learning::LearningMutation,
    shop::ShopMutation,
    equal_opportunity::EqualOpportunityMutation,
);

pub type PupitreSchema = Schema<Query, Mutation, EmptySubscription>;

/// Limits checked during validation, before any resolver (or SQL) runs.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_depth: usize,
    pub max_complexity: usize,
    pub introspection: bool,
}

/// Builds the schema; `services` is `None` only to print the SDL.
pub fn build_schema(limits: Limits, services: Option<Services>) -> PupitreSchema {
    let mut b = Schema::build(Query::default(), Mutation::default(), EmptySubscription)
        .limit_depth(limits.max_depth)
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
