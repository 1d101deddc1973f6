//! `/admin`: the users table, with search, filters, sort and pagination in the URL.

use leptos::prelude::*;
use leptos_router::{components::Form, hooks::use_query_map};

use super::{AdminFrame, Pager, href_with, message};
use crate::{
    api::admin::admin_users,
    components::time::{When, WhenOr},
    model::{AccountStatus, Role, UserSort},
};

#[component]
pub fn AdminUsersPage() -> impl IntoView {
    view! {
        <AdminFrame title="Users" next="/admin" current="/admin">
            {view! { <UsersTable /> }.into_any()}
        </AdminFrame>
    }
}

/// A `<select>` of a query parameter's values, "any" first.
fn choice(
    name: &'static str,
    label: &'static str,
    options: Vec<(&'static str, &'static str)>,
    current: Option<String>,
) -> impl IntoView {
    let id = format!("filter-{name}");
    view! {
        <div class="field field-inline">
            <label for=id.clone()>{label}</label>
            <select id=id name=name>
                {options.into_iter().map(|(value, text)| {
                    let selected = current.as_deref().unwrap_or("") == value;
                    view! { <option value=value selected=selected>{text}</option> }
                }).collect_view()}
            </select>
        </div>
    }
}

#[component]
fn UsersTable() -> impl IntoView {
    let query = use_query_map();
    let param = move |key: &str| query.with(|q| q.get(key));
    let params = move || {
        (
            param("q"),
            param("status"),
            param("role"),
            param("sort"),
            param("offset"),
        )
    };
    let users = Resource::new(params, |(q, status, role, sort, offset)| {
        crate::error::page_data(admin_users(q, status, role, sort, None, offset))
    });
    let statuses = std::iter::once(("", "Any status"))
        .chain(AccountStatus::ALL.iter().map(|s| (s.as_str(), s.as_str())))
        .collect();
    let roles = std::iter::once(("", "Any role"))
        .chain(Role::ALL.iter().map(|r| (r.as_str(), r.as_str())))
        .collect();
    let sorts = UserSort::ALL
        .iter()
        .map(|s| (s.as_str(), s.as_str()))
        .collect();
    let deleted = move || {
        param("deleted")
            .map(|_| view! { <p role="status" class="form-info">"The account was deleted."</p> })
    };
    view! {
        {deleted}
        <Form method="GET" action="/admin">
            <div class="filters" role="search">
                <div class="field field-inline">
                    <label for="filter-q">"Search"</label>
                    <input id="filter-q" type="search" name="q" prop:value=move || param("q").unwrap_or_default()
                        placeholder="Name, email or phone" />
                </div>
                {choice("status", "Status", statuses, param("status"))}
                {choice("role", "Role", roles, param("role"))}
                {choice("sort", "Sort", sorts, param("sort"))}
                <button type="submit" class="button button-small">"Search"</button>
            </div>
        </Form>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || users.get().map(|result| match result {
                Err(e) => view! { <div role="alert" class="form-error">{message(&e)}</div> }.into_any(),
                Ok(page) => {
                    let (q, status, role, sort, _) = params();
                    let href = move |offset: u32| href_with("/admin", &[
                        ("q", q.clone()), ("status", status.clone()), ("role", role.clone()),
                        ("sort", sort.clone()), ("offset", Some(offset.to_string())),
                    ]);
                    view! {
                        <div class="table-wrap">
                            <table class="table">
                                <caption class="visually-hidden">"Accounts"</caption>
                                <thead>
                                    <tr>
                                        <th scope="col">"Name"</th>
                                        <th scope="col">"Email"</th>
                                        <th scope="col">"Phone"</th>
                                        <th scope="col">"Status"</th>
                                        <th scope="col">"Role"</th>
                                        <th scope="col">"Registered"</th>
                                        <th scope="col">"Last sign-in"</th>
                                    </tr>
                                </thead>
                                <tbody>
                                    {page.items.into_iter().map(|u| view! {
                                        <tr>
                                            <td><a href=format!("/admin/users/{}", u.user_id)>{format!("{} {}", u.first_name, u.last_name)}</a></td>
                                            <td>{u.email}</td>
                                            <td class="nowrap">{u.phone_display.0}</td>
                                            <td><span class=format!("badge badge-{}", u.status)>{u.status.as_str()}</span></td>
                                            <td>{u.role.as_str()}</td>
                                            <td><When at=u.created_at /></td>
                                            <td><WhenOr at=u.last_login_at otherwise="never" /></td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                        <Pager total=page.total total_exact=page.total_exact limit=page.limit offset=page.offset href />
                    }
                    .into_any()
                }
            })}
        </Transition>
    }
}
