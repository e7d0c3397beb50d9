//! The privacy floor: what the personal-data registry (`policy::registry`) needs from the
//! database (reading the live schema so that the registry can be checked against it), the
//! data-subject requests ([`requests`]) with the resumable steps that carry them out, the
//! access and portability [`export`], erasure with its report ([`erasure`]), the marketing
//! suppression list ([`suppression`]) and the record of processing ([`record`]). The retention
//! sweep is `domain::retention`.

pub mod erasure;
pub mod export;
pub mod record;
pub mod requests;
pub mod schema;
pub mod suppression;
