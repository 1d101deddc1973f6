//! One-time codes, one flow for every purpose (activation, email change, password reset):
//! random digits from a CSPRNG, stored only as an HMAC keyed with a server secret and bound to
//! the purpose and subject (a database dump alone cannot test candidate codes, and a code for
//! one thing never works for another), compared in constant time, burned after too many wrong
//! tries or once used.
//!
//! [`issue`] writes a fresh code into its [`Slot`] (replacing any earlier one); [`pace`] says
//! whether a new one may be sent yet; [`attempt`] judges a try under a row lock, so parallel
//! guesses are counted one at a time.

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::Sha256;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{
    config::CodeSettings,
    metrics::{self, LimitKind},
    rate_limit,
};
use crate::{
    domain::VerificationCode,
    error::{ApiError, Context as _},
    model::text_enum,
};

type HmacSha256 = Hmac<Sha256>;

text_enum! {
    /// What a code is for.
    pub enum Purpose {
        Activation = "activation",
        EmailChange = "email_change",
        PasswordReset = "password_reset",
    }
}

impl Purpose {
    /// Digits in this purpose's codes: a reset code replaces a password, so it is longer.
    pub fn length(self, settings: &CodeSettings) -> usize {
        match self {
            Self::PasswordReset => settings.reset_length,
            Self::Activation | Self::EmailChange => settings.length,
        }
    }

    /// How long this purpose's codes work.
    pub fn ttl(self, settings: &CodeSettings) -> std::time::Duration {
        match self {
            Self::PasswordReset => settings.reset_ttl,
            Self::Activation | Self::EmailChange => settings.ttl,
        }
    }
}

/// Where a code lives: one live code per purpose and subject.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slot {
    purpose: Purpose,
    /// The account id, or for a password reset the address asked for (lower-cased): resets
    /// for unknown addresses get a slot too, so the answers never tell whether one exists.
    subject: String,
}

impl Slot {
    pub fn activation(user_id: Uuid) -> Self {
        Self {
            purpose: Purpose::Activation,
            subject: user_id.to_string(),
        }
    }

    pub fn email_change(user_id: Uuid) -> Self {
        Self {
            purpose: Purpose::EmailChange,
            subject: user_id.to_string(),
        }
    }

    pub fn password_reset(email: &str) -> Self {
        Self {
            purpose: Purpose::PasswordReset,
            subject: text_key(email),
        }
    }

    pub fn purpose(&self) -> Purpose {
        self.purpose
    }

    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The rate-limit key that paces new codes for this slot.
    fn pace_key(&self) -> String {
        format!("code:{}:{}", self.purpose, self.subject)
    }
}

/// Text as typed, made storable: trimmed, and without NUL (which Postgres text cannot hold; no
/// parsed address has one, so nothing real is lost). Compared with `lower()` in SQL, so Rust's
/// and Postgres's case rules never have to agree.
pub fn storable(text: &str) -> String {
    text.trim().replace('\0', "\u{FFFD}")
}

/// An address as a key of our own (a rate limit, a reset slot): [`storable`], lower-cased,
/// and hashed when it is longer than any address can be, so a hostile 60 KB "email" still
/// fits a key.
pub fn text_key(email: &str) -> String {
    let key = storable(email).to_lowercase();
    if key.len() <= MAX_KEY_BYTES {
        return key;
    }
    use sha2::Digest as _;
    let digest = Sha256::digest(key.as_bytes());
    format!(
        "sha256:{}",
        base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, digest)
    )
}

/// An email address is at most 254 bytes; a little room for odd spellings of one.
const MAX_KEY_BYTES: usize = 320;

/// `length` digits, each uniform in 0–9 (leading zeros included).
pub fn generate(length: usize) -> String {
    let mut rng = rand::rng();
    (0..length)
        .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
        .collect()
}

fn mac(key: &[u8], slot: &Slot, code: &str) -> HmacSha256 {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(slot.purpose.as_str().as_bytes());
    mac.update(&[0]);
    mac.update(slot.subject.as_bytes());
    mac.update(&[0]);
    mac.update(code.as_bytes());
    mac
}

pub fn hash(key: &[u8], slot: &Slot, code: &str) -> Vec<u8> {
    mac(key, slot, code).finalize().into_bytes().to_vec()
}

