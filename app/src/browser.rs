//! The few things the UI needs from the browser that server functions do not give it: the clock,
//! localStorage (the cart), and calls to the Basic-Auth endpoints (the generated server-function
//! client cannot add an `Authorization` header). On the server these are inert: they only run in
//! event handlers and effects.

use serde::{Serialize, de::DeserializeOwned};

use crate::error::{ApiError, ErrorCode};
use crate::t;

/// Milliseconds since the epoch, from the browser's clock (0 on the server).
pub fn now_ms() -> f64 {
    #[cfg(feature = "hydrate")]
    {
        js_sys::Date::now()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        0.0
    }
}

/// Minutes east of UTC of the browser's time zone at `ms` (0 on the server).
pub fn utc_offset_minutes(ms: f64) -> i64 {
    #[cfg(feature = "hydrate")]
    {
        // JavaScript counts west of UTC.
        -(js_sys::Date::new(&ms.into()).get_timezone_offset() as i64)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = ms;
        0
    }
}

/// The value of the first `data-{name}` attribute in the document (`None` on the server).
pub fn data_attribute(name: &str) -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        web_sys::window()?
            .document()?
            .query_selector(&format!("[data-{name}]"))
            .ok()??
            .get_attribute(&format!("data-{name}"))
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = name;
        None
    }
}

/// Waits for the browser to run a task of its own (a zero-delay timer): what follows runs in a
/// new task, so the browser can paint and take input in between and no one task holds it long.
#[cfg(feature = "hydrate")]
pub async fn yield_to_browser() {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let scheduled = web_sys::window()
            .is_some_and(|window| window.set_timeout_with_callback(&resolve).is_ok());
        if !scheduled {
            let _ = resolve.call0(&js_sys::wasm_bindgen::JsValue::NULL);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// Loads `path` as a new page: the server renders it afresh for the new session (the header,
/// the signed-in area), and nothing of the previous session stays in memory.
pub fn load_page(path: &str) {
    #[cfg(feature = "hydrate")]
    if let Some(window) = web_sys::window() {
        let _ = window.location().set_href(path);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = path;
}

/// The browser's `User-Agent` (`None` on the server).
pub fn user_agent() -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        use js_sys::wasm_bindgen::JsValue;
        let window = web_sys::window()?;
        let navigator =
            js_sys::Reflect::get(window.as_ref(), &JsValue::from_str("navigator")).ok()?;
        js_sys::Reflect::get(&navigator, &JsValue::from_str("userAgent"))
            .ok()?
            .as_string()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        None
    }
}

/// Puts `text` on the clipboard (the Clipboard API; nothing where there is none).
pub fn copy_text(text: &str) {
    #[cfg(feature = "hydrate")]
    if let Some(window) = web_sys::window() {
        use js_sys::wasm_bindgen::{JsCast as _, JsValue};
        let clipboard = js_sys::Reflect::get(window.as_ref(), &JsValue::from_str("navigator"))
            .and_then(|navigator| js_sys::Reflect::get(&navigator, &JsValue::from_str("clipboard")))
            .ok()
            .filter(|c| !c.is_undefined());
        let write = clipboard.as_ref().and_then(|c| {
            js_sys::Reflect::get(c, &JsValue::from_str("writeText"))
                .ok()?
                .dyn_into::<js_sys::Function>()
                .ok()
        });
        if let (Some(clipboard), Some(write)) = (clipboard, write) {
            let _ = write.call1(&clipboard, &JsValue::from_str(text));
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = text;
}

/// The text stored under `key` in the browser's localStorage (`None` on the server, when
/// storage is off, or when nothing is stored).
pub fn stored(key: &str) -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        web_sys::window()?
            .local_storage()
            .ok()??
            .get_item(key)
            .ok()?
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = key;
        None
    }
}

/// Keeps `value` under `key` in localStorage; `None` removes it. Best effort: a browser that
/// refuses (private mode, full storage) keeps the value in memory only.
pub fn store(key: &str, value: Option<&str>) {
    #[cfg(feature = "hydrate")]
    if let Some(storage) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
        let _ = match value {
            Some(value) => storage.set_item(key, value),
            None => storage.remove_item(key),
        };
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (key, value);
}

/// A WebAuthn ceremony in the browser (`window.passkeyCeremony`, in `page_scripts.js`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ceremony {
    /// `navigator.credentials.create()`: a new passkey.
    Create,
    /// `navigator.credentials.get()`: a sign-in.
    Get,
}

