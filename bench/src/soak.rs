//! The soak: minutes of mixed traffic at about half of what the server can take, to show that
//! nothing degrades with time: no 5xx, the same latencies, resident memory flat.
//!
//! The mix is a shop's day in miniature, by share of the scheduled requests: catalogue searches
//! (30 %), profile reads with a bearer token (45 %), sign-ins (`POST /api/token`, 10 %),
//! registrations (7 %) and orders (8 %); every registration that succeeds is followed by its
//! activation, with the code read from the email the SMTP sink received, so activations come on
//! top of the schedule. The activated accounts join the pool that signs in, reads its profile
//! and orders.
//!
//! "Half of saturation" is measured, not guessed: a probe first runs the same mix with
//! `--probe-connections` clients back to back for `--probe-seconds` (which also warms the
//! server up), and the soak then sends half the rate the probe reached, on a fixed schedule
//! (open loop: a slow answer does not slow the schedule down, and latencies count from when a
//! request was due). `--rate` skips the probe.
//!
//! The server's resident memory (`VmRSS` of `/proc/<pid>/status`) is sampled every
//! `--sample-seconds`; the median of the first minute's samples and of the last minute's must be
//! within 10 % of each other.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail, ensure};
use rand::{Rng, seq::IndexedRandom as _};
use reqwest::{Client, header::AUTHORIZATION};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::{task::JoinSet, time::MissedTickBehavior};

use crate::{
    account,
    http::{self, Answer},
    identity::Identities,
    report,
    smtp_sink::SmtpSink,
    stats::{Latencies, round_to, show},
};

pub const USAGE: &str = "  bench soak --url URL --smtp-port PORT --server-pid PID --seconds N
             [--rate R | --probe-seconds P --probe-connections C] [--sample-seconds S]
             [--keyword K]
      mixed traffic (registrations and their activations, sign-ins, profile reads, catalogue
      searches for products named with K (default soak), orders of them) at R requests/s, or
      at half the rate a P-second saturation probe with C clients reached (default 20 s, 8);
      samples the server's VmRSS every S seconds (default 2); fails on any 5xx or request
      without an answer, or when the last minute's memory is more than 10 % off the first's";

/// What the memory of the last minute may differ from the first's, as a fraction.
const MEMORY_TOLERANCE: f64 = 0.10;

/// The window memory is compared over, at the start and at the end.
const MINUTE: Duration = Duration::from_secs(60);

/// How long an activation waits for its email (the code lives a minute).
const EMAIL_WAIT: Duration = Duration::from_secs(20);
const EMAIL_POLL: Duration = Duration::from_millis(100);

/// Accounts made before the run starts, so that every kind of request has someone to act for.
const SEED_ACCOUNTS: usize = 8;

pub struct SoakArgs {
    pub url: String,
    pub smtp_port: u16,
    pub server_pid: u32,
    pub duration: Duration,
    pub rate: Option<f64>,
    pub probe: Duration,
    pub probe_connections: usize,
    pub sample_every: Duration,
    pub keyword: String,
}

