//! The product catalogue: a public search, and the administrators' changes, each checked
//! against the version the administrator saw and written to the audit log with the change.

use serde_json::{Value, json};
use sqlx::{PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

use super::{
    paging::{self, Paging, blank_to_none},
    query::{escape_like, parse_enum, plain_text},
};
use crate::t;
use crate::{
    domain::Money,
    error::{ApiError, Context as _, ErrorCode},
    infra::{
        audit::{self, Actor},
        db::DbResultExt as _,
        page_cache::{Lookup, PageCache},
    },
    model::{AuditAction, Page, Product, ProductSort},
    state::AppState,
};

/// Longer than any product name: not a search anyone types.
const MAX_KEYWORD_CHARS: usize = 200;
/// Words of a search that must all match.
const MAX_KEYWORD_WORDS: usize = 8;
pub const MAX_NAME_CHARS: usize = 200;
pub const MAX_DESCRIPTION_CHARS: usize = 5000;
/// More than any shop holds of one product; keeps every sum of stock far from overflowing.
pub const MAX_STOCK: i64 = 1_000_000_000;

/// Pages of the public search, kept for `CATALOG_CACHE_MS`; every committed change of a
/// product (an edit, an order, a cancellation) clears it.
pub type SearchCache = PageCache<ProductFilter, Page<Product>>;

const PRODUCT_COLUMNS: &str = "id, name, description, price_cents, stock, version, \
     rfc3339(created_at) as created_at, rfc3339(updated_at) as updated_at";

/// The catalogue's query string, as sent.
#[derive(Clone, Debug, Default)]
pub struct ProductQuery {
    pub keyword: Option<String>,
    pub min_price: Option<String>,
    pub max_price: Option<String>,
    pub in_stock: Option<String>,
    pub sort: Option<String>,
    pub limit: Option<String>,
    pub offset: Option<String>,
}

/// The catalogue's query, parsed: also the key of the answers kept in [`SearchCache`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ProductFilter {
    /// `LIKE` patterns over `products.search_text`, all of which must match; the longest (most
    /// selective) first.
    patterns: Vec<String>,
    min_price: Option<Money>,
    max_price: Option<Money>,
    in_stock: bool,
    sort: ProductSort,
    paging: Paging,
}

fn parse_price_filter(raw: Option<&str>, field: &str) -> Result<Option<Money>, ApiError> {
    blank_to_none(raw)
        .map(|text| Money::parse_decimal(text).map_err(|e| ApiError::field(field, e)))
        .transpose()
}

fn parse_bool(raw: Option<&str>, field: &str) -> Result<bool, ApiError> {
    match blank_to_none(raw) {
        None | Some("false" | "0") => Ok(false),
        Some("true" | "1" | "on") => Ok(true),
        Some(_) => Err(ApiError::invalid(field, t!(errors.use_true_or_false))),
    }
}

impl ProductQuery {
    fn parse(&self) -> Result<ProductFilter, ApiError> {
        let keyword = plain_text(self.keyword.as_deref().unwrap_or(""), "keyword")?;
        if keyword.chars().count() > MAX_KEYWORD_CHARS {
            return Err(ApiError::invalid(
                "keyword",
                t!(errors.search_at_most_chars, max = MAX_KEYWORD_CHARS),
            ));
        }
        let mut words: Vec<String> = keyword.split_whitespace().map(str::to_lowercase).collect();
        words.sort_by_key(|w| std::cmp::Reverse(w.chars().count()));
        words.dedup();
        if words.len() > MAX_KEYWORD_WORDS {
            return Err(ApiError::invalid(
                "keyword",
                t!(errors.search_at_most_words, max = MAX_KEYWORD_WORDS),
            ));
        }
        let min_price = parse_price_filter(self.min_price.as_deref(), "min_price")?;
        let max_price = parse_price_filter(self.max_price.as_deref(), "max_price")?;
        if let (Some(min), Some(max)) = (min_price, max_price)
            && min > max
        {
            return Err(ApiError::invalid(
                "max_price",
                t!(errors.price_range_inverted),
            ));
        }
        Ok(ProductFilter {
            patterns: words
                .iter()
                .map(|w| format!("%{}%", escape_like(w)))
                .collect(),
            min_price,
            max_price,
            in_stock: parse_bool(self.in_stock.as_deref(), "in_stock")?,
            sort: parse_enum(self.sort.as_deref(), "sort", ProductSort::ALL)?
                .unwrap_or(ProductSort::Name),
            paging: Paging::parse(self.limit.as_deref(), self.offset.as_deref())?,
        })
    }
}

