//! Command-line parsing by hand: a dozen subcommands and a handful of `--name value` options do
//! not justify an argument-parsing dependency.

use std::{collections::BTreeMap, fmt::Display, str::FromStr, time::Duration};

use anyhow::{Context as _, anyhow, bail, ensure};

pub const USAGE: &str = "usage:
  bench argon2 --seconds N
      hash with the server's argon2id parameters on every core for N seconds
  bench register --url URL --smtp-port PORT --seconds N --connections C
      C concurrent clients registering back to back (saturation)
  bench register --url URL --smtp-port PORT --seconds N --rate R
      R registrations per second on a fixed schedule (open loop)
  bench profile --url URL --smtp-port PORT --seconds N --connections C [--threads T]
      creates an activated account and a bearer token, then C concurrent clients send
      GET /api/profile with it back to back
  bench token --url URL --smtp-port PORT --seconds N --connections C [--threads T]
      creates an activated account, then C concurrent clients send POST /api/token
      with its email and password back to back
  bench profile-sql --url URL --smtp-port PORT --seconds N --connections C --server BINARY
                    --database-url URL
      creates an activated account and a bearer token, then runs the server's own session
      lookup (`BINARY statements`) with that token in pgbench -M prepared, C clients, on the
      server's database: the limit GET /api/profile is measured against
  bench place-order-sql --url URL --smtp-port PORT --seconds N --connections C --users U
                        --server BINARY --database-url URL [--pause PID]
      creates U activated accounts with a bearer token each, then runs what the server does
      for an order (`BINARY statements`: the session lookup, then in one transaction the
      products locked and the order written, with the confirmation its templates render) in
      pgbench -M prepared, C clients, each order 3 distinct products at random of those whose
      name holds \"benchorder\", by one of the accounts at random: the limit
      POST /api/place-order is measured against. --pause: the server's process, stopped
      while pgbench runs (and the confirmations pgbench queued deleted before it resumes)
  bench admin-search --url URL --smtp-port PORT --email E --seconds N --connections C
                     [--threads T]
      signs in as the administrator E (the password from standard input, one line), picks
      accounts at random and makes searches for them (part of a surname, an email, the last
      digits of a phone number, a full name, with a status filter now and then), then C
      concurrent clients send GET /api/admin/users?q=... with them in turn, back to back
  bench products-search --url URL --smtp-port PORT --seconds N --connections C [--threads T]
      picks products at random and makes keywords from their names (the last word, its
      first four letters, two words), then C concurrent clients send
      GET /api/products?keyword=... with them in turn, back to back
  bench products-search-sql --url URL --smtp-port PORT --seconds N --connections C
                            --server BINARY --database-url URL
      makes keywords as products-search does, then runs the server's statements for each
      (`BINARY statements --keyword K`: the page, and the count when the first page is full)
      in pgbench -M prepared, C clients, a keyword at random each time: the limit the
      uncached catalogue search is measured against
  bench place-order --url URL --smtp-port PORT --seconds N --connections C --users U
                    [--threads T]
      creates U activated accounts with a bearer token each, then C concurrent clients send
      POST /api/place-order back to back, each order 3 distinct products (one unit each) at
      random of those whose name holds \"benchorder\", by one of the accounts at random
  bench webhooks --url URL --smtp-port PORT --hook-port PORT --seconds N --rate R
      receives the server's webhooks on 127.0.0.1:HOOK-PORT/hooks (its WEBHOOK_URLS) while
      registering R people per second on a fixed schedule; how long each user.registered
      takes from the commit to the receiver
  bench flood --url URL --smtp-port PORT --pid PID [--big N] [--valid N] [--password-bytes B]
      sends N registrations with B-byte passwords (default 200 of 1 MiB) and N valid ones
      (default 200) all at once, while polling GET /healthz every 10 ms and sampling the
      resident memory of the server process PID; the answers by status, the peak memory and
      the probe's latencies

Every run but argon2 listens for the server's emails on 127.0.0.1:PORT. --threads: how many
threads drive the load (default 1, which leaves the other cores to the server).
Options also take the form --name=value.";

