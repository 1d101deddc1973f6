//! The administrators' view of the webhook queue, next to the mail queue (`/admin/mail`).

use leptos::prelude::*;

use crate::{error::ApiError, model::WebhookView};

/// Webhook deliveries by status and the latest 100 given up (`dead`), newest first; no bodies.
#[cfg_attr(feature = "ssr", utoipa::path(
    get,
    path = "/api/admin/webhooks",
    tag = "Administration",
    responses((status = 200, description = "OK", body = WebhookView)),
    security(("session" = []), ("bearer" = [])),
))]
#[server(endpoint = "admin/webhooks", input = server_fn::codec::GetUrl)]
pub async fn admin_webhooks() -> Result<WebhookView, ApiError> {
    use crate::{api::extract, services::admin};

    let request = extract::Request::current().await;
    let admin = request.administrator().await?;
    admin::webhooks(&request.state, &admin).await
}
