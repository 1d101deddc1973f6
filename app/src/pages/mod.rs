//! One module per page, and the routes that load each page's code when it is visited.
//!
//! The release build is split (`cargo leptos build --split`): every page below is a
//! [`LazyRoute`](leptos_router::LazyRoute), so its code sits in a WASM chunk of its own that the
//! browser fetches on the first visit to that page, and code two pages share goes into a chunk
//! they both load. On a full page load the server names the page's chunks in `<link
//! rel="preload">` tags, so they download alongside the main module instead of after it. The main
//! module keeps only the shell: the router, the header and the 404 page. `make size` checks what
//! each page costs a first visit.

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
pub mod products;
pub mod register;

use leptos::prelude::*;

/// `lazy_page!(Route, module::Page)`: a route type whose view is `Page`, loaded on demand. The
/// pages load their own data, so the route's data is empty.
macro_rules! lazy_page {
    ($(#[$doc:meta])* $route:ident, $module:ident :: $page:ident) => {
        $(#[$doc])*
        pub struct $route;

        #[leptos_router::lazy_route]
        impl leptos_router::LazyRoute for $route {
            fn data() -> Self {
                Self
            }

            fn view(this: Self) -> AnyView {
                let _ = this;
                use $module::$page;
                view! { <$page /> }.into_any()
            }
        }
    };
}

lazy_page!(
    /// `/`
    HomeRoute, home::HomePage
);
lazy_page!(
    /// `/register`
    RegisterRoute, register::RegisterPage
);
lazy_page!(
    /// `/activate`
    ActivateRoute, activate::ActivatePage
);
lazy_page!(
    /// `/login`
    LoginRoute, login::LoginPage
);
lazy_page!(
    /// `/forgot-password`
    ForgotPasswordRoute, forgot_password::ForgotPasswordPage
);
lazy_page!(
    /// `/products`
    ProductsRoute, products::ProductsPage
);
lazy_page!(
    /// `/products/:id`
    ProductRoute, products::ProductPage
);
lazy_page!(
    /// `/cart`
    CartRoute, cart::CartPage
);
lazy_page!(
    /// `/account`
    AccountRoute, account::AccountPage
);
lazy_page!(
    /// `/orders`
    OrdersRoute, orders::OrdersPage
);
lazy_page!(
    /// `/orders/:id`
    OrderRoute, orders::OrderPage
);
lazy_page!(
    /// `/admin`
    AdminUsersRoute, admin::AdminUsersPage
);
lazy_page!(
    /// `/admin/users/:id`
    AdminUserRoute, admin::AdminUserPage
);
lazy_page!(
    /// `/admin/products`
    AdminProductsRoute, admin::AdminProductsPage
);
lazy_page!(
    /// `/admin/products/:id`
    AdminProductRoute, admin::AdminProductPage
);
lazy_page!(
    /// `/admin/audit`
    AdminAuditRoute, admin::AdminAuditPage
);
lazy_page!(
    /// `/admin/mail`
    AdminMailRoute, admin::AdminMailPage
);
