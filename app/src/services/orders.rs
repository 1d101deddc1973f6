//! Orders: every line in stock or nothing, in one transaction.
//!
//! Placing an order locks its products in id order (`order by id for update`), so two orders
//! sharing products always lock them in the same order and never deadlock; checks every line
//! against the locked stock; and then deducts the stock, writes the order and queues its
//! confirmation email and its `order.placed` webhook event in the same transaction. A refused
//! order changes nothing.

use std::collections::{HashMap, HashSet};

use serde_json::{Value, json};
use sqlx::{PgConnection, Postgres, Transaction};
use uuid::Uuid;

use super::{
    catalog::{parse_product_id, parse_whole},
    paging::Paging,
};
use crate::t;
use crate::{
    domain::{Currency, Money},
    error::{ApiError, Context as _, ErrorCode},
    infra::{
        mail,
        sessions::Caller,
        webhooks::{self, Event},
    },
    model::{Order, OrderItem, OrderLineInput, OrderStatus, Page, StockShortage},
    state::AppState,
};

/// Lines of one order.
pub const MAX_LINES: usize = crate::domain::ORDER_MAX_LINES;
/// Units of one product on one line.
pub const MAX_QUANTITY: u32 = crate::domain::ORDER_MAX_QUANTITY;
/// Characters of an `Idempotency-Key`.
const MAX_KEY_CHARS: usize = 255;

/// The first of an order's two statements (`$1` the product ids, `$2` the buyer): the
/// products, locked in id order, and with them what the confirmation needs (the buyer's
/// address, the transaction's time, which `orders.created_at` will be, and the new order's
/// id), in one round trip. `server statements` prints it for the bench's `pgbench`.
pub const LOCK_PRODUCTS: &str = "select p.id, p.name, p.price_cents, p.stock,
        u.email, u.first_name, rfc3339(now()) as now, gen_random_uuid() as new_id
 from products p, users u
 where p.id = any($1) and p.deleted_at is null and u.id = $2
 order by p.id
 for update of p";

/// The second: stock, order, lines, email, webhook event and the idempotent response in one
/// statement, so the row locks taken by [`LOCK_PRODUCTS`] are held for one more round trip and
/// the commit. Its parameters are bound in `place`, in order.
pub const WRITE_ORDER: &str = "with deducted as (
     update products p
     set stock = p.stock - l.quantity, version = p.version + 1
     from unnest($2::uuid[], $3::int4[]) as l(id, quantity)
     where p.id = l.id
 ),
 placed as (
     insert into orders (id, user_id, total_cents) values ($4, $1, $5)
     returning id
 ),
 lines as (
     insert into order_items (order_id, line, product_id, name, unit_price_cents, quantity)
     select placed.id, l.line, l.product_id, l.name, l.price, l.quantity
     from placed,
          unnest($6::int2[], $2::uuid[], $7::text[], $8::int8[], $3::int4[])
              as l(line, product_id, name, price, quantity)
 ),
 answered as (
     update idempotency_keys set response = $15
     where $14::text is not null and user_id = $1 and key = $14
 ),
 queued as (
     insert into email_outbox (user_id, kind, recipient, subject, text_body, html_body)
     values ($1, $9, $10, $11, $12, $13)
 ),
 event as (
     insert into webhook_events (type, ordering_key, body)
     select $17, $1::text, $18 where cardinality($19::text[]) > 0
     returning id
 ),
 hooks as (
     insert into webhook_deliveries (event_id, url, ordering_key)
     select event.id, u.url, $1::text
     from event, unnest($19::text[]) with ordinality as u(url, n)
     order by u.n
 )
 select pg_notify($16, ''),
        (select pg_notify($20, '') where cardinality($19::text[]) > 0)";

/// A line of an order to place, parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Line {
    product_id: Uuid,
    quantity: i32,
}

fn parse_lines(items: &[OrderLineInput]) -> Result<Vec<Line>, ApiError> {
    if items.is_empty() {
        return Err(ApiError::invalid("items", t!(errors.order_empty)));
    }
    if items.len() > MAX_LINES {
        return Err(ApiError::invalid(
            "items",
            t!(errors.order_too_many_lines, max = MAX_LINES),
        ));
    }
    let mut seen = HashSet::with_capacity(items.len());
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let product_id = parse_product_id(&item.product_id, &format!("items[{i}].product_id"))?;
            if !seen.insert(product_id) {
                return Err(ApiError::invalid(
                    format!("items[{i}].product_id"),
                    t!(errors.order_duplicate_product),
                ));
            }
            let field = format!("items[{i}].quantity");
            let quantity = item.quantity.as_ref().ok_or_else(|| {
                ApiError::invalid(field.as_str(), t!(errors.order_quantity_required))
            })?;
            let quantity = parse_whole(quantity, &field, 1..=i64::from(MAX_QUANTITY))? as i32;
            Ok(Line {
                product_id,
                quantity,
            })
        })
        .collect()
}

