//! What the administrators' endpoints take and return.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{AccountStatus, SecurityEvent, text_enum};

text_enum! {
    /// What an account may do beyond its own profile.
    pub enum Role {
        User = "user",
        /// Manages accounts (and, later, the catalogue). Made only from the command line or
        /// by another administrator: there is no default administrator.
        Admin = "admin",
    }
}

text_enum! {
    /// Who performed an administrative act.
    pub enum ActorKind {
        /// A signed-in account with the administrator role.
        Administrator = "administrator",
        /// The `server` binary's subcommands, run by an operator on a host.
        CommandLine = "command_line",
    }
}

text_enum! {
    /// What the audit log records.
    pub enum AuditAction {
        AdminCreated = "admin_created",
        RoleChanged = "role_changed",
        UserDisabled = "user_disabled",
        UserEnabled = "user_enabled",
        ActivationResent = "activation_resent",
        UserDeleted = "user_deleted",
        EmailRetried = "email_retried",
        ProductCreated = "product_created",
        ProductUpdated = "product_updated",
        ProductDeleted = "product_deleted",
        /// Every second factor of a person who lost their devices.
        SecondFactorsRemoved = "second_factors_removed",
    }
}

text_enum! {
    /// Orders of the administrators' users table.
    pub enum UserSort {
        Newest = "newest",
        Oldest = "oldest",
        Name = "name",
        Email = "email",
    }
}

text_enum! {
    /// Where a queued email is.
    pub enum OutboxStatus {
        Pending = "pending",
        Sent = "sent",
        /// Its code expired before it could be delivered.
        Expired = "expired",
        /// Every retry failed; an administrator may queue it again.
        Dead = "dead",
    }
}

/// One page of a longer list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Page<T> {
    pub items: Vec<T>,
    /// How many match, over all pages; a lower bound when `total_exact` is false (a search
    /// that matches more than the server counts).
    pub total: i64,
    pub total_exact: bool,
    pub limit: u32,
    pub offset: u32,
}

/// A row of the administrators' users table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct UserSummary {
    #[cfg_attr(feature = "ssr", sqlx(rename = "id"))]
    pub user_id: Uuid,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    /// E.164.
    pub phone_number: String,
    /// The same number as people read it: `+44 20 7946 0958`.
    #[serde(default)]
    pub phone_display: super::PhoneDisplay,
    pub status: AccountStatus,
    pub role: Role,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339; `None` until the first sign-in.
    pub last_login_at: Option<String>,
}

/// The live sessions and tokens of an account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct SessionsSummary {
    pub count: i64,
    /// RFC 3339.
    pub last_used_at: Option<String>,
}

/// One account as an administrator sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct UserDetail {
    #[serde(flatten)]
    pub user: UserSummary,
    /// RFC 3339.
    pub email_verified_at: Option<String>,
    /// RFC 3339.
    pub disabled_at: Option<String>,
    /// Shown to administrators only, never to the person.
    pub disabled_reason: Option<String>,
    /// Wrong activation codes over the life of the registration.
    pub failed_code_attempts: i32,
    /// Which second factors the person has (never their secrets).
    pub second_factors: super::SecondFactors,
    pub sessions: SessionsSummary,
    /// The latest 50, newest first.
    pub security_events: Vec<SecurityEvent>,
}

/// One administrative act.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct AuditEntry {
    pub id: i64,
    /// RFC 3339.
    pub at: String,
    pub actor_kind: ActorKind,
    /// `None` for the command line; kept after the actor's account is deleted.
    pub actor_id: Option<Uuid>,
    /// As it was at the time of the act.
    pub actor_email: Option<String>,
    pub action: AuditAction,
    pub target_id: Option<Uuid>,
    pub target_email: Option<String>,
    pub ip: Option<String>,
    /// What changed (a role, a reason), never a secret.
    #[cfg_attr(feature = "ssr", sqlx(json))]
    #[cfg_attr(feature = "ssr", schema(value_type = Object))]
    pub details: JsonText,
}

/// A JSON value passed through as it was stored: the browser shows it as text, so it never
/// builds a tree of it (the code for that would weigh on the administrators' download).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JsonText(pub Box<serde_json::value::RawValue>);

impl JsonText {
    /// The JSON, as text; empty for an empty object.
    pub fn shown(&self) -> &str {
        match self.0.get() {
            "{}" => "",
            text => text,
        }
    }
}

impl PartialEq for JsonText {
    fn eq(&self, other: &Self) -> bool {
        self.0.get() == other.0.get()
    }
}

impl Eq for JsonText {}

/// A queued email, without its body (codes stay out of this view).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct OutboxEntry {
    pub id: i64,
    pub recipient: String,
    pub kind: String,
    pub status: OutboxStatus,
    pub attempts: i32,
    pub last_error: Option<String>,
    /// RFC 3339; when a pending message is tried next.
    pub next_attempt_at: String,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub sent_at: Option<String>,
}

/// How many queued emails are in each status.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct OutboxCounts {
    pub pending: i64,
    pub sent: i64,
    pub expired: i64,
    pub dead: i64,
}

/// The mail queue: counts by status and one page of rows, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct OutboxView {
    pub counts: OutboxCounts,
    #[serde(flatten)]
    pub page: Page<OutboxEntry>,
}

/// What `server create-admin` made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AdminCreated {
    pub user_id: Uuid,
    pub email: String,
}