/// `bench soak …`: the arguments after `soak`, as `--name value` or `--name=value`.
pub fn parse(args: &[String]) -> anyhow::Result<SoakArgs> {
    let mut options: BTreeMap<String, String> = BTreeMap::new();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        ensure!(arg.starts_with("--"), "unexpected argument {arg:?}");
        let (name, value) = match arg.split_once('=') {
            Some((name, value)) => (name.to_string(), value.to_string()),
            None => (
                arg.clone(),
                rest.next()
                    .with_context(|| format!("{arg} needs a value"))?
                    .clone(),
            ),
        };
        ensure!(
            options.insert(name.clone(), value).is_none(),
            "{name} is given twice"
        );
    }
    let mut take = |name: &str| options.remove(name);
    fn number<T: std::str::FromStr>(name: &str, raw: Option<String>) -> anyhow::Result<Option<T>> {
        raw.map(|raw| {
            raw.parse::<T>()
                .map_err(|_| anyhow::anyhow!("{name} {raw:?} does not parse"))
        })
        .transpose()
    }
    let url = take("--url").context("--url is required")?;
    ensure!(
        url.starts_with("http://") || url.starts_with("https://"),
        "--url must start with http:// or https://"
    );
    let smtp_port: u16 =
        number("--smtp-port", take("--smtp-port"))?.context("--smtp-port is required")?;
    let server_pid: u32 =
        number("--server-pid", take("--server-pid"))?.context("--server-pid is required")?;
    let seconds: u64 = number("--seconds", take("--seconds"))?.context("--seconds is required")?;
    let rate: Option<f64> = number("--rate", take("--rate"))?;
    let probe_seconds: u64 = number("--probe-seconds", take("--probe-seconds"))?.unwrap_or(20);
    let probe_connections: usize =
        number("--probe-connections", take("--probe-connections"))?.unwrap_or(8);
    let sample_seconds: u64 = number("--sample-seconds", take("--sample-seconds"))?.unwrap_or(2);
    let keyword = take("--keyword").unwrap_or_else(|| "soak".into());
    if let Some(name) = options.keys().next() {
        bail!("unknown option {name}");
    }
    ensure!(smtp_port != 0, "--smtp-port must be a real port, not 0");
    ensure!(seconds >= 1, "--seconds must be at least 1");
    ensure!(
        rate.is_none_or(|r| r.is_finite() && r > 0.0),
        "--rate must be a positive number"
    );
    ensure!(probe_seconds >= 1, "--probe-seconds must be at least 1");
    ensure!(
        probe_connections >= 1,
        "--probe-connections must be at least 1"
    );
    ensure!(sample_seconds >= 1, "--sample-seconds must be at least 1");
    Ok(SoakArgs {
        url: url.trim_end_matches('/').to_string(),
        smtp_port,
        server_pid,
        duration: Duration::from_secs(seconds),
        rate,
        probe: Duration::from_secs(probe_seconds),
        probe_connections,
        sample_every: Duration::from_secs(sample_seconds),
        keyword,
    })
}

/// The kinds of request, in the order the report lists them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Op {
    Register,
    Activate,
    SignIn,
    Profile,
    Search,
    Order,
}

impl Op {
    /// The scheduled mix (activations follow registrations), in percent.
    const MIX: [(Op, u32); 5] = [
        (Op::Search, 30),
        (Op::Profile, 45),
        (Op::SignIn, 10),
        (Op::Register, 7),
        (Op::Order, 8),
    ];

    fn request_line(self) -> &'static str {
        match self {
            Op::Register => "POST /api/register",
            Op::Activate => "POST /api/activate",
            Op::SignIn => "POST /api/token",
            Op::Profile => "GET /api/profile",
            Op::Search => "GET /api/products",
            Op::Order => "POST /api/place-order",
        }
    }

    fn expected(self) -> u16 {
        match self {
            Op::Register | Op::Order => 201,
            _ => 200,
        }
    }

    fn pick(rng: &mut impl Rng) -> Op {
        let total: u32 = Self::MIX.iter().map(|(_, w)| w).sum();
        let mut roll = rng.random_range(0..total);
        for (op, weight) in Self::MIX {
            if roll < weight {
                return op;
            }
            roll -= weight;
        }
        Op::Profile
    }
}

/// One answered (or failed) request.
struct Sample {
    op: Op,
    latency: Duration,
    answer: Answer,
}

/// An activated account; `token` once it signed in.
#[derive(Clone)]
struct Person {
    email: String,
    password: String,
    token: Option<String>,
}

/// What every request task shares.
struct Shop {
    client: Client,
    url: String,
    identities: Identities,
    sink: SmtpSink,
    people: Mutex<Vec<Person>>,
    products: Vec<String>,
    keywords: Vec<String>,
    samples: Mutex<Vec<Sample>>,
    /// Activations in flight; the run waits for them before it reports.
    activations: Mutex<JoinSet<()>>,
}

