//! The accounts app: the page shell, the routes and the pages, shared by the server build (`ssr`)
//! and the browser build (`hydrate`). Server-only code sits behind `#[cfg(feature = "ssr")]`.

#![recursion_limit = "256"]

pub mod api;
pub mod browser;
pub mod cart;
pub mod components;
pub mod display;
pub mod domain;
pub mod error;
#[cfg(feature = "ssr")]
pub mod infra;
pub mod language;
pub mod model;
pub mod pages;
pub mod rules;
#[cfg(feature = "ssr")]
pub mod services;
pub mod session;
#[cfg(feature = "ssr")]
pub mod state;

use leptos::prelude::*;
use leptos_meta::{HashedStylesheet, Link, Meta, MetaTags, Title, provide_meta_context};
use leptos_router::{
    Lazy, SsrMode,
    components::{Route, Router, Routes},
    path,
};

use crate::components::layout::Layout;
use crate::pages::{
    AccountRoute, ActivateRoute, AdminAuditRoute, AdminMailRoute, AdminProductRoute,
    AdminProductsRoute, AdminUserRoute, AdminUsersRoute, CartRoute, ForgotPasswordRoute, HomeRoute,
    LoginRoute, OrderRoute, OrdersRoute, ProductRoute, ProductsRoute, RegisterRoute,
    activate::provide_pending_activation, not_found::NotFound,
};

/// The HTML document the server renders around the app. The browser never runs it.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    set_content_security_policy(&options);
    let lang = language::of_this_request().code();
    view! {
        <!DOCTYPE html>
        <html lang=lang>
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <AutoReload options=options.clone() />
                <HashedStylesheet options=options.clone() id="leptos" />
                <PageScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The script that hydrates the page, started on the first frame after the page is painted
/// (`page_scripts.js`). Leptos's `HydrationScripts` preloads the main module from the head, so
/// the browser requested 180 KiB of WASM before it painted anything, alongside the page's own
/// stylesheet, and Lighthouse's simulated mobile LCP counted all of it: 2.3-3.0 s, for pages
/// whose first paint it put at 0.9 s. (Leptos's server integration also preloads a page's lazy
/// files in the head whenever `HydrationScripts` has provided the split manifest; here the pages
/// name their files themselves, `pages::PageFiles`.)
#[component]
fn PageScripts(options: LeptosOptions) -> impl IntoView {
    // The browser never renders the shell.
    #[cfg(not(feature = "ssr"))]
    let _ = options;
    #[cfg(feature = "ssr")]
    {
        pages::PageFiles::provide(&options);
        // Without its comments, which every page would carry.
        static SCRIPT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            include_str!("page_scripts.js")
                .lines()
                .filter(|line| !line.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n")
        });
        let assets = crate::infra::assets::Assets::get();
        let (texts, _) = language::texts_file(language::of_this_request());
        let script = format!(
            "({})({:?}, {:?}, {:?});",
            *SCRIPT, assets.script, assets.wasm, texts
        );
        view! { <script type="module" nonce=leptos::nonce::use_nonce()>{script}</script> }
    }
}

/// Scripts run only when they carry this response's nonce (`PageScripts` puts it on its
/// scripts) or are loaded by one that does; everything else comes from our own origin.
#[cfg(feature = "ssr")]
fn set_content_security_policy(options: &LeptosOptions) {
    use leptos::nonce::use_nonce;
    use leptos_axum::ResponseOptions;

    let (Some(nonce), Some(response)) = (use_nonce(), use_context::<ResponseOptions>()) else {
        return;
    };
    // `make watch` reloads the page over a WebSocket on its own port.
    let connect = if std::env::var_os("LEPTOS_WATCH").is_some() {
        format!(
            "'self' ws://{}:{}",
            options.site_addr.ip(),
            options.reload_port
        )
    } else {
        "'self'".to_string()
    };
    let policy = format!(
        "default-src 'self'; script-src 'nonce-{nonce}' 'strict-dynamic' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src {connect}; object-src 'none'; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    );
    if let Ok(value) = http::HeaderValue::from_str(&policy) {
        response.insert_header(http::header::CONTENT_SECURITY_POLICY, value);
    }
}

/// The root component: page metadata and the routes.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    rules::Hydrated::provide();
    provide_pending_activation();
    session::CurrentUser::provide();
    rules::Rules::provide();
    cart::Cart::provide();

    // The language the server chose for this page (`language::choose`), which it wrote in
    // `<html lang>`, where the browser reads it (`language::page_language`).
    #[cfg(feature = "ssr")]
    provide_context(language::of_this_request());

    view! {
        <Link rel="icon" type_="image/svg+xml" href="/favicon.svg" />
        <Meta name="description" content=t!(common.meta_description) />
        <Title formatter=|title: String| {
            if title.is_empty() { "Accounts".to_string() } else { format!("{title} · Accounts") }
        } />
        <Router>
            <Layout>
                // In order: the server sends each part of a page once it is ready, in place. Out of
                // order, it sends a placeholder first (the header's links, "Loading…") and the
                // content later, and on a slow connection the page moves under the reader's eyes
                // (a layout shift). Partially blocked does the same whenever a blocking resource
                // is not ready at the moment the page is rendered.
                <Routes fallback=NotFound>
                    <Route path=path!("") view={Lazy::<HomeRoute>::new()} ssr=SsrMode::InOrder />
                    <Route path=path!("register") view={Lazy::<RegisterRoute>::new()} ssr=SsrMode::InOrder />
                    <Route path=path!("activate") view={Lazy::<ActivateRoute>::new()} ssr=SsrMode::InOrder />
                    <Route path=path!("login") view={Lazy::<LoginRoute>::new()} ssr=SsrMode::InOrder />
                    <Route path=path!("forgot-password") view={Lazy::<ForgotPasswordRoute>::new()} ssr=SsrMode::InOrder />
                    <Route path=path!("products") view={Lazy::<ProductsRoute>::new()} ssr=SsrMode::InOrder />
                    <Route path=path!("products/:id") view={Lazy::<ProductRoute>::new()} ssr=SsrMode::Async />
                    // The cart lives in the browser: the server renders its frame only.
                    <Route path=path!("cart") view={Lazy::<CartRoute>::new()} ssr=SsrMode::InOrder />
                    // Async: the server renders the whole page before answering, so an anonymous visitor
                    // gets a real 302 to sign-in.
                    <Route path=path!("account") view={Lazy::<AccountRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("orders") view={Lazy::<OrdersRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("orders/:id") view={Lazy::<OrderRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("admin") view={Lazy::<AdminUsersRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("admin/users/:id") view={Lazy::<AdminUserRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("admin/products") view={Lazy::<AdminProductsRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("admin/products/:id") view={Lazy::<AdminProductRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("admin/audit") view={Lazy::<AdminAuditRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("admin/mail") view={Lazy::<AdminMailRoute>::new()} ssr=SsrMode::Async />
                </Routes>
            </Layout>
        </Router>
    }
}
