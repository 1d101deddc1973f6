use leptos::prelude::*;

use crate::t;

/// The body of the page shown when the server fails (HTTP 500). It names no internal detail:
/// the request id lets support find the cause in the logs.
#[component]
pub fn ServerError(request_id: Option<String>) -> impl IntoView {
    view! {
        <section class="message-page">
            <p class="message-code" aria-hidden="true">"500"</p>
            <h1>{t!(pages.error_heading)}</h1>
            <p>{t!(pages.error_text)}</p>
            {request_id.map(|id| view! { <p class="muted">{t!(pages.error_reference)}<code>{id}</code></p> })}
            <a class="button" href="/">{t!(pages.home_link)}</a>
        </section>
    }
}

/// A whole HTML document around [`ServerError`], for the server to send when rendering the app
/// itself is what failed, in `locale` (the request's). It loads the stylesheet but no script.
#[cfg(feature = "ssr")]
pub fn server_error_document(
    request_id: Option<String>,
    locale: crate::language::Locale,
) -> String {
    let body = Owner::new().with(|| {
        provide_context(locale);
        view! { <ServerError request_id=request_id /> }.to_html()
    });
    let stylesheet = &crate::infra::assets::Assets::get().stylesheet;
    let lang = locale.code();
    let title = crate::t_in!(locale, pages.error_heading);
    format!(
        "<!DOCTYPE html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"color-scheme\" content=\"light dark\">\
         <title>{title} · Accounts</title>\
         <link rel=\"stylesheet\" href=\"{stylesheet}\"></head>\
         <body><main id=\"main\" class=\"container main\">{body}</main></body></html>"
    )
}
