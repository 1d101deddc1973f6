//! What the administrators' view of webhook deliveries returns.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// How many webhook deliveries are in each status.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct WebhookCounts {
    pub pending: i64,
    pub delivered: i64,
    /// Given up: still failing 24 hours after the event.
    pub dead: i64,
}

/// A delivery that was given up, without its body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct DeadWebhook {
    pub id: i64,
    /// The `webhook-id` the receiver would have seen.
    pub event_id: Uuid,
    /// `user.registered`, `order.placed`, …
    #[serde(rename = "type")]
    #[cfg_attr(feature = "ssr", sqlx(rename = "type"))]
    pub kind: String,
    pub url: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    /// RFC 3339; when the event happened.
    pub created_at: String,
}

/// The webhook queue: counts by status and the latest dead deliveries, newest first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct WebhookView {
    pub counts: WebhookCounts,
    /// At most 100.
    pub dead: Vec<DeadWebhook>,
}
