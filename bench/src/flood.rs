//! Flood: registrations with 1 MB passwords and valid ones, all sent at once, while a separate
//! process polls `GET /healthz` every 10 ms ([`crate::probe`]) and a thread samples the server's
//! resident memory (`VmRSS` in `/proc/PID/status`). The server must refuse what it cannot take early and
//! cheaply (413 for the oversized bodies, 503 with `Retry-After` when every hashing slot is
//! busy), never answer 500, stay small, and keep answering its probe.

use std::{
    collections::BTreeMap,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail, ensure};
use reqwest::Client;
use serde_json::{Value, json};
use tokio::{
    io::{AsyncBufReadExt as _, BufReader},
    process::{Child, ChildStdin, ChildStdout},
    task::JoinSet,
};

use crate::{
    args::FloodArgs,
    http::{self, Answer},
    identity::Identities,
    probe::{self, PROBE_INTERVAL},
    report,
    smtp_sink::SmtpSink,
    stats::{Latencies, show},
};
/// How long to wait, once the flood is answered, for the accepted registrations' emails.
const STRAGGLER_WAIT: Duration = Duration::from_secs(10);

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    /// A 1 MB password: a body far over the server's limit.
    Big,
    Valid,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Self::Big => "big",
            Self::Valid => "valid",
        }
    }
}

struct Outcome {
    kind: Kind,
    email: String,
    answer: Answer,
    retry_after: bool,
    latency: Duration,
}

pub async fn run(args: FloodArgs) -> anyhow::Result<()> {
    let client = http::client(usize::MAX)?;
    http::check_ready(&client, &args.url).await?;
    let sink = SmtpSink::start(args.smtp_port).await?;
    let endpoint: Arc<str> = format!("{}/api/register", args.url).into();

    // Every body is made before the clock starts: the flood is only sending.
    let identities = Identities::random();
    let padding = "x".repeat(args.password_bytes);
    let mut requests = Vec::with_capacity(args.big + args.valid);
    for i in 0..args.big.max(args.valid) {
        if i < args.big {
            let person = identities.fresh();
            let mut body = serde_json::to_value(person.request())?;
            body["password"] = Value::String(padding.clone());
            requests.push((Kind::Big, person.email, serde_json::to_vec(&body)?));
        }
        if i < args.valid {
            let person = identities.fresh();
            let body = serde_json::to_vec(&person.request())?;
            requests.push((Kind::Valid, person.email, body));
        }
    }
    drop(padding);

    let rss_before = rss_kib(args.pid)?;
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let stop = Arc::clone(&stop);
        let pid = args.pid;
        std::thread::spawn(move || sample_rss(pid, &stop))
    };
    let probe = Probe::start(&args.url).await?;
    // A few probes on the quiet server first, so the sampler and the probe are running.
    tokio::time::sleep(Duration::from_millis(200)).await;

    let started = Instant::now();
    let mut flood = JoinSet::new();
    for (kind, email, body) in requests {
        let client = client.clone();
        let endpoint = Arc::clone(&endpoint);
        flood.spawn(async move { send(&client, &endpoint, kind, email, body).await });
    }
    let mut outcomes = Vec::with_capacity(args.big + args.valid);
    while let Some(outcome) = flood.join_next().await {
        outcomes.push(outcome.context("a flood task failed")?);
    }
    let flood_took = started.elapsed();
    // The probe and the sampler go on briefly after the last answer: memory freed late shows.
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    let rss = sampler
        .join()
        .map_err(|_| anyhow::anyhow!("the memory sampler panicked"))??;
    let health = probe.stop().await?;
    let rss_after = rss_kib(args.pid)?;

    let created: Vec<&str> = outcomes
        .iter()
        .filter(|o| o.answer.is_created())
        .map(|o| o.email.as_str())
        .collect();
    let missing = await_emails(&sink, &created, STRAGGLER_WAIT).await;

    let summary = Summary {
        args: &args,
        outcomes: &outcomes,
        flood_took,
        rss_before,
        rss,
        rss_after,
        health,
        created: created.len(),
        missing,
    };
    report::emit(&summary.lines(), &summary.json());
    ensure!(
        outcomes.iter().any(|o| o.answer != Answer::Unreachable),
        "the server at {} stopped answering",
        args.url
    );
    Ok(())
}