fn push_filters<'a>(query: &mut QueryBuilder<'a, Postgres>, filter: &'a ProductFilter) {
    query.push(" where deleted_at is null");
    for pattern in &filter.patterns {
        query.push(" and search_text like ").push_bind(pattern);
    }
    if let Some(min) = filter.min_price {
        query.push(" and price_cents >= ").push_bind(min);
    }
    if let Some(max) = filter.max_price {
        query.push(" and price_cents <= ").push_bind(max);
    }
    if filter.in_stock {
        query.push(" and stock > 0");
    }
}

/// The catalogue: keyword (every word in the name or description, any order, any case),
/// price range, in stock only, sort and one page. `total` is exact up to
/// [`paging::COUNT_CAP`] matches and a lower bound beyond (`total_exact`).
#[tracing::instrument(name = "catalog.list", skip_all)]
pub async fn list(state: &AppState, query: &ProductQuery) -> Result<Page<Product>, ApiError> {
    let filter = query.parse()?;
    match state.catalog_cache.lookup(&filter) {
        Lookup::Fresh(page) => Ok(page),
        Lookup::Refresh(page) => {
            // Ahead of its expiry, in the background (see `infra::page_cache`).
            let state = state.clone();
            tokio::spawn(async move {
                if let Err(e) = search(&state, filter).await {
                    e.log_if_internal();
                }
            });
            Ok(page)
        }
        Lookup::Miss => search(state, filter).await,
    }
}

/// Runs a search, and keeps its answer.
async fn search(state: &AppState, filter: ProductFilter) -> Result<Page<Product>, ApiError> {
    let cache = &state.catalog_cache;
    let generation = cache.generation();
    let mut conn = state.pool.acquire().await.context("acquire a connection")?;
    let (page, count) = search_queries(&filter);
    let mut page: Page<Product> =
        paging::fetch_page(&mut conn, filter.paging, page, count, "products").await?;
    for product in &mut page.items {
        priced(state, product);
    }
    let bytes = page
        .items
        .iter()
        .map(|p| 200 + p.name.len() + p.description.len())
        .sum();
    cache.put(filter, page.clone(), bytes, generation);
    Ok(page)
}

/// The statements of a search, without their ends (`paging::fetch_page` adds them): one page
/// of the products `filter` finds, and their count.
fn search_queries(
    filter: &ProductFilter,
) -> (QueryBuilder<'_, Postgres>, QueryBuilder<'_, Postgres>) {
    let mut page = QueryBuilder::new("select ");
    page.push(PRODUCT_COLUMNS).push(" from products");
    push_filters(&mut page, filter);
    // Fixed text per sort; qualified, so the RFC 3339 output columns are not what is sorted.
    // Live names are unique case-insensitively, so `lower(name)` is a total order.
    page.push(match filter.sort {
        ProductSort::Name => " order by lower(products.name)",
        ProductSort::Price => " order by products.price_cents, products.id",
        ProductSort::PriceDescending => " order by products.price_cents desc, products.id desc",
        ProductSort::Newest => " order by products.created_at desc, products.id desc",
    });
    let mut count = QueryBuilder::new("select count(*) from (select 1 from products");
    push_filters(&mut count, filter);
    (page, count)
}

/// What `list` sends Postgres for a search by `keyword` alone (the default sort and page), for
/// `server statements` and the bench's `pgbench`: the page's statement and the count's, and
/// the parameters of each, in order, as text. (The count runs only when the first page is
/// full.)
pub fn search_statements(keyword: &str) -> Result<SearchStatements, ApiError> {
    let filter = ProductQuery {
        keyword: Some(keyword.to_string()),
        ..ProductQuery::default()
    }
    .parse()?;
    let (mut page, mut count) = search_queries(&filter);
    paging::push_window(&mut page, filter.paging);
    paging::push_cap(&mut count, i64::from(paging::COUNT_CAP));
    let window = [filter.paging.limit, filter.paging.offset].map(|n| n.to_string());
    let cap = (i64::from(paging::COUNT_CAP) + 1).to_string();
    Ok(SearchStatements {
        page: page.sql().to_string(),
        page_parameters: filter.patterns.iter().cloned().chain(window).collect(),
        count: count.sql().to_string(),
        count_parameters: filter.patterns.iter().cloned().chain([cap]).collect(),
    })
}

