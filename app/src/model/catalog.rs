//! What the catalogue and order endpoints take and return.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::text_enum;
use crate::domain::{Currency, Money};

/// A product of the catalogue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct Product {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    /// A string with two decimals: `"2.20"`, in `currency`.
    #[cfg_attr(feature = "ssr", sqlx(rename = "price_cents"))]
    pub price: Money,
    /// The store's currency, the same for every product: `"EUR"`.
    // Not a column: the catalogue service sets it from the settings.
    #[cfg_attr(feature = "ssr", sqlx(skip))]
    pub currency: Currency,
    pub stock: i32,
    /// Bumped by every change, orders included; send it back to update the product.
    pub version: i32,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub updated_at: String,
}

text_enum! {
    /// Orders of the catalogue.
    pub enum ProductSort {
        Name = "name",
        Price = "price",
        PriceDescending = "-price",
        Newest = "newest",
    }
}

text_enum! {
    /// Where an order is.
    pub enum OrderStatus {
        Placed = "placed",
        /// Cancelled by the person; its stock went back.
        Cancelled = "cancelled",
    }
}

/// One line of an order to place.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct OrderLineInput {
    /// A product id (a UUID).
    #[serde(default)]
    pub product_id: String,
    /// 1 to 1000.
    #[serde(default)]
    pub quantity: Option<serde_json::Value>,
}

/// One line of a placed order: name and unit price as they were at ordering time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct OrderItem {
    pub product_id: Uuid,
    pub name: String,
    pub unit_price: Money,
    pub quantity: i32,
    pub line_total: Money,
    /// The currency of `unit_price` and `line_total`: the store's, `"EUR"`.
    pub currency: Currency,
}

/// An order as its owner sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Order {
    pub id: Uuid,
    pub status: OrderStatus,
    pub items: Vec<OrderItem>,
    pub total: Money,
    /// The currency of `total`: the store's, `"EUR"`.
    pub currency: Currency,
    /// RFC 3339.
    pub created_at: String,
}

/// A line of an order that asked for more than is in stock.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct StockShortage {
    pub product_id: Uuid,
    pub requested: i32,
    pub available: i32,
}
