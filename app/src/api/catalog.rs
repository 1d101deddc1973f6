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

#[server(endpoint = "product", input = server_fn::codec::GetUrl)]
pub async fn get_product(#[server(default)] id: String) -> Result<Product, ApiError> {
    use crate::{api::extract, services::catalog};

    let request = extract::Request::current().await;
    catalog::get(&request.state, &id).await
}

/// `price` is a string or a number with at most two decimals; `stock` a whole number.
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
#[server(endpoint = "delete-product", input = server_fn::codec::Json)]
pub async fn delete_product(#[server(default)] id: String) -> Result<Done, ApiError> {
    use crate::{api::extract, infra::audit::Actor, services::catalog};

    let request = extract::Request::current().await;
    let admin = request.administrator().await?;
    let actor = Actor::administrator(&admin, &request.client);
    catalog::delete(&request.state, &actor, &id).await?;
    Ok(Done::OK)
}
