//! The flood's health probe, in a process of its own: `bench probe --url URL` (the flood starts
//! it by running its own executable again; it is not meant to be run by hand).
//!
//! Why a process: the flood writes 200 MiB of oversized bodies and reads 400 answers at once,
//! and a probe thread in that same process shared its allocator, its page faults and its share
//! of the two cores with that work, so its latencies were partly the client's own. In a process
//! of its own, scheduled like any other client, what it measures is the server's answer.
//!
//! The protocol: once its first probe has answered it prints `ready`; it probes until its
//! standard input closes (the flood drops the pipe), then prints one JSON line
//! `{"latency_us": [...], "errors": {...}}` and exits.

use std::{
    collections::BTreeMap,
    io::{Read as _, Write as _},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use serde::{Deserialize, Serialize};
use tokio::time::MissedTickBehavior;

use crate::http::{self, Answer};

/// How often the probe asks `/healthz`.
pub const PROBE_INTERVAL: Duration = Duration::from_millis(10);

/// What the probe reports on its last line.
#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Each `200`'s latency, from sending the request to the end of the answer, in µs.
    pub latency_us: Vec<u64>,
    /// Probes that got no answer or not a 200, by status or kind of failure.
    pub errors: BTreeMap<String, usize>,
}

impl Report {
    pub fn latencies(&self) -> Vec<Duration> {
        self.latency_us
            .iter()
            .copied()
            .map(Duration::from_micros)
            .collect()
    }
}

/// `bench probe --url URL`: `GET URL/healthz` every [`PROBE_INTERVAL`] (the next one only once
/// the previous answered) on one keep-alive connection until standard input closes.
pub fn run(url: &str) -> anyhow::Result<()> {
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            // Ends at end of file (or on an error): either way the flood is over or gone.
            let _ = std::io::stdin().lock().read_to_end(&mut Vec::new());
            stop.store(true, Ordering::Relaxed);
        });
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let url = format!("{url}/healthz");
    let report = runtime.block_on(poll(&url, &stop))?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", serde_json::to_string(&report)?)?;
    out.flush()?;
    Ok(())
}

async fn poll(url: &str, stop: &AtomicBool) -> anyhow::Result<Report> {
    let client = http::client(1)?;
    let mut tick = tokio::time::interval(PROBE_INTERVAL);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut report = Report::default();
    let mut announced = false;
    while !stop.load(Ordering::Relaxed) {
        tick.tick().await;
        let sent = Instant::now();
        let answer = Answer::of(client.get(url).send().await).await;
        if answer == Answer::Status(200) {
            report
                .latency_us
                .push(u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX));
        } else {
            *report.errors.entry(answer.label()).or_insert(0) += 1;
        }
        if !announced {
            // Whatever the first answer was: the flood waits for this line, and an error is
            // counted like any other.
            let mut out = std::io::stdout().lock();
            writeln!(out, "ready")?;
            out.flush()?;
            announced = true;
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_survives_its_json_line() -> anyhow::Result<()> {
        let report = Report {
            latency_us: vec![1_500, 12_000],
            errors: BTreeMap::from([("transport".to_string(), 2)]),
        };
        let line = serde_json::to_string(&report)?;
        assert!(!line.contains('\n'));
        let back: Report = serde_json::from_str(&line)?;
        assert_eq!(back, report);
        assert_eq!(
            back.latencies(),
            vec![Duration::from_micros(1_500), Duration::from_millis(12)]
        );
        Ok(())
    }
}
