//! What every run that talks to the server shares: the HTTP client, the readiness check and
//! how an answer (or the lack of one) is classified.

use std::{future::Future, time::Duration};

use anyhow::{Context as _, ensure};
use reqwest::Client;

/// A request slower than this counts as a `timeout` error instead of holding up the run.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// One client for the whole run, keeping up to `idle_per_host` connections open between
/// requests: one per concurrent task, so that no request pays for a new connection.
pub fn client(idle_per_host: usize) -> anyhow::Result<Client> {
    Client::builder()
        // The server is on this machine: a proxy from the environment would only get in the way.
        .no_proxy()
        .timeout(REQUEST_TIMEOUT)
        .pool_max_idle_per_host(idle_per_host)
        .tcp_nodelay(true)
        // The cluster run goes through nginx over TLS with a certificate made for the run: the
        // bench only ever measures servers on this machine, so there is nothing to verify.
        .danger_accept_invalid_certs(true)
        .build()
        .context("could not build the HTTP client")
}

/// Fails, and so makes the process exit non-zero, unless `GET /readyz` answers 2xx.
pub async fn check_ready(client: &Client, url: &str) -> anyhow::Result<()> {
    let response = client
        .get(format!("{url}/readyz"))
        .send()
        .await
        .with_context(|| format!("the server is not reachable at {url}"))?;
    ensure!(
        response.status().is_success(),
        "the server at {url} is not ready: GET /readyz answered {}",
        response.status()
    );
    Ok(())
}

/// How many rows a list has, when its count stops early: `shown` rows are known to exist, and
/// `has_row_at(offset)` asks for a page of one row at `offset`. Doubles the offset until a page
/// comes back empty, then halves the gap between the last full and the first empty page.
pub async fn list_length<F, Fut>(shown: usize, mut has_row_at: F) -> anyhow::Result<usize>
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = anyhow::Result<bool>>,
{
    // `full` has a row, `empty` has none.
    let mut full = shown.max(1) - 1;
    let mut empty = shown.max(1).saturating_mul(2);
    while has_row_at(empty).await? {
        full = empty;
        empty = empty.saturating_mul(2);
    }
    while empty - full > 1 {
        let middle = full + (empty - full) / 2;
        if has_row_at(middle).await? {
            full = middle;
        } else {
            empty = middle;
        }
    }
    Ok(full + 1)
}

/// What came back for one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    Status(u16),
    Timeout,
    /// The connection was refused or failed: the server is not (or no longer) there.
    Unreachable,
    /// Any other transport failure, such as a connection closed mid-response.
    Broken,
}

impl Answer {
    pub fn is_created(self) -> bool {
        self == Self::Status(201)
    }

    /// How the error table names it: the status code, or the kind of failure.
    pub fn label(self) -> String {
        match self {
            Self::Status(code) => code.to_string(),
            Self::Timeout => "timeout".into(),
            Self::Unreachable => "connect".into(),
            Self::Broken => "transport".into(),
        }
    }

    pub fn from_error(error: &reqwest::Error) -> Self {
        if error.is_timeout() {
            Self::Timeout
        } else if error.is_connect() {
            Self::Unreachable
        } else {
            Self::Broken
        }
    }

    /// Reads the whole body and throws it away: the latency is to the full answer, and a
    /// drained connection goes back to the pool for the next request.
    pub async fn of(sent: Result<reqwest::Response, reqwest::Error>) -> Self {
        Self::read(sent).await.0
    }

    /// Like [`Answer::of`], keeping the body (empty when there was no answer) for a run that
    /// looks into it.
    pub async fn read(sent: Result<reqwest::Response, reqwest::Error>) -> (Self, impl AsRef<[u8]>) {
        match sent {
            Ok(response) => {
                let status = response.status().as_u16();
                match response.bytes().await {
                    Ok(body) => (Self::Status(status), body),
                    Err(e) => (Self::from_error(&e), Default::default()),
                }
            }
            Err(e) => (Self::from_error(&e), Default::default()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_length_of_a_list() -> anyhow::Result<()> {
        let runtime = tokio::runtime::Builder::new_current_thread().build()?;
        for length in [1, 2, 3, 100, 101, 199, 200, 201, 51_200, 100_000, 100_100] {
            let found = runtime.block_on(list_length(length.min(100), |offset| async move {
                Ok(offset < length)
            }))?;
            assert_eq!(found, length);
        }
        Ok(())
    }

    #[test]
    fn labels_name_the_status_or_the_failure() {
        assert_eq!(Answer::Status(503).label(), "503");
        assert_eq!(Answer::Timeout.label(), "timeout");
        assert_eq!(Answer::Unreachable.label(), "connect");
        assert_eq!(Answer::Broken.label(), "transport");
        assert!(Answer::Status(201).is_created());
        assert!(!Answer::Status(200).is_created());
    }
}
