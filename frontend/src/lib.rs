//! The browser entry point. cargo-leptos builds this crate to WASM; the generated JS calls
//! `hydrate()` once the server-rendered HTML is in place.

use leptos::prelude::document;

/// Hydrates the page as `leptos::mount::hydrate_lazy` does (the shell, then the current page once
/// its WASM chunk has loaded; see `app::pages`), then tells the app it is done: the controls wait
/// for that (`app::rules::Hydrated`).
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    let Some(body) = document().body() else {
        return;
    };
    // `hydrate_from_async` sets up Leptos's executor on wasm-bindgen-futures itself.
    wasm_bindgen_futures::spawn_local(async move {
        leptos::mount::hydrate_from_async(body, app::App)
            .await
            .forget();
        app::rules::mark_hydrated();
    });
}
