//! Orders over HTTP on a real Postgres: every line in stock or nothing, never oversold under
//! concurrency, no deadlock for overlapping orders, one order per `Idempotency-Key`, and a
//! confirmation email from the outbox.

use std::sync::Arc;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, body, error_code, spawn_app, spawn_app_with};

/// For the tests that send many orders at once. They queue for the pool's ten connections and
/// for the rows they lock, one after another: on a slow, busy machine the last of them may wait
/// longer than the usual limits (5 s for a connection, 15 s for a request) and be answered 503,
/// which is the server's choice under load, not what these tests are about. Limits as long as a
/// person would give it keep every answer a 201 or a 409, however slow the machine.
const PATIENT: &[(&str, &str)] = &[
    ("DATABASE_ACQUIRE_TIMEOUT_SECS", "120"),
    ("REQUEST_TIMEOUT_SECS", "300"),
];

impl TestApp {
    fn place_order(&self, token: &str, items: &Value) -> reqwest::RequestBuilder {
        self.bearer(Method::POST, "/api/place-order", token)
            .json(&json!({ "items": items }))
    }

    async fn order_count(&self) -> i64 {
        sqlx::query_scalar("select count(*) from orders")
            .fetch_one(&self.pool)
            .await
            .expect("count orders")
    }

    /// Units of product `id` on orders that are not cancelled.
    async fn ordered_units(&self, id: &Value) -> i64 {
        sqlx::query_scalar(
            "select coalesce(sum(i.quantity), 0)::int8 from order_items i
             join orders o on o.id = i.order_id
             where o.status = 'placed' and i.product_id = $1::uuid",
        )
        .bind(id.as_str().expect("an id"))
        .fetch_one(&self.pool)
        .await
        .expect("sum the ordered units")
    }
}

fn line(product: &Value, quantity: i64) -> Value {
    json!({"product_id": product["id"], "quantity": quantity})
}

