//! Domain events as webhooks, the Standard Webhooks way (<https://www.standardwebhooks.com>).
//!
//! A service calls [`publish`] inside the transaction that makes the change, so an event exists
//! exactly when its change committed. The event is a row of `webhook_events` (its id is the
//! `webhook-id` header; its body is stored as the exact text that is signed and sent, so a
//! retry sends the same bytes) and one `webhook_deliveries` row per URL of `WEBHOOK_URLS`,
//! which the server's webhook worker delivers (see `server/src/webhook_worker.rs`). With no
//! URLs nothing is written.
//!
//! Deliveries of one account's events to one URL keep their order: the worker sends a delivery
//! only once every earlier one (lower id) with the same URL and ordering key has been delivered
//! or given up. Ids follow commit order for an account because every service publishes after
//! the statement that locks or writes the account's row.
//!
//! Payloads carry ids and public fields only: never a password, hash, code or token.

use std::time::Duration;

use base64::{Engine as _, engine::general_purpose::STANDARD};
use hmac::{Hmac, Mac as _};
use serde::Serialize;
use serde_json::{Value, json};
use sha2::Sha256;
use sqlx::PgConnection;
use uuid::Uuid;

use super::config::{WebhookSecret, WebhookSettings};
use crate::{
    error::{ApiError, Context as _},
    model::{AccountStatus, Order},
};

/// The channel the worker listens on; notified (on commit) with every new event.
pub const CHANNEL: &str = "webhook_deliveries";

/// A delivery still failing this long after its event is given up (`dead`).
pub const GIVE_UP_AFTER: Duration = Duration::from_secs(24 * 3600);

/// The types of event, as the payload's `type` spells them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum EventType {
    #[serde(rename = "user.registered")]
    UserRegistered,
    #[serde(rename = "user.activated")]
    UserActivated,
    #[serde(rename = "user.email_changed")]
    UserEmailChanged,
    #[serde(rename = "user.password_changed")]
    UserPasswordChanged,
    #[serde(rename = "user.deleted")]
    UserDeleted,
    #[serde(rename = "user.disabled")]
    UserDisabled,
    #[serde(rename = "user.enabled")]
    UserEnabled,
    #[serde(rename = "order.placed")]
    OrderPlaced,
    #[serde(rename = "order.cancelled")]
    OrderCancelled,
}

impl EventType {
    pub const ALL: [Self; 9] = [
        Self::UserRegistered,
        Self::UserActivated,
        Self::UserEmailChanged,
        Self::UserPasswordChanged,
        Self::UserDeleted,
        Self::UserDisabled,
        Self::UserEnabled,
        Self::OrderPlaced,
        Self::OrderCancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::UserRegistered => "user.registered",
            Self::UserActivated => "user.activated",
            Self::UserEmailChanged => "user.email_changed",
            Self::UserPasswordChanged => "user.password_changed",
            Self::UserDeleted => "user.deleted",
            Self::UserDisabled => "user.disabled",
            Self::UserEnabled => "user.enabled",
            Self::OrderPlaced => "order.placed",
            Self::OrderCancelled => "order.cancelled",
        }
    }
}

/// Why an account went away, as `user.deleted` says it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Deletion {
    /// The person deleted their own account.
    ByUser,
    ByAdmin,
    /// A registration never activated, purged after 24 hours.
    Expired,
    /// A stale pending registration that gave its email or phone to a new one.
    Replaced,
}

impl Deletion {
    fn as_str(self) -> &'static str {
        match self {
            Self::ByUser => "user",
            Self::ByAdmin => "admin",
            Self::Expired => "expired",
            Self::Replaced => "replaced",
        }
    }
}

/// One domain event: its type, the account whose events it is ordered with, and its `data`.
/// Made only by the constructors below, which take public fields only.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub kind: EventType,
    pub account: Uuid,
    pub data: Value,
}

/// The body of a request, in this key order.
#[derive(Serialize)]
struct Envelope<'a> {
    #[serde(rename = "type")]
    kind: EventType,
    timestamp: &'a str,
    data: &'a Value,
}

/// The fields `user.registered` carries.
pub struct NewUser<'a> {
    pub user_id: Uuid,
    pub email: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub phone_number: &'a str,
    pub status: AccountStatus,
}

