//! Registration under load, with the SMTP sink catching the activation emails.
//!
//! Two shapes of load: saturation (C clients, each sending its next request as soon as the
//! previous one answers) finds the most registrations per second; a fixed rate (open loop, one
//! request per tick whether or not earlier ones answered) measures latency as a user sees it,
//! counted from the scheduled time so that a stalled server cannot hide its queueing delay.

use std::{
    collections::{BTreeMap, HashMap},
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context as _, ensure};
use reqwest::Client;
use serde_json::{Value, json};
use tokio::{task::JoinSet, time::MissedTickBehavior};

use crate::{
    args::{Load, RegisterArgs},
    http::{self, Answer},
    identity::Identities,
    report,
    smtp_sink::SmtpSink,
    stats::{Latencies, round_to, show},
};

/// How long to wait, once the last response is in, for emails still in the server's queue.
const STRAGGLER_WAIT: Duration = Duration::from_secs(5);

pub async fn run(args: RegisterArgs) -> anyhow::Result<()> {
    // The fixed rate can have many requests in flight at once; keep their connections too.
    let client = http::client(usize::MAX)?;
    http::check_ready(&client, &args.url).await?;
    let sink = SmtpSink::start(args.smtp_port).await?;
    let target = Target::new(client, &args.url);

    let run = match args.load {
        Load::Connections(connections) => saturate(&target, connections, args.duration).await?,
        Load::Rate(rate) => fixed_rate(&target, rate, args.duration).await?,
    };
    let emails = await_emails(&sink, &run, STRAGGLER_WAIT).await;

    let tally = Tally::of(&run);
    report::emit(
        &tally.lines(args.load, &emails),
        &tally.json(args.load, &emails),
    );
    // Not one request could connect (or none was made): the server went away mid-run.
    let unreachable = run.attempts.iter().all(|a| a.answer == Answer::Unreachable);
    ensure!(!unreachable, "the server at {} stopped answering", args.url);
    Ok(())
}

/// What every request needs; cheap to clone into each task.
#[derive(Clone)]
pub(crate) struct Target {
    client: Client,
    endpoint: Arc<str>,
    identities: Arc<Identities>,
}

/// One registration attempt.
pub(crate) struct Attempt {
    pub email: String,
    /// When the request went out: where the registration→email latency starts.
    sent_at: Instant,
    /// When the whole response was in: after the registration committed.
    pub answered_at: Instant,
    /// From the scheduled time (fixed rate) or the send (saturation) to the whole response.
    latency: Duration,
    pub answer: Answer,
}

impl Target {
    /// Registrations at `{url}/api/register`, as people with fresh identities.
    pub fn new(client: Client, url: &str) -> Self {
        Self {
            client,
            endpoint: format!("{url}/api/register").into(),
            identities: Arc::new(Identities::random()),
        }
    }

    /// Registers one new person. `scheduled`: when the request should have gone out (open
    /// loop), the start of its latency; `None` counts from the actual send.
    async fn register(&self, scheduled: Option<Instant>) -> Attempt {
        let identity = self.identities.fresh();
        let sent_at = Instant::now();
        let answer = Answer::of(
            self.client
                .post(&*self.endpoint)
                .json(&identity.request())
                .send()
                .await,
        )
        .await;
        Attempt {
            email: identity.email,
            sent_at,
            answered_at: Instant::now(),
            latency: scheduled.unwrap_or(sent_at).elapsed(),
            answer,
        }
    }
}

/// Every attempt of a run, and how long the run took until its last response.
pub(crate) struct Run {
    pub attempts: Vec<Attempt>,
    pub elapsed: Duration,
}

/// `connections` clients registering back to back until `duration` is up; requests still in
/// flight then are waited for and counted, and so is the time they take.
async fn saturate(target: &Target, connections: usize, duration: Duration) -> anyhow::Result<Run> {
    let started = Instant::now();
    let deadline = started + duration;
    let mut clients = JoinSet::new();
    for _ in 0..connections {
        let target = target.clone();
        clients.spawn(async move {
            let mut attempts = Vec::new();
            while Instant::now() < deadline {
                attempts.push(target.register(None).await);
            }
            attempts
        });
    }
    let mut attempts = Vec::new();
    while let Some(done) = clients.join_next().await {
        attempts.extend(done.context("a client task failed")?);
    }
    Ok(Run {
        attempts,
        elapsed: started.elapsed(),
    })
}