#[tokio::test]
async fn an_order_deducts_stock_is_confirmed_by_email_and_cancels() {
    let app = spawn_app().await;
    let (_, admin) = app.admin().await;
    let tea = app.create_product(&admin, "Tea", json!("2.20"), 10).await;
    let pot = app.create_product(&admin, "Pot", json!("15"), 3).await;
    let person = app.activated_person().await;
    let token = app.token(&person).await;

    let response = app
        .place_order(&token, &json!([line(&tea, 3), line(&pot, 1)]))
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), 201);
    let order = body(response).await;
    assert_eq!(order["status"], "placed");
    assert_eq!(order["total"], "21.60");
    assert_eq!(order["currency"], "EUR");
    assert_eq!(
        order["items"],
        json!([
            {"product_id": tea["id"], "name": "Tea", "unit_price": "2.20", "quantity": 3, "line_total": "6.60", "currency": "EUR"},
            {"product_id": pot["id"], "name": "Pot", "unit_price": "15.00", "quantity": 1, "line_total": "15.00", "currency": "EUR"},
        ])
    );
    assert_eq!(app.stock_of(&tea["id"]).await, 7);
    assert_eq!(app.stock_of(&pot["id"]).await, 2);
    let order_id = order["id"].as_str().expect("an id").to_string();

    // The confirmation went out over SMTP.
    // The activation code was the first email, the confirmation is the second.
    let email = app
        .mail
        .wait_for_nth(&person.email, 2, crate::smtp::MAIL_WITHIN)
        .await;
    assert_eq!(email.subject(), "Your order of €21.60 is confirmed");
    let text = email.text_body();
    assert!(text.contains("3 × Tea at €2.20 = €6.60"), "{text}");
    assert!(text.contains(&format!("/orders/{order_id}")), "{text}");

    // The order changed the products' versions: an edit from before it is stale.
    let response = app
        .post_bearer(
            &admin,
            "/api/update-product",
            &json!({"id": tea["id"], "version": 1, "price": "9.99"}),
        )
        .await;
    assert_eq!(error_code(response, 409).await, "version_conflict");
    // Later price changes and deletions do not rewrite the order.
    let fresh = body(
        app.get(&format!(
            "/api/product?id={}",
            tea["id"].as_str().expect("id")
        ))
        .await,
    )
    .await;
    let response = app
        .post_bearer(
            &admin,
            "/api/update-product",
            &json!({"id": tea["id"], "version": fresh["version"], "price": "9.99"}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let response = app
        .post_bearer(&admin, "/api/delete-product", &json!({"id": pot["id"]}))
        .await;
    assert_eq!(response.status(), 200);

    let response = app
        .bearer(Method::GET, &format!("/api/order?id={order_id}"), &token)
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), 200);
    assert_eq!(body(response).await, order);
    let response = app
        .bearer(Method::GET, "/api/orders", &token)
        .send()
        .await
        .expect("GET");
    let page = body(response).await;
    assert_eq!(page["total"], 1);
    assert_eq!(page["items"], json!([order]));

    // Someone else's order does not exist for them.
    let stranger = app.activated_person().await;
    let stranger = app.token(&stranger).await;
    let response = app
        .bearer(Method::GET, &format!("/api/order?id={order_id}"), &stranger)
        .send()
        .await
        .expect("GET");
    assert_eq!(error_code(response, 404).await, "not_found");
    let response = app
        .post_bearer(&stranger, "/api/cancel-order", &json!({"id": order_id}))
        .await;
    assert_eq!(error_code(response, 404).await, "not_found");
    let response = app
        .bearer(Method::GET, "/api/orders", &stranger)
        .send()
        .await
        .expect("GET");
    assert_eq!(body(response).await["total"], 0);

    // Cancelling puts the stock back, once.
    let response = app
        .post_bearer(&token, "/api/cancel-order", &json!({"id": order_id}))
        .await;
    assert_eq!(response.status(), 200);
    let cancelled = body(response).await;
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["items"], order["items"]);
    assert_eq!(app.stock_of(&tea["id"]).await, 10);
    assert_eq!(app.stock_of(&pot["id"]).await, 3);
    let response = app
        .post_bearer(&token, "/api/cancel-order", &json!({"id": order_id}))
        .await;
    assert_eq!(error_code(response, 409).await, "already_cancelled");
    assert_eq!(app.stock_of(&tea["id"]).await, 10);
}

/// Every price names the store's currency (`STORE_CURRENCY`), a price may be typed with a
/// decimal comma, and the confirmation writes prices the way its language does.
#[tokio::test]
async fn prices_name_the_store_currency_and_the_confirmation_writes_them_in_its_language() {
    let app = spawn_app_with(&[("STORE_CURRENCY", "GBP")]).await;
    assert_eq!(
        body(app.get("/api/settings").await).await["currency"],
        "GBP"
    );
    let (_, admin) = app.admin().await;
    let tea = app.create_product(&admin, "Tea", json!("1234,5"), 10).await;
    assert_eq!(tea["price"], "1234.50");
    assert_eq!(tea["currency"], "GBP");
    let listed = body(app.get("/api/products").await).await;
    assert_eq!(listed["items"][0]["currency"], "GBP");

    let person = app.activated_person().await;
    let token = app.token(&person).await;
    let response = app
        .place_order(&token, &json!([line(&tea, 2)]))
        .header(reqwest::header::ACCEPT_LANGUAGE, "fr-FR")
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), 201);
    let order = body(response).await;
    assert_eq!(order["total"], "2469.00");
    assert_eq!(order["currency"], "GBP");
    assert_eq!(order["items"][0]["currency"], "GBP");

    // The activation code was the first email, the confirmation is the second.
    let email = app
        .mail
        .wait_for_nth(&person.email, 2, crate::smtp::MAIL_WITHIN)
        .await;
    assert_eq!(
        email.subject(),
        "Votre commande de 2\u{202f}469,00\u{a0}£ est confirmée"
    );
    let text = email.text_body();
    assert!(
        text.contains("2 × Tea à 1\u{202f}234,50\u{a0}£ = 2\u{202f}469,00\u{a0}£"),
        "{text}"
    );
}