async fn send(
    client: &Client,
    endpoint: &str,
    kind: Kind,
    email: String,
    body: Vec<u8>,
) -> Outcome {
    let sent = Instant::now();
    let response = client
        .post(endpoint)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await;
    let retry_after = response
        .as_ref()
        .is_ok_and(|r| r.headers().contains_key("retry-after"));
    let answer = Answer::of(response).await;
    Outcome {
        kind,
        email,
        answer,
        retry_after,
        latency: sent.elapsed(),
    }
}

/// The server's resident memory in KiB, from `/proc/PID/status`.
fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("cannot read the memory of process {pid}"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .with_context(|| format!("no VmRSS line for process {pid}"))
}

struct Rss {
    samples: usize,
    peak_kib: u64,
}

/// Reads the server's memory every [`PROBE_INTERVAL`] until `stop`.
fn sample_rss(pid: u32, stop: &AtomicBool) -> anyhow::Result<Rss> {
    let mut rss = Rss {
        samples: 0,
        peak_kib: 0,
    };
    while !stop.load(Ordering::Relaxed) {
        rss.peak_kib = rss.peak_kib.max(rss_kib(pid)?);
        rss.samples += 1;
        std::thread::sleep(PROBE_INTERVAL);
    }
    Ok(rss)
}

struct Health {
    latencies: Latencies,
    /// Probes that got no answer or not a 200.
    errors: BTreeMap<String, usize>,
}

/// The health probe's process (`bench probe`, this executable run again), from its first
/// answer until [`Probe::stop`].
struct Probe {
    child: Child,
    /// Closing it tells the probe to stop.
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Probe {
    /// Starts the probe and waits until its first probe has answered.
    async fn start(url: &str) -> anyhow::Result<Self> {
        let executable = std::env::current_exe().context("cannot find the bench executable")?;
        let mut child = tokio::process::Command::new(executable)
            .args(["probe", "--url", url])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("cannot start the health probe")?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            bail!("the health probe has no pipes");
        };
        let mut probe = Self {
            child,
            stdin,
            stdout: BufReader::new(stdout),
        };
        let line = tokio::time::timeout(http::REQUEST_TIMEOUT, probe.line())
            .await
            .context("the health probe did not start")??;
        ensure!(
            line == "ready",
            "the health probe said {line:?} instead of ready"
        );
        Ok(probe)
    }

    /// Its next line, without the line end; fails at end of output.
    async fn line(&mut self) -> anyhow::Result<String> {
        let mut line = String::new();
        let read = self.stdout.read_line(&mut line).await?;
        ensure!(read > 0, "the health probe exited early");
        Ok(line.trim_end().to_string())
    }

    /// Stops the probe and reads its report.
    async fn stop(self) -> anyhow::Result<Health> {
        let Self {
            mut child,
            stdin,
            mut stdout,
        } = self;
        drop(stdin);
        let (read, status) = tokio::time::timeout(http::REQUEST_TIMEOUT, async {
            let mut line = String::new();
            let read = stdout.read_line(&mut line).await.map(|_| line);
            (read, child.wait().await)
        })
        .await
        .context("the health probe did not stop")?;
        ensure!(status?.success(), "the health probe failed");
        let report: probe::Report = serde_json::from_str(read?.trim_end())
            .context("the health probe's report does not parse")?;
        Ok(Health {
            latencies: Latencies::from_samples(report.latencies()),
            errors: report.errors,
        })
    }
}

