//! Load on a signed-in account: `GET /api/profile` with a bearer token (the hot read path, no
//! hashing) and `POST /api/token` (a sign-in: one argon2 verification and a new session).
//!
//! Saturation only: C clients, each sending its next request as soon as the previous one
//! answered, for N seconds. The client has to stay cheap next to a server answering thousands
//! of requests per second on the same cores, so each request is a clone of one prepared request
//! (URL parsed, header and body encoded once) sent on a pooled keep-alive connection, and its
//! answer is judged by the status alone: the body is read and dropped, never parsed.

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail, ensure};
use reqwest::{Client, Request};
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

/// Which endpoint a run loads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Profile,
    Token,
}

impl Endpoint {
    /// The `name` of the RESULT line.
    fn name(self) -> &'static str {
        match self {
            Self::Profile => "profile",
            Self::Token => "token",
        }
    }

    fn request_line(self) -> &'static str {
        match self {
            Self::Profile => "GET /api/profile with a bearer token",
            Self::Token => "POST /api/token",
        }
    }

    /// What one success gives, per second: the readable unit and the RESULT field.
    fn rate(self) -> (&'static str, &'static str) {
        match self {
            Self::Profile => ("requests/s", "requests_per_sec"),
            Self::Token => ("tokens/s", "tokens_per_sec"),
        }
    }
}

/// Both endpoints answer a success with 200.
const SUCCESS: Answer = Answer::Status(200);

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

    let cpu_before = cpu::used();
    let run = saturate(&client, &prepared, args.connections, args.duration).await?;
    let client_cpu = cpu_before
        .zip(cpu::used())
        .map(|(before, after)| after.saturating_sub(before));
    drop(sink);

    let tally = Tally::of(run, client_cpu);
    report::emit(&tally.lines(endpoint, &args), &tally.json(endpoint, &args));
    // Not one request could connect (or none was made): the server went away mid-run.
    let unreachable = tally.errors.get("connect").copied().unwrap_or(0) == tally.requests;
    ensure!(!unreachable, "the server at {url} stopped answering");
    Ok(())
}

/// What one client saw: the latencies of its successes, and its failures by kind.
#[derive(Default)]
struct Samples {
    latencies: Vec<Duration>,
    errors: BTreeMap<String, usize>,
}

/// Every client's samples together, and how long the run took until its last response.
struct Run {
    samples: Samples,
    elapsed: Duration,
}

