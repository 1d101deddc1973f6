//! The limit a signed-in read is measured against: the server's own session lookup (printed by
//! `server statements`, so it cannot drift from the code) run by `pgbench -M prepared` on the
//! same database at the same concurrency, with a real session's token hash. What the app
//! answers per second over what Postgres alone answers is the share the stack keeps.
//!
//! The same for an order ([`place_order`]): the session lookup, then the transaction of
//! `orders::place` (the products locked, the order written with its confirmation), as the
//! server runs them for `POST /api/place-order`; and for a catalogue search
//! ([`products_search`]): the page's statement, and the count's when the first page is full,
//! for each keyword of the app's run.

use std::{path::PathBuf, process::Command, sync::Arc};

use anyhow::{Context as _, bail, ensure};
use rand::seq::IndexedRandom as _;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::{
    account,
    args::{OrderSqlArgs, SqlArgs},
    http,
    place_order::{self, HOT_KEYWORD, LINES},
    products_search, report,
    smtp_sink::SmtpSink,
};

/// The idle timeout the lookup is given (`$3`): any value above a minute finds the new session.
const IDLE_SECS: u64 = 1800;

pub async fn run(args: SqlArgs) -> anyhow::Result<()> {
    let client = http::client(1)?;
    let url = &args.run.url;
    http::check_ready(&client, url).await?;
    let sink = SmtpSink::start(args.run.smtp_port).await?;
    let account = account::activated(&client, url, &sink).await?;
    let token = account.token(&client, url).await?;
    drop(sink);

    let lookup = statement(&args.server, "session-lookup")?;
    let script = script_of(&lookup, &["token_hash", "kind", "idle_secs"])?;
    let file =
        std::env::temp_dir().join(format!("bench-session-lookup-{}.sql", std::process::id()));
    std::fs::write(&file, script).context("could not write the pgbench script")?;
    let output = Command::new("pgbench")
        .args(["-n", "-M", "prepared", "-j", "2"])
        .arg("-c")
        .arg(args.run.connections.to_string())
        .arg("-T")
        .arg(args.run.duration.as_secs().to_string())
        .arg("-f")
        .arg(&file)
        .arg("-D")
        .arg(format!(
            "token_hash=\\x{}",
            hex(&Sha256::digest(token.as_bytes()))
        ))
        .args(["-D", "kind=bearer", "-D"])
        .arg(format!("idle_secs={IDLE_SECS}"))
        .arg(&args.database_url)
        .output()
        .context("could not run pgbench (Debian's postgresql-contrib or postgresql package)")?;
    let _ = std::fs::remove_file(&file);
    let text = String::from_utf8_lossy(&output.stdout);
    ensure!(
        output.status.success(),
        "pgbench failed: {}{}",
        text,
        String::from_utf8_lossy(&output.stderr)
    );
    let figures = Figures::parse(&text)?;
    report::emit(
        &[format!(
            "the server's session lookup in pgbench -M prepared, {} clients, {} s: \
             {:.0} transactions/s, latency average {:.3} ms, {} failed",
            args.run.connections,
            args.run.duration.as_secs(),
            figures.tps,
            figures.latency_ms,
            figures.failed,
        )],
        &json!({
            "name": "profile-sql",
            "connections": args.run.connections,
            "seconds": args.run.duration.as_secs(),
            "tps": figures.tps,
            "latency_avg_ms": figures.latency_ms,
            "failed": figures.failed,
        }),
    );
    ensure!(
        figures.failed == 0,
        "{} pgbench transactions failed",
        figures.failed
    );
    Ok(())
}

/// Orders in the rotation: one pgbench script each (its buyer and products fixed), which
/// pgbench picks at random for every transaction, as the app's run rotates its orders.
const ORDER_SCRIPTS: usize = 128;