/// Constant-time comparison with the stored MAC.
pub fn verify(key: &[u8], slot: &Slot, code: &str, stored: &[u8]) -> bool {
    mac(key, slot, code).verify_slice(stored).is_ok()
}

/// A code just written: the digits exist only here and in the email.
pub struct Issued {
    pub code: String,
    pub expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued")
            .field("code", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Who a code belongs to, stored with it.
#[derive(Clone, Debug, Default)]
pub struct Owner<'a> {
    /// The account, when there is one (not for a reset of an unknown address).
    pub user_id: Option<Uuid>,
    /// The address an email change moves to.
    pub new_email: Option<&'a str>,
}

/// Writes a fresh code into `slot`, replacing any earlier one (its tries start again).
pub async fn issue(
    conn: &mut PgConnection,
    settings: &CodeSettings,
    slot: &Slot,
    owner: Owner<'_>,
) -> Result<Issued, ApiError> {
    let code = generate(slot.purpose.length(settings));
    let expires_at: DateTime<Utc> = sqlx::query_scalar(
        "insert into one_time_codes (purpose, subject, user_id, code_hash, expires_at, new_email)
         values ($1, $2, $3, $4, now() + make_interval(secs => $5), $6)
         on conflict (purpose, subject) do update
             set user_id = excluded.user_id, code_hash = excluded.code_hash, attempts = 0,
                 issued_at = now(), expires_at = excluded.expires_at,
                 new_email = excluded.new_email
         returning expires_at",
    )
    .bind(slot.purpose)
    .bind(&slot.subject)
    .bind(owner.user_id)
    .bind(hash(settings.key(), slot, &code))
    .bind(slot.purpose.ttl(settings).as_secs_f64())
    .bind(owner.new_email)
    .fetch_one(conn)
    .await
    .context("store a one-time code")?;
    Ok(Issued { code, expires_at })
}

/// Whether another code may go to `slot` now: not within the cooldown of the last one, and a
/// few per hour at most. Takes a transaction-scoped lock on the slot, so two requests cannot
/// both pass the cooldown.
pub async fn pace(
    conn: &mut PgConnection,
    settings: &CodeSettings,
    slot: &Slot,
) -> Result<(), ApiError> {
    // Two requests for the same slot queue here, whether or not a code exists yet (a row
    // lock would lock nothing the first time).
    sqlx::query("select pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind(slot.pace_key())
        .execute(&mut *conn)
        .await
        .context("queue behind other requests for this slot")?;
    let since_last: Option<f64> = sqlx::query_scalar(
        "select extract(epoch from now() - issued_at)::float8 from one_time_codes
         where purpose = $1 and subject = $2",
    )
    .bind(slot.purpose)
    .bind(&slot.subject)
    .fetch_optional(&mut *conn)
    .await
    .context("read when the last code was sent")?;
    let cooldown = settings
        .resend_cooldown_within(slot.purpose.ttl(settings))
        .as_secs_f64();
    if let Some(elapsed) = since_last.filter(|elapsed| *elapsed < cooldown) {
        metrics::rate_limited(LimitKind::CodeCooldown);
        return Err(ApiError::resend_too_soon((cooldown - elapsed).ceil() as u64));
    }
    match rate_limit::check(
        conn,
        &slot.pace_key(),
        settings.resends_per_hour,
        std::time::Duration::from_secs(3600),
    )
    .await
    .context("count codes sent this hour")?
    {
        rate_limit::Decision::Limited { retry_after } => {
            metrics::rate_limited(LimitKind::CodesPerHour);
            Err(ApiError::resend_too_soon(retry_after))
        }
        rate_limit::Decision::Allowed => Ok(()),
    }
}

/// What a try at a stored code came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Matched,
    /// Wrong; the try is counted.
    Wrong {
        attempts_left: u32,
    },
    Expired,
    /// Too many wrong tries already: the code no longer works.
    UsedUp,
}

/// Judges a try at a code whose row the caller holds locked: used-up and expired codes are not
/// even compared.
pub fn judge(
    matches: impl FnOnce() -> bool,
    attempts: i32,
    expired: bool,
    max_attempts: u32,
) -> Verdict {
    let max = i32::try_from(max_attempts).unwrap_or(i32::MAX);
    if attempts >= max {
        Verdict::UsedUp
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

/// A code that matched: its slot is now empty.
#[derive(Debug)]
pub struct Matched {
    pub user_id: Option<Uuid>,
    pub new_email: Option<String>,
}

/// A code that did not match. The wrong try is already counted in the caller's transaction:
/// commit it, then answer with `error`.
#[derive(Debug)]
pub struct Wrong {
    pub error: ApiError,
}

#[derive(sqlx::FromRow)]
struct StoredCode {
    user_id: Option<Uuid>,
    code_hash: Vec<u8>,
    attempts: i32,
    expired: bool,
    new_email: Option<String>,
}

/// Tries `code` against `slot`, under a lock on its row. No code, an expired one or a used-up
/// one is an error with nothing to write; a wrong one is counted (see [`Wrong`]); a matching
/// one is deleted, so it works once.
pub async fn attempt(
    conn: &mut PgConnection,
    settings: &CodeSettings,
    slot: &Slot,
    code: &VerificationCode,
) -> Result<Result<Matched, Wrong>, ApiError> {
    let stored: Option<StoredCode> = sqlx::query_as(
        "select user_id, code_hash, attempts, expires_at <= now() as expired, new_email
         from one_time_codes where purpose = $1 and subject = $2 for update",
    )
    .bind(slot.purpose)
    .bind(&slot.subject)
    .fetch_optional(&mut *conn)
    .await
    .context("read a one-time code")?;
    let Some(stored) = stored else {
        return Err(ApiError::code_expired());
    };
    let verdict = judge(
        || verify(settings.key(), slot, code.as_str(), &stored.code_hash),
        stored.attempts,
        stored.expired,
        settings.max_attempts,
    );
    match verdict {
        Verdict::UsedUp => Err(ApiError::code_used_up()),
        Verdict::Expired => Err(ApiError::code_expired()),
        Verdict::Wrong { attempts_left } => {
            sqlx::query(
                "update one_time_codes set attempts = attempts + 1
                 where purpose = $1 and subject = $2",
            )
            .bind(slot.purpose)
            .bind(&slot.subject)
            .execute(&mut *conn)
            .await
            .context("count a wrong code")?;
            Ok(Err(Wrong {
                error: ApiError::invalid_code(attempts_left),
            }))
        }
        Verdict::Matched => {
            discard(conn, slot).await?;
            Ok(Ok(Matched {
                user_id: stored.user_id,
                new_email: stored.new_email,
            }))
        }
    }
}

/// Empties `slot`.
pub async fn discard(conn: &mut PgConnection, slot: &Slot) -> Result<(), ApiError> {
    sqlx::query("delete from one_time_codes where purpose = $1 and subject = $2")
        .bind(slot.purpose)
        .bind(&slot.subject)
        .execute(conn)
        .await
        .context("delete a one-time code")?;
    Ok(())
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
    fn a_hash_verifies_only_its_own_code_subject_and_key() {
        let slot = Slot::activation(Uuid::from_u128(7));
        let stored = hash(b"key", &slot, "0427");
        assert!(verify(b"key", &slot, "0427", &stored));
        assert!(!verify(b"key", &slot, "0428", &stored));
        assert!(!verify(
            b"key",
            &Slot::activation(Uuid::from_u128(8)),
            "0427",
            &stored
        ));
        assert!(!verify(b"other", &slot, "0427", &stored));
        assert!(!verify(b"key", &slot, "0427", &stored[..16]));
    }

    #[test]
    fn purposes_do_not_share_codes() {
        let user = Uuid::from_u128(7);
        let stored = hash(b"key", &Slot::activation(user), "0427");
        assert!(!verify(b"key", &Slot::email_change(user), "0427", &stored));
        let reset = hash(b"key", &Slot::password_reset("Ada@Example.com "), "0427");
        assert!(verify(
            b"key",
            &Slot::password_reset("ada@example.com"),
            "0427",
            &reset
        ));
        assert!(!verify(
            b"key",
            &Slot::password_reset("eve@example.com"),
            "0427",
            &reset
        ));
    }

    #[test]
    fn used_up_and_expired_codes_are_never_compared() {
        let never = || panic!("compared");
        assert_eq!(judge(never, 5, false, 5), Verdict::UsedUp);
        assert_eq!(judge(never, 5, true, 5), Verdict::UsedUp);
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
