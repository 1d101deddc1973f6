//! Orders of the signed-in person (session cookie or bearer token): `POST /api/place-order`,
//! `GET /api/orders`, `GET /api/order`, `POST /api/cancel-order`.

use leptos::prelude::*;

use crate::{
    error::ApiError,
    model::{Order, OrderLineInput, Page},
};

/// Every line in stock, or nothing: 409 `insufficient_stock` lists every short line. With an
/// `Idempotency-Key` header, a repeat of the same request answers the first order again.
#[cfg_attr(feature = "ssr", utoipa::path(
    post,
    path = "/api/place-order",
    tag = "Orders",
    request_body = crate::model::requests::PlaceOrderRequest,
    params(
        ("Idempotency-Key" = Option<String>, Header, description = "Up to 255 visible ASCII characters; a repeat with the same body answers the first order again (for 24 hours)"),
    ),
    responses((status = 201, description = "Created", body = Order, headers(("idempotent-replayed" = String, description = "`true` when this answers an earlier request with the same key")))),
    security(("session" = []), ("bearer" = [])),
))]
#[server(endpoint = "place-order", input = server_fn::codec::Json)]
pub async fn place_order(#[server(default)] items: Vec<OrderLineInput>) -> Result<Order, ApiError> {
    use crate::{api::extract, services::orders};

    let request = extract::Request::current().await;
    let caller = request.caller().await?;
    let key = request
        .headers
        .get("idempotency-key")
        .map(|value| orders::parse_idempotency_key(value.as_bytes()))
        .transpose()?;
    let placed = orders::place(&request.state, &caller, &items, key.as_deref()).await?;
    extract::set_status(http::StatusCode::CREATED);
    if placed.replayed {
        extract::set_header(
            "idempotent-replayed",
            http::HeaderValue::from_static("true"),
        );
    }
    Ok(placed.order)
}

/// The caller's orders, newest first.
#[cfg_attr(feature = "ssr", utoipa::path(
    get,
    path = "/api/orders",
    tag = "Orders",
    params(
        ("limit" = Option<String>, Query, description = "1 to 100 (default 20)", example = "20"),
        ("offset" = Option<String>, Query, description = "Rows to skip", example = "0"),
    ),
    responses((status = 200, description = "OK", body = Page<Order>)),
    security(("session" = []), ("bearer" = [])),
))]
#[server(endpoint = "orders", input = server_fn::codec::GetUrl)]
pub async fn orders(
    #[server(default)] limit: Option<String>,
    #[server(default)] offset: Option<String>,
) -> Result<Page<Order>, ApiError> {
    use crate::{api::extract, services::orders};

    let request = extract::Request::current().await;
    let caller = request.caller().await?;
    orders::list(&request.state, &caller, limit.as_deref(), offset.as_deref()).await
}

/// One of the caller's orders (anyone else's is 404, like one that does not exist).
#[cfg_attr(feature = "ssr", utoipa::path(
    get,
    path = "/api/order",
    tag = "Orders",
    params(
        ("id" = Option<String>, Query, description = "The order's id", example = "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"),
    ),
    responses((status = 200, description = "OK", body = Order)),
    security(("session" = []), ("bearer" = [])),
))]
#[server(endpoint = "order", input = server_fn::codec::GetUrl)]
pub async fn get_order(#[server(default)] id: String) -> Result<Order, ApiError> {
    use crate::{api::extract, services::orders};

    let request = extract::Request::current().await;
    let caller = request.caller().await?;
    orders::get(&request.state, &caller, &id).await
}

/// Cancels the order and puts its stock back.
#[cfg_attr(feature = "ssr", utoipa::path(
    post,
    path = "/api/cancel-order",
    tag = "Orders",
    request_body = crate::model::requests::IdRequest,
    responses((status = 200, description = "OK", body = Order)),
    security(("session" = []), ("bearer" = [])),
))]
#[server(endpoint = "cancel-order", input = server_fn::codec::Json)]
pub async fn cancel_order(#[server(default)] id: String) -> Result<Order, ApiError> {
    use crate::{api::extract, services::orders};

    let request = extract::Request::current().await;
    let caller = request.caller().await?;
    orders::cancel(&request.state, &caller, &id).await
}
