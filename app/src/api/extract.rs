//! What a server function reads from its request and writes to its response: the only place
//! (with the pages) that touches the Leptos request context. Services get plain values.

use std::net::SocketAddr;

use axum::extract::ConnectInfo;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use leptos::prelude::*;
use leptos_axum::ResponseOptions;

use crate::t;
use crate::{
    error::{ApiError, ErrorCode},
    infra::{
        basic_auth::{self, BasicCredentials},
        client::ClientInfo,
        sessions::{self, Administrator, Caller, CrossSite, Presented},
    },
    state::AppState,
};

/// One request, as the services need it.
pub struct Request {
    pub state: AppState,
    pub client: ClientInfo,
    pub headers: HeaderMap,
}

impl Request {
    pub async fn current() -> Self {
        let state = expect_context::<AppState>();
        let headers = leptos_axum::extract::<HeaderMap>()
            .await
            .unwrap_or_default();
        let peer = leptos_axum::extract::<ConnectInfo<SocketAddr>>()
            .await
            .ok()
            .map(|ConnectInfo(addr)| addr);
        let client = ClientInfo::from_request(peer, &headers, &state.settings.http.trusted_proxies);
        Self {
            state,
            client,
            headers,
        }
    }

    /// The session token the request presents, if the cross-site rule lets it through.
    pub fn session(&self, cross_site: CrossSite) -> Result<Option<Presented>, ApiError> {
        sessions::presented(&self.state.settings, &self.headers, cross_site)
    }

    /// The signed-in caller: 401 `unauthenticated` without a live session or token, 403
    /// `forbidden` for a session cookie sent from another site.
    pub async fn caller(&self) -> Result<Caller, ApiError> {
        let Some(presented) = self.session(CrossSite::Refuse)? else {
            return Err(ApiError::unauthenticated());
        };
        let settings = &self.state.settings.sessions;
        sessions::authenticate(&self.state.pool, settings, &presented)
            .await?
            .ok_or_else(ApiError::unauthenticated)
    }

    /// The signed-in caller, if an administrator: 401 `unauthenticated` without a session,
    /// 403 `forbidden` for anyone else.
    pub async fn administrator(&self) -> Result<Administrator, ApiError> {
        let required = self.state.settings.sessions.admin_require_second_factor;
        self.caller().await?.administrator(required)
    }

    /// `Authorization: Basic` credentials; 401 with a challenge when there are none.
    pub fn basic_credentials(&self) -> Result<BasicCredentials, ApiError> {
        basic_auth::parse(&self.headers).ok_or_else(|| {
            ApiError::invalid_credentials().with_message(t!(errors.basic_auth_required))
        })
    }
}

fn response() -> Option<ResponseOptions> {
    use_context::<ResponseOptions>()
}

pub fn set_status(status: StatusCode) {
    if let Some(response) = response() {
        response.set_status(status);
    }
}

pub fn set_header(name: &'static str, value: HeaderValue) {
    if let Some(response) = response() {
        response.insert_header(http::HeaderName::from_static(name), value);
    }
}

/// After a browser signs in: its pages and API calls follow the language the person picked,
/// through the language cookie (kept unless the browser has a choice of its own already).
pub fn remember_language(request: &Request, picked: Option<crate::language::Locale>) {
    let Some(picked) = picked else { return };
    if crate::language::cookie_value(&request.headers).is_some() {
        return;
    }
    let cookie =
        crate::language::cookie(Some(picked), request.state.settings.http.secure_cookies());
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        set_cookie(value);
    }
}

pub fn set_cookie(cookie: HeaderValue) {
    if let Some(response) = response() {
        response.append_header(header::SET_COOKIE, cookie);
    }
}

/// The response carries a secret (an authenticator key, recovery codes, a token): no cache may
/// keep it.
pub fn no_store() {
    if let Some(response) = response() {
        response.insert_header(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}

/// A 401 from a Basic-Auth endpoint says how to authenticate (RFC 9110 §11.6.1).
pub fn with_basic_challenge<T>(result: Result<T, ApiError>) -> Result<T, ApiError> {
    if let Err(e) = &result
        && e.error == ErrorCode::InvalidCredentials
        && let Some(response) = response()
    {
        response.insert_header(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(r#"Basic realm="accounts", charset="UTF-8""#),
        );
    }
    result
}