pub enum Command {
    Help,
    Argon2 {
        seconds: u64,
    },
    Register(RegisterArgs),
    Profile(SignedInArgs),
    ProfileSql(SqlArgs),
    PlaceOrderSql(OrderSqlArgs),
    ProductsSearchSql(SqlArgs),
    Token(SignedInArgs),
    AdminSearch(AdminSearchArgs),
    ProductsSearch(SignedInArgs),
    PlaceOrder(PlaceOrderArgs),
    Webhooks(WebhookArgs),
    Flood(FloodArgs),
    /// The flood's health probe, which the flood starts as a process of its own; not in
    /// [`USAGE`], as it is not meant to be run by hand (see `probe.rs`).
    Probe {
        url: String,
    },
}

pub struct RegisterArgs {
    /// Base URL of the server, without a trailing slash.
    pub url: String,
    pub smtp_port: u16,
    pub duration: Duration,
    pub load: Load,
}

/// The runs on an activated account: `C` clients back to back.
pub struct SignedInArgs {
    /// Base URL of the server, without a trailing slash.
    pub url: String,
    pub smtp_port: u16,
    pub duration: Duration,
    pub connections: usize,
    /// Threads of the runtime that drives the load; 1: a single-threaded runtime.
    pub threads: usize,
}

/// The profile read's statement in pgbench, on the database of the server under test.
pub struct SqlArgs {
    /// The server under test (its URL for the account, the SMTP port for its activation).
    pub run: SignedInArgs,
    /// The `server` binary whose `statements` are run.
    pub server: std::path::PathBuf,
    /// The database the server under test uses.
    pub database_url: String,
}

/// An order's statements in pgbench: as [`SqlArgs`], by several people.
pub struct OrderSqlArgs {
    pub sql: SqlArgs,
    /// How many people place the orders.
    pub users: usize,
    /// The server's process, stopped while pgbench runs: its email worker would otherwise
    /// deliver the confirmations pgbench queues, beside Postgres.
    pub pause: Option<u32>,
}

/// The administrators' search: a signed-in run as an existing administrator.
pub struct AdminSearchArgs {
    pub run: SignedInArgs,
    /// The administrator's email; the password comes from standard input.
    pub email: String,
}

/// Orders: a signed-in run by several people at once.
pub struct PlaceOrderArgs {
    pub run: SignedInArgs,
    /// How many people place the orders.
    pub users: usize,
}

/// Registrations at a fixed rate, with a webhook receiver.
pub struct WebhookArgs {
    /// Base URL of the server, without a trailing slash.
    pub url: String,
    pub smtp_port: u16,
    /// Where the receiver listens (the server's `WEBHOOK_URLS` is `http://127.0.0.1:PORT/hooks`).
    pub hook_port: u16,
    pub duration: Duration,
    pub rate: f64,
}

/// Oversized and valid registrations all at once, with the server's memory and probe watched.
pub struct FloodArgs {
    /// Base URL of the server, without a trailing slash.
    pub url: String,
    pub smtp_port: u16,
    /// The server's process, whose `VmRSS` is sampled.
    pub pid: u32,
    /// Registrations with an oversized password.
    pub big: usize,
    pub valid: usize,
    /// The length of the oversized passwords.
    pub password_bytes: usize,
}

#[derive(Clone, Copy, Debug)]
pub enum Load {
    /// This many clients, each sending its next request as soon as the previous one answers.
    Connections(usize),
    /// This many requests per second, sent on schedule whether or not earlier ones answered.
    Rate(f64),
}

