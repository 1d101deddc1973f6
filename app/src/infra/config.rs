//! Typed settings, read once from the environment at start-up, in sections.
//!
//! [`Env`] is the one list of variables (read with `envy`; each field is the variable's name in
//! lower case, with its default); [`Settings`] groups what they mean for each part of the app.
//! A value that does not parse stops start-up with one line naming the variable; secrets are
//! never echoed back.

use std::{net::SocketAddr, path::PathBuf, str::FromStr, time::Duration};

use ipnet::IpNet;
use lettre::message::Mailbox;
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;
use sqlx::postgres::PgConnectOptions;
use url::Url;

use crate::{
    domain::{CODE_LENGTH_RANGE, Currency, Region},
    model::PublicSettings,
};

/// The database `make run` starts when `DATABASE_URL` is not set (see `scripts/postgres.sh`).
pub const DEFAULT_DATABASE_URL: &str = "postgres://accounts@127.0.0.1:54329/accounts";
pub const DEFAULT_LOG_FILTER: &str = "info,server=debug,app=debug,sqlx=warn";
/// Used when `SECRET_KEY` is unset in development. Production refuses to start without a key,
/// and with this one.
pub const DEVELOPMENT_SECRET_KEY: &str = "development-only-key-never-use-this-in-production";
/// Where `GET /metrics` is served unless `METRICS_ADDR` says otherwise: loopback only, so it is
/// never public by accident.
pub const DEFAULT_METRICS_ADDR: &str = "127.0.0.1:9100";

/// Password reset code lengths (`RESET_CODE_LENGTH`): never shorter than 6 digits, whatever
/// activation codes use.
pub const RESET_CODE_LENGTH_RANGE: std::ops::RangeInclusive<usize> = 6..=10;

/// Every variable the app reads, with its default. Empty values count as unset.
#[derive(Deserialize)]
#[serde(default)]
struct Env {
    app_env: String,
    log_format: Option<String>,
    rust_log: String,
    database_url: String,
    database_connect_timeout_secs: u64,
    database_max_connections: u32,
    database_acquire_timeout_secs: u64,
    smtp_url: Option<String>,
    smtp_timeout_secs: u64,
    email_from: String,
    email_retry_base_ms: u64,
    leptos_site_addr: String,
    leptos_site_root: String,
    leptos_reload_port: u32,
    app_base_url: Option<String>,
    webauthn_rp_id: Option<String>,
    trusted_proxies: Option<String>,
    secret_key: Option<String>,
    activation_code_length: usize,
    activation_code_ttl_secs: u64,
    code_max_attempts: u32,
    code_account_max_failures: u32,
    code_resend_cooldown_secs: u64,
    code_resends_per_hour: u32,
    reset_code_length: usize,
    reset_code_ttl_secs: u64,
    reset_failures_per_day: u32,
    rate_limit_reset_per_network: u32,
    pending_hold_secs: u64,
    registration_prevents_enumeration: bool,
    default_phone_region: String,
    rate_limit_register_per_ip: u32,
    rate_limit_login_per_ip: u32,
    login_failures_allowed: u32,
    login_failure_window_secs: u64,
    session_idle_timeout_secs: u64,
    session_lifetime_secs: u64,
    password_hash_slots: Option<usize>,
    password_hash_max_wait_ms: u64,
    catalog_cache_ms: u64,
    store_currency: String,
    webhook_urls: Option<String>,
    webhook_secret: Option<String>,
    request_timeout_secs: u64,
    header_read_timeout_secs: u64,
    shutdown_grace_secs: u64,
    metrics_addr: String,
    mail_stall_secs: u64,
    admin_require_second_factor: bool,
}

