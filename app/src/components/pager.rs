//! Paged lists: links that carry a list's query, and the previous / next navigation.

use leptos::prelude::*;

use crate::t;

/// `path?k=v&…` with the given parameters, empty ones left out.
pub fn href_with(path: &str, params: &[(&str, Option<String>)]) -> String {
    let query: Vec<String> = params
        .iter()
        .filter_map(|(k, v)| {
            v.as_deref()
                .filter(|v| !v.is_empty())
                .map(|v| format!("{k}={}", encode(v)))
        })
        .collect();
    if query.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", query.join("&"))
    }
}

/// Percent-encodes everything but unreserved characters (RFC 3986).
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// "Showing 21–40 of 135" and the previous / next links of a paged list.
#[component]
pub fn Pager(
    total: i64,
    /// `false`: more match than `total` (the server stopped counting).
    total_exact: bool,
    limit: u32,
    offset: u32,
    /// The link to the page starting at an offset.
    href: impl Fn(u32) -> String + 'static,
) -> impl IntoView {
    let first = if total == 0 { 0 } else { i64::from(offset) + 1 };
    let last = (i64::from(offset) + i64::from(limit)).min(total);
    let previous = (offset > 0).then(|| href(offset.saturating_sub(limit)));
    let next = (last < total || !total_exact).then(|| href(offset + limit));
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
}
