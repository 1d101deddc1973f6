//! The rules of accounts as the server applies them, built from the settings at start-up.

use std::time::Duration;

use ipnet::IpNet;
use secrecy::SecretSlice;

use crate::domain::Region;

pub struct AuthConfig {
    /// Key for the HMAC that stores one-time codes. Shared by every replica.
    pub code_key: SecretSlice<u8>,
    /// Digits in an activation code (`ACTIVATION_CODE_LENGTH`).
    pub code_length: usize,
    /// How long a code works after it is issued (`ACTIVATION_CODE_TTL_SECS`).
    pub code_ttl: Duration,
    /// Wrong tries one code allows before it is burned.
    pub code_max_attempts: u32,
    /// Wrong codes one pending account allows, over all its codes, before it is locked.
    pub account_max_failed_codes: u32,
    /// Least time between two codes for one account.
    pub resend_cooldown: Duration,
    /// Most resends per account per hour.
    pub resends_per_hour: u32,
    /// How long an idle pending registration keeps its email and phone (`PENDING_HOLD_SECS`).
    pub pending_hold: Duration,
    /// Registrations per client IP per minute; 0 turns the limit off.
    pub register_per_ip_per_minute: u32,
    /// Proxies whose `X-Forwarded-For` is believed (`TRUSTED_PROXIES`).
    pub trusted_proxies: Vec<IpNet>,
    /// The country of phone numbers written without `+` (`DEFAULT_PHONE_REGION`).
    pub default_region: Region,
    /// The public address of the app, for links in emails.
    pub app_base_url: String,
    /// `scheme://host[:port]` of the app: a cookie-authenticated request from any other origin
    /// is refused.
    pub app_origin: String,
    /// Cookies get `Secure` (and the `__Host-` prefix) when the app is served over https.
    pub secure_cookies: bool,
    pub session_idle_timeout: Duration,
    pub session_lifetime: Duration,
    /// Sign-in attempts per client IP per minute; 0 turns the limit off.
    pub login_per_ip_per_minute: u32,
    /// Failed sign-ins per account (by email) allowed in `login_failure_window`.
    pub login_failures_allowed: u32,
    pub login_failure_window: Duration,
}

impl AuthConfig {
    pub const DEFAULT_CODE_MAX_ATTEMPTS: u32 = 5;
    pub const DEFAULT_ACCOUNT_MAX_FAILED_CODES: u32 = 100;
    pub const DEFAULT_RESEND_COOLDOWN: Duration = Duration::from_secs(30);
    pub const DEFAULT_RESENDS_PER_HOUR: u32 = 5;
    pub const DEFAULT_LOGIN_FAILURES_ALLOWED: u32 = 5;
    pub const DEFAULT_LOGIN_FAILURE_WINDOW: Duration = Duration::from_secs(300);

    /// The session cookie's name: `__Host-` binds it to this exact origin over https.
    pub fn session_cookie_name(&self) -> &'static str {
        if self.secure_cookies {
            "__Host-session"
        } else {
            "session"
        }
    }

    /// Entropy of one code, in bits.
    pub fn code_bits(&self) -> f64 {
        self.code_length as f64 * 10f64.log2()
    }

    /// Least time between two codes: 30 s, or the code's lifetime when that is shorter, so an
    /// expired code can always be replaced.
    pub fn resend_cooldown(&self) -> Duration {
        self.resend_cooldown.min(self.code_ttl)
    }

    /// Whole seconds a fresh code lives, as the API reports it.
    pub fn code_ttl_secs(&self) -> u64 {
        self.code_ttl.as_secs()
    }
}

impl std::fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthConfig")
            .field("code_key", &"[redacted]")
            .field("code_length", &self.code_length)
            .field("code_ttl", &self.code_ttl)
            .field("pending_hold", &self.pending_hold)
            .field(
                "register_per_ip_per_minute",
                &self.register_per_ip_per_minute,
            )
            .field("trusted_proxies", &self.trusted_proxies)
            .field("default_region", &self.default_region)
            .finish_non_exhaustive()
    }
}