impl Default for Env {
    fn default() -> Self {
        Self {
            app_env: "development".into(),
            log_format: None,
            rust_log: DEFAULT_LOG_FILTER.into(),
            database_url: DEFAULT_DATABASE_URL.into(),
            database_connect_timeout_secs: 30,
            database_max_connections: 10,
            database_acquire_timeout_secs: 5,
            smtp_url: None,
            smtp_timeout_secs: 10,
            email_from: "Accounts <no-reply@localhost>".into(),
            email_retry_base_ms: 1000,
            leptos_site_addr: "127.0.0.1:3000".into(),
            leptos_site_root: "target/site".into(),
            leptos_reload_port: 3001,
            app_base_url: None,
            webauthn_rp_id: None,
            trusted_proxies: None,
            secret_key: None,
            activation_code_length: 4,
            activation_code_ttl_secs: 60,
            code_max_attempts: 5,
            code_account_max_failures: 100,
            code_resend_cooldown_secs: 30,
            code_resends_per_hour: 5,
            reset_code_length: 10,
            reset_code_ttl_secs: 600,
            reset_failures_per_day: 20,
            rate_limit_reset_per_network: 30,
            pending_hold_secs: 900,
            registration_prevents_enumeration: false,
            default_phone_region: "GB".into(),
            rate_limit_register_per_ip: 20,
            rate_limit_login_per_ip: 60,
            login_failures_allowed: 5,
            login_failure_window_secs: 300,
            session_idle_timeout_secs: 30 * 60,
            session_lifetime_secs: 14 * 24 * 3600,
            password_hash_slots: None,
            password_hash_max_wait_ms: 2000,
            catalog_cache_ms: 1000,
            store_currency: "EUR".into(),
            webhook_urls: None,
            webhook_secret: None,
            request_timeout_secs: 15,
            header_read_timeout_secs: 10,
            shutdown_grace_secs: 20,
            metrics_addr: DEFAULT_METRICS_ADDR.into(),
            mail_stall_secs: 300,
            admin_require_second_factor: false,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppEnv {
    Development,
    Production,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Clone, Debug)]
pub struct Settings {
    pub env: AppEnv,
    pub log: LogSettings,
    pub http: HttpSettings,
    pub database: DatabaseSettings,
    pub mail: MailSettings,
    pub codes: CodeSettings,
    pub registration: RegistrationSettings,
    pub sessions: SessionSettings,
    pub limits: LimitSettings,
    pub passwords: PasswordSettings,
    pub catalog: CatalogSettings,
    pub webhooks: WebhookSettings,
}

#[derive(Clone, Debug)]
pub struct LogSettings {
    pub filter: String,
    pub format: LogFormat,
}

#[derive(Clone, Debug)]
pub struct HttpSettings {
    /// Where the server listens.
    pub site_addr: SocketAddr,
    /// Where the built site (`pkg/` with WASM, JS and CSS) is served from.
    pub site_root: PathBuf,
    /// The live-reload port `make watch` uses.
    pub reload_port: u32,
    /// The public address of the app, for links in emails, `Secure` cookies and the origin
    /// passkeys are made for. A port of 0 means the port the server listens on.
    pub app_base_url: Url,
    /// The passkeys' relying-party ID (`WEBAUTHN_RP_ID`): by default `app_base_url`'s host. A
    /// domain that is the host or one of its parents; never an IP address (WebAuthn refuses
    /// one, so passkeys are off on a server addressed by IP).
    pub webauthn_rp_id: Option<String>,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpNet>,
    /// A request still unanswered after this long gets 503 (`REQUEST_TIMEOUT_SECS`).
    pub request_timeout: Duration,
    /// A connection that has not sent a whole request head this long after it opened, or after
    /// its previous answer, is closed (`HEADER_READ_TIMEOUT_SECS`): slow-header clients cannot
    /// hold connections open.
    pub header_read_timeout: Duration,
    /// After SIGTERM, how long requests in flight may take to finish (`SHUTDOWN_GRACE_SECS`).
    pub shutdown_grace: Duration,
    /// The separate listener of `GET /metrics` (`METRICS_ADDR`); `None` (`off`): no metrics
    /// listener. Never the public one.
    pub metrics_addr: Option<SocketAddr>,
}

impl HttpSettings {
    /// `scheme://host[:port]`: a cookie-authenticated request from any other origin is refused.
    pub fn app_origin(&self) -> String {
        self.app_base_url.origin().ascii_serialization()
    }

    /// Cookies get `Secure` (and the `__Host-` prefix) when the app is served over https.
    pub fn secure_cookies(&self) -> bool {
        self.app_base_url.scheme() == "https"
    }

    /// `base` + `path`, for links in emails.
    pub fn link(&self, path: &str) -> String {
        format!("{}{path}", self.app_base_url.as_str().trim_end_matches('/'))
    }
}

#[derive(Clone)]
pub struct DatabaseSettings {
    /// Holds the password, so it is never logged whole.
    pub options: PgConnectOptions,
    /// How long start-up keeps trying to reach Postgres before giving up.
    pub connect_timeout: Duration,
    pub max_connections: u32,
    /// The longest a request waits for a pooled connection (`DATABASE_ACQUIRE_TIMEOUT_SECS`);
    /// while Postgres is down this is how long a request takes to get its 503.
    pub acquire_timeout: Duration,
}

impl DatabaseSettings {
    /// `host:port/database`: enough to say which Postgres, nothing secret.
    pub fn target(&self) -> String {
        database_target(&self.options)
    }
}

impl std::fmt::Debug for DatabaseSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseSettings")
            .field("target", &self.target())
            .field("connect_timeout", &self.connect_timeout)
            .field("max_connections", &self.max_connections)
            .field("acquire_timeout", &self.acquire_timeout)
            .finish()
    }
}

#[derive(Clone)]
pub struct MailSettings {
    /// `None`: mail goes to the dev mailbox instead of an SMTP server.
    pub smtp_url: Option<SecretString>,
    pub from: Mailbox,
    /// First retry delay of the mail worker; doubles on each failure.
    pub retry_base: Duration,
    /// `/readyz` reports the mail worker stalled when an email has been pending longer than
    /// this (`MAIL_STALL_SECS`); `None` (0): not checked.
    pub stall_after: Option<Duration>,
    /// The longest one message may take over SMTP, connection included (`SMTP_TIMEOUT_SECS`):
    /// a server that accepts and then says nothing costs a retry, not the worker.
    pub timeout: Duration,
}

impl std::fmt::Debug for MailSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailSettings")
            .field("smtp_url", &self.smtp_url.as_ref().map(|_| "[set]"))
            .field("from", &self.from.to_string())
            .field("retry_base", &self.retry_base)
            .field("stall_after", &self.stall_after)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// One-time codes (activation, email change, password reset).
#[derive(Clone)]
pub struct CodeSettings {
    /// Keys the HMAC that stores codes (`SECRET_KEY`); the same on every replica.
    pub key: SecretString,
    pub length: usize,
    pub ttl: Duration,
    /// Wrong tries one code allows before it is used up.
    pub max_attempts: u32,
    /// Wrong codes one pending account allows, over all its codes, before it locks.
    pub account_max_failures: u32,
    cooldown: Duration,
    pub resends_per_hour: u32,
    /// Digits in a password reset code (`RESET_CODE_LENGTH`): it guards the whole account, so
    /// it is longer than an activation code (see `services::password_reset::takeover_bound`).
    pub reset_length: usize,
    /// How long a password reset code works (`RESET_CODE_TTL_SECS`).
    pub reset_ttl: Duration,
}

impl CodeSettings {
    pub fn key(&self) -> &[u8] {
        self.key.expose_secret().as_bytes()
    }

    /// Least time between two codes: the cooldown, or the code's lifetime when that is
    /// shorter, so an expired code can always be replaced.
    pub fn resend_cooldown(&self) -> Duration {
        self.resend_cooldown_within(self.ttl)
    }

    /// The cooldown for codes that live `ttl`.
    pub fn resend_cooldown_within(&self, ttl: Duration) -> Duration {
        self.cooldown.min(ttl)
    }

    /// Whole seconds a fresh code lives, as the API reports it.
    pub fn ttl_secs(&self) -> u64 {
        self.ttl.as_secs()
    }

