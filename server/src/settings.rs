//! Typed settings, read once from the environment at start-up.
//!
//! Every variable has a default that runs locally. A value that does not parse stops start-up
//! with one line naming the variable; secrets are never echoed back.

use std::{net::SocketAddr, path::PathBuf, str::FromStr, time::Duration};

use app::domain::{CODE_LENGTH_RANGE, Region};
use ipnet::IpNet;
use lettre::message::Mailbox;
use secrecy::SecretString;
use sqlx::postgres::PgConnectOptions;
use url::Url;

/// The database `make run` starts when `DATABASE_URL` is not set (see `scripts/postgres.sh`).
pub const DEFAULT_DATABASE_URL: &str = "postgres://accounts@127.0.0.1:54329/accounts";
pub const DEFAULT_LOG_FILTER: &str = "info,server=debug,app=debug,sqlx=warn";

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

#[derive(Clone)]
pub struct Settings {
    pub app_env: AppEnv,
    /// Where Postgres is. Holds the password, so it is never logged whole.
    pub database: PgConnectOptions,
    /// How long start-up keeps trying to reach Postgres before giving up.
    pub database_connect_timeout: Duration,
    pub database_max_connections: u32,
    /// `None`: mail goes to the dev mailbox instead of an SMTP server.
    pub smtp_url: Option<SecretString>,
    pub email_from: Mailbox,
    /// The public address of the app, used in links and to decide on `Secure` cookies.
    pub app_base_url: Url,
    /// Where the server listens.
    pub site_addr: SocketAddr,
    /// Where the built site (`pkg/` with WASM, JS and CSS) is served from.
    pub site_root: PathBuf,
    /// The live-reload port `make watch` uses.
    pub reload_port: u32,
    pub log_filter: String,
    pub log_format: LogFormat,
    /// Keys the HMAC of one-time codes (`SECRET_KEY`); the same on every replica.
    pub secret_key: SecretString,
    pub activation_code_length: usize,
    pub activation_code_ttl: Duration,
    pub pending_hold: Duration,
    /// Registrations per client IP per minute; 0 turns the limit off.
    pub rate_limit_register_per_ip: u32,
    pub trusted_proxies: Vec<IpNet>,
    pub default_phone_region: Region,
    /// The longest a request waits for a password-hashing slot before it gets 503.
    pub password_hash_max_wait: Duration,
    /// First retry delay of the mail worker; doubles on each failure.
    pub email_retry_base: Duration,
    /// A session unused this long is over.
    pub session_idle_timeout: Duration,
    /// A session or token is over this long after sign-in, used or not.
    pub session_lifetime: Duration,
    /// Sign-in attempts per client IP per minute; 0 turns the limit off.
    pub rate_limit_login_per_ip: u32,
}

/// Used when `SECRET_KEY` is unset in development. Production refuses to start without a key.
const DEVELOPMENT_SECRET_KEY: &str = "development-only-key-never-use-this-in-production";

/// A variable that is set but does not parse.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid {var}: {reason}")]
pub struct SettingsError {
    pub var: &'static str,
    pub reason: String,
}

