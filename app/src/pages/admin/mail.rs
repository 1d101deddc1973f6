//! `/admin/mail`: the service's status on request, the mail queue, with the undeliverable (`dead`) messages queued again on
//! request, and the webhook queue with its given-up (`dead`) deliveries. No bodies are shown:
//! codes stay out of sight.

use leptos::prelude::*;
use leptos_router::{components::Form, hooks::use_query_map};

use super::{AdminFrame, Pager, href_with, message};
use crate::{
    api::{
        admin::{RetryEmail, outbox},
        webhooks::admin_webhooks,
    },
    components::{status_check::StatusCheck, time::When},
    model::OutboxStatus,
};

#[component]
pub fn AdminMailPage() -> impl IntoView {
    view! {
        <AdminFrame title="Mail queue" next="/admin/mail" current="/admin/mail">
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
            Ok(_) => view! { <p role="status" class="form-info">"Queued again."</p> }.into_any(),
            Err(e) => view! { <div role="alert" class="form-error">{message(&e)}</div> }.into_any(),
        })
    };
    view! {
        <Form method="GET" action="/admin/mail">
            <div class="filters" role="search">
                <div class="field field-inline">
                    <label for="filter-mail-status">"Status"</label>
                    <select id="filter-mail-status" name="status">
                        <option value="">"Any status"</option>
                        {OutboxStatus::ALL.iter().map(|s| {
                            let selected = param("status").as_deref() == Some(s.as_str());
                            view! { <option value=s.as_str() selected=selected>{s.as_str()}</option> }
                        }).collect_view()}
                    </select>
                </div>
                <button type="submit" class="button button-small">"Show"</button>
            </div>
        </Form>
        {notice}
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || view_data.get().map(|result| match result {
                Err(e) => view! { <div role="alert" class="form-error">{message(&e)}</div> }.into_any(),
                Ok(queue) => {
                    let counts = queue.counts;
                    let page = queue.page;
                    let status = param("status");
                    let href = move |offset: u32| href_with("/admin/mail", &[
                        ("status", status.clone()), ("offset", Some(offset.to_string())),
                    ]);
                    view! {
                        <ul class="counts" aria-label="Messages by status">
                            <li>{format!("{} pending", counts.pending)}</li>
                            <li>{format!("{} sent", counts.sent)}</li>
                            <li>{format!("{} expired", counts.expired)}</li>
                            <li>{format!("{} dead", counts.dead)}</li>
                        </ul>
                        // Focusable, for the keyboard to scroll it (see the audit log's table).
                        <div class="table-wrap" role="region" aria-label="Queued mail" tabindex="0">
                            <table class="table">
                                <caption class="visually-hidden">"Queued mail"</caption>
                                <thead>
                                    <tr>
                                        <th scope="col">"Queued"</th>
                                        <th scope="col">"To"</th>
                                        <th scope="col">"Kind"</th>
                                        <th scope="col">"Status"</th>
                                        <th scope="col">"Tries"</th>
                                        <th scope="col">"Last error"</th>
                                        <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                                    </tr>
                                </thead>
                                <tbody>
                                    {page.items.into_iter().map(|m| {
                                        let id = m.id;
                                        view! {
                                            <tr>
                                                <td><When at=m.created_at /></td>
                                                <td>{m.recipient.clone()}</td>
                                                <td>{m.kind.replace('_', " ")}</td>
                                                <td>{m.status.as_str()}</td>
                                                <td>{m.attempts}</td>
                                                <td>{m.last_error.unwrap_or_default()}</td>
                                                <td>
                                                    {(m.status == OutboxStatus::Dead).then(|| view! {
                                                        <button type="button" class="button button-small button-secondary"
                                                            aria-label=format!("Retry the email to {}", m.recipient)
                                                            disabled=move || !hydrated.get() || retry.pending().get()
                                                            on:click=move |_| { retry.dispatch(RetryEmail { id: Some(id) }); }>
                                                            "Retry"
                                                        </button>
                                                    })}
                                                </td>
                                            </tr>
                                        }
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

/// Webhook deliveries by status, and those given up after 24 hours of failures.
#[component]
fn WebhookQueue() -> impl IntoView {
    let view_data = Resource::new(|| (), |()| crate::error::page_data(admin_webhooks()));
    view! {
        <h2 id="webhooks">"Webhooks"</h2>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || view_data.get().map(|result| match result {
                Err(e) => view! { <div role="alert" class="form-error">{message(&e)}</div> }.into_any(),
                Ok(queue) => {
                    let counts = queue.counts;
                    view! {
                        <ul class="counts" aria-label="Webhook deliveries by status">
                            <li>{format!("{} pending", counts.pending)}</li>
                            <li>{format!("{} delivered", counts.delivered)}</li>
                            <li>{format!("{} dead", counts.dead)}</li>
                        </ul>
                        <div class="table-wrap" role="region" aria-label="Dead webhook deliveries" tabindex="0">
                            <table class="table">
                                <caption class="visually-hidden">"Dead webhook deliveries"</caption>
                                <thead>
                                    <tr>
                                        <th scope="col">"Event time"</th>
                                        <th scope="col">"Event"</th>
                                        <th scope="col">"URL"</th>
                                        <th scope="col">"Tries"</th>
                                        <th scope="col">"Last error"</th>
                                    </tr>
                                </thead>
                                <tbody>
                                    {queue.dead.into_iter().map(|d| view! {
                                        <tr>
                                            <td><When at=d.created_at /></td>
                                            <td><span title=d.event_id.to_string()>{d.kind}</span></td>
                                            <td>{d.url}</td>
                                            <td>{d.attempts}</td>
                                            <td>{d.last_error.unwrap_or_default()}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }
                    .into_any()
                }
            })}
        </Transition>
    }
}
