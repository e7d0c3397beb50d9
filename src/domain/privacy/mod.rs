//! The privacy floor: what the personal-data registry (`policy::registry`) needs from the
//! database. Today: reading the live schema so that the registry can be checked against it.
//! Data-subject requests, export, erasure and the retention sweep build here.

pub mod schema;