/// Runs `ceremony` with the server's `options` (WebAuthn's JSON); the credential as JSON, or
/// what to tell the person when there is none (the prompt closed, no passkey, no support).
pub async fn passkey(ceremony: Ceremony, options: &str) -> Result<String, String> {
    #[cfg(feature = "hydrate")]
    {
        use js_sys::wasm_bindgen::{JsCast as _, JsValue};
        let unsupported = || t!(errors.passkeys_unsupported).to_string();
        let window = web_sys::window().ok_or_else(unsupported)?;
        let run = js_sys::Reflect::get(window.as_ref(), &JsValue::from_str("passkeyCeremony"))
            .ok()
            .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
            .ok_or_else(unsupported)?;
        let kind = match ceremony {
            Ceremony::Create => "create",
            Ceremony::Get => "get",
        };
        let promise = run
            .call2(
                &JsValue::NULL,
                &JsValue::from_str(kind),
                &JsValue::from_str(options),
            )
            .ok()
            .and_then(|p| p.dyn_into::<js_sys::Promise>().ok())
            .ok_or_else(unsupported)?;
        match wasm_bindgen_futures::JsFuture::from(promise).await {
            Ok(credential) => credential.as_string().ok_or_else(unsupported),
            Err(error) => {
                let name = js_sys::Reflect::get(&error, &JsValue::from_str("name"))
                    .ok()
                    .and_then(|n| n.as_string())
                    .unwrap_or_default();
                Err(match (name.as_str(), ceremony) {
                    ("InvalidStateError", Ceremony::Create) => {
                        t!(errors.passkey_exists_on_device).to_string()
                    }
                    ("NotAllowedError" | "AbortError", _) => {
                        t!(errors.passkey_prompt_closed).to_string()
                    }
                    ("TypeError", _) => unsupported(),
                    _ => t!(errors.passkey_failed_on_device).to_string(),
                })
            }
        }
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (ceremony, options);
        Err(t!(errors.passkeys_browser_only).to_string())
    }
}

/// `Basic base64(email:password)`, with the UTF-8 bytes of both (RFC 7617 `charset="UTF-8"`).
pub fn basic_authorization(email: &str, password: &str) -> String {
    use base64::{Engine as _, engine::general_purpose::STANDARD};
    format!("Basic {}", STANDARD.encode(format!("{email}:{password}")))
}

fn network_error() -> ApiError {
    ApiError::new(ErrorCode::Unavailable, t!(errors.unreachable))
}

/// POSTs `body` as JSON to `path` with an `Authorization` header and decodes the answer: the
/// success type on 2xx, the API's error shape otherwise.
pub async fn post_json_with_auth<B: Serialize, T: DeserializeOwned>(
    path: &str,
    authorization: &str,
    body: &B,
) -> Result<T, ApiError> {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen_futures::JsFuture;
        use web_sys::wasm_bindgen::{JsCast as _, JsValue};

        let body = serde_json::to_string(body).map_err(|_| network_error())?;
        let init = web_sys::RequestInit::new();
        init.set_method("POST");
        init.set_body(&JsValue::from_str(&body));
        let headers = web_sys::Headers::new().map_err(|_| network_error())?;
        headers
            .set("content-type", "application/json")
            .and_then(|()| headers.set("accept", "application/json"))
            .and_then(|()| headers.set("authorization", authorization))
            .map_err(|_| network_error())?;
        init.set_headers(&headers);
        let request =
            web_sys::Request::new_with_str_and_init(path, &init).map_err(|_| network_error())?;
        let window = web_sys::window().ok_or_else(network_error)?;
        let response: web_sys::Response = JsFuture::from(window.fetch_with_request(&request))
            .await
            .map_err(|_| network_error())?
            .dyn_into()
            .map_err(|_| network_error())?;
        let text = JsFuture::from(response.text().map_err(|_| network_error())?)
            .await
            .map_err(|_| network_error())?
            .as_string()
            .unwrap_or_default();
        if response.ok() {
            serde_json::from_str(&text)
                .map_err(|_| ApiError::new(ErrorCode::Internal, t!(errors.answer_unreadable)))
        } else {
            Err(serde_json::from_str::<ApiError>(&text).unwrap_or_else(|_| {
                ApiError::new(
                    ErrorCode::Internal,
                    t!(errors.server_answered, status = response.status()),
                )
            }))
        }
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (path, authorization, body);
        Err(network_error())
    }
}

/// `text` as the value of a query parameter: everything but letters, digits, `-._~` and `/`
/// percent-encoded (UTF-8).
pub fn encode_query_value(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(byte as char);
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod query_tests {
    #[test]
    fn a_query_value_keeps_paths_readable_and_encodes_the_rest() {
        assert_eq!(
            super::encode_query_value("/products?keyword=tea & co&page=2"),
            "/products%3Fkeyword%3Dtea%20%26%20co%26page%3D2"
        );
        assert_eq!(super::encode_query_value("/é"), "/%C3%A9");
    }
}
