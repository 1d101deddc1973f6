//! `/admin/mail`: the service's status on request, the mail queue, with the undeliverable (`dead`) messages queued again on
//! request, and the webhook queue with its given-up (`dead`) deliveries. No bodies are shown:
//! codes stay out of sight.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::{AdminFrame, href_with, message};
use crate::{
    api::{
        admin::{RetryEmail, outbox},
        webhooks::admin_webhooks,
    },
    components::{
        filters::FilterForm,
        pager::Pages,
        status_check::StatusCheck,
        table::{Column, ListTable},
        time::When,
    },
    language::{k, plural},
    model::OutboxStatus,
    t,
};

#[component]
pub fn AdminMailPage() -> impl IntoView {
    view! {
        <AdminFrame title=t!(admin.mail_queue) next="/admin/mail" current="/admin/mail">
            {view! { <StatusCheck /> <MailQueue /> <WebhookQueue /> }.into_any()}
        </AdminFrame>
    }
}

#[component]
fn MailQueue() -> impl IntoView {
    let query = use_query_map();
    let param = move |key: &str| query.with(|q| q.get(key));
    let retry = ServerAction::<RetryEmail>::new();
    let hydrated = crate::rules::Hydrated::get();
    let params = move || (param("status"), param("offset"), retry.version().get());
    let view_data = Resource::new(params, |(status, offset, _)| {
        crate::error::page_data(outbox(status, None, offset))
    });
    let notice = move || {
        retry.value().get().map(|r| match r {
            Ok(_) => {
                view! { <p role="status" class="form-info">{t!(admin.queued_again)}</p> }.into_any()
            }
            Err(e) => view! { <div role="alert" class="form-error">{message(&e)}</div> }.into_any(),
        })
    };
    view! {
        <FilterForm action="/admin/mail">
            <div class="filters" role="search">
                <div class="field field-inline">
                    <label for="filter-mail-status">{t!(admin.status)}</label>
                    <select id="filter-mail-status" name="status">
                        <option value="">{t!(admin.any_status)}</option>
                        {OutboxStatus::ALL.iter().map(|s| {
                            let selected = param("status").as_deref() == Some(s.as_str());
                            view! { <option value=s.as_str() selected=selected>{outbox_status_text(*s)}</option> }
                        }).collect_view()}
                    </select>
                </div>
                <button type="submit" class="button button-small">{t!(admin.show)}</button>
            </div>
        </FilterForm>
        {notice}
        <Transition fallback=|| view! { <p>{t!(admin.loading)}</p> }>
            {move || view_data.get().map(|result| match result {
                Err(e) => view! { <div role="alert" class="form-error">{message(&e)}</div> }.into_any(),
                Ok(queue) => {
                    let counts = queue.counts;
                    let page = queue.page;
                    let status = param("status");
                    let href = move |offset: u32| href_with("/admin/mail", &[
                        ("status", status.clone()), ("offset", Some(offset.to_string())),
                    ]);
                    let pages = Pages::new(&page, &href);
                    let columns = vec![
                        Column::text(t!(admin.queued)),
                        Column::text(t!(admin.recipient)),
                        Column::text(t!(admin.kind)),
                        Column::text(t!(admin.status)),
                        Column::text(t!(admin.tries)),
                        Column::text(t!(admin.last_error)),
                        Column::hidden(t!(admin.actions)),
                    ];
                    view! {
                        <ul class="counts" aria-label=t!(admin.messages_by_status)>
                            <li>{count(k::admin::mail_count_pending, counts.pending)}</li>
                            <li>{count(k::admin::mail_count_sent, counts.sent)}</li>
                            <li>{count(k::admin::mail_count_expired, counts.expired)}</li>
                            <li>{count(k::admin::mail_count_dead, counts.dead)}</li>
                        </ul>
                        // Focusable, for the keyboard to scroll it (see the audit log's table).
                        <ListTable caption=t!(admin.queued_mail) columns focusable=true pages>
                            {page.items.into_iter().map(|m| {
                                let id = m.id;
                                view! {
                                    <tr>
                                        <td><When at=m.created_at /></td>
                                        <td>{m.recipient.clone()}</td>
                                        <td>{mail_kind_text(&m.kind)}</td>
                                        <td>{outbox_status_text(m.status)}</td>
                                        <td>{m.attempts}</td>
                                        <td>{m.last_error.unwrap_or_default()}</td>
                                        <td>
                                            {(m.status == OutboxStatus::Dead).then(|| view! {
                                                <button type="button" class="button button-small button-secondary"
                                                    aria-label=t!(admin.retry_label, recipient = m.recipient)
                                                    disabled=move || !hydrated.get() || retry.pending().get()
                                                    on:click=move |_| { retry.dispatch(RetryEmail { id: Some(id) }); }>
                                                    {t!(admin.retry)}
                                                </button>
                                            })}
                                        </td>
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

/// Webhook deliveries by status, and those given up after 24 hours of failures.
#[component]
fn WebhookQueue() -> impl IntoView {
    let view_data = Resource::new(|| (), |()| crate::error::page_data(admin_webhooks()));
    view! {
        <h2 id="webhooks">{t!(admin.webhooks)}</h2>
        <Transition fallback=|| view! { <p>{t!(admin.loading)}</p> }>
            {move || view_data.get().map(|result| match result {
                Err(e) => view! { <div role="alert" class="form-error">{message(&e)}</div> }.into_any(),
                Ok(queue) => {
                    let counts = queue.counts;
                    let columns = vec![
                        Column::text(t!(admin.event_time)),
                        Column::text(t!(admin.event)),
                        Column::text(t!(admin.url)),
                        Column::text(t!(admin.tries)),
                        Column::text(t!(admin.last_error)),
                    ];
                    view! {
                        <ul class="counts" aria-label=t!(admin.webhooks_by_status)>
                            <li>{count(k::admin::webhook_count_pending, counts.pending)}</li>
                            <li>{count(k::admin::webhook_count_delivered, counts.delivered)}</li>
                            <li>{count(k::admin::webhook_count_dead, counts.dead)}</li>
                        </ul>
                        <ListTable caption=t!(admin.dead_webhooks) columns focusable=true>
                            {queue.dead.into_iter().map(|d| view! {
                                <tr>
                                    <td><When at=d.created_at /></td>
                                    <td><span title=d.event_id.to_string()>{d.kind}</span></td>
                                    <td>{d.url}</td>
                                    <td>{d.attempts}</td>
                                    <td>{d.last_error.unwrap_or_default()}</td>
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

/// A queue's count, said with its status.
fn count(key: crate::language::Plural, n: i64) -> String {
    plural(key, u64::try_from(n).unwrap_or(0))
}

/// A queued email's status as the page says it.
fn outbox_status_text(status: OutboxStatus) -> &'static str {
    match status {
        OutboxStatus::Pending => t!(admin.outbox_pending),
        OutboxStatus::Sent => t!(admin.outbox_sent),
        OutboxStatus::Expired => t!(admin.outbox_expired),
        OutboxStatus::Dead => t!(admin.outbox_dead),
    }
}

/// Which email a row is, as the page says it; a kind this page does not know, as stored
/// (underscores as spaces).
fn mail_kind_text(kind: &str) -> String {
    let text = match kind {
        "activation" => t!(admin.mail_kind_activation),
        "email_change" => t!(admin.mail_kind_email_change),
        "email_change_notice" => t!(admin.mail_kind_email_change_notice),
        "password_changed" => t!(admin.mail_kind_password_changed),
        "password_reset" => t!(admin.mail_kind_password_reset),
        "reset_attempts_notice" => t!(admin.mail_kind_reset_attempts_notice),
        "registration_attempt" => t!(admin.mail_kind_registration_attempt),
        "phone_taken_notice" => t!(admin.mail_kind_phone_taken_notice),
        "second_factor_notice" => t!(admin.mail_kind_second_factor_notice),
        "goodbye" => t!(admin.mail_kind_goodbye),
        "order_confirmation" => t!(admin.mail_kind_order_confirmation),
        other => return other.replace('_', " "),
    };
    text.to_string()
}
