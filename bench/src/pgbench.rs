//! The limit a signed-in read is measured against: the server's own session lookup (printed by
//! `server statements`, so it cannot drift from the code) run by `pgbench -M prepared` on the
//! same database at the same concurrency, with a real session's token hash. What the app
//! answers per second over what Postgres alone answers is the share the stack keeps.

use std::{path::PathBuf, process::Command};

use anyhow::{Context as _, bail, ensure};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::{account, args::SqlArgs, http, report, smtp_sink::SmtpSink};

/// The idle timeout the lookup is given (`$3`): any value above a minute finds the new session.
const IDLE_SECS: u64 = 1800;

pub async fn run(args: SqlArgs) -> anyhow::Result<()> {
    let client = http::client(1)?;
    let url = &args.run.url;
    http::check_ready(&client, url).await?;
    let sink = SmtpSink::start(args.run.smtp_port).await?;
    let account = account::activated(&client, url, &sink).await?;
    let token = account.token(&client, url).await?;
    drop(sink);

    let lookup = statement(&args.server, "session-lookup")?;
    let script = script_of(&lookup, &["token_hash", "kind", "idle_secs"])?;
    let file =
        std::env::temp_dir().join(format!("bench-session-lookup-{}.sql", std::process::id()));
    std::fs::write(&file, script).context("could not write the pgbench script")?;
    let output = Command::new("pgbench")
        .args(["-n", "-M", "prepared", "-j", "2"])
        .arg("-c")
        .arg(args.run.connections.to_string())
        .arg("-T")
        .arg(args.run.duration.as_secs().to_string())
        .arg("-f")
        .arg(&file)
        .arg("-D")
        .arg(format!(
            "token_hash=\\x{}",
            hex(&Sha256::digest(token.as_bytes()))
        ))
        .args(["-D", "kind=bearer", "-D"])
        .arg(format!("idle_secs={IDLE_SECS}"))
        .arg(&args.database_url)
        .output()
        .context("could not run pgbench (Debian's postgresql-contrib or postgresql package)")?;
    let _ = std::fs::remove_file(&file);
    let text = String::from_utf8_lossy(&output.stdout);
    ensure!(
        output.status.success(),
        "pgbench failed: {}{}",
        text,
        String::from_utf8_lossy(&output.stderr)
    );
    let figures = Figures::parse(&text)?;
    report::emit(
        &[format!(
            "the server's session lookup in pgbench -M prepared, {} clients, {} s: \
             {:.0} transactions/s, latency average {:.3} ms, {} failed",
            args.run.connections,
            args.run.duration.as_secs(),
            figures.tps,
            figures.latency_ms,
            figures.failed,
        )],
        &json!({
            "name": "profile-sql",
            "connections": args.run.connections,
            "seconds": args.run.duration.as_secs(),
            "tps": figures.tps,
            "latency_avg_ms": figures.latency_ms,
            "failed": figures.failed,
        }),
    );
    ensure!(
        figures.failed == 0,
        "{} pgbench transactions failed",
        figures.failed
    );
    Ok(())
}

/// The statement `server statements` names `name`.
fn statement(server: &PathBuf, name: &str) -> anyhow::Result<String> {
    let output = Command::new(server)
        .arg("statements")
        .output()
        .with_context(|| format!("could not run {} statements", server.display()))?;
    ensure!(
        output.status.success(),
        "{} statements failed: {}",
        server.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let all: Value = serde_json::from_slice(&output.stdout)
        .context("server statements did not print a JSON object")?;
    all[name]
        .as_str()
        .map(str::to_string)
        .with_context(|| format!("server statements has no {name:?}"))
}

/// A pgbench script running `sql` once, its parameters `$1`, `$2`… replaced by the pgbench
/// variables `names` in order (which `-M prepared` sends as parameters again).
fn script_of(sql: &str, names: &[&str]) -> anyhow::Result<String> {
    let mut script = sql.to_string();
    // From the last, so that `$1` does not take the start of `$10`.
    for (index, name) in names.iter().enumerate().rev() {
        let placeholder = format!("${}", index + 1);
        ensure!(
            script.contains(&placeholder),
            "the statement has no {placeholder}"
        );
        script = script.replace(&placeholder, &format!(":{name}"));
    }
    if script.contains('$') {
        bail!(
            "the statement has more parameters than the {} named",
            names.len()
        );
    }
    Ok(format!("{};\n", script.trim_end()))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

/// What pgbench's report says.
#[derive(Debug, PartialEq)]
struct Figures {
    tps: f64,
    latency_ms: f64,
    failed: u64,
}

impl Figures {
    fn parse(report: &str) -> anyhow::Result<Self> {
        let after = |prefix: &str| {
            report
                .lines()
                .find_map(|line| line.trim().strip_prefix(prefix))
                .and_then(|rest| rest.split_whitespace().next())
        };
        let tps = after("tps = ")
            .and_then(|v| v.parse().ok())
            .context("pgbench printed no tps")?;
        let latency_ms = after("latency average = ")
            .and_then(|v| v.parse().ok())
            .context("pgbench printed no latency average")?;
        let failed = after("number of failed transactions: ")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        Ok(Self {
            tps,
            latency_ms,
            failed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_become_pgbench_variables() {
        let script = script_of(
            "select 1 from t where a = $1 and b = $2 and c = $1",
            &["first", "second"],
        )
        .expect("a script");
        assert_eq!(
            script,
            "select 1 from t where a = :first and b = :second and c = :first;\n"
        );
        assert!(script_of("select $1, $2", &["only"]).is_err());
        assert!(script_of("select $2", &["a", "b"]).is_err());
    }

    #[test]
    fn the_report_gives_rate_latency_and_failures() {
        let report = "transaction type: lookup.sql\nscaling factor: 1\nquery mode: prepared\n\
            number of clients: 32\nnumber of threads: 2\nduration: 20 s\n\
            number of transactions actually processed: 560000\n\
            number of failed transactions: 0 (0.000%)\nlatency average = 1.137 ms\n\
            initial connection time = 40.139 ms\ntps = 28123.456789 (without initial connection time)\n";
        assert_eq!(
            Figures::parse(report).expect("figures"),
            Figures {
                tps: 28123.456789,
                latency_ms: 1.137,
                failed: 0
            }
        );
        assert!(Figures::parse("nothing").is_err());
    }
}
