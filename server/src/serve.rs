//! The accept loop: what `axum::serve` does, plus a time limit on reading request heads, which
//! it does not offer. A client that sends its headers a byte at a time (slowloris) cannot hold
//! a connection, and so a task and a socket, for longer than `HEADER_READ_TIMEOUT_SECS`.

use std::{future::Future, pin::pin, time::Duration};

use axum::{Router, body::Body, extract::ConnectInfo};
use futures_util::FutureExt as _;
use hyper::body::Incoming;
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::conn::auto::Builder,
    service::TowerToHyperService,
};
use tokio::{
    net::{TcpListener, TcpStream},
    sync::watch,
};
use tower::ServiceExt as _;

/// What an HTTP/2 client sends first (prior knowledge, as `axum::serve` accepts it too).
const H2_PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Serves `router` on `listener` until `shutdown` resolves; then stops accepting (new
/// connections are refused), lets every open connection finish the request it is answering,
/// and returns once they are all closed. Handlers see the client's address as
/// `ConnectInfo<SocketAddr>`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    header_read_timeout: Duration,
    shutdown: impl Future<Output = ()>,
) {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout);
    builder.http2().timer(TokioTimer::new());
    // Dropped at shutdown: every connection then closes once its request is answered.
    let (stop, stopping) = watch::channel(());
    // Each connection holds a receiver; `closed()` resolves when the last one is gone.
    let (open_tx, open) = watch::channel(());
    let mut shutdown = pin!(shutdown);
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_error(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let router = router.clone();
        let service = tower::service_fn(move |request: http::Request<Incoming>| {
            let mut request = request.map(Body::new);
            request.extensions_mut().insert(ConnectInfo(remote));
            router.clone().oneshot(request)
        });
        let builder = builder.clone();
        let mut stopping = stopping.clone();
        let open = open.clone();
        tokio::spawn(async move {
            // hyper's own limit starts once it knows the protocol; this covers the bytes it
            // reads to find out, and a client that connects and says nothing.
            if !protocol_known_within(&stream, header_read_timeout).await {
                tracing::debug!(client.address = %remote, "closed: no request head in time");
                return;
            }
            let hyper_service = TowerToHyperService::new(service);
            let mut connection =
                pin!(builder.serve_connection_with_upgrades(TokioIo::new(stream), hyper_service));
            let mut stop = pin!(stopping.changed().fuse());
            loop {
                tokio::select! {
                    served = connection.as_mut() => {
                        if let Err(e) = served {
                            tracing::debug!(client.address = %remote, error.cause = %e, "connection ended");
                        }
                        break;
                    }
                    _ = &mut stop => connection.as_mut().graceful_shutdown(),
                }
            }
            drop(open);
        });
    }
    drop(listener);
    drop(stop);
    drop(open);
    open_tx.closed().await;
}

/// Whether the first bytes tell HTTP/1 from HTTP/2 within `limit` (false: too slow, or closed).
async fn protocol_known_within(stream: &TcpStream, limit: Duration) -> bool {
    let decided = async {
        let mut first = [0u8; 24];
        loop {
            let n = stream.peek(&mut first).await?;
            if n == 0 {
                return Ok::<_, std::io::Error>(false);
            }
            if n == first.len() || first[..n] != H2_PREFACE[..n] {
                return Ok(true);
            }
            // Part of the HTTP/2 preface: wait for the rest (peek returns at once while
            // anything is buffered).
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    matches!(tokio::time::timeout(limit, decided).await, Ok(Ok(true)))
}

/// As `axum::serve`: a connection that failed before it was accepted is the client's business;
/// anything else (out of file descriptors) is logged and retried after a pause.
async fn accept_error(e: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    ) {
        return;
    }
    tracing::error!(error.cause = %e, "cannot accept connections; retrying in 1 s");
    tokio::time::sleep(Duration::from_secs(1)).await;
}