/// `rate` requests per second for `duration`, each on its own task at its tick.
pub(crate) async fn fixed_rate(
    target: &Target,
    rate: f64,
    duration: Duration,
) -> anyhow::Result<Run> {
    let period = Duration::try_from_secs_f64(1.0 / rate).context("--rate is out of range")?;
    ensure!(!period.is_zero(), "--rate is too high to schedule");
    let total = (rate * duration.as_secs_f64()).round().max(1.0) as usize;
    let mut ticks = tokio::time::interval(period);
    // A late tick fires at once and keeps every later one on the original schedule, so a slow
    // moment does not quietly lower the offered load.
    ticks.set_missed_tick_behavior(MissedTickBehavior::Burst);

    let started = Instant::now();
    let mut requests = JoinSet::new();
    for _ in 0..total {
        let scheduled = ticks.tick().await.into_std();
        let target = target.clone();
        requests.spawn(async move { target.register(Some(scheduled)).await });
    }
    let mut attempts = Vec::with_capacity(total);
    while let Some(done) = requests.join_next().await {
        attempts.push(done.context("a request task failed")?);
    }
    Ok(Run {
        attempts,
        elapsed: started.elapsed(),
    })
}

/// Activation emails of the accounts created, matched to their requests by recipient.
struct Emails {
    expected: usize,
    missing: usize,
    /// From the request's send to the sink accepting the message.
    latencies: Latencies,
}

/// Waits up to `wait` for the email of every 201, polling the sink, then pairs them up.
async fn await_emails(sink: &SmtpSink, run: &Run, wait: Duration) -> Emails {
    let expected: Vec<&Attempt> = run
        .attempts
        .iter()
        .filter(|a| a.answer.is_created())
        .collect();
    let deadline = Instant::now() + wait;
    loop {
        let accepted = sink.first_acceptances();
        let all_in = expected.iter().all(|a| accepted.contains_key(&a.email));
        if all_in || Instant::now() >= deadline {
            return pair_emails(&expected, &accepted);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn pair_emails(expected: &[&Attempt], accepted: &HashMap<String, Instant>) -> Emails {
    let samples: Vec<Duration> = expected
        .iter()
        .filter_map(|a| {
            accepted
                .get(&a.email)
                .map(|at| at.saturating_duration_since(a.sent_at))
        })
        .collect();
    Emails {
        expected: expected.len(),
        missing: expected.len() - samples.len(),
        latencies: Latencies::from_samples(samples),
    }
}

/// The run in numbers: successes (201) with their latencies, everything else by kind.
struct Tally {
    requests: usize,
    seconds: f64,
    created: Latencies,
    errors: BTreeMap<String, usize>,
}

impl Tally {
    fn of(run: &Run) -> Self {
        let mut created = Vec::new();
        let mut errors = BTreeMap::new();
        for attempt in &run.attempts {
            if attempt.answer.is_created() {
                created.push(attempt.latency);
            } else {
                *errors.entry(attempt.answer.label()).or_insert(0) += 1;
            }
        }
        Self {
            requests: run.attempts.len(),
            seconds: run.elapsed.as_secs_f64(),
            created: Latencies::from_samples(created),
            errors,
        }
    }

    fn error_count(&self) -> usize {
        self.errors.values().sum()
    }

    fn per_second(&self) -> f64 {
        self.created.count as f64 / self.seconds
    }

    fn lines(&self, load: Load, emails: &Emails) -> Vec<String> {
        let seconds = self.seconds;
        let (heading, latency_from) = match load {
            Load::Connections(c) => (
                format!("register at saturation ({c} connections, {seconds:.1} s)"),
                "from the send",
            ),
            Load::Rate(r) => (
                format!("register at {r}/s ({seconds:.1} s)"),
                "from the scheduled time",
            ),
        };
        let latency = &self.created;
        let mut lines = vec![
            format!(
                "{heading}: {:.1} registrations/s, {} created of {} requests, {} errors",
                self.per_second(),
                latency.count,
                self.requests,
                self.error_count()
            ),
            format!(
                "  latency of 201s ({latency_from}): p50 {}, p95 {}, p99 {}, max {}",
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
        lines.push(format!(
            "  activation email, request sent → SMTP accepted: p50 {}, p95 {}, max {}; \
             {} of {} not arrived within {} s",
            show(emails.latencies.p50),
            show(emails.latencies.p95),
            show(emails.latencies.max),
            emails.missing,
            emails.expected,
            STRAGGLER_WAIT.as_secs()
        ));
        lines
    }

    fn json(&self, load: Load, emails: &Emails) -> Value {
        let (name, connections, rate) = match load {
            Load::Connections(c) => ("register-saturation", Some(c), None),
            Load::Rate(r) => ("register-rate", None, Some(r)),
        };
        json!({
            "name": name,
            "connections": connections,
            "rate": rate,
            "seconds": round_to(self.seconds, 2),
            "requests": self.requests,
            "created": self.created.count,
            "registrations_per_sec": round_to(self.per_second(), 2),
            "error_count": self.error_count(),
            "errors": self.errors,
            "latency_ms": self.created.to_json(),
            "email": {
                "expected": emails.expected,
                "arrived": emails.expected - emails.missing,
                "missing": emails.missing,
                "wait_seconds": STRAGGLER_WAIT.as_secs(),
                "latency_ms": emails.latencies.to_json(),
            },
        })
    }
}
