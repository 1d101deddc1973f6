use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::text_enum;
use crate::t;

text_enum! {
    /// Where an account is in its life.
    pub enum AccountStatus {
        /// Registered, waiting for its activation code.
        Pending = "pending",
        Active = "active",
        /// Too many wrong activation codes: this registration can no longer be activated.
        Locked = "locked",
        /// Stopped by an administrator: no sign-in, session, activation or reset; its email
        /// and phone stay taken.
        Disabled = "disabled",
    }
}

text_enum! {
    /// How a session travels.
    pub enum SessionKind {
        /// A browser session: the token is in an HttpOnly cookie.
        Cookie = "cookie",
        /// A program's token: `Authorization: Bearer`.
        Bearer = "bearer",
    }
}

text_enum! {
    /// What the security history records.
    pub enum EventKind {
        Registered = "registered",
        CodeSent = "code_sent",
        ActivationFailed = "activation_failed",
        Activated = "activated",
        AccountLocked = "account_locked",
        LoginSucceeded = "login_succeeded",
        LoginFailed = "login_failed",
        PasswordChanged = "password_changed",
        SessionRevoked = "session_revoked",
        EmailChangeRequested = "email_change_requested",
        EmailChanged = "email_changed",
        PasswordReset = "password_reset",
        /// An administrator (or an operator on the command line) disabled the account.
        DisabledByAdmin = "disabled_by_admin",
        EnabledByAdmin = "enabled_by_admin",
        RoleChangedByAdmin = "role_changed_by_admin",
        CodeSentByAdmin = "code_sent_by_admin",
        SecondFactorEnabled = "second_factor_enabled",
        SecondFactorDisabled = "second_factor_disabled",
        RecoveryCodeUsed = "recovery_code_used",
        RecoveryCodesRenewed = "recovery_codes_renewed",
        /// A wrong code at the second step of a sign-in.
        SecondStepFailed = "second_step_failed",
        /// An administrator removed every second factor (the person lost their devices).
        SecondFactorsRemovedByAdmin = "second_factors_removed_by_admin",
        /// A passkey was added to the account.
        PasskeyAdded = "passkey_added",
        /// A passkey was removed from the account.
        PasskeyRemoved = "passkey_removed",
    }
}

impl EventKind {
    /// The event as the history pages say it, in the page's language.
    pub fn label(self) -> &'static str {
        match self {
            Self::Registered => t!(history.registered),
            Self::CodeSent => t!(history.code_sent),
            Self::ActivationFailed => t!(history.activation_failed),
            Self::Activated => t!(history.activated),
            Self::AccountLocked => t!(history.account_locked),
            Self::LoginSucceeded => t!(history.login_succeeded),
            Self::LoginFailed => t!(history.login_failed),
            Self::PasswordChanged => t!(history.password_changed),
            Self::SessionRevoked => t!(history.session_revoked),
            Self::EmailChangeRequested => t!(history.email_change_requested),
            Self::EmailChanged => t!(history.email_changed),
            Self::PasswordReset => t!(history.password_reset),
            Self::DisabledByAdmin => t!(history.disabled_by_admin),
            Self::EnabledByAdmin => t!(history.enabled_by_admin),
            Self::RoleChangedByAdmin => t!(history.role_changed_by_admin),
            Self::CodeSentByAdmin => t!(history.code_sent_by_admin),
            Self::SecondFactorEnabled => t!(history.second_factor_enabled),
            Self::SecondFactorDisabled => t!(history.second_factor_disabled),
            Self::RecoveryCodeUsed => t!(history.recovery_code_used),
            Self::RecoveryCodesRenewed => t!(history.recovery_codes_renewed),
            Self::SecondStepFailed => t!(history.second_step_failed),
            Self::SecondFactorsRemovedByAdmin => t!(history.second_factors_removed_by_admin),
            Self::PasskeyAdded => t!(history.passkey_added),
            Self::PasskeyRemoved => t!(history.passkey_removed),
        }
    }
}

/// A phone number as people read it (`+44 20 7946 0958`): formatted by the server from the
/// stored E.164 form when it reads the row, since the browser bundle carries no numbering plan.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct PhoneDisplay(pub String);

#[cfg(feature = "ssr")]
impl sqlx::Type<sqlx::Postgres> for PhoneDisplay {
    fn type_info() -> sqlx::postgres::PgTypeInfo {
        <&str as sqlx::Type<sqlx::Postgres>>::type_info()
    }

    fn compatible(ty: &sqlx::postgres::PgTypeInfo) -> bool {
        <&str as sqlx::Type<sqlx::Postgres>>::compatible(ty)
    }
}

/// Decoded from the stored E.164 text (`phone_number as phone_display`).
#[cfg(feature = "ssr")]
impl<'r> sqlx::Decode<'r, sqlx::Postgres> for PhoneDisplay {
    fn decode(value: sqlx::postgres::PgValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        let e164 = <&str as sqlx::Decode<sqlx::Postgres>>::decode(value)?;
        Ok(Self(crate::domain::international_phone(e164)))
    }
}

/// What the app stores about a person, as they may see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct Profile {
    #[cfg_attr(feature = "ssr", sqlx(rename = "id"))]
    pub user_id: Uuid,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    /// E.164: `+442079460958`.
    pub phone_number: String,
    /// The same number as people read it: `+44 20 7946 0958`.
    #[serde(default)]
    pub phone_display: PhoneDisplay,
    pub role: super::Role,
    /// RFC 3339.
    pub email_verified_at: Option<String>,
    /// RFC 3339.
    pub created_at: String,
    /// Which second factors the account has (never their secrets).
    #[serde(default)]
    #[cfg_attr(feature = "ssr", sqlx(flatten))]
    pub second_factors: super::SecondFactors,
    /// The language of the pages and emails, as picked by the person; `null` when they picked
    /// none (their browser's `Accept-Language` decides).
    #[serde(default)]
    pub language: Option<crate::language::Locale>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SignedIn {
    pub user: Profile,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TokenIssued {
    pub token: String,
    /// RFC 3339.
    pub expires_at: String,
}

impl std::fmt::Debug for TokenIssued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenIssued")
            .field("token", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// The answer of endpoints that have nothing else to say.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Done {
    pub ok: bool,
}

impl Done {
    pub const OK: Self = Self { ok: true };
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct SessionInfo {
    #[cfg_attr(feature = "ssr", sqlx(rename = "id"))]
    pub session_id: Uuid,
    pub kind: SessionKind,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub last_seen_at: String,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    /// The session this request came with.
    pub current: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct SecurityEvent {
    pub kind: EventKind,
    /// RFC 3339.
    pub created_at: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CodeSentTo {
    pub code_expires_in: u64,
}

/// Everything the product stores about a person, without secrets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AccountExport {
    pub profile: Profile,
    pub sessions: Vec<SessionInfo>,
    pub security_events: Vec<SecurityEvent>,
}