#[tokio::test]
async fn a_refused_order_changes_nothing() {
    let app = spawn_app().await;
    let (_, admin) = app.admin().await;
    let a = app.create_product(&admin, "A", json!(1), 5).await;
    let b = app.create_product(&admin, "B", json!(1), 1).await;
    let c = app.create_product(&admin, "C", json!(1), 0).await;
    let person = app.activated_person().await;
    let token = app.token(&person).await;
    let emails_before: i64 = sqlx::query_scalar("select count(*) from email_outbox")
        .fetch_one(&app.pool)
        .await
        .expect("count");

    let response = app
        .place_order(&token, &json!([line(&a, 5), line(&b, 2), line(&c, 1)]))
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), 409);
    let error = body(response).await;
    assert_eq!(error["error"], "insufficient_stock");
    assert_eq!(
        error["lines"],
        json!([
            {"product_id": b["id"], "requested": 2, "available": 1},
            {"product_id": c["id"], "requested": 1, "available": 0},
        ])
    );
    let response = app
        .place_order(
            &token,
            &json!([line(&a, 1), {"product_id": uuid::Uuid::new_v4(), "quantity": 1}]),
        )
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), 404);
    let error = body(response).await;
    assert_eq!(error["error"], "product_not_found");
    assert_eq!(error["field"], "items[1].product_id");

    let fifty_one: Vec<Value> = (0..51).map(|_| line(&a, 1)).collect();
    for (items, field) in [
        (json!([]), "items"),
        (json!(fifty_one), "items"),
        (json!([line(&a, 0)]), "items[0].quantity"),
        (json!([line(&a, 1001)]), "items[0].quantity"),
        (
            json!([line(&a, 1), {"product_id": b["id"], "quantity": "lots"}]),
            "items[1].quantity",
        ),
        (
            json!([line(&a, 1), {"product_id": b["id"]}]),
            "items[1].quantity",
        ),
        (json!([line(&a, 1), line(&a, 2)]), "items[1].product_id"),
        (
            json!([{"product_id": "x", "quantity": 1}]),
            "items[0].product_id",
        ),
    ] {
        let response = app.place_order(&token, &items).send().await.expect("POST");
        assert_eq!(response.status(), 422, "{items}");
        assert_eq!(body(response).await["field"], field, "{items}");
    }
    let response = app
        .post_json("/api/place-order", &json!({"items": [line(&a, 1)]}))
        .await;
    assert_eq!(error_code(response, 401).await, "unauthenticated");

    assert_eq!(app.order_count().await, 0);
    for (product, stock) in [(&a, 5), (&b, 1), (&c, 0)] {
        assert_eq!(app.stock_of(&product["id"]).await, stock);
    }
    let versions: Vec<i32> = sqlx::query_scalar("select version from products")
        .fetch_all(&app.pool)
        .await
        .expect("versions");
    assert_eq!(versions, [1, 1, 1]);
    let emails_after: i64 = sqlx::query_scalar("select count(*) from email_outbox")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(emails_after, emails_before);
}

/// The limits `GET /api/settings` gives the cart are the ones placing an order applies: one past
/// either is refused on its field, and the most units a line may have is not.
#[tokio::test]
async fn the_order_limits_the_settings_give_are_the_ones_applied() {
    let app = spawn_app().await;
    let settings = body(app.get("/api/settings").await).await;
    let max_lines = settings["order_max_lines"]
        .as_u64()
        .expect("order_max_lines");
    let max_quantity = settings["order_max_quantity"]
        .as_i64()
        .expect("order_max_quantity");
    assert!(max_lines > 0 && max_quantity > 0, "{settings}");
    let (_, admin) = app.admin().await;
    let tea = app.create_product(&admin, "Tea", json!(1), 1).await;
    let person = app.activated_person().await;
    let token = app.token(&person).await;

    let too_many: Vec<Value> = (0..=max_lines).map(|_| line(&tea, 1)).collect();
    for (items, field) in [
        (json!(too_many), "items"),
        (json!([line(&tea, max_quantity + 1)]), "items[0].quantity"),
    ] {
        let response = app.place_order(&token, &items).send().await.expect("POST");
        assert_eq!(response.status(), 422, "{items}");
        assert_eq!(body(response).await["field"], field, "{items}");
    }
    // Within the limit: refused for the stock only.
    let response = app
        .place_order(&token, &json!([line(&tea, max_quantity)]))
        .send()
        .await
        .expect("POST");
    assert_eq!(error_code(response, 409).await, "insufficient_stock");
    assert_eq!(app.order_count().await, 0);
}