/// Waits up to `within` for an email to each of `recipients`; returns how many got none.
async fn await_emails(sink: &SmtpSink, recipients: &[&str], within: Duration) -> usize {
    let deadline = Instant::now() + within;
    loop {
        let arrived = sink.first_acceptances();
        let missing = recipients
            .iter()
            .filter(|r| !arrived.contains_key(**r))
            .count();
        if missing == 0 || Instant::now() >= deadline {
            return missing;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

struct Summary<'a> {
    args: &'a FloodArgs,
    outcomes: &'a [Outcome],
    flood_took: Duration,
    rss_before: u64,
    rss: Rss,
    rss_after: u64,
    health: Health,
    created: usize,
    missing: usize,
}

impl Summary<'_> {
    /// Answers by kind and status (or kind of failure).
    fn statuses(&self) -> BTreeMap<&'static str, BTreeMap<String, usize>> {
        let mut table: BTreeMap<&'static str, BTreeMap<String, usize>> = BTreeMap::new();
        for outcome in self.outcomes {
            *table
                .entry(outcome.kind.label())
                .or_default()
                .entry(outcome.answer.label())
                .or_insert(0) += 1;
        }
        table
    }

    /// Refusals (413, 429, 503) that came without `Retry-After`, by status.
    fn without_retry_after(&self) -> BTreeMap<String, usize> {
        let mut table = BTreeMap::new();
        for outcome in self.outcomes {
            if matches!(outcome.answer, Answer::Status(413 | 429 | 503)) && !outcome.retry_after {
                *table.entry(outcome.answer.label()).or_insert(0) += 1;
            }
        }
        table
    }

    /// Answers that are neither a 201 nor a refusal: 5xx but 503, other statuses, failures.
    fn unexpected(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|o| !matches!(o.answer, Answer::Status(201 | 413 | 503)))
            .count()
    }

    fn latencies(&self, kind: Kind) -> Latencies {
        Latencies::from_samples(
            self.outcomes
                .iter()
                .filter(|o| o.kind == kind)
                .map(|o| o.latency)
                .collect(),
        )
    }

    fn lines(&self) -> Vec<String> {
        let mb = |kib: u64| kib as f64 / 1024.0;
        let health = &self.health.latencies;
        let big = self.latencies(Kind::Big);
        let valid = self.latencies(Kind::Valid);
        vec![
            format!(
                "{} registrations with {} KiB passwords and {} valid ones, sent at once, all \
                 answered in {:.2} s",
                self.args.big,
                self.args.password_bytes / 1024,
                self.args.valid,
                self.flood_took.as_secs_f64()
            ),
            format!("answers by kind and status: {:?}", self.statuses()),
            format!(
                "refusals without Retry-After: {:?}; unexpected answers: {}",
                self.without_retry_after(),
                self.unexpected()
            ),
            format!(
                "latency: big p50 {} p99 {} max {}; valid p50 {} p99 {} max {}",
                show(big.p50),
                show(big.p99),
                show(big.max),
                show(valid.p50),
                show(valid.p99),
                show(valid.max)
            ),
            format!(
                "server memory (VmRSS): {:.1} MB before, peak {:.1} MB ({} samples), {:.1} MB \
                 after",
                mb(self.rss_before),
                mb(self.rss.peak_kib),
                self.rss.samples,
                mb(self.rss_after)
            ),
            format!(
                "/healthz every {} ms: {} answers, p50 {} p99 {} max {}, errors {:?}",
                PROBE_INTERVAL.as_millis(),
                health.count,
                show(health.p50),
                show(health.p99),
                show(health.max),
                self.health.errors
            ),
            format!(
                "activation emails: {} of {} missing",
                self.missing, self.created
            ),
        ]
    }

    fn json(&self) -> Value {
        json!({
            "name": "flood",
            "big": self.args.big,
            "valid": self.args.valid,
            "password_bytes": self.args.password_bytes,
            "seconds": crate::stats::round_to(self.flood_took.as_secs_f64(), 2),
            "statuses": self.statuses(),
            "without_retry_after": self.without_retry_after(),
            "unexpected": self.unexpected(),
            "latency_ms": {
                "big": self.latencies(Kind::Big).to_json(),
                "valid": self.latencies(Kind::Valid).to_json(),
            },
            "rss_kib": {
                "before": self.rss_before,
                "peak": self.rss.peak_kib,
                "after": self.rss_after,
                "samples": self.rss.samples,
            },
            "healthz": {
                "latency_ms": self.health.latencies.to_json(),
                "errors": self.health.errors,
            },
            "email": {"expected": self.created, "missing": self.missing},
        })
    }
}