    /// Entropy of one code, in bits.
    pub fn bits(&self) -> f64 {
        self.length as f64 * 10f64.log2()
    }
}

impl std::fmt::Debug for CodeSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodeSettings")
            .field("key", &"[redacted]")
            .field("length", &self.length)
            .field("ttl", &self.ttl)
            .field("max_attempts", &self.max_attempts)
            .field("account_max_failures", &self.account_max_failures)
            .field("cooldown", &self.cooldown)
            .field("resends_per_hour", &self.resends_per_hour)
            .field("reset_length", &self.reset_length)
            .field("reset_ttl", &self.reset_ttl)
            .finish()
    }
}

#[derive(Clone, Debug)]
pub struct RegistrationSettings {
    /// The country of phone numbers written without `+`.
    pub default_phone_region: Region,
    /// How long an idle pending registration (code expired) keeps its email and phone.
    pub pending_hold: Duration,
    /// Registrations per client IP per minute; 0 turns the limit off.
    pub per_ip_per_minute: u32,
    /// `REGISTRATION_PREVENTS_ENUMERATION`: registration answers 201 whether the email or phone
    /// is free or taken, and tells the address by email instead (`services::registration`).
    pub prevents_enumeration: bool,
}

#[derive(Clone, Debug)]
pub struct SessionSettings {
    /// A session unused this long is over.
    pub idle_timeout: Duration,
    /// A session or token is over this long after sign-in, used or not.
    pub lifetime: Duration,
    /// `__Host-session` over https (bound to this exact origin), else `session`.
    pub cookie_name: &'static str,
    /// Administrators must have a second factor (`ADMIN_REQUIRE_SECOND_FACTOR`): until they
    /// set one up, every administrators' endpoint refuses them.
    pub admin_require_second_factor: bool,
}

#[derive(Clone, Debug)]
pub struct LimitSettings {
    /// Password checks per client IP per minute; 0 turns the limit off.
    pub login_per_ip_per_minute: u32,
    /// Wrong passwords per email (known or not) allowed in `login_failure_window`.
    pub login_failures_allowed: u32,
    pub login_failure_window: Duration,
    /// Wrong password reset codes one address allows per 24 hours, over all its codes
    /// (`RESET_FAILURES_PER_DAY`); the bound on guessing a reset code rests on it.
    pub reset_failures_per_day: u32,
    /// Reset requests, and reset attempts, per network per hour (`RATE_LIMIT_RESET_PER_NETWORK`;
    /// a network is an IPv4 address or an IPv6 /64); 0 turns the limit off.
    pub reset_per_network_per_hour: u32,
}

#[derive(Clone, Debug)]
pub struct PasswordSettings {
    /// Hashes computed at once (default: the number of cores).
    pub hash_slots: usize,
    /// The longest a request waits for a hashing slot before it gets 503.
    pub hash_max_wait: Duration,
}

#[derive(Clone, Debug)]
pub struct CatalogSettings {
    /// How long this process reuses an answer of the public catalogue search
    /// (`CATALOG_CACHE_MS`; 0 turns it off). Its own writes clear it at once; another
    /// replica's show after at most this long.
    pub cache_ttl: Duration,
    /// The currency of every price (`STORE_CURRENCY`). Prices are stored as amounts alone:
    /// another currency relabels them all, past orders included, and converts nothing.
    pub currency: Currency,
}

/// Domain events sent as signed webhooks (the Standard Webhooks convention).
#[derive(Clone, Debug)]
pub struct WebhookSettings {
    /// Every event goes to each of these (`WEBHOOK_URLS`); empty: no events are written.
    pub urls: Vec<Url>,
    /// Signs every request (`WEBHOOK_SECRET`); set whenever `urls` is not empty.
    pub secret: Option<WebhookSecret>,
    /// How long one attempt may take before it counts as failed.
    pub timeout: Duration,
}

impl Default for WebhookSettings {
    /// Off: no URLs, no secret.
    fn default() -> Self {
        Self {
            urls: Vec::new(),
            secret: None,
            timeout: Duration::from_secs(10),
        }
    }
}

impl WebhookSettings {
    /// Whether events are written at all.
    pub fn enabled(&self) -> bool {
        !self.urls.is_empty()
    }

    /// The URLs as the deliveries store them.
    pub fn url_texts(&self) -> Vec<String> {
        self.urls.iter().map(|u| u.as_str().to_string()).collect()
    }
}

/// The key of the webhook signatures: the bytes of `whsec_<base64>`.
#[derive(Clone)]
pub struct WebhookSecret(secrecy::SecretSlice<u8>);

impl WebhookSecret {
    /// Fewer random bytes than this make a guessable key.
    pub const MIN_BYTES: usize = 24;

    /// `whsec_` followed by the standard base64 of at least [`Self::MIN_BYTES`] bytes.
    pub fn parse(text: &str) -> Result<Self, String> {
        use base64::{Engine as _, engine::general_purpose::STANDARD};
        let encoded = text
            .strip_prefix("whsec_")
            .ok_or("expected whsec_ followed by base64")?;
        let bytes = STANDARD
            .decode(encoded)
            .map_err(|_| "the part after whsec_ is not base64")?;
        if bytes.len() < Self::MIN_BYTES {
            return Err(format!(
                "use at least {} random bytes (e.g. `echo whsec_$(head -c 32 /dev/urandom | base64)`)",
                Self::MIN_BYTES
            ));
        }
        Ok(Self(bytes.into()))
    }

    pub fn bytes(&self) -> &[u8] {
        self.0.expose_secret()
    }
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret([redacted])")
    }
}

/// A variable that is set but does not parse.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid {var}: {reason}")]
pub struct SettingsError {
    pub var: String,
    pub reason: String,
}

fn invalid(var: &str, reason: impl Into<String>) -> SettingsError {
    SettingsError {
        var: var.to_string(),
        reason: reason.into(),
    }
}

fn at_least_one(var: &str, value: u64) -> Result<u64, SettingsError> {
    if value == 0 {
        return Err(invalid(var, "must be at least 1"));
    }
    Ok(value)
}

