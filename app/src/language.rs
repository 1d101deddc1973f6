//! The languages of the product and the one each request gets.
//!
//! A language is a folder of `locales/` (its code, `fr`), found by `build.rs`: the generated
//! [`Locale`] enum lists them and names each in itself for the switcher. A request's
//! language is, in order: the switcher's choice (the [`COOKIE`]), the signed-in person's stored
//! language (`users.language`), the browser's `Accept-Language`, English.

// `Locale`: one variant per folder of `locales/`, the default first.
include!(concat!(env!("OUT_DIR"), "/languages.rs"));

/// One constant per key of the translation files: `k::common::nav_products`.
pub mod k {
    include!(concat!(env!("OUT_DIR"), "/keys.rs"));
}

/// Every language's texts in the keys' order, and each one's JSON for the browser (server only).
#[cfg(feature = "ssr")]
mod texts {
    include!(concat!(env!("OUT_DIR"), "/texts.rs"));
}

/// A text of the translation files (`k::common::nav_products`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key(pub usize);

/// A text that depends on a count: six slots from here, one per CLDR category (zero, one,
/// two, few, many, other), the ones a language does not use left empty.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plural(pub usize);

const OTHER: usize = 5;

/// The text of `key` in this page's language. Never inlined: every `t!` of every page calls it,
/// and a call is a few bytes of WASM where its body would be a few dozen.
#[inline(never)]
pub fn text(key: Key) -> &'static str {
    slot(key.0)
}

fn slot(index: usize) -> &'static str {
    #[cfg(feature = "ssr")]
    {
        text_in(page_language(), Key(index))
    }
    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    {
        browser::TEXTS
            .get()
            .and_then(|texts| texts.get(index).copied())
            .unwrap_or_default()
    }
    #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
    {
        let _ = index;
        ""
    }
}

/// The text of `key` in a given language (emails, API errors: the server's own choice).
#[cfg(feature = "ssr")]
pub fn text_in(locale: Locale, key: Key) -> &'static str {
    texts::TEXTS[locale as usize][key.0]
}

/// The text for `count` in this page's language, `{{ count }}` filled in.
#[inline(never)]
pub fn plural(key: Plural, count: u64) -> String {
    let category = category(page_language(), count);
    let text = match slot(key.0 + category) {
        "" => slot(key.0 + OTHER),
        text => text,
    };
    fill(text, &[("count", &count)])
}

/// The text for `count` in a given language (server only).
#[cfg(feature = "ssr")]
pub fn plural_in(locale: Locale, key: Plural, count: u64) -> String {
    let text = match text_in(locale, Key(key.0 + category(locale, count))) {
        "" => text_in(locale, Key(key.0 + OTHER)),
        text => text,
    };
    fill(text, &[("count", &count)])
}

/// CLDR's plural category of `count` in `locale`, as a slot offset: on the server from ICU4X's
/// data, in the browser from its own `Intl.PluralRules` (the same CLDR rules).
fn category(locale: Locale, count: u64) -> usize {
    #[cfg(feature = "ssr")]
    {
        use icu_plurals::{PluralCategory as C, PluralRules};
        thread_local! {
            static RULES: Vec<Option<PluralRules>> = Locale::ALL
                .iter()
                .map(|locale| {
                    let id = icu_locale_core::Locale::try_from_str(locale.code()).ok()?;
                    PluralRules::try_new_cardinal((&id).into()).ok()
                })
                .collect();
        }
        let category = RULES.with(|rules| {
            rules
                .get(locale as usize)
                .and_then(Option::as_ref)
                .map(|rules| rules.category_for(count))
        });
        match category {
            Some(C::Zero) => 0,
            Some(C::One) => 1,
            Some(C::Two) => 2,
            Some(C::Few) => 3,
            Some(C::Many) => 4,
            Some(C::Other) | None => OTHER,
        }
    }
    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    {
        browser::category(locale, count)
    }
    #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
    {
        let _ = (locale, count);
        OTHER
    }
}