#[derive(Deserialize)]
struct Page {
    items: Vec<Product>,
}

#[derive(Deserialize)]
struct Product {
    id: String,
    name: String,
}

#[derive(Deserialize)]
struct TokenIssued {
    token: String,
}

pub async fn run(args: SoakArgs) -> anyhow::Result<()> {
    let client = http::client(256)?;
    http::check_ready(&client, &args.url).await?;
    rss_kib(args.server_pid)
        .with_context(|| format!("cannot read VmRSS of process {}", args.server_pid))?;
    let sink = SmtpSink::start(args.smtp_port).await?;
    let (products, keywords) = catalogue(&client, &args.url, &args.keyword).await?;
    let shop = Arc::new(Shop {
        client,
        url: args.url.clone(),
        identities: Identities::random(),
        sink,
        people: Mutex::new(Vec::new()),
        products,
        keywords,
        samples: Mutex::new(Vec::new()),
        activations: Mutex::new(JoinSet::new()),
    });
    for _ in 0..SEED_ACCOUNTS {
        let account = account::activated(&shop.client, &shop.url, &shop.sink).await?;
        let token = account.token(&shop.client, &shop.url).await?;
        lock(&shop.people).push(Person {
            email: account.email,
            password: account.password,
            token: Some(token),
        });
    }

    let (rate, probe) = match args.rate {
        Some(rate) => (rate, None),
        None => {
            let reached = saturate(&shop, args.probe_connections, args.probe).await?;
            println!(
                "saturation probe: {} clients for {} s reached {reached:.1} requests/s of the mix",
                args.probe_connections,
                args.probe.as_secs()
            );
            ensure!(reached > 0.0, "the saturation probe got no answers");
            (reached / 2.0, Some(reached))
        }
    };
    drain(&shop).await;
    lock(&shop.samples).clear();

    println!(
        "soak: {rate:.1} requests/s for {} s, memory every {} s",
        args.duration.as_secs(),
        args.sample_every.as_secs()
    );
    let started = Instant::now();
    let sampler = tokio::spawn(sample_memory(
        args.server_pid,
        args.sample_every,
        started + args.duration,
    ));
    let late = fixed_rate(&shop, rate, args.duration).await?;
    drain(&shop).await;
    let elapsed = started.elapsed();
    let memory = sampler.await.context("the memory sampler failed")??;

    let samples = std::mem::take(&mut *lock(&shop.samples));
    let verdict = Verdict::of(&samples, &memory, args.duration);
    let mut lines = verdict.lines();
    if late > 0 {
        lines.push(format!(
            "  {late} requests went out more than a second late (the bench fell behind)"
        ));
    }
    let mut result = verdict.json();
    result["name"] = json!("soak");
    result["rate"] = json!(round_to(rate, 2));
    result["probe_requests_per_sec"] = json!(probe.map(|p| round_to(p, 2)));
    result["seconds"] = json!(round_to(elapsed.as_secs_f64(), 1));
    result["late"] = json!(late);
    report::emit(&lines, &result);
    verdict.ensure_passed()
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The products whose names hold `keyword` (the first hundred), and search words made from
/// their names.
async fn catalogue(
    client: &Client,
    url: &str,
    keyword: &str,
) -> anyhow::Result<(Vec<String>, Vec<String>)> {
    let response = client
        .get(format!("{url}/api/products"))
        .query(&[("keyword", keyword), ("limit", "100")])
        .send()
        .await
        .context("GET /api/products failed")?;
    ensure!(
        response.status().is_success(),
        "GET /api/products answered {}",
        response.status()
    );
    let page: Page = response.json().await.context("not a page of products")?;
    ensure!(
        page.items.len() >= 3,
        "found {} products named with {keyword:?}; the soak orders 3 at a time \
         (bench/soak.sh seeds them)",
        page.items.len()
    );
    let mut keywords: Vec<String> = page
        .items
        .iter()
        .flat_map(|p| p.name.split_whitespace().map(str::to_lowercase))
        .filter(|word| word.len() >= 3)
        .collect();
    keywords.sort();
    keywords.dedup();
    Ok((page.items.into_iter().map(|p| p.id).collect(), keywords))
}

/// Closed loop: `connections` clients sending the mix back to back; the answers per second.
async fn saturate(shop: &Arc<Shop>, connections: usize, duration: Duration) -> anyhow::Result<f64> {
    let started = Instant::now();
    let deadline = started + duration;
    let mut clients = JoinSet::new();
    for _ in 0..connections {
        let shop = Arc::clone(shop);
        clients.spawn(async move {
            while Instant::now() < deadline {
                let op = Op::pick(&mut rand::rng());
                shop.send(op, Instant::now()).await;
            }
        });
    }
    while let Some(done) = clients.join_next().await {
        done.context("a probe client failed")?;
    }
    let answered = lock(&shop.samples)
        .iter()
        .filter(|s| matches!(s.answer, Answer::Status(_)))
        .count();
    Ok(answered as f64 / started.elapsed().as_secs_f64())
}

/// Open loop: the mix at `rate` requests per second for `duration`; how many went out more
/// than a second after they were due.
async fn fixed_rate(shop: &Arc<Shop>, rate: f64, duration: Duration) -> anyhow::Result<usize> {
    let period = Duration::try_from_secs_f64(1.0 / rate).context("the rate is out of range")?;
    ensure!(!period.is_zero(), "the rate is too high to schedule");
    let total = (rate * duration.as_secs_f64()).round().max(1.0) as usize;
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let mut requests = JoinSet::new();
    let mut late = 0;
    for _ in 0..total {
        let scheduled = ticks.tick().await.into_std();
        if scheduled.elapsed() > Duration::from_secs(1) {
            late += 1;
        }
        let op = Op::pick(&mut rand::rng());
        let shop = Arc::clone(shop);
        requests.spawn(async move { shop.send(op, scheduled).await });
        // Finished tasks give their memory back as the run goes.
        while requests.try_join_next().is_some() {}
    }
    while let Some(done) = requests.join_next().await {
        done.context("a request task failed")?;
    }
    Ok(late)
}

/// Waits for the activations still in flight.
async fn drain(shop: &Shop) {
    let mut activations = std::mem::take(&mut *lock(&shop.activations));
    while activations.join_next().await.is_some() {}
}

impl Shop {
    fn record(&self, op: Op, due: Instant, answer: Answer) -> Answer {
        lock(&self.samples).push(Sample {
            op,
            latency: due.elapsed(),
            answer,
        });
        answer
    }

    /// A random person, with a token when `signed_in`.
    fn someone(&self, signed_in: bool) -> Option<(usize, Person)> {
        let people = lock(&self.people);
        let mut rng = rand::rng();
        for _ in 0..8 {
            let i = rng.random_range(0..people.len().max(1));
            if let Some(person) = people.get(i)
                && (!signed_in || person.token.is_some())
            {
                return Some((i, person.clone()));
            }
        }
        None
    }

    async fn send(self: &Arc<Self>, op: Op, due: Instant) {
        let url = &self.url;
        match op {
            Op::Register => {
                let identity = self.identities.fresh();
                let sent = self
                    .client
                    .post(format!("{url}/api/register"))
                    .json(&identity.request())
                    .send()
                    .await;
                if self.record(op, due, Answer::of(sent).await).is_created() {
                    let shop = Arc::clone(self);
                    lock(&self.activations).spawn(async move {
                        shop.activate(identity.email, identity.password).await;
                    });
                }
            }
            Op::Activate => {}
            Op::SignIn => {
                let Some((i, person)) = self.someone(false) else {
                    return;
                };
                let sent = self
                    .client
                    .post(format!("{url}/api/token"))
                    .json(&json!({"email": person.email, "password": person.password}))
                    .send()
                    .await;
                let (answer, body) = Answer::read(sent).await;
                self.record(op, due, answer);
                if let Ok(issued) = serde_json::from_slice::<TokenIssued>(body.as_ref())
                    && let Some(slot) = lock(&self.people).get_mut(i)
                {
                    slot.token = Some(issued.token);
                }
            }
            Op::Profile => {
                let Some((_, person)) = self.someone(true) else {
                    return;
                };
                let sent = self
                    .client
                    .get(format!("{url}/api/profile"))
                    .bearer_auth(person.token.unwrap_or_default())
                    .send()
                    .await;
                self.record(op, due, Answer::of(sent).await);
            }
            Op::Search => {
                let keyword = self
                    .keywords
                    .choose(&mut rand::rng())
                    .cloned()
                    .unwrap_or_default();
                let sent = self
                    .client
                    .get(format!("{url}/api/products"))
                    .query(&[("keyword", keyword.as_str())])
                    .send()
                    .await;
                self.record(op, due, Answer::of(sent).await);
            }
            Op::Order => {
                let Some((_, person)) = self.someone(true) else {
                    return;
                };
                let items: Vec<Value> = self
                    .products
                    .choose_multiple(&mut rand::rng(), 3)
                    .map(|id| json!({"product_id": id, "quantity": 1}))
                    .collect();
                let sent = self
                    .client
                    .post(format!("{url}/api/place-order"))
                    .bearer_auth(person.token.unwrap_or_default())
                    .json(&json!({ "items": items }))
                    .send()
                    .await;
                self.record(op, due, Answer::of(sent).await);
            }
        }
    }

    /// Reads the code from the activation email and activates; the account joins the pool.
    async fn activate(&self, email: String, password: String) {
        let deadline = Instant::now() + EMAIL_WAIT;
        let code = loop {
            if let Some(code) = self
                .sink
                .latest_subject(&email)
                .as_deref()
                .and_then(account::activation_code)
            {
                break code.to_string();
            }
            if Instant::now() >= deadline {
                // Counted as an activation that got no answer: the email never came.
                self.record(Op::Activate, Instant::now(), Answer::Timeout);
                return;
            }
            tokio::time::sleep(EMAIL_POLL).await;
        };
        let due = Instant::now();
        let sent = self
            .client
            .post(format!("{}/api/activate", self.url))
            .header(AUTHORIZATION, account::basic(&email, &password))
            .json(&json!({ "code": code }))
            .send()
            .await;
        if self.record(Op::Activate, due, Answer::of(sent).await) == Answer::Status(200) {
            lock(&self.people).push(Person {
                email,
                password,
                token: None,
            });
        }
    }
}

/// `VmRSS` of process `pid`, in KiB.
fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    parse_rss(&status).context("no VmRSS line")
}

