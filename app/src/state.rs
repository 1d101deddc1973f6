//! Server-side state shared with server functions through Leptos context.

use std::{sync::Arc, time::Duration};

use leptos::config::LeptosOptions;
use sqlx::PgPool;

use crate::infra::{config::Settings, hashing::PasswordHasher};

/// Everything a request handler or a service may need. Cheap to clone: every field is a
/// handle.
#[derive(Clone, Debug)]
pub struct AppState {
    /// Behind an `Arc`: the state is cloned into every server function's context, and the
    /// options are a dozen strings.
    pub leptos_options: Arc<LeptosOptions>,
    pub pool: PgPool,
    pub settings: Arc<Settings>,
    pub hasher: PasswordHasher,
    /// Answers of the public catalogue search, kept for a moment (see `infra::page_cache`).
    pub catalog_cache: Arc<crate::services::catalog::SearchCache>,
}

impl axum::extract::FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        LeptosOptions::clone(&state.leptos_options)
    }
}

/// How long a readiness probe waits for Postgres before calling it down.
pub const DATABASE_PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Asks Postgres a trivial question; `Err` carries why it did not answer.
pub async fn check_database(pool: &PgPool) -> Result<(), String> {
    let probe = sqlx::query_scalar::<_, i32>("select 1").fetch_one(pool);
    match tokio::time::timeout(DATABASE_PROBE_TIMEOUT, probe).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!(
            "no answer within {} s",
            DATABASE_PROBE_TIMEOUT.as_secs()
        )),
    }
}
