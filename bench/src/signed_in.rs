//! Load on a signed-in account: `GET /api/profile` with a bearer token (the hot read path, no
//! hashing), `POST /api/token` (a sign-in: one argon2 verification and a new session), and the
//! administrators' search (`admin_search` makes its requests and measures them here).
//!
//! Saturation only: C clients, each sending its next request as soon as the previous one
//! answered, for N seconds. The client has to stay cheap next to a server answering thousands
//! of requests per second on the same cores, so each request is a clone of a prepared request
//! (URL parsed, header and body encoded once) sent on a pooled keep-alive connection. A run has
//! a rotation of prepared requests ("probes", one for profile and token); each client goes
//! through it in turn from its own starting point. The profile and token runs judge an answer
//! by its status alone, the body read and dropped unparsed; the search also reads its page, to
//! count the answers that found something.

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail, ensure};
use reqwest::{Client, Request};
use serde::{Deserialize, de::IgnoredAny};
use serde_json::{Value, json};
use tokio::task::JoinSet;

use crate::{
    account,
    args::SignedInArgs,
    cpu,
    http::{self, Answer},
    report,
    smtp_sink::SmtpSink,
    stats::{Latencies, round_to, show},
};

/// Which endpoint a profile or token run loads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Profile,
    Token,
}

/// How a run is named in its report.
#[derive(Clone, Copy, Debug)]
pub struct Naming {
    /// The `name` of the RESULT line.
    pub name: &'static str,
    pub request_line: &'static str,
    /// What one success gives, per second: the readable unit and the RESULT field.
    pub unit: &'static str,
    pub rate_field: &'static str,
}

impl Endpoint {
    pub fn naming(self) -> Naming {
        match self {
            Self::Profile => Naming {
                name: "profile",
                request_line: "GET /api/profile with a bearer token",
                unit: "requests/s",
                rate_field: "requests_per_sec",
            },
            Self::Token => Naming {
                name: "token",
                request_line: "POST /api/token",
                unit: "tokens/s",
                rate_field: "tokens_per_sec",
            },
        }
    }
}

/// How the error table names a success whose body is not what the run expects.
const UNREADABLE: &str = "200 unreadable";

/// One request of a run's rotation, and the kind of request it stands for in the figures.
pub struct Probe {
    pub kind: &'static str,
    pub request: Request,
}

/// What a success is, and how it is judged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Judge {
    /// A 200, by its status alone; the body is drained unread.
    Status,
    /// A 201 (something was made, such as an order), by its status alone.
    Created,
    /// A 200 whose body is a page of a list endpoint (`{"items": [...], "total": n, ...}`),
    /// which found something when it holds a row.
    Page,
}

/// The part of a page that tells whether it found anything.
#[derive(Deserialize)]
struct PageHead {
    items: Vec<IgnoredAny>,
    total: i64,
}

impl Judge {
    /// The answer that counts as a success.
    fn success(self) -> Answer {
        match self {
            Self::Status | Self::Page => Answer::Status(200),
            Self::Created => Answer::Status(201),
        }
    }

    /// `Some(found)` for a body the run accepts, `None` for one it does not.
    fn judge(self, body: &[u8]) -> Option<bool> {
        match self {
            Self::Status | Self::Created => Some(true),
            Self::Page => serde_json::from_slice::<PageHead>(body)
                .ok()
                .map(|page| !page.items.is_empty() && page.total > 0),
        }
    }
}

pub async fn run(endpoint: Endpoint, args: SignedInArgs) -> anyhow::Result<()> {
    // At least one idle connection per client, so that every request after the first finds
    // its connection open.
    let client = http::client(args.connections)?;
    http::check_ready(&client, &args.url).await?;
    // Kept for the whole run: the server may still be delivering mail left over from earlier
    // runs, and every failed delivery would be retried, and logged, while this run measures.
    let sink = SmtpSink::start(args.smtp_port).await?;
    let account = account::activated(&client, &args.url, &sink).await?;
    let url = &args.url;
    let prepared = match endpoint {
        Endpoint::Profile => {
            let token = account.token(&client, url).await?;
            client
                .get(format!("{url}/api/profile"))
                .bearer_auth(token)
                .build()
        }
        Endpoint::Token => client
            .post(format!("{url}/api/token"))
            .json(&account.credentials())
            .build(),
    }
    .context("could not build the request")?;
    let naming = endpoint.naming();
    let probes = [Probe {
        kind: naming.name,
        request: prepared,
    }];

    let tally = measure(&client, &probes, Judge::Status, &args).await?;
    drop(sink);
    report::emit(&tally.lines(naming, &args), &tally.json(naming, &args));
    tally.ensure_answered(url)
}