/// `text` with each `{{ name }}` replaced by its value (left as it is when none is given).
#[inline(never)]
pub fn fill(text: &str, values: &[(&str, &dyn std::fmt::Display)]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let name = after[..end].trim();
        match values.iter().find(|(n, _)| *n == name) {
            Some((_, value)) => {
                let _ = write!(out, "{value}");
            }
            None => out.push_str(&rest[start..start + 2 + end + 2]),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

/// `t!(common.nav_products)`: a text of this page's language; with values,
/// `t!(home.code_summary, digits = 4)`, a `String` with its placeholders filled.
#[macro_export]
macro_rules! t {
    ($ns:ident . $key:ident) => {
        $crate::language::text($crate::language::k::$ns::$key)
    };
    ($ns:ident . $key:ident, $($name:ident = $value:expr),+ $(,)?) => {
        $crate::language::fill(
            $crate::language::text($crate::language::k::$ns::$key),
            &[$((stringify!($name), &$value as &dyn ::std::fmt::Display)),+],
        )
    };
}

/// `t_in!(locale, mail.goodbye_subject)`: [`t!`] in a given language (the server's emails).
#[macro_export]
macro_rules! t_in {
    ($locale:expr, $ns:ident . $key:ident) => {
        $crate::language::text_in($locale, $crate::language::k::$ns::$key)
    };
    ($locale:expr, $ns:ident . $key:ident, $($name:ident = $value:expr),+ $(,)?) => {
        $crate::language::fill(
            $crate::language::text_in($locale, $crate::language::k::$ns::$key),
            &[$((stringify!($name), &$value as &dyn ::std::fmt::Display)),+],
        )
    };
}

/// Every plain (not plural) key with its name (`"mail.hello"`), for tests that look at them all.
#[cfg(feature = "ssr")]
pub fn named_keys() -> impl Iterator<Item = (&'static str, Key)> {
    texts::NAMES
        .iter()
        .map(|(name, index)| (*name, Key(*index)))
}

/// A text by its name (`"mail"`, `"hello"`), for the email templates; `None` when no such key.
#[cfg(feature = "ssr")]
pub fn text_by_name(locale: Locale, namespace: &str, key: &str) -> Option<&'static str> {
    let name = format!("{namespace}.{key}");
    texts::NAMES
        .binary_search_by(|(n, _)| (*n).cmp(name.as_str()))
        .ok()
        .map(|found| text_in(locale, Key(texts::NAMES[found].1)))
}

/// The language of the page being rendered or the server function being run: the server's
/// choice for this request ([`of_this_request`], kept in the page's context by `App`), the
/// browser's `<html lang>`; English outside a request (a command-line subcommand, a worker).
pub fn page_language() -> Locale {
    #[cfg(feature = "ssr")]
    {
        leptos::prelude::use_context::<Locale>().unwrap_or_else(of_this_request)
    }
    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    {
        browser::locale()
    }
    #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
    {
        Locale::default()
    }
}

/// The browser's copy of its page's texts, fetched by the page script alongside the WASM.
#[cfg(all(feature = "hydrate", not(feature = "ssr")))]
mod browser {
    use std::sync::OnceLock;

    use super::{Locale, OTHER};

    pub static TEXTS: OnceLock<Vec<&'static str>> = OnceLock::new();
    static LOCALE: OnceLock<Locale> = OnceLock::new();

    pub fn locale() -> Locale {
        *LOCALE.get_or_init(|| {
            web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.document_element())
                .and_then(|html| html.get_attribute("lang"))
                .and_then(|code| Locale::from_code(&code))
                .unwrap_or_default()
        })
    }

    pub fn category(locale: Locale, count: u64) -> usize {
        let languages = js_sys::Array::of1(&locale.code().into());
        let rules = js_sys::Intl::PluralRules::new(&languages, &js_sys::Object::new());
        match rules.select(count as f64).as_string().as_deref() {
            Some("zero") => 0,
            Some("one") => 1,
            Some("two") => 2,
            Some("few") => 3,
            Some("many") => 4,
            _ => OTHER,
        }
    }
}

/// Keeps the page's texts (a JSON array of strings, the page script's fetch of the file
/// [`texts_file`] names) for the life of the page; `false` when they are not that.
#[cfg(feature = "hydrate")]
pub fn load_browser_texts(texts: js_sys::wasm_bindgen::JsValue) -> bool {
    #[cfg(not(feature = "ssr"))]
    {
        let array = js_sys::Array::from(&texts);
        let strings: Vec<&'static str> = array
            .iter()
            .map(|value| &*value.as_string().unwrap_or_default().leak())
            .collect();
        let complete = strings.len() == k::SLOTS;
        complete && browser::TEXTS.set(strings).is_ok()
    }
    #[cfg(feature = "ssr")]
    {
        let _ = texts;
        false
    }
}

