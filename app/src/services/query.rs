//! Reading a list endpoint's query string and free text: enums, plain text and `LIKE`
//! patterns, each a 422 naming its field when it does not parse.

use super::paging::blank_to_none;
use crate::error::ApiError;
use crate::t;

/// Free text a person types (a search, a reason, a name): control characters (a NUL
/// would not even reach Postgres) and invisible direction overrides are refused.
pub fn plain_text<'a>(raw: &'a str, field: &str) -> Result<&'a str, ApiError> {
    let allowed = |c: char| matches!(c, '\n' | '\t') || !crate::domain::is_forbidden_char(c);
    if raw.chars().all(allowed) {
        Ok(raw)
    } else {
        Err(ApiError::invalid(field, t!(errors.plain_text_only)))
    }
}

/// A stored enum from a query parameter; blank is `None`, anything unknown a 422 listing the
/// allowed spellings.
pub fn parse_enum<T: std::str::FromStr + std::fmt::Display>(
    raw: Option<&str>,
    field: &str,
    all: &[T],
) -> Result<Option<T>, ApiError> {
    blank_to_none(raw)
        .map(|text| {
            text.parse::<T>().map_err(|_| {
                let allowed: Vec<String> = all.iter().map(ToString::to_string).collect();
                ApiError::invalid(field, t!(errors.one_of, choices = allowed.join(", ")))
            })
        })
        .transpose()
}

/// `w` matched literally by `LIKE` (whose escape character is `\`).
pub fn escape_like(w: &str) -> String {
    let mut out = String::with_capacity(w.len());
    for c in w.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
