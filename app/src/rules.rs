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
        provide_context(Self(Resource::new_blocking(
            || (),
            |()| crate::error::page_data(get_settings()),
        )));
    }

    /// The server's rules. On the server, its own settings, read at once: pages read them
    /// outside any `<Suspense>`, and the resource's value may not have arrived yet when the page
    /// renders (its future runs on another thread), so a page could otherwise go out with the
    /// defaults (a 4-digit code where the settings say 6) and then disagree with the browser at
    /// hydration. In the browser, the resource, which the page brought with it (the defaults
    /// only until it has arrived, after a failure).
    pub fn get() -> PublicSettings {
        #[cfg(feature = "ssr")]
        if let Some(state) = use_context::<crate::state::AppState>() {
            return state.settings.public();
        }
        expect_context::<Self>()
            .0
            .get()
            .and_then(Result::ok)
            .unwrap_or_default()
    }
}

/// Whether the whole page is hydrated, its lazily loaded route included: for every control that
/// must not act before (a press would otherwise be a native form submission), and for every
/// effect that changes what the page shows as soon as it runs (a local time, a countdown, the
/// stored cart).
///
/// The flag is set by the browser entry point once `hydrate_body` has returned
/// ([`mark_hydrated`]), not by an effect: effects run in an order that is not the page's, and a
/// value an effect changes before its part of the page is hydrated never reaches the DOM
/// (hydration keeps the server's HTML). Effects that show something new read it first.
#[derive(Clone, Copy)]
pub struct Hydrated(pub ReadSignal<bool>);

#[cfg(feature = "hydrate")]
thread_local! {
    /// The root component's flag, for [`mark_hydrated`] (the browser runs one app per thread).
    static SET_HYDRATED: std::cell::Cell<Option<WriteSignal<bool>>> =
        const { std::cell::Cell::new(None) };
}

impl Hydrated {
    /// Called once, by the root component: `false` on the server and until [`mark_hydrated`].
    pub fn provide() {
        let (hydrated, set_hydrated) = signal(false);
        #[cfg(feature = "hydrate")]
        SET_HYDRATED.with(|cell| cell.set(Some(set_hydrated)));
        #[cfg(not(feature = "hydrate"))]
        let _ = set_hydrated;
        provide_context(Self(hydrated));
    }

    pub fn get() -> ReadSignal<bool> {
        expect_context::<Self>().0
    }
}

/// Sets the flag and marks the document (`<html data-hydrated="true">`, which the end-to-end
/// tests wait for): the browser entry point calls it when hydration has finished.
#[cfg(feature = "hydrate")]
pub fn mark_hydrated() {
    if let Some(set_hydrated) = SET_HYDRATED.with(std::cell::Cell::get) {
        set_hydrated.set(true);
    }
    if let Some(root) = document().document_element() {
        let _ = root.set_attribute("data-hydrated", "true");
    }
}
