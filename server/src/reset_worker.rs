//! Handles the queued password reset requests (`services::password_reset::handle_next`): the
//! request answered at once, and this worker issues each code and queues its email at its own
//! pace, one request at a time per process. Every replica runs one; `for update skip locked`
//! keeps them from taking the same request. It wakes on the queue's NOTIFY, and otherwise polls
//! for requests whose earlier try failed. Stopped mid-request, the transaction rolls back and
//! the request is still queued: nothing is lost at shutdown.

use std::time::Duration;

use app::{
    services::password_reset::{self, Handled, REQUEST_CHANNEL},
    state::AppState,
};
use sqlx::postgres::PgListener;

/// Without a notification, look for due requests this often.
const POLL_INTERVAL: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub struct ResetWorker {
    state: AppState,
}

impl ResetWorker {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }

    /// Handles every due request; `false` when a step failed (Postgres out of reach).
    pub async fn drain(&self) -> bool {
        loop {
            match password_reset::handle_next(&self.state).await {
                Ok(Handled::One) => {}
                Ok(Handled::Idle) => return true,
                Err(e) => {
                    // Logged here, once: a worker's error becomes no response.
                    e.log_if_internal();
                    return false;
                }
            }
        }
    }

    /// Runs until the task is aborted.
    pub async fn run(self) {
        let mut listener = match self.listen().await {
            Ok(listener) => Some(listener),
            Err(e) => {
                tracing::warn!(error.cause = %e, "cannot LISTEN for reset requests; polling instead");
                None
            }
        };
        loop {
            if !self.drain().await {
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            match listener.as_mut() {
                Some(l) => {
                    tokio::select! {
                        notification = l.recv() => {
                            if let Err(e) = notification {
                                tracing::warn!(error.cause = %e, "reset request notifications interrupted");
                                tokio::time::sleep(Duration::from_secs(1)).await;
                            }
                        }
                        () = tokio::time::sleep(POLL_INTERVAL) => {}
                    }
                }
                None => tokio::time::sleep(Duration::from_secs(1)).await,
            }
        }
    }

    async fn listen(&self) -> Result<PgListener, sqlx::Error> {
        let mut listener = PgListener::connect_with(&self.state.pool).await?;
        listener.listen(REQUEST_CHANNEL).await?;
        Ok(listener)
    }
}
