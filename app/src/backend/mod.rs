//! Server-only code: database access, hashing, codes, limits and mail. Never part of the WASM
//! build (the whole module is behind the `ssr` feature).

pub mod account;
pub mod account_changes;
pub mod basic_auth;
pub mod client;
pub mod codes;
pub mod config;
pub mod credentials;
pub mod db;
pub mod events;
pub mod mail;
pub mod passwords;
pub mod rate_limit;
pub mod registration;
pub mod sessions;
