//! The product catalogue over HTTP: public search and filters, the administrators' changes
//! with their version checks, exact prices, and the audit rows the changes leave.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, body, error_code, spawn_app};

impl TestApp {
    pub async fn post_bearer(&self, token: &str, path: &str, body: &Value) -> reqwest::Response {
        self.bearer(Method::POST, path, token)
            .json(body)
            .send()
            .await
            .expect("POST request")
    }

    /// Creates a product as the administrator with `token`; panics unless it is a 201.
    pub async fn create_product(&self, token: &str, name: &str, price: Value, stock: i64) -> Value {
        let response = self
            .post_bearer(
                token,
                "/api/create-product",
                &json!({"name": name, "description": format!("About {name}"), "price": price, "stock": stock}),
            )
            .await;
        assert_eq!(response.status(), 201, "create {name}");
        body(response).await
    }

    pub async fn stock_of(&self, id: &Value) -> i32 {
        sqlx::query_scalar("select stock from products where id = $1::uuid")
            .bind(id.as_str().expect("an id"))
            .fetch_one(&self.pool)
            .await
            .expect("the product exists")
    }

    /// The names on one page of `GET /api/products?{query}`.
    async fn names(&self, query: &str) -> Vec<String> {
        let response = self.get(&format!("/api/products?{query}")).await;
        assert_eq!(response.status(), 200, "{query}");
        body(response).await["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|p| p["name"].as_str().expect("a name").to_string())
            .collect()
    }
}

#[tokio::test]
async fn a_product_has_the_documented_shape_and_an_exact_price() {
    let app = spawn_app().await;
    let (_, token) = app.admin().await;
    let product = app
        .create_product(&token, "Green tea", json!(2.2), 12)
        .await;
    let keys: Vec<&str> = product
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys.len(),
        9,
        "id, name, description, price, currency, stock, version, created_at, updated_at: {product}"
    );
    assert_eq!(product["price"], "2.20");
    assert_eq!(product["currency"], "EUR");
    assert_eq!(product["stock"], 12);
    assert_eq!(product["version"], 1);
    assert_eq!(product["description"], "About Green tea");
    uuid::Uuid::parse_str(product["id"].as_str().expect("an id")).expect("a UUID");

    // "2.2", 2.2 and "2.20" are the same price; stored as whole cents.
    for (name, price) in [("A", json!("2.2")), ("B", json!("2.20")), ("C", json!(2.2))] {
        let p = app.create_product(&token, name, price, 1).await;
        assert_eq!(p["price"], "2.20", "{name}");
    }
    let cents: Vec<i64> = sqlx::query_scalar("select price_cents from products order by name")
        .fetch_all(&app.pool)
        .await
        .expect("prices");
    assert_eq!(cents, [220, 220, 220, 220]);

