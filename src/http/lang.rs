//! The language of error messages: `Accept-Language` picks French or English (the default), and
//! a GraphQL error's message is given in French when the client prefers it ([`localize`]).
//! Codes (`extensions.code`) and fields (`extensions.field`) never change: clients decide by
//! them; the message is for the person reading it.
//!
//! Messages are written in English where they are raised; [`fr::MESSAGES`] holds the French
//! text of each, keyed by the English one with `{}` for the values in it (a number, a status).
//! `tests/messages.rs` reads every message literal of `src/` and fails when one has no French
//! text. A message with none (a library's rarest validation errors) stays in English.

mod fr;

use std::collections::HashMap;
use std::sync::OnceLock;

/// The languages messages are written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    En,
    Fr,
}

impl Lang {
    /// The client's preferred language among ours (RFC 9110 `Accept-Language`: the highest
    /// `q`, the first listed among equals; `fr-CA` counts as `fr`); English when it names
    /// neither.
    pub fn from_accept_language(header: Option<&str>) -> Lang {
        let pick = |tag: &str| match tag.split('-').next() {
            Some("fr") => Some(Lang::Fr),
            Some("en") => Some(Lang::En),
            _ => None,
        };
        header.and_then(|raw| super::best_of(raw, pick)).unwrap_or(Lang::En)
    }
}

struct Catalogue {
    exact: HashMap<&'static str, &'static str>,
    /// Patterns with values, the most literal text first (so that `must be between {} and {}
    /// (the installation's limit)` is tried before `must be between {} and {}`).
    patterns: Vec<Pattern>,
}

struct Pattern {
    /// The English text split at each `{}`.
    en: Vec<&'static str>,
    /// The French text split at each `{}` or `{t}`.
    fr: Vec<&'static str>,
    /// Per value: whether it is itself a message to translate (`{t}` in the French text);
    /// other values (names, numbers, anything a person typed) are carried over as they are.
    translated: Vec<bool>,
}

fn split_french(fr: &'static str) -> (Vec<&'static str>, Vec<bool>) {
    let (mut pieces, mut flags, mut rest) = (Vec::new(), Vec::new(), fr);
    loop {
        let plain = rest.find("{}");
        let message = rest.find("{t}");
        let (at, len, flag) = match (plain, message) {
            (Some(p), Some(m)) if m < p => (m, 3, true),
            (Some(p), _) => (p, 2, false),
            (None, Some(m)) => (m, 3, true),
            (None, None) => break,
        };
        pieces.push(&rest[..at]);
        flags.push(flag);
        rest = &rest[at + len..];
    }
    pieces.push(rest);
    (pieces, flags)
}

fn catalogue() -> &'static Catalogue {
    static CATALOGUE: OnceLock<Catalogue> = OnceLock::new();
    CATALOGUE.get_or_init(|| {
        let mut exact = HashMap::new();
        let mut patterns = Vec::new();
        for (en, fr) in fr::MESSAGES {
            if en.contains("{}") {
                let (fr, translated) = split_french(fr);
                patterns.push(Pattern { en: en.split("{}").collect(), fr, translated });
            } else {
                exact.insert(*en, *fr);
            }
        }
        patterns.sort_by_key(|p| std::cmp::Reverse(p.en.iter().map(|s| s.len()).sum::<usize>()));
        Catalogue { exact, patterns }
    })
}

/// The values of `message` in the places of `pieces`' `{}`, if it has that shape.
fn captures<'m>(pieces: &[&str], message: &'m str) -> Option<Vec<&'m str>> {
    let (first, rest) = pieces.split_first()?;
    let (last, middle) = rest.split_last()?;
    let mut s = message.strip_prefix(first)?;
    let mut values = Vec::with_capacity(rest.len());
    for piece in middle {
        let at = s.find(piece)?;
        values.push(&s[..at]);
        s = &s[at + piece.len()..];
    }
    values.push(s.strip_suffix(last)?);
    Some(values)
}

