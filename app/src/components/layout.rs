use leptos::prelude::*;

use crate::{api::session::Logout, browser::load_page, cart::Cart, session::CurrentUser};

/// The frame around every page: a header with the product name and navigation (signed in or
/// out, as rendered by the server), the page, a footer.
#[component]
pub fn Layout(children: Children) -> impl IntoView {
    let main = NodeRef::<leptos::html::Main>::new();
    // The skip link moves the focus itself: the router would take `#main` for a navigation and
    // leave the focus on the link. (`rel="external"` keeps the router out of it.)
    let skip = move |ev: leptos::ev::MouseEvent| {
        ev.prevent_default();
        #[cfg(feature = "hydrate")]
        if let Some(main) = main.get_untracked() {
            let _ = main.focus();
        }
    };
    view! {
        <a class="skip-link" href="#main" rel="external" on:click=skip>"Skip to content"</a>
        <header class="site-header">
            <nav class="container nav" aria-label="Main">
                <a class="brand" href="/">
                    <span class="brand-mark" aria-hidden="true">"◆"</span>
                    " Accounts"
                </a>
                <Transition fallback=|| view! { <ul class="nav-links"></ul> }>
                    <NavLinks />
                </Transition>
            </nav>
        </header>
        <main id="main" class="container main" tabindex="-1" node_ref=main>
            {children()}
        </main>
        <footer class="site-footer">
            <div class="container">
                <p>"Accounts · your details, your sessions, your history — in one place."</p>
            </div>
        </footer>
    }
}

#[component]
fn NavLinks() -> impl IntoView {
    let user = CurrentUser::get();
    move || {
        match user.profile() {
        Some(profile) => view! {
            <ul class="nav-links">
                <li><a href="/products">"Products"</a></li>
                <li><CartLink /></li>
                <li><a href="/orders">"Orders"</a></li>
                {(profile.role == crate::model::Role::Admin).then(|| view! {
                    <li><a href="/admin">"Administration"</a></li>
                })}
                <li><a href="/account">{format!("{} {}", profile.first_name, profile.last_name)}</a></li>
                <li><SignOut /></li>
            </ul>
        }
        .into_any(),
        None => view! {
            <ul class="nav-links">
                <li><a href="/products">"Products"</a></li>
                <li><CartLink /></li>
                <li><a href="/register">"Create account"</a></li>
                <li><a class="button button-small" href="/login">"Sign in"</a></li>
            </ul>
        }
        .into_any(),
    }
    }
}

/// "Cart (3)": the count appears once the browser has read the stored cart.
#[component]
fn CartLink() -> impl IntoView {
    let cart = Cart::get();
    let text = move || {
        let count = cart.count();
        if cart.loaded() && count > 0 {
            format!("Cart ({count})")
        } else {
            "Cart".to_string()
        }
    };
    view! { <a href="/cart">{text}</a> }
}

/// Ends the session on the server, then shows the signed-out site.
#[component]
pub fn SignOut() -> impl IntoView {
    let logout = ServerAction::<Logout>::new();
    let hydrated = crate::rules::Hydrated::get();
    Effect::new(move |_| {
        if logout.value().get().is_some() {
            load_page("/");
        }
    });
    view! {
        <button
            type="button"
            class="button button-small button-secondary"
            disabled=move || !hydrated.get() || logout.pending().get()
            on:click=move |_| {
                logout.dispatch(Logout {});
            }
        >
            "Sign out"
        </button>
    }
}
