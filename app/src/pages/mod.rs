//! One module per page.

pub mod account;
pub mod activate;
pub mod admin;
pub mod cart;
pub mod error;
pub mod forgot_password;
pub mod home;
pub mod login;
pub mod not_found;
pub mod orders;
pub mod products;
pub mod register;
