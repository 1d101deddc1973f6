//! The browser entry point. cargo-leptos builds this crate to WASM; the generated JS calls
//! `hydrate()` once the server-rendered HTML is in place.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
