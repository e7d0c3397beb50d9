//! The privacy floor: what the personal-data registry (`policy::registry`) needs from the
//! database (reading the live schema so that the registry can be checked against it), and the
//! data-subject requests ([`requests`]) with the resumable steps that carry them out, and the
//! record of processing ([`record`]), the access and portability [`export`]. Erasure and the
//! retention sweep build here.

pub mod export;
pub mod record;
pub mod requests;
pub mod schema;
