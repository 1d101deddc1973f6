//! The cryptography of second factors, pure and synchronous (the rules are in
//! `services::second_factor`):
//!
//! - **Authenticator apps** (TOTP, RFC 6238 as every app expects: HMAC-SHA-1, 6 digits, 30 s
//!   steps, 160-bit secrets). A code matches its step or one step either side (clock drift);
//!   [`Totp::matching_step`] says which step, so the caller can accept each step once.
//! - **Sealing** the TOTP secret at rest: AES-256-GCM under a key derived from `SECRET_KEY`, the
//!   account's id as associated data (a sealed secret copied to another account does not open).
//!   A database dump alone yields no secret.
//! - **Recovery codes**: 120 random bits each (ASVS 5.0 asks 112 for a code stored with a fast
//!   hash), in Crockford's base32, stored as an HMAC keyed with `SECRET_KEY`.
//! - **Challenges**: the token that carries a sign-in from its password to its second step, 256
//!   random bits, stored as SHA-256.

use hmac::{Hmac, Mac};
use rand::RngCore as _;
use ring::aead;
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

type HmacSha256 = Hmac<Sha256>;

/// The columns of `model::SecondFactors` for the account `u` of the query around them (one
/// definition for every query that reads them: the profile, the session, the factors alone).
pub const SECOND_FACTOR_COLUMNS: &str = "\
    exists(select 1 from totp_factors t where t.user_id = u.id and t.enabled_at is not null) \
        as totp, \
    (select count(*) from recovery_codes r where r.user_id = u.id and r.used_at is null) \
        as recovery_codes_left, \
    (select count(*) from passkeys p where p.user_id = u.id) as passkeys";

/// Whether the account `u` of the query around it has a second factor (what makes a password
/// sign-in ask for a second step).
pub const HAS_SECOND_FACTOR: &str = "\
    (exists(select 1 from totp_factors t where t.user_id = u.id and t.enabled_at is not null) \
     or exists(select 1 from passkeys p where p.user_id = u.id))";

/// Digits in a code.
pub const TOTP_DIGITS: usize = 6;
/// Seconds in a step.
pub const TOTP_STEP_SECS: u64 = 30;
/// Steps accepted either side of the current one.
pub const TOTP_SKEW: u64 = 1;
/// Bytes of a TOTP secret (RFC 4226 recommends 160 bits).
const TOTP_SECRET_BYTES: usize = 20;

/// Recovery codes in a set.
pub const RECOVERY_CODES_PER_SET: usize = 10;
/// Random bytes in a recovery code: 120 bits, 24 base32 characters.
const RECOVERY_CODE_BYTES: usize = 15;
/// Crockford's base32: no I, L, O or U to misread.
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// The issuer the authenticator app shows above the account.
pub const ISSUER: &str = "Accounts";

/// A new random TOTP secret.
pub fn new_totp_secret() -> Vec<u8> {
    let mut secret = vec![0u8; TOTP_SECRET_BYTES];
    rand::rng().fill_bytes(&mut secret);
    secret
}

/// An authenticator-app secret and the account it is for.
pub struct Totp(totp_rs::Totp);

impl Totp {
    /// `account` is what the app shows under the issuer (the email address).
    pub fn new(secret: Vec<u8>, account: &str) -> Self {
        // A colon would split the label; an email address has none, but be sure.
        let account = account.replace(':', " ");
        // RFC 6238 as apps expect it; the builder's checks hold for these constants.
        let totp = totp_rs::Builder::new()
            .with_algorithm(totp_rs::Algorithm::SHA1)
            .with_digits(TOTP_DIGITS as u8)
            .with_skew(TOTP_SKEW as u16)
            .with_step_duration(TOTP_STEP_SECS)
            .with_secret(secret)
            .with_account_name(account)
            .with_issuer(Some(ISSUER))
            .build_noncompliant();
        Self(totp)
    }

    /// The secret in base32, as apps take it typed.
    pub fn secret_base32(&self) -> String {
        self.0.secret().to_base32()
    }

    /// `otpauth://totp/Accounts:ada%40example.com?secret=…&issuer=Accounts`.
    pub fn uri(&self) -> Result<String, String> {
        self.0.to_url().map_err(|e| e.to_string())
    }

    /// The code of `step`.
    pub fn code_at_step(&self, step: u64) -> String {
        self.0.generate(step * TOTP_STEP_SECS).to_string()
    }

    /// The step `code` belongs to, if it is the code of the step of `unix_secs` or of one either
    /// side. Every candidate is compared, in constant time.
    pub fn matching_step(&self, code: &str, unix_secs: u64) -> Option<u64> {
        let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        if code.len() != TOTP_DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let now = unix_secs / TOTP_STEP_SECS;
        let mut found = None;
        for step in now.saturating_sub(TOTP_SKEW)..=now + TOTP_SKEW {
            let expected = self.code_at_step(step);
            if bool::from(subtle::ConstantTimeEq::ct_eq(
                expected.as_bytes(),
                code.as_bytes(),
            )) {
                found = Some(step);
            }
        }
        found
    }
}

