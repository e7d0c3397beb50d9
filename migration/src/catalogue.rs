//! The two derived values of a course that the catalogue's indexes are built on, shared by the
//! migration that adds them and by the application that maintains them:
//!
//! - [`fold`]: the text searched (title and summary), lower-cased, accents removed, anything
//!   but letters and digits turned into single spaces, so that "Français", "FRANÇAIS" and
//!   "francais" are the same word on SQLite and PostgreSQL alike; a search term goes through the
//!   same function before it is compared.
//! - [`no_upcoming_session`]: the `next_start_at` of a course without an upcoming session, a
//!   date after every real one, so that the default order ("next session first, courses without
//!   one last") is a plain ascending index scan on both databases (SQLite sorts NULLs first).

use chrono::{DateTime, TimeZone, Utc};
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// `text` as the search index holds it (see the module documentation).
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = true;
    for c in text.nfkd().filter(|c| !is_combining_mark(*c)) {
        // Letters without a decomposition that French and English texts use.
        let mapped: &str = match c {
            'œ' | 'Œ' => "oe",
            'æ' | 'Æ' => "ae",
            'ß' => "ss",
            'ø' | 'Ø' => "o",
            'ł' | 'Ł' => "l",
            'đ' | 'Đ' => "d",
            _ => "",
        };
        if !mapped.is_empty() {
            out.push_str(mapped);
            space = false;
        } else if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
            space = false;
        } else if !space {
            out.push(' ');
            space = true;
        }
    }
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

/// The `next_start_at` of a course without an upcoming session (9999-12-31 00:00 UTC).
pub fn no_upcoming_session() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(9999, 12, 31, 0, 0, 0).single().unwrap_or(DateTime::<Utc>::MAX_UTC)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accents_case_and_punctuation_fold_away() {
        assert_eq!(fold("Français — niveau B2 !"), "francais niveau b2");
        assert_eq!(fold("FRANÇAIS"), "francais");
        assert_eq!(fold("  Œuvres d'Éluard,  cœur "), "oeuvres d eluard coeur");
        assert_eq!(fold("%_\\"), "");
        assert_eq!(fold("Straße"), "strasse");
    }

    #[test]
    fn the_sentinel_follows_every_real_date() {
        assert_eq!(no_upcoming_session().to_rfc3339(), "9999-12-31T00:00:00+00:00");
    }
}
