//! The events the app and the server count, through the `metrics` facade. The names live here,
//! in one list, so the exporter (`server::metrics`) describes every one and starts the
//! bounded ones at zero. Without an installed recorder (the command line, unit tests) recording
//! costs nothing and goes nowhere.
//!
//! State (pool, hashing slots, outbox) is not recorded here: the server samples it when it is
//! scraped.

/// Requests answered, by `method`, `route` (the route template, never the raw path) and
/// `status`.
pub const HTTP_REQUESTS: &str = "http_requests_total";
/// Time to the response head, with the same labels.
pub const HTTP_REQUEST_DURATION: &str = "http_request_duration_seconds";
/// Password hashes computed, by `operation` (`hash`, `verify`).
pub const PASSWORD_HASHES: &str = "password_hashes_total";
/// Requests turned away (503) because no hashing slot freed up in time.
pub const PASSWORD_HASH_REFUSALS: &str = "password_hash_refusals_total";
/// Requests refused by a rate limit, by `kind` ([`LimitKind`]).
pub const RATE_LIMIT_REFUSALS: &str = "rate_limit_refusals_total";
/// Outcomes of the mail worker, by `outcome` (`sent`, `failed`, `dead`, `expired`).
pub const EMAIL_DELIVERIES: &str = "email_deliveries_total";
/// Outcomes of webhook attempts, by `outcome` (`delivered`, `failed`, `dead`).
pub const WEBHOOK_DELIVERIES: &str = "webhook_deliveries_total";

/// The `outcome` labels of [`EMAIL_DELIVERIES`]: `failed` is a try that will be retried,
/// `dead` a message given up, `expired` one whose code ran out before it could be sent.
pub const EMAIL_OUTCOMES: [&str; 4] = ["sent", "failed", "dead", "expired"];
/// The `outcome` labels of [`WEBHOOK_DELIVERIES`].
pub const WEBHOOK_OUTCOMES: [&str; 3] = ["delivered", "failed", "dead"];
/// The `operation` labels of [`PASSWORD_HASHES`].
pub const HASH_OPERATIONS: [&str; 2] = ["hash", "verify"];

/// Which limit refused a request: the `kind` label of [`RATE_LIMIT_REFUSALS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitKind {
    /// Registrations per client IP (`RATE_LIMIT_REGISTER_PER_IP`).
    RegisterPerIp,
    /// Password checks per client IP (`RATE_LIMIT_LOGIN_PER_IP`): sign-in, token, activation,
    /// resend.
    SignInPerIp,
    /// Wrong passwords per email (`LOGIN_FAILURES_ALLOWED`).
    SignInPerEmail,
    /// A new code asked for within the resend cooldown.
    CodeCooldown,
    /// Codes per hour for one account and purpose (`CODE_RESENDS_PER_HOUR`).
    CodesPerHour,
    /// Password reset requests or attempts per network (`RATE_LIMIT_RESET_PER_NETWORK`).
    ResetPerNetwork,
    /// Wrong reset codes per address and day (`RESET_FAILURES_PER_DAY`).
    ResetPerAddress,
    /// Wrong second-step codes per account and day.
    SecondStepPerAccount,
}

impl LimitKind {
    pub const ALL: [Self; 8] = [
        Self::RegisterPerIp,
        Self::SignInPerIp,
        Self::SignInPerEmail,
        Self::CodeCooldown,
        Self::CodesPerHour,
        Self::ResetPerNetwork,
        Self::ResetPerAddress,
        Self::SecondStepPerAccount,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Self::RegisterPerIp => "register_per_ip",
            Self::SignInPerIp => "sign_in_per_ip",
            Self::SignInPerEmail => "sign_in_per_email",
            Self::CodeCooldown => "code_cooldown",
            Self::CodesPerHour => "codes_per_hour",
            Self::ResetPerNetwork => "reset_per_network",
            Self::ResetPerAddress => "reset_per_address",
            Self::SecondStepPerAccount => "second_step_per_account",
        }
    }
}

/// Counts one request refused by `kind`.
pub fn rate_limited(kind: LimitKind) {
    ::metrics::counter!(RATE_LIMIT_REFUSALS, "kind" => kind.label()).increment(1);
}

/// Counts one hash computed; `operation` is one of [`HASH_OPERATIONS`].
pub fn hash_computed(operation: &'static str) {
    ::metrics::counter!(PASSWORD_HASHES, "operation" => operation).increment(1);
}

/// Counts one request turned away for want of a hashing slot.
pub fn hash_refused() {
    ::metrics::counter!(PASSWORD_HASH_REFUSALS).increment(1);
}

/// Counts one outcome of the mail worker; `outcome` is one of [`EMAIL_OUTCOMES`].
pub fn email_outcome(outcome: &'static str) {
    ::metrics::counter!(EMAIL_DELIVERIES, "outcome" => outcome).increment(1);
}

/// Counts one webhook attempt's outcome; `outcome` is one of [`WEBHOOK_OUTCOMES`].
pub fn webhook_outcome(outcome: &'static str) {
    ::metrics::counter!(WEBHOOK_DELIVERIES, "outcome" => outcome).increment(1);
}