impl Event {
    pub fn user_registered(user: &NewUser<'_>) -> Self {
        Self {
            kind: EventType::UserRegistered,
            account: user.user_id,
            data: json!({
                "user_id": user.user_id,
                "email": user.email,
                "first_name": user.first_name,
                "last_name": user.last_name,
                "phone_number": user.phone_number,
                "status": user.status,
            }),
        }
    }

    pub fn user_activated(user_id: Uuid, email: &str) -> Self {
        Self::user(
            EventType::UserActivated,
            user_id,
            json!({ "user_id": user_id, "email": email }),
        )
    }

    pub fn user_email_changed(user_id: Uuid, email: &str) -> Self {
        Self::user(
            EventType::UserEmailChanged,
            user_id,
            json!({ "user_id": user_id, "email": email }),
        )
    }

    /// `reset`: through a forgotten-password code rather than with the old password.
    pub fn user_password_changed(user_id: Uuid, reset: bool) -> Self {
        let how = if reset { "reset" } else { "changed" };
        Self::user(
            EventType::UserPasswordChanged,
            user_id,
            json!({ "user_id": user_id, "how": how }),
        )
    }

    pub fn user_deleted(user_id: Uuid, by: Deletion) -> Self {
        Self::user(
            EventType::UserDeleted,
            user_id,
            json!({ "user_id": user_id, "reason": by.as_str() }),
        )
    }

    /// The administrator's reason stays out: it is a note for administrators.
    pub fn user_disabled(user_id: Uuid) -> Self {
        Self::user(
            EventType::UserDisabled,
            user_id,
            json!({ "user_id": user_id }),
        )
    }

    /// `status`: where the account is back to (active, pending or locked).
    pub fn user_enabled(user_id: Uuid, status: AccountStatus) -> Self {
        Self::user(
            EventType::UserEnabled,
            user_id,
            json!({ "user_id": user_id, "status": status }),
        )
    }

    pub fn order_placed(user_id: Uuid, order: &Order) -> Self {
        Self::user(
            EventType::OrderPlaced,
            user_id,
            json!({ "user_id": user_id, "order": order }),
        )
    }

    pub fn order_cancelled(user_id: Uuid, order: &Order) -> Self {
        Self::user(
            EventType::OrderCancelled,
            user_id,
            json!({ "user_id": user_id, "order": order }),
        )
    }

    fn user(kind: EventType, account: Uuid, data: Value) -> Self {
        Self {
            kind,
            account,
            data,
        }
    }

    /// `{"type","timestamp","data"}`: the bytes that are signed and sent.
    pub fn body(&self, timestamp: &str) -> String {
        serde_json::to_string(&Envelope {
            kind: self.kind,
            timestamp,
            data: &self.data,
        })
        .unwrap_or_else(|_| unreachable!("an envelope of JSON values serialises"))
    }
}

/// RFC 3339 in UTC with milliseconds, as the API writes times.
pub fn timestamp_now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Writes `event` and its deliveries in the caller's transaction, and wakes the worker when
/// it commits. Nothing (not even a round trip) when webhooks are off.
pub async fn publish(
    conn: &mut PgConnection,
    settings: &WebhookSettings,
    event: Event,
) -> Result<(), ApiError> {
    publish_all(conn, settings, &[event]).await
}

/// [`publish`] for several events, in one statement and in the order given.
pub async fn publish_all(
    conn: &mut PgConnection,
    settings: &WebhookSettings,
    events: &[Event],
) -> Result<(), ApiError> {
    if !settings.enabled() || events.is_empty() {
        return Ok(());
    }
    let timestamp = timestamp_now();
    let types: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    let keys: Vec<String> = events.iter().map(|e| e.account.to_string()).collect();
    let bodies: Vec<String> = events.iter().map(|e| e.body(&timestamp)).collect();
    // Deliveries get their ids in the order of the events, then of the URLs.
    sqlx::query(
        "with t as (
             select gen_random_uuid() as id, type, key, body, n
             from unnest($1::text[], $2::text[], $3::text[]) with ordinality as t(type, key, body, n)
         ),
         e as (
             insert into webhook_events (id, type, ordering_key, body)
             select id, type, key, body from t
         ),
         d as (
             insert into webhook_deliveries (event_id, url, ordering_key)
             select t.id, u.url, t.key
             from t, unnest($4::text[]) with ordinality as u(url, m)
             order by t.n, u.m
         )
         select pg_notify($5, '')",
    )
    .bind(&types)
    .bind(&keys)
    .bind(&bodies)
    .bind(settings.url_texts())
    .bind(CHANNEL)
    .execute(conn)
    .await
    .context("publish a domain event")?;
    Ok(())
}

