//! Server functions, grouped by area. Each has an explicit, stable endpoint under `/api`.

pub mod account;
pub mod registration;
pub mod status;
