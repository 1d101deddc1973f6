//! `/dev/mailbox`: in development without `SMTP_URL`, the mail that would have been sent,
//! newest first, so a newcomer can register and activate without a mail server.

use app::state::AppState;
use axum::{
    extract::State,
    http::{HeaderValue, header},
    response::{Html, IntoResponse, Response},
};
use chrono::{DateTime, Utc};

#[derive(sqlx::FromRow)]
struct Entry {
    recipient: String,
    subject: String,
    text_body: Option<String>,
    created_at: DateTime<Utc>,
}

pub async fn page(State(state): State<AppState>) -> Response {
    let entries: Result<Vec<Entry>, _> = sqlx::query_as(
        "select recipient, subject, text_body, created_at from email_outbox
         where status = 'sent' order by id desc limit 100",
    )
    .fetch_all(&state.pool)
    .await;
    let entries = match entries {
        Ok(entries) => entries,
        Err(e) => {
            tracing::error!(error.cause = %e, "cannot read the dev mailbox");
            return (
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "The dev mailbox cannot be read: is Postgres up?",
            )
                .into_response();
        }
    };
    let stylesheet = &app::infra::assets::Assets::get().stylesheet;
    let mut html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Dev mailbox</title><link rel=\"stylesheet\" href=\"{stylesheet}\"></head>\
         <body><main class=\"page mailbox\"><h1>Dev mailbox</h1>\
         <p>Mail the app would have sent, newest first. Set <code>SMTP_URL</code> to send it for real.</p>",
    );
    if entries.is_empty() {
        html.push_str("<p>No mail yet.</p>");
    }
    for entry in &entries {
        html.push_str(&format!(
            "<article class=\"mail\" data-recipient=\"{to}\"><h2>{subject}</h2>\
             <p class=\"meta\">To <strong>{to}</strong> at <time datetime=\"{at}\">{at_human}</time></p>\
             <pre>{body}</pre></article>",
            to = escape(&entry.recipient),
            subject = escape(&entry.subject),
            at = entry.created_at.to_rfc3339(),
            at_human = entry.created_at.format("%Y-%m-%d %H:%M:%S UTC"),
            body = escape(entry.text_body.as_deref().unwrap_or("")),
        ));
    }
    html.push_str("</main></body></html>");
    let mut response = Html(html).into_response();
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'self'; frame-ancestors 'none'"),
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn escape(raw: &str) -> String {
    raw.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
