//! Command-line parsing by hand: two subcommands and a handful of `--name value` options do
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

The register runs listen for the server's activation emails on 127.0.0.1:PORT.
Options also take the form --name=value.";

pub enum Command {
    Help,
    Argon2 { seconds: u64 },
    Register(RegisterArgs),
}

pub struct RegisterArgs {
    /// Base URL of the server, without a trailing slash.
    pub url: String,
    pub smtp_port: u16,
    pub duration: Duration,
    pub load: Load,
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

fn register_args(options: &mut Options) -> anyhow::Result<RegisterArgs> {
    let url: String = options.required("--url")?;
    ensure!(
        url.starts_with("http://") || url.starts_with("https://"),
        "--url must start with http:// or https://"
    );
    let smtp_port: u16 = options.required("--smtp-port")?;
    ensure!(smtp_port != 0, "--smtp-port must be a real port, not 0");
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
        url: url.trim_end_matches('/').to_string(),
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
            "fly --seconds 1",
        ] {
            assert!(parse_str(bad).is_err(), "{bad}");
        }
    }
}