/// See [`search_statements`].
#[derive(Debug, serde::Serialize)]
pub struct SearchStatements {
    pub page: String,
    pub page_parameters: Vec<String>,
    pub count: String,
    pub count_parameters: Vec<String>,
}

pub fn parse_product_id(raw: &str, field: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw.trim()).map_err(|_| ApiError::invalid(field, t!(errors.not_a_product_id)))
}

fn product_not_found() -> ApiError {
    ApiError::not_found(t!(errors.no_such_product))
}

/// Sets a product's currency, the store's (`STORE_CURRENCY`): every product read from the
/// database goes through here before it is answered.
fn priced(state: &AppState, product: &mut Product) {
    product.currency = state.settings.catalog.currency;
}

async fn load(conn: &mut PgConnection, id: Uuid) -> Result<Option<Product>, ApiError> {
    let mut query = QueryBuilder::new("select ");
    query
        .push(PRODUCT_COLUMNS)
        .push(" from products where deleted_at is null and id = ")
        .push_bind(id);
    query
        .build_query_as::<Product>()
        .fetch_optional(conn)
        .await
        .context("load a product")
}

/// One product of the catalogue.
pub async fn get(state: &AppState, id: &str) -> Result<Product, ApiError> {
    let id = parse_product_id(id, "id")?;
    let mut conn = state.pool.acquire().await.context("acquire a connection")?;
    let mut product = load(&mut conn, id).await?.ok_or_else(product_not_found)?;
    priced(state, &mut product);
    Ok(product)
}

/// A whole number from a JSON number or a string of digits, within `range`.
pub fn parse_whole(
    value: &Value,
    field: &str,
    range: std::ops::RangeInclusive<i64>,
) -> Result<i64, ApiError> {
    let number = match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    };
    number.filter(|n| range.contains(n)).ok_or_else(|| {
        ApiError::invalid(
            field,
            t!(
                errors.whole_number_range,
                min = range.start(),
                max = range.end()
            ),
        )
    })
}

fn parse_name(raw: &str) -> Result<String, ApiError> {
    let name = plain_text(raw, "name")?.trim();
    if name.is_empty() || name.contains(['\n', '\t']) {
        return Err(ApiError::invalid("name", t!(errors.product_name_required)));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(ApiError::invalid(
            "name",
            t!(errors.at_most_chars, max = MAX_NAME_CHARS),
        ));
    }
    Ok(name.to_string())
}

fn parse_description(raw: &str) -> Result<String, ApiError> {
    let description = plain_text(raw, "description")?.trim();
    if description.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(ApiError::invalid(
            "description",
            t!(errors.at_most_chars, max = MAX_DESCRIPTION_CHARS),
        ));
    }
    Ok(description.to_string())
}

fn parse_price(value: &Value) -> Result<Money, ApiError> {
    Money::parse_price(value).map_err(|e| ApiError::field("price", e))
}

fn parse_stock(value: &Value) -> Result<i32, ApiError> {
    let stock = parse_whole(value, "stock", 0..=MAX_STOCK)?;
    i32::try_from(stock).map_err(|_| ApiError::invalid("stock", t!(errors.stock_too_large)))
}

fn name_taken() -> ApiError {
    ApiError::new(ErrorCode::NameTaken, t!(errors.product_name_taken)).with_field("name")
}

/// What an administrator sends to create a product.
#[derive(Clone, Debug, Default)]
pub struct NewProduct {
    pub name: String,
    pub description: Option<String>,
    pub price: Option<Value>,
    pub stock: Option<Value>,
}

