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
    /// With `--keyword`, a catalogue search's statements too.
    Statements {
        keyword: Option<String>,
    },
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
  server statements [--keyword K]
                              print the SQL of the hot paths as JSON, by name (with
                              --keyword, a catalogue search for K too, with its parameters)";

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
            allow(&["keyword"])?;
            Ok(Command::Statements {
                keyword: take("keyword").ok(),
            })
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
/// - `session-lookup` is the one statement of every signed-in request (`$1` the token's
///   SHA-256, `$2` its kind, `$3` the idle timeout in seconds).
/// - `order-lock` and `order-write` are an order's transaction after it
///   (`app::services::orders::place`), and `order-write-fixed` the parameters of `order-write`
///   that are the same for every order, by number: the email's kind, the channels notified and
///   the webhook event's type; `order-email` the confirmation `order-write` stores for a
///   three-line order (`subject`, `text`, `html`), rendered by the server's own templates.
/// - `catalog-search`, with a `keyword`: the statements of a catalogue search for it and their
///   parameters (`app::services::catalog::search_statements`).
pub fn statements(keyword: Option<&str>) -> Result<String, String> {
    use app::{
        infra::{mail, webhooks},
        services::{catalog, orders},
    };
    let email = sample_confirmation()?;
    let search = keyword
        .map(|keyword| {
            catalog::search_statements(keyword).map_err(|e| format!("--keyword: {}", e.message))
        })
        .transpose()?;
    Ok(serde_json::json!({
        "catalog-search": search,
        "session-lookup": app::infra::sessions::lookup_statement(),
        "order-lock": orders::LOCK_PRODUCTS,
        "order-write": orders::WRITE_ORDER,
        "order-write-fixed": {
            "9": mail::EmailKind::OrderConfirmation.as_str(),
            "16": mail::OUTBOX_CHANNEL,
            "17": webhooks::EventType::OrderPlaced.as_str(),
            "20": webhooks::CHANNEL,
        },
        "order-email": {"subject": email.subject, "text": email.text, "html": email.html},
    })
    .to_string())
}

/// The confirmation of a three-line order, one unit of each, as `orders::place` renders it.
fn sample_confirmation() -> Result<app::infra::mail::OutgoingEmail, String> {
    use app::{
        domain::{Currency, Money},
        model,
    };

    let items: Vec<model::OrderItem> = [
        ("Indigo Kettle", 3_450),
        ("Desk Lamp", 2_199),
        ("Linen Apron", 1_800),
    ]
    .into_iter()
    .map(|(name, cents)| model::OrderItem {
        product_id: uuid::Uuid::new_v4(),
        name: name.to_string(),
        unit_price: Money::from_cents(cents),
        quantity: 1,
        line_total: Money::from_cents(cents),
        currency: Currency::EUR,
    })
    .collect();
    let order = model::Order {
        id: uuid::Uuid::new_v4(),
        status: model::OrderStatus::Placed,
        total: Money::from_cents(items.iter().map(|i| i.line_total.cents()).sum()),
        items,
        currency: Currency::EUR,
        created_at: "2026-12-08T09:50:00.000Z".to_string(),
    };
    app::infra::mail::order_email(
        app::language::Locale::default(),
        "ada.lovelace@example.com",
        "Ada",
        &order,
        &format!("https://accounts.example.com/orders/{}", order.id),
    )
    .map_err(|e| format!("could not render an order's confirmation: {e}"))
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
        Command::Serve | Command::Help | Command::Version | Command::Statements { .. } => {
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
        let all: serde_json::Value =
            serde_json::from_str(&statements(Some("Indigo  Kettles")).expect("statements"))
                .expect("JSON");
        let lookup = all["session-lookup"].as_str().expect("the session lookup");
        assert!(
            lookup.contains("from sessions") && lookup.contains("$3"),
            "{lookup}"
        );
        let write = all["order-write"].as_str().expect("an order's write");
        let fixed = all["order-write-fixed"]
            .as_object()
            .expect("its fixed parameters");
        for number in fixed.keys() {
            assert!(
                write.contains(&format!("${number}")),
                "${number} in {write}"
            );
        }
        assert_eq!(fixed["9"], "order_confirmation");
        assert!(
            all["order-lock"]
                .as_str()
                .expect("an order's lock")
                .contains("for update")
        );
        let email = &all["order-email"];
        assert!(
            email["text"]
                .as_str()
                .is_some_and(|t| t.contains("Indigo Kettle")),
            "{email}"
        );
        assert!(
            email["html"]
                .as_str()
                .is_some_and(|h| h.contains("Indigo Kettle")),
            "{email}"
        );
        // The words as the search takes them: lower case, the longest first, one parameter each.
        let search = &all["catalog-search"];
        assert_eq!(
            search["page_parameters"],
            serde_json::json!(["%kettles%", "%indigo%", "20", "0"])
        );
        assert_eq!(
            search["count_parameters"],
            serde_json::json!(["%kettles%", "%indigo%", "101"])
        );
        for statement in ["page", "count"] {
            let sql = search[statement].as_str().expect("a statement");
            assert!(
                sql.contains("search_text like $2") && !sql.contains("$5"),
                "{sql}"
            );
        }
        let nine_words: Vec<String> = (1..=9).map(|n| format!("word{n}")).collect();
        assert!(
            statements(Some(&nine_words.join(" "))).is_err(),
            "too many words"
        );
        let without: serde_json::Value =
            serde_json::from_str(&statements(None).expect("statements")).expect("JSON");
        assert!(without["catalog-search"].is_null());
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
        assert_eq!(
            parse(&args("statements")),
            Ok(Command::Statements { keyword: None })
        );
        assert_eq!(
            parse(&args("statements --keyword kettle")),
            Ok(Command::Statements {
                keyword: Some("kettle".into())
            })
        );
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