/// The secret in groups of four, for typing by hand.
pub fn grouped(base32: &str) -> String {
    base32
        .as_bytes()
        .chunks(4)
        .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `text` as a QR code, an SVG document (dark modules on white, with the quiet zone).
pub fn qr_svg(text: &str) -> Result<String, qrcode::types::QrError> {
    let code = qrcode::QrCode::new(text.as_bytes())?;
    Ok(code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .dark_color(qrcode::render::svg::Color("#000000"))
        .light_color(qrcode::render::svg::Color("#ffffff"))
        .build())
}

/// Seals and opens TOTP secrets at rest.
#[derive(Clone)]
pub struct SecretBox {
    key: [u8; 32],
}

impl SecretBox {
    /// The key is HMAC-SHA-256(`SECRET_KEY`, a label for this use): the same on every replica,
    /// and unrelated to the HMAC keys of codes.
    pub fn new(secret_key: &[u8]) -> Self {
        let mut mac = HmacSha256::new_from_slice(secret_key).expect("HMAC accepts any key length");
        mac.update(b"accounts/totp-secret-sealing/v1");
        Self {
            key: mac.finalize().into_bytes().into(),
        }
    }

    fn key(&self) -> aead::LessSafeKey {
        aead::LessSafeKey::new(
            aead::UnboundKey::new(&aead::AES_256_GCM, &self.key).expect("a 32-byte key"),
        )
    }

    /// Nonce (12 random bytes) followed by the ciphertext and its tag.
    pub fn seal(&self, owner: Uuid, secret: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; aead::NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let mut sealed = secret.to_vec();
        self.key()
            .seal_in_place_append_tag(
                aead::Nonce::assume_unique_for_key(nonce),
                aead::Aad::from(owner.as_bytes()),
                &mut sealed,
            )
            .expect("AES-GCM seals any secret this short");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        out
    }

    /// `None` when `sealed` was not sealed with this key for `owner` (or was altered).
    pub fn open(&self, owner: Uuid, sealed: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < aead::NONCE_LEN {
            return None;
        }
        let (nonce, ciphertext) = sealed.split_at(aead::NONCE_LEN);
        let nonce = aead::Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut buffer = ciphertext.to_vec();
        let plain = self
            .key()
            .open_in_place(nonce, aead::Aad::from(owner.as_bytes()), &mut buffer)
            .ok()?;
        Some(plain.to_vec())
    }
}

/// A new set of recovery codes, as shown: `XXXX-XXXX-XXXX-XXXX-XXXX-XXXX`.
pub fn new_recovery_codes() -> Vec<String> {
    let mut rng = rand::rng();
    (0..RECOVERY_CODES_PER_SET)
        .map(|_| {
            let mut bytes = [0u8; RECOVERY_CODE_BYTES];
            rng.fill_bytes(&mut bytes);
            let text = base32(&bytes);
            text.as_bytes()
                .chunks(4)
                .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
                .collect::<Vec<_>>()
                .join("-")
        })
        .collect()
}

/// Crockford base32 of `bytes` (a multiple of 5 bytes).
fn base32(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 8 / 5);
    for chunk in bytes.chunks(5) {
        let mut buffer = [0u8; 8];
        buffer[3..3 + chunk.len()].copy_from_slice(chunk);
        let n = u64::from_be_bytes(buffer);
        for i in (0..8).rev() {
            out.push(char::from(CROCKFORD[((n >> (i * 5)) & 31) as usize]));
        }
    }
    out
}

/// A recovery code as typed, in its one canonical form: upper case, without spaces or dashes,
/// with the letters Crockford reads as digits (O as 0, I and L as 1). `None` when it cannot be
/// a recovery code (wrong length or character), so it is refused before any lookup.
pub fn canonical_recovery_code(typed: &str) -> Option<String> {
    let canonical: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            other => other,
        })
        .collect();
    (canonical.len() == RECOVERY_CODE_BYTES * 8 / 5
        && canonical.bytes().all(|b| CROCKFORD.contains(&b)))
    .then_some(canonical)
}

