//! Delivers the email outbox over SMTP (or into the dev mailbox).
//!
//! A step claims a batch of due rows with `FOR UPDATE SKIP LOCKED` and leases them (their next
//! attempt moves 25 s ahead) in one short statement, then sends them concurrently outside
//! any transaction and records each outcome. Any number of server processes can run workers
//! without sending a message twice; a process that dies mid-send leaves rows whose lease runs
//! out, and another worker sends them (at least once). The loop wakes on the outbox's NOTIFY, so
//! an idle system hands a new email to SMTP within milliseconds, and otherwise polls for retries.

use std::{future::Future, time::Duration};

use anyhow::Context as _;
use app::infra::{db::is_unreachable, mail::OUTBOX_CHANNEL, metrics};
use futures_util::future::join_all;
use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, MultiPart},
};
use secrecy::ExposeSecret as _;
use sqlx::{
    PgPool,
    postgres::{PgListener, PgQueryResult},
};

use crate::settings::Settings;

/// A message that keeps failing is given up (a dead letter) after this many tries.
pub const MAX_ATTEMPTS: i32 = 10;
/// The longest wait between two tries.
const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// Without a notification, look for due retries this often.
const POLL_INTERVAL: Duration = Duration::from_secs(5);
/// How long a claimed row is reserved for its worker, beyond twice the SMTP time limit
/// (`SMTP_TIMEOUT_SECS`): 25 s by default. Short, because a worker that dies mid-send leaves its
/// rows to the others only when the lease runs out, and an activation code lives 60 s: a longer
/// lease would deliver such a code already expired.
const LEASE_MARGIN: Duration = Duration::from_secs(5);
/// How often an outcome that could not be recorded (Postgres out of reach) is tried again.
const RECORD_RETRY: Duration = Duration::from_millis(500);
/// Rows claimed (and sent concurrently) per step.
pub const BATCH_SIZE: i64 = 16;

/// Where mail goes.
#[derive(Clone)]
pub enum Mailer {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// Development without `SMTP_URL`: messages stay in the database, listed at `/dev/mailbox`.
    DevMailbox,
}

impl Mailer {
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Self> {
        match &settings.mail.smtp_url {
            None => Ok(Self::DevMailbox),
            Some(url) => {
                // lettre's own timeout covers connecting only; `send` bounds the rest.
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())
                    .context("invalid SMTP_URL")?
                    .timeout(Some(settings.mail.timeout))
                    .build();
                Ok(Self::Smtp(transport))
            }
        }
    }
}

/// What one step did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing is due.
    Idle,
    Sent,
    /// Its code expired before it could be delivered: not sent.
    Expired,
    /// Failed; will be tried again after a backoff.
    Retrying,
    /// Failed for good (a permanent SMTP error or too many tries).
    Dead,
}

#[derive(Clone)]
pub struct EmailWorker {
    pool: PgPool,
    mailer: Mailer,
    from: Mailbox,
    retry_base: Duration,
    /// The longest one message may take over SMTP.
    smtp_timeout: Duration,
}

/// The `Content-Language` header (RFC 3282): the language the email is written in.
#[derive(Clone)]
struct ContentLanguage(String);

impl lettre::message::header::Header for ContentLanguage {
    fn name() -> lettre::message::header::HeaderName {
        lettre::message::header::HeaderName::new_from_ascii_str("Content-Language")
    }

    fn parse(text: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self(text.to_string()))
    }

    fn display(&self) -> lettre::message::header::HeaderValue {
        lettre::message::header::HeaderValue::new(Self::name(), self.0.clone())
    }
}

#[derive(sqlx::FromRow)]
struct Claimed {
    id: i64,
    recipient: String,
    subject: String,
    text_body: Option<String>,
    html_body: Option<String>,
    /// The language it was written in (`Content-Language`).
    language: String,
    /// Tries so far, this one included.
    attempts: i32,
    expired: bool,
}

impl EmailWorker {
    pub fn new(
        pool: PgPool,
        mailer: Mailer,
        from: Mailbox,
        retry_base: Duration,
        smtp_timeout: Duration,
    ) -> Self {
        Self {
            pool,
            mailer,
            from,
            retry_base,
            smtp_timeout,
        }
    }

    /// Delivers (or expires, or reschedules) the oldest due message. Public so tests can step
    /// the queue by hand.
    /// How long a claimed row stays reserved for this worker (see [`LEASE_MARGIN`]).
    fn lease(&self) -> Duration {
        self.smtp_timeout * 2 + LEASE_MARGIN
    }