/// An `Idempotency-Key` header: 1 to 255 visible ASCII characters.
pub fn parse_idempotency_key(raw: &[u8]) -> Result<String, ApiError> {
    let key = std::str::from_utf8(raw).ok().map(str::trim);
    match key {
        Some(key)
            if !key.is_empty()
                && key.len() <= MAX_KEY_CHARS
                && key.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            Ok(key.to_string())
        }
        _ => Err(ApiError::invalid(
            "Idempotency-Key",
            t!(errors.idempotency_key_invalid, max = MAX_KEY_CHARS),
        )),
    }
}

/// The request a key stands for, as stored: the parsed lines in the order sent.
fn canonical_request(lines: &[Line]) -> Value {
    Value::Array(
        lines
            .iter()
            .map(|l| json!([l.product_id, l.quantity]))
            .collect(),
    )
}

/// What a key already holds.
enum Claim {
    /// The key is new: this transaction owns it and must store its response.
    Claimed,
    /// An earlier request with the same body succeeded: its response.
    Replay(Box<Order>),
}

/// Claims `key` for this request in `tx`. A concurrent request with the same key waits on the
/// row until this transaction ends; if that one placed its order, the waiter replays it.
async fn claim_key(
    tx: &mut PgConnection,
    user_id: Uuid,
    key: &str,
    request: &Value,
    currency: Currency,
) -> Result<Claim, ApiError> {
    // A claim whose transaction rolled back leaves nothing behind, so this settles in at most
    // two rounds unless the key is being hammered; then the caller hears "try again".
    for _ in 0..3 {
        let inserted = sqlx::query(
            "insert into idempotency_keys (user_id, key, request) values ($1, $2, $3)
             on conflict do nothing",
        )
        .bind(user_id)
        .bind(key)
        .bind(sqlx::types::Json(request))
        .execute(&mut *tx)
        .await
        .context("claim an idempotency key")?
        .rows_affected();
        if inserted == 1 {
            return Ok(Claim::Claimed);
        }
        let stored: Option<(sqlx::types::Json<Value>, Option<sqlx::types::Json<Value>>)> =
            sqlx::query_as(
                "select request, response from idempotency_keys where user_id = $1 and key = $2",
            )
            .bind(user_id)
            .bind(key)
            .fetch_optional(&mut *tx)
            .await
            .context("read an idempotency key")?;
        match stored {
            None => continue,
            Some((stored, _)) if stored.0 != *request => {
                return Err(ApiError::new(
                    ErrorCode::IdempotencyKeyReused,
                    t!(errors.idempotency_key_reused),
                )
                .with_field("Idempotency-Key"));
            }
            Some((_, Some(order))) => {
                let order = stored_order(order.0, currency)
                    .map_err(|e| ApiError::internal(e).context("read a stored order"))?;
                return Ok(Claim::Replay(Box::new(order)));
            }
            Some((_, None)) => continue,
        }
    }
    Err(ApiError::unavailable(1))
}

/// An order's response as an idempotency key keeps it. One stored before orders named their
/// currency gets the store's, which was theirs.
fn stored_order(mut response: Value, currency: Currency) -> Result<Order, serde_json::Error> {
    if let Value::Object(order) = &mut response {
        order.entry("currency").or_insert(json!(currency));
        if let Some(Value::Array(items)) = order.get_mut("items") {
            for item in items.iter_mut().filter_map(Value::as_object_mut) {
                item.entry("currency").or_insert(json!(currency));
            }
        }
    }
    serde_json::from_value(response)
}

/// A product as an order locks it.
#[derive(sqlx::FromRow)]
struct Stocked {
    id: Uuid,
    name: String,
    price_cents: Money,
    stock: i32,
    email: String,
    first_name: String,
    now: String,
    new_id: Uuid,
}

/// What `place` answers: the order, and whether it is a replay of an earlier request with the
/// same `Idempotency-Key` (the status stays 201 either way: the first response is repeated).
pub struct Placed {
    pub order: Order,
    pub replayed: bool,
}

