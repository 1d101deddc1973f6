//! One-time codes: random digits from a CSPRNG, stored only as an HMAC keyed with a server
//! secret (a database dump alone cannot test candidate codes), compared in constant time.

use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::Sha256;
use uuid::Uuid;

use sqlx::PgConnection;

use super::{config::AuthConfig, rate_limit};
use crate::error::{ApiError, ErrorCode};

type HmacSha256 = Hmac<Sha256>;

/// What a code is for. The purpose and the account are part of the MAC, so a code issued for
/// one can never be replayed for another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    Activation,
    EmailChange,
    PasswordReset,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Activation => "activation",
            Self::EmailChange => "email_change",
            Self::PasswordReset => "password_reset",
        }
    }
}

/// `length` digits, each uniform in 0–9 (leading zeros included).
pub fn generate(length: usize) -> String {
    let mut rng = rand::rng();
    (0..length)
        .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
        .collect()
}

fn mac(key: &[u8], subject: &[u8], purpose: Purpose, code: &str) -> HmacSha256 {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(purpose.as_str().as_bytes());
    mac.update(&[0]);
    mac.update(subject);
    mac.update(&[0]);
    mac.update(code.as_bytes());
    mac
}

pub fn hash(key: &[u8], user_id: Uuid, purpose: Purpose, code: &str) -> Vec<u8> {
    hash_for(key, user_id.as_bytes(), purpose, code)
}

/// Constant-time comparison with the stored MAC.
pub fn verify(key: &[u8], user_id: Uuid, purpose: Purpose, code: &str, stored: &[u8]) -> bool {
    verify_for(key, user_id.as_bytes(), purpose, code, stored)
}

/// As [`hash`], for a code bound to something other than an account id (a reset's address).
pub fn hash_for(key: &[u8], subject: &[u8], purpose: Purpose, code: &str) -> Vec<u8> {
    mac(key, subject, purpose, code)
        .finalize()
        .into_bytes()
        .to_vec()
}

pub fn verify_for(key: &[u8], subject: &[u8], purpose: Purpose, code: &str, stored: &[u8]) -> bool {
    mac(key, subject, purpose, code)
        .verify_slice(stored)
        .is_ok()
}

/// What a try at a stored code came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Matched,
    /// Wrong; the caller stores the attempt.
    Wrong {
        attempts_left: u32,
    },
    Expired,
    /// Too many wrong tries already: the code no longer works.
    Burned,
}

/// Judges a try at a code whose row the caller holds locked: burned and expired codes are not
/// even compared.
pub fn judge(
    matches: impl FnOnce() -> bool,
    attempts: i32,
    expired: bool,
    max_attempts: u32,
) -> Verdict {
    let max = i32::try_from(max_attempts).unwrap_or(i32::MAX);
    if attempts >= max {
        Verdict::Burned
    } else if expired {
        Verdict::Expired
    } else if matches() {
        Verdict::Matched
    } else {
        Verdict::Wrong {
            attempts_left: u32::try_from(max - attempts - 1).unwrap_or(0),
        }
    }
}

pub fn invalid_code(attempts_left: u32) -> ApiError {
    let mut error = ApiError::new(
        ErrorCode::InvalidCode,
        if attempts_left == 0 {
            "That code is wrong, and it was the last try: ask for a new code.".to_string()
        } else {
            format!("That code is wrong. {attempts_left} tries left.")
        },
    )
    .with_field("code");
    error.attempts_left = Some(attempts_left);
    error
}

pub fn code_expired() -> ApiError {
    ApiError::new(
        ErrorCode::CodeExpired,
        "This code has expired. Ask for a new one.",
    )
}

pub fn code_burned() -> ApiError {
    ApiError::new(
        ErrorCode::TooManyAttempts,
        "Too many wrong tries: this code no longer works. Ask for a new one.",
    )
}

pub fn resend_too_soon(retry_after: u64) -> ApiError {
    ApiError::new(
        ErrorCode::ResendTooSoon,
        format!("A code was sent moments ago. You can ask again in {retry_after} seconds."),
    )
    .with_retry_after(retry_after.max(1))
}

