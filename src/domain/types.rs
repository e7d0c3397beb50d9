//! Parsed value types ("parse, don't validate"). Each `parse` returns the field-relative error
//! the API reports as `BAD_USER_INPUT`; `Debug` of personal values is redacted.

use std::fmt;

use chrono::NaiveDate;

use crate::error::AppError;

macro_rules! redacted {
    ($ty:ident) => {
        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($ty), "(<redacted>)"))
            }
        }
    };
}

fn bad(field: &str, message: &str) -> AppError {
    AppError::bad_input(field, message)
}

fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

/// A normalised e-mail address (trimmed, lower-cased).
#[derive(Clone, PartialEq, Eq)]
pub struct Email(String);
redacted!(Email);

impl Email {
    pub fn parse(field: &str, raw: &str) -> Result<Self, AppError> {
        let s = raw.trim().to_lowercase();
        let err = || bad(field, "must be a valid e-mail address");
        if s.len() > 254 || has_control(&s) || s.contains(char::is_whitespace) {
            return Err(err());
        }
        let (local, domain) = s.rsplit_once('@').ok_or_else(err)?;
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain.split('.').all(|l| {
                !l.is_empty() && l.len() <= 63 && l.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        if local.is_empty() || local.len() > 64 || local.contains('@') || !domain_ok {
            return Err(err());
        }
        Ok(Email(s))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A phone number in E.164 (`+33612345678`); spaces, dots, dashes and parentheses are dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct Phone(String);
redacted!(Phone);

impl Phone {
    pub fn parse(field: &str, raw: &str) -> Result<Self, AppError> {
        let compact: String =
            raw.chars().filter(|c| !matches!(c, ' ' | '.' | '-' | '(' | ')')).collect();
        let digits = compact.strip_prefix('+').ok_or_else(|| {
            bad(field, "must be an international number in E.164 format, e.g. +33612345678")
        })?;
        if !(8..=15).contains(&digits.len())
            || !digits.chars().all(|c| c.is_ascii_digit())
            || digits.starts_with('0')
        {
            return Err(bad(
                field,
                "must be an international number in E.164 format, e.g. +33612345678",
            ));
        }
        Ok(Phone(compact))
    }
    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A person's first or last name.
#[derive(Clone, PartialEq, Eq)]
pub struct PersonName(String);
redacted!(PersonName);

impl PersonName {
    pub fn parse(field: &str, raw: &str) -> Result<Self, AppError> {
        let s = raw.trim();
        if s.is_empty() || s.chars().count() > 100 {
            return Err(bad(field, "must be between 1 and 100 characters"));
        }
        if !s.chars().all(|c| c.is_alphabetic() || matches!(c, ' ' | '-' | '\'' | '’' | '.')) {
            return Err(bad(
                field,
                "may contain letters, spaces, hyphens, apostrophes and dots only",
            ));
        }
        Ok(PersonName(s.to_owned()))
    }
    pub fn into_inner(self) -> String {
        self.0
    }
}

/// Civility (form of address), as printed on invoices; stored as written in
/// [`crate::entities::enums`].
pub use crate::entities::enums::Civility;

/// A postal address; the country is an ISO 3166-1 alpha-2 code.
#[derive(Clone, PartialEq, Eq)]
pub struct PostalAddress {
    pub line1: String,
    pub line2: Option<String>,
    pub postal_code: String,
    pub city: String,
    pub country: String,
}
redacted!(PostalAddress);

impl PostalAddress {
    pub fn parse(
        field: &str,
        line1: &str,
        line2: Option<&str>,
        postal_code: &str,
        city: &str,
        country: &str,
    ) -> Result<Self, AppError> {
        let text = |name: &str, v: &str, max: usize| -> Result<String, AppError> {
            let v = v.trim();
            if v.is_empty() || v.chars().count() > max || has_control(v) {
                return Err(bad(
                    &format!("{field}.{name}"),
                    &format!("must be between 1 and {max} characters"),
                ));
            }
            Ok(v.to_owned())
        };
        let line1 = text("line1", line1, 200)?;
        let line2 = match line2.map(str::trim).filter(|s| !s.is_empty()) {
            Some(l) => Some(text("line2", l, 200)?),
            None => None,
        };
        let postal_code = text("postalCode", postal_code, 16)?;
        if !postal_code.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-') {
            return Err(bad(
                &format!("{field}.postalCode"),
                "may contain letters, digits, spaces and hyphens only",
            ));
        }
        let city = text("city", city, 100)?;
        let country = country.trim().to_uppercase();
        if country.len() != 2 || !country.chars().all(|c| c.is_ascii_uppercase()) {
            return Err(bad(
                &format!("{field}.country"),
                "must be an ISO 3166-1 alpha-2 code, e.g. FR",
            ));
        }
        Ok(PostalAddress { line1, line2, postal_code, city, country })
    }
}

/// A birth date: not in the future, not before 1900.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct BirthDate(NaiveDate);
redacted!(BirthDate);

impl BirthDate {
    pub fn parse(field: &str, date: NaiveDate, today: NaiveDate) -> Result<Self, AppError> {
        let min = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(NaiveDate::MIN);
        if date > today || date < min {
            return Err(bad(field, "must be a past date after 1900-01-01"));
        }
        Ok(BirthDate(date))
    }
    pub fn date(self) -> NaiveDate {
        self.0
    }
}

/// Whether someone born on `birth` is a minor (under 18) on `today`.
pub fn is_minor(birth: NaiveDate, today: NaiveDate) -> bool {
    birth.checked_add_months(chrono::Months::new(18 * 12)).is_some_and(|adult| adult > today)
}

/// A password as typed: 12 to 128 characters. Never printed.
#[derive(Clone)]
pub struct Password(String);
redacted!(Password);

impl Password {
    pub fn parse(field: &str, raw: &str) -> Result<Self, AppError> {
        let n = raw.chars().count();
        if !(12..=128).contains(&n) {
            return Err(bad(field, "must be between 12 and 128 characters"));
        }
        Ok(Password(raw.to_owned()))
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// A BCP 47 language tag of the simple form `fr` or `fr-FR`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Locale(String);

impl Locale {
    pub fn parse(field: &str, raw: &str) -> Result<Self, AppError> {
        let s = raw.trim();
        let mut parts = s.split('-');
        let lang_ok = parts.next().is_some_and(|l| {
            (2..=3).contains(&l.len()) && l.chars().all(|c| c.is_ascii_lowercase())
        });
        let region_ok = match parts.next() {
            None => true,
            Some(r) => r.len() == 2 && r.chars().all(|c| c.is_ascii_uppercase()),
        };
        if !lang_ok || !region_ok || parts.next().is_some() {
            return Err(bad(field, "must be a language tag such as fr or fr-FR"));
        }
        Ok(Locale(s.to_owned()))
    }
    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A web origin (`https://shop.example.org`, `http://localhost:5173`) as browsers send it in
/// `Origin`: scheme, host and port only, lower-case, the default port left out. What CORS
/// compares, byte for byte, with the `Origin` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin(String);

impl Origin {
    pub fn parse(field: &str, raw: &str) -> Result<Self, AppError> {
        let s = raw.trim();
        let refuse = || {
            bad(
                field,
                "must be an origin such as https://shop.example.org (scheme, host and port, no path)",
            )
        };
        let url = url::Url::parse(s).map_err(|_| refuse())?;
        let bare = url.path() == "/" && url.query().is_none() && url.fragment().is_none();
        if !matches!(url.scheme(), "http" | "https")
            || !url.username().is_empty()
            || url.password().is_some()
            || !bare
            || s.len() > 200
        {
            return Err(refuse());
        }
        // A trailing `/` is the only path a browser's origin never has but people type.
        let origin = url.origin().ascii_serialization();
        if origin == "null" {
            return Err(refuse());
        }
        Ok(Origin(origin))
    }
    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A URL-safe identifier: lower-case letters, digits and hyphens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slug(String);

impl Slug {
    pub fn parse(field: &str, raw: &str) -> Result<Self, AppError> {
        let s = raw.trim();
        let ok = (1..=64).contains(&s.len())
            && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !s.starts_with('-')
            && !s.ends_with('-');
        if !ok {
            return Err(bad(field, "must be 1 to 64 lower-case letters, digits or hyphens"));
        }
        Ok(Slug(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            Email::parse("e", "  Lea.Martin@Example.FR ").map(|e| e.into_inner()).ok(),
            Some("lea.martin@example.fr".into())
        );
        for bad in ["", "no-at", "a@b", "a@@b.fr", "a b@c.fr", "@x.fr", "a@.fr", "a@x..fr"] {
            assert!(Email::parse("e", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn origins_are_scheme_host_and_port_only() {
        let o = |s: &str| Origin::parse("o", s).map(Origin::into_inner);
        assert_eq!(
            o("https://Shop.Example.org/").ok().as_deref(),
            Some("https://shop.example.org")
        );
        assert_eq!(o("http://localhost:5173").ok().as_deref(), Some("http://localhost:5173"));
        assert_eq!(o("https://a.example:443").ok().as_deref(), Some("https://a.example"));
        for bad in [
            "*",
            "shop.example.org",
            "ftp://a.example",
            "https://a.example/shop",
            "https://u:p@a.example",
            "https://a.example?x=1",
            "null",
            "",
        ] {
            assert!(o(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn phones_must_be_e164() {
        assert!(Phone::parse("p", "+33 6 12 34 56 78").is_ok());
        for bad in ["0612345678", "+0612345678", "+33abc", "+1234", "+1234567890123456"] {
            assert!(Phone::parse("p", bad).is_err(), "{bad}");
        }
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("a real date")
    }

    #[test]
    fn debug_never_prints_personal_values() {
        // Every value is parsed for real (a parse error fails the test, it is not printed).
        let email = Email::parse("e", "lea@example.fr").expect("a valid e-mail");
        assert_eq!(format!("{email:?}"), "Email(<redacted>)");
        let phone = Phone::parse("p", "+33 6 12 34 56 78").expect("a valid phone");
        assert_eq!(format!("{phone:?}"), "Phone(<redacted>)");
        let name = PersonName::parse("n", "Léa").expect("a valid name");
        assert_eq!(format!("{name:?}"), "PersonName(<redacted>)");
        let address = PostalAddress::parse("a", "12 rue des Lilas", None, "75011", "Paris", "FR")
            .expect("a valid address");
        assert_eq!(format!("{address:?}"), "PostalAddress(<redacted>)");
        let birth = BirthDate::parse("b", date(2012, 5, 14), date(2026, 11, 26))
            .expect("a valid birth date");
        assert_eq!(format!("{birth:?}"), "BirthDate(<redacted>)");
        let password = Password::parse("p", "correct horse battery").expect("a valid password");
        assert_eq!(format!("{password:?}"), "Password(<redacted>)");
        // Inside containers too: the redaction is the type's own.
        assert_eq!(format!("{:?}", Some(&email)), "Some(Email(<redacted>))");
    }

    #[test]
    fn minors_are_under_eighteen() {
        let today = date(2026, 11, 26);
        assert!(is_minor(date(2012, 5, 14), today));
        assert!(is_minor(date(2008, 11, 27), today), "eighteen tomorrow: still a minor today");
        assert!(!is_minor(date(2008, 11, 26), today), "eighteen today: an adult");
    }
}

/// An ISO 4217 currency code (`EUR`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Currency(String);

impl Currency {
    pub fn parse(field: &str, raw: &str) -> Result<Self, AppError> {
        let s = raw.trim().to_uppercase();
        if s.len() != 3 || !s.chars().all(|c| c.is_ascii_uppercase()) {
            return Err(bad(field, "must be an ISO 4217 currency code such as EUR"));
        }
        Ok(Currency(s))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An amount in integer minor units (cents) of a currency; never a float.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Money {
    pub cents: i64,
    pub currency: Currency,
}

impl Money {
    /// Largest price the catalogue accepts: 1,000,000.00.
    pub const MAX_CENTS: i64 = 100_000_000;

    pub fn parse(field: &str, cents: i64, currency: &str) -> Result<Self, AppError> {
        if !(0..=Self::MAX_CENTS).contains(&cents) {
            return Err(bad(
                &format!("{field}.amountCents"),
                "must be between 0 and 100000000 (minor units)",
            ));
        }
        Ok(Money { cents, currency: Currency::parse(&format!("{field}.currency"), currency)? })
    }
}

/// A catalogue tag: 1 to 32 lower-case letters, digits or hyphens.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag(String);

impl Tag {
    pub fn parse(field: &str, raw: &str) -> Result<Self, AppError> {
        let s = raw.trim().to_lowercase();
        let ok = (1..=32).contains(&s.chars().count())
            && s.chars().all(|c| c.is_alphanumeric() || c == '-');
        if !ok {
            return Err(bad(field, "must be 1 to 32 lower-case letters, digits or hyphens"));
        }
        Ok(Tag(s))
    }
    pub fn into_inner(self) -> String {
        self.0
    }
}

/// Free text of bounded length without control characters (line breaks allowed if `multiline`).
pub fn text(
    field: &str,
    raw: &str,
    min: usize,
    max: usize,
    multiline: bool,
) -> Result<String, AppError> {
    let s = raw.trim();
    let n = s.chars().count();
    if n < min || n > max {
        return Err(bad(field, &format!("must be between {min} and {max} characters")));
    }
    if s.chars().any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\r' || c == '\t'))) {
        return Err(bad(field, "must not contain control characters"));
    }
    Ok(s.to_owned())
}

/// A link Pupitre stores and hands to browsers: virtual rooms, class recordings, privacy
/// policies, any link to come. The only way a link gets in ("parse, don't validate"):
///
/// - `https://` only (no `javascript:`, `data:`, `http:`, scheme-relative `//host`, …);
/// - a host is required, and no credentials (`https://user:pass@host`);
/// - at most [`HttpsUrl::MAX_LEN`] bytes, as typed and once normalised;
/// - no whitespace, no control characters and no backslash anywhere (browsers silently drop
///   tabs and line breaks and read `\` as `/`, so what was checked would not be what opens).
///
/// It is parsed as browsers parse it (WHATWG URL) and kept in that normalised form: what was
/// checked is what a browser opens. `Debug` is redacted (links may carry meeting passwords).
#[derive(Clone, PartialEq, Eq)]
pub struct HttpsUrl(String);
redacted!(HttpsUrl);

impl HttpsUrl {
    /// Longest link accepted, in bytes (what browsers and proxies handle everywhere).
    pub const MAX_LEN: usize = 2048;

    /// Parses a link typed by a client; errors name `field` (`BAD_USER_INPUT`).
    pub fn parse(field: &str, raw: &str) -> Result<Self, AppError> {
        let max = Self::MAX_LEN;
        if raw.len() > max {
            return Err(bad(
                field,
                &format!("must be an https:// URL of at most {max} characters"),
            ));
        }
        if raw.chars().any(|c| c.is_control() || c.is_whitespace() || c == '\\') {
            return Err(bad(
                field,
                "must be an https:// URL without spaces, control characters or backslashes",
            ));
        }
        if !raw.get(..8).is_some_and(|p| p.eq_ignore_ascii_case("https://")) {
            return Err(bad(field, "must be an https:// URL"));
        }
        let url =
            url::Url::parse(raw).map_err(|_| bad(field, "must be an https:// URL with a host"))?;
        if url.scheme() != "https" || url.host_str().is_none_or(str::is_empty) {
            return Err(bad(field, "must be an https:// URL with a host"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad(field, "must not contain a user name or password"));
        }
        let normalised = String::from(url);
        if normalised.len() > max {
            return Err(bad(
                field,
                &format!("must be an https:// URL of at most {max} characters"),
            ));
        }
        Ok(HttpsUrl(normalised))
    }

    /// A link read back from storage, checked again: a row written before these checks
    /// existed (or by hand) is never served. `None` when it does not pass.
    pub fn stored(raw: &str) -> Option<Self> {
        Self::parse("stored", raw).ok()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod url_tests {
    use super::HttpsUrl;

    #[test]
    fn links_must_be_https_with_a_host_and_nothing_hidden() {
        for bad in [
            "javascript:alert(1)",
            "JaVaScRiPt:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "http://example.com/",
            "//evil.example/",
            "https:evil.example",
            "https://",
            "https:///",
            "https://?q",
            "https://user:secret@example.com/",
            "https://user@example.com/",
            "https://example.com/\\evil",
            "https://example.com/a b",
            "https://example.com/\u{0}",
            "https://example.com/\n",
            "\thttps://example.com/",
            "https://example.com/\u{85}",
            "",
        ] {
            assert!(HttpsUrl::parse("f", bad).is_err(), "{bad:?} was accepted");
        }
        let long = format!("https://example.com/{}", "a".repeat(HttpsUrl::MAX_LEN));
        assert!(HttpsUrl::parse("f", &long).is_err());
    }

    #[test]
    fn links_are_kept_as_browsers_read_them() {
        let ok = |s: &str| HttpsUrl::parse("f", s).map(HttpsUrl::into_inner).ok();
        assert_eq!(
            ok("https://classe.demo.pupitre.test/room/preparation-toeic-1").as_deref(),
            Some("https://classe.demo.pupitre.test/room/preparation-toeic-1")
        );
        assert_eq!(ok("HTTPS://Example.COM").as_deref(), Some("https://example.com/"));
        assert_eq!(
            ok("https://example.com:8443/r?id=1#t").as_deref(),
            Some("https://example.com:8443/r?id=1#t")
        );
        let grown = format!("https://example.com/{}", "é".repeat(600));
        assert!(
            HttpsUrl::parse("f", &grown).is_err(),
            "percent-encoding makes it longer than the bound"
        );
    }
}
