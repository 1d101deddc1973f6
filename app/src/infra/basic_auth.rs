//! `Authorization: Basic base64(email:password)`, read defensively: anything malformed is simply
//! "no credentials", which the caller answers with 401.

use base64::{Engine as _, engine::general_purpose::STANDARD};
use http::{HeaderMap, header::AUTHORIZATION};

use crate::model::Secret;

/// An email is at most 254 bytes and a password 128 characters (512 bytes of UTF-8): a header
/// much longer than that is not credentials, and is not worth decoding.
const MAX_HEADER_BYTES: usize = 1024;

#[derive(Debug)]
pub struct BasicCredentials {
    pub email: String,
    pub password: Secret,
}

pub fn parse(headers: &HeaderMap) -> Option<BasicCredentials> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let value = values.next()?;
    if values.next().is_some() || value.len() > MAX_HEADER_BYTES {
        return None;
    }
    let value = value.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(encoded.trim()).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (email, password) = decoded.split_once(':')?;
    if email.is_empty() || password.is_empty() {
        return None;
    }
    Some(BasicCredentials {
        email: email.to_string(),
        password: Secret::from(password),
    })
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;
    use proptest::prelude::*;

    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(value) {
            h.insert(AUTHORIZATION, v);
        }
        h
    }

    #[test]
    fn reads_email_and_password_with_colons() {
        let encoded = STANDARD.encode("ada@example.com:pass:word");
        let c = parse(&headers(&format!("Basic {encoded}"))).expect("credentials");
        assert_eq!(c.email, "ada@example.com");
        assert_eq!(c.password.expose(), "pass:word");
        assert!(parse(&headers(&format!("basic {encoded}"))).is_some());
    }

    #[test]
    fn malformed_headers_are_no_credentials() {
        let no_colon = STANDARD.encode("ada@example.com");
        let not_utf8 = STANDARD.encode([0xff, 0xfe, b':', b'x']);
        for bad in [
            String::new(),
            "Basic".into(),
            "Basic !!!not-base64!!!".into(),
            format!("Basic {no_colon}"),
            format!("Basic {not_utf8}"),
            format!("Bearer {}", STANDARD.encode("a:b")),
            format!("Basic {}", "A".repeat(10 * 1024)),
        ] {
            assert!(parse(&headers(&bad)).is_none(), "{bad:.40}");
        }
    }

    proptest! {
        #[test]
        fn never_panics(raw in "\\PC{0,200}") {
            let _ = parse(&headers(&raw));
            let _ = parse(&headers(&format!("Basic {raw}")));
        }

        #[test]
        fn round_trips(email in "[a-z]{1,10}@[a-z]{1,10}\\.com", password in "[^\\x00-\\x1f]{1,40}") {
            let encoded = STANDARD.encode(format!("{email}:{password}"));
            let c = parse(&headers(&format!("Basic {encoded}")));
            prop_assert!(c.is_some());
            if let Some(c) = c {
                prop_assert_eq!(c.email, email);
                prop_assert_eq!(c.password.expose(), password);
            }
        }
    }
}
