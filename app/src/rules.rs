//! The rules the pages explain (code length, lifetime, resend cooldown), as the server applies
//! them: loaded with the page on the server, so the text is right before hydration and no
//! page copies a number of its own.

use leptos::prelude::*;

use crate::{api::status::get_settings, error::ApiError, model::PublicSettings};

#[derive(Clone, Copy)]
pub struct Rules(Resource<Result<PublicSettings, ApiError>>);

impl Rules {
    /// Blocking: the server waits for it before sending the page.
    pub fn provide() {
        provide_context(Self(Resource::new_blocking(|| (), |()| get_settings())));
    }

    /// The server's rules (the defaults only until they have arrived).
    pub fn get() -> PublicSettings {
        expect_context::<Self>()
            .0
            .get()
            .and_then(Result::ok)
            .unwrap_or_default()
    }
}

/// Whether the page is hydrated: set once, by the root component, for every control that must
/// not act before (a press would otherwise be a native form submission).
#[derive(Clone, Copy)]
pub struct Hydrated(pub ReadSignal<bool>);

impl Hydrated {
    pub fn get() -> ReadSignal<bool> {
        expect_context::<Self>().0
    }
}
