//! The settings live with the app (`app::infra::config`), where the services read them; the
//! server re-exports them for its start-up, tests and tools.

pub use app::infra::config::*;