/// `connections` clients sending `prepared` back to back until `duration` is up; requests
/// still in flight then are waited for and counted, and so is the time they take.
async fn saturate(
    client: &Client,
    prepared: &Request,
    connections: usize,
    duration: Duration,
) -> anyhow::Result<Run> {
    let started = Instant::now();
    let deadline = started + duration;
    let mut clients = JoinSet::new();
    for _ in 0..connections {
        let client = client.clone();
        let prepared = repeat(prepared)?;
        clients.spawn(send_until(client, prepared, deadline));
    }
    let mut all = Samples::default();
    while let Some(done) = clients.join_next().await {
        let samples = done.context("a client task failed")??;
        all.latencies.extend(samples.latencies);
        for (label, n) in samples.errors {
            *all.errors.entry(label).or_insert(0) += n;
        }
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

/// One client: the hot loop, kept to one clock read, one send and one drained body. A request's
/// latency runs from the previous one's answer, so it includes copying the prepared request
/// (well under a microsecond).
async fn send_until(
    client: Client,
    prepared: Request,
    deadline: Instant,
) -> anyhow::Result<Samples> {
    let mut samples = Samples::default();
    let mut now = Instant::now();
    while now < deadline {
        let request = repeat(&prepared)?;
        let sent_at = now;
        let answer = Answer::of(client.execute(request).await).await;
        now = Instant::now();
        if answer == SUCCESS {
            samples
                .latencies
                .push(now.saturating_duration_since(sent_at));
        } else {
            *samples.errors.entry(answer.label()).or_insert(0) += 1;
        }
    }
    Ok(samples)
}

/// The run in numbers: successes (200) with their latencies, everything else by kind.
struct Tally {
    requests: usize,
    seconds: f64,
    succeeded: Latencies,
    errors: BTreeMap<String, usize>,
    /// CPU time of the bench process (all its threads) during the run.
    client_cpu: Option<Duration>,
}

impl Tally {
    fn of(run: Run, client_cpu: Option<Duration>) -> Self {
        let errors = run.samples.errors;
        let succeeded = Latencies::from_samples(run.samples.latencies);
        Self {
            requests: succeeded.count + errors.values().sum::<usize>(),
            seconds: run.elapsed.as_secs_f64(),
            succeeded,
            errors,
            client_cpu,
        }
    }

    fn error_count(&self) -> usize {
        self.errors.values().sum()
    }

    fn per_second(&self) -> f64 {
        self.succeeded.count as f64 / self.seconds
    }

    /// The bench's CPU time over the run's wall-clock time, in percent of one core.
    fn client_cpu_percent(&self) -> Option<f64> {
        self.client_cpu
            .map(|cpu| cpu.as_secs_f64() / self.seconds * 100.0)
    }

    fn lines(&self, endpoint: Endpoint, args: &SignedInArgs) -> Vec<String> {
        let seconds = self.seconds;
        let (unit, _) = endpoint.rate();
        let threads = match args.threads {
            1 => "1 thread".to_string(),
            n => format!("{n} threads"),
        };
        let latency = &self.succeeded;
        let mut lines = vec![
            format!(
                "{} at saturation ({} connections, {threads}, {seconds:.1} s): {:.1} {unit}, \
                 {} answered 200 of {} requests, {} errors",
                endpoint.request_line(),
                args.connections,
                self.per_second(),
                latency.count,
                self.requests,
                self.error_count()
            ),
            format!(
                "  latency of 200s (from the send): p50 {}, p95 {}, p99 {}, max {}",
                show(latency.p50),
                show(latency.p95),
                show(latency.p99),
                show(latency.max)
            ),
        ];
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

    fn json(&self, endpoint: Endpoint, args: &SignedInArgs) -> Value {
        let (_, rate_field) = endpoint.rate();
        let mut result = json!({
            "name": endpoint.name(),
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
            fields.insert(rate_field.into(), json!(round_to(self.per_second(), 2)));
        }
        result
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

    fn tally() -> Tally {
        let mut errors = BTreeMap::new();
        errors.insert("503".to_string(), 2);
        errors.insert("timeout".to_string(), 1);
        Tally::of(
            Run {
                samples: Samples {
                    latencies: [4, 1, 3, 2]
                        .into_iter()
                        .map(Duration::from_millis)
                        .collect(),
                    errors,
                },
                elapsed: Duration::from_secs(2),
            },
            Some(Duration::from_millis(500)),
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
    }

    #[test]
    fn the_result_line_names_the_rate_by_endpoint() {
        let tally = tally();
        let profile = tally.json(Endpoint::Profile, &args(1));
        assert_eq!(profile["name"], "profile");
        assert_eq!(profile["requests_per_sec"], 2.0);
        assert_eq!(profile["ok"], 4);
        assert_eq!(profile["error_count"], 3);
        assert_eq!(profile["errors"]["503"], 2);
        assert_eq!(profile["latency_ms"]["p99"], 4.0);
        assert_eq!(profile["client_cpu_percent"], 25.0);
        let token = tally.json(Endpoint::Token, &args(2));
        assert_eq!(token["name"], "token");
        assert_eq!(token["tokens_per_sec"], 2.0);
        assert_eq!(token["threads"], 2);
        assert!(token.get("requests_per_sec").is_none());
    }

    #[test]
    fn the_lines_show_rate_errors_and_client_cpu() {
        let lines = tally().lines(Endpoint::Token, &args(1));
        assert!(lines[0].contains("POST /api/token"), "{}", lines[0]);
        assert!(lines[0].contains("2.0 tokens/s"), "{}", lines[0]);
        assert!(lines[0].contains("1 thread,"), "{}", lines[0]);
        assert!(lines[2].contains("503 ×2"), "{}", lines[2]);
        assert!(lines[3].contains("25 % of one core"), "{}", lines[3]);
    }
}