/// Paces new codes for one subject (`key`): a cooldown since the last code (issued
/// `last_issued_secs_ago`), then a few per hour.
pub async fn pace(
    conn: &mut PgConnection,
    auth: &AuthConfig,
    key: &str,
    last_issued_secs_ago: Option<f64>,
) -> Result<(), ApiError> {
    let cooldown = auth.resend_cooldown().as_secs_f64();
    if let Some(elapsed) = last_issued_secs_ago.filter(|elapsed| *elapsed < cooldown) {
        return Err(resend_too_soon((cooldown - elapsed).ceil() as u64));
    }
    match rate_limit::check(
        conn,
        key,
        auth.resends_per_hour,
        std::time::Duration::from_secs(3600),
    )
    .await
    .map_err(ApiError::internal)?
    {
        rate_limit::Decision::Limited { retry_after } => Err(resend_too_soon(retry_after)),
        rate_limit::Decision::Allowed => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_digits_of_the_length_and_vary() {
        let codes: Vec<String> = (0..200).map(|_| generate(4)).collect();
        assert!(
            codes
                .iter()
                .all(|c| c.len() == 4 && c.bytes().all(|b| b.is_ascii_digit()))
        );
        let distinct: std::collections::HashSet<_> = codes.iter().collect();
        assert!(
            distinct.len() > 100,
            "only {} distinct codes",
            distinct.len()
        );
        // Every digit shows up in every position over enough draws (leading zeros included).
        let many: Vec<String> = (0..2000).map(|_| generate(4)).collect();
        for pos in 0..4 {
            for d in b'0'..=b'9' {
                assert!(
                    many.iter().any(|c| c.as_bytes()[pos] == d),
                    "digit {d} at {pos}"
                );
            }
        }
    }

    #[test]
    fn a_hash_verifies_only_its_own_code_user_and_key() {
        let user = Uuid::from_u128(7);
        let stored = hash(b"key", user, Purpose::Activation, "0427");
        assert!(verify(b"key", user, Purpose::Activation, "0427", &stored));
        assert!(!verify(b"key", user, Purpose::Activation, "0428", &stored));
        assert!(!verify(
            b"key",
            Uuid::from_u128(8),
            Purpose::Activation,
            "0427",
            &stored
        ));
        assert!(!verify(
            b"other",
            user,
            Purpose::Activation,
            "0427",
            &stored
        ));
        assert!(!verify(
            b"key",
            user,
            Purpose::Activation,
            "0427",
            &stored[..16]
        ));
    }

    #[test]
    fn purposes_do_not_share_codes() {
        let user = Uuid::from_u128(7);
        let stored = hash(b"key", user, Purpose::Activation, "0427");
        assert!(!verify(b"key", user, Purpose::EmailChange, "0427", &stored));
        let reset = hash_for(b"key", b"ada@example.com", Purpose::PasswordReset, "0427");
        assert!(verify_for(
            b"key",
            b"ada@example.com",
            Purpose::PasswordReset,
            "0427",
            &reset
        ));
        assert!(!verify_for(
            b"key",
            b"eve@example.com",
            Purpose::PasswordReset,
            "0427",
            &reset
        ));
    }

    #[test]
    fn burned_and_expired_codes_are_never_compared() {
        let never = || panic!("compared");
        assert_eq!(judge(never, 5, false, 5), Verdict::Burned);
        assert_eq!(judge(never, 5, true, 5), Verdict::Burned);
        assert_eq!(judge(never, 0, true, 5), Verdict::Expired);
        assert_eq!(judge(|| true, 4, false, 5), Verdict::Matched);
        assert_eq!(
            judge(|| false, 0, false, 5),
            Verdict::Wrong { attempts_left: 4 }
        );
        assert_eq!(
            judge(|| false, 4, false, 5),
            Verdict::Wrong { attempts_left: 0 }
        );
    }
}
