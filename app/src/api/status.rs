//! `GET /api/status` (is the service up) and `GET /api/settings` (the rules the pages explain).

use leptos::prelude::*;

use crate::{
    error::ApiError,
    model::{PublicSettings, StatusReport},
};

#[cfg_attr(feature = "ssr", utoipa::path(
    get,
    path = "/api/status",
    tag = "Service",
    responses((status = 200, description = "OK", body = StatusReport)),
))]
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

/// Code length and timers, as this server applies them, and the store's currency.
#[cfg_attr(feature = "ssr", utoipa::path(
    get,
    path = "/api/settings",
    tag = "Service",
    responses((status = 200, description = "OK", body = PublicSettings)),
))]
#[server(endpoint = "settings", input = server_fn::codec::GetUrl)]
pub async fn get_settings() -> Result<PublicSettings, ApiError> {
    use crate::state::AppState;

    // Also asked while the router lists its routes at start-up, outside any request.
    Ok(use_context::<AppState>()
        .map(|state| state.settings.public())
        .unwrap_or_default())
}