pub async fn place_order(args: OrderSqlArgs) -> anyhow::Result<()> {
    let OrderSqlArgs {
        sql: args,
        users,
        pause,
    } = args;
    let url = &args.run.url;
    let client = http::client(1)?;
    http::check_ready(&client, url).await?;
    let products = hot_products(&client, url).await?;
    ensure!(
        products.len() >= LINES,
        "found {} products with {HOT_KEYWORD:?} in their name; an order needs {LINES}",
        products.len()
    );
    let sink = Arc::new(SmtpSink::start(args.run.smtp_port).await?);
    let tokens = place_order::sign_up(&client, url, &sink, users).await?;
    drop(sink);
    let mut buyers = Vec::with_capacity(tokens.len());
    for token in &tokens {
        buyers.push((user_id(&client, url, token).await?, token));
    }

    let all = statements(&args.server)?;
    let text = |name: &str| {
        all[name]
            .as_str()
            .map(str::to_string)
            .with_context(|| format!("server statements has no {name:?}"))
    };
    let lookup = script_of(
        &text("session-lookup")?,
        &["token_hash", "kind", "idle_secs"],
    )?;
    let lock = script_of(&text("order-lock")?, &["ids", "user"])?;
    // `$14`, the Idempotency-Key, is null, as the app's run sends none: pgbench has no null
    // variable, so the statement says it.
    let write = script_of(
        &text("order-write")?.replace("$14", "null"),
        &[
            "user",
            "ids",
            "quantities",
            "new_id",
            "total",
            "line_numbers",
            "names",
            "prices",
            "p9",
            "email",
            "subject",
            "text_body",
            "html_body",
            "-",
            "response",
            "p16",
            "p17",
            "event_body",
            "webhook_urls",
            "p20",
        ],
    )?;
    // The lock's rows set `:email` and `:new_id` (`\aset`: the last row's values), which the
    // write takes, as the server takes them from its answer.
    let transaction = format!(
        "{lookup}BEGIN;\n{} \\aset\n{write}COMMIT;\n",
        lock.trim_end().trim_end_matches(';')
    );

    let mut defines: Vec<(String, String)> = vec![
        ("kind".into(), "bearer".into()),
        ("idle_secs".into(), IDLE_SECS.to_string()),
        (
            "quantities".into(),
            format!("{{{}}}", ["1"; LINES].join(",")),
        ),
        (
            "line_numbers".into(),
            format!(
                "{{{}}}",
                (1..=LINES)
                    .map(|n| n.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        ),
        // Not read while `$14` is null, and no webhook URLs (the bench's server has none).
        ("response".into(), "{}".into()),
        ("event_body".into(), "{}".into()),
        ("webhook_urls".into(), "{}".into()),
    ];
    let fixed = all["order-write-fixed"]
        .as_object()
        .context("server statements has no \"order-write-fixed\"")?;
    for (number, value) in fixed {
        let value = value
            .as_str()
            .context("a fixed parameter that is not text")?;
        defines.push((format!("p{number}"), value.to_string()));
    }
    let email = &all["order-email"];
    for (variable, field) in [
        ("subject", "subject"),
        ("text_body", "text"),
        ("html_body", "html"),
    ] {
        let value = email[field]
            .as_str()
            .with_context(|| format!("server statements has no order email {field}"))?;
        defines.push((variable.into(), value.to_string()));
    }

    let dir = std::env::temp_dir().join(format!("bench-place-order-{}", std::process::id()));
    std::fs::create_dir_all(&dir).context("could not make the pgbench scripts' directory")?;
    let mut rng = rand::rng();
    let mut files = Vec::with_capacity(ORDER_SCRIPTS);
    for n in 0..ORDER_SCRIPTS {
        let (user, token) = buyers.choose(&mut rng).context("no one to place orders")?;
        let mut picked: Vec<&HotProduct> = products.choose_multiple(&mut rng, LINES).collect();
        // As the server's transaction has them once locked (`order by p.id`); the arrays the
        // write takes are in the request's order, which is free.
        picked.sort_by(|a, b| a.id.cmp(&b.id));
        let own = |name: &str| format!("{name}_{n}");
        let mut script = transaction.clone();
        for name in ["token_hash", "ids", "user", "names", "prices", "total"] {
            script = script.replace(&format!(":{name}"), &format!(":{}", own(name)));
        }
        let file = dir.join(format!("order-{n}.sql"));
        std::fs::write(&file, script).context("could not write a pgbench script")?;
        files.push(file);
        let list = |values: Vec<String>| format!("{{{}}}", values.join(","));
        defines.extend([
            (
                own("token_hash"),
                format!("\\x{}", hex(&Sha256::digest(token.as_bytes()))),
            ),
            (own("user"), user.clone()),
            (
                own("ids"),
                list(picked.iter().map(|p| p.id.clone()).collect()),
            ),
            (
                own("names"),
                list(
                    picked
                        .iter()
                        .map(|p| format!("\"{}\"", p.name.replace('"', "\\\"")))
                        .collect(),
                ),
            ),
            (
                own("prices"),
                list(picked.iter().map(|p| p.cents.to_string()).collect()),
            ),
            (
                own("total"),
                picked.iter().map(|p| p.cents).sum::<i64>().to_string(),
            ),
        ]);
    }
    if let Some(pid) = pause {
        signal(pid, "STOP")?;
    }
    let figures = pgbench(&args, &files, &defines);
    let _ = std::fs::remove_dir_all(&dir);
    if let Some(pid) = pause {
        let users: Vec<&str> = buyers.iter().map(|(user, _)| user.as_str()).collect();
        let forgotten = psql(
            &args.database_url,
            &format!(
                "delete from email_outbox where status = 'pending' \
                 and kind = 'order_confirmation' and user_id = any('{{{}}}')",
                users.join(",")
            ),
        );
        signal(pid, "CONT")?;
        forgotten?;
    }
    let figures = figures?;
    report::emit(
        &[format!(
            "an order's statements (session lookup, products locked, order written) in pgbench \
             -M prepared, {} clients, {} s, {} people, {} products: {:.0} orders/s, latency \
             average {:.3} ms, {} failed",
            args.run.connections,
            args.run.duration.as_secs(),
            buyers.len(),
            products.len(),
            figures.tps,
            figures.latency_ms,
            figures.failed,
        )],
        &json!({
            "name": "place-order-sql",
            "connections": args.run.connections,
            "seconds": args.run.duration.as_secs(),
            "users": buyers.len(),
            "products": products.len(),
            "tps": figures.tps,
            "latency_avg_ms": figures.latency_ms,
            "failed": figures.failed,
        }),
    );
    ensure!(
        figures.failed == 0,
        "{} pgbench transactions failed",
        figures.failed
    );
    Ok(())
}

/// Searches in the rotation: one pgbench script each.
const SEARCH_SCRIPTS: usize = 128;

pub async fn products_search(args: SqlArgs) -> anyhow::Result<()> {
    let url = &args.run.url;
    let client = http::client(1)?;
    http::check_ready(&client, url).await?;
    let (products, searches) = products_search::searches(&client, url).await?;
    let dir = std::env::temp_dir().join(format!("bench-search-{}", std::process::id()));
    std::fs::create_dir_all(&dir).context("could not make the pgbench scripts' directory")?;
    let mut files = Vec::new();
    let mut defines = Vec::new();
    let mut counted = 0;
    for (n, search) in searches.iter().take(SEARCH_SCRIPTS).enumerate() {
        let all = statements_for(&args.server, Some(&search.keyword))?;
        let statements = &all["catalog-search"];
        let mut script = String::new();
        // The count runs when the first page is full (`paging::capped_total`), as the app's
        // answer shows.
        let full = page_is_full(&client, url, &search.keyword).await?;
        for (part, runs) in [("page", true), ("count", full)] {
            if !runs {
                continue;
            }
            let sql = statements[part]
                .as_str()
                .with_context(|| format!("server statements has no search {part}"))?;
            let values: Vec<&str> = statements[format!("{part}_parameters")]
                .as_array()
                .with_context(|| format!("server statements has no {part} parameters"))?
                .iter()
                .map(|v| v.as_str().context("a parameter that is not text"))
                .collect::<anyhow::Result<_>>()?;
            let names: Vec<String> = (1..=values.len())
                .map(|i| format!("{part}{n}_{i}"))
                .collect();
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            script.push_str(&script_of(sql, &refs)?);
            defines.extend(
                names
                    .into_iter()
                    .zip(values.into_iter().map(str::to_string)),
            );
        }
        counted += usize::from(full);
        let file = dir.join(format!("search-{n}.sql"));
        std::fs::write(&file, script).context("could not write a pgbench script")?;
        files.push(file);
    }
    let figures = pgbench(&args, &files, &defines);
    let _ = std::fs::remove_dir_all(&dir);
    let figures = figures?;
    report::emit(
        &[format!(
            "the server's catalogue search statements in pgbench -M prepared, {} clients, {} s, \
             {} keywords over {products} products ({counted} with a count): {:.0} searches/s, \
             latency average {:.3} ms, {} failed",
            args.run.connections,
            args.run.duration.as_secs(),
            files.len(),
            figures.tps,
            figures.latency_ms,
            figures.failed,
        )],
        &json!({
            "name": "products-search-sql",
            "connections": args.run.connections,
            "seconds": args.run.duration.as_secs(),
            "searches": files.len(),
            "counted": counted,
            "tps": figures.tps,
            "latency_avg_ms": figures.latency_ms,
            "failed": figures.failed,
        }),
    );
    ensure!(
        figures.failed == 0,
        "{} pgbench transactions failed",
        figures.failed
    );
    Ok(())
}

/// Whether the first page of a search for `keyword` is full (the default page size).
async fn page_is_full(client: &reqwest::Client, url: &str, keyword: &str) -> anyhow::Result<bool> {
    let response = client
        .get(format!("{url}/api/products"))
        .query(&[("keyword", keyword)])
        .send()
        .await
        .context("GET /api/products failed")?;
    ensure!(
        response.status().is_success(),
        "GET /api/products answered {}",
        response.status()
    );
    let page: Value = response
        .json()
        .await
        .context("GET /api/products: no JSON")?;
    let shown = page["items"].as_array().map_or(0, Vec::len);
    let limit = page["limit"]
        .as_u64()
        .context("GET /api/products: no limit")?;
    Ok(shown as u64 >= limit)
}

/// Sends `signal` (`STOP`, `CONT`) to the process `pid`.
fn signal(pid: u32, signal: &str) -> anyhow::Result<()> {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .context("could not run kill")?;
    ensure!(status.success(), "kill -{signal} {pid} failed");
    Ok(())
}

/// Runs one statement with `psql` on `database_url`.
fn psql(database_url: &str, sql: &str) -> anyhow::Result<()> {
    let output = Command::new("psql")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql, database_url])
        .output()
        .context("could not run psql")?;
    ensure!(
        output.status.success(),
        "psql failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(())
}

/// A product an order can take, as the catalogue lists it.
struct HotProduct {
    id: String,
    name: String,
    cents: i64,
}

/// The products whose name or description holds [`HOT_KEYWORD`]: the first hundred, as the
/// app's run takes them.
async fn hot_products(client: &reqwest::Client, url: &str) -> anyhow::Result<Vec<HotProduct>> {
    let response = client
        .get(format!("{url}/api/products"))
        .query(&[("keyword", HOT_KEYWORD), ("limit", "100")])
        .send()
        .await
        .context("GET /api/products failed")?;
    ensure!(
        response.status().is_success(),
        "GET /api/products answered {}",
        response.status()
    );
    let page: Value = response
        .json()
        .await
        .context("GET /api/products: no JSON")?;
    page["items"]
        .as_array()
        .context("GET /api/products: no items")?
        .iter()
        .map(|item| {
            let text = |field: &str| {
                item[field]
                    .as_str()
                    .map(str::to_string)
                    .with_context(|| format!("a product without {field}"))
            };
            Ok(HotProduct {
                id: text("id")?,
                name: text("name")?,
                cents: cents(&text("price")?)?,
            })
        })
        .collect()
}

/// `"34.50"` → 3450.
fn cents(price: &str) -> anyhow::Result<i64> {
    let (units, hundredths) = price
        .split_once('.')
        .with_context(|| format!("a price without two decimals: {price:?}"))?;
    ensure!(
        hundredths.len() == 2,
        "a price without two decimals: {price:?}"
    );
    Ok(units.parse::<i64>()? * 100 + hundredths.parse::<i64>()?)
}

/// The account behind a bearer token.
async fn user_id(client: &reqwest::Client, url: &str, token: &str) -> anyhow::Result<String> {
    let response = client
        .get(format!("{url}/api/profile"))
        .bearer_auth(token)
        .send()
        .await
        .context("GET /api/profile failed")?;
    ensure!(
        response.status().is_success(),
        "GET /api/profile answered {}",
        response.status()
    );
    let profile: Value = response.json().await.context("GET /api/profile: no JSON")?;
    profile["user_id"]
        .as_str()
        .map(str::to_string)
        .context("GET /api/profile: no user_id")
}

/// Runs pgbench on the server's database: `files` as its scripts, picked at random, with the
/// variables `defines`.
fn pgbench(
    args: &SqlArgs,
    files: &[PathBuf],
    defines: &[(String, String)],
) -> anyhow::Result<Figures> {
    let mut command = Command::new("pgbench");
    command
        .args(["-n", "-M", "prepared", "-j", "2"])
        .arg("-c")
        .arg(args.run.connections.to_string())
        .arg("-T")
        .arg(args.run.duration.as_secs().to_string());
    for file in files {
        command.arg("-f").arg(file);
    }
    for (name, value) in defines {
        command.arg("-D").arg(format!("{name}={value}"));
    }
    let output = command
        .arg(&args.database_url)
        .output()
        .context("could not run pgbench (Debian's postgresql-contrib or postgresql package)")?;
    let text = String::from_utf8_lossy(&output.stdout);
    ensure!(
        output.status.success(),
        "pgbench failed: {}{}",
        text,
        String::from_utf8_lossy(&output.stderr)
    );
    Figures::parse(&text)
}

/// Every statement `server statements` prints, by name.
fn statements(server: &PathBuf) -> anyhow::Result<Value> {
    statements_for(server, None)
}

/// The same, with a catalogue search for `keyword`.
fn statements_for(server: &PathBuf, keyword: Option<&str>) -> anyhow::Result<Value> {
    let mut command = Command::new(server);
    command.arg("statements");
    if let Some(keyword) = keyword {
        command.arg(format!("--keyword={keyword}"));
    }
    let output = command
        .output()
        .with_context(|| format!("could not run {} statements", server.display()))?;
    ensure!(
        output.status.success(),
        "{} statements failed: {}",
        server.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).context("server statements did not print a JSON object")
}

/// The statement `server statements` names `name`.
fn statement(server: &PathBuf, name: &str) -> anyhow::Result<String> {
    statements(server)?[name]
        .as_str()
        .map(str::to_string)
        .with_context(|| format!("server statements has no {name:?}"))
}

/// A pgbench script running `sql` once, its parameters `$1`, `$2`… replaced by the pgbench
/// variables `names` in order (which `-M prepared` sends as parameters again); `-` for one
/// the caller has already replaced.
fn script_of(sql: &str, names: &[&str]) -> anyhow::Result<String> {
    let mut script = sql.to_string();
    // From the last, so that `$1` does not take the start of `$10`.
    for (index, name) in names.iter().enumerate().rev() {
        // A parameter the caller has already written into the statement.
        if *name == "-" {
            continue;
        }
        let placeholder = format!("${}", index + 1);
        ensure!(
            script.contains(&placeholder),
            "the statement has no {placeholder}"
        );
        script = script.replace(&placeholder, &format!(":{name}"));
    }
    if script.contains('$') {
        bail!(
            "the statement has more parameters than the {} named",
            names.len()
        );
    }
    Ok(format!("{};\n", script.trim_end()))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

/// What pgbench's report says.
#[derive(Debug, PartialEq)]
struct Figures {
    tps: f64,
    latency_ms: f64,
    failed: u64,
}

impl Figures {
    fn parse(report: &str) -> anyhow::Result<Self> {
        let after = |prefix: &str| {
            report
                .lines()
                .find_map(|line| line.trim().strip_prefix(prefix))
                .and_then(|rest| rest.split_whitespace().next())
        };
        let tps = after("tps = ")
            .and_then(|v| v.parse().ok())
            .context("pgbench printed no tps")?;
        let latency_ms = after("latency average = ")
            .and_then(|v| v.parse().ok())
            .context("pgbench printed no latency average")?;
        let failed = after("number of failed transactions: ")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        Ok(Self {
            tps,
            latency_ms,
            failed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_become_pgbench_variables() {
        let script = script_of(
            "select 1 from t where a = $1 and b = $2 and c = $1",
            &["first", "second"],
        )
        .expect("a script");
        assert_eq!(
            script,
            "select 1 from t where a = :first and b = :second and c = :first;\n"
        );
        assert!(script_of("select $1, $2", &["only"]).is_err());
        assert!(script_of("select $2", &["a", "b"]).is_err());
    }

    #[test]
    fn a_parameter_written_in_is_skipped() {
        let script = script_of("select $1, null, $3", &["a", "-", "c"]).expect("a script");
        assert_eq!(script, "select :a, null, :c;\n");
    }

    #[test]
    fn prices_become_cents() {
        assert_eq!(cents("34.50").expect("a price"), 3450);
        assert_eq!(cents("0.05").expect("a price"), 5);
        assert!(cents("34.5").is_err());
        assert!(cents("34").is_err());
    }

    #[test]
    fn the_report_gives_rate_latency_and_failures() {
        let report = "transaction type: lookup.sql\nscaling factor: 1\nquery mode: prepared\n\
            number of clients: 32\nnumber of threads: 2\nduration: 20 s\n\
            number of transactions actually processed: 560000\n\
            number of failed transactions: 0 (0.000%)\nlatency average = 1.137 ms\n\
            initial connection time = 40.139 ms\ntps = 28123.456789 (without initial connection time)\n";
        assert_eq!(
            Figures::parse(report).expect("figures"),
            Figures {
                tps: 28123.456789,
                latency_ms: 1.137,
                failed: 0
            }
        );
        assert!(Figures::parse("nothing").is_err());
    }
}