/// Runs `probes` at saturation as `args` say and tallies the answers, with the bench's own CPU
/// time over the run.
pub async fn measure(
    client: &Client,
    probes: &[Probe],
    judge: Judge,
    args: &SignedInArgs,
) -> anyhow::Result<Tally> {
    ensure!(
        !probes.is_empty(),
        "a run needs at least one request to send"
    );
    let cpu_before = cpu::used();
    let run = saturate(client, probes, judge, args.connections, args.duration).await?;
    let client_cpu = cpu_before
        .zip(cpu::used())
        .map(|(before, after)| after.saturating_sub(before));
    let kinds: Vec<&'static str> = probes.iter().map(|probe| probe.kind).collect();
    Ok(Tally::of(run, &kinds, judge, client_cpu))
}

/// What became of one probe's requests.
#[derive(Clone, Default)]
struct ProbeSamples {
    /// The latencies of its successes.
    latencies: Vec<Duration>,
    /// How many of its successes found something.
    found: usize,
}

/// What one client saw: per probe of the rotation, its successes; failures by kind.
#[derive(Default)]
struct Samples {
    probes: Vec<ProbeSamples>,
    errors: BTreeMap<String, usize>,
}

impl Samples {
    fn new(probes: usize) -> Self {
        Self {
            probes: vec![ProbeSamples::default(); probes],
            errors: BTreeMap::new(),
        }
    }

    fn absorb(&mut self, other: Self) {
        for (mine, theirs) in self.probes.iter_mut().zip(other.probes) {
            mine.latencies.extend(theirs.latencies);
            mine.found += theirs.found;
        }
        for (label, n) in other.errors {
            *self.errors.entry(label).or_insert(0) += n;
        }
    }
}

/// Every client's samples together, and how long the run took until its last response.
struct Run {
    samples: Samples,
    elapsed: Duration,
}

/// `connections` clients sending the probes in turn, back to back, until `duration` is up;
/// requests still in flight then are waited for and counted, and so is the time they take.
/// Client `i` starts `i / connections` of the way into the rotation, so that the clients do
/// not send the same request at the same moment.
async fn saturate(
    client: &Client,
    probes: &[Probe],
    judge: Judge,
    connections: usize,
    duration: Duration,
) -> anyhow::Result<Run> {
    let started = Instant::now();
    let deadline = started + duration;
    let mut clients = JoinSet::new();
    for i in 0..connections {
        let client = client.clone();
        let requests = probes
            .iter()
            .map(|probe| repeat(&probe.request))
            .collect::<anyhow::Result<Vec<Request>>>()?;
        let first = i * probes.len() / connections;
        clients.spawn(send_until(client, requests, first, judge, deadline));
    }
    let mut all = Samples::new(probes.len());
    while let Some(done) = clients.join_next().await {
        all.absorb(done.context("a client task failed")??);
    }
    Ok(Run {
        samples: all,
        elapsed: started.elapsed(),
    })
}

/// A copy of the prepared request, to send. Only a streamed body cannot be copied, and the
/// bench never makes one.
fn repeat(prepared: &Request) -> anyhow::Result<Request> {
    match prepared.try_clone() {
        Some(request) => Ok(request),
        None => bail!("the prepared request cannot be sent twice"),
    }
}

/// One client: the hot loop, kept to one clock read, one send and one drained body (plus, for
/// pages, one parse and a second clock read). A request's latency runs from the previous one's
/// answer (or its judgement), so it includes copying the prepared request (well under a
/// microsecond).
async fn send_until(
    client: Client,
    requests: Vec<Request>,
    first: usize,
    judge: Judge,
    deadline: Instant,
) -> anyhow::Result<Samples> {
    let mut samples = Samples::new(requests.len());
    let mut next = first % requests.len();
    let mut now = Instant::now();
    while now < deadline {
        let request = repeat(&requests[next])?;
        let sent_at = now;
        let (answer, body) = Answer::read(client.execute(request).await).await;
        now = Instant::now();
        if answer == judge.success() {
            match judge.judge(body.as_ref()) {
                Some(found) => {
                    let probe = &mut samples.probes[next];
                    probe.latencies.push(now.saturating_duration_since(sent_at));
                    probe.found += usize::from(found);
                }
                None => *samples.errors.entry(UNREADABLE.into()).or_insert(0) += 1,
            }
            if judge == Judge::Page {
                now = Instant::now();
            }
        } else {
            *samples.errors.entry(answer.label()).or_insert(0) += 1;
        }
        next = (next + 1) % requests.len();
    }
    Ok(samples)
}

