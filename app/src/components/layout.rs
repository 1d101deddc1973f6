use leptos::prelude::*;

use crate::{
    api::session::Logout, browser::load_page, cart::Cart, language::Locale, session::CurrentUser, t,
};

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
        <a class="skip-link" href="#main" rel="external" on:click=skip>{t!(common.skip_to_content)}</a>
        <header class="site-header">
            <nav class="container nav" aria-label=t!(common.main_navigation)>
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
                <p>{t!(common.footer)}</p>
                <LanguageSwitcher />
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
                <li><a href="/products">{t!(common.nav_products)}</a></li>
                <li><CartLink /></li>
                <li><a href="/orders">{t!(common.nav_orders)}</a></li>
                {(profile.role == crate::model::Role::Admin).then(|| view! {
                    <li><a href="/admin">{t!(common.nav_admin)}</a></li>
                })}
                <li><a href="/account">{format!("{} {}", profile.first_name, profile.last_name)}</a></li>
                <li><SignOut /></li>
            </ul>
        }
        .into_any(),
        None => view! {
            <ul class="nav-links">
                <li><a href="/products">{t!(common.nav_products)}</a></li>
                <li><CartLink /></li>
                <li><a href="/register">{t!(common.nav_create_account)}</a></li>
                <li><a class="button button-small" href="/login">{t!(common.nav_sign_in)}</a></li>
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
            t!(common.nav_cart_count, count = count)
        } else {
            t!(common.nav_cart).to_string()
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
            {t!(common.sign_out)}
        </button>
    }
}

/// The languages, each named in itself, on every page. A link to `/language` (the server keeps
/// the choice in a cookie and brings the person back here), so it works before the page is
/// hydrated and renders the next page wholly in the new language.
#[component]
fn LanguageSwitcher() -> impl IntoView {
    let location = leptos_router::hooks::use_location();
    let current = crate::language::page_language();
    let back = move || {
        let path = location.pathname.get();
        let query = location.search.get();
        let back = if query.is_empty() {
            path
        } else {
            format!("{path}?{query}")
        };
        crate::browser::encode_query_value(&back)
    };
    view! {
        <nav class="languages" aria-label=t!(common.language_label)>
            <ul>
                {Locale::ALL
                    .iter()
                    .map(|&locale| {
                        let href = move || format!("/language?set={}&back={}", locale.code(), back());
                        view! {
                            <li>
                                <a
                                    href=href
                                    rel="external"
                                    hreflang=locale.code()
                                    lang=locale.code()
                                    aria-current=(locale == current).then_some("true")
                                >
                                    {locale.name()}
                                </a>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        </nav>
    }
}
