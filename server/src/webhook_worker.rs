//! Delivers domain events to the URLs of `WEBHOOK_URLS`, signed the Standard Webhooks way.
//!
//! Each URL has its own loop, with at most [`CONCURRENCY_PER_URL`] requests in flight: a
//! receiver that hangs holds up only its own deliveries, for at most the request timeout each,
//! and never another URL's. A loop claims due deliveries with `FOR UPDATE SKIP LOCKED` and leases
//! them (their next attempt moves past the timeout) in one short statement, claiming no more
//! than it has free slots, sends each on its own task, and claims again as soon as a slot frees
//! up or a new event is notified. Any number of server processes can run workers: a claimed
//! delivery is not claimed again while its lease runs, and the lease outlasts the request
//! timeout, so a living worker never has an event delivered twice. A worker that dies mid-send
//! leaves a lease that runs out; another worker sends it again (at least once; receivers
//! deduplicate by `webhook-id`).
//!
//! Order: a delivery is claimed only when no earlier delivery to the same URL with the same
//! ordering key (the account) is still pending, so one account's events reach a URL in order,
//! one at a time. A delivery that keeps failing holds up that account's later events to that
//! URL until it is delivered or `dead`.
//!
//! Retries: a non-2xx answer, a timeout or a connection error retries on the Standard Webhooks
//! schedule (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, plus up to 20 % jitter); a failure more
//! than 24 hours after the event makes the delivery `dead`.

use std::{sync::Arc, time::Duration};

use anyhow::Context as _;
use app::infra::{
    metrics,
    webhooks::{self, GIVE_UP_AFTER},
};
use futures_util::future::join_all;
use sqlx::{PgPool, postgres::PgListener};
use tokio::{
    sync::{Notify, Semaphore},
    task::JoinSet,
};
use tracing::Instrument as _;
use uuid::Uuid;

use crate::settings::{Settings, WebhookSecret};

/// Requests in flight to one URL at once.
pub const CONCURRENCY_PER_URL: usize = 16;
/// Without a notification, look for due retries this often.
const POLL_INTERVAL: Duration = Duration::from_secs(5);
/// A lease outlasts the request timeout by this much: time to record the outcome.
const LEASE_MARGIN: Duration = Duration::from_secs(50);

/// What one attempt did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The receiver answered 2xx.
    Delivered,
    /// Failed; tried again after a backoff.
    Retrying,
    /// Failed more than 24 hours after the event: given up.
    Dead,
}

#[derive(Clone)]
pub struct WebhookWorker {
    inner: Arc<Inner>,
}

struct Inner {
    pool: PgPool,
    client: reqwest::Client,
    secret: WebhookSecret,
    urls: Vec<String>,
    timeout: Duration,
}

#[derive(sqlx::FromRow)]
struct Claimed {
    id: i64,
    event_id: Uuid,
    body: String,
    /// Tries so far, this one included.
    attempts: i32,
    /// Seconds since the event was written.
    age_secs: f64,
}

