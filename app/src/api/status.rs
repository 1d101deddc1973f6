//! `GET /api/status`: what the home page's status check asks.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

/// Whether the parts the product needs are answering.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusReport {
    /// `true` when Postgres answered a query just now.
    pub database_ok: bool,
    /// The server's version, from its Cargo manifest.
    pub version: String,
}

#[server(endpoint = "status", input = server_fn::codec::GetUrl)]
pub async fn service_status() -> Result<StatusReport, ApiError> {
    use crate::state::{AppState, check_database};

    let state = expect_context::<AppState>();
    let database_ok = match check_database(&state.pool).await {
        Ok(()) => true,
        Err(cause) => {
            tracing::warn!(error.cause = %cause, "status check: database not answering");
            false
        }
    };
    Ok(StatusReport {
        database_ok,
        version: env!("CARGO_PKG_VERSION").to_string(),
    })
}