/// The stored form of a recovery code (its canonical form).
pub fn recovery_code_hash(secret_key: &[u8], owner: Uuid, canonical: &str) -> Vec<u8> {
    let mut mac = HmacSha256::new_from_slice(secret_key).expect("HMAC accepts any key length");
    mac.update(b"recovery_code\0");
    mac.update(owner.as_bytes());
    mac.update(canonical.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// A new challenge token (what the client holds) and its stored hash.
pub fn new_challenge() -> (String, Vec<u8>) {
    use base64::Engine as _;
    let mut token = [0u8; 32];
    rand::rng().fill_bytes(&mut token);
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(token);
    let hash = challenge_hash(&token);
    (token, hash)
}

/// The stored form of a challenge token.
pub fn challenge_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238's test vector for SHA-1 (its 20-byte secret, 8 digits there; the last 6 here).
    #[test]
    fn codes_follow_rfc_6238() {
        let totp = Totp::new(b"12345678901234567890".to_vec(), "ada@example.com");
        // T = 59 s → 94287082; T = 1111111109 → 07081804; T = 20000000000 → 65353130.
        assert_eq!(totp.code_at_step(59 / 30), "287082");
        assert_eq!(totp.code_at_step(1_111_111_109 / 30), "081804");
        assert_eq!(totp.code_at_step(20_000_000_000 / 30), "353130");
    }

    #[test]
    fn a_code_matches_its_step_and_one_either_side_only() {
        let totp = Totp::new(new_totp_secret(), "ada@example.com");
        let now = 1_800_000_000;
        let step = now / TOTP_STEP_SECS;
        for offset in [0, 1] {
            let code = totp.code_at_step(step - offset);
            assert_eq!(totp.matching_step(&code, now), Some(step - offset));
        }
        let next = totp.code_at_step(step + 1);
        assert_eq!(totp.matching_step(&next, now), Some(step + 1));
        let old = totp.code_at_step(step - 2);
        // Two steps old: refused unless it happens to equal a live code (1 in 10^6 per code).
        if ![step - 1, step, step + 1]
            .iter()
            .any(|s| totp.code_at_step(*s) == old)
        {
            assert_eq!(totp.matching_step(&old, now), None);
        }
        let current = totp.code_at_step(step);
        let spaced = format!("{} {}", &current[..3], &current[3..]);
        assert_eq!(totp.matching_step(&spaced, now), Some(step));
        assert_eq!(totp.matching_step("12345", now), None);
        assert_eq!(totp.matching_step("12345a", now), None);
    }

    #[test]
    fn the_uri_names_the_issuer_and_the_account() {
        let totp = Totp::new(new_totp_secret(), "ada@example.com");
        let uri = totp.uri().expect("a URI");
        assert!(
            uri.starts_with("otpauth://totp/Accounts:ada%40example.com?"),
            "{uri}"
        );
        assert!(
            uri.contains(&format!("secret={}", totp.secret_base32())),
            "{uri}"
        );
        assert!(uri.contains("issuer=Accounts"), "{uri}");
        let svg = qr_svg(&uri).expect("a QR code");
        assert!(svg.contains("<svg") && svg.contains("</svg>"), "{svg}");
    }

    #[test]
    fn sealed_secrets_open_only_for_their_owner_and_key() {
        let sealer = SecretBox::new(b"a key of at least thirty-two characters!");
        let owner = Uuid::new_v4();
        let secret = new_totp_secret();
        let sealed = sealer.seal(owner, &secret);
        assert!(!sealed.windows(secret.len()).any(|w| w == secret.as_slice()));
        assert_eq!(sealer.open(owner, &sealed), Some(secret.clone()));
        assert_eq!(sealer.open(Uuid::new_v4(), &sealed), None);
        let other = SecretBox::new(b"another key of at least thirty-two chars");
        assert_eq!(other.open(owner, &sealed), None);
        let mut altered = sealed.clone();
        *altered.last_mut().expect("a tag") ^= 1;
        assert_eq!(sealer.open(owner, &altered), None);
        assert_eq!(sealer.open(owner, &sealed[..5]), None);
    }

    #[test]
    fn recovery_codes_carry_120_bits_and_read_back_however_typed() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES_PER_SET);
        let distinct: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(distinct.len(), codes.len());
        for code in &codes {
            assert_eq!(code.len(), 24 + 5, "{code}");
            let canonical = canonical_recovery_code(code).expect("its own code reads");
            assert_eq!(canonical, code.replace('-', ""));
            let typed = code.to_lowercase().replace('-', " ");
            assert_eq!(canonical_recovery_code(&typed), Some(canonical.clone()));
        }
        // Each character carries 5 bits: 24 characters, 120 bits.
        assert_eq!(CROCKFORD.len(), 32);
        assert_eq!(canonical_recovery_code("0000-0000"), None);
        assert_eq!(
            canonical_recovery_code("OOOO-IIII-LLLL-0000-0000-0000"),
            Some("000011111111000000000000".to_string())
        );
        assert_eq!(
            canonical_recovery_code("UUUU-0000-0000-0000-0000-0000"),
            None
        );
    }

    #[test]
    fn base32_is_crockfords() {
        assert_eq!(base32(&[0, 0, 0, 0, 0]), "00000000");
        assert_eq!(base32(&[0xff; 5]), "ZZZZZZZZ");
        assert_eq!(base32(&[0, 0, 0, 0, 32]), "00000010");
    }

    #[test]
    fn challenges_are_stored_hashed() {
        let (token, hash) = new_challenge();
        assert_eq!(token.len(), 43);
        assert_eq!(challenge_hash(&token), hash);
        assert_ne!(new_challenge().0, token);
    }
}