    let id = product["id"].as_str().expect("an id");
    let response = app.get(&format!("/api/product?id={id}")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(body(response).await, product);
}

#[tokio::test]
async fn bad_product_input_is_refused_with_its_field() {
    let app = spawn_app().await;
    let (_, token) = app.admin().await;
    let good = || json!({"name": "Kettle", "price": "19.99", "stock": 3});
    let with = |key: &str, value: Value| {
        let mut body = good();
        body[key] = value;
        body
    };
    let cases = [
        (with("price", json!("2.205")), "price"),
        (with("price", json!(2.205)), "price"),
        (with("price", json!(0)), "price"),
        (with("price", json!("-1.00")), "price"),
        (with("price", json!("1000000.01")), "price"),
        (with("price", json!("1e3")), "price"),
        (with("price", json!(true)), "price"),
        (with("price", Value::Null), "price"),
        (with("stock", json!(-1)), "stock"),
        (with("stock", json!(1.5)), "stock"),
        (with("stock", json!("many")), "stock"),
        (with("stock", json!(10_000_000_000_i64)), "stock"),
        (with("name", json!("")), "name"),
        (with("name", json!("two\nlines")), "name"),
        (with("name", json!("x".repeat(201))), "name"),
        (with("description", json!("d".repeat(5001))), "description"),
        (with("description", json!("nul\u{0}")), "description"),
    ];
    for (request, field) in cases {
        let response = app
            .post_bearer(&token, "/api/create-product", &request)
            .await;
        assert_eq!(response.status(), 422, "{request}");
        let error = body(response).await;
        assert_eq!(error["error"], "invalid", "{request}");
        assert_eq!(error["field"], field, "{request}");
    }
    // A million is the highest price.
    let top = app
        .create_product(&token, "Yacht", json!("1000000.00"), 1)
        .await;
    assert_eq!(top["price"], "1000000.00");

    // Names are unique case-insensitively.
    app.create_product(&token, "Kettle", json!("19.99"), 3)
        .await;
    let response = app
        .post_bearer(
            &token,
            "/api/create-product",
            &json!({"name": "  KETTLE ", "price": 1, "stock": 1}),
        )
        .await;
    assert_eq!(error_code(response, 409).await, "name_taken");

    // Nothing half-written: the two good products only.
    let count: i64 = sqlx::query_scalar("select count(*) from products")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(count, 2);

    // The database refuses negative stock even when the code is bypassed.
    let refused = sqlx::query("update products set stock = -1")
        .execute(&app.pool)
        .await
        .expect_err("the check constraint refuses it");
    assert!(
        refused.to_string().contains("products_stock_check"),
        "{refused}"
    );
}

#[tokio::test]
async fn only_administrators_change_products_and_everyone_reads_them() {
    let app = spawn_app().await;
    let (_, admin) = app.admin().await;
    let product = app.create_product(&admin, "Teapot", json!(25), 4).await;
    let person = app.activated_person().await;
    let user = app.token(&person).await;
    let id = product["id"].clone();
    let calls = [
        (
            "/api/create-product",
            json!({"name": "Cup", "price": 1, "stock": 1}),
        ),
        (
            "/api/update-product",
            json!({"id": id, "version": 1, "stock": 0}),
        ),
        ("/api/delete-product", json!({"id": id})),
    ];
    for (path, request) in &calls {
        let anonymous = app.post_json(path, request).await;
        assert_eq!(
            error_code(anonymous, 401).await,
            "unauthenticated",
            "{path}"
        );
        let response = app.post_bearer(&user, path, request).await;
        assert_eq!(error_code(response, 403).await, "forbidden", "{path}");
    }
    // Nothing changed, and reading needs no session.
    let response = app
        .get(&format!("/api/product?id={}", id.as_str().expect("id")))
        .await;
    assert_eq!(body(response).await, product);
    assert_eq!(app.names("").await, ["Teapot"]);

    let response = app.get("/api/product?id=not-a-uuid").await;
    assert_eq!(error_code(response, 422).await, "invalid");
    let response = app
        .get(&format!("/api/product?id={}", uuid::Uuid::new_v4()))
        .await;
    assert_eq!(error_code(response, 404).await, "not_found");
}

#[tokio::test]
async fn search_filters_sorts_and_pages() {
    let app = spawn_app().await;
    let (_, token) = app.admin().await;
    for (name, price, stock) in [
        ("Green Tea Leaves", "4.50", 10),
        ("Black tea, strong", "3.20", 0),
        ("Teapot of cast iron", "35.00", 2),
        ("Coffee beans", "9.99", 7),
        ("100% cotton tea towel", "6.00", 5),
    ] {
        app.create_product(&token, name, json!(price), stock).await;
    }

    // Every word, any order, any case, in the name or the description ("About …").
    assert_eq!(
        app.names("keyword=tea").await,
        [
            "100% cotton tea towel",
            "Black tea, strong",
            "Green Tea Leaves",
            "Teapot of cast iron"
        ]
    );
    assert_eq!(
        app.names("keyword=LEAVES%20green").await,
        ["Green Tea Leaves"]
    );
    assert_eq!(app.names("keyword=about%20coffee").await, ["Coffee beans"]);
    // `%` and `_` are literal characters, not patterns.
    assert_eq!(app.names("keyword=100%25").await, ["100% cotton tea towel"]);
    assert!(app.names("keyword=%25%25").await.is_empty());
    assert!(app.names("keyword=_").await.is_empty());

    assert_eq!(
        app.names("keyword=tea&in_stock=true&sort=price").await,
        [
            "Green Tea Leaves",
            "100% cotton tea towel",
            "Teapot of cast iron"
        ]
    );
    assert_eq!(
        app.names("min_price=4.5&max_price=9.99&sort=-price").await,
        ["Coffee beans", "100% cotton tea towel", "Green Tea Leaves"]
    );
    assert_eq!(
        app.names("sort=newest&limit=2").await,
        ["100% cotton tea towel", "Coffee beans"]
    );

    let response = app.get("/api/products?sort=name&limit=2&offset=2").await;
    assert_eq!(response.status(), 200);
    let page = body(response).await;
    assert_eq!(page["total"], 5);
    assert_eq!(page["limit"], 2);
    assert_eq!(page["offset"], 2);
    let names: Vec<&str> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|p| p["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["Coffee beans", "Green Tea Leaves"]);

    for (query, field) in [
        ("max_price=cheap", "max_price"),
        ("min_price=-1", "min_price"),
        ("min_price=1.001", "min_price"),
        ("min_price=10&max_price=5", "max_price"),
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("offset=-1", "offset"),
        ("sort=cheapest", "sort"),
        ("in_stock=perhaps", "in_stock"),
    ] {
        let response = app.get(&format!("/api/products?{query}")).await;
        assert_eq!(response.status(), 422, "{query}");
        assert_eq!(body(response).await["field"], field, "{query}");
    }
}

#[tokio::test]
async fn updates_check_the_version_and_deletes_keep_history() {
    let app = spawn_app().await;
    let (_, token) = app.admin().await;
    let product = app.create_product(&token, "Mug", json!("8.00"), 5).await;
    let id = product["id"].clone();
    // Searched (and kept for a moment by the server) before each change: the change shows
    // at once all the same.
    assert_eq!(app.names("").await, ["Mug"]);

    let response = app
        .post_bearer(
            &token,
            "/api/update-product",
            &json!({"id": id, "version": 1, "price": "7.5", "name": "Big mug"}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let updated = body(response).await;
    assert_eq!(updated["version"], 2);
    assert_eq!(updated["price"], "7.50");
    assert_eq!(updated["name"], "Big mug");
    assert_eq!(updated["stock"], 5, "fields not sent are kept");
    assert_eq!(updated["created_at"], product["created_at"]);
    assert_eq!(app.names("").await, ["Big mug"]);

    // Someone who loaded version 1 is refused, and nothing changes.
    let response = app
        .post_bearer(
            &token,
            "/api/update-product",
            &json!({"id": id, "version": 1, "stock": 50}),
        )
        .await;
    assert_eq!(error_code(response, 409).await, "version_conflict");
    assert_eq!(app.stock_of(&id).await, 5);

    for (request, field) in [
        (json!({"id": id, "stock": 1}), "version"),
        (json!({"id": id, "version": "two", "stock": 1}), "version"),
        (json!({"id": id, "version": 2, "price": "free"}), "price"),
        (json!({"id": "nope", "version": 2}), "id"),
    ] {
        let response = app
            .post_bearer(&token, "/api/update-product", &request)
            .await;
        assert_eq!(response.status(), 422, "{request}");
        assert_eq!(body(response).await["field"], field, "{request}");
    }
    let response = app
        .post_bearer(
            &token,
            "/api/update-product",
            &json!({"id": uuid::Uuid::new_v4(), "version": 1, "stock": 1}),
        )
        .await;
    assert_eq!(error_code(response, 404).await, "not_found");

    let response = app
        .post_bearer(&token, "/api/delete-product", &json!({"id": id}))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(body(response).await, json!({"ok": true}));
    let response = app
        .get(&format!("/api/product?id={}", id.as_str().expect("id")))
        .await;
    assert_eq!(error_code(response, 404).await, "not_found");
    assert!(app.names("").await.is_empty());
    let response = app
        .post_bearer(&token, "/api/delete-product", &json!({"id": id}))
        .await;
    assert_eq!(error_code(response, 404).await, "not_found");
    let response = app
        .post_bearer(
            &token,
            "/api/update-product",
            &json!({"id": id, "version": 3, "stock": 1}),
        )
        .await;
    assert_eq!(error_code(response, 404).await, "not_found");
    // Its name is free again.
    app.create_product(&token, "Big mug", json!(9), 1).await;

    // Each change is on record, with the administrator.
    let response = app
        .bearer(Method::GET, "/api/admin/audit-log", &token)
        .send()
        .await
        .expect("GET");
    let rows = body(response).await["items"]
        .as_array()
        .expect("items")
        .clone();
    let actions: Vec<&str> = rows
        .iter()
        .filter_map(|r| r["action"].as_str())
        .filter(|a| a.starts_with("product_"))
        .collect();
    assert_eq!(
        actions,
        [
            "product_created",
            "product_deleted",
            "product_updated",
            "product_created"
        ]
    );
    assert_eq!(rows[1]["details"]["product_id"], id);
    assert_eq!(rows[1]["actor_kind"], "administrator");
}
