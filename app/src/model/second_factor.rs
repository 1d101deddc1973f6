//! Second factors on the wire: the authenticator app (TOTP, RFC 6238), recovery codes, and the
//! second step of a sign-in.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use uuid::Uuid;

use super::{SignedIn, TokenIssued, text_enum};

text_enum! {
    /// A way to finish a sign-in after the password.
    pub enum SecondFactorMethod {
        /// A 6-digit code from an authenticator app.
        Totp = "totp",
        /// One of the ten codes shown when the app was set up (each works once).
        RecoveryCode = "recovery_code",
        /// A passkey of the account (`POST /api/passkey-options` with `second_factor`).
        Passkey = "passkey",
    }
}

/// How to finish a sign-in whose password checked out: part of the `second_factor_required`
/// error.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SecondStep {
    /// Opaque; `POST /api/second-factor` takes it back within 5 minutes.
    pub challenge: String,
    /// The ways to finish.
    pub methods: Vec<SecondFactorMethod>,
}

/// Which second factors an account has (never their secrets).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct SecondFactors {
    /// An authenticator app is set up and confirmed.
    pub totp: bool,
    /// Recovery codes not used yet.
    #[cfg_attr(feature = "ssr", sqlx(try_from = "i64"))]
    pub recovery_codes_left: u32,
    /// Passkeys registered.
    #[cfg_attr(feature = "ssr", sqlx(try_from = "i64"))]
    pub passkeys: u32,
}

impl SecondFactors {
    /// Whether a sign-in with the password needs a second step.
    pub fn any(self) -> bool {
        self.totp || self.passkeys > 0
    }
}

/// A new authenticator-app secret, not in use until a code from the app confirms it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AuthenticatorSetup {
    /// Base32, as apps take it when typed; `secret_grouped` is the same in groups of four.
    pub secret: String,
    pub secret_grouped: String,
    /// `otpauth://totp/…`: what the QR code holds.
    pub otpauth_uri: String,
    /// The QR code, an SVG document to put inline.
    pub qr_svg: String,
}

impl std::fmt::Debug for AuthenticatorSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthenticatorSetup").finish_non_exhaustive()
    }
}

/// A new set of recovery codes, shown once: only their hashes are kept.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RecoveryCodeSet {
    pub recovery_codes: Vec<String>,
}

impl std::fmt::Debug for RecoveryCodeSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecoveryCodeSet")
            .field("recovery_codes", &self.recovery_codes.len())
            .finish()
    }
}

/// What a finished second step answers: what the first step would have answered without a
/// second factor (the signed-in profile and a cookie for `/api/login`, a token for
/// `/api/token`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum SecondStepDone {
    Session(SignedIn),
    Token(TokenIssued),
}

text_enum! {
    /// What a WebAuthn ceremony is for.
    pub enum PasskeyPurpose {
        /// Adding a passkey to the signed-in account (with the password).
        Register = "register",
        /// Signing in with a passkey alone: no email typed (a discoverable credential).
        Login = "login",
        /// The second step of a sign-in whose password checked out (with its `challenge`).
        SecondFactor = "second_factor",
    }
}

/// A ceremony begun: the browser passes `options` to `navigator.credentials.create()`
/// (`register`) or `.get()` (the others), then sends the credential back with `ceremony`
/// within 5 minutes.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PasskeyCeremony {
    /// Opaque; used once.
    pub ceremony: String,
    /// WebAuthn's options as JSON (`{"publicKey": {…}}`, binary fields in base64url).
    #[cfg_attr(feature = "ssr", schema(value_type = Object))]
    pub options: Box<RawValue>,
}

impl PartialEq for PasskeyCeremony {
    fn eq(&self, other: &Self) -> bool {
        self.ceremony == other.ceremony && self.options.get() == other.options.get()
    }
}

/// A passkey of the account, as its owner sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct PasskeyInfo {
    #[cfg_attr(feature = "ssr", sqlx(rename = "id"))]
    pub passkey_id: Uuid,
    /// Its owner's name for it ("MacBook Touch ID").
    pub name: String,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339; `null` until first used.
    pub last_used_at: Option<String>,
}
