//! Webhook latency: registrations at a fixed rate against a server whose `WEBHOOK_URLS` points
//! at a receiver in this process, and how long each `user.registered` event takes to arrive.
//!
//! Two clocks: from the event's `timestamp` (taken by the server just before it writes the event
//! and commits; same machine, same wall clock) to the receiver, an upper bound of commit →
//! receiver; and from the registration's response reaching the client (after the commit) to the
//! receiver, a lower bound (the event may even arrive first: counted as zero).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant, SystemTime},
};

use anyhow::Context as _;
use axum::{Router, body::Bytes, extract::State, http::StatusCode, routing::post};
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::{
    args::WebhookArgs,
    http,
    register::{self, Target},
    report,
    smtp_sink::SmtpSink,
    stats::{Latencies, round_to, show},
};

/// How long to wait, once the last response is in, for events still on their way.
const STRAGGLER_WAIT: Duration = Duration::from_secs(10);

/// A `user.registered` event as it arrived.
struct Arrival {
    at: Instant,
    /// Wall clock at arrival minus the event's `timestamp`.
    since_event: Option<Duration>,
}

type Arrivals = Arc<Mutex<HashMap<String, Arrival>>>;

pub async fn run(args: WebhookArgs) -> anyhow::Result<()> {
    let client = http::client(usize::MAX)?;
    http::check_ready(&client, &args.url).await?;
    // The activation emails still go out; the sink takes them.
    let _sink = SmtpSink::start(args.smtp_port).await?;
    let arrivals = receive(args.hook_port).await?;
    let target = Target::new(client, &args.url);
    let run = register::fixed_rate(&target, args.rate, args.duration).await?;

    let created: Vec<&register::Attempt> = run
        .attempts
        .iter()
        .filter(|a| a.answer.is_created())
        .collect();
    let deadline = Instant::now() + STRAGGLER_WAIT;
    loop {
        let all_in = {
            let arrived = arrivals.lock().expect("lock");
            created.iter().all(|a| arrived.contains_key(&a.email))
        };
        if all_in || Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let arrived = arrivals.lock().expect("lock");
    let mut from_response = Vec::new();
    let mut from_event = Vec::new();
    for attempt in &created {
        if let Some(arrival) = arrived.get(&attempt.email) {
            from_response.push(arrival.at.saturating_duration_since(attempt.answered_at));
            from_event.extend(arrival.since_event);
        }
    }
    let missing = created.len() - from_response.len();
    let from_response = Latencies::from_samples(from_response);
    let from_event = Latencies::from_samples(from_event);
    let errors = run.attempts.len() - created.len();
    let seconds = run.elapsed.as_secs_f64();
    let line = |label: &str, l: &Latencies| {
        format!(
            "  {label}: p50 {}, p95 {}, p99 {}, max {}",
            show(l.p50),
            show(l.p95),
            show(l.p99),
            show(l.max)
        )
    };
    report::emit(
        &[
            format!(
                "webhooks at {} registrations/s ({seconds:.1} s): {} created, {errors} errors; \
                 {missing} of {} events not arrived within {} s",
                args.rate,
                created.len(),
                created.len(),
                STRAGGLER_WAIT.as_secs()
            ),
            line("event timestamp → receiver", &from_event),
            line("response at the client → receiver", &from_response),
        ],
        &json!({
            "name": "webhooks",
            "rate": args.rate,
            "seconds": round_to(seconds, 2),
            "created": created.len(),
            "error_count": errors,
            "expected": created.len(),
            "missing": missing,
            "latency_ms": from_event.to_json(),
            "from_response_ms": from_response.to_json(),
        }),
    );
    Ok(())
}

/// Listens on `127.0.0.1:port` and records every `user.registered` by its email; answers 204.
async fn receive(port: u16) -> anyhow::Result<Arrivals> {
    let listener = TcpListener::bind(("127.0.0.1", port))
        .await
        .with_context(|| format!("cannot listen for webhooks on 127.0.0.1:{port}"))?;
    let arrivals: Arrivals = Arc::default();
    let router = Router::new()
        .route("/hooks", post(hook))
        .with_state(arrivals.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });
    Ok(arrivals)
}

async fn hook(State(arrivals): State<Arrivals>, body: Bytes) -> StatusCode {
    let at = Instant::now();
    let now = SystemTime::now();
    let Ok(event) = serde_json::from_slice::<Value>(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    if event["type"] != "user.registered" {
        return StatusCode::NO_CONTENT;
    }
    let Some(email) = event["data"]["email"].as_str() else {
        return StatusCode::BAD_REQUEST;
    };
    let since_event = event["timestamp"]
        .as_str()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .and_then(|t| now.duration_since(SystemTime::from(t)).ok());
    arrivals
        .lock()
        .expect("lock")
        .entry(email.to_string())
        .or_insert(Arrival { at, since_event });
    StatusCode::NO_CONTENT
}