    pub async fn deliver_next(&self) -> anyhow::Result<Outcome> {
        Ok(self
            .deliver_batch(1)
            .await?
            .into_iter()
            .next()
            .unwrap_or(Outcome::Idle))
    }

    /// Claims up to `limit` due messages and handles them concurrently; returns what happened
    /// to each (empty when nothing is due).
    pub async fn deliver_batch(&self, limit: i64) -> anyhow::Result<Vec<Outcome>> {
        let claimed: Vec<Claimed> = sqlx::query_as(
            "with due as (
                 select id from email_outbox
                 where status = 'pending' and next_attempt_at <= now()
                 order by next_attempt_at, id
                 limit $1
                 for update skip locked
             )
             update email_outbox o
             set attempts = o.attempts + 1,
                 next_attempt_at = now() + make_interval(secs => $2)
             from due where o.id = due.id
             returning o.id, o.recipient, o.subject, o.text_body, o.html_body, o.language,
                       o.attempts,
                       coalesce(o.expires_at <= now(), false) as expired",
        )
        .bind(limit)
        .bind(self.lease().as_secs_f64())
        .fetch_all(&self.pool)
        .await
        .context("cannot claim outbox rows")?;
        let outcomes = join_all(claimed.iter().map(|row| self.handle(row))).await;
        outcomes.into_iter().collect()
    }

    async fn handle(&self, row: &Claimed) -> anyhow::Result<Outcome> {
        use tracing::Instrument as _;
        self.deliver(row)
            .instrument(tracing::info_span!("email.deliver", email.id = row.id))
            .await
    }

    async fn deliver(&self, row: &Claimed) -> anyhow::Result<Outcome> {
        if row.expired {
            self.record(|| {
                sqlx::query(
                    "update email_outbox set status = 'expired', text_body = null,
                         html_body = null
                     where id = $1",
                )
                .bind(row.id)
                .execute(&self.pool)
            })
            .await?;
            tracing::warn!("email expired before it could be delivered");
            metrics::email_outcome("expired");
            return Ok(Outcome::Expired);
        }
        let attempts = row.attempts;
        match self.send(row).await {
            Ok(()) => {
                // The dev mailbox is where people read the message: keep its body there.
                let keep_body = matches!(self.mailer, Mailer::DevMailbox);
                self.record(|| {
                    sqlx::query(
                        "update email_outbox set status = 'sent', sent_at = now(),
                             last_error = null,
                             text_body = case when $2 then text_body end,
                             html_body = case when $2 then html_body end
                         where id = $1",
                    )
                    .bind(row.id)
                    .bind(keep_body)
                    .execute(&self.pool)
                })
                .await?;
                tracing::debug!(attempts, "email delivered");
                metrics::email_outcome("sent");
                Ok(Outcome::Sent)
            }
            Err(SendError { message, permanent }) if permanent || attempts >= MAX_ATTEMPTS => {
                self.record(|| {
                    sqlx::query(
                        // A notice keeps its body, so an administrator can queue it again; a code's
                        // body goes (the code is worthless by then, and codes do not linger).
                        "update email_outbox set status = 'dead', last_error = $2,
                             text_body = case when expires_at is null then text_body end,
                             html_body = case when expires_at is null then html_body end
                         where id = $1",
                    )
                    .bind(row.id)
                    .bind(&message)
                    .execute(&self.pool)
                })
                .await?;
                tracing::error!(attempts, error.cause = %message, "email undeliverable; kept as a dead letter");
                metrics::email_outcome("dead");
                Ok(Outcome::Dead)
            }
            Err(SendError { message, .. }) => {
                let backoff = self.backoff(attempts);
                self.record(|| {
                    sqlx::query(
                        "update email_outbox set last_error = $2,
                             next_attempt_at = now() + make_interval(secs => $3)
                         where id = $1",
                    )
                    .bind(row.id)
                    .bind(&message)
                    .bind(backoff.as_secs_f64())
                    .execute(&self.pool)
                })
                .await?;
                tracing::warn!(
                    attempts,
                    retry.ms = backoff.as_millis() as u64,
                    error.cause = %message,
                    "email delivery failed; will retry"
                );
                metrics::email_outcome("failed");
                Ok(Outcome::Retrying)
            }
        }
    }

    /// Runs `statement`, which records what became of a claimed message, again while Postgres
    /// is out of reach, for up to half the lease: a message handed to SMTP just as Postgres
    /// went down is marked sent once it is back, rather than sent again when its lease runs
    /// out.
    async fn record<F, Fut>(&self, statement: F) -> Result<(), sqlx::Error>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<PgQueryResult, sqlx::Error>>,
    {
        let deadline = tokio::time::Instant::now() + self.lease() / 2;
        loop {
            match statement().await {
                Ok(_) => return Ok(()),
                Err(e) if is_unreachable(&e) && tokio::time::Instant::now() < deadline => {
                    tracing::warn!(error.cause = %e, "cannot record an email's outcome yet; retrying");
                    tokio::time::sleep(RECORD_RETRY).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// base × 2^(attempts − 1), at most five minutes.
    fn backoff(&self, attempts: i32) -> Duration {
        let exponent = u32::try_from(attempts.saturating_sub(1))
            .unwrap_or(0)
            .min(20);
        self.retry_base
            .saturating_mul(2u32.saturating_pow(exponent))
            .min(MAX_BACKOFF)
    }

    async fn send(&self, due: &Claimed) -> Result<(), SendError> {
        let permanent = |message: String| SendError {
            message,
            permanent: true,
        };
        let to: Mailbox = due
            .recipient
            .parse()
            .map_err(|e| permanent(format!("bad recipient: {e}")))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&due.subject)
            .header(ContentLanguage(due.language.clone()))
            .multipart(MultiPart::alternative_plain_html(
                due.text_body.clone().unwrap_or_default(),
                due.html_body.clone().unwrap_or_default(),
            ))
            .map_err(|e| permanent(format!("cannot build the message: {e}")))?;
        match &self.mailer {
            Mailer::DevMailbox => Ok(()),
            // A server that accepts the connection and never answers would hold the whole
            // batch (and the worker) forever: past the limit the attempt fails and is retried.
            Mailer::Smtp(transport) => {
                match tokio::time::timeout(self.smtp_timeout, transport.send(message)).await {
                    Ok(sent) => sent.map(|_| ()).map_err(|e| SendError {
                        permanent: e.is_permanent(),
                        message: e.to_string(),
                    }),
                    Err(_) => Err(SendError {
                        permanent: false,
                        message: format!(
                            "the SMTP server did not answer within {} s",
                            self.smtp_timeout.as_secs()
                        ),
                    }),
                }
            }
        }
    }

    /// Runs until the task is aborted. A step interrupted mid-send rolls back: the message is
    /// still pending and goes out later (at least once).
    pub async fn run(self) {
        let mut listener = match self.listen().await {
            Ok(listener) => Some(listener),
            Err(e) => {
                tracing::warn!(error.cause = %e, "cannot LISTEN for new mail; polling instead");
                None
            }
        };
        loop {
            self.drain().await;
            let wait = self.next_due_in().await.unwrap_or(POLL_INTERVAL);
            match listener.as_mut() {
                Some(l) => {
                    tokio::select! {
                        notification = l.recv() => {
                            if let Err(e) = notification {
                                tracing::warn!(error.cause = %e, "mail notifications interrupted");
                                tokio::time::sleep(Duration::from_secs(1)).await;
                            }
                        }
                        () = tokio::time::sleep(wait) => {}
                    }
                }
                None => tokio::time::sleep(wait.min(Duration::from_secs(1))).await,
            }
        }
    }

    async fn listen(&self) -> Result<PgListener, sqlx::Error> {
        let mut listener = PgListener::connect_with(&self.pool).await?;
        listener.listen(OUTBOX_CHANNEL).await?;
        Ok(listener)
    }

    async fn drain(&self) {
        loop {
            match self.deliver_batch(BATCH_SIZE).await {
                Ok(outcomes) if outcomes.is_empty() => return,
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error.cause = %e, "mail worker step failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    return;
                }
            }
        }
    }

    /// How long until the next pending retry is due (capped at the poll interval).
    async fn next_due_in(&self) -> Option<Duration> {
        // Null when nothing is pending: `greatest(null, 0)` is 0, which made an idle worker
        // query again at once, in a loop.
        let secs: Option<f64> = sqlx::query_scalar(
            "select extract(epoch from min(next_attempt_at) - now())::float8
             from email_outbox where status = 'pending'",
        )
        .fetch_one(&self.pool)
        .await
        .ok()
        .flatten();
        secs.map(|s| Duration::from_secs_f64(s.max(0.0)).min(POLL_INTERVAL))
    }
}

struct SendError {
    message: String,
    permanent: bool,
}
