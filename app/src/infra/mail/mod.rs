//! Emails are rows in the outbox, written in the same transaction as the change that causes
//! them; the server's mail worker delivers them (see `server/src/email_worker.rs`).
//!
//! Bodies come from the templates in `templates/` through minijinja: `.html` templates escape
//! every value, `.txt` ones do not. Every sentence is a text of `locales/<language>/mail.json`
//! (`t("hello", first_name=…)` in a template, `t_in!` in Rust), in the recipient's language:
//! the one they picked, or else the language of the request that sends the email
//! ([`language_for`]). An email is rendered when it is queued, so the outbox keeps it in that
//! language, and the row keeps the language for the `Content-Language` header.

use std::{sync::OnceLock, time::Duration};

use chrono::{DateTime, Utc};
use minijinja::{Environment, Value, context};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::{
    error::{ApiError, Context as _},
    language::{self, Locale},
    model::{human_duration_in, text_enum},
    t_in,
};

/// The channel the worker listens on; a notification is sent with every new email and
/// delivered by Postgres when the transaction commits.
pub const OUTBOX_CHANNEL: &str = "email_outbox";

text_enum! {
    /// Which email a row of the outbox is.
    pub enum EmailKind {
        Activation = "activation",
        EmailChange = "email_change",
        EmailChangeNotice = "email_change_notice",
        PasswordChanged = "password_changed",
        PasswordReset = "password_reset",
        /// Too many wrong reset codes for the address: its owner is told.
        ResetAttemptsNotice = "reset_attempts_notice",
        /// Someone registered with an address that has an account (`REGISTRATION_PREVENTS_ENUMERATION`).
        RegistrationAttempt = "registration_attempt",
        /// Someone registered with a free address and a phone number another account has.
        PhoneTakenNotice = "phone_taken_notice",
        /// Two-step sign-in turned on or off, a recovery code used, a new set, or too many
        /// wrong second-step codes.
        SecondFactorNotice = "second_factor_notice",
        Goodbye = "goodbye",
        OrderConfirmation = "order_confirmation",
    }
}

/// The language of an email to someone: the one they picked, or else the language of the request
/// that sends it (English outside a request).
pub fn language_for(picked: Option<Locale>) -> Locale {
    picked.unwrap_or_else(language::page_language)
}

/// A message ready for the outbox.
pub struct OutgoingEmail {
    pub kind: EmailKind,
    /// The language it is written in (its `Content-Language`).
    pub language: Locale,
    pub recipient: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// When the message is pointless (its code has expired): not sent after that.
    pub expires_at: Option<DateTime<Utc>>,
}

impl OutgoingEmail {
    /// A message with no code in it: worth sending however late.
    fn lasting(
        (kind, language): (EmailKind, Locale),
        recipient: &str,
        subject: &str,
        (text, html): (String, String),
    ) -> Self {
        Self {
            kind,
            language,
            recipient: recipient.to_string(),
            subject: subject.to_string(),
            text,
            html,
            expires_at: None,
        }
    }
}

impl std::fmt::Debug for OutgoingEmail {
    /// Bodies may hold a code: never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutgoingEmail")
            .field("kind", &self.kind)
            .field("recipient", &self.recipient)
            .finish_non_exhaustive()
    }
}

/// Queues `email` in the caller's transaction and wakes the worker when it commits.
pub async fn enqueue(
    conn: &mut PgConnection,
    user_id: Option<Uuid>,
    email: &OutgoingEmail,
) -> Result<(), ApiError> {
    sqlx::query(
        "with o as (
             insert into email_outbox
                 (user_id, kind, recipient, subject, text_body, html_body, expires_at, language)
             values ($1, $2, $3, $4, $5, $6, $7, $9)
         )
         select pg_notify($8, '')",
    )
    .bind(user_id)
    .bind(email.kind)
    .bind(&email.recipient)
    .bind(&email.subject)
    .bind(&email.text)
    .bind(&email.html)
    .bind(email.expires_at)
    .bind(OUTBOX_CHANNEL)
    .bind(email.language)
    .execute(conn)
    .await
    .context("queue an email")?;
    Ok(())
}

fn templates() -> &'static Environment<'static> {
    static TEMPLATES: OnceLock<Environment<'static>> = OnceLock::new();
    TEMPLATES.get_or_init(|| {
        let mut env = Environment::new();
        env.set_keep_trailing_newline(true);
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        env.add_function("t", translate);
        for (name, source) in [
            ("activation.txt", include_str!("templates/activation.txt")),
            ("activation.html", include_str!("templates/activation.html")),
            ("code.txt", include_str!("templates/code.txt")),
            ("code.html", include_str!("templates/code.html")),
            ("notice.txt", include_str!("templates/notice.txt")),
            ("notice.html", include_str!("templates/notice.html")),
            ("attempt.txt", include_str!("templates/attempt.txt")),
            ("attempt.html", include_str!("templates/attempt.html")),
            ("order.txt", include_str!("templates/order.txt")),
            ("order.html", include_str!("templates/order.html")),
        ] {
            env.add_template(name, source)
                .expect("the email templates are valid");
        }
        env
    })
}

