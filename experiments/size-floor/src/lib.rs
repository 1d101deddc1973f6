//! One form (two fields, a submit button that waits for its server function, a status line)
//! hydrated alone, under the router, or as an island: `measure.sh` builds all three.

use leptos::prelude::*;

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Reply {
    pub id: u64,
    pub name: String,
}

/// Never runs: the browser build only calls it.
#[server]
pub async fn register(first: String, email: String) -> Result<Reply, ServerFnError> {
    Err(ServerFnError::new(format!("{first} {email}")))
}

#[cfg_attr(feature = "islands", island)]
#[cfg_attr(not(feature = "islands"), component)]
pub fn Form() -> impl IntoView {
    let action = ServerAction::<Register>::new();
    let done = move || {
        action.value().get().map(|reply| match reply {
            Ok(reply) => format!("Welcome {} ({})", reply.name, reply.id),
            Err(error) => error.to_string(),
        })
    };
    view! {
        <ActionForm action>
            <label>"First name" <input name="first" /></label>
            <label>"Email" <input name="email" type="email" /></label>
            <button disabled=move || action.pending().get()>"Register"</button>
        </ActionForm>
        <p role="status">{done}</p>
    }
}

#[cfg(feature = "router")]
#[component]
pub fn App() -> impl IntoView {
    use leptos_router::{
        components::{A, Route, Router, Routes},
        path,
    };
    view! {
        <Router>
            <nav><A href="/">"Home"</A><A href="/register">"Register"</A></nav>
            <Routes fallback=|| "Not found">
                <Route path=path!("") view=|| view! { <h1>"Home"</h1> } />
                <Route path=path!("register") view=Form />
            </Routes>
        </Router>
    }
}

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    #[cfg(feature = "islands")]
    leptos::mount::hydrate_islands();
    #[cfg(all(feature = "router", not(feature = "islands")))]
    leptos::mount::hydrate_body(App);
    #[cfg(not(any(feature = "router", feature = "islands")))]
    leptos::mount::hydrate_body(Form);
}
