//! Every email the app sends, as an SMTP server receives it: subject, both bodies decoded, the
//! greeting, the code, the expiry, the links, HTML escaping, and nothing of the templates left.

use reqwest::Method;
use serde_json::{Value, json};

use crate::{
    helpers::{Person, TestApp, body, spawn_app_with},
    smtp::ReceivedMail,
};

/// Where the app says it lives; every link in an email must start with it.
const BASE_URL: &str = "http://accounts.example:8080";

/// A first name with every character that means something in HTML.
const FIRST_NAME: &str = "Ada <b>&\"'";

async fn spawn() -> TestApp {
    spawn_app_with(&[("APP_BASE_URL", BASE_URL)]).await
}

/// A new person with the hostile first name.
fn person() -> Person {
    let mut person = Person::new();
    person.first_name = FIRST_NAME.into();
    person
}

/// Registers `person` (first email: the activation) and activates them.
async fn activated(app: &TestApp, person: &Person) {
    let response = app.register(person).await;
    assert_eq!(
        response.status(),
        201,
        "a first name like {FIRST_NAME:?} is allowed: {}",
        response.text().await.unwrap_or_default()
    );
    let code = app.mail.wait_for(&person.email).await.code();
    assert_eq!(app.activate(person, &code).await.status(), 200);
}

/// The `n`th email to `recipient`.
async fn nth_mail(app: &TestApp, recipient: &str, n: usize) -> ReceivedMail {
    app.mail
        .wait_for_nth(recipient, n, crate::smtp::MAIL_WITHIN)
        .await
}

async fn post(app: &TestApp, token: &str, path: &str, payload: Value) -> reqwest::Response {
    app.bearer(Method::POST, path, token)
        .json(&payload)
        .send()
        .await
        .expect("request")
}

/// What every email must be: for `recipient` alone, with a text and an HTML part, greeting the
/// person by first name (escaped in the HTML only), linking only to the app, and with nothing of
/// the templates or of the Rust source left in it. Returns the decoded (text, HTML) bodies.
fn well_formed(mail: &ReceivedMail, recipient: &str) -> (String, String) {
    assert!(
        mail.recipients.len() == 1 && mail.recipients[0].eq_ignore_ascii_case(recipient),
        "sent to {:?}, not {recipient}",
        mail.recipients
    );
    let content_type = mail.header("content-type").unwrap_or_default();
    assert!(
        content_type.starts_with("multipart/alternative"),
        "{content_type}"
    );
    let (text, html) = (mail.text_body(), mail.html_body());
    for (part, content) in [("text", &text), ("HTML", &html)] {
        assert!(!content.trim().is_empty(), "an empty {part} part");
        for leftover in ["{{", "}}", "{%", "%}"] {
            assert!(
                !content.contains(leftover),
                "{leftover} left in the {part} part:\n{content}"
            );
        }
        assert!(
            !content.contains('\\'),
            "a stray backslash in the {part} part:\n{content}"
        );
    }
    // The text part has no indented lines; in the HTML only markup may be indented, never the
    // words (as when a Rust string continuation leaves its indentation in a sentence).
    let indented = text.lines().find(|line| line.starts_with([' ', '\t']));
    assert_eq!(indented, None, "an indented line in the text part:\n{text}");
    let indented = html
        .lines()
        .find(|line| line.starts_with([' ', '\t']) && !line.trim_start().starts_with('<'));
    assert_eq!(indented, None, "indented words in the HTML part:\n{html}");

    assert_greeting(&text, &html);
    for url in text_urls(&text) {
        assert!(
            url.starts_with(&format!("{BASE_URL}/")),
            "a link not to the app in the text part: {url}"
        );
    }
    for href in hrefs(&html) {
        assert!(
            href.starts_with(&format!("{BASE_URL}/")),
            "a link not to the app in the HTML part: {href}"
        );
    }
    (text, html)
}

/// "Hello <first name>," as written in the text part, and escaped in the HTML part.
fn assert_greeting(text: &str, html: &str) {
    assert!(
        text.contains(&format!("Hello {FIRST_NAME},")),
        "the text part greets by the first name as given:\n{text}"
    );
    assert!(
        !text.contains("&lt;"),
        "the text part is not escaped:\n{text}"
    );

    let start = html
        .find("Hello ")
        .unwrap_or_else(|| panic!("no greeting in the HTML part:\n{html}"))
        + "Hello ".len();
    let greeted = &html[start..];
    let greeted = &greeted[..greeted
        .find(',')
        .unwrap_or_else(|| panic!("no comma after the name in the HTML part:\n{html}"))];
    assert!(
        !greeted.contains(['<', '>', '"', '\'']),
        "the first name is not escaped in the HTML part: {greeted}"
    );
    assert_eq!(
        unescape_html(greeted),
        FIRST_NAME,
        "the HTML part greets by the first name"
    );
    assert!(!html.contains("<b>"), "markup from the name in:\n{html}");
}