/// Places an order for `caller`: every line in stock, or nothing at all.
#[tracing::instrument(name = "orders.place", skip_all, fields(user.id = %caller.user_id))]
pub async fn place(
    state: &AppState,
    caller: &Caller,
    items: &[OrderLineInput],
    idempotency_key: Option<&str>,
) -> Result<Placed, ApiError> {
    let lines = parse_lines(items)?;
    let request = canonical_request(&lines);
    let currency = state.settings.catalog.currency;
    let mut tx = state.pool.begin().await.context("begin an order")?;
    if let Some(key) = idempotency_key
        && let Claim::Replay(order) =
            claim_key(&mut tx, caller.user_id, key, &request, currency).await?
    {
        return Ok(Placed {
            order: *order,
            replayed: true,
        });
    }

    let ids: Vec<Uuid> = lines.iter().map(|l| l.product_id).collect();
    let stocked: Vec<Stocked> = sqlx::query_as(LOCK_PRODUCTS)
        .bind(&ids)
        .bind(caller.user_id)
        .fetch_all(&mut *tx)
        .await
        .context("lock the ordered products")?;
    let buyer = stocked.first().map(|p| {
        (
            p.email.clone(),
            p.first_name.clone(),
            p.now.clone(),
            p.new_id,
        )
    });
    let stocked: HashMap<Uuid, Stocked> = stocked.into_iter().map(|p| (p.id, p)).collect();

    let mut items = Vec::with_capacity(lines.len());
    let mut short = Vec::new();
    let mut total = Money::ZERO;
    for (i, line) in lines.iter().enumerate() {
        let Some(product) = stocked.get(&line.product_id) else {
            return Err(ApiError::new(
                ErrorCode::ProductNotFound,
                t!(errors.product_not_in_catalogue),
            )
            .with_field(format!("items[{i}].product_id")));
        };
        if product.stock < line.quantity {
            short.push(StockShortage {
                product_id: line.product_id,
                requested: line.quantity,
                available: product.stock,
            });
        }
        let line_total = product
            .price_cents
            .times(i64::from(line.quantity))
            .ok_or_else(|| ApiError::internal("line total overflows"))?;
        total = total
            .checked_add(line_total)
            .ok_or_else(|| ApiError::internal("order total overflows"))?;
        items.push(OrderItem {
            product_id: line.product_id,
            name: product.name.clone(),
            unit_price: product.price_cents,
            quantity: line.quantity,
            line_total,
            currency,
        });
    }
    if !short.is_empty() {
        // Dropping the transaction rolls back the key's claim too: a retry tries again.
        return Err(ApiError::insufficient_stock(short));
    }

    // Every line was found, so there is a buyer row.
    let (email, first_name, created_at, order_id) =
        buyer.ok_or_else(|| ApiError::internal("an order without products"))?;
    let order = Order {
        id: order_id,
        status: OrderStatus::Placed,
        items,
        total,
        currency,
        created_at,
    };
    let confirmation = mail::order_email(
        mail::language_for(caller.language),
        &email,
        &first_name,
        &order,
        &state.settings.http.link(&format!("/orders/{}", order.id)),
    )?;
    // The webhook event, when webhooks are on (no URLs: no rows).
    let webhook_urls = state.settings.webhooks.url_texts();
    let event_body = Event::order_placed(caller.user_id, &order).body(&webhooks::timestamp_now());
    let quantities: Vec<i32> = lines.iter().map(|l| l.quantity).collect();
    let line_numbers: Vec<i16> = (1..=lines.len() as i16).collect();
    let names: Vec<&str> = order.items.iter().map(|i| i.name.as_str()).collect();
    let prices: Vec<i64> = order.items.iter().map(|i| i.unit_price.cents()).collect();
    sqlx::query(WRITE_ORDER)
        .bind(caller.user_id)
        .bind(&ids)
        .bind(&quantities)
        .bind(order.id)
        .bind(order.total)
        .bind(&line_numbers)
        .bind(&names)
        .bind(&prices)
        .bind(confirmation.kind)
        .bind(&confirmation.recipient)
        .bind(&confirmation.subject)
        .bind(&confirmation.text)
        .bind(&confirmation.html)
        .bind(idempotency_key)
        .bind(sqlx::types::Json(&order))
        .bind(mail::OUTBOX_CHANNEL)
        .bind(webhooks::EventType::OrderPlaced.as_str())
        .bind(&event_body)
        .bind(&webhook_urls)
        .bind(webhooks::CHANNEL)
        .execute(&mut *tx)
        .await
        .context("write an order")?;
    tx.commit().await.context("commit an order")?;
    state.catalog_cache.invalidate();
    Ok(Placed {
        order,
        replayed: false,
    })
}

