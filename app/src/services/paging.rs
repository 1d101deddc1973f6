//! `limit` and `offset` of list endpoints, read from the query string as text so a bad value
//! is a 422 naming its field rather than a framework error.

use crate::error::{ApiError, Context as _};
use crate::t;

/// The default page size of list endpoints.
pub const DEFAULT_LIMIT: u32 = 20;
/// The largest page a list endpoint returns.
pub const MAX_LIMIT: u32 = 100;
/// Deeper than anyone pages by hand; narrow the search instead.
pub const MAX_OFFSET: u32 = 1_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
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
                    ApiError::invalid("limit", t!(errors.limit_range, max = MAX_LIMIT))
                })?,
        };
        let offset = match blank_to_none(offset) {
            None => 0,
            Some(raw) => raw
                .parse::<u32>()
                .ok()
                .filter(|n| *n <= MAX_OFFSET)
                .ok_or_else(|| {
                    ApiError::invalid("offset", t!(errors.offset_range, max = MAX_OFFSET))
                })?,
        };
        Ok(Self { limit, offset })
    }
}

/// Matches counted before a list says "more than": an exact count of a search that matches
/// half a table would read half the table.
pub const COUNT_CAP: u32 = 100;

/// One page of `items` (a `select … where … order by …` without `limit`), with its
/// [`capped_total`] from `count`.
#[cfg(feature = "ssr")]
pub async fn fetch_page<T>(
    conn: &mut sqlx::PgConnection,
    paging: Paging,
    mut items: sqlx::QueryBuilder<'_, sqlx::Postgres>,
    count: sqlx::QueryBuilder<'_, sqlx::Postgres>,
    what: &str,
) -> Result<crate::model::Page<T>, ApiError>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
{
    push_window(&mut items, paging);
    let Paging { limit, offset } = paging;
    let items = items
        .build_query_as::<T>()
        .fetch_all(&mut *conn)
        .await
        .context(&format!("list {what}"))?;
    let (total, total_exact) =
        capped_total(conn, paging, items.len(), count, &format!("count {what}")).await?;
    Ok(crate::model::Page {
        items,
        total,
        total_exact,
        limit,
        offset,
    })
}

/// The `total` of a page that showed `shown` items, and whether it is exact: a first page that
/// is not full is the whole answer (nothing to count); otherwise `count` is run, counting up to
/// [`COUNT_CAP`] (or past the page shown). `count` is the start of the statement, `select
/// count(*) from (select 1 from … where …`, without the closing parenthesis.
#[cfg(feature = "ssr")]
pub async fn capped_total(
    conn: &mut sqlx::PgConnection,
    paging: Paging,
    shown: usize,
    mut count: sqlx::QueryBuilder<'_, sqlx::Postgres>,
    operation: &str,
) -> Result<(i64, bool), ApiError> {
    let Paging { limit, offset } = paging;
    let shown_total = i64::from(offset) + shown as i64;
    if offset == 0 && shown < limit as usize {
        return Ok((shown_total, true));
    }
    let cap = i64::from(COUNT_CAP.max(offset.saturating_add(limit)));
    push_cap(&mut count, cap);
    let counted: i64 = count
        .build_query_scalar()
        .fetch_one(conn)
        .await
        .context(operation)?;
    Ok(if counted > cap {
        (cap.max(shown_total), false)
    } else {
        (counted, true)
    })
}

/// Ends the statement of a page: its `limit` and `offset`, as parameters.
#[cfg(feature = "ssr")]
pub fn push_window(items: &mut sqlx::QueryBuilder<'_, sqlx::Postgres>, paging: Paging) {
    items
        .push(" limit ")
        .push_bind(i64::from(paging.limit))
        .push(" offset ")
        .push_bind(i64::from(paging.offset));
}

/// Ends the statement of a count ([`capped_total`]'s): at most `cap + 1` matches, as a
/// parameter.
#[cfg(feature = "ssr")]
pub fn push_cap(count: &mut sqlx::QueryBuilder<'_, sqlx::Postgres>, cap: i64) {
    count
        .push(" limit ")
        .push_bind(cap + 1)
        .push(") as matches");
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
