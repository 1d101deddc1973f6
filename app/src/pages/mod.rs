//! One module per page.

pub mod activate;
pub mod error;
pub mod home;
pub mod not_found;
pub mod register;
