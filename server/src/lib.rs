//! The accounts server: settings, telemetry, HTTP stack and start-up, as a library so the
//! integration tests start exactly what `main` starts.

pub mod cli;
pub mod connections;
pub mod email_worker;
pub mod health;
pub mod language;
pub mod mailbox;
pub mod maintenance;
pub mod metrics;
pub mod middleware;
pub mod reset_worker;
pub mod serve;
pub mod settings;
pub mod startup;
pub mod telemetry;
pub mod webhook_worker;
