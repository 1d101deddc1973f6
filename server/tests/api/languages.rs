//! Which language a request gets (the switcher's cookie, the stored language, `Accept-Language`,
//! English), what says so (`<html lang>`, `Content-Language`), and that pages, API errors and
//! emails follow it.

use reqwest::header::{ACCEPT_LANGUAGE, CONTENT_LANGUAGE, COOKIE, SET_COOKIE};
use serde_json::json;

use crate::helpers::{Person, TestApp, body, spawn_app};

/// A client without a cookie store (each test's requests say their own headers), kept for the
/// whole test: one connection, as a browser keeps one.
fn plain_client() -> reqwest::Client {
    reqwest::Client::new()
}

/// A page fetched by `client` with these headers: its `Content-Language`, its `<html lang>` and
/// its HTML.
async fn page(
    client: &reqwest::Client,
    app: &TestApp,
    path: &str,
    headers: &[(&str, &str)],
) -> (String, String, String) {
    let mut request = client.get(app.url(path));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("GET a page");
    let status = response.status();
    let language = response
        .headers()
        .get(CONTENT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let html = response.text().await.expect("the page");
    assert_eq!(status, 200, "{path} with {headers:?}: {html}");
    let lang = html
        .split("<html lang=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_default()
        .to_string();
    assert_eq!(
        language, lang,
        "{path}: Content-Language and <html lang> agree"
    );
    (language, lang, html)
}

/// Signs `person` in on a client without a cookie store; the session's `name=value`.
async fn session_cookie(app: &TestApp, person: &Person) -> String {
    let response = reqwest::Client::new()
        .post(app.url("/api/login"))
        .json(&json!({"email": person.email, "password": person.password}))
        .send()
        .await
        .expect("sign in");
    assert_eq!(response.status(), 200);
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| !v.starts_with("lang="))
        .and_then(|v| v.split(';').next())
        .expect("a session cookie")
        .to_string()
}

#[tokio::test]
async fn the_header_picks_a_language_by_quality_and_region_and_an_unknown_one_falls_back_to_english()
 {
    let app = spawn_app().await;
    let client = plain_client();
    let (language, _, html) = page(
        &client,
        &app,
        "/",
        &[("accept-language", "fr-CH, de;q=0.8")],
    )
    .await;
    assert_eq!(language, "fr");
    assert!(html.contains("Votre compte, fait correctement."), "{html}");
    let (language, _, html) = page(
        &client,
        &app,
        "/",
        &[("accept-language", "de;q=0.9, fr;q=0.5")],
    )
    .await;
    assert_eq!(language, "de");
    assert!(html.contains("Ihr Konto – richtig gemacht."));
    for header in ["es, it;q=0.5", "*", "", "fr;q=0"] {
        let (language, _, html) = page(&client, &app, "/", &[("accept-language", header)]).await;
        assert_eq!(language, "en", "{header:?}");
        assert!(html.contains("Your account, done properly."));
    }
    // The browser gets its language's texts only, from a file named by their hash.
    let (_, _, html) = page(&client, &app, "/", &[("accept-language", "de")]).await;
    let texts = html
        .split("\"/texts/")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the page names its texts");
    assert!(texts.starts_with("de."), "{texts}");
    let file = app.get(&format!("/texts/{texts}")).await;
    assert_eq!(file.status(), 200);
    assert_eq!(
        file.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let strings: Vec<String> = file.json().await.expect("a JSON array of texts");
    assert!(strings.iter().any(|s| s == "Ihr Konto – richtig gemacht."));
    assert!(!strings.iter().any(|s| s == "Your account, done properly."));
    assert_eq!(
        app.get("/texts/de.0000000000000000.json").await.status(),
        404
    );
}

#[tokio::test]
async fn a_stored_language_beats_the_header_and_the_cookie_beats_both() {
    let app = spawn_app().await;
    let person = app.activated_person().await;
    let session = session_cookie(&app, &person).await;
    let response = reqwest::Client::new()
        .post(app.url("/api/update-profile"))
        .header(COOKIE, &session)
        .json(&json!({"language": "de"}))
        .send()
        .await
        .expect("update the profile");
    assert_eq!(response.status(), 200);
    let remembered: Vec<String> = response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_string))
        .collect();
    assert!(
        remembered.iter().any(|c| c.starts_with("lang=de;")),
        "the browser keeps the language picked: {remembered:?}"
    );
    assert_eq!(body(response).await["language"], "de");

    let client = plain_client();
    let french = ("accept-language", "fr-FR, fr;q=0.9");
    let (language, _, _) = page(&client, &app, "/", &[french, ("cookie", &session)]).await;
    assert_eq!(language, "de", "the stored language beats the header");
    let both = format!("{session}; lang=en");
    let (language, _, _) = page(&client, &app, "/", &[french, ("cookie", &both)]).await;
    assert_eq!(language, "en", "the switcher's cookie beats both");
    let unknown = format!("{session}; lang=xx");
    let (language, _, _) = page(&client, &app, "/", &[french, ("cookie", &unknown)]).await;
    assert_eq!(
        language, "de",
        "a cookie naming no language of ours is ignored"
    );

    // Signing in again on a browser with no choice of its own hands it the stored language.
    let response = reqwest::Client::new()
        .post(app.url("/api/login"))
        .json(&json!({"email": person.email, "password": person.password}))
        .send()
        .await
        .expect("sign in");
    assert!(
        response
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|c| c.starts_with("lang=de;"))
    );
}

