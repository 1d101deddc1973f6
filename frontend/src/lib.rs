//! The browser entry point. cargo-leptos builds this crate to WASM; the page script calls
//! `hydrate(texts)` once the server-rendered HTML is in place.

/// Loads the code of the page the server rendered (its WASM module, see `app::pages`), hydrates
/// the whole page synchronously, then tells the app it is done: the controls wait for that
/// (`app::rules::Hydrated`).
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate(texts: wasm_bindgen::JsValue) {
    // Development builds print a panic's message to the console; the shipped one leaves it out
    // (its formatting code weighs on every page's download) and reports a trap instead.
    #[cfg(debug_assertions)]
    console_error_panic_hook::set_once();
    // The page's texts, in its language (`app::language`): without them there is nothing to
    // hydrate with, and the page stays as the server rendered it.
    if !app::language::load_browser_texts(texts) {
        return;
    }
    wasm_bindgen_futures::spawn_local(async {
        app::pages::load_page_code().await;
        leptos::mount::hydrate_body(app::App);
        // What waits for hydration (the controls, local times, the stored cart) runs in a task
        // of its own: hydrating is one long task already, most of it the browser compiling the
        // WASM functions it calls for the first time.
        app::browser::yield_to_browser().await;
        app::rules::mark_hydrated();
    });
}
