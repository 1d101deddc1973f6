//! `/admin`: the users table, with search, filters, sort and pagination in the URL.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::{AdminFrame, href_with, message, role_text, status_text};
use crate::{
    api::admin::admin_users,
    components::{
        filters::FilterForm,
        pager::Pages,
        table::{Column, ListTable},
        time::{When, WhenOr},
    },
    model::{AccountStatus, Role, UserSort},
    t,
};

#[component]
pub fn AdminUsersPage() -> impl IntoView {
    view! {
        <AdminFrame title=t!(admin.users) next="/admin" current="/admin">
            {view! { <UsersTable /> }.into_any()}
        </AdminFrame>
    }
}

/// An order of the table as the filter names it.
fn sort_text(sort: UserSort) -> &'static str {
    match sort {
        UserSort::Newest => t!(admin.sort_newest),
        UserSort::Oldest => t!(admin.sort_oldest),
        UserSort::Name => t!(admin.sort_name),
        UserSort::Email => t!(admin.sort_email),
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
    let statuses = std::iter::once(("", t!(admin.any_status)))
        .chain(
            AccountStatus::ALL
                .iter()
                .map(|s| (s.as_str(), status_text(*s))),
        )
        .collect();
    let roles = std::iter::once(("", t!(admin.any_role)))
        .chain(Role::ALL.iter().map(|r| (r.as_str(), role_text(*r))))
        .collect();
    let sorts = UserSort::ALL
        .iter()
        .map(|s| (s.as_str(), sort_text(*s)))
        .collect();
    let deleted = move || {
        param("deleted")
            .map(|_| view! { <p role="status" class="form-info">{t!(admin.account_deleted)}</p> })
    };
    view! {
        {deleted}
        <FilterForm action="/admin">
            <div class="filters" role="search">
                <div class="field field-inline">
                    <label for="filter-q">{t!(admin.search_label)}</label>
                    <input id="filter-q" type="search" name="q" prop:value=move || param("q").unwrap_or_default()
                        placeholder=t!(admin.search_placeholder) />
                </div>
                {choice("status", t!(admin.status), statuses, param("status"))}
                {choice("role", t!(admin.role), roles, param("role"))}
                {choice("sort", t!(admin.sort), sorts, param("sort"))}
                <button type="submit" class="button button-small">{t!(admin.search_button)}</button>
            </div>
        </FilterForm>
        <Transition fallback=|| view! { <p>{t!(admin.loading)}</p> }>
            {move || users.get().map(|result| match result {
                Err(e) => view! { <div role="alert" class="form-error">{message(&e)}</div> }.into_any(),
                Ok(page) => {
                    let (q, status, role, sort, _) = params();
                    let href = move |offset: u32| href_with("/admin", &[
                        ("q", q.clone()), ("status", status.clone()), ("role", role.clone()),
                        ("sort", sort.clone()), ("offset", Some(offset.to_string())),
                    ]);
                    let pages = Pages::new(&page, &href);
                    let columns = vec![
                        Column::text(t!(admin.name)),
                        Column::text(t!(admin.email)),
                        Column::text(t!(admin.phone)),
                        Column::text(t!(admin.status)),
                        Column::text(t!(admin.role)),
                        Column::text(t!(admin.registered)),
                        Column::text(t!(admin.last_sign_in)),
                    ];
                    view! {
                        <ListTable caption=t!(admin.accounts_caption) columns pages>
                            {page.items.into_iter().map(|u| view! {
                                <tr>
                                    <td><a href=format!("/admin/users/{}", u.user_id)>{format!("{} {}", u.first_name, u.last_name)}</a></td>
                                    <td>{u.email}</td>
                                    <td class="nowrap">{u.phone_display.0}</td>
                                    <td><span class=format!("badge badge-{}", u.status)>{status_text(u.status)}</span></td>
                                    <td>{role_text(u.role)}</td>
                                    <td><When at=u.created_at /></td>
                                    <td><WhenOr at=u.last_login_at otherwise=t!(admin.never) /></td>
                                </tr>
                            }).collect_view()}
                        </ListTable>
                    }
                    .into_any()
                }
            })}
        </Transition>
    }
}