impl WebhookWorker {
    /// `None` when webhooks are off (`WEBHOOK_URLS` empty).
    pub fn from_settings(pool: PgPool, settings: &Settings) -> anyhow::Result<Option<Self>> {
        let hooks = &settings.webhooks;
        let Some(secret) = hooks.secret.clone().filter(|_| hooks.enabled()) else {
            return Ok(None);
        };
        let client = reqwest::Client::builder()
            .timeout(hooks.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("accounts-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("cannot build the webhook HTTP client")?;
        Ok(Some(Self {
            inner: Arc::new(Inner {
                pool,
                client,
                secret,
                urls: hooks.url_texts(),
                timeout: hooks.timeout,
            }),
        }))
    }

    /// The URLs this worker delivers to, as the deliveries store them.
    pub fn urls(&self) -> &[String] {
        &self.inner.urls
    }

    /// Claims up to `limit` due deliveries to `url` and sends them concurrently; returns what
    /// happened to each (empty when nothing is due). Public so tests can step by hand.
    pub async fn deliver_due(&self, url: &str, limit: usize) -> anyhow::Result<Vec<Outcome>> {
        let claimed = self.inner.claim(url, limit).await?;
        let outcomes = join_all(claimed.into_iter().map(|row| self.inner.attempt(url, row))).await;
        outcomes.into_iter().collect()
    }

    /// Runs until the task is aborted. A send interrupted then keeps its lease and is sent
    /// again once the lease runs out.
    pub async fn run(self) {
        self.inner.give_up_unlisted().await;
        let mut loops = JoinSet::new();
        let mut wakers = Vec::with_capacity(self.inner.urls.len());
        for url in &self.inner.urls {
            let wake = Arc::new(Notify::new());
            wakers.push(wake.clone());
            loops.spawn(self.inner.clone().serve(url.clone(), wake));
        }
        let mut listener = match PgListener::connect_with(&self.inner.pool).await {
            Ok(mut listener) => match listener.listen(webhooks::CHANNEL).await {
                Ok(()) => Some(listener),
                Err(e) => {
                    tracing::warn!(error.cause = %e, "cannot LISTEN for webhook events; polling instead");
                    None
                }
            },
            Err(e) => {
                tracing::warn!(error.cause = %e, "cannot LISTEN for webhook events; polling instead");
                None
            }
        };
        loop {
            match listener.as_mut() {
                Some(l) => {
                    if let Err(e) = l.recv().await {
                        tracing::warn!(error.cause = %e, "webhook notifications interrupted");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
                // Each loop polls on its own.
                None => std::future::pending::<()>().await,
            }
            // A notification may stand for several events, and after an interruption for any.
            for wake in &wakers {
                wake.notify_one();
            }
        }
    }
}

impl Inner {
    /// One URL's loop: claim what its free slots allow, send each on a task of its own, and
    /// wait for a new event, a finished send or the next due retry.
    async fn serve(self: Arc<Self>, url: String, wake: Arc<Notify>) {
        let slots = Arc::new(Semaphore::new(CONCURRENCY_PER_URL));
        let mut sends = JoinSet::new();
        loop {
            while sends.try_join_next().is_some() {}
            let free = slots.available_permits();
            if free > 0 {
                match self.claim(&url, free).await {
                    Ok(rows) => {
                        for row in rows {
                            // Only this loop takes slots: `free` of them are there.
                            let Ok(slot) = slots.clone().try_acquire_owned() else {
                                break;
                            };
                            let (me, url, wake) = (self.clone(), url.clone(), wake.clone());
                            sends.spawn(async move {
                                if let Err(e) = me.attempt(&url, row).await {
                                    tracing::warn!(error.cause = %e, "webhook delivery step failed");
                                }
                                drop(slot);
                                // A slot is free, and the account's next event may be due.
                                wake.notify_one();
                            });
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error.cause = %e, "webhook worker step failed");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
            let wait = if slots.available_permits() == 0 {
                POLL_INTERVAL
            } else {
                self.next_due_in(&url).await.unwrap_or(POLL_INTERVAL)
            };
            tokio::select! {
                () = wake.notified() => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// Leases up to `limit` due deliveries to `url` whose account has nothing earlier pending
    /// there.
    async fn claim(&self, url: &str, limit: usize) -> anyhow::Result<Vec<Claimed>> {
        sqlx::query_as(
            "with due as (
                 select d.id from webhook_deliveries d
                 where d.url = $1 and d.status = 'pending' and d.next_attempt_at <= now()
                   and not exists (
                       select 1 from webhook_deliveries p
                       where p.url = d.url and p.ordering_key = d.ordering_key
                         and p.status = 'pending' and p.id < d.id
                   )
                 order by d.next_attempt_at, d.id
                 limit $2
                 for update of d skip locked
             )
             update webhook_deliveries d
             set attempts = d.attempts + 1,
                 next_attempt_at = now() + make_interval(secs => $3)
             from due, webhook_events e
             where d.id = due.id and e.id = d.event_id
             returning d.id, d.event_id, e.body, d.attempts,
                       extract(epoch from now() - e.created_at)::float8 as age_secs",
        )
        .bind(url)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .bind((self.timeout + LEASE_MARGIN).as_secs_f64())
        .fetch_all(&self.pool)
        .await
        .context("cannot claim webhook deliveries")
    }

    async fn attempt(&self, url: &str, row: Claimed) -> anyhow::Result<Outcome> {
        let span = tracing::info_span!(
            "webhook.deliver",
            webhook.id = %row.event_id,
            delivery.id = row.id,
            attempts = row.attempts
        );
        async {
            let result = self.send(url, &row).await;
            self.record(&row, result).await
        }
        .instrument(span)
        .await
    }

    /// One signed POST; `Err` says why it failed.
    async fn send(&self, url: &str, row: &Claimed) -> Result<(), String> {
        let id = row.event_id.to_string();
        let timestamp = chrono::Utc::now().timestamp();
        let signature = webhooks::sign(&self.secret, &id, timestamp, &row.body);
        let response = self
            .client
            .post(url)
            .header("webhook-id", &id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(row.body.clone())
            .send()
            .await;
        match response {
            Ok(response) if response.status().is_success() => Ok(()),
            Ok(response) => Err(format!("answered {}", response.status())),
            Err(e) if e.is_timeout() => {
                Err(format!("no answer within {} s", self.timeout.as_secs_f64()))
            }
            // Without the URL: it may carry a credential.
            Err(e) => Err(error_chain(&e.without_url())),
        }
    }

    /// Writes the outcome, if the lease is still this attempt's.
    async fn record(&self, row: &Claimed, result: Result<(), String>) -> anyhow::Result<Outcome> {
        let attempts = row.attempts;
        let (outcome, retry_in) = match &result {
            Ok(()) => (Outcome::Delivered, Duration::ZERO),
            Err(_) if row.age_secs >= GIVE_UP_AFTER.as_secs_f64() => {
                (Outcome::Dead, Duration::ZERO)
            }
            Err(_) => (Outcome::Retrying, webhooks::next_retry_in(attempts)),
        };
        let (status, counted) = match outcome {
            Outcome::Delivered => ("delivered", "delivered"),
            Outcome::Retrying => ("pending", "failed"),
            Outcome::Dead => ("dead", "dead"),
        };
        sqlx::query(
            "update webhook_deliveries
             set status = $3, last_error = $4,
                 delivered_at = case when $3 = 'delivered' then now() end,
                 next_attempt_at = case when $3 = 'pending'
                                        then now() + make_interval(secs => $5)
                                        else next_attempt_at end
             where id = $1 and attempts = $2 and status = 'pending'",
        )
        .bind(row.id)
        .bind(attempts)
        .bind(status)
        .bind(result.as_ref().err())
        .bind(retry_in.as_secs_f64())
        .execute(&self.pool)
        .await
        .context("cannot record a webhook delivery")?;
        metrics::webhook_outcome(counted);
        match (&result, outcome) {
            (Ok(()), _) => tracing::debug!("webhook delivered"),
            (Err(error), Outcome::Dead) => tracing::error!(
                error.cause = %error,
                "webhook undeliverable for 24 hours; given up (dead)"
            ),
            (Err(error), _) => tracing::warn!(
                error.cause = %error,
                retry.secs = retry_in.as_secs(),
                "webhook delivery failed; will retry"
            ),
        }
        Ok(outcome)
    }

    /// How long until the first delivery to `url` that could be claimed is due (capped at the
    /// poll interval); deliveries waiting behind an earlier one of their account do not count.
    async fn next_due_in(&self, url: &str) -> Option<Duration> {
        let secs: Option<f64> = sqlx::query_scalar(
            // Null when nothing is pending (`greatest` would turn that into 0: a busy loop).
            "select extract(epoch from min(d.next_attempt_at) - now())::float8
             from webhook_deliveries d
             where d.url = $1 and d.status = 'pending'
               and not exists (
                   select 1 from webhook_deliveries p
                   where p.url = d.url and p.ordering_key = d.ordering_key
                     and p.status = 'pending' and p.id < d.id
               )",
        )
        .bind(url)
        .fetch_one(&self.pool)
        .await
        .ok()
        .flatten();
        // At least a moment: a due delivery another worker is claiming right now is skipped.
        secs.map(|s| {
            Duration::from_secs_f64(s.max(0.0)).clamp(Duration::from_millis(20), POLL_INTERVAL)
        })
    }

    /// Deliveries to a URL taken out of `WEBHOOK_URLS` will not be sent: they are given up,
    /// visibly (the administrators' queue view lists them).
    async fn give_up_unlisted(&self) {
        let result = sqlx::query(
            "update webhook_deliveries
             set status = 'dead', last_error = 'the URL is no longer in WEBHOOK_URLS'
             where status = 'pending' and url <> all($1)",
        )
        .bind(&self.urls)
        .execute(&self.pool)
        .await;
        match result {
            Ok(done) if done.rows_affected() > 0 => tracing::warn!(
                deliveries = done.rows_affected(),
                "gave up webhook deliveries to URLs no longer in WEBHOOK_URLS"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(error.cause = %e, "cannot look for unlisted webhook URLs"),
        }
    }
}

/// An error and its causes on one line ("error sending request: connection refused").
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let line = cause.to_string();
        if !text.contains(&line) {
            text.push_str(": ");
            text.push_str(&line);
        }
        source = cause.source();
    }
    text
}
