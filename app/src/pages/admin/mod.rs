//! `/admin`: the administrators' pages. Anonymous visitors are sent to sign in; anyone else who
//! is not an administrator gets the 404 page (the area does not exist for them). The server
//! checks the role again on every call: these pages only hide what would be refused.

mod audit;
mod mail;
mod user;
mod users;

use leptos::prelude::*;
use leptos_router::components::Redirect;

pub use audit::AdminAuditPage;
pub use mail::AdminMailPage;
pub use user::AdminUserPage;
pub use users::AdminUsersPage;

use crate::{model::Role, pages::not_found::NotFound, session::CurrentUser};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Gate {
    Anonymous,
    Administrator,
    Other,
}

/// Renders `children` for administrators only.
#[component]
fn AdminOnly(
    /// Where sign-in brings an anonymous visitor back to.
    next: &'static str,
    children: ChildrenFn,
) -> impl IntoView {
    let user = CurrentUser::get();
    let gate = Memo::new(move |_| {
        user.0.get().map(|result| match result {
            Ok(Some(profile)) if profile.role == Role::Admin => Gate::Administrator,
            Ok(None) => Gate::Anonymous,
            _ => Gate::Other,
        })
    });
    view! {
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || match gate.get() {
                Some(Gate::Anonymous) => {
                    view! { <Redirect path=format!("/login?next={next}") /> }.into_any()
                }
                Some(Gate::Administrator) => children().into_any(),
                Some(Gate::Other) => view! { <NotFound /> }.into_any(),
                None => ().into_any(),
            }}
        </Transition>
    }
}

/// The frame of every administrators' page: the title, the gate, the heading and the area's
/// navigation around `children`.
#[component]
fn AdminFrame(
    /// The page's part of the document title.
    title: &'static str,
    /// Where sign-in brings an anonymous visitor back to.
    next: &'static str,
    /// The navigation entry to mark as the current page ("" for none).
    current: &'static str,
    children: ChildrenFn,
) -> impl IntoView {
    let children = StoredValue::new(children);
    view! {
        <leptos_meta::Title text=format!("Administration · {title}") />
        <AdminOnly next>
            <section class="admin">
                <h1>"Administration"</h1>
                <AdminNav current />
                {children.read_value()()}
            </section>
        </AdminOnly>
    }
}

/// The area's own navigation; `current` is marked for assistive technology.
#[component]
fn AdminNav(current: &'static str) -> impl IntoView {
    let link = move |href: &'static str, label: &'static str| {
        let here = (href == current).then_some("page");
        view! { <li><a href=href aria-current=here>{label}</a></li> }
    };
    view! {
        <nav class="admin-nav" aria-label="Administration">
            <ul>
                {link("/admin", "Users")}
                {link("/admin/audit", "Audit log")}
                {link("/admin/mail", "Mail queue")}
            </ul>
        </nav>
    }
}

/// `path?k=v&…` with the given parameters, empty ones left out.
fn href_with(path: &str, params: &[(&str, Option<String>)]) -> String {
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
fn Pager(
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
        <nav class="pager" aria-label="Pages">
            <p>{format!("Showing {first}–{last} of {total}{more}")}</p>
            {previous.map(|h| view! { <a class="button button-small button-secondary" href=h rel="prev">"Previous"</a> })}
            {next.map(|h| view! { <a class="button button-small button-secondary" href=h rel="next">"Next"</a> })}
        </nav>
    }
}

/// A server error as one sentence for a notice.
fn message(e: &crate::error::ApiError) -> String {
    e.message.clone()
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