/// Whole seconds from 1 to 600: the HTTP time limits and the database pool's.
fn seconds_1_to_600(var: &str, value: u64) -> Result<Duration, SettingsError> {
    if !(1..=600).contains(&value) {
        return Err(invalid(var, "must be from 1 to 600"));
    }
    Ok(Duration::from_secs(value))
}

/// Whole seconds from 1 to 30: the SMTP time limit, which the mail worker's 60 s lease on a
/// message must outlast.
fn seconds_1_to_30(var: &str, value: u64) -> Result<Duration, SettingsError> {
    if !(1..=30).contains(&value) {
        return Err(invalid(var, "must be from 1 to 30"));
    }
    Ok(Duration::from_secs(value))
}

impl Settings {
    /// What the pages explain (`GET /api/settings`).
    pub fn public(&self) -> PublicSettings {
        let codes = &self.codes;
        PublicSettings {
            code_length: codes.length,
            code_ttl_secs: codes.ttl_secs(),
            resend_cooldown_secs: codes.resend_cooldown().as_secs(),
            reset_code_length: codes.reset_length,
            reset_code_ttl_secs: codes.reset_ttl.as_secs(),
            reset_failures_per_day: self.limits.reset_failures_per_day,
            currency: self.catalog.currency,
            // Not settings: the rules `services::orders` applies, said here for the cart.
            order_max_lines: crate::domain::ORDER_MAX_LINES,
            order_max_quantity: crate::domain::ORDER_MAX_QUANTITY,
        }
    }

