//! Emails are rows in the outbox, written in the same transaction as the change that causes
//! them; the server's mail worker delivers them (see `server/src/email_worker.rs`).

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

/// The channel the worker listens on; a notification is sent with every new email and
/// delivered by Postgres when the transaction commits.
pub const OUTBOX_CHANNEL: &str = "email_outbox";

/// A message ready for the outbox.
pub struct OutgoingEmail {
    pub kind: &'static str,
    pub recipient: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// When the message is pointless (its code has expired): not sent after that.
    pub expires_at: Option<DateTime<Utc>>,
}

pub async fn enqueue(
    conn: &mut PgConnection,
    user_id: Option<Uuid>,
    email: &OutgoingEmail,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into email_outbox (user_id, kind, recipient, subject, text_body, html_body, expires_at)
         values ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(user_id)
    .bind(email.kind)
    .bind(&email.recipient)
    .bind(&email.subject)
    .bind(&email.text)
    .bind(&email.html)
    .bind(email.expires_at)
    .execute(&mut *conn)
    .await?;
    sqlx::query("select pg_notify($1, '')")
        .bind(OUTBOX_CHANNEL)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The activation email: the code in the subject and on a line of its own.
pub fn activation_email(
    recipient: &str,
    first_name: &str,
    code: &str,
    ttl: Duration,
    app_base_url: &str,
) -> OutgoingEmail {
    let activate_url = format!("{}/activate", app_base_url.trim_end_matches('/'));
    let expires_in = human_duration(ttl);
    let vars = |escape: fn(&str) -> String| {
        [
            ("first_name", escape(first_name)),
            ("code", code.to_string()),
            ("expires_in", expires_in.clone()),
            ("activate_url", escape(&activate_url)),
        ]
    };
    OutgoingEmail {
        kind: "activation",
        recipient: recipient.to_string(),
        subject: format!("{code} is your activation code"),
        text: render(
            include_str!("templates/activation.txt"),
            &vars(|s| s.to_string()),
        ),
        html: render(
            include_str!("templates/activation.html"),
            &vars(escape_html),
        ),
        // Set from the code's own expiry where the code is stored.
        expires_at: None,
    }
}

/// What a one-time-code email (other than activation) says.
pub struct CodeMessage<'a> {
    pub kind: &'static str,
    pub recipient: &'a str,
    pub first_name: &'a str,
    pub subject: String,
    /// Why the code was sent, one sentence.
    pub purpose: &'a str,
    /// What to do when the person did not ask for it.
    pub ignore: &'a str,
    pub code: &'a str,
    pub ttl: Duration,
}

/// A one-time code for something other than activation (email change, password reset).
pub fn code_email(message: CodeMessage<'_>) -> OutgoingEmail {
    let expires_in = human_duration(message.ttl);
    let vars = |escape: fn(&str) -> String| {
        [
            ("first_name", escape(message.first_name)),
            ("purpose", escape(message.purpose)),
            ("ignore", escape(message.ignore)),
            ("code", message.code.to_string()),
            ("expires_in", expires_in.clone()),
        ]
    };
    OutgoingEmail {
        kind: message.kind,
        recipient: message.recipient.to_string(),
        text: render(include_str!("templates/code.txt"), &vars(|s| s.to_string())),
        html: render(include_str!("templates/code.html"), &vars(escape_html)),
        subject: message.subject,
        expires_at: None,
    }
}

/// A notice about a change to the account, to an address that should know.
pub fn notice_email(
    kind: &'static str,
    recipient: &str,
    first_name: &str,
    subject: &str,
    body: &str,
    app_base_url: &str,
) -> OutgoingEmail {
    let login_url = format!("{}/login", app_base_url.trim_end_matches('/'));
    let vars = |escape: fn(&str) -> String| {
        [
            ("first_name", escape(first_name)),
            ("subject", escape(subject)),
            ("body", escape(body)),
            ("login_url", escape(&login_url)),
        ]
    };
    OutgoingEmail {
        kind,
        recipient: recipient.to_string(),
        subject: subject.to_string(),
        text: render(
            include_str!("templates/notice.txt"),
            &vars(|s| s.to_string()),
        ),
        html: render(include_str!("templates/notice.html"), &vars(escape_html)),
        expires_at: None,
    }
}

fn render(template: &str, vars: &[(&str, String)]) -> String {
    vars.iter()
        .fold(template.to_string(), |text, (name, value)| {
            text.replace(&format!("{{{{{name}}}}}"), value)
        })
}

fn escape_html(raw: &str) -> String {
    raw.chars()
        .fold(String::with_capacity(raw.len()), |mut out, c| {
            match c {
                '&' => out.push_str("&amp;"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '"' => out.push_str("&quot;"),
                '\'' => out.push_str("&#39;"),
                c => out.push(c),
            }
            out
        })
}

/// "one minute", "5 minutes", "90 seconds".
pub fn human_duration(d: Duration) -> String {
    match d.as_secs() {
        60 => "one minute".into(),
        1 => "one second".into(),
        s if s % 60 == 0 => format!("{} minutes", s / 60),
        s => format!("{s} seconds"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activation_email_carries_the_code_and_the_expiry() {
        let email = activation_email(
            "ada@example.com",
            "<Ada>",
            "0427",
            Duration::from_secs(60),
            "http://127.0.0.1:3000/",
        );
        assert!(email.subject.contains("0427"));
        assert!(email.text.lines().any(|line| line.trim() == "0427"));
        assert!(email.text.contains("expires in one minute"));
        assert!(email.text.contains("http://127.0.0.1:3000/activate"));
        assert!(email.html.contains("&lt;Ada&gt;") && !email.html.contains("<Ada>"));
        assert!(!email.text.contains("{{") && !email.html.contains("{{"));
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human_duration(Duration::from_secs(60)), "one minute");
        assert_eq!(human_duration(Duration::from_secs(600)), "10 minutes");
        assert_eq!(human_duration(Duration::from_secs(90)), "90 seconds");
    }
}