/// The code alone on a line of the text part and alone in an element of the HTML part.
fn assert_code(text: &str, html: &str, code: &str, digits: usize) {
    assert!(
        code.len() == digits && code.bytes().all(|b| b.is_ascii_digit()),
        "a {digits}-digit code: {code}"
    );
    assert!(
        text.lines().any(|line| line == code),
        "the code {code} on a line of its own:\n{text}"
    );
    assert!(
        html.contains(&format!(">{code}<")),
        "the code {code} in an element of its own:\n{html}"
    );
}

/// Neither part carries anything that looks like a code (a line, or an element, of digits).
fn assert_no_code(text: &str, html: &str) {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    assert!(
        !text.lines().any(|line| digits(line.trim())),
        "a code in a notice:\n{text}"
    );
    assert!(
        !html
            .split('>')
            .filter_map(|rest| rest.split('<').next())
            .any(|element| digits(element.trim())),
        "a code in a notice:\n{html}"
    );
}

/// Both parts say when the code expires: the default lifetime is 60 s.
fn assert_expires_in_one_minute(text: &str, html: &str) {
    assert_expires_in(text, html, "one minute");
}

fn assert_expires_in(text: &str, html: &str, lifetime: &str) {
    for (part, content) in [("text", text), ("HTML", html)] {
        assert!(
            content.contains(&format!("expires in {lifetime}")),
            "the expiry in the {part} part:\n{content}"
        );
    }
}

/// Both parts link to `path` of the app: the text part with the bare address, the HTML part
/// with an `<a href>`.
fn assert_links_to(text: &str, html: &str, path: &str) {
    let url = format!("{BASE_URL}{path}");
    assert!(
        text_urls(text).contains(&url.as_str()),
        "{url} in the text part:\n{text}"
    );
    assert!(
        hrefs(html).contains(&url),
        "a link to {url} in the HTML part:\n{html}"
    );
}

/// Every `http://` or `https://` address in a text.
fn text_urls(text: &str) -> Vec<&str> {
    let mut urls = Vec::new();
    let mut rest = text;
    while let Some(start) = ["http://", "https://"]
        .iter()
        .filter_map(move |scheme| rest.find(scheme))
        .min()
    {
        let url = &rest[start..];
        let end = url
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>'))
            .unwrap_or(url.len());
        urls.push(&url[..end]);
        rest = &url[end..];
    }
    urls
}

/// The targets of every `href="…"` in an HTML document, character references decoded.
fn hrefs(html: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .map(|rest| unescape_html(rest.split('"').next().unwrap_or_default()))
        .collect()
}

/// Decodes the character references of an HTML text; panics on a bare `&`.
fn unescape_html(escaped: &str) -> String {
    fn numeric(reference: &str) -> Option<char> {
        let digits = reference.strip_prefix('#')?;
        let code = match digits.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => digits.parse().ok()?,
        };
        char::from_u32(code)
    }
    let mut out = String::with_capacity(escaped.len());
    let mut rest = escaped;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let end = after
            .find(';')
            .unwrap_or_else(|| panic!("a bare & in {escaped:?}"));
        let reference = &after[..end];
        let decoded = match reference {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => numeric(reference),
        };
        out.push(decoded.unwrap_or_else(|| {
            panic!("&{reference}; is not a character reference (a bare & in {escaped:?})")
        }));
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

#[tokio::test]
async fn the_activation_email_on_registering() {
    let app = spawn().await;
    let person = person();
    assert_eq!(app.register(&person).await.status(), 201);
    let mail = app.mail.wait_for(&person.email).await;
    let code = mail.code();
    assert_eq!(mail.subject(), format!("{code} is your activation code"));
    let (text, html) = well_formed(&mail, &person.email);
    assert_code(&text, &html, &code, 4);
    assert_expires_in_one_minute(&text, &html);
    assert_links_to(&text, &html, "/activate");
    assert_eq!(app.activate(&person, &code).await.status(), 200);
}

