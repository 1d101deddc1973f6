//! Registration data the server accepts, never the same twice: emails and phone numbers must be
//! unique, phone numbers must be real (libphonenumber-valid) and passwords not common.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

/// London numbers 020 7000 0000 to 020 7999 9999 are valid: ten million of them.
const PHONE_SUFFIXES: u64 = 10_000_000;

/// Hands out identities. The random token keeps emails and passwords apart from other runs on
/// the same database; phone numbers count up from a random offset, so two runs collide only if
/// their ranges (a few thousand numbers each) happen to overlap.
pub struct Identities {
    token: String,
    phone_offset: u64,
    next: AtomicU64,
}

/// One person to register.
pub struct Identity {
    pub email: String,
    pub phone_number: String,
    pub password: String,
}

/// The JSON body of `POST /api/register`.
#[derive(Serialize)]
pub struct RegisterRequest<'a> {
    first_name: &'a str,
    last_name: &'a str,
    email: &'a str,
    phone_number: &'a str,
    password: &'a str,
}

impl Identities {
    pub fn random() -> Self {
        Self {
            token: format!("{:012x}", rand::random::<u64>() >> 16),
            phone_offset: rand::random_range(0..PHONE_SUFFIXES),
            next: AtomicU64::new(0),
        }
    }

    pub fn fresh(&self) -> Identity {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let suffix = (self.phone_offset + n) % PHONE_SUFFIXES;
        let token = &self.token;
        Identity {
            // Lower case: the SMTP sink lower-cases recipients before matching them.
            email: format!("bench-{token}-{n}@example.com"),
            phone_number: format!("+44 20 7{:03} {:04}", suffix / 10_000, suffix % 10_000),
            password: format!("bench-{token}-{n}-Pw!"),
        }
    }
}

impl Identity {
    pub fn request(&self) -> RegisterRequest<'_> {
        RegisterRequest {
            first_name: "Ada",
            last_name: "Lovelace",
            email: &self.email,
            phone_number: &self.phone_number,
            password: &self.password,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn identities_are_unique_and_well_formed() {
        let identities = Identities {
            token: "0123456789ab".into(),
            phone_offset: PHONE_SUFFIXES - 2,
            next: AtomicU64::new(0),
        };
        let batch: Vec<Identity> = (0..5).map(|_| identities.fresh()).collect();
        let phones: Vec<&str> = batch.iter().map(|i| i.phone_number.as_str()).collect();
        assert_eq!(
            phones[..3],
            ["+44 20 7999 9998", "+44 20 7999 9999", "+44 20 7000 0000"]
        );
        let emails: HashSet<&str> = batch.iter().map(|i| i.email.as_str()).collect();
        assert_eq!(emails.len(), 5);
        assert_eq!(batch[0].email, "bench-0123456789ab-0@example.com");
        assert!((8..=128).contains(&batch[4].password.chars().count()));
    }

    #[test]
    fn the_request_has_the_api_field_names() -> anyhow::Result<()> {
        let identity = Identities::random().fresh();
        let body = serde_json::to_value(identity.request())?;
        for field in [
            "first_name",
            "last_name",
            "email",
            "phone_number",
            "password",
        ] {
            assert!(body.get(field).is_some(), "{field}");
        }
        Ok(())
    }
}
