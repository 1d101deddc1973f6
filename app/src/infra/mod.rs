//! Server-only infrastructure the services are built on: settings, database helpers, password
//! hashing, one-time codes, rate limits, sessions, the mail outbox and its templates, webhook
//! events, the names of the metrics. Nothing here reads the Leptos context: a command-line tool, a worker or a test can
//! use all of it.

pub mod assets;
pub mod audit;
pub mod basic_auth;
pub mod client;
pub mod codes;
pub mod config;
pub mod connections;
pub mod credentials;
pub mod db;
pub mod events;
pub mod hashing;
pub mod mail;
pub mod metrics;
pub mod page_cache;
pub mod passkeys;
pub mod rate_limit;
pub mod second_factor;
pub mod sessions;
pub mod webhooks;
