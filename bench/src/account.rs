//! One activated account for a run, the way a person gets one: register, read the code from
//! the activation email's subject, activate with it, then sign in for a bearer token.

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use base64::{Engine as _, engine::general_purpose::STANDARD};
use reqwest::{Client, Response, header::AUTHORIZATION};
use serde::Deserialize;
use serde_json::json;

use crate::{identity::Identities, smtp_sink::SmtpSink};

/// How long to wait for the activation email (the code itself is valid for a minute).
const EMAIL_WAIT: Duration = Duration::from_secs(10);

/// How often to look into the sink while waiting.
const EMAIL_POLL: Duration = Duration::from_millis(50);

/// An activated account's credentials.
pub struct Account {
    pub email: String,
    pub password: String,
}

/// The part of `POST /api/token`'s answer the bench uses.
#[derive(Deserialize)]
struct TokenIssued {
    token: String,
}

/// Registers a new person and activates the account with the code the server emails to
/// `sink`.
pub async fn activated(client: &Client, url: &str, sink: &SmtpSink) -> anyhow::Result<Account> {
    let identity = Identities::random().fresh();
    let response = client
        .post(format!("{url}/api/register"))
        .json(&identity.request())
        .send()
        .await
        .context("POST /api/register failed")?;
    expect_status(response, 201, "POST /api/register").await?;

    let subject = await_subject(sink, &identity.email, EMAIL_WAIT).await?;
    let code = activation_code(&subject)
        .with_context(|| format!("no activation code in the subject {subject:?}"))?;

    let response = client
        .post(format!("{url}/api/activate"))
        .header(AUTHORIZATION, basic(&identity.email, &identity.password))
        .json(&json!({ "code": code }))
        .send()
        .await
        .context("POST /api/activate failed")?;
    expect_status(response, 200, "POST /api/activate").await?;

    Ok(Account {
        email: identity.email,
        password: identity.password,
    })
}

impl Account {
    /// The JSON body of `POST /api/token`.
    pub fn credentials(&self) -> serde_json::Value {
        json!({ "email": self.email, "password": self.password })
    }

    /// Signs in with `POST /api/token`; returns the bearer token.
    pub async fn token(&self, client: &Client, url: &str) -> anyhow::Result<String> {
        let response = client
            .post(format!("{url}/api/token"))
            .json(&self.credentials())
            .send()
            .await
            .context("POST /api/token failed")?;
        let response = expect_status(response, 200, "POST /api/token").await?;
        let issued: TokenIssued = response
            .json()
            .await
            .context("POST /api/token did not answer with a token")?;
        ensure!(
            !issued.token.is_empty(),
            "POST /api/token gave an empty token"
        );
        Ok(issued.token)
    }
}

/// Fails with the status and the body unless the answer has status `expected`.
async fn expect_status(response: Response, expected: u16, what: &str) -> anyhow::Result<Response> {
    let status = response.status();
    if status.as_u16() == expected {
        return Ok(response);
    }
    let body = response.text().await.unwrap_or_default();
    bail!("{what} answered {status} instead of {expected}: {body}")
}

/// Polls the sink until a message to `recipient` with a subject arrives, for at most `wait`.
async fn await_subject(sink: &SmtpSink, recipient: &str, wait: Duration) -> anyhow::Result<String> {
    let deadline = Instant::now() + wait;
    loop {
        if let Some(subject) = sink.latest_subject(recipient) {
            return Ok(subject);
        }
        if Instant::now() >= deadline {
            bail!(
                "the activation email to {recipient} did not arrive within {} s \
                 (is the server's SMTP_URL pointing at the sink's port?)",
                wait.as_secs()
            );
        }
        tokio::time::sleep(EMAIL_POLL).await;
    }
}

/// The code in an activation email's subject, `NNNN is your activation code`: the first run
/// of ASCII digits in it.
pub(crate) fn activation_code(subject: &str) -> Option<&str> {
    if !subject.contains("activation code") {
        return None;
    }
    subject
        .split(|c: char| !c.is_ascii_digit())
        .find(|part| !part.is_empty())
}

/// `Authorization: Basic …` (RFC 7617): `email:password` in standard base64.
pub(crate) fn basic(email: &str, password: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{email}:{password}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_code_from_the_subject() {
        assert_eq!(
            activation_code("0427 is your activation code"),
            Some("0427")
        );
        assert_eq!(
            activation_code("Re: 9081 is your activation code"),
            Some("9081")
        );
        assert_eq!(activation_code("is your activation code"), None);
        assert_eq!(
            activation_code("0427 is your code to confirm this email address"),
            None
        );
        assert_eq!(activation_code(""), None);
    }

    #[test]
    fn basic_credentials_are_standard_base64() {
        // The example of RFC 7617 §2.
        assert_eq!(
            basic("Aladdin", "open sesame"),
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
        // Padding and the `+` and `/` of the standard alphabet, not the URL-safe one.
        assert_eq!(basic("a", ">?"), "Basic YTo+Pw==");
    }

    #[test]
    fn the_token_request_has_the_api_field_names() {
        let account = Account {
            email: "ada@example.com".into(),
            password: "correct-horse-Pw!".into(),
        };
        let body = account.credentials();
        assert_eq!(body["email"], "ada@example.com");
        assert_eq!(body["password"], "correct-horse-Pw!");
    }
}
