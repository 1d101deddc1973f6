//! Every type that crosses the wire, shared by the server and the WASM build, and the enums the
//! database stores as text. Server functions take and return these; pages render them.

mod account;
mod admin;
mod catalog;
mod registration;
#[cfg(feature = "ssr")]
pub mod requests;
mod second_factor;
mod secret;
mod status;
mod webhooks;

pub use account::{
    AccountExport, AccountStatus, CodeSentTo, Done, EventKind, PhoneDisplay, Profile,
    SecurityEvent, SessionInfo, SessionKind, SignedIn, TokenIssued,
};
pub use admin::{
    ActorKind, AdminCreated, AuditAction, AuditEntry, OutboxCounts, OutboxEntry, OutboxStatus,
    OutboxView, Page, Role, SessionsSummary, UserDetail, UserSort, UserSummary,
};
pub use catalog::{
    Order, OrderItem, OrderLineInput, OrderStatus, Product, ProductSort, StockShortage,
};
pub use registration::{Activated, CodeSent, Registered};
pub use second_factor::{
    AuthenticatorSetup, PasskeyCeremony, PasskeyInfo, PasskeyPurpose, RecoveryCodeSet,
    SecondFactorMethod, SecondFactors, SecondStep, SecondStepDone,
};
pub use secret::Secret;
#[cfg(feature = "ssr")]
pub use status::human_duration_in;
pub use status::{PublicSettings, StatusReport, human_duration};
pub use webhooks::{DeadWebhook, WebhookCounts, WebhookView};

/// A stored text value that names no variant of the enum.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a known value")]
pub struct UnknownVariant(pub String);

/// An enum stored as `text` in Postgres and sent as the same snake_case string in JSON: one
/// list of spellings for Rust, SQL and the wire.
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $( $(#[$vmeta])* #[serde(rename = $text)] $variant, )+
        }

        impl $name {
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::model::UnknownVariant;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                match text {
                    $($text => Ok(Self::$variant),)+
                    other => Err($crate::model::UnknownVariant(other.to_string())),
                }
            }
        }

        /// In the API document: a string, one of the spellings above.
        #[cfg(feature = "ssr")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some(Self::ALL.iter().map(|value| value.as_str())))
                    .into()
            }
        }

        #[cfg(feature = "ssr")]
        impl utoipa::ToSchema for $name {}

        #[cfg(feature = "ssr")]
        impl sqlx::Type<sqlx::Postgres> for $name {
            fn type_info() -> sqlx::postgres::PgTypeInfo {
                <&str as sqlx::Type<sqlx::Postgres>>::type_info()
            }

            fn compatible(ty: &sqlx::postgres::PgTypeInfo) -> bool {
                <&str as sqlx::Type<sqlx::Postgres>>::compatible(ty)
            }
        }

        #[cfg(feature = "ssr")]
        impl sqlx::Encode<'_, sqlx::Postgres> for $name {
            fn encode_by_ref(
                &self,
                buf: &mut sqlx::postgres::PgArgumentBuffer,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <&str as sqlx::Encode<sqlx::Postgres>>::encode_by_ref(&self.as_str(), buf)
            }
        }

        #[cfg(feature = "ssr")]
        impl<'r> sqlx::Decode<'r, sqlx::Postgres> for $name {
            fn decode(value: sqlx::postgres::PgValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
                let text = <&str as sqlx::Decode<sqlx::Postgres>>::decode(value)?;
                Ok(text.parse::<Self>()?)
            }
        }

        #[cfg(feature = "ssr")]
        impl sqlx::postgres::PgHasArrayType for $name {
            fn array_type_info() -> sqlx::postgres::PgTypeInfo {
                <&str as sqlx::postgres::PgHasArrayType>::array_type_info()
            }
        }
    };
}
pub(crate) use text_enum;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_spell_the_same_in_json_and_text() {
        for kind in EventKind::ALL {
            let json = serde_json::to_value(kind).expect("serialises");
            assert_eq!(json, kind.as_str());
            assert_eq!(kind.as_str().parse::<EventKind>(), Ok(*kind));
        }
        assert_eq!(
            serde_json::to_value(SessionKind::Bearer).expect("serialises"),
            "bearer"
        );
        assert!("nope".parse::<AccountStatus>().is_err());
        for action in AuditAction::ALL {
            assert_eq!(action.as_str().parse::<AuditAction>(), Ok(*action));
        }
        assert_eq!(
            serde_json::to_value(Role::Admin).expect("serialises"),
            "admin"
        );
    }
}
