//! The `server` binary's subcommands: making and changing administrators from a host. They
//! read `DATABASE_URL` (and every other setting) like the server, apply the migrations, and
//! call the same services as the HTTP API; each act is in the audit log as `command_line`.
//!
//! ```text
//! server                      serve (the default)
//! server create-admin --email E --first-name F --last-name L --phone P
//!                             the password from standard input (one line), or asked for
//!                             without echo on a terminal; never an argument
//! server promote --email E    make an existing account an administrator
//! server demote --email E     make an administrator a plain user (never the last one)
//! server migrate              apply the migrations and exit (what `make seed` runs first)
//! server --version            `server 0.1.0 (3f2a9c1e7b)`: the version and the commit built
//! server statements           the hot paths' SQL as JSON (for EXPLAIN, and the bench's pgbench)
//! ```

use std::{
    io::{BufRead as _, IsTerminal as _},
    process::ExitCode,
};

use app::{
    error::ApiError,
    infra::audit::Actor,
    model::{Role, Secret},
    services::{admin, registration::Form},
    state::AppState,
};

use crate::{settings::Settings, startup};

/// What the command line asked for.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    Serve,
    Help,
    Version,
    Statements,
    CreateAdmin {
        email: String,
        first_name: String,
        last_name: String,
        phone: String,
    },
    SetRole {
        email: String,
        role: Role,
    },
    Migrate,
}

pub const USAGE: &str = "usage:
  server                      serve the app (settings from the environment)
  server create-admin --email E --first-name F --last-name L --phone P
                              create an active administrator; the password is read from
                              standard input (one line), or asked for on a terminal
  server promote --email E    make an existing account an administrator
  server demote --email E     make an administrator a plain user
  server migrate              apply the database migrations and exit
  server --version, -V        print the version (and the commit it was built from)
  server statements           print the SQL of the hot paths as JSON, by name";

/// Parses the arguments after the program name; `Err` is one line for the operator.
pub fn parse(args: &[String]) -> Result<Command, String> {
    let Some((command, rest)) = args.split_first() else {
        return Ok(Command::Serve);
    };
    let flags = flags(rest)?;
    let take = |name: &str| -> Result<String, String> {
        flags
            .iter()
            .find(|(flag, _)| flag == name)
            .map(|(_, value)| value.clone())
            .ok_or_else(|| format!("{command} needs --{name}"))
    };
    let allow = |names: &[&str]| -> Result<(), String> {
        match flags
            .iter()
            .find(|(flag, _)| !names.contains(&flag.as_str()))
        {
            Some((flag, _)) => Err(format!("{command} does not take --{flag}")),
            None => Ok(()),
        }
    };
    match command.as_str() {
        "serve" => {
            allow(&[])?;
            Ok(Command::Serve)
        }
        "help" | "--help" | "-h" => Ok(Command::Help),
        "--version" | "-V" => {
            allow(&[])?;
            Ok(Command::Version)
        }
        "migrate" => {
            allow(&[])?;
            Ok(Command::Migrate)
        }
        "statements" => {
            allow(&[])?;
            Ok(Command::Statements)
        }
        "create-admin" => {
            allow(&["email", "first-name", "last-name", "phone"])?;
            Ok(Command::CreateAdmin {
                email: take("email")?,
                first_name: take("first-name")?,
                last_name: take("last-name")?,
                phone: take("phone")?,
            })
        }
        "promote" | "demote" => {
            allow(&["email"])?;
            Ok(Command::SetRole {
                email: take("email")?,
                role: if command == "promote" {
                    Role::Admin
                } else {
                    Role::User
                },
            })
        }
        other => Err(format!("unknown command `{other}`")),
    }
}

/// `server <version>`, and the commit in brackets when the build knew it (`build.rs`): what
/// `--version` prints, so a running image can be traced to its source.
pub fn version() -> String {
    let version = env!("CARGO_PKG_VERSION");
    match option_env!("SERVER_GIT_COMMIT") {
        Some(commit) => format!("server {version} ({commit})"),
        None => format!("server {version}"),
    }
}

/// The statements of the hot paths, by name, as a JSON object: what `server statements` prints.
/// `session-lookup` is the one statement of every signed-in request (`$1` the token's SHA-256,
/// `$2` its kind, `$3` the idle timeout in seconds).
pub fn statements() -> String {
    serde_json::json!({
        "session-lookup": app::infra::sessions::lookup_statement(),
    })
    .to_string()
}

/// `--name value` and `--name=value` pairs; a password flag is refused outright.
fn flags(args: &[String]) -> Result<Vec<(String, String)>, String> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let Some(flag) = arg.strip_prefix("--") else {
            return Err(format!("unexpected argument `{arg}`"));
        };
        let (name, value) = match flag.split_once('=') {
            Some((name, value)) => (name.to_string(), value.to_string()),
            None => {
                let value = args
                    .next()
                    .ok_or_else(|| format!("--{flag} needs a value"))?;
                (flag.to_string(), value.clone())
            }
        };
        if name.contains("password") {
            return Err(
                "a password is never an argument: it is read from standard input".to_string(),
            );
        }
        if out.iter().any(|(seen, _)| *seen == name) {
            return Err(format!("--{name} is given twice"));
        }
        out.push((name, value));
    }
    Ok(out)
}

