//! Builds the application from settings: database, migrations, router, listeners (the public
//! one, and the metrics one unless `METRICS_ADDR` is `off`).
//! Tests use the same path with their own settings and port 0.

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context as _;
use app::{
    App,
    infra::{
        assets::{Assets, OUTPUT_NAME},
        hashing::PasswordHasher,
    },
    services::catalog::SearchCache,
    shell,
    state::{AppState, AppStateParts},
};
use axum::{
    Router,
    extract::Request,
    http::{HeaderName, HeaderValue, header},
    middleware,
    routing::{any, get},
};
use leptos::config::{Env, LeptosOptions};
use leptos_axum::{AxumRouteListing, LeptosRoutes, file_and_error_handler, generate_route_list};
use sqlx::{Connection, PgConnection, PgPool, postgres::PgPoolOptions};
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::{
    compression::CompressionLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    set_header::SetResponseHeaderLayer,
    trace::{DefaultOnResponse, TraceLayer},
};
use tracing::Level;

use crate::{
    email_worker::{EmailWorker, Mailer},
    health, language, mailbox, maintenance, metrics, middleware as mw,
    reset_worker::ResetWorker,
    serve,
    settings::{AppEnv, Settings, WebhookSettings},
    webhook_worker::WebhookWorker,
};

pub struct Application {
    listener: TcpListener,
    base_url: url::Url,
    router: Router,
    pool: PgPool,
    email_worker: EmailWorker,
    /// `None` when `WEBHOOK_URLS` is empty.
    webhook_worker: Option<WebhookWorker>,
    reset_worker: ResetWorker,
    webhooks: WebhookSettings,
    shutdown_grace: Duration,
    header_read_timeout: Duration,
    /// `None` when `METRICS_ADDR` is `off`.
    metrics: Option<MetricsListener>,
}

/// `GET /metrics` on its own listener.
struct MetricsListener {
    listener: TcpListener,
    router: Router,
    recorder: metrics_exporter_prometheus::PrometheusHandle,
}

/// How serving ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stopped {
    /// Every request in flight at the signal was answered.
    Drained,
    /// `SHUTDOWN_GRACE_SECS` ran out first: the connections still open were dropped.
    GraceOver,
}

