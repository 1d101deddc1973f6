use leptos::prelude::*;

/// The frame around every page: a header with the product name and navigation, the page, a footer.
#[component]
pub fn Layout(children: Children) -> impl IntoView {
    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        <header class="site-header">
            <nav class="container nav" aria-label="Main">
                <a class="brand" href="/">
                    <span class="brand-mark" aria-hidden="true">"◆"</span>
                    " Accounts"
                </a>
                <ul class="nav-links">
                    <li><a href="/register">"Create account"</a></li>
                    <li><a class="button button-small" href="/login">"Sign in"</a></li>
                </ul>
            </nav>
        </header>
        <main id="main" class="container main" tabindex="-1">
            {children()}
        </main>
        <footer class="site-footer">
            <div class="container">
                <p>"Accounts · your details, your sessions, your history — in one place."</p>
            </div>
        </footer>
    }
}
