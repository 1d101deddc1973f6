//! Paged lists: links that carry a list's query, and the previous / next navigation.

use leptos::prelude::*;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::{model::Page, t};

/// What a query value keeps as it is: the unreserved characters of RFC 3986.
const VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `path?k=v&…` with the given parameters, empty ones left out.
pub fn href_with(path: &str, params: &[(&str, Option<String>)]) -> String {
    let query: Vec<String> = params
        .iter()
        .filter_map(|(k, v)| {
            v.as_deref()
                .filter(|v| !v.is_empty())
                .map(|v| format!("{k}={}", utf8_percent_encode(v, VALUE)))
        })
        .collect();
    if query.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", query.join("&"))
    }
}

/// Where one page sits in a paged list ("Showing 21–40 of 135"), with the links to the pages
/// before and after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pages {
    first: i64,
    last: i64,
    total: i64,
    /// `false`: more match than `total` (the server stopped counting).
    total_exact: bool,
    previous: Option<String>,
    next: Option<String>,
}

impl Pages {
    /// `href` gives the link to the page starting at an offset.
    pub fn new<T>(page: &Page<T>, href: &dyn Fn(u32) -> String) -> Self {
        Self::of(page.total, page.total_exact, page.limit, page.offset, href)
    }

    fn of(
        total: i64,
        total_exact: bool,
        limit: u32,
        offset: u32,
        href: &dyn Fn(u32) -> String,
    ) -> Self {
        let first = if total == 0 { 0 } else { i64::from(offset) + 1 };
        let last = (i64::from(offset) + i64::from(limit)).min(total);
        Self {
            first,
            last,
            total,
            total_exact,
            previous: (offset > 0).then(|| href(offset.saturating_sub(limit))),
            next: (last < total || !total_exact).then(|| href(offset + limit)),
        }
    }
}

/// "Showing 21–40 of 135" and the previous / next links of a paged list.
#[component]
pub fn Pager(pages: Pages) -> impl IntoView {
    let Pages {
        first,
        last,
        total,
        total_exact,
        previous,
        next,
    } = pages;
    let more = if total_exact { "" } else { "+" };
    view! {
        <nav class="pager" aria-label=t!(shop.pages_label)>
            <p>{t!(shop.showing, first = first, last = last, total = total, more = more)}</p>
            {previous.map(|h| view! { <a class="button button-small button-secondary" href=h rel="prev">{t!(shop.previous)}</a> })}
            {next.map(|h| view! { <a class="button button-small button-secondary" href=h rel="next">{t!(shop.next)}</a> })}
        </nav>
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn links_carry_only_the_given_parameters() {
        assert_eq!(href_with("/admin", &[("q", None)]), "/admin");
        assert_eq!(
            href_with(
                "/admin",
                &[
                    ("q", Some("ada l+1@x".into())),
                    ("status", Some(String::new()))
                ]
            ),
            "/admin?q=ada%20l%2B1%40x"
        );
    }

    #[test]
    fn values_keep_only_unreserved_characters() {
        let value = |v: &str| href_with("/p", &[("k", Some(v.into()))]);
        // Letters, digits and `-._~` as they are; every other byte of the UTF-8 as %XX.
        assert_eq!(value("Az09-._~"), "/p?k=Az09-._~");
        assert_eq!(value("a&b=c#d?e/f"), "/p?k=a%26b%3Dc%23d%3Fe%2Ff");
        assert_eq!(value("100% *'()!"), "/p?k=100%25%20%2A%27%28%29%21");
        assert_eq!(value("thé 茶"), "/p?k=th%C3%A9%20%E8%8C%B6");
    }

    #[test]
    fn pages_say_where_they_are_and_link_to_their_neighbours() {
        let href = |offset: u32| format!("/o?offset={offset}");
        let pages = |total, exact, offset| Pages::of(total, exact, 20, offset, &href);
        let first = pages(45, true, 0);
        assert_eq!((first.first, first.last), (1, 20));
        assert_eq!(first.previous, None);
        assert_eq!(first.next.as_deref(), Some("/o?offset=20"));
        let last = pages(45, true, 40);
        assert_eq!((last.first, last.last), (41, 45));
        assert_eq!(last.previous.as_deref(), Some("/o?offset=20"));
        assert_eq!(last.next, None);
        // More match than were counted: there is always a next page.
        assert_eq!(pages(100, false, 80).next.as_deref(), Some("/o?offset=100"));
        let none = pages(0, true, 0);
        assert_eq!(
            (none.first, none.last, none.previous, none.next),
            (0, 0, None, None)
        );
    }

    proptest! {
        /// The same bytes as the hand-written encoder this replaced: RFC 3986's unreserved
        /// characters as they are, every other byte of the UTF-8 as `%XX` in capitals.
        #[test]
        fn encoding_matches_rfc_3986(value in "\\PC+") {
            let mut expected = String::from("/p?k=");
            for byte in value.bytes() {
                if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
                    expected.push(char::from(byte));
                } else {
                    expected.push_str(&format!("%{byte:02X}"));
                }
            }
            prop_assert_eq!(href_with("/p", &[("k", Some(value))]), expected);
        }
    }
}