#[tokio::test]
async fn the_switcher_remembers_the_choice_and_goes_back_to_a_page_of_this_site_only() {
    let app = spawn_app().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client");
    let switch = |query: &str| client.get(app.url(&format!("/language?{query}"))).send();
    let response = switch("set=fr&back=/products%3Fkeyword%3Dtea")
        .await
        .expect("switch");
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/products?keyword=tea");
    let cookie = response.headers()[SET_COOKIE].to_str().unwrap_or_default();
    assert!(
        cookie.starts_with("lang=fr; Path=/; Max-Age=31536000; SameSite=Lax"),
        "{cookie}"
    );
    let response = switch("set=de&back=//evil.example/").await.expect("switch");
    assert_eq!(response.headers()["location"], "/");
    for hostile in [
        "/%0D%0ASet-Cookie:%20x=1",
        "/%00",
        "/%7F",
        "%2F%2Fevil.example",
    ] {
        let response = switch(&format!("set=de&back={hostile}"))
            .await
            .expect("switch");
        assert_eq!(response.status(), 303, "{hostile}");
        assert_eq!(response.headers()["location"], "/", "{hostile}");
    }
    let response = switch("set=&back=/").await.expect("switch");
    assert_eq!(response.status(), 303);
    assert!(response.headers().get(SET_COOKIE).is_none());
    let response = switch("back=/").await.expect("switch");
    assert!(
        response.status().is_client_error(),
        "no language named: {}",
        response.status()
    );
    let response = switch("set=xx&back=/login").await.expect("switch");
    assert_eq!(response.headers()["location"], "/login");
    assert!(response.headers().get(SET_COOKIE).is_none());
}

#[tokio::test]
async fn update_profile_takes_a_language_of_ours_or_null_and_refuses_anything_else() {
    let app = spawn_app().await;
    let person = app.activated_person().await;
    assert_eq!(
        app.login(&person.email, &person.password).await.status(),
        200
    );
    for refused in [
        json!("xx"),
        json!("fr-FR"),
        json!("FR"),
        json!(7),
        json!(["fr"]),
    ] {
        let response = app
            .post_json("/api/update-profile", &json!({ "language": refused }))
            .await;
        assert_eq!(response.status(), 422, "{refused}");
        let error = body(response).await;
        assert_eq!(error["error"], "invalid");
        assert_eq!(error["field"], "language", "{refused}");
    }
    let response = app
        .post_json("/api/update-profile", &json!({"language": "fr"}))
        .await;
    assert_eq!(body(response).await["language"], "fr");
    let profile = body(app.get("/api/profile").await).await;
    assert_eq!(profile["language"], "fr");
    let response = app
        .post_json("/api/update-profile", &json!({"language": null}))
        .await;
    assert!(body(response).await["language"].is_null());
}

#[tokio::test]
async fn api_error_messages_are_in_the_requests_language_and_their_codes_are_not() {
    let app = spawn_app().await;
    let client = plain_client();
    let mut messages = Vec::new();
    for language in ["en", "fr", "de"] {
        let response = client
            .post(app.url("/api/login"))
            .header(ACCEPT_LANGUAGE, language)
            .json(&json!({"email": "nobody@example.com", "password": "wrong password here"}))
            .send()
            .await
            .expect("sign in");
        assert_eq!(response.status(), 401);
        assert_eq!(response.headers()[CONTENT_LANGUAGE], language);
        let error = body(response).await;
        assert_eq!(error["error"], "invalid_credentials");
        messages.push(error["message"].as_str().unwrap_or_default().to_string());

        // A field the server refuses: the same field and code, the sentence in the language.
        let response = client
            .post(app.url("/api/register"))
            .header(ACCEPT_LANGUAGE, language)
            .json(
                &json!({"first_name": "", "last_name": "L", "email": "a@example.com",
                          "phone_number": "+442079460958", "password": "long enough password"}),
            )
            .send()
            .await
            .expect("register");
        assert_eq!(response.status(), 422);
        let error = body(response).await;
        assert_eq!(error["field"], "first_name");
        messages.push(error["message"].as_str().unwrap_or_default().to_string());
    }
    assert_eq!(messages[0], "The email address or password is wrong.");
    assert_eq!(messages[1], "This field is required.");
    assert_eq!(messages[3], "Ce champ est obligatoire.");
    assert_eq!(messages[5], "Dieses Feld ist ein Pflichtfeld.");
    for (i, a) in messages.iter().enumerate() {
        for b in &messages[i + 1..] {
            assert_ne!(a, b);
        }
    }
}

