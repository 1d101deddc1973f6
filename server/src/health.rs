//! Probes for load balancers and orchestrators.

use app::state::{AppState, check_database};
use axum::{Json, extract::State, http::StatusCode, response::IntoResponse};
use serde_json::json;

/// `GET /healthz`: the process is alive and serving. Touches nothing else.
pub async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

/// `GET /readyz`: 200 when every dependency answers, 503 naming the ones that do not.
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    match check_database(&state.pool).await {
        Ok(()) => (
            StatusCode::OK,
            Json(json!({ "status": "ready", "checks": { "database": "ok" } })),
        ),
        Err(cause) => {
            tracing::warn!(error.cause = %cause, "readiness: database not answering");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({
                    "status": "unavailable",
                    "failed": ["database"],
                    "checks": { "database": "unavailable" },
                })),
            )
        }
    }
}