pub fn parse(args: impl IntoIterator<Item = String>) -> anyhow::Result<Command> {
    let args: Vec<String> = args.into_iter().collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        return Ok(Command::Help);
    }
    let Some((subcommand, rest)) = args.split_first() else {
        return Ok(Command::Help);
    };
    let mut options = Options::parse(rest)?;
    let command = match subcommand.as_str() {
        "help" => Command::Help,
        "argon2" => Command::Argon2 {
            seconds: seconds(&mut options)?,
        },
        "register" => Command::Register(register_args(&mut options)?),
        "profile" => Command::Profile(signed_in_args(&mut options)?),
        "profile-sql" => Command::ProfileSql(sql_args(&mut options)?),
        "products-search-sql" => Command::ProductsSearchSql(sql_args(&mut options)?),
        "place-order-sql" => Command::PlaceOrderSql(OrderSqlArgs {
            users: users(&mut options)?,
            pause: options.optional("--pause")?,
            sql: sql_args(&mut options)?,
        }),
        "token" => Command::Token(signed_in_args(&mut options)?),
        "admin-search" => Command::AdminSearch(AdminSearchArgs {
            email: email(&mut options)?,
            run: signed_in_args(&mut options)?,
        }),
        "products-search" => Command::ProductsSearch(signed_in_args(&mut options)?),
        "place-order" => Command::PlaceOrder(PlaceOrderArgs {
            users: users(&mut options)?,
            run: signed_in_args(&mut options)?,
        }),
        "webhooks" => {
            let url = url(&mut options)?;
            let smtp_port = smtp_port(&mut options)?;
            let hook_port: u16 = options.required("--hook-port")?;
            ensure!(hook_port != 0, "--hook-port must be a real port, not 0");
            let duration = Duration::from_secs(seconds(&mut options)?);
            let rate: f64 = options.required("--rate")?;
            ensure!(
                rate.is_finite() && rate > 0.0,
                "--rate must be a positive number"
            );
            Command::Webhooks(WebhookArgs {
                url,
                smtp_port,
                hook_port,
                duration,
                rate,
            })
        }
        "flood" => {
            let url = url(&mut options)?;
            let smtp_port = smtp_port(&mut options)?;
            let pid: u32 = options.required("--pid")?;
            let big: usize = options.optional("--big")?.unwrap_or(200);
            let valid: usize = options.optional("--valid")?.unwrap_or(200);
            let password_bytes: usize = options.optional("--password-bytes")?.unwrap_or(1 << 20);
            ensure!(
                big + valid >= 1 && big + valid <= 10_000,
                "--big and --valid must add up to between 1 and 10000"
            );
            Command::Flood(FloodArgs {
                url,
                smtp_port,
                pid,
                big,
                valid,
                password_bytes,
            })
        }
        "probe" => Command::Probe {
            url: url(&mut options)?,
        },
        other => bail!("unknown command {other:?}"),
    };
    options.reject_leftovers()?;
    Ok(command)
}

fn seconds(options: &mut Options) -> anyhow::Result<u64> {
    let seconds: u64 = options.required("--seconds")?;
    ensure!(seconds >= 1, "--seconds must be at least 1");
    Ok(seconds)
}

/// `--url`, without its trailing slashes.
fn url(options: &mut Options) -> anyhow::Result<String> {
    let url: String = options.required("--url")?;
    ensure!(
        url.starts_with("http://") || url.starts_with("https://"),
        "--url must start with http:// or https://"
    );
    Ok(url.trim_end_matches('/').to_string())
}

fn smtp_port(options: &mut Options) -> anyhow::Result<u16> {
    let smtp_port: u16 = options.required("--smtp-port")?;
    ensure!(smtp_port != 0, "--smtp-port must be a real port, not 0");
    Ok(smtp_port)
}

fn email(options: &mut Options) -> anyhow::Result<String> {
    let email: String = options.required("--email")?;
    ensure!(email.contains('@'), "--email must be an email address");
    Ok(email)
}

fn sql_args(options: &mut Options) -> anyhow::Result<SqlArgs> {
    let server: String = options.required("--server")?;
    let database_url: String = options.required("--database-url")?;
    Ok(SqlArgs {
        run: signed_in_args(options)?,
        server: server.into(),
        database_url,
    })
}

fn users(options: &mut Options) -> anyhow::Result<usize> {
    let users: usize = options.required("--users")?;
    ensure!(
        (1..=1000).contains(&users),
        "--users must be between 1 and 1000"
    );
    Ok(users)
}

fn signed_in_args(options: &mut Options) -> anyhow::Result<SignedInArgs> {
    let url = url(options)?;
    let smtp_port = smtp_port(options)?;
    let duration = Duration::from_secs(seconds(options)?);
    let connections: usize = options.required("--connections")?;
    ensure!(connections >= 1, "--connections must be at least 1");
    let threads: usize = options.optional("--threads")?.unwrap_or(1);
    ensure!(
        (1..=256).contains(&threads),
        "--threads must be between 1 and 256"
    );
    Ok(SignedInArgs {
        url,
        smtp_port,
        duration,
        connections,
        threads,
    })
}

