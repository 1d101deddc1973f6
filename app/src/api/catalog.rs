//! The catalogue: `GET /api/products`, `GET /api/product` (public), and the administrators'
//! `POST /api/create-product`, `/api/update-product`, `/api/delete-product` (401
//! `unauthenticated` without a session, 403 `forbidden` for anyone else).
//!
//! Prices and counts arrive as JSON values, so a wrong type is a 422 naming its field rather
//! than a body that does not parse.

use leptos::prelude::*;
use serde_json::Value;

use crate::{
    error::ApiError,
    model::{Done, Page, Product},
};

/// `keyword` (every word in the name or description), `min_price`, `max_price`, `in_stock`,
/// `sort` (`name`, `price`, `-price`, `newest`), `limit` (1–100, default 20), `offset`.
#[cfg_attr(feature = "ssr", utoipa::path(
    get,
    path = "/api/products",
    tag = "Catalogue",
    params(
        ("keyword" = Option<String>, Query, description = "Words that must all appear in the name or description", example = "lamp"),
        ("min_price" = Option<String>, Query, description = "Lowest price, e.g. `2.20`", example = "1.00"),
        ("max_price" = Option<String>, Query, description = "Highest price", example = "100.00"),
        ("in_stock" = Option<String>, Query, description = "`true` leaves out what is sold out", example = "true"),
        ("sort" = Option<String>, Query, description = "`name` (default), `price`, `-price` or `newest`", example = "price"),
        ("limit" = Option<String>, Query, description = "1 to 100 (default 20)", example = "20"),
        ("offset" = Option<String>, Query, description = "Rows to skip", example = "0"),
    ),
    responses((status = 200, description = "OK", body = Page<Product>)),
))]
#[server(endpoint = "products", input = server_fn::codec::GetUrl)]
pub async fn products(
    #[server(default)] keyword: Option<String>,
    #[server(default)] min_price: Option<String>,
    #[server(default)] max_price: Option<String>,
    #[server(default)] in_stock: Option<String>,
    #[server(default)] sort: Option<String>,
    #[server(default)] limit: Option<String>,
    #[server(default)] offset: Option<String>,
) -> Result<Page<Product>, ApiError> {
    use crate::{api::extract, services::catalog};

    let request = extract::Request::current().await;
    let query = catalog::ProductQuery {
        keyword,
        min_price,
        max_price,
        in_stock,
        sort,
        limit,
        offset,
    };
    catalog::list(&request.state, &query).await
}

#[cfg_attr(feature = "ssr", utoipa::path(
    get,
    path = "/api/product",
    tag = "Catalogue",
    params(
        ("id" = Option<String>, Query, description = "The product's id", example = "3d6f0c1a-9b7e-4e52-8f4a-1c2d3e4f5a6b"),
    ),
    responses((status = 200, description = "OK", body = Product)),
))]
#[server(endpoint = "product", input = server_fn::codec::GetUrl)]
pub async fn get_product(#[server(default)] id: String) -> Result<Product, ApiError> {
    use crate::{api::extract, services::catalog};

    let request = extract::Request::current().await;
    catalog::get(&request.state, &id).await
}

/// `price` is a string or a number with at most two decimals; `stock` a whole number.
#[cfg_attr(feature = "ssr", utoipa::path(
    post,
    path = "/api/create-product",
    tag = "Catalogue",
    request_body = crate::model::requests::CreateProductRequest,
    responses((status = 201, description = "Created", body = Product)),
    security(("session" = []), ("bearer" = [])),
))]
#[server(endpoint = "create-product", input = server_fn::codec::Json)]
pub async fn create_product(
    #[server(default)] name: String,
    #[server(default)] description: Option<String>,
    #[server(default)] price: Option<Value>,
    #[server(default)] stock: Option<Value>,
) -> Result<Product, ApiError> {
    use crate::{api::extract, infra::audit::Actor, services::catalog};

    let request = extract::Request::current().await;
    let admin = request.administrator().await?;
    let actor = Actor::administrator(&admin, &request.client);
    let input = catalog::NewProduct {
        name,
        description,
        price,
        stock,
    };
    let product = catalog::create(&request.state, &actor, input).await?;
    extract::set_status(http::StatusCode::CREATED);
    Ok(product)
}

/// Changes the fields sent, if `version` is still the product's version; answers the product
/// with its new version.
#[cfg_attr(feature = "ssr", utoipa::path(
    post,
    path = "/api/update-product",
    tag = "Catalogue",
    request_body = crate::model::requests::UpdateProductRequest,
    responses((status = 200, description = "OK", body = Product)),
    security(("session" = []), ("bearer" = [])),
))]
#[server(endpoint = "update-product", input = server_fn::codec::Json)]
pub async fn update_product(
    #[server(default)] id: String,
    #[server(default)] version: Option<Value>,
    #[server(default)] name: Option<String>,
    #[server(default)] description: Option<String>,
    #[server(default)] price: Option<Value>,
    #[server(default)] stock: Option<Value>,
) -> Result<Product, ApiError> {
    use crate::{api::extract, infra::audit::Actor, services::catalog};

    let request = extract::Request::current().await;
    let admin = request.administrator().await?;
    let actor = Actor::administrator(&admin, &request.client);
    let changes = catalog::ProductChanges {
        id,
        version,
        name,
        description,
        price,
        stock,
    };
    catalog::update(&request.state, &actor, changes).await
}

/// Takes the product out of the catalogue; past orders keep their lines.
#[cfg_attr(feature = "ssr", utoipa::path(
    post,
    path = "/api/delete-product",
    tag = "Catalogue",
    request_body = crate::model::requests::IdRequest,
    responses((status = 200, description = "OK", body = Done)),
    security(("session" = []), ("bearer" = [])),
))]
#[server(endpoint = "delete-product", input = server_fn::codec::Json)]
pub async fn delete_product(#[server(default)] id: String) -> Result<Done, ApiError> {
    use crate::{api::extract, infra::audit::Actor, services::catalog};

    let request = extract::Request::current().await;
    let admin = request.administrator().await?;
    let actor = Actor::administrator(&admin, &request.client);
    catalog::delete(&request.state, &actor, &id).await?;
    Ok(Done::OK)
}