impl Application {
    /// Connects to Postgres (retrying for a bounded time), applies migrations and binds.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let pool = connect_and_migrate(&settings).await?;
        Self::build_with_pool(settings, pool).await
    }

    /// Binds with a pool the caller made: no connection attempt, no migrations.
    pub async fn build_with_pool(mut settings: Settings, pool: PgPool) -> anyhow::Result<Self> {
        let site_addr = settings.http.site_addr;
        let listener = TcpListener::bind(site_addr)
            .await
            .with_context(|| format!("could not listen on {site_addr}"))?;
        // `APP_BASE_URL` with port 0 (or none set, on a site address with port 0): the port
        // the listener got, so links and the passkeys' origin name it.
        if settings.http.app_base_url.port() == Some(0) {
            let port = listener.local_addr()?.port();
            let _ = settings.http.app_base_url.set_port(Some(port));
        }
        if let Err(why) = app::infra::passkeys::RelyingParty::new(&settings.http) {
            tracing::info!("passkeys are off: {why}");
        }
        let leptos_options = LeptosOptions::builder()
            .output_name(OUTPUT_NAME)
            .hash_files(Assets::get().hashed)
            .site_root(settings.http.site_root.to_string_lossy().into_owned())
            .site_pkg_dir("pkg")
            .site_addr(listener.local_addr()?)
            .reload_port(settings.http.reload_port)
            .env(match settings.env {
                AppEnv::Development => Env::DEV,
                AppEnv::Production => Env::PROD,
            })
            .build();
        let mailer = Mailer::from_settings(&settings)?;
        let dev_mailbox =
            matches!(mailer, Mailer::DevMailbox) && settings.env == AppEnv::Development;
        let email_worker = EmailWorker::new(
            pool.clone(),
            mailer,
            settings.mail.from.clone(),
            settings.mail.retry_base,
            settings.mail.timeout,
        );
        if dev_mailbox {
            tracing::info!(
                "no SMTP_URL: mail is not sent; read it at {}dev/mailbox",
                settings.http.app_base_url
            );
        }
        let webhook_worker = WebhookWorker::from_settings(pool.clone(), &settings)?;
        let webhooks = settings.webhooks.clone();
        let shutdown_grace = settings.http.shutdown_grace;
        let header_read_timeout = settings.http.header_read_timeout;
        warn_if_codes_are_weak(&settings);
        PasswordHasher::warm_up();
        let hasher = PasswordHasher::new(
            settings.passwords.hash_slots,
            settings.passwords.hash_max_wait,
        );
        let metrics = match settings.http.metrics_addr {
            None => None,
            Some(addr) => {
                let listener = TcpListener::bind(addr).await.with_context(|| {
                    format!("could not listen on {addr} (METRICS_ADDR; another address, or `off`)")
                })?;
                let recorder = metrics::recorder()?;
                let router = metrics::router(metrics::Scrape {
                    recorder: recorder.clone(),
                    pool: pool.clone(),
                    max_connections: settings.database.max_connections,
                    hasher: hasher.clone(),
                });
                Some(MetricsListener {
                    listener,
                    router,
                    recorder,
                })
            }
        };
        let state = AppState::new(AppStateParts {
            leptos_options: Arc::new(leptos_options),
            pool: pool.clone(),
            catalog_cache: Arc::new(SearchCache::new(settings.catalog.cache_ttl)),
            settings: Arc::new(settings),
            hasher,
        });
        let reset_worker = ResetWorker::new(state.clone());
        Ok(Self {
            listener,
            base_url: state.settings.http.app_base_url.clone(),
            router: router(state, dev_mailbox),
            reset_worker,
            pool,
            email_worker,
            webhook_worker,
            webhooks,
            shutdown_grace,
            header_read_timeout,
            metrics,
        })
    }

    /// The app's public address (`APP_BASE_URL`, its port filled in).
    pub fn base_url(&self) -> &str {
        self.base_url.as_str()
    }

    /// The mail worker this application runs; tests step it by hand.
    pub fn email_worker(&self) -> EmailWorker {
        self.email_worker.clone()
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Where `GET /metrics` answers; `None` when `METRICS_ADDR` is `off`.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(|m| {
            m.listener
                .local_addr()
                .expect("a bound listener has an address")
        })
    }

    /// Serves until `shutdown` resolves, then stops accepting connections and lets the requests
    /// in flight finish, for at most `SHUTDOWN_GRACE_SECS`.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<Stopped> {
        let worker = tokio::spawn(self.email_worker.run());
        let webhooks = self.webhook_worker.map(|w| tokio::spawn(w.run()));
        let resets = tokio::spawn(self.reset_worker.run());
        let housekeeping = tokio::spawn(maintenance::run(self.pool, self.webhooks));
        // Scrapes keep being answered while the requests in flight drain.
        let metrics = self.metrics.map(|m| {
            let upkeep = tokio::spawn(metrics::upkeep(m.recorder));
            let serving = tokio::spawn(serve::serve(
                m.listener,
                m.router,
                self.header_read_timeout,
                std::future::pending(),
            ));
            (upkeep, serving)
        });
        let (signalled, on_signal) = tokio::sync::oneshot::channel::<()>();
        let serving = serve::serve(
            self.listener,
            self.router,
            self.header_read_timeout,
            async move {
                shutdown.await;
                let _ = signalled.send(());
            },
        );
        let grace = self.shutdown_grace;
        let grace_over = async move {
            match on_signal.await {
                Ok(()) => tokio::time::sleep(grace).await,
                // The server stopped on its own: nothing to time.
                Err(_) => std::future::pending().await,
            }
        };
        let served = tokio::select! {
            () = serving => Ok(Stopped::Drained),
            () = grace_over => {
                tracing::warn!(
                    shutdown.grace_secs = grace.as_secs(),
                    "shutdown grace over: dropping the requests still in flight"
                );
                Ok(Stopped::GraceOver)
            }
        };
        // Stopping mid-send rolls the step back: the message stays pending for the next run.
        // A webhook interrupted mid-send keeps its lease and goes out again after it.
        worker.abort();
        if let Some(webhooks) = webhooks {
            webhooks.abort();
        }
        // A request interrupted mid-way rolls back and stays queued.
        resets.abort();
        housekeeping.abort();
        if let Some((upkeep, serving)) = metrics {
            upkeep.abort();
            serving.abort();
        }
        served
    }
}

/// The whole HTTP surface: probes, server functions, pages, static files, and the middleware
/// every request passes through.
pub fn router(state: AppState, dev_mailbox: bool) -> Router {
    let request_timeout = state.settings.http.request_timeout;
    let routes = route_list().to_vec();
    let pkg_dir = state.settings.http.site_root.join("pkg");
    let mut pages_and_api = Router::new();
    if dev_mailbox {
        pages_and_api = pages_and_api.route("/dev/mailbox", get(mailbox::page));
    }
    let pages_and_api = pages_and_api
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/readyz/process", get(health::readyz_process))
        .route("/language", get(language::switch))
        .route("/texts/{file}", get(language::texts))
        .merge(api_docs(&state))
        .route("/api/{*path}", any(mw::api_not_found))
        .nest_service("/pkg", pkg_files(pkg_dir, Assets::get().hashed))
        .leptos_routes(&state, routes, {
            let options = LeptosOptions::clone(&state.leptos_options);
            move || shell(options.clone())
        })
        .fallback(file_and_error_handler::<AppState, _>(shell))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            language::choose,
        ))
        .with_state(state);
    with_middleware(pages_and_api, request_timeout)
}