#[tokio::test]
async fn the_activation_email_on_resending_the_code() {
    let app = spawn().await;
    let person = person();
    app.register_and_get_code(&person).await;
    app.age_code(&person.email, 31.0).await;
    assert_eq!(app.resend(&person).await.status(), 200);
    let mail = nth_mail(&app, &person.email, 2).await;
    let code = mail.code();
    assert_eq!(mail.subject(), format!("{code} is your activation code"));
    let (text, html) = well_formed(&mail, &person.email);
    assert_code(&text, &html, &code, 4);
    assert_expires_in_one_minute(&text, &html);
    assert_links_to(&text, &html, "/activate");
    assert_eq!(app.activate(&person, &code).await.status(), 200);
}

/// Asks for `person`'s email to become a new address; returns (token, new address).
async fn change_email(app: &TestApp, person: &Person) -> (String, String) {
    activated(app, person).await;
    let token = app.token(person).await;
    let new_email = Person::new().email;
    let response = post(
        app,
        &token,
        "/api/change-email",
        json!({"new_email": new_email, "password": person.password}),
    )
    .await;
    assert_eq!(response.status(), 200);
    (token, new_email)
}

#[tokio::test]
async fn the_email_change_code_goes_to_the_new_address() {
    let app = spawn().await;
    let person = person();
    let (token, new_email) = change_email(&app, &person).await;
    let mail = app.mail.wait_for(&new_email).await;
    let code = mail.code();
    assert_eq!(
        mail.subject(),
        format!("{code} is your code to confirm this email address")
    );
    let (text, html) = well_formed(&mail, &new_email);
    assert_code(&text, &html, &code, 4);
    assert_expires_in_one_minute(&text, &html);
    let response = post(&app, &token, "/api/confirm-email", json!({"code": code})).await;
    assert_eq!(response.status(), 200);
    assert_eq!(body(response).await["email"], new_email.as_str());
}

#[tokio::test]
async fn the_email_change_notice_goes_to_the_old_address() {
    let app = spawn().await;
    let person = person();
    let (_, new_email) = change_email(&app, &person).await;
    let mail = nth_mail(&app, &person.email, 2).await;
    assert_eq!(mail.subject(), "Your email address is about to change");
    let (text, html) = well_formed(&mail, &person.email);
    for (part, content) in [("text", &text), ("HTML", &html)] {
        assert!(
            content.contains(&new_email),
            "the {part} part names the new address:\n{content}"
        );
    }
    assert_no_code(&text, &html);
    assert_links_to(&text, &html, "/login");
}

#[tokio::test]
async fn the_password_changed_notice() {
    let app = spawn().await;
    let person = person();
    activated(&app, &person).await;
    let token = app.token(&person).await;
    let response = post(
        &app,
        &token,
        "/api/change-password",
        json!({"current_password": person.password, "new_password": "a brand new password"}),
    )
    .await;
    assert_eq!(response.status(), 200);
    let mail = nth_mail(&app, &person.email, 2).await;
    assert_eq!(mail.subject(), "Your password was changed");
    let (text, html) = well_formed(&mail, &person.email);
    assert!(text.contains("password"), "{text}");
    assert_no_code(&text, &html);
    assert_links_to(&text, &html, "/login");
}

#[tokio::test]
async fn the_password_reset_code() {
    let app = spawn().await;
    let person = person();
    activated(&app, &person).await;
    let response = app
        .post_json(
            "/api/request-password-reset",
            &json!({"email": person.email}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let mail = nth_mail(&app, &person.email, 2).await;
    let code = mail.code();
    assert_eq!(
        mail.subject(),
        format!("{code} is your password reset code")
    );
    let (text, html) = well_formed(&mail, &person.email);
    assert_code(&text, &html, &code, 10);
    assert_expires_in(&text, &html, "10 minutes");
    let response = app
        .post_json(
            "/api/reset-password",
            &json!({"email": person.email, "code": code, "new_password": "a fresh new password"}),
        )
        .await;
    assert_eq!(response.status(), 200, "the emailed code resets");
}

#[tokio::test]
async fn the_goodbye_email_after_deleting_the_account() {
    let app = spawn().await;
    let person = person();
    activated(&app, &person).await;
    let token = app.token(&person).await;
    let response = post(
        &app,
        &token,
        "/api/delete-account",
        json!({"password": person.password}),
    )
    .await;
    assert_eq!(response.status(), 200);
    let mail = nth_mail(&app, &person.email, 2).await;
    assert_eq!(mail.subject(), "Your account was deleted");
    let (text, html) = well_formed(&mail, &person.email);
    for (part, content) in [("text", &text), ("HTML", &html)] {
        assert!(
            content.contains("deleted"),
            "the {part} part says what happened:\n{content}"
        );
    }
    assert_no_code(&text, &html);
}