#[tokio::test]
async fn a_failure_between_lines_leaves_no_half_order() {
    let app = spawn_app().await;
    let (_, admin) = app.admin().await;
    let a = app.create_product(&admin, "A", json!(1), 5).await;
    let boom = app.create_product(&admin, "Boom", json!(1), 5).await;
    // The second line's insert fails inside the transaction, after the stock of both lines
    // was deducted and the first line written: a crash at the worst moment.
    sqlx::raw_sql(
        "create function refuse_boom() returns trigger language plpgsql as $$
         begin raise exception 'the disk caught fire'; end $$;
         create trigger refuse_boom before insert on order_items
             for each row when (new.name = 'Boom') execute function refuse_boom();",
    )
    .execute(&app.pool)
    .await
    .expect("install the failure");
    let person = app.activated_person().await;
    let token = app.token(&person).await;
    let response = app
        .place_order(&token, &json!([line(&a, 2), line(&boom, 1)]))
        .send()
        .await
        .expect("POST");
    assert_eq!(error_code(response, 500).await, "internal");
    assert_eq!(app.order_count().await, 0);
    assert_eq!(app.stock_of(&a["id"]).await, 5);
    assert_eq!(app.stock_of(&boom["id"]).await, 5);
    let lines: i64 = sqlx::query_scalar("select count(*) from order_items")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(lines, 0);
}

#[tokio::test]
async fn fifty_concurrent_orders_for_ten_in_stock_sell_exactly_ten() {
    let app = Arc::new(spawn_app_with(PATIENT).await);
    let (_, admin) = app.admin().await;
    let product = app.create_product(&admin, "Scarce", json!(5), 10).await;
    let person = app.activated_person().await;
    let token = Arc::new(app.token(&person).await);
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (app, token, product) = (app.clone(), token.clone(), product.clone());
            tokio::spawn(async move {
                let response = app
                    .place_order(&token, &json!([line(&product, 1)]))
                    .send()
                    .await
                    .expect("POST");
                let status = response.status().as_u16();
                let body = body(response).await;
                if status == 409 {
                    assert_eq!(body["error"], "insufficient_stock", "{body}");
                }
                status
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.expect("the task ends"));
    }
    let accepted = statuses.iter().filter(|s| **s == 201).count();
    let refused = statuses.iter().filter(|s| **s == 409).count();
    assert_eq!((accepted, refused), (10, 40), "{statuses:?}");
    assert_eq!(app.stock_of(&product["id"]).await, 0);
    assert_eq!(app.order_count().await, 10);
    assert_eq!(app.ordered_units(&product["id"]).await, 10);
}