/// A link to the app, built from `APP_BASE_URL` (a parsed URL: no quotes or angle brackets), kept
/// as it is in HTML (minijinja would write every `/` as `&#x2f;`).
fn link(url: &str) -> Value {
    Value::from_safe_string(url.to_string())
}

/// `t("key", name=value, …)` in a template: the text `mail.key` in the template's `lang`, its
/// placeholders filled (and, in `.html` templates, escaped with the rest). An unknown key or a
/// missing value fails the rendering, so a test that renders every email finds it.
fn translate(
    state: &minijinja::State,
    key: &str,
    values: minijinja::value::Kwargs,
) -> Result<String, minijinja::Error> {
    use minijinja::{Error, ErrorKind};
    let locale = state
        .lookup("lang")
        .and_then(|lang| lang.as_str().and_then(Locale::from_code))
        .ok_or_else(|| Error::new(ErrorKind::UndefinedError, "no `lang` to translate into"))?;
    let text = language::text_by_name(locale, "mail", key)
        .ok_or_else(|| Error::new(ErrorKind::UndefinedError, format!("no text mail.{key}")))?;
    let mut filled: Vec<(&str, String)> = Vec::new();
    for name in values.args() {
        filled.push((name, values.get::<Value>(name)?.to_string()));
    }
    values.assert_all_used()?;
    let pairs: Vec<(&str, &dyn std::fmt::Display)> = filled
        .iter()
        .map(|(name, value)| (*name, value as &dyn std::fmt::Display))
        .collect();
    let text = language::fill(text, &pairs);
    if text.contains("{{") {
        return Err(Error::new(
            ErrorKind::UndefinedError,
            format!("mail.{key} lacks a value: {text}"),
        ));
    }
    Ok(text)
}

/// The text and HTML bodies of template `name`, in `locale`.
fn render(name: &str, locale: Locale, values: Value) -> Result<(String, String), ApiError> {
    let values = context! { lang => locale.code(), ..values };
    let render_one = |file: String| {
        templates()
            .get_template(&file)
            .and_then(|template| template.render(&values))
            .map_err(|e| ApiError::internal(e).context("render an email"))
    };
    Ok((
        render_one(format!("{name}.txt"))?,
        render_one(format!("{name}.html"))?,
    ))
}

/// The activation email: the code in the subject and on a line of its own.
pub fn activation_email(
    locale: Locale,
    recipient: &str,
    first_name: &str,
    code: &str,
    ttl: Duration,
    activate_url: &str,
) -> Result<OutgoingEmail, ApiError> {
    let (text, html) = render(
        "activation",
        locale,
        context! {
            first_name,
            code,
            expires_in => human_duration_in(locale, ttl.as_secs()),
            activate_url => link(activate_url),
        },
    )?;
    Ok(OutgoingEmail {
        kind: EmailKind::Activation,
        language: locale,
        recipient: recipient.to_string(),
        subject: t_in!(locale, mail.activation_subject, code = code),
        text,
        html,
        expires_at: None,
    })
}

/// What a one-time-code email (other than activation) says.
pub struct CodeMessage<'a> {
    pub kind: EmailKind,
    pub language: Locale,
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
pub fn code_email(message: CodeMessage<'_>) -> Result<OutgoingEmail, ApiError> {
    let (text, html) = render(
        "code",
        message.language,
        context! {
            first_name => message.first_name,
            purpose => message.purpose,
            ignore => message.ignore,
            code => message.code,
            expires_in => human_duration_in(message.language, message.ttl.as_secs()),
        },
    )?;
    Ok(OutgoingEmail {
        kind: message.kind,
        language: message.language,
        recipient: message.recipient.to_string(),
        subject: message.subject,
        text,
        html,
        expires_at: None,
    })
}

/// A notice about a change to the account, to an address that should know.
pub fn notice_email(
    (kind, locale): (EmailKind, Locale),
    recipient: &str,
    first_name: &str,
    subject: &str,
    body: &str,
    login_url: &str,
) -> Result<OutgoingEmail, ApiError> {
    let bodies = render(
        "notice",
        locale,
        context! { first_name, subject, body, login_url => link(login_url) },
    )?;
    Ok(OutgoingEmail::lasting(
        (kind, locale),
        recipient,
        subject,
        bodies,
    ))
}

