//! Orders at saturation: `POST /api/place-order` with signed-in people's bearer tokens, each
//! order three distinct products, one of each, out of the hot products `bench/run.sh` puts in
//! the database (their names and descriptions hold [`HOT_KEYWORD`], and their stock is large
//! enough that none runs out).
//!
//! Every order locks its products (`for update`, in id order), so orders that share a product
//! wait for each other: a hundred products and three lines per order is where that shows. The
//! run checks the books afterwards: the stock the products lost must be the units that the
//! 201s ordered, no more and no less.

use std::sync::Arc;

use anyhow::{Context as _, ensure};
use rand::{Rng, seq::IndexedRandom as _};
use reqwest::Client;
use serde::Deserialize;
use serde_json::json;
use tokio::task::JoinSet;

use crate::{
    account,
    args::PlaceOrderArgs,
    http, report,
    signed_in::{self, Judge, Naming, Probe},
    smtp_sink::SmtpSink,
};

/// The word that only the hot products' names and descriptions hold; `bench/run.sh` seeds them.
pub const HOT_KEYWORD: &str = "benchorder";

/// Lines of every order, each for one unit of a different product.
pub const LINES: usize = 3;

/// Orders in the rotation: enough that no two clients send the same one at the same time.
const ROTATION: usize = 4096;

const NAMING: Naming = Naming {
    name: "place-order",
    request_line: "POST /api/place-order (3 lines) with a bearer token",
    unit: "orders/s",
    rate_field: "orders_per_sec",
};

pub async fn run(args: PlaceOrderArgs) -> anyhow::Result<()> {
    let run = &args.run;
    let url = &run.url;
    let client = http::client(run.connections)?;
    http::check_ready(&client, url).await?;
    // Kept for the whole run: every order queues a confirmation email.
    let sink = Arc::new(SmtpSink::start(run.smtp_port).await?);

    let before = hot_products(&client, url).await?;
    ensure!(
        before.len() >= LINES,
        "found {} products with {HOT_KEYWORD:?} in their name; an order needs {LINES}",
        before.len()
    );
    let tokens = sign_up(&client, url, &sink, args.users).await?;
    let mut rng = rand::rng();
    let probes = (0..ROTATION)
        .map(|_| order_probe(&client, url, &tokens, &before, &mut rng))
        .collect::<anyhow::Result<Vec<Probe>>>()?;

    let tally = signed_in::measure(&client, &probes, Judge::Created, run).await?;
    let after = hot_products(&client, url).await?;
    drop(sink);

    let taken = stock_taken(&before, &after);
    let ordered = tally.succeeded() * LINES;
    let mut lines = vec![format!(
        "{} people, each order {LINES} of {} products at random, one unit each:",
        tokens.len(),
        before.len()
    )];
    lines.extend(tally.lines(NAMING, run));
    lines.push(format!(
        "  stock taken: {taken} units; the 201s ordered {ordered}{}",
        if taken == ordered as i64 {
            ""
        } else {
            " (MISMATCH)"
        }
    ));
    let mut result = tally.json(NAMING, run);
    result["users"] = json!(tokens.len());
    result["products"] = json!(before.len());
    result["stock_taken"] = json!(taken);
    result["units_ordered"] = json!(ordered);
    report::emit(&lines, &result);
    tally.ensure_answered(url)
}

/// A hot product as the catalogue lists it.
#[derive(Clone, Debug, Deserialize)]
struct HotProduct {
    id: String,
    stock: i64,
}

#[derive(Deserialize)]
struct HotPage {
    items: Vec<HotProduct>,
}

/// The products whose name or description holds [`HOT_KEYWORD`]: the first hundred.
async fn hot_products(client: &Client, url: &str) -> anyhow::Result<Vec<HotProduct>> {
    let response = client
        .get(format!("{url}/api/products"))
        .query(&[("keyword", HOT_KEYWORD), ("limit", "100")])
        .send()
        .await
        .context("GET /api/products failed")?;
    let status = response.status();
    if !status.is_success() {
        let body = response.text().await.unwrap_or_default();
        anyhow::bail!("GET /api/products answered {status}: {body}");
    }
    let page: HotPage = response
        .json()
        .await
        .context("GET /api/products did not answer with a page of products")?;
    Ok(page.items)
}

