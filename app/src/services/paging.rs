//! `limit` and `offset` of list endpoints, read from the query string as text so a bad value
//! is a 422 naming its field rather than a framework error.

use crate::error::ApiError;

/// The default page size of list endpoints.
pub const DEFAULT_LIMIT: u32 = 20;
/// The largest page a list endpoint returns.
pub const MAX_LIMIT: u32 = 100;
/// Deeper than anyone pages by hand; narrow the search instead.
pub const MAX_OFFSET: u32 = 1_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Paging {
    pub limit: u32,
    pub offset: u32,
}

impl Paging {
    pub fn parse(limit: Option<&str>, offset: Option<&str>) -> Result<Self, ApiError> {
        let limit = match blank_to_none(limit) {
            None => DEFAULT_LIMIT,
            Some(raw) => raw
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| {
                    ApiError::invalid("limit", format!("Use a limit from 1 to {MAX_LIMIT}."))
                })?,
        };
        let offset = match blank_to_none(offset) {
            None => 0,
            Some(raw) => raw
                .parse::<u32>()
                .ok()
                .filter(|n| *n <= MAX_OFFSET)
                .ok_or_else(|| {
                    ApiError::invalid("offset", format!("Use an offset from 0 to {MAX_OFFSET}."))
                })?,
        };
        Ok(Self { limit, offset })
    }
}

/// An empty query parameter (`?status=`) means "not given", as a form submits it.
pub fn blank_to_none(raw: Option<&str>) -> Option<&str> {
    raw.map(str::trim).filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_offsets_are_bounded() {
        assert_eq!(
            Paging::parse(None, None),
            Ok(Paging {
                limit: DEFAULT_LIMIT,
                offset: 0
            })
        );
        assert_eq!(
            Paging::parse(Some("100"), Some(" 40 ")),
            Ok(Paging {
                limit: 100,
                offset: 40
            })
        );
        assert_eq!(Paging::parse(Some(""), None).map(|p| p.limit), Ok(20));
        for bad in ["0", "101", "-1", "ten", "1e2"] {
            let e = Paging::parse(Some(bad), None).expect_err(bad);
            assert_eq!(e.field.as_deref(), Some("limit"));
        }
        let e = Paging::parse(None, Some("-5")).expect_err("negative");
        assert_eq!(e.field.as_deref(), Some("offset"));
    }
}