fn parse_rss(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// (seconds since the start, KiB) every `every` until `until`, and once more at the end.
async fn sample_memory(
    pid: u32,
    every: Duration,
    until: Instant,
) -> anyhow::Result<Vec<(Duration, u64)>> {
    let started = Instant::now();
    let mut samples = Vec::new();
    let mut ticks = tokio::time::interval(every);
    loop {
        ticks.tick().await;
        let kib = rss_kib(pid).context("the server is gone")?;
        samples.push((started.elapsed(), kib));
        if Instant::now() >= until {
            return Ok(samples);
        }
    }
}

/// The figures of a run and whether it passed.
struct Verdict {
    endpoints: Vec<(Op, Latencies, BTreeMap<String, usize>)>,
    server_errors: usize,
    unanswered: usize,
    memory: Vec<(Duration, u64)>,
    first_minute: u64,
    last_minute: u64,
}

impl Verdict {
    fn of(samples: &[Sample], memory: &[(Duration, u64)], duration: Duration) -> Self {
        let mut by_op: BTreeMap<Op, (Vec<Duration>, BTreeMap<String, usize>)> = BTreeMap::new();
        let (mut server_errors, mut unanswered) = (0, 0);
        for sample in samples {
            let (latencies, unexpected) = by_op.entry(sample.op).or_default();
            match sample.answer {
                Answer::Status(code) if code == sample.op.expected() => {
                    latencies.push(sample.latency);
                }
                answer => {
                    *unexpected.entry(answer.label()).or_default() += 1;
                    match answer {
                        Answer::Status(code) if code >= 500 => server_errors += 1,
                        Answer::Status(_) => {}
                        _ => unanswered += 1,
                    }
                }
            }
        }
        // The median, not the peak: each password hash holds its argon2 block (about 19 MiB)
        // for a moment, so single samples jump by a few percent with the hashes in flight.
        let median = |from: Duration, to: Duration| {
            let mut window: Vec<u64> = memory
                .iter()
                .filter(|(at, _)| *at >= from && *at <= to)
                .map(|(_, kib)| *kib)
                .collect();
            window.sort_unstable();
            window.get(window.len() / 2).copied().unwrap_or(0)
        };
        let end = memory.last().map_or(duration, |(at, _)| *at);
        Self {
            endpoints: by_op
                .into_iter()
                .map(|(op, (latencies, unexpected))| {
                    (op, Latencies::from_samples(latencies), unexpected)
                })
                .collect(),
            server_errors,
            unanswered,
            memory: memory.to_vec(),
            first_minute: median(Duration::ZERO, MINUTE),
            last_minute: median(end.saturating_sub(MINUTE), end),
        }
    }

    fn memory_change(&self) -> f64 {
        if self.first_minute == 0 {
            return f64::INFINITY;
        }
        (self.last_minute as f64 - self.first_minute as f64) / self.first_minute as f64
    }

    fn lines(&self) -> Vec<String> {
        let mut lines = vec![format!(
            "  {:<24} {:>7} {:>9} {:>9} {:>9}  other answers",
            "endpoint", "ok", "p50", "p95", "p99"
        )];
        for (op, latencies, unexpected) in &self.endpoints {
            let others: Vec<String> = unexpected
                .iter()
                .map(|(k, v)| format!("{v} × {k}"))
                .collect();
            lines.push(format!(
                "  {:<24} {:>7} {:>9} {:>9} {:>9}  {}",
                op.request_line(),
                latencies.count,
                show(latencies.p50),
                show(latencies.p95),
                show(latencies.p99),
                if others.is_empty() {
                    "-".into()
                } else {
                    others.join(", ")
                }
            ));
        }
        lines.push(format!(
            "  5xx: {}, no answer: {}",
            self.server_errors, self.unanswered
        ));
        let mut minutes: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
        for (at, kib) in &self.memory {
            minutes.entry(at.as_secs() / 60).or_default().push(*kib);
        }
        let medians: Vec<String> = minutes
            .into_iter()
            .map(|(minute, mut kib)| {
                kib.sort_unstable();
                format!("{}: {:.1}", minute + 1, kib[kib.len() / 2] as f64 / 1024.0)
            })
            .collect();
        lines.push(format!(
            "  server VmRSS median by minute (MiB): {}",
            medians.join(", ")
        ));
        lines.push(format!(
            "  VmRSS median, first minute {:.1} MiB, last minute {:.1} MiB: {:+.1} % (limit ±{:.0} %)",
            self.first_minute as f64 / 1024.0,
            self.last_minute as f64 / 1024.0,
            self.memory_change() * 100.0,
            MEMORY_TOLERANCE * 100.0
        ));
        lines
    }

    fn json(&self) -> Value {
        let endpoints: serde_json::Map<String, Value> = self
            .endpoints
            .iter()
            .map(|(op, latencies, unexpected)| {
                let mut entry = latencies.to_json();
                entry["other_answers"] = json!(unexpected);
                (op.request_line().to_string(), entry)
            })
            .collect();
        json!({
            "endpoints": endpoints,
            "server_errors": self.server_errors,
            "unanswered": self.unanswered,
            "rss_kib": self.memory.iter().map(|(at, kib)| json!([at.as_secs(), kib])).collect::<Vec<_>>(),
            "rss_first_minute_kib": self.first_minute,
            "rss_last_minute_kib": self.last_minute,
            "rss_change": round_to(self.memory_change(), 4),
        })
    }

    fn ensure_passed(&self) -> anyhow::Result<()> {
        ensure!(
            self.server_errors == 0 && self.unanswered == 0,
            "{} answers were 5xx and {} requests got no answer",
            self.server_errors,
            self.unanswered
        );
        ensure!(
            self.memory_change().abs() <= MEMORY_TOLERANCE,
            "resident memory moved {:+.1} % from the first minute to the last",
            self.memory_change() * 100.0
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> anyhow::Result<SoakArgs> {
        parse(
            &line
                .split_whitespace()
                .map(String::from)
                .collect::<Vec<_>>(),
        )
    }

    #[test]
    fn parses_its_arguments() -> anyhow::Result<()> {
        let a = args("--url http://h:1/ --smtp-port 2 --server-pid 3 --seconds 60")?;
        assert_eq!(a.url, "http://h:1");
        assert_eq!(a.rate, None);
        assert_eq!(a.probe, Duration::from_secs(20));
        assert_eq!(a.sample_every, Duration::from_secs(2));
        let a = args("--url=http://h:1 --smtp-port=2 --server-pid=3 --seconds=5 --rate=12.5")?;
        assert_eq!(a.rate, Some(12.5));
        for bad in [
            "--url http://h --smtp-port 2 --server-pid 3",
            "--url h --smtp-port 2 --server-pid 3 --seconds 5",
            "--url http://h --smtp-port 2 --server-pid 3 --seconds 5 --rate 0",
            "--url http://h --smtp-port 2 --server-pid 3 --seconds 5 --what 1",
            "--url http://h --smtp-port 2 --seconds 5",
        ] {
            assert!(args(bad).is_err(), "{bad}");
        }
        Ok(())
    }

    #[test]
    fn the_mix_covers_every_scheduled_kind() {
        let mut rng = rand::rng();
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..10_000 {
            seen.insert(Op::pick(&mut rng));
        }
        assert_eq!(seen.len(), Op::MIX.len());
        assert!(!seen.contains(&Op::Activate));
        assert_eq!(Op::MIX.iter().map(|(_, w)| w).sum::<u32>(), 100);
    }

    #[test]
    fn reads_vm_rss() {
        assert_eq!(
            parse_rss("Name:\tserver\nVmRSS:\t  51234 kB\n"),
            Some(51234)
        );
        assert_eq!(parse_rss("Name:\tserver\n"), None);
        assert!(rss_kib(std::process::id()).is_ok_and(|kib| kib > 0));
    }

    fn sample(op: Op, answer: Answer) -> Sample {
        Sample {
            op,
            latency: Duration::from_millis(5),
            answer,
        }
    }

    #[test]
    fn fails_on_5xx_no_answer_or_memory_growth() {
        let flat = [
            (Duration::from_secs(10), 100_000),
            (Duration::from_secs(170), 105_000),
        ];
        let ok = [
            sample(Op::Profile, Answer::Status(200)),
            sample(Op::Order, Answer::Status(201)),
        ];
        let verdict = Verdict::of(&ok, &flat, Duration::from_secs(180));
        assert!(verdict.ensure_passed().is_ok());
        assert_eq!(verdict.endpoints.len(), 2);

        let conflict = [sample(Op::Order, Answer::Status(409))];
        assert!(
            Verdict::of(&conflict, &flat, Duration::from_secs(180))
                .ensure_passed()
                .is_ok()
        );
        for bad in [Answer::Status(503), Answer::Timeout, Answer::Broken] {
            let verdict = Verdict::of(&[sample(Op::SignIn, bad)], &flat, Duration::from_secs(180));
            assert!(verdict.ensure_passed().is_err(), "{bad:?}");
        }
        let growing = [
            (Duration::from_secs(10), 100_000),
            (Duration::from_secs(170), 111_000),
        ];
        let verdict = Verdict::of(&ok, &growing, Duration::from_secs(180));
        assert!(verdict.ensure_passed().is_err());
    }
}
