//! The OpenAPI document against the server: the same routes in both, request bodies that name
//! the server functions' arguments, every documented example answered as documented, and the
//! interactive docs served from the binary alone.

use std::collections::BTreeSet;

use leptos::server_fn::ServerFn;
use serde::{Serialize, de::DeserializeOwned};
use serde_json::{Value, json};

use crate::{
    contract::Contract,
    helpers::{basic, body, spawn_app},
};

fn documented_operations(document: &Value) -> Vec<(String, String, Value)> {
    let mut operations = Vec::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("a path item") {
            operations.push((path.clone(), method.clone(), operation.clone()));
        }
    }
    operations
}

#[test]
fn the_document_lists_exactly_the_registered_api_routes() {
    let contract = Contract::of_this_build();
    let documented: BTreeSet<(String, String)> = documented_operations(&contract.document)
        .into_iter()
        .map(|(path, method, _)| (path, method.to_uppercase()))
        .collect();
    let registered: BTreeSet<(String, String)> = server::startup::api_routes()
        .into_iter()
        .map(|(path, method)| (path, method.to_string()))
        .collect();
    let undocumented: Vec<_> = registered.difference(&documented).collect();
    let unserved: Vec<_> = documented.difference(&registered).collect();
    assert!(
        undocumented.is_empty() && unserved.is_empty(),
        "served but not documented: {undocumented:?}\ndocumented but not served: {unserved:?}"
    );
    assert!(registered.len() >= 40, "{registered:?}");
}

/// The field names a server function reads: its argument struct, every field defaulted,
/// written back as JSON.
fn arguments<T: ServerFn + DeserializeOwned + Serialize>() -> (&'static str, BTreeSet<String>) {
    let empty: T = serde_json::from_value(json!({})).expect("every argument has a default");
    let written = serde_json::to_value(&empty).expect("serialises");
    let names = written
        .as_object()
        .expect("an object")
        .keys()
        .cloned()
        .collect();
    (T::PATH, names)
}