/// Adds a product to the catalogue.
pub async fn create(
    state: &AppState,
    actor: &Actor,
    input: NewProduct,
) -> Result<Product, ApiError> {
    let name = parse_name(&input.name)?;
    let description = parse_description(input.description.as_deref().unwrap_or(""))?;
    let price = parse_price(
        input
            .price
            .as_ref()
            .ok_or_else(|| ApiError::invalid("price", t!(errors.product_price_required)))?,
    )?;
    let stock = parse_stock(
        input
            .stock
            .as_ref()
            .ok_or_else(|| ApiError::invalid("stock", t!(errors.product_stock_required)))?,
    )?;
    let mut tx = state
        .pool
        .begin()
        .await
        .context("begin creating a product")?;
    let mut insert =
        QueryBuilder::new("insert into products (name, description, price_cents, stock) values (");
    insert
        .push_bind(&name)
        .push(", ")
        .push_bind(&description)
        .push(", ")
        .push_bind(price)
        .push(", ")
        .push_bind(stock)
        .push(") returning ")
        .push(PRODUCT_COLUMNS);
    let mut product = insert
        .build_query_as::<Product>()
        .fetch_one(&mut *tx)
        .await
        .on_constraint("products_name_key", name_taken, "create a product")?;
    priced(state, &mut product);
    audit::record(
        &mut tx,
        actor,
        AuditAction::ProductCreated,
        None,
        json!({
            "product_id": product.id,
            "name": product.name,
            "price": product.price,
            "stock": product.stock,
        }),
    )
    .await?;
    tx.commit().await.context("commit a new product")?;
    state.catalog_cache.invalidate();
    Ok(product)
}

/// What an administrator sends to change a product: the version they saw, and the fields to
/// change.
#[derive(Clone, Debug, Default)]
pub struct ProductChanges {
    pub id: String,
    pub version: Option<Value>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub price: Option<Value>,
    pub stock: Option<Value>,
}

fn version_conflict() -> ApiError {
    ApiError::new(ErrorCode::VersionConflict, t!(errors.product_changed)).with_field("version")
}

/// Changes a product, if it is still at the version the administrator saw.
pub async fn update(
    state: &AppState,
    actor: &Actor,
    input: ProductChanges,
) -> Result<Product, ApiError> {
    let id = parse_product_id(&input.id, "id")?;
    let version = parse_whole(
        input
            .version
            .as_ref()
            .ok_or_else(|| ApiError::invalid("version", t!(errors.version_required)))?,
        "version",
        1..=i64::from(i32::MAX),
    )?;
    let name = input.name.as_deref().map(parse_name).transpose()?;
    let description = input
        .description
        .as_deref()
        .map(parse_description)
        .transpose()?;
    let price = input.price.as_ref().map(parse_price).transpose()?;
    let stock = input.stock.as_ref().map(parse_stock).transpose()?;

    let mut tx = state
        .pool
        .begin()
        .await
        .context("begin changing a product")?;
    let mut update = QueryBuilder::new("update products set version = version + 1");
    if let Some(name) = &name {
        update.push(", name = ").push_bind(name);
    }
    if let Some(description) = &description {
        update.push(", description = ").push_bind(description);
    }
    if let Some(price) = price {
        update.push(", price_cents = ").push_bind(price);
    }
    if let Some(stock) = stock {
        update.push(", stock = ").push_bind(stock);
    }
    update
        .push(" where deleted_at is null and id = ")
        .push_bind(id)
        .push(" and version = ")
        .push_bind(version as i32)
        .push(" returning ")
        .push(PRODUCT_COLUMNS);
    let updated = update
        .build_query_as::<Product>()
        .fetch_optional(&mut *tx)
        .await
        .on_constraint("products_name_key", name_taken, "change a product")?;
    let Some(mut product) = updated else {
        // Either it is gone or it moved on: tell which.
        return Err(match load(&mut tx, id).await? {
            Some(_) => version_conflict(),
            None => product_not_found(),
        });
    };
    priced(state, &mut product);
    let mut changes = serde_json::Map::new();
    changes.insert("product_id".into(), json!(product.id));
    if name.is_some() {
        changes.insert("name".into(), json!(product.name));
    }
    if description.is_some() {
        changes.insert("description".into(), json!(true));
    }
    if price.is_some() {
        changes.insert("price".into(), json!(product.price));
    }
    if stock.is_some() {
        changes.insert("stock".into(), json!(product.stock));
    }
    audit::record(
        &mut tx,
        actor,
        AuditAction::ProductUpdated,
        None,
        Value::Object(changes),
    )
    .await?;
    tx.commit().await.context("commit a product change")?;
    state.catalog_cache.invalidate();
    Ok(product)
}