#[tokio::test]
async fn overlapping_orders_in_opposite_orders_never_deadlock() {
    let app = Arc::new(spawn_app_with(PATIENT).await);
    let (_, admin) = app.admin().await;
    let a = app.create_product(&admin, "A", json!(1), 60).await;
    let b = app.create_product(&admin, "B", json!(1), 60).await;
    let c = app.create_product(&admin, "C", json!(1), 60).await;
    let person = app.activated_person().await;
    let token = Arc::new(app.token(&person).await);
    // A+B+C and C+B+A alternately, 100 at once: 200 units of each asked for, 60 in stock.
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let app = app.clone();
            let token = token.clone();
            let items = if i % 2 == 0 {
                json!([line(&a, 1), line(&b, 2), line(&c, 1)])
            } else {
                json!([line(&c, 1), line(&b, 2), line(&a, 1)])
            };
            tokio::spawn(async move {
                let response = app.place_order(&token, &items).send().await.expect("POST");
                let status = response.status().as_u16();
                let body = body(response).await;
                assert!(
                    status == 201 || (status == 409 && body["error"] == "insufficient_stock"),
                    "{status} {body}"
                );
                status
            })
        })
        .collect();
    let mut accepted = 0;
    for task in tasks {
        if task.await.expect("the task ends") == 201 {
            accepted += 1;
        }
    }
    // B runs out first (two a time): exactly 30 orders fit.
    assert_eq!(accepted, 30);
    assert_eq!(app.order_count().await, 30);
    for product in [&a, &b, &c] {
        let stock = i64::from(app.stock_of(&product["id"]).await);
        assert_eq!(
            stock + app.ordered_units(&product["id"]).await,
            60,
            "{product}"
        );
    }
    assert_eq!(app.stock_of(&b["id"]).await, 0);
    let lines: i64 = sqlx::query_scalar("select count(*) from order_items")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(lines, 90, "every accepted order has its three lines");
}

#[tokio::test]
async fn retries_with_one_idempotency_key_place_one_order() {
    let app = Arc::new(spawn_app_with(PATIENT).await);
    let (_, admin) = app.admin().await;
    let product = app.create_product(&admin, "Tea", json!("2.20"), 100).await;
    let person = app.activated_person().await;
    let token = Arc::new(app.token(&person).await);
    let key = uuid::Uuid::new_v4().to_string();
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (app, token, product, key) =
                (app.clone(), token.clone(), product.clone(), key.clone());
            tokio::spawn(async move {
                let response = app
                    .place_order(&token, &json!([line(&product, 3)]))
                    .header("Idempotency-Key", key)
                    .send()
                    .await
                    .expect("POST");
                (response.status().as_u16(), body(response).await)
            })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.expect("the task ends"));
    }
    let (status, first) = answers[0].clone();
    assert_eq!(status, 201, "{first}");
    for (status, body) in &answers {
        assert_eq!(
            (*status, body),
            (201, &first),
            "every retry gets the first answer"
        );
    }
    assert_eq!(app.order_count().await, 1);
    assert_eq!(app.stock_of(&product["id"]).await, 97);

    // Later, once the order is cancelled, the key still answers the first response.
    let order_id = first["id"].clone();
    let response = app
        .post_bearer(&token, "/api/cancel-order", &json!({"id": order_id}))
        .await;
    assert_eq!(response.status(), 200);
    let response = app
        .place_order(&token, &json!([line(&product, 3)]))
        .header("Idempotency-Key", &key)
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), 201);
    assert_eq!(
        response
            .headers()
            .get("idempotent-replayed")
            .map(|v| v.as_bytes()),
        Some(&b"true"[..])
    );
    assert_eq!(body(response).await, first);

    // The same key with another body is a mistake.
    let response = app
        .place_order(&token, &json!([line(&product, 4)]))
        .header("Idempotency-Key", &key)
        .send()
        .await
        .expect("POST");
    assert_eq!(error_code(response, 422).await, "idempotency_key_reused");
    // Keys belong to one account: another person's same key is a new order.
    let other = app.activated_person().await;
    let other = app.token(&other).await;
    let response = app
        .place_order(&other, &json!([line(&product, 3)]))
        .header("Idempotency-Key", &key)
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), 201);
    assert_ne!(body(response).await["id"], order_id);
    let response = app
        .place_order(&token, &json!([line(&product, 1)]))
        .header("Idempotency-Key", "has spaces")
        .send()
        .await
        .expect("POST");
    assert_eq!(error_code(response, 422).await, "invalid");
    assert_eq!(app.order_count().await, 2);
}
