//! A button that asks the server whether it and its database are answering: an operator's tool,
//! on the administrators' queue page (the endpoint, `GET /api/status`, is public).

use leptos::prelude::*;

use crate::{api::status::ServiceStatus, error::ApiError, model::StatusReport, t};

#[component]
pub fn StatusCheck() -> impl IntoView {
    let check = ServerAction::<ServiceStatus>::new();
    // Disabled until the page is hydrated, so a click never falls into the void.
    let hydrated = crate::rules::Hydrated::get();

    let result = move || {
        check
            .value()
            .get()
            .map(|outcome: Result<StatusReport, ApiError>| match outcome {
                Ok(report) if report.database_ok => view! {
                    <p class="status status-ok">
                        {t!(forms.status_ok, version = report.version)}
                    </p>
                }
                .into_any(),
                Ok(report) => view! {
                    <p class="status status-warn">
                        {t!(forms.status_no_database, version = report.version)}
                    </p>
                }
                .into_any(),
                Err(e) => view! { <p class="status status-error">{e.message}</p> }.into_any(),
            })
    };

    view! {
        <section class="card status-card" aria-labelledby="status-heading">
            <h2 id="status-heading">{t!(forms.status_heading)}</h2>
            <button
                type="button"
                class="button button-secondary"
                disabled=move || !hydrated.get() || check.pending().get()
                on:click=move |_| {
                    check.dispatch(ServiceStatus {});
                }
            >
                {move || if check.pending().get() { t!(forms.checking) } else { t!(forms.status_check) }}
            </button>
            <div aria-live="polite" class="status-result">
                {result}
            </div>
        </section>
    }
}