/// Takes a product out of the catalogue. Past orders keep their lines (name and price were
/// copied), and the name is free for a new product.
pub async fn delete(state: &AppState, actor: &Actor, id: &str) -> Result<(), ApiError> {
    let id = parse_product_id(id, "id")?;
    let mut tx = state
        .pool
        .begin()
        .await
        .context("begin deleting a product")?;
    let name: Option<String> = sqlx::query_scalar(
        "update products set deleted_at = now(), version = version + 1
         where id = $1 and deleted_at is null
         returning name",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await
    .context("delete a product")?;
    let name = name.ok_or_else(product_not_found)?;
    audit::record(
        &mut tx,
        actor,
        AuditAction::ProductDeleted,
        None,
        json!({ "product_id": id, "name": name }),
    )
    .await?;
    tx.commit().await.context("commit a deletion")?;
    state.catalog_cache.invalidate();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> ProductQuery {
        let get = |k: &str| {
            pairs
                .iter()
                .find(|(key, _)| *key == k)
                .map(|(_, v)| v.to_string())
        };
        ProductQuery {
            keyword: get("keyword"),
            min_price: get("min_price"),
            max_price: get("max_price"),
            in_stock: get("in_stock"),
            sort: get("sort"),
            limit: get("limit"),
            offset: get("offset"),
        }
    }

    #[test]
    fn keywords_become_escaped_patterns_longest_first() {
        let filter = query(&[("keyword", "  Tea 100%  GREEN tea ")])
            .parse()
            .expect("parses");
        assert_eq!(filter.patterns, ["%green%", "%100\\%%", "%tea%"]);
        assert_eq!(filter.sort, ProductSort::Name);
        assert!(!filter.in_stock);
    }

    #[test]
    fn bad_numbers_and_sorts_name_their_field() {
        for (pairs, field) in [
            (vec![("min_price", "abc")], "min_price"),
            (vec![("max_price", "-1")], "max_price"),
            (vec![("max_price", "1.234")], "max_price"),
            (vec![("min_price", "5"), ("max_price", "4")], "max_price"),
            (vec![("sort", "price desc")], "sort"),
            (vec![("in_stock", "maybe")], "in_stock"),
            (vec![("limit", "0")], "limit"),
            (vec![("limit", "101")], "limit"),
            (vec![("offset", "x")], "offset"),
            (vec![("keyword", "a\u{0}b")], "keyword"),
        ] {
            let e = query(&pairs).parse().expect_err("refused");
            assert_eq!(e.field.as_deref(), Some(field), "{pairs:?}");
        }
        let ok = query(&[
            ("sort", "-price"),
            ("in_stock", "true"),
            ("max_price", "2.2"),
        ])
        .parse()
        .expect("parses");
        assert_eq!(ok.sort, ProductSort::PriceDescending);
        assert!(ok.in_stock);
        assert_eq!(ok.max_price, Some(Money::from_cents(220)));
    }

    #[test]
    fn whole_numbers_come_as_numbers_or_digits() {
        assert_eq!(parse_whole(&json!(7), "stock", 0..=10), Ok(7));
        assert_eq!(parse_whole(&json!(" 7 "), "stock", 0..=10), Ok(7));
        for bad in [
            json!(-1),
            json!(11),
            json!(1.5),
            json!("7x"),
            json!(null),
            json!([1]),
        ] {
            let e = parse_whole(&bad, "stock", 0..=10).expect_err("refused");
            assert_eq!(e.field.as_deref(), Some("stock"));
        }
    }

    #[test]
    fn names_are_one_plain_line() {
        assert_eq!(parse_name("  Green tea "), Ok("Green tea".to_string()));
        for bad in ["", "   ", "two\nlines", "bell\u{7}", &"x".repeat(201)] {
            assert!(parse_name(bad).is_err(), "{bad:?}");
        }
    }
}
