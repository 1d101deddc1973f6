//! `/admin/audit`: every administrative act, newest first, filtered by actor or target.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::{AdminFrame, href_with, message};
use crate::{
    api::admin::audit_log,
    components::{
        filters::FilterForm,
        pager::Pages,
        table::{Column, ListTable},
        time::When,
    },
    model::{ActorKind, AuditAction},
    t,
};

#[component]
pub fn AdminAuditPage() -> impl IntoView {
    view! {
        <AdminFrame title=t!(admin.audit_log) next="/admin/audit" current="/admin/audit">
            {view! { <AuditTable /> }.into_any()}
        </AdminFrame>
    }
}

#[component]
fn AuditTable() -> impl IntoView {
    let query = use_query_map();
    let param = move |key: &str| query.with(|q| q.get(key));
    let params = move || (param("actor"), param("target"), param("offset"));
    let rows = Resource::new(params, |(actor, target, offset)| {
        crate::error::page_data(audit_log(actor, target, None, offset))
    });
    view! {
        <FilterForm action="/admin/audit">
            <div class="filters" role="search">
                <div class="field field-inline">
                    <label for="filter-actor">{t!(admin.actor)}</label>
                    <input id="filter-actor" type="search" name="actor" placeholder=t!(admin.email_or_id)
                        prop:value=move || param("actor").unwrap_or_default() />
                </div>
                <div class="field field-inline">
                    <label for="filter-target">{t!(admin.target)}</label>
                    <input id="filter-target" type="search" name="target" placeholder=t!(admin.email_or_id)
                        prop:value=move || param("target").unwrap_or_default() />
                </div>
                <button type="submit" class="button button-small">{t!(admin.filter)}</button>
            </div>
        </FilterForm>
        <Transition fallback=|| view! { <p>{t!(admin.loading)}</p> }>
            {move || rows.get().map(|result| match result {
                Err(e) => view! { <div role="alert" class="form-error">{message(&e)}</div> }.into_any(),
                Ok(page) => {
                    let (actor, target, _) = params();
                    let href = move |offset: u32| href_with("/admin/audit", &[
                        ("actor", actor.clone()), ("target", target.clone()),
                        ("offset", Some(offset.to_string())),
                    ]);
                    let pages = Pages::new(&page, &href);
                    let columns = vec![
                        Column::text(t!(admin.when)),
                        Column::text(t!(admin.who)),
                        Column::text(t!(admin.did)),
                        Column::text(t!(admin.to)),
                        Column::text(t!(admin.details)),
                        Column::text(t!(admin.from)),
                    ];
                    view! {
                        // Nothing in it takes the focus, so the box does: the keyboard can then
                        // scroll it sideways where it is wider than the screen.
                        <ListTable caption=t!(admin.audit_log) columns focusable=true pages>
                            {page.items.into_iter().map(|row| {
                                let who = match row.actor_kind {
                                    ActorKind::CommandLine => t!(admin.command_line).to_string(),
                                    ActorKind::Administrator => row.actor_email.unwrap_or_else(|| t!(admin.deleted_account).into()),
                                };
                                let details = row.details.shown().to_string();
                                view! {
                                    <tr>
                                        <td><When at=row.at /></td>
                                        <td>{who}</td>
                                        <td>{action_text(row.action)}</td>
                                        <td>{row.target_email.unwrap_or_default()}</td>
                                        <td><code>{details}</code></td>
                                        <td>{row.ip.unwrap_or_default()}</td>
                                    </tr>
                                }
                            }).collect_view()}
                        </ListTable>
                    }
                    .into_any()
                }
            })}
        </Transition>
    }
}

/// An act as the log names it.
fn action_text(action: AuditAction) -> &'static str {
    match action {
        AuditAction::AdminCreated => t!(admin.action_admin_created),
        AuditAction::RoleChanged => t!(admin.action_role_changed),
        AuditAction::UserDisabled => t!(admin.action_user_disabled),
        AuditAction::UserEnabled => t!(admin.action_user_enabled),
        AuditAction::ActivationResent => t!(admin.action_activation_resent),
        AuditAction::UserDeleted => t!(admin.action_user_deleted),
        AuditAction::EmailRetried => t!(admin.action_email_retried),
        AuditAction::ProductCreated => t!(admin.action_product_created),
        AuditAction::ProductUpdated => t!(admin.action_product_updated),
        AuditAction::ProductDeleted => t!(admin.action_product_deleted),
        AuditAction::SecondFactorsRemoved => t!(admin.action_second_factors_removed),
    }
}
