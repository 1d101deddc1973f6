use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// `201` from `/api/register`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Registered {
    pub user_id: Uuid,
    /// The address as stored (trimmed, case kept).
    pub email: String,
    /// The number in E.164 form.
    pub phone_number: String,
    /// Seconds until the emailed code expires.
    pub code_expires_in: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Activated {
    pub activated: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CodeSent {
    pub code_expires_in: u64,
}