/// The names the document gives an operation's input: its body's properties or its query
/// parameters.
fn documented_inputs(contract: &Contract, path: &str) -> BTreeSet<String> {
    let item = &contract.document["paths"][path];
    if let Some(post) = item.get("post") {
        let Some(reference) =
            post["requestBody"]["content"]["application/json"]["schema"]["$ref"].as_str()
        else {
            return BTreeSet::new();
        };
        let name = reference.trim_start_matches("#/components/schemas/");
        let schema = &contract.document["components"]["schemas"][name];
        return schema["properties"]
            .as_object()
            .map(|properties| properties.keys().cloned().collect())
            .unwrap_or_default();
    }
    item["get"]["parameters"]
        .as_array()
        .map(|parameters| {
            parameters
                .iter()
                .filter(|parameter| parameter["in"] == "query")
                .filter_map(|parameter| parameter["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn request_bodies_and_queries_name_exactly_the_server_functions_arguments() {
    use app::api::{
        account::*, admin::*, catalog::*, orders::*, passkeys::*, password_reset::*,
        registration::*, second_factor::*, session::*, status::*, webhooks::*,
    };
    let contract = Contract::of_this_build();
    let functions = [
        arguments::<Register>(),
        arguments::<Activate>(),
        arguments::<ResendCode>(),
        arguments::<Login>(),
        arguments::<Token>(),
        arguments::<Logout>(),
        arguments::<CurrentUser>(),
        arguments::<SecondFactor>(),
        arguments::<TotpSetup>(),
        arguments::<TotpEnable>(),
        arguments::<TotpDisable>(),
        arguments::<RecoveryCodes>(),
        arguments::<PasskeyOptions>(),
        arguments::<PasskeyRegister>(),
        arguments::<PasskeyLogin>(),
        arguments::<Passkeys>(),
        arguments::<RenamePasskey>(),
        arguments::<DeletePasskey>(),
        arguments::<GetProfile>(),
        arguments::<ChangePassword>(),
        arguments::<Sessions>(),
        arguments::<RevokeSession>(),
        arguments::<SecurityEvents>(),
        arguments::<ChangeEmail>(),
        arguments::<ConfirmEmail>(),
        arguments::<DeleteAccount>(),
        arguments::<ExportAccount>(),
        arguments::<RequestPasswordReset>(),
        arguments::<ResetPassword>(),
        arguments::<ServiceStatus>(),
        arguments::<GetSettings>(),
        arguments::<AdminUsers>(),
        arguments::<AdminUser>(),
        arguments::<DisableUser>(),
        arguments::<EnableUser>(),
        arguments::<SetRole>(),
        arguments::<ResendActivation>(),
        arguments::<RemoveSecondFactors>(),
        arguments::<DeleteUser>(),
        arguments::<AuditLog>(),
        arguments::<Outbox>(),
        arguments::<RetryEmail>(),
        arguments::<AdminWebhooks>(),
        arguments::<Products>(),
        arguments::<GetProduct>(),
        arguments::<CreateProduct>(),
        arguments::<UpdateProduct>(),
        arguments::<DeleteProduct>(),
        arguments::<PlaceOrder>(),
        arguments::<Orders>(),
        arguments::<GetOrder>(),
        arguments::<CancelOrder>(),
    ];
    let mut checked = BTreeSet::new();
    for (path, arguments) in functions {
        assert_eq!(
            documented_inputs(&contract, path),
            arguments,
            "{path}: documented input vs the server function's arguments"
        );
        checked.insert(path.to_string());
    }
    // `update-profile` takes any object (a key it does not know is refused by name): its three
    // documented fields are checked by the example test, which sends one of them.
    checked.insert("/api/update-profile".into());
    checked.insert(server::startup::OPENAPI_PATH.into());
    let unchecked: Vec<String> = documented_operations(&contract.document)
        .into_iter()
        .map(|(path, _, _)| path)
        .filter(|path| !checked.contains(path))
        .collect();
    assert!(
        unchecked.is_empty(),
        "add these to the list above: {unchecked:?}"
    );
}

/// The request an operation's examples make: a query string and a JSON body.
fn example_request(contract: &Contract, path: &str, operation: &Value) -> (String, Option<Value>) {
    let mut url = path.to_string();
    let mut separator = '?';
    for parameter in operation["parameters"].as_array().into_iter().flatten() {
        if parameter["in"] != "query" {
            continue;
        }
        let name = parameter["name"].as_str().expect("a name");
        let example = parameter["example"]
            .as_str()
            .unwrap_or_else(|| panic!("{path}: query parameter `{name}` has no example"));
        url.push_str(&format!("{separator}{name}={example}"));
        separator = '&';
    }
    let body = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        .as_str()
        .map(|reference| {
            let name = reference.trim_start_matches("#/components/schemas/");
            let schema = &contract.document["components"]["schemas"][name];
            schema
                .get("example")
                .or_else(|| schema["examples"].get(0))
                .cloned()
                .unwrap_or_else(|| panic!("{path}: the request body {name} has no example"))
        });
    (url, body)
}

/// Every operation, sent with its documented example (and the credentials it documents), gets
/// an answer whose status is documented and whose body matches that status's schema.
#[tokio::test]
async fn every_documented_example_gets_a_documented_answer() {
    let app = spawn_app().await;
    let (admin, _) = app.admin().await;
    let contract = Contract::of_this_build();
    let client = reqwest::Client::new();
    let mut operations = documented_operations(&contract.document);
    // The registration first, so that the Basic-Auth examples meet a registered account.
    operations.sort_by_key(|(path, _, _)| path != "/api/register");

    let mut answers = Vec::new();
    let mut failures = Vec::new();
    for (path, method, operation) in &operations {
        let (url, request_body) = example_request(&contract, path, operation);
        let mut request = client.request(
            method.to_uppercase().parse().expect("a method"),
            app.url(&url),
        );
        let security = operation["security"].to_string();
        if security.contains("\"basic\"") {
            request = request.header(
                "authorization",
                basic("ada@example.com", "correct horse battery staple"),
            );
        } else if security.contains("\"bearer\"") {
            // A fresh token each time: the logout example ends the one it is sent with.
            request = request.bearer_auth(app.token(&admin).await);
        }
        if let Some(request_body) = &request_body {
            request = request.json(request_body);
        }
        let response = request.send().await.expect("an answer");
        let status = response.status().as_u16();
        let bytes = response.bytes().await.expect("a body");
        if let Err(failure) = contract.check(method, path, status, &bytes) {
            failures.push(failure);
        }
        answers.push(format!("{method} {url} → {status}"));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    // The examples that need no particular row in the database succeed.
    for expected in [
        "post /api/register → 201",
        "get /api/status → 200",
        "get /api/settings → 200",
        "get /api/profile → 200",
        "get /api/sessions → 200",
        "get /api/export-account → 200",
        "post /api/update-profile → 200",
        "post /api/request-password-reset → 200",
        "post /api/logout → 200",
        "get /api/openapi.json → 200",
        "get /api/admin/webhooks → 200",
    ] {
        assert!(
            answers.iter().any(|answer| answer == expected),
            "expected `{expected}` in\n{}",
            answers.join("\n")
        );
    }
    for prefix in [
        "get /api/products?",
        "get /api/orders?",
        "get /api/admin/users?",
        "get /api/admin/audit-log?",
        "get /api/admin/outbox?",
        "get /api/security-events?",
    ] {
        assert!(
            answers
                .iter()
                .any(|answer| answer.starts_with(prefix) && answer.ends_with("→ 200")),
            "expected `{prefix}…` to answer 200 in\n{}",
            answers.join("\n")
        );
    }
}

/// The served document is the one the build makes, and names the security schemes.
#[tokio::test]
async fn the_served_document_is_openapi_3_1_with_its_security_schemes() {
    let app = spawn_app().await;
    let response = app.get(server::startup::OPENAPI_PATH).await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap_or_default()
            .starts_with("application/json")
    );
    let served = body(response).await;
    assert_eq!(served["openapi"], "3.1.0");
    assert_eq!(served, Contract::of_this_build().document);
    let schemes = &served["components"]["securitySchemes"];
    assert_eq!(schemes["session"]["type"], "apiKey");
    assert_eq!(schemes["session"]["in"], "cookie");
    assert_eq!(schemes["session"]["name"], "session");
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["basic"]["scheme"], "basic");
    let register = &served["paths"]["/api/register"]["post"];
    assert!(register["security"].is_null(), "{register}");
    let errors_409 = &register["responses"]["409"]["content"]["application/json"]["schema"];
    assert_eq!(
        errors_409["allOf"][1]["properties"]["error"]["enum"],
        json!(["email_taken", "phone_taken"])
    );
    let activate = &served["paths"]["/api/activate"]["post"];
    assert_eq!(activate["security"], json!([{"basic": []}]));
}

/// `/docs` and every file it loads come from this server: it works without internet.
#[tokio::test]
async fn the_interactive_docs_are_served_from_the_binary() {
    let app = spawn_app().await;
    let response = app.get("/docs/").await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.expect("HTML");
    assert!(html.contains("swagger-ui"), "{html}");
    let mut loaded = 0;
    for attribute in ["src=\"", "href=\""] {
        for piece in html.split(attribute).skip(1) {
            let target = piece.split('"').next().unwrap_or_default();
            assert!(
                !target.contains("//"),
                "/docs loads {target} from another host"
            );
            let url = if target.starts_with('/') {
                app.url(target)
            } else {
                app.url(&format!("/docs/{}", target.trim_start_matches("./")))
            };
            let file = reqwest::get(&url).await.expect("an answer");
            assert_eq!(file.status(), 200, "{url}");
            let text = file.text().await.unwrap_or_default();
            assert!(
                !text.contains("https://cdn") && !text.contains("unpkg.com"),
                "{url} refers to a CDN"
            );
            loaded += 1;
        }
    }
    assert!(loaded >= 3, "{html}");
    let initializer = reqwest::get(app.url("/docs/swagger-initializer.js"))
        .await
        .expect("an answer")
        .text()
        .await
        .expect("text");
    assert!(
        initializer.contains(server::startup::OPENAPI_PATH),
        "{initializer}"
    );
}