/// `message` in `lang`, or `None` when it stays as it is (English, or no French text known).
pub fn localize(message: &str, lang: Lang) -> Option<String> {
    match lang {
        Lang::En => None,
        Lang::Fr => french(message, 2),
    }
}

fn french(message: &str, depth: u8) -> Option<String> {
    let c = catalogue();
    if let Some(fr) = c.exact.get(message) {
        return Some((*fr).to_owned());
    }
    for p in &c.patterns {
        let Some(values) = captures(&p.en, message) else { continue };
        let mut out = String::with_capacity(message.len() + 16);
        for (i, piece) in p.fr.iter().enumerate() {
            out.push_str(piece);
            if let (Some(v), Some(&translate)) = (values.get(i), p.translated.get(i)) {
                let inner = (translate && depth > 0).then(|| french(v, depth - 1)).flatten();
                out.push_str(inner.as_deref().unwrap_or(v));
            }
        }
        return Some(out);
    }
    None
}

/// Whether `pattern` (an English message with `{}` for its values) has a French text: the
/// check `tests/messages.rs` runs over every message of the source.
pub fn has_french(pattern: &str) -> bool {
    fr::MESSAGES.iter().any(|(en, _)| *en == pattern)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_preferred_language() {
        let l = |h: &str| Lang::from_accept_language(Some(h));
        assert_eq!(Lang::from_accept_language(None), Lang::En);
        assert_eq!(l("fr-FR,fr;q=0.9,en;q=0.8"), Lang::Fr);
        assert_eq!(l("en-GB,fr;q=0.5"), Lang::En);
        assert_eq!(l("de-DE,fr-CA;q=0.7,en;q=0.6"), Lang::Fr);
        assert_eq!(l("de"), Lang::En);
        assert_eq!(l("fr;q=0,en"), Lang::En);
    }

    /// Each pattern, filled with sample values, comes back as its own French text: no shorter
    /// pattern shadows a longer one.
    #[test]
    fn every_pattern_translates_to_its_own_text() {
        for (en, fr) in fr::MESSAGES.iter().filter(|(en, _)| en.contains("{}")) {
            let sample = en.replace("{}", "7");
            let want = fr.replace("{t}", "7").replace("{}", "7");
            assert_eq!(localize(&sample, Lang::Fr).as_deref(), Some(want.as_str()), "{en}");
        }
    }

    #[test]
    fn a_value_is_translated_only_where_it_is_a_message() {
        // A course named "not found" stays its name.
        let m = "currency mismatch: not found is priced in EUR, not USD";
        assert_eq!(
            localize(m, Lang::Fr).as_deref(),
            Some("devise différente : not found est vendu en EUR, pas en USD")
        );
    }

    #[test]
    fn messages_with_values_keep_them() {
        let fr = |m: &str| localize(m, Lang::Fr);
        assert_eq!(fr("not allowed").as_deref(), Some("action non autorisée"));
        assert_eq!(
            fr("must be between 5 and 1440").as_deref(),
            Some("doit être compris entre 5 et 1440")
        );
        assert_eq!(
            fr("too many attempts, retry in 42 s").as_deref(),
            Some("trop de tentatives, réessayez dans 42 s")
        );
        assert_eq!(
            fr("the payment provider is unavailable: nothing was kept, retry later").as_deref(),
            Some(
                "le prestataire de paiement ne répond pas : rien n’a été conservé, réessayez plus tard"
            ),
            "a value that is a message is translated too"
        );
        assert_eq!(
            fr("Unknown field \"titel\" on type \"Course\". Did you mean \"title\"?").as_deref(),
            Some("Champ « titel » inconnu sur le type « Course ». Vouliez-vous dire \"title\"?")
        );
        assert_eq!(fr("something never written"), None);
        assert_eq!(localize("not allowed", Lang::En), None);
    }
}
