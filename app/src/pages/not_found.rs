use leptos::prelude::*;
use leptos_meta::Title;

use crate::t;

/// Answers the page being rendered with HTTP status 404 (on a route rendered whole before it
/// answers, `SsrMode::Async`, so the status is not sent yet).
pub fn set_not_found_status() {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
}

/// Shown for any path the router does not know, with HTTP status 404.
#[component]
pub fn NotFound() -> impl IntoView {
    set_not_found_status();

    view! {
        <Title text=t!(pages.not_found_heading) />
        <section class="message-page">
            <p class="message-code" aria-hidden="true">"404"</p>
            <h1>{t!(pages.not_found_heading)}</h1>
            <p>{t!(pages.not_found_text)}</p>
            <a class="button" href="/">{t!(pages.home_link)}</a>
        </section>
    }
}
