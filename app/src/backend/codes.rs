//! One-time codes: random digits from a CSPRNG, stored only as an HMAC keyed with a server
//! secret (a database dump alone cannot test candidate codes), compared in constant time.

use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::Sha256;
use uuid::Uuid;

type HmacSha256 = Hmac<Sha256>;

/// What a code is for. The purpose and the account are part of the MAC, so a code issued for
/// one can never be replayed for another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    Activation,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Activation => "activation",
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

fn mac(key: &[u8], user_id: Uuid, purpose: Purpose, code: &str) -> HmacSha256 {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(purpose.as_str().as_bytes());
    mac.update(&[0]);
    mac.update(user_id.as_bytes());
    mac.update(code.as_bytes());
    mac
}

pub fn hash(key: &[u8], user_id: Uuid, purpose: Purpose, code: &str) -> Vec<u8> {
    mac(key, user_id, purpose, code)
        .finalize()
        .into_bytes()
        .to_vec()
}

/// Constant-time comparison with the stored MAC.
pub fn verify(key: &[u8], user_id: Uuid, purpose: Purpose, code: &str, stored: &[u8]) -> bool {
    mac(key, user_id, purpose, code)
        .verify_slice(stored)
        .is_ok()
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
}