/// Units the products lost between the two listings.
fn stock_taken(before: &[HotProduct], after: &[HotProduct]) -> i64 {
    before
        .iter()
        .map(|b| {
            let now = after
                .iter()
                .find(|a| a.id == b.id)
                .map_or(b.stock, |a| a.stock);
            b.stock - now
        })
        .sum()
}

/// `users` new activated people, signed up at once, and a bearer token for each.
pub async fn sign_up(
    client: &Client,
    url: &str,
    sink: &Arc<SmtpSink>,
    users: usize,
) -> anyhow::Result<Vec<String>> {
    let mut signing_up = JoinSet::new();
    for _ in 0..users {
        let (client, url, sink) = (client.clone(), url.to_string(), Arc::clone(sink));
        signing_up.spawn(async move {
            let person = account::activated(&client, &url, &sink).await?;
            person.token(&client, &url).await
        });
    }
    let mut tokens = Vec::with_capacity(users);
    while let Some(done) = signing_up.join_next().await {
        tokens.push(done.context("a sign-up task failed")??);
    }
    Ok(tokens)
}

/// The body of one order: `LINES` distinct products, one unit each.
fn order_body(products: &[HotProduct], rng: &mut impl Rng) -> serde_json::Value {
    let items: Vec<serde_json::Value> = products
        .choose_multiple(rng, LINES)
        .map(|p| json!({ "product_id": p.id, "quantity": 1 }))
        .collect();
    json!({ "items": items })
}

/// One order by one of the people, at random.
fn order_probe(
    client: &Client,
    url: &str,
    tokens: &[String],
    products: &[HotProduct],
    rng: &mut impl Rng,
) -> anyhow::Result<Probe> {
    let token = tokens.choose(rng).context("no one to place orders")?;
    let request = client
        .post(format!("{url}/api/place-order"))
        .bearer_auth(token)
        .json(&order_body(products, rng))
        .build()
        .context("could not build an order")?;
    Ok(Probe {
        kind: NAMING.name,
        request,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use rand::{SeedableRng as _, rngs::StdRng};

    use super::*;

    fn products(n: usize) -> Vec<HotProduct> {
        (0..n)
            .map(|i| HotProduct {
                id: format!("00000000-0000-0000-0000-{i:012}"),
                stock: 1_000,
            })
            .collect()
    }

    #[test]
    fn an_order_is_three_distinct_products_one_each() {
        let products = products(5);
        let mut rng = StdRng::seed_from_u64(3);
        for _ in 0..100 {
            let body = order_body(&products, &mut rng);
            let items = body["items"].as_array().expect("items");
            assert_eq!(items.len(), LINES);
            let ids: HashSet<&str> = items
                .iter()
                .map(|i| i["product_id"].as_str().expect("an id"))
                .collect();
            assert_eq!(ids.len(), LINES);
            assert!(items.iter().all(|i| i["quantity"] == 1));
        }
    }

    #[test]
    fn stock_taken_adds_what_each_product_lost() {
        let before = products(3);
        let mut after = before.clone();
        after[0].stock -= 4;
        after[2].stock -= 1;
        assert_eq!(stock_taken(&before, &after), 5);
        // A product missing afterwards counts as untouched rather than all gone.
        assert_eq!(stock_taken(&before, &after[..1]), 4);
    }

    #[test]
    fn the_probe_carries_the_token_and_the_order() -> anyhow::Result<()> {
        let client = Client::new();
        let mut rng = StdRng::seed_from_u64(1);
        let probe = order_probe(
            &client,
            "http://127.0.0.1:1",
            &["t0k".to_string()],
            &products(3),
            &mut rng,
        )?;
        assert_eq!(
            probe.request.url().as_str(),
            "http://127.0.0.1:1/api/place-order"
        );
        let authorization = probe.request.headers().get("authorization");
        assert_eq!(
            authorization.and_then(|h| h.to_str().ok()),
            Some("Bearer t0k")
        );
        let body = probe
            .request
            .body()
            .and_then(|b| b.as_bytes())
            .context("a body")?;
        let body: serde_json::Value = serde_json::from_slice(body)?;
        assert_eq!(body["items"].as_array().map(Vec::len), Some(LINES));
        Ok(())
    }
}
