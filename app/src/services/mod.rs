//! The rules of the product, one file per feature area. Each function takes the state, the
//! client and typed inputs (the signed-in [`Caller`](crate::infra::sessions::Caller) where
//! there is one) and returns model types or an `ApiError`. None reads the Leptos context, so a
//! command-line tool, a worker or a test can call them directly.

pub mod account;
pub mod admin;
pub mod catalog;
pub mod email_change;
pub mod orders;
pub mod paging;
pub mod passkeys;
pub mod password_reset;
pub mod query;
pub mod registration;
pub mod second_factor;
pub mod sign_in;
