//! Delivers the email outbox over SMTP (or into the dev mailbox).
//!
//! One step takes the oldest due row with `FOR UPDATE SKIP LOCKED`, so any number of server
//! processes can run workers without sending a message twice. The loop wakes on the outbox's
//! NOTIFY (an idle system hands a new email to SMTP within milliseconds) and otherwise polls,
//! which also picks up retries when their backoff ends.

use std::time::Duration;

use anyhow::Context as _;
use app::backend::mail::OUTBOX_CHANNEL;
use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, MultiPart},
};
use secrecy::ExposeSecret as _;
use sqlx::{PgPool, postgres::PgListener};

use crate::settings::Settings;

/// A message that keeps failing is given up (a dead letter) after this many tries.
pub const MAX_ATTEMPTS: i32 = 10;
/// The longest wait between two tries.
const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// Without a notification, look for due retries this often.
const POLL_INTERVAL: Duration = Duration::from_secs(5);
/// lettre's default is 60 s: the whole lifetime of a code.
const SMTP_TIMEOUT: Duration = Duration::from_secs(10);

/// Where mail goes.
#[derive(Clone)]
pub enum Mailer {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// Development without `SMTP_URL`: messages stay in the database, listed at `/dev/mailbox`.
    DevMailbox,
}

impl Mailer {
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Self> {
        match &settings.smtp_url {
            None => Ok(Self::DevMailbox),
            Some(url) => {
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())
                    .context("invalid SMTP_URL")?
                    .timeout(Some(SMTP_TIMEOUT))
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
}

#[derive(sqlx::FromRow)]
struct Due {
    id: i64,
    recipient: String,
    subject: String,
    text_body: Option<String>,
    html_body: Option<String>,
    attempts: i32,
    expired: bool,
}

impl EmailWorker {
    pub fn new(pool: PgPool, mailer: Mailer, from: Mailbox, retry_base: Duration) -> Self {
        Self {
            pool,
            mailer,
            from,
            retry_base,
        }
    }

    /// Delivers (or expires, or reschedules) the oldest due message. Public so tests can drain
    /// the queue step by step.
    pub async fn deliver_next(&self) -> anyhow::Result<Outcome> {
        let mut tx = self.pool.begin().await?;
        let due: Option<Due> = sqlx::query_as(
            "select id, recipient, subject, text_body, html_body, attempts,
                    coalesce(expires_at <= now(), false) as expired
             from email_outbox
             where status = 'pending' and next_attempt_at <= now()
             order by next_attempt_at, id
             limit 1
             for update skip locked",
        )
        .fetch_optional(&mut *tx)
        .await?;
        let Some(due) = due else {
            return Ok(Outcome::Idle);
        };
        let span = tracing::info_span!("email.deliver", email.id = due.id);
        let _guard = span.enter();

        if due.expired {
            sqlx::query(
                "update email_outbox set status = 'expired', text_body = null, html_body = null
                 where id = $1",
            )
            .bind(due.id)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            tracing::warn!("email expired before it could be delivered");
            return Ok(Outcome::Expired);
        }

        let attempts = due.attempts + 1;
        let outcome = match self.send(&due).await {
            Ok(()) => {
                // The dev mailbox is where people read the message: keep its body there.
                let keep_body = matches!(self.mailer, Mailer::DevMailbox);
                sqlx::query(
                    "update email_outbox set status = 'sent', sent_at = now(), attempts = $2,
                         last_error = null,
                         text_body = case when $3 then text_body end,
                         html_body = case when $3 then html_body end
                     where id = $1",
                )
                .bind(due.id)
                .bind(attempts)
                .bind(keep_body)
                .execute(&mut *tx)
                .await?;
                tracing::info!(attempts, "email delivered");
                Outcome::Sent
            }
            Err(SendError { message, permanent }) => {
                if permanent || attempts >= MAX_ATTEMPTS {
                    sqlx::query(
                        "update email_outbox set status = 'dead', attempts = $2, last_error = $3,
                             text_body = null, html_body = null
                         where id = $1",
                    )
                    .bind(due.id)
                    .bind(attempts)
                    .bind(&message)
                    .execute(&mut *tx)
                    .await?;
                    tracing::error!(attempts, error.cause = %message, "email undeliverable; kept as a dead letter");
                    Outcome::Dead
                } else {
                    let backoff = self.backoff(attempts);
                    sqlx::query(
                        "update email_outbox set attempts = $2, last_error = $3,
                             next_attempt_at = now() + make_interval(secs => $4)
                         where id = $1",
                    )
                    .bind(due.id)
                    .bind(attempts)
                    .bind(&message)
                    .bind(backoff.as_secs_f64())
                    .execute(&mut *tx)
                    .await?;
                    tracing::warn!(
                        attempts,
                        retry.ms = backoff.as_millis() as u64,
                        error.cause = %message,
                        "email delivery failed; will retry"
                    );
                    Outcome::Retrying
                }
            }
        };
        tx.commit().await?;
        Ok(outcome)
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

    async fn send(&self, due: &Due) -> Result<(), SendError> {
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
            .multipart(MultiPart::alternative_plain_html(
                due.text_body.clone().unwrap_or_default(),
                due.html_body.clone().unwrap_or_default(),
            ))
            .map_err(|e| permanent(format!("cannot build the message: {e}")))?;
        match &self.mailer {
            Mailer::DevMailbox => Ok(()),
            Mailer::Smtp(transport) => {
                transport
                    .send(message)
                    .await
                    .map(|_| ())
                    .map_err(|e| SendError {
                        permanent: e.is_permanent(),
                        message: e.to_string(),
                    })
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
            match self.deliver_next().await {
                Ok(Outcome::Idle) => return,
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
        let secs: Option<f64> = sqlx::query_scalar(
            "select greatest(extract(epoch from min(next_attempt_at) - now()), 0)::float8
             from email_outbox where status = 'pending'",
        )
        .fetch_one(&self.pool)
        .await
        .ok()
        .flatten();
        secs.map(|s| Duration::from_secs_f64(s).min(POLL_INTERVAL))
    }
}

struct SendError {
    message: String,
    permanent: bool,
}