/// The pages the app serves, listed once per process. Listing them renders the app with every
/// resource held back by a process-wide switch (`leptos_server::SuppressResourceLoad`): a
/// resource of a page rendered by another router in the same process, first polled while the
/// switch is on, would never load, and its page would hang until the time limit (leptos#4773).
/// The list depends on the code only, so the second router of a process (the tests build many
/// at once) reuses the first one's.
pub fn route_list() -> &'static [AxumRouteListing] {
    static ROUTES: std::sync::OnceLock<Vec<AxumRouteListing>> = std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App))
}

/// The built WASM, JS and CSS under `/pkg`. With hashed names (see `app::infra::assets`) a file
/// never changes under its name, so browsers keep it for a year without asking again; plain names
/// (a build without hashes) are revalidated on every use. Only a file that was found gets the
/// long lifetime: a 404 for a chunk of a newer build, asked of a server still running the older
/// one during a deploy, must not stick. The release build writes each file's brotli and gzip
/// versions beside it (`cargo leptos build --release --precompress`); a client that accepts them
/// gets those bytes as they are, compressed once at quality 11 instead of on every request.
fn pkg_files(dir: std::path::PathBuf, hashed: bool) -> Router {
    let lifetime = HeaderValue::from_static(if hashed {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    });
    Router::new()
        .fallback_service(
            tower_http::services::ServeDir::new(dir)
                .precompressed_br()
                .precompressed_gzip(),
        )
        .layer(middleware::map_response(
            move |mut response: axum::response::Response| {
                let lifetime = lifetime.clone();
                async move {
                    if response.status().is_success()
                        || response.status() == http::StatusCode::NOT_MODIFIED
                    {
                        response
                            .headers_mut()
                            .insert(header::CACHE_CONTROL, lifetime);
                    }
                    response
                }
            },
        ))
}

/// Where the OpenAPI document is served; Swagger UI at `/docs` reads it.
pub const OPENAPI_PATH: &str = "/api/openapi.json";

/// Every `/api` route the router serves, with its method: the server functions and the
/// document. A test holds the document to exactly this list.
pub fn api_routes() -> Vec<(String, http::Method)> {
    leptos::server_fn::axum::server_fn_paths()
        .map(|(path, method)| (path.to_string(), method))
        .chain([(OPENAPI_PATH.to_string(), http::Method::GET)])
        .collect()
}

/// `GET /api/openapi.json` and the interactive docs at `/docs`: Swagger UI's files are compiled
/// into the binary (nothing comes from another host), and "Try it out" calls this server.
fn api_docs<S: Clone + Send + Sync + 'static>(state: &AppState) -> Router<S> {
    let document = app::api::openapi::document(state.settings.sessions.cookie_name);
    let config = utoipa_swagger_ui::Config::new([OPENAPI_PATH])
        .try_it_out_enabled(true)
        .display_request_duration(true)
        .persist_authorization(false)
        .with_credentials(true)
        .validator_url("none");
    utoipa_swagger_ui::SwaggerUi::new("/docs")
        .url(OPENAPI_PATH, document)
        .config(config)
        .into()
}