/// Reads the password: one line of standard input, or a prompt without echo on a terminal.
fn read_password() -> Result<Secret, String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        let first = rpassword::prompt_password("Password: ").map_err(|e| e.to_string())?;
        let again = rpassword::prompt_password("Password again: ").map_err(|e| e.to_string())?;
        if first != again {
            return Err("the two passwords differ".to_string());
        }
        return Ok(Secret::from(first.as_str()));
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
    let line = line.strip_suffix('\n').unwrap_or(&line);
    let line = line.strip_suffix('\r').unwrap_or(line);
    Ok(Secret::from(line))
}

/// One line for an error the services answered.
fn describe(e: &ApiError) -> String {
    match &e.field {
        Some(field) => format!("{field}: {}", e.message),
        None => e.message.clone(),
    }
}

/// Runs an administrative subcommand and reports on one line.
#[allow(
    clippy::print_stdout,
    reason = "the command's one line of output is its interface"
)]
pub async fn run(command: Command, settings: Settings) -> ExitCode {
    let state = match startup::state_without_server(settings).await {
        Ok(state) => state,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = match command {
        Command::CreateAdmin {
            email,
            first_name,
            last_name,
            phone,
        } => create_admin(&state, email, first_name, last_name, phone).await,
        Command::SetRole { email, role } => set_role(&state, &email, role).await,
        // Opening the state applied them.
        Command::Migrate => Ok("the database's migrations are applied".to_string()),
        Command::Serve | Command::Help | Command::Version | Command::Statements => {
            Ok(String::new())
        }
    };
    match outcome {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(line) => {
            eprintln!("error: {line}");
            ExitCode::FAILURE
        }
    }
}

async fn create_admin(
    state: &AppState,
    email: String,
    first_name: String,
    last_name: String,
    phone: String,
) -> Result<String, String> {
    let password = read_password()?;
    let form = Form {
        first_name,
        last_name,
        email,
        phone_number: phone,
        password,
    };
    let created = admin::create_admin(state, form)
        .await
        .map_err(|e| describe(&e))?;
    Ok(format!(
        "created administrator {} (id {})",
        created.email, created.user_id
    ))
}

async fn set_role(state: &AppState, email: &str, role: Role) -> Result<String, String> {
    let user_id = admin::find_by_email(state, email)
        .await
        .map_err(|e| describe(&e))?;
    let user = admin::set_role(
        state,
        &Actor::command_line(),
        &user_id.to_string(),
        role.as_str(),
    )
    .await
    .map_err(|e| describe(&e))?;
    Ok(format!("{} is now {}", user.email, user.role))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn statements_are_json_by_name() {
        let all: serde_json::Value = serde_json::from_str(&statements()).expect("JSON");
        let lookup = all["session-lookup"].as_str().expect("the session lookup");
        assert!(
            lookup.contains("from sessions") && lookup.contains("$3"),
            "{lookup}"
        );
    }

    #[test]
    fn subcommands_parse() {
        assert_eq!(parse(&[]), Ok(Command::Serve));
        assert_eq!(
            parse(&args(
                "create-admin --email a@b.example --first-name=Ada --last-name Lovelace --phone +447700900123"
            )),
            Ok(Command::CreateAdmin {
                email: "a@b.example".into(),
                first_name: "Ada".into(),
                last_name: "Lovelace".into(),
                phone: "+447700900123".into(),
            })
        );
        assert_eq!(parse(&args("migrate")), Ok(Command::Migrate));
        assert_eq!(parse(&args("--version")), Ok(Command::Version));
        assert_eq!(parse(&args("-V")), Ok(Command::Version));
        assert_eq!(parse(&args("statements")), Ok(Command::Statements));
        assert_eq!(
            parse(&args("demote --email a@b.example")),
            Ok(Command::SetRole {
                email: "a@b.example".into(),
                role: Role::User
            })
        );
    }

    #[test]
    fn mistakes_are_one_line_each() {
        for (line, expected) in [
            (
                "create-admin --email a@b.example",
                "create-admin needs --first-name",
            ),
            ("promote --email", "--email needs a value"),
            ("promote --email a --email b", "--email is given twice"),
            (
                "promote --email a --role admin",
                "promote does not take --role",
            ),
            (
                "create-admin --password hunter2",
                "a password is never an argument",
            ),
            ("frobnicate", "unknown command `frobnicate`"),
            (
                "migrate --email a@b.example",
                "migrate does not take --email",
            ),
            ("promote a@b.example", "unexpected argument `a@b.example`"),
            ("--version --email a", "--version does not take --email"),
        ] {
            let error = parse(&args(line)).expect_err(line);
            assert!(error.starts_with(expected), "{line}: {error}");
        }
    }
}