    /// Reads the process environment.
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_vars(std::env::vars_os().filter_map(|(name, value)| {
            Some((name.into_string().ok()?, value.into_string().ok()?))
        }))
    }

    /// Reads settings from `vars` (name, value), so tests can pass their own without touching
    /// the process environment. Names the app does not know are ignored.
    pub fn from_vars(
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, SettingsError> {
        // Empty counts as unset; a value's surrounding spaces are not part of it.
        let vars = vars.into_iter().filter_map(|(name, value)| {
            let value = value.trim().to_string();
            (!value.is_empty()).then_some((name, value))
        });
        let env: Env = envy::from_iter(vars).map_err(env_error)?;
        Self::from_parsed(env)
    }

    fn from_parsed(env: Env) -> Result<Self, SettingsError> {
        let app_env = match env.app_env.as_str() {
            "development" => AppEnv::Development,
            "production" => AppEnv::Production,
            other => {
                return Err(invalid(
                    "APP_ENV",
                    format!("{other:?} is neither `development` nor `production`"),
                ));
            }
        };
        let format = match env.log_format.as_deref() {
            None if app_env == AppEnv::Production => LogFormat::Json,
            None | Some("pretty") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(invalid(
                    "LOG_FORMAT",
                    format!("{other:?} is neither `pretty` nor `json`"),
                ));
            }
        };
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&env.rust_log) {
            return Err(invalid(
                "RUST_LOG",
                format!("{:?} is not a log filter ({e})", env.rust_log),
            ));
        }
        let log = LogSettings {
            filter: env.rust_log,
            format,
        };

        // The URL may carry a password: say what is wrong with it, never what it is.
        let url = &env.database_url;
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(invalid(
                "DATABASE_URL",
                "expected postgres://user:password@host:port/database",
            ));
        }
        let database = DatabaseSettings {
            options: PgConnectOptions::from_str(url)
                .map_err(|e| invalid("DATABASE_URL", format!("not a Postgres URL ({e})")))?,
            connect_timeout: Duration::from_secs(env.database_connect_timeout_secs),
            max_connections: at_least_one(
                "DATABASE_MAX_CONNECTIONS",
                env.database_max_connections.into(),
            )? as u32,
            acquire_timeout: seconds_1_to_600(
                "DATABASE_ACQUIRE_TIMEOUT_SECS",
                env.database_acquire_timeout_secs,
            )?,
        };

        let smtp_url = match env.smtp_url {
            None => None,
            Some(raw) => {
                let url = Url::parse(&raw)
                    .map_err(|e| invalid("SMTP_URL", format!("not a URL ({e})")))?;
                if !matches!(url.scheme(), "smtp" | "smtps") || url.host_str().is_none() {
                    return Err(invalid(
                        "SMTP_URL",
                        "expected smtp://host:port or smtps://host:port",
                    ));
                }
                Some(SecretString::from(raw))
            }
        };
        if smtp_url.is_none() && app_env == AppEnv::Production {
            return Err(invalid(
                "SMTP_URL",
                "required in production (smtp://host:port or smtps://host:port); without it mail only reaches the development mailbox",
            ));
        }
        let mail = MailSettings {
            smtp_url,
            from: env.email_from.parse::<Mailbox>().map_err(|e| {
                invalid(
                    "EMAIL_FROM",
                    format!("{:?} is not an email address ({e})", env.email_from),
                )
            })?,
            retry_base: Duration::from_millis(env.email_retry_base_ms.max(1)),
            stall_after: (env.mail_stall_secs > 0)
                .then(|| Duration::from_secs(env.mail_stall_secs)),
            timeout: seconds_1_to_30("SMTP_TIMEOUT_SECS", env.smtp_timeout_secs)?,
        };

        let site_addr = env.leptos_site_addr.parse::<SocketAddr>().map_err(|_| {
            invalid(
                "LEPTOS_SITE_ADDR",
                format!(
                    "{:?} is not an address like 127.0.0.1:3000",
                    env.leptos_site_addr
                ),
            )
        })?;
        // By default the listening address, named `localhost` when it is a loopback one: a
        // browser treats both alike, and WebAuthn accepts only a name as the passkeys' relying
        // party.
        let app_base_url_raw = env.app_base_url.unwrap_or_else(|| {
            if site_addr.ip().is_loopback() {
                format!("http://localhost:{}", site_addr.port())
            } else {
                format!("http://{site_addr}")
            }
        });
        let app_base_url = Url::parse(&app_base_url_raw)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
            .ok_or_else(|| {
                invalid(
                    "APP_BASE_URL",
                    format!("{app_base_url_raw:?} is not an http(s) URL"),
                )
            })?;
        if app_base_url.scheme() != "https" && app_env == AppEnv::Production {
            return Err(invalid(
                "APP_BASE_URL",
                format!(
                    "{app_base_url_raw:?} is not https; required in production (the public https address, e.g. https://accounts.example.com)"
                ),
            ));
        }
        let trusted_proxies = env
            .trusted_proxies
            .as_deref()
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|entry| {
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<std::net::IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        invalid(
                            "TRUSTED_PROXIES",
                            format!("{entry:?} is not an IP address or CIDR range"),
                        )
                    })
            })
            .collect::<Result<_, _>>()?;
        let http = HttpSettings {
            site_addr,
            site_root: PathBuf::from(env.leptos_site_root),
            reload_port: env.leptos_reload_port,
            app_base_url,
            webauthn_rp_id: env.webauthn_rp_id.map(|id| id.trim().to_ascii_lowercase()),
            trusted_proxies,
            request_timeout: seconds_1_to_600("REQUEST_TIMEOUT_SECS", env.request_timeout_secs)?,
            header_read_timeout: seconds_1_to_600(
                "HEADER_READ_TIMEOUT_SECS",
                env.header_read_timeout_secs,
            )?,
            shutdown_grace: seconds_1_to_600("SHUTDOWN_GRACE_SECS", env.shutdown_grace_secs)?,
            metrics_addr: metrics_addr(&env.metrics_addr, site_addr)?,
        };

        let key = match env.secret_key {
            Some(key) if key == DEVELOPMENT_SECRET_KEY && app_env == AppEnv::Production => {
                return Err(invalid(
                    "SECRET_KEY",
                    "is the development key; production needs its own (at least 32 random characters, the same on every replica)",
                ));
            }
            Some(key) if key.len() >= 32 => SecretString::from(key),
            Some(_) => return Err(invalid("SECRET_KEY", "use at least 32 characters")),
            None if app_env == AppEnv::Production => {
                return Err(invalid(
                    "SECRET_KEY",
                    "required in production (at least 32 random characters, the same on every replica)",
                ));
            }
            None => SecretString::from(DEVELOPMENT_SECRET_KEY),
        };
        if !RESET_CODE_LENGTH_RANGE.contains(&env.reset_code_length) {
            return Err(invalid(
                "RESET_CODE_LENGTH",
                format!(
                    "must be from {} to {}",
                    RESET_CODE_LENGTH_RANGE.start(),
                    RESET_CODE_LENGTH_RANGE.end()
                ),
            ));
        }
        if !(1..=3600).contains(&env.reset_code_ttl_secs) {
            return Err(invalid(
                "RESET_CODE_TTL_SECS",
                "must be from 1 to 3600 (an hour at most)",
            ));
        }
        if !CODE_LENGTH_RANGE.contains(&env.activation_code_length) {
            return Err(invalid(
                "ACTIVATION_CODE_LENGTH",
                format!(
                    "must be from {} to {}",
                    CODE_LENGTH_RANGE.start(),
                    CODE_LENGTH_RANGE.end()
                ),
            ));
        }
        let codes = CodeSettings {
            key,
            length: env.activation_code_length,
            ttl: Duration::from_secs(at_least_one(
                "ACTIVATION_CODE_TTL_SECS",
                env.activation_code_ttl_secs,
            )?),
            max_attempts: at_least_one("CODE_MAX_ATTEMPTS", env.code_max_attempts.into())? as u32,
            account_max_failures: at_least_one(
                "CODE_ACCOUNT_MAX_FAILURES",
                env.code_account_max_failures.into(),
            )? as u32,
            cooldown: Duration::from_secs(env.code_resend_cooldown_secs),
            resends_per_hour: at_least_one(
                "CODE_RESENDS_PER_HOUR",
                env.code_resends_per_hour.into(),
            )? as u32,
            reset_length: env.reset_code_length,
            reset_ttl: Duration::from_secs(env.reset_code_ttl_secs),
        };

        let registration = RegistrationSettings {
            default_phone_region: env
                .default_phone_region
                .to_ascii_uppercase()
                .parse::<Region>()
                .map_err(|_| {
                    invalid(
                        "DEFAULT_PHONE_REGION",
                        format!(
                            "{:?} is not a two-letter region code like GB or US",
                            env.default_phone_region
                        ),
                    )
                })?,
            pending_hold: Duration::from_secs(env.pending_hold_secs),
            per_ip_per_minute: env.rate_limit_register_per_ip,
            prevents_enumeration: env.registration_prevents_enumeration,
        };
        let sessions = SessionSettings {
            idle_timeout: Duration::from_secs(at_least_one(
                "SESSION_IDLE_TIMEOUT_SECS",
                env.session_idle_timeout_secs,
            )?),
            lifetime: Duration::from_secs(at_least_one(
                "SESSION_LIFETIME_SECS",
                env.session_lifetime_secs,
            )?),
            cookie_name: if http.secure_cookies() {
                "__Host-session"
            } else {
                "session"
            },
            admin_require_second_factor: env.admin_require_second_factor,
        };
        let limits = LimitSettings {
            login_per_ip_per_minute: env.rate_limit_login_per_ip,
            login_failures_allowed: at_least_one(
                "LOGIN_FAILURES_ALLOWED",
                env.login_failures_allowed.into(),
            )? as u32,
            login_failure_window: Duration::from_secs(at_least_one(
                "LOGIN_FAILURE_WINDOW_SECS",
                env.login_failure_window_secs,
            )?),
            reset_failures_per_day: at_least_one(
                "RESET_FAILURES_PER_DAY",
                env.reset_failures_per_day.into(),
            )? as u32,
            reset_per_network_per_hour: env.rate_limit_reset_per_network,
        };
        let passwords = PasswordSettings {
            hash_slots: match env.password_hash_slots {
                Some(0) => return Err(invalid("PASSWORD_HASH_SLOTS", "must be at least 1")),
                Some(n) => n,
                None => std::thread::available_parallelism().map_or(1, |n| n.get()),
            },
            hash_max_wait: Duration::from_millis(env.password_hash_max_wait_ms),
        };

        let catalog = CatalogSettings {
            cache_ttl: Duration::from_millis(env.catalog_cache_ms),
            currency: Currency::parse(&env.store_currency.to_ascii_uppercase()).ok_or_else(
                || {
                    invalid(
                        "STORE_CURRENCY",
                        format!(
                            "{:?} is not a three-letter ISO 4217 currency code like EUR, USD or GBP",
                            env.store_currency
                        ),
                    )
                },
            )?,
        };
        let webhooks =
            webhook_settings(env.webhook_urls.as_deref(), env.webhook_secret.as_deref())?;

        Ok(Self {
            env: app_env,
            log,
            http,
            database,
            mail,
            codes,
            registration,
            sessions,
            limits,
            passwords,
            catalog,
            webhooks,
        })
    }
}