/// `v1,` + base64(HMAC-SHA256(secret, "{id}.{timestamp}.{body}")): the `webhook-signature`
/// header.
pub fn sign(secret: &WebhookSecret, id: &str, timestamp: i64, body: &str) -> String {
    sign_with(secret.bytes(), id, timestamp, body)
}

fn sign_with(key: &[u8], id: &str, timestamp: i64, body: &str) -> String {
    let mut mac = <Hmac<Sha256>>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// The Standard Webhooks' suggested schedule: the wait after the `attempts`-th failed try
/// (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, then 10 h again). Together with the 24-hour rule a
/// delivery is tried 8 times over about 28 hours before it is `dead`.
pub fn retry_delay(attempts: i32) -> Duration {
    const SCHEDULE: [u64; 7] = [5, 300, 1800, 7200, 18_000, 36_000, 36_000];
    let i = usize::try_from(attempts.saturating_sub(1)).unwrap_or(0);
    Duration::from_secs(SCHEDULE[i.min(SCHEDULE.len() - 1)])
}

/// `delay` stretched by up to 20 % (`fraction` in 0..1), so deliveries that failed together
/// (a receiver that was down) do not all come back in the same instant. Never shorter than the
/// schedule, so retries still span 24 hours.
pub fn with_jitter(delay: Duration, fraction: f64) -> Duration {
    delay.mul_f64(1.0 + 0.2 * fraction.clamp(0.0, 1.0))
}

/// When to try again after the `attempts`-th failure: the schedule with random jitter.
pub fn next_retry_in(attempts: i32) -> Duration {
    with_jitter(retry_delay(attempts), rand::random::<f64>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_the_standard_webhooks_test_vector() {
        // The example of the Standard Webhooks specification and its reference libraries.
        let secret =
            WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("a 24-byte key");
        assert_eq!(
            sign(
                &secret,
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1_614_265_330,
                r#"{"test": 2432232314}"#
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn retries_follow_the_schedule_for_at_least_a_day() {
        let secs = |n| retry_delay(n).as_secs();
        assert_eq!(
            (1..=9).map(secs).collect::<Vec<_>>(),
            [5, 300, 1800, 7200, 18_000, 36_000, 36_000, 36_000, 36_000]
        );
        assert_eq!(secs(0), 5);
        // The waits before the 8th try add up to more than the 24 hours a delivery is tried.
        let total: u64 = (1..=7).map(secs).sum();
        assert!(total > GIVE_UP_AFTER.as_secs(), "{total}");
        let six: u64 = (1..=6).map(secs).sum();
        assert!(six < GIVE_UP_AFTER.as_secs(), "{six}");
    }

    #[test]
    fn jitter_only_stretches_by_at_most_a_fifth() {
        let base = Duration::from_secs(300);
        assert_eq!(with_jitter(base, 0.0), base);
        assert_eq!(with_jitter(base, 1.0), Duration::from_secs(360));
        assert_eq!(with_jitter(base, 7.0), Duration::from_secs(360));
        let mid = with_jitter(base, 0.5);
        assert!(mid > base && mid < Duration::from_secs(360));
    }

    #[test]
    fn bodies_are_type_timestamp_data_and_hold_no_secrets() {
        let id = Uuid::nil();
        let body = Event::user_registered(&NewUser {
            user_id: id,
            email: "ada@example.com",
            first_name: "Ada",
            last_name: "Lovelace",
            phone_number: "+442079460958",
            status: AccountStatus::Pending,
        })
        .body("2026-12-03T10:00:00.000Z");
        assert!(
            body.starts_with(
                r#"{"type":"user.registered","timestamp":"2026-12-03T10:00:00.000Z","data":{"#
            ),
            "{body}"
        );
        let parsed: Value = serde_json::from_str(&body).expect("JSON");
        assert_eq!(parsed["data"]["status"], "pending");
        assert_eq!(parsed["data"]["user_id"], id.to_string());
        for kind in EventType::ALL {
            assert_eq!(
                serde_json::to_value(kind).expect("serialises"),
                kind.as_str()
            );
        }
    }
}