/// An order row, before its lines are attached.
#[derive(sqlx::FromRow)]
struct OrderRow {
    id: Uuid,
    status: OrderStatus,
    total_cents: Money,
    created_at: String,
}

#[derive(sqlx::FromRow)]
struct ItemRow {
    order_id: Uuid,
    product_id: Uuid,
    name: String,
    unit_price_cents: Money,
    quantity: i32,
}

/// The orders of `rows` with their lines, in the order of `rows`; every amount in `currency`,
/// the store's.
async fn with_items(
    conn: &mut PgConnection,
    rows: Vec<OrderRow>,
    currency: Currency,
) -> Result<Vec<Order>, ApiError> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let item_rows: Vec<ItemRow> = sqlx::query_as(
        "select order_id, product_id, name, unit_price_cents, quantity from order_items
         where order_id = any($1) order by order_id, line",
    )
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await
    .context("load order lines")?;
    let mut by_order: HashMap<Uuid, Vec<OrderItem>> = HashMap::new();
    for item in item_rows {
        by_order.entry(item.order_id).or_default().push(OrderItem {
            product_id: item.product_id,
            name: item.name,
            unit_price: item.unit_price_cents,
            quantity: item.quantity,
            line_total: item
                .unit_price_cents
                .times(i64::from(item.quantity))
                .unwrap_or(item.unit_price_cents),
            currency,
        });
    }
    Ok(rows
        .into_iter()
        .map(|row| Order {
            items: by_order.remove(&row.id).unwrap_or_default(),
            id: row.id,
            status: row.status,
            total: row.total_cents,
            currency,
            created_at: row.created_at,
        })
        .collect())
}

const ORDER_COLUMNS: &str = "id, status, total_cents, rfc3339(created_at) as created_at";

/// The caller's orders, newest first.
pub async fn list(
    state: &AppState,
    caller: &Caller,
    limit: Option<&str>,
    offset: Option<&str>,
) -> Result<Page<Order>, ApiError> {
    let paging = Paging::parse(limit, offset)?;
    let mut conn = state.pool.acquire().await.context("acquire a connection")?;
    let rows: Vec<OrderRow> = sqlx::query_as(&format!(
        "select {ORDER_COLUMNS} from orders where user_id = $1
         order by orders.created_at desc, orders.id desc limit $2 offset $3"
    ))
    .bind(caller.user_id)
    .bind(i64::from(paging.limit))
    .bind(i64::from(paging.offset))
    .fetch_all(&mut *conn)
    .await
    .context("list orders")?;
    // One person's orders: few enough to count exactly.
    let total: i64 = sqlx::query_scalar("select count(*) from orders where user_id = $1")
        .bind(caller.user_id)
        .fetch_one(&mut *conn)
        .await
        .context("count orders")?;
    let items = with_items(&mut conn, rows, state.settings.catalog.currency).await?;
    Ok(Page {
        items,
        total,
        total_exact: true,
        limit: paging.limit,
        offset: paging.offset,
    })
}

fn parse_order_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw.trim()).map_err(|_| ApiError::invalid("id", t!(errors.not_an_order_id)))
}

fn order_not_found() -> ApiError {
    ApiError::not_found(t!(errors.no_such_order))
}

async fn load(
    conn: &mut PgConnection,
    user_id: Uuid,
    id: Uuid,
    currency: Currency,
) -> Result<Order, ApiError> {
    let row: OrderRow = sqlx::query_as(&format!(
        "select {ORDER_COLUMNS} from orders where id = $1 and user_id = $2"
    ))
    .bind(id)
    .bind(user_id)
    .fetch_optional(&mut *conn)
    .await
    .context("load an order")?
    .ok_or_else(order_not_found)?;
    let mut orders = with_items(conn, vec![row], currency).await?;
    orders.pop().ok_or_else(order_not_found)
}

/// One of the caller's orders; someone else's is "not found", like one that does not exist.
pub async fn get(state: &AppState, caller: &Caller, id: &str) -> Result<Order, ApiError> {
    let id = parse_order_id(id)?;
    let mut conn = state.pool.acquire().await.context("acquire a connection")?;
    load(
        &mut conn,
        caller.user_id,
        id,
        state.settings.catalog.currency,
    )
    .await
}