/// What an attempt to create an account came to, told to the address it named (instead of an
/// answer that would tell anyone): what happened, and one thing to do about it.
pub struct AttemptMessage<'a> {
    pub kind: EmailKind,
    pub language: Locale,
    pub recipient: &'a str,
    pub first_name: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
    /// The link's text, e.g. "Sign in or reset your password".
    pub action: &'a str,
    pub url: &'a str,
}

pub fn attempt_email(message: AttemptMessage<'_>) -> Result<OutgoingEmail, ApiError> {
    let AttemptMessage {
        kind,
        language,
        recipient,
        first_name,
        subject,
        body,
        action,
        url,
    } = message;
    let bodies = render(
        "attempt",
        language,
        context! { first_name, subject, body, action, url => link(url) },
    )?;
    Ok(OutgoingEmail::lasting(
        (kind, language),
        recipient,
        subject,
        bodies,
    ))
}

/// The confirmation of a placed order: every line, the total and a link to the order; prices
/// as the email's language writes them (`€2.20`, `2,20 €`).
pub fn order_email(
    locale: Locale,
    recipient: &str,
    first_name: &str,
    order: &crate::model::Order,
    order_url: &str,
) -> Result<OutgoingEmail, ApiError> {
    let price = |amount: crate::domain::Money, currency| amount.display_in(currency, locale);
    let lines: Vec<Value> = order
        .items
        .iter()
        .map(|item| {
            context! {
                name => item.name,
                quantity => item.quantity,
                unit_price => price(item.unit_price, item.currency),
                line_total => price(item.line_total, item.currency),
            }
        })
        .collect();
    let total = price(order.total, order.currency);
    let (text, html) = render(
        "order",
        locale,
        context! {
            first_name,
            lines,
            total,
            order_id => order.id.to_string(),
            order_url => link(order_url),
        },
    )?;
    Ok(OutgoingEmail {
        kind: EmailKind::OrderConfirmation,
        language: locale,
        recipient: recipient.to_string(),
        subject: t_in!(locale, mail.order_subject, total = total),
        text,
        html,
        expires_at: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activation_email_carries_the_code_and_the_expiry() {
        let email = activation_email(
            Locale::En,
            "ada@example.com",
            "<Ada & \"Bob\">",
            "0427",
            Duration::from_secs(60),
            "http://127.0.0.1:3000/activate",
        )
        .expect("renders");
        assert!(email.subject.contains("0427"));
        assert!(email.text.lines().any(|line| line.trim() == "0427"));
        assert!(email.text.contains("expires in one minute"));
        assert!(email.text.contains("http://127.0.0.1:3000/activate"));
        assert!(email.text.contains("Hello <Ada & \"Bob\">,"));
        assert!(
            email.html.contains("&lt;Ada &amp; &quot;Bob&quot;&gt;")
                && !email.html.contains("<Ada"),
            "{}",
            email.html
        );
        assert!(!email.text.contains("{{") && !email.html.contains("{{"));
        assert!(email.text.ends_with('\n'));
    }

    /// Every kind of email, rendered in every language: no template syntax or key name left,
    /// `<html lang>` and the row's language agree, data is escaped in HTML, and in French and
    /// German no sentence of the English email is left.
    #[test]
    fn every_email_renders_in_every_language() {
        use crate::language::named_keys;
        let render_all = |locale: Locale| -> Vec<OutgoingEmail> {
            let code = |kind| CodeMessage {
                kind,
                language: locale,
                recipient: "ada@example.com",
                first_name: "<Ada>",
                subject: t_in!(locale, mail.reset_subject, code = "123456"),
                purpose: t_in!(locale, mail.reset_purpose),
                ignore: t_in!(locale, mail.reset_ignore),
                code: "123456",
                ttl: Duration::from_secs(600),
            };
            vec![
                activation_email(
                    locale,
                    "ada@example.com",
                    "<Ada>",
                    "0427",
                    Duration::from_secs(60),
                    "http://x/activate",
                )
                .expect("activation"),
                code_email(code(EmailKind::PasswordReset)).expect("code"),
                notice_email(
                    (EmailKind::Goodbye, locale),
                    "ada@example.com",
                    "<Ada>",
                    t_in!(locale, mail.goodbye_subject),
                    t_in!(locale, mail.goodbye_body),
                    "http://x/login",
                )
                .expect("notice"),
                attempt_email(AttemptMessage {
                    kind: EmailKind::RegistrationAttempt,
                    language: locale,
                    recipient: "ada@example.com",
                    first_name: "<Ada>",
                    subject: t_in!(locale, mail.registration_attempt_subject),
                    body: t_in!(locale, mail.registration_attempt_body),
                    action: t_in!(locale, mail.registration_attempt_action),
                    url: "http://x/login",
                })
                .expect("attempt"),
                order_email(
                    locale,
                    "ada@example.com",
                    "<Ada>",
                    &sample_order(),
                    "http://x/orders/1",
                )
                .expect("order"),
            ]
        };
        let english: Vec<&str> = named_keys()
            .filter(|(name, _)| name.starts_with("mail."))
            .map(|(_, key)| crate::language::text_in(Locale::En, key))
            .filter(|text| !text.contains("{{") && text.split_whitespace().count() >= 3)
            .collect();
        for locale in Locale::ALL {
            for email in render_all(*locale) {
                assert_eq!(email.language, *locale);
                for body in [&email.subject, &email.text, &email.html] {
                    assert!(!body.contains("{{") && !body.contains("mail."), "{body}");
                }
                assert!(
                    email
                        .html
                        .contains(&format!(r#"<html lang="{}">"#, locale.code()))
                );
                assert!(email.html.contains("&lt;Ada&gt;") && !email.html.contains("<Ada>"));
                assert!(email.text.contains("<Ada>"));
                if *locale != Locale::En {
                    for sentence in &english {
                        assert!(
                            !email.text.contains(sentence) && !email.html.contains(sentence),
                            "{:?} in {}: {sentence}",
                            email.kind,
                            locale.code()
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn notices_escape_their_body_in_html_only() {
        let email = notice_email(
            (EmailKind::Goodbye, Locale::En),
            "ada@example.com",
            "Ada",
            "Your account was deleted",
            "Gone <for good>.",
            "http://127.0.0.1:3000/login",
        )
        .expect("renders");
        assert!(email.text.contains("Gone <for good>."));
        assert!(email.html.contains("Gone &lt;for good&gt;."));
        assert!(email.html.contains(r#"href="http://127.0.0.1:3000/login""#));
    }

    fn sample_order() -> crate::model::Order {
        use crate::{
            domain::{Currency, Money},
            model::{Order, OrderItem, OrderStatus},
        };
        Order {
            id: Uuid::nil(),
            status: OrderStatus::Placed,
            items: vec![
                OrderItem {
                    product_id: Uuid::nil(),
                    name: "Tea <green>".into(),
                    unit_price: Money::from_cents(220),
                    quantity: 3,
                    line_total: Money::from_cents(660),
                    currency: Currency::EUR,
                },
                OrderItem {
                    product_id: Uuid::nil(),
                    name: "Mug".into(),
                    unit_price: Money::from_cents(1000),
                    quantity: 1,
                    line_total: Money::from_cents(1000),
                    currency: Currency::EUR,
                },
            ],
            total: Money::from_cents(1660),
            currency: Currency::EUR,
            created_at: "2026-11-30T12:00:00Z".into(),
        }
    }

    #[test]
    fn order_emails_write_prices_the_way_their_language_does() {
        let mut order = sample_order();
        order.total = crate::domain::Money::from_cents(123_456);
        let email = |locale| {
            order_email(
                locale,
                "ada@example.com",
                "Ada",
                &order,
                "http://x/orders/x",
            )
            .expect("renders")
        };
        let french = email(Locale::Fr);
        assert_eq!(
            french.subject,
            "Votre commande de 1\u{202f}234,56\u{a0}€ est confirmée"
        );
        assert!(
            french
                .text
                .contains("3 × Tea <green> à 2,20\u{a0}€ = 6,60\u{a0}€\n"),
            "{}",
            french.text
        );
        assert!(
            french.html.contains("1\u{202f}234,56\u{a0}€"),
            "{}",
            french.html
        );
        let german = email(Locale::De);
        assert_eq!(
            german.subject,
            "Ihre Bestellung über 1.234,56\u{a0}€ ist bestätigt"
        );
        assert!(
            german.text.contains("Summe: 1.234,56\u{a0}€"),
            "{}",
            german.text
        );
        assert!(email(Locale::En).text.contains("Total: €1,234.56"));
    }

    #[test]
    fn order_emails_list_every_line_and_escape_names() {
        let order = sample_order();
        let email = order_email(
            Locale::En,
            "ada@example.com",
            "Ada",
            &order,
            "http://127.0.0.1:3000/orders/x",
        )
        .expect("renders");
        assert_eq!(email.subject, "Your order of €16.60 is confirmed");
        assert!(
            email.text.contains("3 × Tea <green> at €2.20 = €6.60\n"),
            "{}",
            email.text
        );
        assert!(email.text.contains("1 × Mug at €10.00 = €10.00\n"));
        assert!(email.text.contains("Total: €16.60"));
        assert!(email.html.contains("Tea &lt;green&gt;") && !email.html.contains("<green>"));
        assert!(
            email
                .html
                .contains(r#"href="http://127.0.0.1:3000/orders/x""#)
        );
    }
}