impl Settings {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup`, so tests can pass their own values without touching the
    /// process environment. Empty values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };

        let app_env = match get("APP_ENV").as_deref() {
            None | Some("development") => AppEnv::Development,
            Some("production") => AppEnv::Production,
            Some(other) => {
                return Err(invalid(
                    "APP_ENV",
                    format!("{other:?} is neither `development` nor `production`"),
                ));
            }
        };
        let log_format = match get("LOG_FORMAT").as_deref() {
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
        let log_filter = get("RUST_LOG").unwrap_or_else(|| DEFAULT_LOG_FILTER.to_string());
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&log_filter) {
            return Err(invalid(
                "RUST_LOG",
                format!("{log_filter:?} is not a log filter ({e})"),
            ));
        }

        let database_url = get("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_string());
        // The URL may carry a password: say what is wrong with it, never what it is.
        if !(database_url.starts_with("postgres://") || database_url.starts_with("postgresql://")) {
            return Err(invalid(
                "DATABASE_URL",
                "expected postgres://user:password@host:port/database".into(),
            ));
        }
        let database = PgConnectOptions::from_str(&database_url)
            .map_err(|e| invalid("DATABASE_URL", format!("not a Postgres URL ({e})")))?;
        let database_connect_timeout =
            Duration::from_secs(parse_number(&get, "DATABASE_CONNECT_TIMEOUT_SECS", 30)?);
        let database_max_connections = parse_number(&get, "DATABASE_MAX_CONNECTIONS", 10)?;
        if database_max_connections == 0 {
            return Err(invalid(
                "DATABASE_MAX_CONNECTIONS",
                "must be at least 1".into(),
            ));
        }

        let smtp_url = match get("SMTP_URL") {
            None => None,
            Some(raw) => {
                let url = Url::parse(&raw)
                    .map_err(|e| invalid("SMTP_URL", format!("not a URL ({e})")))?;
                if !matches!(url.scheme(), "smtp" | "smtps") || url.host_str().is_none() {
                    return Err(invalid(
                        "SMTP_URL",
                        "expected smtp://host:port or smtps://host:port".into(),
                    ));
                }
                Some(SecretString::from(raw))
            }
        };
        let email_from_raw =
            get("EMAIL_FROM").unwrap_or_else(|| "Accounts <no-reply@localhost>".into());
        let email_from = email_from_raw.parse::<Mailbox>().map_err(|e| {
            invalid(
                "EMAIL_FROM",
                format!("{email_from_raw:?} is not an email address ({e})"),
            )
        })?;

        let site_addr_raw = get("LEPTOS_SITE_ADDR").unwrap_or_else(|| "127.0.0.1:3000".into());
        let site_addr = site_addr_raw.parse::<SocketAddr>().map_err(|_| {
            invalid(
                "LEPTOS_SITE_ADDR",
                format!("{site_addr_raw:?} is not an address like 127.0.0.1:3000"),
            )
        })?;
        let app_base_url_raw = get("APP_BASE_URL").unwrap_or_else(|| format!("http://{site_addr}"));
        let app_base_url = Url::parse(&app_base_url_raw)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
            .ok_or_else(|| {
                invalid(
                    "APP_BASE_URL",
                    format!("{app_base_url_raw:?} is not an http(s) URL"),
                )
            })?;
        let site_root =
            PathBuf::from(get("LEPTOS_SITE_ROOT").unwrap_or_else(|| "target/site".into()));
        let reload_port = parse_number(&get, "LEPTOS_RELOAD_PORT", 3001)?;

        let secret_key = match get("SECRET_KEY") {
            Some(key) if key.len() >= 32 => SecretString::from(key),
            Some(_) => return Err(invalid("SECRET_KEY", "use at least 32 characters".into())),
            None if app_env == AppEnv::Production => {
                return Err(invalid(
                    "SECRET_KEY",
                    "required in production (at least 32 random characters, the same on every replica)"
                        .into(),
                ));
            }
            None => SecretString::from(DEVELOPMENT_SECRET_KEY),
        };
        let activation_code_length = parse_number(&get, "ACTIVATION_CODE_LENGTH", 4usize)?;
        if !CODE_LENGTH_RANGE.contains(&activation_code_length) {
            return Err(invalid(
                "ACTIVATION_CODE_LENGTH",
                format!(
                    "must be from {} to {}",
                    CODE_LENGTH_RANGE.start(),
                    CODE_LENGTH_RANGE.end()
                ),
            ));
        }
        let activation_code_ttl =
            Duration::from_secs(parse_number(&get, "ACTIVATION_CODE_TTL_SECS", 60)?);
        if activation_code_ttl.is_zero() {
            return Err(invalid(
                "ACTIVATION_CODE_TTL_SECS",
                "must be at least 1".into(),
            ));
        }
        let pending_hold = Duration::from_secs(parse_number(&get, "PENDING_HOLD_SECS", 900)?);
        let rate_limit_register_per_ip = parse_number(&get, "RATE_LIMIT_REGISTER_PER_IP", 20)?;
        let trusted_proxies = match get("TRUSTED_PROXIES") {
            None => Vec::new(),
            Some(raw) => raw
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
                .collect::<Result<_, _>>()?,
        };
        let region_raw = get("DEFAULT_PHONE_REGION").unwrap_or_else(|| "GB".into());
        let default_phone_region =
            region_raw
                .to_ascii_uppercase()
                .parse::<Region>()
                .map_err(|_| {
                    invalid(
                        "DEFAULT_PHONE_REGION",
                        format!("{region_raw:?} is not a two-letter region code like GB or US"),
                    )
                })?;
        let password_hash_max_wait =
            Duration::from_millis(parse_number(&get, "PASSWORD_HASH_MAX_WAIT_MS", 2000)?);
        let email_retry_base =
            Duration::from_millis(parse_number(&get, "EMAIL_RETRY_BASE_MS", 1000)?.max(1));
        let session_idle_timeout =
            Duration::from_secs(parse_number(&get, "SESSION_IDLE_TIMEOUT_SECS", 30 * 60)?);
        let session_lifetime =
            Duration::from_secs(parse_number(&get, "SESSION_LIFETIME_SECS", 14 * 24 * 3600)?);
        if session_idle_timeout.is_zero() || session_lifetime.is_zero() {
            let var = if session_idle_timeout.is_zero() {
                "SESSION_IDLE_TIMEOUT_SECS"
            } else {
                "SESSION_LIFETIME_SECS"
            };
            return Err(invalid(var, "must be at least 1".into()));
        }
        let rate_limit_login_per_ip = parse_number(&get, "RATE_LIMIT_LOGIN_PER_IP", 60)?;

        Ok(Self {
            app_env,
            database,
            database_connect_timeout,
            database_max_connections,
            smtp_url,
            email_from,
            app_base_url,
            site_addr,
            site_root,
            reload_port,
            log_filter,
            log_format,
            secret_key,
            activation_code_length,
            activation_code_ttl,
            pending_hold,
            rate_limit_register_per_ip,
            trusted_proxies,
            default_phone_region,
            password_hash_max_wait,
            email_retry_base,
            session_idle_timeout,
            session_lifetime,
            rate_limit_login_per_ip,
        })
    }
}

/// Says where things are, never a password (the database options and SMTP URL hold them).
impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("app_env", &self.app_env)
            .field("database", &database_target(&self.database))
            .field("database_connect_timeout", &self.database_connect_timeout)
            .field("database_max_connections", &self.database_max_connections)
            .field("smtp_url", &self.smtp_url.as_ref().map(|_| "[set]"))
            .field("email_from", &self.email_from.to_string())
            .field("app_base_url", &self.app_base_url.as_str())
            .field("site_addr", &self.site_addr)
            .field("site_root", &self.site_root)
            .field("reload_port", &self.reload_port)
            .field("log_filter", &self.log_filter)
            .field("log_format", &self.log_format)
            .field("secret_key", &"[redacted]")
            .field("activation_code_length", &self.activation_code_length)
            .field("activation_code_ttl", &self.activation_code_ttl)
            .field("pending_hold", &self.pending_hold)
            .field(
                "rate_limit_register_per_ip",
                &self.rate_limit_register_per_ip,
            )
            .field("trusted_proxies", &self.trusted_proxies)
            .field("default_phone_region", &self.default_phone_region)
            .field("password_hash_max_wait", &self.password_hash_max_wait)
            .field("email_retry_base", &self.email_retry_base)
            .field("session_idle_timeout", &self.session_idle_timeout)
            .field("session_lifetime", &self.session_lifetime)
            .field("rate_limit_login_per_ip", &self.rate_limit_login_per_ip)
            .finish()
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

fn invalid(var: &'static str, reason: String) -> SettingsError {
    SettingsError { var, reason }
}

fn parse_number<T: FromStr>(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: T,
) -> Result<T, SettingsError> {
    match get(var) {
        None => Ok(default),
        Some(raw) => raw
            .parse()
            .map_err(|_| invalid(var, format!("{raw:?} is not a whole number in range"))),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use secrecy::ExposeSecret as _;

    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn defaults_run_locally() {
        let s = settings(&[]).expect("defaults parse");
        assert_eq!(s.app_env, AppEnv::Development);
        assert_eq!(s.log_format, LogFormat::Pretty);
        assert_eq!(s.site_addr, "127.0.0.1:3000".parse().expect("addr"));
        assert_eq!(s.app_base_url.as_str(), "http://127.0.0.1:3000/");
        assert!(s.smtp_url.is_none());
        assert_eq!(s.database.get_port(), 54329);
    }

    #[test]
    fn production_logs_json_by_default() {
        let key = "k".repeat(32);
        let s = settings(&[("APP_ENV", "production"), ("SECRET_KEY", &key)]).expect("parses");
        assert_eq!(s.log_format, LogFormat::Json);
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
        ] {
            let err = settings(&[(var, value)]).expect_err(var);
            assert_eq!(err.var, var, "{err}");
        }
    }

    #[test]
    fn production_needs_a_secret_key() {
        let err = settings(&[("APP_ENV", "production")]).expect_err("no key");
        assert_eq!(err.var, "SECRET_KEY");
        let key = "k".repeat(32);
        let s = settings(&[("APP_ENV", "production"), ("SECRET_KEY", &key)]).expect("parses");
        assert_eq!(s.secret_key.expose_secret(), key);
    }

    #[test]
    fn account_rules_have_the_issue_defaults() {
        let s = settings(&[("TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.1")]).expect("parses");
        assert_eq!(s.activation_code_length, 4);
        assert_eq!(s.activation_code_ttl, Duration::from_secs(60));
        assert_eq!(s.pending_hold, Duration::from_secs(900));
        assert_eq!(s.rate_limit_register_per_ip, 20);
        assert_eq!(s.trusted_proxies.len(), 2);
        assert_eq!(s.default_phone_region, Region::GB);
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
    fn errors_never_echo_the_database_password() {
        let err = settings(&[("DATABASE_URL", "postgres://u:hunter2@host:notaport/db")])
            .expect_err("bad port");
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }
}