/// The middleware stack, outermost first. Public so tests can wrap their own routes in it.
/// A request not answered within `request_timeout` gets 503. Requests are counted outermost,
/// with the status the client gets.
pub fn with_middleware(router: Router, request_timeout: Duration) -> Router {
    let x_request_id = HeaderName::from_static("x-request-id");
    router.layer(middleware::from_fn(mw::api_errors)).layer(
        ServiceBuilder::new()
            .layer(middleware::from_fn(metrics::track_requests))
            .layer(SetRequestIdLayer::new(
                x_request_id.clone(),
                MakeRequestUuid,
            ))
            .layer(
                TraceLayer::new_for_http()
                    .make_span_with(|request: &Request| {
                        let request_id = request
                            .headers()
                            .get("x-request-id")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default();
                        tracing::info_span!(
                            "http.request",
                            http.method = %request.method(),
                            http.path = %request.uri().path(),
                            request.id = %request_id,
                        )
                    })
                    .on_response(DefaultOnResponse::new().level(Level::INFO)),
            )
            .layer(PropagateRequestIdLayer::new(x_request_id))
            .layer(middleware::from_fn(mw::catch_panics))
            .layer(middleware::from_fn_with_state(
                request_timeout,
                mw::time_limit,
            ))
            .layer(SetResponseHeaderLayer::if_not_present(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ))
            .layer(SetResponseHeaderLayer::if_not_present(
                header::X_FRAME_OPTIONS,
                HeaderValue::from_static("DENY"),
            ))
            .layer(SetResponseHeaderLayer::if_not_present(
                header::REFERRER_POLICY,
                HeaderValue::from_static("strict-origin-when-cross-origin"),
            ))
            // Pages and API answers are checked with the server every time; `/pkg` sets its own.
            .layer(SetResponseHeaderLayer::if_not_present(
                header::CACHE_CONTROL,
                HeaderValue::from_static("no-cache"),
            ))
            .layer(CompressionLayer::new())
            .layer(middleware::from_fn(mw::limit_body)),
    )
}

/// OWASP ASVS 5.0 asks out-of-band codes for at least 20 bits of entropy and at most
/// 10 minutes of life. The product's 4-digit activation code is weaker; say so, and say what
/// makes up for it (that applies to activation only: a password reset code stands on its own
/// length and cap, whose bound is stated too).
fn warn_if_codes_are_weak(settings: &Settings) {
    let codes = &settings.codes;
    let bits = codes.bits();
    if bits < 20.0 || codes.ttl > Duration::from_secs(600) {
        tracing::warn!(
            code.bits = format!("{bits:.1}"),
            code.ttl_secs = codes.ttl.as_secs(),
            "activation codes are weaker than OWASP ASVS's 20 bits / 10 minutes; compensated by \
             HTTP Basic Auth on every attempt (the password is verified first), {} tries per code, \
             {} per account before it locks, and resends limited to one per {} s and {} per hour",
            codes.max_attempts,
            codes.account_max_failures,
            codes.resend_cooldown().as_secs(),
            codes.resends_per_hour,
        );
    }
    let month = Duration::from_secs(30 * 24 * 3600);
    let bound = app::services::password_reset::takeover_bound(codes, &settings.limits, month);
    if bound >= 1e-6 {
        tracing::warn!(
            reset.code_length = codes.reset_length,
            reset.failures_per_day = settings.limits.reset_failures_per_day,
            reset.takeover_bound_30_days = format!("{bound:.1e}"),
            "password reset codes can be guessed with a chance of one in a million or more in \
             30 days: lengthen RESET_CODE_LENGTH or lower RESET_FAILURES_PER_DAY"
        );
    }
}

/// Opens the pool once Postgres answers, retrying while it is still starting, for at most
/// `DATABASE_CONNECT_TIMEOUT_SECS`.
/// Connects (retrying for a bounded time) and applies the migrations: what the server and its
/// command-line subcommands do first.
pub async fn connect_and_migrate(settings: &Settings) -> anyhow::Result<PgPool> {
    let pool = connect_with_retry(settings).await?;
    crate::connections::check(&pool, settings.database.max_connections).await?;
    sqlx::migrate!("../migrations")
        .run(&pool)
        .await
        .context("could not apply database migrations")?;
    Ok(pool)
}

/// The state the services need, without a listener or workers: for the command line.
pub async fn state_without_server(settings: Settings) -> anyhow::Result<AppState> {
    let pool = connect_and_migrate(&settings).await?;
    let hasher = PasswordHasher::new(
        settings.passwords.hash_slots,
        settings.passwords.hash_max_wait,
    );
    Ok(AppState::new(AppStateParts {
        leptos_options: Arc::new(LeptosOptions::builder().output_name(OUTPUT_NAME).build()),
        pool,
        catalog_cache: Arc::new(SearchCache::new(settings.catalog.cache_ttl)),
        settings: Arc::new(settings),
        hasher,
    }))
}

/// How long a pooled connection may sit idle before it is pinged on its way out of the pool.
const PING_WHEN_IDLE_FOR: Duration = Duration::from_secs(10);

