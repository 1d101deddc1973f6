//! Typed settings, read once from the environment at start-up.
//!
//! Every variable has a default that runs locally. A value that does not parse stops start-up
//! with one line naming the variable; secrets are never echoed back.

use std::{net::SocketAddr, path::PathBuf, str::FromStr, time::Duration};

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
}

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
        let s = settings(&[("APP_ENV", "production")]).expect("parses");
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
        ] {
            let err = settings(&[(var, value)]).expect_err(var);
            assert_eq!(err.var, var, "{err}");
        }
    }

    #[test]
    fn debug_output_never_shows_secrets() {
        let s = settings(&[
            (
                "DATABASE_URL",
                "postgres://u:hunter2@db.internal:5432/accounts",
            ),
            ("SMTP_URL", "smtps://mailer:swordfish@mail.example.com"),
        ])
        .expect("parses");
        let debug = format!("{s:?}");
        assert!(debug.contains("db.internal:5432/accounts"), "{debug}");
        assert!(
            !debug.contains("hunter2") && !debug.contains("swordfish"),
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
