//! Server-side state shared with server functions through Leptos context.

use std::{sync::Arc, time::Duration};

use leptos::config::LeptosOptions;
use sqlx::PgPool;

use crate::infra::{config::Settings, hashing::PasswordHasher};

/// Everything a request handler or a service may need ([`AppStateParts`], its fields read
/// through it). One `Arc`: the state is cloned into every server function's context and
/// dropped after, and one reference count costs less than one per handle (the handles' counts
/// were about 2 % of the server's samples under the profile load).
#[derive(Clone, Debug)]
pub struct AppState(Arc<AppStateParts>);

#[derive(Debug)]
pub struct AppStateParts {
    /// Behind an `Arc`: the options are a dozen strings, and the router's extractor clones
    /// them.
    pub leptos_options: Arc<LeptosOptions>,
    pub pool: PgPool,
    pub settings: Arc<Settings>,
    pub hasher: PasswordHasher,
    /// Answers of the public catalogue search, kept for a moment (see `infra::page_cache`).
    pub catalog_cache: Arc<crate::services::catalog::SearchCache>,
}

impl AppState {
    pub fn new(parts: AppStateParts) -> Self {
        Self(Arc::new(parts))
    }
}

impl std::ops::Deref for AppState {
    type Target = AppStateParts;

    fn deref(&self) -> &AppStateParts {
        &self.0
    }
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