/// `METRICS_ADDR`: an address, or `off`. The same address as the public listener would put the
/// metrics on the public port (or fail to bind), so it is refused.
fn metrics_addr(raw: &str, site_addr: SocketAddr) -> Result<Option<SocketAddr>, SettingsError> {
    if raw.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    let addr = raw.parse::<SocketAddr>().map_err(|_| {
        invalid(
            "METRICS_ADDR",
            format!("{raw:?} is not an address like {DEFAULT_METRICS_ADDR}, or `off`"),
        )
    })?;
    if addr.port() != 0 && addr == site_addr {
        return Err(invalid(
            "METRICS_ADDR",
            "is the public listener's address (LEPTOS_SITE_ADDR); metrics need a listener of their own",
        ));
    }
    Ok(Some(addr))
}

/// `WEBHOOK_URLS` (comma-separated http(s) URLs) and `WEBHOOK_SECRET`, required with them. A URL
/// may carry a credential, so errors say which one is wrong, not what it is.
fn webhook_settings(
    urls: Option<&str>,
    secret: Option<&str>,
) -> Result<WebhookSettings, SettingsError> {
    let entries: Vec<&str> = urls
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let mut parsed: Vec<Url> = Vec::with_capacity(entries.len());
    for (i, entry) in entries.iter().enumerate() {
        let url = Url::parse(entry)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
            .ok_or_else(|| {
                invalid(
                    "WEBHOOK_URLS",
                    format!(
                        "URL {} of {} is not an http(s) URL like https://example.com/hooks",
                        i + 1,
                        entries.len()
                    ),
                )
            })?;
        if parsed.contains(&url) {
            return Err(invalid(
                "WEBHOOK_URLS",
                format!("URL {} of {} is listed twice", i + 1, entries.len()),
            ));
        }
        parsed.push(url);
    }
    let secret = secret
        .map(|text| WebhookSecret::parse(text).map_err(|reason| invalid("WEBHOOK_SECRET", reason)))
        .transpose()?;
    if !parsed.is_empty() && secret.is_none() {
        return Err(invalid(
            "WEBHOOK_SECRET",
            "required when WEBHOOK_URLS is set (whsec_ followed by the base64 of at least 24 random bytes)",
        ));
    }
    Ok(WebhookSettings {
        urls: parsed,
        secret,
        ..WebhookSettings::default()
    })
}

/// envy names the variable at the end of its message (`… provided by NAME`); the value is left
/// out of ours, in case it was a secret typed into the wrong variable.
fn env_error(error: envy::Error) -> SettingsError {
    match error {
        envy::Error::MissingValue(field) => invalid(&field.to_ascii_uppercase(), "is required"),
        envy::Error::Custom(message) => match message.rsplit_once(" provided by ") {
            Some((_, var)) => invalid(var.trim(), "is not a whole number in range"),
            None => invalid("environment", message),
        },
    }
}

