//! One module per page.

pub mod account;
pub mod admin;
pub mod activate;
pub mod error;
pub mod forgot_password;
pub mod home;
pub mod login;
pub mod not_found;
pub mod register;