fn register_args(options: &mut Options) -> anyhow::Result<RegisterArgs> {
    let url = url(options)?;
    let smtp_port = smtp_port(options)?;
    let duration = Duration::from_secs(seconds(options)?);
    let connections: Option<usize> = options.optional("--connections")?;
    let rate: Option<f64> = options.optional("--rate")?;
    let load = match (connections, rate) {
        (Some(c), None) => {
            ensure!(c >= 1, "--connections must be at least 1");
            Load::Connections(c)
        }
        (None, Some(r)) => {
            ensure!(r.is_finite() && r > 0.0, "--rate must be a positive number");
            Load::Rate(r)
        }
        (Some(_), Some(_)) => bail!("give either --connections or --rate, not both"),
        (None, None) => bail!("give --connections (saturation) or --rate (fixed rate)"),
    };
    Ok(RegisterArgs {
        url,
        smtp_port,
        duration,
        load,
    })
}

/// `--name value` pairs, taken out one by one so that whatever is left was not understood.
struct Options(BTreeMap<String, String>);

impl Options {
    fn parse(args: &[String]) -> anyhow::Result<Self> {
        let mut map = BTreeMap::new();
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            ensure!(arg.starts_with("--"), "unexpected argument {arg:?}");
            let (name, value) = match arg.split_once('=') {
                Some((name, value)) => (name.to_string(), value.to_string()),
                None => {
                    let value = args
                        .next()
                        .with_context(|| format!("{arg} needs a value"))?;
                    (arg.clone(), value.clone())
                }
            };
            if map.insert(name.clone(), value).is_some() {
                bail!("{name} is given twice");
            }
        }
        Ok(Self(map))
    }

    fn optional<T>(&mut self, name: &str) -> anyhow::Result<Option<T>>
    where
        T: FromStr,
        T::Err: Display,
    {
        self.0
            .remove(name)
            .map(|raw| {
                raw.parse::<T>()
                    .map_err(|e| anyhow!("{name} {raw:?} does not parse: {e}"))
            })
            .transpose()
    }

    fn required<T>(&mut self, name: &str) -> anyhow::Result<T>
    where
        T: FromStr,
        T::Err: Display,
    {
        self.optional(name)?
            .with_context(|| format!("{name} is required"))
    }

    fn reject_leftovers(self) -> anyhow::Result<()> {
        match self.0.keys().next() {
            Some(name) => bail!("unknown option {name}"),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(line: &str) -> anyhow::Result<Command> {
        parse(line.split_whitespace().map(String::from))
    }

    #[test]
    fn parses_the_three_runs() {
        assert!(matches!(
            parse_str("argon2 --seconds 15"),
            Ok(Command::Argon2 { seconds: 15 })
        ));
        let Ok(Command::Register(saturation)) = parse_str(
            "register --url http://127.0.0.1:1/ --smtp-port 2 --seconds 20 --connections 8",
        ) else {
            panic!("saturation run does not parse");
        };
        assert_eq!(saturation.url, "http://127.0.0.1:1");
        assert!(matches!(saturation.load, Load::Connections(8)));
        let Ok(Command::Register(rate)) =
            parse_str("register --url=http://h:1 --smtp-port=2 --seconds=20 --rate=25")
        else {
            panic!("rate run does not parse");
        };
        assert!(matches!(rate.load, Load::Rate(r) if (r - 25.0).abs() < f64::EPSILON));
    }

    #[test]
    fn parses_the_flood() {
        let Ok(Command::Flood(flood)) =
            parse_str("flood --url http://127.0.0.1:1/ --smtp-port 2 --pid 42")
        else {
            panic!("flood does not parse");
        };
        assert_eq!(flood.pid, 42);
        assert_eq!((flood.big, flood.valid), (200, 200));
        assert_eq!(flood.password_bytes, 1 << 20);
        let Ok(Command::Flood(small)) = parse_str(
            "flood --url http://h:1 --smtp-port 2 --pid 1 --big 3 --valid 0 --password-bytes 10",
        ) else {
            panic!("flood with sizes does not parse");
        };
        assert_eq!((small.big, small.valid, small.password_bytes), (3, 0, 10));
        let Ok(Command::Probe { url }) = parse_str("probe --url http://127.0.0.1:1/") else {
            panic!("the flood's probe does not parse");
        };
        assert_eq!(url, "http://127.0.0.1:1");
    }

    #[test]
    fn parses_the_signed_in_runs() {
        let Ok(Command::Profile(profile)) = parse_str(
            "profile --url http://127.0.0.1:1/ --smtp-port 2 --seconds 20 --connections 32",
        ) else {
            panic!("profile run does not parse");
        };
        assert_eq!(profile.url, "http://127.0.0.1:1");
        assert_eq!(profile.smtp_port, 2);
        assert_eq!(profile.duration, Duration::from_secs(20));
        assert_eq!(profile.connections, 32);
        assert_eq!(profile.threads, 1);
        let Ok(Command::Token(token)) = parse_str(
            "token --url=http://h:1 --smtp-port=2 --seconds=10 --connections=8 --threads=2",
        ) else {
            panic!("token run does not parse");
        };
        assert_eq!(token.connections, 8);
        assert_eq!(token.threads, 2);
        let Ok(Command::AdminSearch(search)) = parse_str(
            "admin-search --url http://h:1 --smtp-port 2 --email a@b.example --seconds 15 \
             --connections 8",
        ) else {
            panic!("admin-search run does not parse");
        };
        assert_eq!(search.email, "a@b.example");
        assert_eq!(search.run.connections, 8);
        assert_eq!(search.run.duration, Duration::from_secs(15));
        let Ok(Command::ProductsSearch(products)) = parse_str(
            "products-search --url http://h:1 --smtp-port 2 --seconds 15 --connections 32",
        ) else {
            panic!("products-search run does not parse");
        };
        assert_eq!(products.connections, 32);
        let Ok(Command::PlaceOrder(orders)) = parse_str(
            "place-order --url http://h:1 --smtp-port 2 --seconds 15 --connections 32 --users 8",
        ) else {
            panic!("place-order run does not parse");
        };
        assert_eq!(orders.users, 8);
        assert_eq!(orders.run.connections, 32);
    }

    #[test]
    fn refuses_what_it_does_not_understand() {
        for bad in [
            "argon2",
            "argon2 --seconds 0",
            "argon2 --seconds 5 --threads 2",
            "argon2 --seconds 5 --seconds 6",
            "register --url http://h --smtp-port 2 --seconds 5",
            "register --url http://h --smtp-port 2 --seconds 5 --rate 1 --connections 1",
            "register --url h --smtp-port 2 --seconds 5 --rate 1",
            "register --url http://h --smtp-port 2 --seconds 5 --rate -1",
            "register --url http://h --smtp-port 2 --seconds 5 --rate 1 --threads 2",
            "profile --url http://h --smtp-port 2 --seconds 5",
            "profile --url http://h --smtp-port 2 --seconds 5 --connections 0",
            "profile --url http://h --smtp-port 2 --seconds 5 --rate 10",
            "profile --url http://h --smtp-port 0 --seconds 5 --connections 1",
            "token --url http://h --smtp-port 2 --seconds 5 --connections 1 --threads 0",
            "token --url h --smtp-port 2 --seconds 5 --connections 1",
            "token --url http://h --smtp-port 2 --seconds 5 --connections 1 --email a@b",
            "admin-search --url http://h --smtp-port 2 --seconds 5 --connections 1",
            "admin-search --url http://h --smtp-port 2 --seconds 5 --connections 1 --email ab",
            "admin-search --url http://h --smtp-port 2 --email a@b --seconds 5 --connections 1 --password x",
            "place-order --url http://h --smtp-port 2 --seconds 5 --connections 1",
            "place-order --url http://h --smtp-port 2 --seconds 5 --connections 1 --users 0",
            "products-search --url http://h --smtp-port 2 --seconds 5 --connections 1 --users 2",
            "flood --url http://h --smtp-port 2",
            "flood --url http://h --smtp-port 2 --pid 1 --big 0 --valid 0",
            "probe",
            "probe --url http://h --pid 1",
            "fly --seconds 1",
        ] {
            assert!(parse_str(bad).is_err(), "{bad}");
        }
    }
}
