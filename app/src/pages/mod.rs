//! One module per page, and the routes that load each page's code when it is visited.
//!
//! The release build is split (`cargo leptos build --split`): every page below is a
//! [`LazyRoute`](leptos_router::LazyRoute) whose code sits in a WASM module of its own group of
//! pages, which the browser fetches on the first visit to one of them; code two groups share goes
//! into a chunk they both load. On a full page load the server names the page's files
//! (`data-preload`), so they download alongside the main module instead of after it. The main
//! module keeps only the shell: the router, the header and the 404 page. `make size` checks what
//! each page costs a first visit.
//!
//! Why groups and not one module per page: the splitter makes a chunk for every set of modules
//! that share some code, so with one module per page a page needed 70 to 170 files, most under
//! 1 KB, and on a phone every round of requests costs a round trip. Pages a visitor goes through
//! together (register, activate, sign in) share a group, so the next page is already loaded.
//! Why five: constant data (the pages' text among it) that several modules use stays in the main
//! module, so every extra group costs every page. Splitting administration in two moved 77 KB of
//! data back into the main module (+24 KiB brotli on every page) for 18 KiB less on the
//! administration pages.

pub mod account;
pub mod activate;
pub mod admin;
pub mod cart;
pub mod error;
pub mod forgot_password;
pub mod home;
pub mod login;
pub mod not_found;
pub mod orders;
pub mod passkeys;
pub mod products;
pub mod register;
pub mod two_step;

use leptos::prelude::*;

/// `page_groups! { enum Kind; fn group / __preload_group { Route => module::Page, … } … }`: for
/// each group, a function `group` whose code is split into a WASM module of its own and renders
/// any page of the group (which one is a `Kind`), and for each page a route type whose view it
/// renders. The pages load their own data, so a route's data is empty. `__preload_group` is the
/// loader that the `lazy` attribute makes for `group`. Last, [`load_page_code`].
/// The attribute that names the group of the page the server rendered (`data-page-code`,
/// for example `entry_pages`), on a hidden element at the start of the page, so the browser loads
/// that group's code before it hydrates the page. (The view spells it out: attribute names in
/// `view!` are literal.)
#[cfg(feature = "hydrate")]
const PAGE_CODE: &str = "page-code";

/// The split build's manifest: for each lazy module, the WASM files it needs (its own and the
/// chunks it shares), by their paths under `/pkg`. Read once, on the server, from the file
/// cargo-leptos writes beside them; empty, with a warning in the log, in a build without one
/// (`cargo test`'s).
#[cfg(feature = "ssr")]
#[derive(Clone)]
pub struct PageFiles(std::sync::Arc<std::collections::HashMap<String, Vec<String>>>);

#[cfg(feature = "ssr")]
impl PageFiles {
    /// Provides the manifest to the page being rendered, for [`page_files`].
    pub fn provide(options: &LeptosOptions) {
        static FILES: std::sync::OnceLock<PageFiles> = std::sync::OnceLock::new();
        let files = FILES.get_or_init(|| {
            let pkg = format!("/{}", options.site_pkg_dir);
            let path = std::path::Path::new(&*options.site_root)
                .join(&*options.site_pkg_dir)
                .join(&crate::infra::assets::Assets::get().split_manifest);
            let read = std::fs::read_to_string(&path)
                .map_err(|error| error.to_string())
                .and_then(|text| serde_json::from_str(&text).map_err(|error| error.to_string()));
            let modules: std::collections::HashMap<String, Vec<String>> = match read {
                Ok(modules) => modules,
                Err(error) => {
                    // Pages still work: each loads its group's files after the main module.
                    tracing::warn!(
                        path = %path.display(),
                        %error,
                        "no split manifest: pages will not preload their code"
                    );
                    Default::default()
                }
            };
            let paths = modules
                .into_iter()
                .map(|(module, files)| {
                    let files = files
                        .iter()
                        .map(|file| format!("{pkg}/{file}.wasm"))
                        .collect();
                    (module, files)
                })
                .collect();
            PageFiles(std::sync::Arc::new(paths))
        });
        provide_context(files.clone());
    }
}