pub async fn connect_with_retry(settings: &Settings) -> anyhow::Result<PgPool> {
    let target = settings.database.target();
    let started = tokio::time::Instant::now();
    let deadline = started + settings.database.connect_timeout;
    let mut delay = Duration::from_millis(250);
    let mut attempt = 1u32;
    loop {
        // One plain connection per attempt: the pool's own connect would retry silently until
        // its acquire timeout, hiding what is going on.
        let budget = deadline
            .saturating_duration_since(tokio::time::Instant::now())
            .min(Duration::from_secs(5));
        let error = match tokio::time::timeout(
            budget,
            PgConnection::connect_with(&settings.database.options),
        )
        .await
        {
            Ok(Ok(connection)) => {
                let _ = connection.close().await;
                tracing::info!(db.target = %target, attempt, "connected to Postgres");
                return Ok(PgPoolOptions::new()
                    .max_connections(settings.database.max_connections)
                    .acquire_timeout(settings.database.acquire_timeout)
                    // A connection is pinged before use only when it has been idle for a
                    // while (one that died then, with Postgres restarted or a proxy's idle
                    // timeout, is replaced before a request sees it). Under load connections
                    // are never idle that long, and a ping per request was a round trip of its
                    // own: a third of the profile read's.
                    .test_before_acquire(false)
                    .before_acquire(|connection, meta| {
                        Box::pin(async move {
                            if meta.idle_for >= PING_WHEN_IDLE_FOR {
                                connection.ping().await?;
                            }
                            Ok(true)
                        })
                    })
                    .connect_lazy_with(settings.database.options.clone()));
            }
            Ok(Err(e)) => e.to_string(),
            Err(_) => format!("no answer within {} ms", budget.as_millis()),
        };
        if tokio::time::Instant::now() + delay >= deadline {
            anyhow::bail!(
                "could not connect to Postgres at {target} within {} s ({attempt} attempts): {error}",
                settings.database.connect_timeout.as_secs()
            );
        }
        tracing::warn!(
            db.target = %target,
            attempt,
            error.cause = %error,
            "Postgres is not answering yet; retrying in {} ms",
            delay.as_millis()
        );
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(2));
        attempt += 1;
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error.cause = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::error!(error.cause = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down: finishing in-flight requests");
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use tower::ServiceExt as _;

    use super::*;

    /// Listing the routes renders the app with resources switched off process-wide, so it happens
    /// once: a second router (the tests build one per app, many at once) must not list them
    /// again while another router's page is loading its resources.
    #[tokio::test]
    async fn the_routes_are_listed_once_per_process() {
        let first = route_list();
        assert!(first.iter().any(|route| route.path() == "/register"));
        assert!(std::ptr::eq(first, route_list()));
    }

    /// A `pkg` directory with one file, its brotli copy, and nothing else.
    fn pkg_dir() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("pkg-files-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("create the directory");
        std::fs::write(dir.join("accounts.Ab12Cd34.js"), "export default 1;\n").expect("write");
        std::fs::write(dir.join("accounts.Ab12Cd34.js.br"), b"brotli bytes").expect("write");
        dir
    }

    async fn get(router: Router, path: &str, encodings: &str) -> axum::response::Response {
        let request = Request::builder()
            .uri(path)
            .header(header::ACCEPT_ENCODING, encodings)
            .body(Body::empty())
            .expect("request");
        router.oneshot(request).await.expect("infallible")
    }

    #[tokio::test]
    async fn hashed_files_are_kept_for_a_year_and_sent_precompressed() {
        let dir = pkg_dir();
        let router = Router::new().nest_service("/pkg", pkg_files(dir.clone(), true));
        let response = get(router.clone(), "/pkg/accounts.Ab12Cd34.js", "gzip, br").await;
        assert_eq!(response.status(), http::StatusCode::OK);
        assert_eq!(
            response.headers()[header::CACHE_CONTROL],
            "public, max-age=31536000, immutable"
        );
        assert_eq!(response.headers()[header::CONTENT_ENCODING], "br");
        assert_eq!(response.headers()[header::CONTENT_LENGTH], "12");

        // A client that takes no brotli gets the file itself.
        let plain = get(router.clone(), "/pkg/accounts.Ab12Cd34.js", "identity").await;
        assert_eq!(plain.status(), http::StatusCode::OK);
        assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());

        // A file this server does not have (a newer build's chunk) must not be cached.
        let missing = get(router, "/pkg/chunk_1.Zz99Yy88.wasm", "br").await;
        assert_eq!(missing.status(), http::StatusCode::NOT_FOUND);
        assert!(missing.headers().get(header::CACHE_CONTROL).is_none());
        std::fs::remove_dir_all(dir).expect("clean up");
    }

    #[tokio::test]
    async fn plain_names_are_revalidated() {
        let dir = pkg_dir();
        let router = Router::new().nest_service("/pkg", pkg_files(dir.clone(), false));
        let response = get(router, "/pkg/accounts.Ab12Cd34.js", "br").await;
        assert_eq!(response.status(), http::StatusCode::OK);
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-cache");
        std::fs::remove_dir_all(dir).expect("clean up");
    }
}