/// `host:port/database`: enough to say which Postgres, nothing secret.
pub fn database_target(options: &PgConnectOptions) -> String {
    format!(
        "{}:{}/{}",
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or("")
    )
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_vars(vars)
    }

    #[test]
    fn defaults_run_locally() {
        let s = settings(&[]).expect("defaults parse");
        assert_eq!(s.env, AppEnv::Development);
        assert_eq!(s.log.format, LogFormat::Pretty);
        assert_eq!(s.http.site_addr, "127.0.0.1:3000".parse().expect("addr"));
        assert_eq!(s.http.app_base_url.as_str(), "http://localhost:3000/");
        assert!(s.mail.smtp_url.is_none());
        assert_eq!(s.database.options.get_port(), 54329);
        assert_eq!(s.sessions.cookie_name, "session");
    }

    /// What production needs, with `changes` on top (an empty value unsets a variable).
    fn production(changes: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let mut vars = vec![
            ("APP_ENV", "production"),
            ("SECRET_KEY", "a-production-secret-of-thirty-two-chars"),
            ("SMTP_URL", "smtps://mail.example.com"),
            ("APP_BASE_URL", "https://accounts.example.com"),
        ];
        vars.extend_from_slice(changes);
        settings(&vars)
    }

    #[test]
    fn production_logs_json_by_default() {
        let s = production(&[]).expect("parses");
        assert_eq!(s.log.format, LogFormat::Json);
    }

    #[test]
    fn production_refuses_the_development_secret_key() {
        let err = production(&[("SECRET_KEY", DEVELOPMENT_SECRET_KEY)]).expect_err("dev key");
        assert_eq!(err.var, "SECRET_KEY");
        assert!(err.to_string().contains("development key"), "{err}");
        assert!(!err.to_string().contains(DEVELOPMENT_SECRET_KEY), "{err}");
        // Development may name it explicitly.
        settings(&[("SECRET_KEY", DEVELOPMENT_SECRET_KEY)]).expect("development");
    }

    #[test]
    fn production_refuses_the_development_mailbox() {
        let err = production(&[("SMTP_URL", "")]).expect_err("no SMTP");
        assert_eq!(err.var, "SMTP_URL");
        assert!(err.to_string().contains("required in production"), "{err}");
    }

    #[test]
    fn production_refuses_a_base_url_that_is_not_https() {
        for url in ["", "http://accounts.example.com"] {
            let err = production(&[("APP_BASE_URL", url)]).expect_err(url);
            assert_eq!(err.var, "APP_BASE_URL", "{url:?}");
            assert!(err.to_string().contains("is not https"), "{err}");
        }
        settings(&[("APP_BASE_URL", "http://accounts.example.com")]).expect("development");
    }

    #[test]
    fn http_time_limits_default_and_stay_within_1_to_600_seconds() {
        let s = settings(&[]).expect("defaults parse");
        assert_eq!(s.http.request_timeout, Duration::from_secs(15));
        assert_eq!(s.http.header_read_timeout, Duration::from_secs(10));
        assert_eq!(s.http.shutdown_grace, Duration::from_secs(20));
        for var in [
            "REQUEST_TIMEOUT_SECS",
            "HEADER_READ_TIMEOUT_SECS",
            "SHUTDOWN_GRACE_SECS",
        ] {
            for bad in ["0", "601", "-1", "soon"] {
                let err = settings(&[(var, bad)]).expect_err(bad);
                assert_eq!(err.var, var, "{bad}: {err}");
            }
            for good in ["1", "600"] {
                settings(&[(var, good)]).expect(good);
            }
        }
    }

    #[test]
    fn metrics_listen_on_loopback_by_default_and_can_be_turned_off() {
        let s = settings(&[]).expect("defaults parse");
        assert_eq!(
            s.http.metrics_addr,
            Some("127.0.0.1:9100".parse().expect("addr"))
        );
        assert_eq!(s.mail.stall_after, Some(Duration::from_secs(300)));
        let s = settings(&[("METRICS_ADDR", "off"), ("MAIL_STALL_SECS", "0")]).expect("parses");
        assert_eq!(s.http.metrics_addr, None);
        assert_eq!(s.mail.stall_after, None);
        let s = settings(&[("METRICS_ADDR", "0.0.0.0:9200")]).expect("parses");
        assert_eq!(
            s.http.metrics_addr,
            Some("0.0.0.0:9200".parse().expect("addr"))
        );
        for (vars, says) in [
            (&[("METRICS_ADDR", "9100")][..], "not an address"),
            (&[("METRICS_ADDR", "localhost:9100")][..], "not an address"),
            (
                &[
                    ("LEPTOS_SITE_ADDR", "127.0.0.1:3000"),
                    ("METRICS_ADDR", "127.0.0.1:3000"),
                ][..],
                "public listener",
            ),
        ] {
            let err = settings(vars).expect_err(says);
            assert_eq!(err.var, "METRICS_ADDR", "{err}");
            assert!(err.to_string().contains(says), "{err}");
        }
    }

    #[test]
    fn fault_time_limits_default_and_stay_in_range() {
        let s = settings(&[]).expect("defaults parse");
        assert_eq!(s.database.acquire_timeout, Duration::from_secs(5));
        assert_eq!(s.mail.timeout, Duration::from_secs(10));
        for (var, bad, good) in [
            ("DATABASE_ACQUIRE_TIMEOUT_SECS", ["0", "601"], ["1", "600"]),
            ("SMTP_TIMEOUT_SECS", ["0", "31"], ["1", "30"]),
        ] {
            for bad in bad {
                let err = settings(&[(var, bad)]).expect_err(bad);
                assert_eq!(err.var, var, "{bad}: {err}");
            }
            for good in good {
                settings(&[(var, good)]).expect(good);
            }
        }
    }

    #[test]
    fn invalid_values_name_their_variable() {
        for (var, value) in [
            ("APP_ENV", "staging"),
            ("LOG_FORMAT", "xml"),
            ("RUST_LOG", "info,[[["),
            ("DATABASE_URL", "mysql://nope"),
            ("DATABASE_CONNECT_TIMEOUT_SECS", "soon"),
            ("DATABASE_MAX_CONNECTIONS", "0"),
            ("SMTP_URL", "http://mail.example.com"),
            ("EMAIL_FROM", "not an address"),
            ("LEPTOS_SITE_ADDR", "localhost"),
            ("APP_BASE_URL", "ftp://example.com"),
            ("SECRET_KEY", "short"),
            ("ACTIVATION_CODE_LENGTH", "3"),
            ("ACTIVATION_CODE_LENGTH", "11"),
            ("ACTIVATION_CODE_TTL_SECS", "0"),
            ("PENDING_HOLD_SECS", "-1"),
            ("RATE_LIMIT_REGISTER_PER_IP", "lots"),
            ("TRUSTED_PROXIES", "10.0.0.0/8, proxy.local"),
            ("DEFAULT_PHONE_REGION", "Britain"),
            ("SESSION_IDLE_TIMEOUT_SECS", "0"),
            ("SESSION_LIFETIME_SECS", "forever"),
            ("RATE_LIMIT_LOGIN_PER_IP", "-5"),
            ("PASSWORD_HASH_SLOTS", "0"),
            ("CODE_MAX_ATTEMPTS", "0"),
            ("LOGIN_FAILURE_WINDOW_SECS", "x"),
            ("METRICS_ADDR", "everywhere"),
            ("MAIL_STALL_SECS", "-1"),
            ("STORE_CURRENCY", "euro"),
        ] {
            let err = settings(&[(var, value)]).expect_err(var);
            assert_eq!(err.var, var, "{err}");
        }
    }

    #[test]
    fn the_store_currency_is_euros_unless_another_iso_code_is_set() {
        let s = settings(&[]).expect("defaults parse");
        assert_eq!(s.catalog.currency, Currency::EUR);
        assert_eq!(s.public().currency, Currency::EUR);
        for (value, code) in [("USD", "USD"), ("gbp", "GBP"), (" CHF ", "CHF")] {
            let s = settings(&[("STORE_CURRENCY", value)]).expect(value);
            assert_eq!(s.catalog.currency.code(), code, "{value:?}");
            assert_eq!(s.public().currency.code(), code, "{value:?}");
        }
        for bad in ["€", "EU", "EURO", "E1R", "US$", "EUR,USD"] {
            let err = settings(&[("STORE_CURRENCY", bad)]).expect_err(bad);
            assert_eq!(err.var, "STORE_CURRENCY", "{err}");
            assert!(err.to_string().contains("ISO 4217"), "{err}");
            assert!(
                err.to_string().contains(bad),
                "the value is no secret: {err}"
            );
        }
    }

    #[test]
    fn https_cookies_are_secure_and_host_bound() {
        let s = settings(&[("APP_BASE_URL", "https://accounts.example.com")]).expect("parses");
        assert!(s.http.secure_cookies());
        assert_eq!(s.sessions.cookie_name, "__Host-session");
        assert_eq!(s.http.app_origin(), "https://accounts.example.com");
        assert_eq!(s.http.link("/login"), "https://accounts.example.com/login");
    }

    #[test]
    fn the_resend_cooldown_never_outlives_the_code() {
        let s = settings(&[("ACTIVATION_CODE_TTL_SECS", "2")]).expect("parses");
        assert_eq!(s.codes.resend_cooldown(), Duration::from_secs(2));
        assert_eq!(s.public().resend_cooldown_secs, 2);
    }

    #[test]
    fn production_needs_a_secret_key() {
        let err = production(&[("SECRET_KEY", "")]).expect_err("no key");
        assert_eq!(err.var, "SECRET_KEY");
        let key = "k".repeat(32);
        let s = production(&[("SECRET_KEY", &key)]).expect("parses");
        assert_eq!(s.codes.key(), key.as_bytes());
    }

    #[test]
    fn account_rules_have_the_issue_defaults() {
        let s = settings(&[("TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.1")]).expect("parses");
        assert_eq!(s.codes.length, 4);
        assert_eq!(s.codes.ttl, Duration::from_secs(60));
        assert_eq!(s.codes.max_attempts, 5);
        assert_eq!(s.codes.account_max_failures, 100);
        assert_eq!(s.codes.resend_cooldown(), Duration::from_secs(30));
        assert_eq!(s.limits.login_failures_allowed, 5);
        assert_eq!(s.registration.pending_hold, Duration::from_secs(900));
        assert_eq!(s.registration.per_ip_per_minute, 20);
        assert_eq!(s.http.trusted_proxies.len(), 2);
        assert_eq!(s.registration.default_phone_region, Region::GB);
    }

    #[test]
    fn debug_output_never_shows_secrets() {
        let s = settings(&[
            (
                "DATABASE_URL",
                "postgres://u:hunter2@db.internal:5432/accounts",
            ),
            ("SMTP_URL", "smtps://mailer:swordfish@mail.example.com"),
            ("SECRET_KEY", "tiger-tiger-burning-bright-in-the-forests"),
        ])
        .expect("parses");
        let debug = format!("{s:?}");
        assert!(debug.contains("db.internal:5432/accounts"), "{debug}");
        assert!(
            !debug.contains("hunter2") && !debug.contains("swordfish") && !debug.contains("tiger"),
            "{debug}"
        );
    }

    #[test]
    fn webhooks_are_off_by_default_and_need_a_strong_secret() {
        let s = settings(&[]).expect("defaults parse");
        assert!(!s.webhooks.enabled());
        let secret = format!("whsec_{}", "A".repeat(32)); // 24 bytes
        let s = settings(&[
            (
                "WEBHOOK_URLS",
                "https://hooks.example.com/a, http://127.0.0.1:9000/b",
            ),
            ("WEBHOOK_SECRET", &secret),
        ])
        .expect("parses");
        assert_eq!(s.webhooks.urls.len(), 2);
        assert_eq!(s.webhooks.secret.expect("a secret").bytes().len(), 24);
        for (urls, secret, var) in [
            ("https://hooks.example.com", "", "WEBHOOK_SECRET"),
            ("https://hooks.example.com", "whsec_AAAA", "WEBHOOK_SECRET"),
            (
                "https://hooks.example.com",
                "not-prefixed",
                "WEBHOOK_SECRET",
            ),
            ("https://hooks.example.com", "whsec_!!!!", "WEBHOOK_SECRET"),
            ("ftp://hooks.example.com", secret.as_str(), "WEBHOOK_URLS"),
            (
                "https://a.example.com,hooks",
                secret.as_str(),
                "WEBHOOK_URLS",
            ),
            (
                "https://a.example.com/,https://a.example.com",
                secret.as_str(),
                "WEBHOOK_URLS",
            ),
        ] {
            let err =
                settings(&[("WEBHOOK_URLS", urls), ("WEBHOOK_SECRET", secret)]).expect_err(urls);
            assert_eq!(err.var, var, "{urls} {secret}: {err}");
        }
    }

    #[test]
    fn webhook_errors_never_echo_the_url_or_secret() {
        let err = settings(&[(
            "WEBHOOK_URLS",
            "https://ok.example.com,gopher://u:hunter2@x",
        )])
        .expect_err("bad URL");
        assert!(!err.to_string().contains("hunter2"), "{err}");
        assert!(err.to_string().contains("URL 2 of 2"), "{err}");
        let s = settings(&[
            ("WEBHOOK_URLS", "https://ok.example.com"),
            (
                "WEBHOOK_SECRET",
                &format!("whsec_{}", "c3dvcmRmaXNo".repeat(4)),
            ),
        ])
        .expect("parses");
        assert!(!format!("{s:?}").contains("c3dvcmRmaXNo"));
    }

    #[test]
    fn errors_never_echo_the_database_password() {
        let err = settings(&[("DATABASE_URL", "postgres://u:hunter2@host:notaport/db")])
            .expect_err("bad port");
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }
}