/// The browser's file of a language's texts: its path (content-hashed, so it is kept a year)
/// and its JSON.
#[cfg(feature = "ssr")]
pub fn texts_file(locale: Locale) -> (String, &'static str) {
    let (hash, json) = texts::JSON[locale as usize];
    (format!("/texts/{}.{hash}.json", locale.code()), json)
}

/// The JSON of the file a path of [`texts_file`] names, if it is one.
#[cfg(feature = "ssr")]
pub fn texts_for_path(file: &str) -> Option<&'static str> {
    Locale::ALL
        .iter()
        .map(|locale| texts_file(*locale))
        .find(|(path, _)| path.strip_prefix("/texts/") == Some(file))
        .map(|(_, json)| json)
}

/// The cookie that keeps the language picked with the switcher (a year; not a secret).
pub const COOKIE: &str = "lang";

/// The language a code names, when the product has it (`"fr"`; a region is ignored: `"fr-CH"`).
pub fn supported(code: &str) -> Option<Locale> {
    let code = code.trim();
    let primary = code.split(['-', '_']).next().unwrap_or(code);
    Locale::from_code(&primary.to_ascii_lowercase())
}

/// The best language the product has among an `Accept-Language` header's: by q-value (ties keep
/// the header's order), `fr-CH` served by `fr`; `*` and `q=0` never pick one.
pub fn from_accept_language(header: &str) -> Option<Locale> {
    let mut ranked: Vec<(u16, usize, &str)> = header
        .split(',')
        .enumerate()
        .take(32)
        .filter_map(|(position, item)| {
            let mut parts = item.split(';');
            let tag = parts.next()?.trim();
            let quality = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(Some(1000), parse_quality)?;
            (quality > 0 && !tag.is_empty() && tag != "*").then_some((quality, position, tag))
        })
        .collect();
    ranked.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    ranked.into_iter().find_map(|(_, _, tag)| supported(tag))
}

/// A q-value in thousandths (`0.8` → 800); `None` when it is not one.
fn parse_quality(text: &str) -> Option<u16> {
    let value: f32 = text.trim().parse().ok()?;
    (0.0..=1.0)
        .contains(&value)
        .then(|| (value * 1000.0).round() as u16)
}

/// The language a request gets: the cookie, the stored choice, the header, the default.
pub fn choose(
    cookie: Option<&str>,
    stored: Option<Locale>,
    accept_language: Option<&str>,
) -> Locale {
    cookie
        .and_then(supported)
        .or(stored)
        .or_else(|| accept_language.and_then(from_accept_language))
        .unwrap_or_default()
}

/// The `Set-Cookie` value that keeps `locale` for a year (`None`: forgets the choice).
#[cfg(feature = "ssr")]
pub fn cookie(locale: Option<Locale>, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    match locale {
        Some(locale) => format!(
            "{COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax{secure}",
            locale.code()
        ),
        None => format!("{COOKIE}=; Path=/; Max-Age=0; SameSite=Lax{secure}"),
    }
}

/// The value of the language cookie among a request's `Cookie` headers.
#[cfg(feature = "ssr")]
pub fn cookie_value(headers: &http::HeaderMap) -> Option<&str> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value)
}

/// The language the server chose for the request being answered (set on the request by the
/// server's middleware; English when none ran, as in a unit test).
pub fn of_this_request() -> Locale {
    #[cfg(feature = "ssr")]
    {
        use leptos::prelude::use_context;
        use_context::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<Locale>().copied())
            .unwrap_or_default()
    }
    #[cfg(not(feature = "ssr"))]
    {
        Locale::default()
    }
}

/// On the wire: the language's code.
impl serde::Serialize for Locale {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> serde::Deserialize<'de> for Locale {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::from_code(&code)
            .ok_or_else(|| serde::de::Error::custom(format!("no language `{code}` here")))
    }
}

/// In the API document: a string, one of the languages' codes.
#[cfg(feature = "ssr")]
impl utoipa::PartialSchema for Locale {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(Locale::ALL.iter().map(|locale| locale.code())))
            .into()
    }
}