/// On the server, the WASM files of `group` (its module and the chunks it needs, from the split
/// manifest), separated by spaces, for the hidden element that names the group (`data-preload`).
/// The page's script (`PageScripts`) preloads them alongside the main module once the page is
/// painted. Empty in the browser (hydration keeps the server's attribute).
fn page_files(group: &str) -> String {
    #[cfg(feature = "ssr")]
    {
        use_context::<PageFiles>()
            .map(|PageFiles(modules)| {
                modules
                    .iter()
                    .filter(|(name, _)| {
                        name.strip_prefix(group)
                            .is_some_and(|rest| rest.starts_with('_'))
                    })
                    .flat_map(|(_, files)| files.iter().map(String::as_str))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default()
    }
    #[cfg(not(feature = "ssr"))]
    {
        let _ = group;
        String::new()
    }
}

macro_rules! page_groups {
    ($(
        enum $kind:ident;
        fn $group:ident / $preload:ident {
            $($(#[$doc:meta])* $route:ident => $module:ident :: $page:ident),+ $(,)?
        }
    )+) => {
        $(
            /// Which page of the group to render: named after its route.
            #[allow(clippy::enum_variant_names)]
            #[derive(Clone, Copy)]
            enum $kind {
                $($route),+
            }

            #[::leptos::lazy]
            fn $group(page: $kind) -> AnyView {
                let page = match page {
                    $($kind::$route => {
                        use $module::$page;
                        view! { <$page /> }.into_any()
                    })+
                };
                view! {
                    <div hidden data-page-code=stringify!($group) data-preload=page_files(stringify!($group))></div>
                    {page}
                }
                .into_any()
            }

            $(
                $(#[$doc])*
                pub struct $route;

                impl leptos_router::LazyRoute for $route {
                    fn data() -> Self {
                        Self
                    }

                    async fn view(_: Self) -> AnyView {
                        $group($kind::$route).await
                    }

                    async fn preload() {
                        #[cfg(target_arch = "wasm32")]
                        $preload().await;
                    }
                }
            )+
        )+

        /// Loads the WASM module of the page the server rendered, as its `data-page-code` names
        /// it, before the browser hydrates it. With the page's code in memory, the whole page
        /// hydrates at once and synchronously, which is what the browser bundle is built for: it
        /// carries no asynchronous hydration (see `vendor/tachys/PATCHED.md`). A page without
        /// one (the 404 page) has its code in the main module.
        #[cfg(feature = "hydrate")]
        pub async fn load_page_code() {
            match crate::browser::data_attribute(PAGE_CODE).as_deref() {
                $(Some(stringify!($group)) => $preload().await,)+
                _ => {}
            }
        }
    };
}

page_groups! {
    enum HomeGroup;
    fn home_pages / __preload_home_pages {
        /// `/`
        HomeRoute => home::HomePage,
    }

    enum EntryGroup;
    fn entry_pages / __preload_entry_pages {
        /// `/register`
        RegisterRoute => register::RegisterPage,
        /// `/activate`
        ActivateRoute => activate::ActivatePage,
        /// `/login`
        LoginRoute => login::LoginPage,
        /// `/forgot-password`
        ForgotPasswordRoute => forgot_password::ForgotPasswordPage,
    }

    enum ShopGroup;
    fn shop_pages / __preload_shop_pages {
        /// `/products`
        ProductsRoute => products::ProductsPage,
        /// `/products/:id`
        ProductRoute => products::ProductPage,
        /// `/cart`
        CartRoute => cart::CartPage,
    }

    enum AccountGroup;
    fn account_pages / __preload_account_pages {
        /// `/account`
        AccountRoute => account::AccountPage,
        /// `/orders`
        OrdersRoute => orders::OrdersPage,
        /// `/orders/:id`
        OrderRoute => orders::OrderPage,
    }

    enum AdminGroup;
    fn admin_pages / __preload_admin_pages {
        /// `/admin`
        AdminUsersRoute => admin::AdminUsersPage,
        /// `/admin/users/:id`
        AdminUserRoute => admin::AdminUserPage,
        /// `/admin/audit`
        AdminAuditRoute => admin::AdminAuditPage,
        /// `/admin/mail`
        AdminMailRoute => admin::AdminMailPage,
        /// `/admin/products`
        AdminProductsRoute => admin::AdminProductsPage,
        /// `/admin/products/:id`
        AdminProductRoute => admin::AdminProductPage,
    }
}