/// Cancels one of the caller's orders and puts its stock back, in one transaction.
pub async fn cancel(state: &AppState, caller: &Caller, id: &str) -> Result<Order, ApiError> {
    let id = parse_order_id(id)?;
    let mut tx: Transaction<'static, Postgres> =
        state.pool.begin().await.context("begin a cancellation")?;
    let status: OrderStatus =
        sqlx::query_scalar("select status from orders where id = $1 and user_id = $2 for update")
            .bind(id)
            .bind(caller.user_id)
            .fetch_optional(&mut *tx)
            .await
            .context("lock an order")?
            .ok_or_else(order_not_found)?;
    if status == OrderStatus::Cancelled {
        return Err(ApiError::new(
            ErrorCode::AlreadyCancelled,
            t!(errors.order_already_cancelled),
        ));
    }
    // The products in id order first, as an order locks them: no deadlock with one.
    sqlx::query(
        "select 1 from products
         where id in (select product_id from order_items where order_id = $1)
         order by id
         for update",
    )
    .bind(id)
    .execute(&mut *tx)
    .await
    .context("lock the order's products")?;
    sqlx::query(
        "with restored as (
             update products p
             set stock = p.stock + i.quantity, version = p.version + 1
             from order_items i
             where i.order_id = $1 and p.id = i.product_id
         )
         update orders set status = 'cancelled', cancelled_at = now() where id = $1",
    )
    .bind(id)
    .execute(&mut *tx)
    .await
    .context("cancel an order")?;
    let order = load(&mut tx, caller.user_id, id, state.settings.catalog.currency).await?;
    webhooks::publish(
        &mut tx,
        &state.settings.webhooks,
        Event::order_cancelled(caller.user_id, &order),
    )
    .await?;
    tx.commit().await.context("commit a cancellation")?;
    state.catalog_cache.invalidate();
    Ok(order)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(product_id: &str, quantity: Value) -> OrderLineInput {
        OrderLineInput {
            product_id: product_id.into(),
            quantity: Some(quantity),
        }
    }

    const A: &str = "0193e5a4-0000-7000-8000-00000000000a";
    const B: &str = "0193e5a4-0000-7000-8000-00000000000b";

    #[test]
    fn lines_are_checked_and_name_their_field() {
        let ok = parse_lines(&[line(A, json!(2)), line(B, json!("3"))]).expect("parses");
        assert_eq!(ok.len(), 2);
        assert_eq!(ok[1].quantity, 3);
        for (items, field) in [
            (vec![], "items"),
            (vec![line(A, json!(1)); 51], "items"),
            (vec![line("nope", json!(1))], "items[0].product_id"),
            (vec![line(A, json!(0))], "items[0].quantity"),
            (vec![line(A, json!(1001))], "items[0].quantity"),
            (vec![line(A, json!(1.5))], "items[0].quantity"),
            (
                vec![line(A, json!(1)), line(B, json!(-2))],
                "items[1].quantity",
            ),
            (
                vec![line(A, json!(1)), line(A, json!(2))],
                "items[1].product_id",
            ),
        ] {
            let e = parse_lines(&items).expect_err("refused");
            assert_eq!(e.field.as_deref(), Some(field), "{items:?}");
            assert_eq!(e.status(), 422);
        }
    }

    #[test]
    fn a_stored_response_replays_in_the_store_currency() {
        let stored = json!({
            "id": A, "status": "placed", "total": "4.40", "created_at": "2026-12-01T10:00:00Z",
            "items": [{"product_id": B, "name": "Tea", "unit_price": "2.20", "quantity": 2, "line_total": "4.40"}],
        });
        let pounds = Currency::parse("GBP").expect("a code");
        let order = stored_order(stored.clone(), pounds).expect("an order from before currencies");
        assert_eq!(order.currency, pounds);
        assert_eq!(order.items[0].currency, pounds);
        assert_eq!(order.total, Money::from_cents(440));
        // A response that names its currency keeps it.
        let order = stored_order(
            serde_json::to_value(&order).expect("serialises"),
            Currency::EUR,
        )
        .expect("an order");
        assert_eq!((order.currency, order.items[0].currency), (pounds, pounds));
    }

    #[test]
    fn idempotency_keys_are_visible_ascii() {
        assert_eq!(
            parse_idempotency_key(b" abc-123 "),
            Ok("abc-123".to_string())
        );
        for bad in [&b""[..], b"   ", b"a b", b"\xff", &[b'k'; 256]] {
            assert!(parse_idempotency_key(bad).is_err(), "{bad:?}");
        }
    }
}