#[cfg(feature = "ssr")]
impl utoipa::ToSchema for Locale {
    fn name() -> std::borrow::Cow<'static, str> {
        "Language".into()
    }
}

#[cfg(feature = "ssr")]
impl sqlx::Type<sqlx::Postgres> for Locale {
    fn type_info() -> sqlx::postgres::PgTypeInfo {
        <&str as sqlx::Type<sqlx::Postgres>>::type_info()
    }

    fn compatible(ty: &sqlx::postgres::PgTypeInfo) -> bool {
        <&str as sqlx::Type<sqlx::Postgres>>::compatible(ty)
    }
}

#[cfg(feature = "ssr")]
impl sqlx::Encode<'_, sqlx::Postgres> for Locale {
    fn encode_by_ref(
        &self,
        buf: &mut sqlx::postgres::PgArgumentBuffer,
    ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        <&str as sqlx::Encode<sqlx::Postgres>>::encode_by_ref(&self.code(), buf)
    }
}

/// A stored language the product no longer has reads as English (removing a language's folder
/// needs no migration).
#[cfg(feature = "ssr")]
impl<'r> sqlx::Decode<'r, sqlx::Postgres> for Locale {
    fn decode(value: sqlx::postgres::PgValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        let text = <&str as sqlx::Decode<sqlx::Postgres>>::decode(value)?;
        Ok(supported(text).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_picks_by_quality_and_serves_a_region_with_its_language() {
        assert_eq!(from_accept_language("fr-CH, de;q=0.8"), Some(Locale::Fr));
        assert_eq!(from_accept_language("de;q=0.8, fr;q=0.9"), Some(Locale::Fr));
        assert_eq!(from_accept_language("es, de-AT;q=0.5"), Some(Locale::De));
        assert_eq!(from_accept_language("fr;q=0, de;q=0.1"), Some(Locale::De));
        assert_eq!(from_accept_language("es, *;q=0.5"), None);
        assert_eq!(from_accept_language(""), None);
        assert_eq!(from_accept_language("de;q=abc"), None);
    }

    #[test]
    fn the_cookie_beats_the_stored_language_which_beats_the_header() {
        let header = Some("fr-CH, de;q=0.8");
        assert_eq!(choose(None, None, header), Locale::Fr);
        assert_eq!(choose(None, Some(Locale::De), header), Locale::De);
        assert_eq!(choose(Some("en"), Some(Locale::De), header), Locale::En);
        assert_eq!(choose(Some("xx"), None, Some("zz")), Locale::En);
    }

    #[test]
    fn every_language_names_itself_and_english_comes_first() {
        assert_eq!(Locale::ALL[0], Locale::En);
        for locale in Locale::ALL {
            assert_eq!(supported(locale.code()), Some(*locale));
            assert!(!locale.name().is_empty());
        }
    }

    /// `build.rs` refuses files whose keys differ; this checks what it generated: every text
    /// English has, every language has, and no two languages share a sentence (a sentence left
    /// in English).
    #[test]
    fn every_language_has_every_text_and_none_is_left_in_english() {
        for (name, key) in named_keys() {
            let english = text_in(Locale::En, key);
            assert!(!english.is_empty(), "{name} is empty in English");
            for locale in &Locale::ALL[1..] {
                let text = text_in(*locale, key);
                assert!(!text.is_empty(), "{name} is missing in {}", locale.code());
                let words = fill(english, &[])
                    .split("{{")
                    .map(|part| part.split_once("}}").map_or(part, |(_, rest)| rest))
                    .flat_map(str::split_whitespace)
                    .filter(|word| word.chars().any(char::is_alphabetic))
                    .count();
                let sentence = words >= 4;
                assert!(
                    !sentence || text != english,
                    "{name} is still English in {}: {text}",
                    locale.code()
                );
            }
        }
    }

    #[test]
    fn placeholders_are_filled_by_name_and_unknown_ones_are_kept() {
        assert_eq!(
            fill("{{ a }} and {{b}}", &[("a", &1), ("b", &"two")]),
            "1 and two"
        );
        assert_eq!(fill("{{ missing }}!", &[]), "{{ missing }}!");
        assert_eq!(fill("open {{ end", &[]), "open {{ end");
    }
}