#[tokio::test]
async fn emails_go_out_in_the_registrations_language_then_in_the_one_picked() {
    let app = spawn_app().await;
    let person = Person::new();
    let response = app
        .client
        .post(app.url("/api/register"))
        .header(ACCEPT_LANGUAGE, "de-AT, de;q=0.9, en;q=0.5")
        .json(&person.json())
        .send()
        .await
        .expect("register");
    assert_eq!(response.status(), 201);
    let activation = app.mail.wait_for(&person.email).await;
    assert_eq!(activation.header("content-language").as_deref(), Some("de"));
    assert!(
        activation.subject().ends_with("ist Ihr Aktivierungscode"),
        "{}",
        activation.subject()
    );
    let text = activation.text_body();
    assert!(
        text.contains(&format!("Hallo {},", person.first_name)),
        "{text}"
    );
    assert!(
        text.contains("Er läuft in einer Minute ab") || text.contains("Er läuft in"),
        "{text}"
    );
    assert!(activation.html_body().contains("<html lang=\"de\">"));
    assert_eq!(
        app.activate(&person, &activation.code()).await.status(),
        200
    );

    // Picked on the account page: the next email follows it, whatever the browser says.
    assert_eq!(
        app.login(&person.email, &person.password).await.status(),
        200
    );
    let response = app
        .post_json("/api/update-profile", &json!({"language": "fr"}))
        .await;
    assert_eq!(response.status(), 200);
    let response = app
        .client
        .post(app.url("/api/change-password"))
        .header(ACCEPT_LANGUAGE, "de")
        .json(&json!({"current_password": person.password, "new_password": "another long passphrase"}))
        .send()
        .await
        .expect("change the password");
    assert_eq!(
        response.status(),
        200,
        "{}",
        response.text().await.unwrap_or_default()
    );
    let notice = app
        .mail
        .wait_for_nth(&person.email, 2, crate::smtp::MAIL_WITHIN)
        .await;
    assert_eq!(notice.header("content-language").as_deref(), Some("fr"));
    let text = notice.text_body();
    assert!(
        text.starts_with(&format!("Bonjour {},", person.first_name)),
        "{text}"
    );
    assert!(
        text.contains("Le mot de passe de votre compte vient d’être modifié"),
        "{text}"
    );
}

#[tokio::test]
async fn pages_show_texts_never_the_names_of_their_keys() {
    let app = spawn_app().await;
    let namespaces = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../app/locales/en"))
        .expect("the locales")
        .filter_map(Result::ok)
        .filter_map(|entry| entry.path().file_stem()?.to_str().map(str::to_string))
        .collect::<Vec<_>>();
    assert!(namespaces.len() >= 5, "{namespaces:?}");
    let client = plain_client();
    for path in [
        "/",
        "/register",
        "/activate",
        "/login",
        "/forgot-password",
        "/products",
        "/cart",
        "/nowhere",
    ] {
        for language in ["en", "fr", "de"] {
            let response = client
                .get(app.url(path))
                .header(ACCEPT_LANGUAGE, language)
                .send()
                .await
                .expect("GET a page");
            let page = response.text().await.expect("the page");
            assert!(
                page.contains(&format!("<html lang=\"{language}\"")),
                "{path} {language}"
            );
            // What a person reads: the page without its scripts.
            let mut html = String::new();
            let mut rest = page.as_str();
            while let Some(start) = rest.find("<script") {
                html.push_str(&rest[..start]);
                rest = rest[start..]
                    .split_once("</script>")
                    .map_or("", |(_, after)| after);
            }
            html.push_str(rest);
            for namespace in &namespaces {
                let key = format!("{namespace}.");
                let shown = html.match_indices(&key).any(|(at, _)| {
                    let before = html[..at].chars().next_back().unwrap_or(' ');
                    let after = html[at + key.len()..].chars().next().unwrap_or(' ');
                    !before.is_alphanumeric() && before != '/' && after.is_ascii_lowercase()
                });
                assert!(!shown, "{path} in {language} shows a key of `{namespace}`");
            }
        }
    }
}