/// One kind of probe's successes.
pub struct KindTally {
    pub kind: &'static str,
    pub latencies: Latencies,
    pub found: usize,
}

/// The run in numbers: successes (200, or 201) with their latencies, everything else by kind.
pub struct Tally {
    requests: usize,
    /// The status of a success, as the lines name it.
    success: String,
    seconds: f64,
    succeeded: Latencies,
    /// Successes that found something, when the run reads pages.
    found: Option<usize>,
    /// Per kind of probe, in the order the kinds first appear in the rotation.
    kinds: Vec<KindTally>,
    errors: BTreeMap<String, usize>,
    /// CPU time of the bench process (all its threads) during the run.
    client_cpu: Option<Duration>,
}

impl Tally {
    /// `kinds[i]` is the kind of probe `i`.
    fn of(run: Run, kinds: &[&'static str], judge: Judge, client_cpu: Option<Duration>) -> Self {
        let Samples { probes, errors } = run.samples;
        let mut by_kind: Vec<(&'static str, ProbeSamples)> = Vec::new();
        for (&kind, probe) in kinds.iter().zip(probes) {
            let at = match by_kind.iter().position(|(k, _)| *k == kind) {
                Some(at) => at,
                None => {
                    by_kind.push((kind, ProbeSamples::default()));
                    by_kind.len() - 1
                }
            };
            let (_, samples) = &mut by_kind[at];
            samples.latencies.extend(probe.latencies);
            samples.found += probe.found;
        }
        let all: Vec<Duration> = by_kind
            .iter()
            .flat_map(|(_, samples)| samples.latencies.iter().copied())
            .collect();
        let found: usize = by_kind.iter().map(|(_, samples)| samples.found).sum();
        let succeeded = Latencies::from_samples(all);
        let kinds = by_kind
            .into_iter()
            .map(|(kind, samples)| KindTally {
                kind,
                latencies: Latencies::from_samples(samples.latencies),
                found: samples.found,
            })
            .collect();
        Self {
            requests: succeeded.count + errors.values().sum::<usize>(),
            success: judge.success().label(),
            seconds: run.elapsed.as_secs_f64(),
            succeeded,
            found: (judge == Judge::Page).then_some(found),
            kinds,
            errors,
            client_cpu,
        }
    }

    /// How many requests succeeded.
    pub fn succeeded(&self) -> usize {
        self.succeeded.count
    }

    pub fn error_count(&self) -> usize {
        self.errors.values().sum()
    }

    pub fn per_second(&self) -> f64 {
        self.succeeded.count as f64 / self.seconds
    }

    /// The bench's CPU time over the run's wall-clock time, in percent of one core.
    fn client_cpu_percent(&self) -> Option<f64> {
        self.client_cpu
            .map(|cpu| cpu.as_secs_f64() / self.seconds * 100.0)
    }

    /// Fails when not one request could connect (or none was made): the server went away
    /// mid-run.
    pub fn ensure_answered(&self, url: &str) -> anyhow::Result<()> {
        let unreachable = self.errors.get("connect").copied().unwrap_or(0) == self.requests;
        ensure!(!unreachable, "the server at {url} stopped answering");
        Ok(())
    }

    pub fn lines(&self, naming: Naming, args: &SignedInArgs) -> Vec<String> {
        let seconds = self.seconds;
        let threads = match args.threads {
            1 => "1 thread".to_string(),
            n => format!("{n} threads"),
        };
        let latency = &self.succeeded;
        let mut lines = vec![
            format!(
                "{} at saturation ({} connections, {threads}, {seconds:.1} s): {:.1} {}, \
                 {} answered {} of {} requests, {} errors",
                naming.request_line,
                args.connections,
                self.per_second(),
                naming.unit,
                latency.count,
                self.success,
                self.requests,
                self.error_count()
            ),
            format!(
                "  latency of {}s (from the send): p50 {}, p95 {}, p99 {}, max {}",
                self.success,
                show(latency.p50),
                show(latency.p95),
                show(latency.p99),
                show(latency.max)
            ),
        ];
        if let Some(found) = self.found {
            lines.push(format!(
                "  answers that found something: {found} of {} ({})",
                latency.count,
                percent(found, latency.count)
            ));
        }
        if self.kinds.len() > 1 {
            let width = self.kinds.iter().map(|k| k.kind.len()).max().unwrap_or(0);
            for kind in &self.kinds {
                let latency = &kind.latencies;
                let found = match self.found {
                    Some(_) => format!(", {} found something", percent(kind.found, latency.count)),
                    None => String::new(),
                };
                lines.push(format!(
                    "    {:<width$}  p50 {}, p95 {}, p99 {}, max {} ({} answers{found})",
                    kind.kind,
                    show(latency.p50),
                    show(latency.p95),
                    show(latency.p99),
                    show(latency.max),
                    latency.count,
                ));
            }
        }
        if !self.errors.is_empty() {
            let errors: Vec<String> = self
                .errors
                .iter()
                .map(|(label, n)| format!("{label} ×{n}"))
                .collect();
            lines.push(format!("  errors: {}", errors.join(", ")));
        }
        if let (Some(cpu), Some(percent)) = (self.client_cpu, self.client_cpu_percent()) {
            lines.push(format!(
                "  bench client CPU: {:.1} s in {seconds:.1} s ({percent:.0} % of one core)",
                cpu.as_secs_f64()
            ));
        }
        lines
    }

    pub fn json(&self, naming: Naming, args: &SignedInArgs) -> Value {
        let mut result = json!({
            "name": naming.name,
            "connections": args.connections,
            "threads": args.threads,
            "seconds": round_to(self.seconds, 2),
            "requests": self.requests,
            "ok": self.succeeded.count,
            "error_count": self.error_count(),
            "errors": self.errors,
            "latency_ms": self.succeeded.to_json(),
            "client_cpu_percent": self.client_cpu_percent().map(|p| round_to(p, 1)),
        });
        if let Some(fields) = result.as_object_mut() {
            fields.insert(
                naming.rate_field.into(),
                json!(round_to(self.per_second(), 2)),
            );
            if let Some(found) = self.found {
                fields.insert("found".into(), json!(found));
            }
            if self.kinds.len() > 1 {
                let kinds: serde_json::Map<String, Value> = self
                    .kinds
                    .iter()
                    .map(|kind| {
                        let mut entry = json!({ "latency_ms": kind.latencies.to_json() });
                        if self.found.is_some() {
                            entry["found"] = json!(kind.found);
                        }
                        (kind.kind.to_string(), entry)
                    })
                    .collect();
                fields.insert("kinds".into(), Value::Object(kinds));
            }
        }
        result
    }
}

/// `n` of `of` as a percentage, `n/a` of nothing.
fn percent(n: usize, of: usize) -> String {
    if of == 0 {
        "n/a".to_string()
    } else {
        format!("{:.1} %", n as f64 * 100.0 / of as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(threads: usize) -> SignedInArgs {
        SignedInArgs {
            url: "http://127.0.0.1:1".into(),
            smtp_port: 2,
            duration: Duration::from_secs(2),
            connections: 4,
            threads,
        }
    }

    fn ms(values: &[u64]) -> Vec<Duration> {
        values.iter().copied().map(Duration::from_millis).collect()
    }

    fn tally() -> Tally {
        let mut errors = BTreeMap::new();
        errors.insert("503".to_string(), 2);
        errors.insert("timeout".to_string(), 1);
        Tally::of(
            Run {
                samples: Samples {
                    probes: vec![ProbeSamples {
                        latencies: ms(&[4, 1, 3, 2]),
                        found: 4,
                    }],
                    errors,
                },
                elapsed: Duration::from_secs(2),
            },
            &["profile"],
            Judge::Status,
            Some(Duration::from_millis(500)),
        )
    }

    /// Three probes of two kinds; one success of the second kind found nothing.
    fn search_tally() -> Tally {
        Tally::of(
            Run {
                samples: Samples {
                    probes: vec![
                        ProbeSamples {
                            latencies: ms(&[10, 12]),
                            found: 2,
                        },
                        ProbeSamples {
                            latencies: ms(&[3]),
                            found: 0,
                        },
                        ProbeSamples {
                            latencies: ms(&[20]),
                            found: 1,
                        },
                    ],
                    errors: BTreeMap::new(),
                },
                elapsed: Duration::from_secs(1),
            },
            &["surname", "email", "surname"],
            Judge::Page,
            None,
        )
    }

    #[test]
    fn counts_successes_and_errors() {
        let tally = tally();
        assert_eq!(tally.requests, 7);
        assert_eq!(tally.error_count(), 3);
        assert!((tally.per_second() - 2.0).abs() < 1e-9);
        assert_eq!(tally.succeeded.p50, Some(Duration::from_millis(2)));
        assert_eq!(tally.client_cpu_percent().map(|p| p.round()), Some(25.0));
        assert_eq!(tally.found, None);
    }

    #[test]
    fn the_result_line_names_the_rate_by_endpoint() {
        let tally = tally();
        let profile = tally.json(Endpoint::Profile.naming(), &args(1));
        assert_eq!(profile["name"], "profile");
        assert_eq!(profile["requests_per_sec"], 2.0);
        assert_eq!(profile["ok"], 4);
        assert_eq!(profile["error_count"], 3);
        assert_eq!(profile["errors"]["503"], 2);
        assert_eq!(profile["latency_ms"]["p99"], 4.0);
        assert_eq!(profile["client_cpu_percent"], 25.0);
        assert!(profile.get("found").is_none());
        assert!(profile.get("kinds").is_none());
        let token = tally.json(Endpoint::Token.naming(), &args(2));
        assert_eq!(token["name"], "token");
        assert_eq!(token["tokens_per_sec"], 2.0);
        assert_eq!(token["threads"], 2);
        assert!(token.get("requests_per_sec").is_none());
    }

    #[test]
    fn the_lines_show_rate_errors_and_client_cpu() {
        let lines = tally().lines(Endpoint::Token.naming(), &args(1));
        assert!(lines[0].contains("POST /api/token"), "{}", lines[0]);
        assert!(lines[0].contains("2.0 tokens/s"), "{}", lines[0]);
        assert!(lines[0].contains("1 thread,"), "{}", lines[0]);
        assert!(lines[2].contains("503 ×2"), "{}", lines[2]);
        assert!(lines[3].contains("25 % of one core"), "{}", lines[3]);
    }

    #[test]
    fn pages_are_tallied_by_kind_with_what_they_found() {
        let tally = search_tally();
        assert_eq!(tally.found, Some(3));
        assert_eq!(tally.succeeded.count, 4);
        let kinds: Vec<(&str, usize, usize)> = tally
            .kinds
            .iter()
            .map(|k| (k.kind, k.latencies.count, k.found))
            .collect();
        assert_eq!(kinds, [("surname", 3, 3), ("email", 1, 0)]);
        let naming = Naming {
            name: "search",
            request_line: "GET /search",
            unit: "requests/s",
            rate_field: "requests_per_sec",
        };
        let json = tally.json(naming, &args(1));
        assert_eq!(json["found"], 3);
        assert_eq!(json["kinds"]["surname"]["found"], 3);
        assert_eq!(json["kinds"]["surname"]["latency_ms"]["max"], 20.0);
        assert_eq!(json["kinds"]["email"]["found"], 0);
        let lines = tally.lines(naming, &args(1));
        assert!(lines[2].contains("3 of 4 (75.0 %)"), "{}", lines[2]);
        assert!(lines[3].contains("surname  p50 12.0 ms"), "{}", lines[3]);
        assert!(lines[4].contains("0.0 % found something"), "{}", lines[4]);
    }

    #[test]
    fn a_page_found_something_when_it_holds_a_row() {
        let page = |body: &str| Judge::Page.judge(body.as_bytes());
        assert_eq!(
            page(r#"{"items":[{"id":"x"}],"total":1,"limit":20,"offset":0}"#),
            Some(true)
        );
        assert_eq!(
            page(r#"{"items":[],"total":0,"limit":20,"offset":0}"#),
            Some(false)
        );
        assert_eq!(page(r#"{"error":"forbidden"}"#), None);
        assert_eq!(page("not json"), None);
        assert_eq!(Judge::Status.judge(b""), Some(true));
    }
}
