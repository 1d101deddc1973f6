//! `/admin`: the administrators' pages. Anonymous visitors are sent to sign in; anyone else who
//! is not an administrator gets the 404 page (the area does not exist for them). The server
//! checks the role again on every call: these pages only hide what would be refused.

mod audit;
mod mail;
mod product;
mod products;
mod user;
mod users;

use leptos::prelude::*;
use leptos_router::components::Redirect;

pub use audit::AdminAuditPage;
pub use mail::AdminMailPage;
pub use product::AdminProductPage;
pub use products::AdminProductsPage;
pub use user::AdminUserPage;
pub use users::AdminUsersPage;

use crate::{
    components::pager::href_with,
    model::{AccountStatus, Role},
    pages::not_found::NotFound,
    session::CurrentUser,
    t,
};

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
    let gate = user.ask(|user| {
        user.0.get().map(|result| match result {
            Ok(Some(profile)) if profile.role == Role::Admin => Gate::Administrator,
            Ok(None) => Gate::Anonymous,
            _ => Gate::Other,
        })
    });
    view! {
        <Transition fallback=|| view! { <p>{t!(admin.loading)}</p> }>
            {move || match gate() {
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
        <leptos_meta::Title text=t!(admin.document_title, title = title) />
        <AdminOnly next>
            <section class="admin">
                <h1>{t!(admin.heading)}</h1>
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
        <nav class="admin-nav" aria-label=t!(admin.nav_label)>
            <ul>
                {link("/admin", t!(admin.users))}
                {link("/admin/products", t!(admin.products))}
                {link("/admin/audit", t!(admin.audit_log))}
                {link("/admin/mail", t!(admin.mail_queue))}
            </ul>
        </nav>
    }
}

/// An account's status as the pages say it.
fn status_text(status: AccountStatus) -> &'static str {
    match status {
        AccountStatus::Pending => t!(admin.status_pending),
        AccountStatus::Active => t!(admin.status_active),
        AccountStatus::Locked => t!(admin.status_locked),
        AccountStatus::Disabled => t!(admin.status_disabled),
    }
}

/// A role as the pages say it.
fn role_text(role: Role) -> &'static str {
    match role {
        Role::User => t!(admin.role_user),
        Role::Admin => t!(admin.role_admin),
    }
}

/// A server error as one sentence for a notice.
fn message(e: &crate::error::ApiError) -> String {
    e.message.clone()
}
