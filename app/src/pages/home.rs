use leptos::prelude::*;
use leptos_meta::Title;

/// What the product is and where to start.
#[component]
pub fn HomePage() -> impl IntoView {
    let rules = crate::rules::Rules::get();
    let code_summary = format!(
        "{}-digit code we email you, then sign in and keep your profile up to date. ",
        rules.code_length
    );
    let activate_step = format!(
        "Enter the {}-digit code from your email within {}. Lost it? Ask for a new one.",
        rules.code_length,
        rules.code_lifetime_text()
    );
    view! {
        <Title text="" />
        <section class="hero">
            <h1>"Your account, done properly."</h1>
            <p class="lead">
                "Create an account with your name, email and phone number, confirm it with the "
                {code_summary}
                "Passwords are hashed with Argon2id, sessions live on the server, and every "
                "sign-in is in your security history."
            </p>
            <div class="actions">
                <a class="button" href="/register">"Create an account"</a>
                <a class="button button-secondary" href="/login">"Sign in"</a>
            </div>
        </section>

        <section class="features" aria-labelledby="how-it-works">
            <h2 id="how-it-works">"How it works"</h2>
            <ol class="steps">
                <li>
                    <h3>"Register"</h3>
                    <p>"First name, surname, email, phone number and a password of your choice."</p>
                </li>
                <li>
                    <h3>"Activate"</h3>
                    <p>{activate_step}</p>
                </li>
                <li>
                    <h3>"Sign in"</h3>
                    <p>"Manage your profile, change your email or password, and see where you are signed in."</p>
                </li>
            </ol>
            <p class="muted">
                "Programs can do all of this too: every screen is backed by a plain JSON API under "
                <code>"/api"</code>", "<a href="/docs/" rel="external">"documented here"</a>"."
            </p>
        </section>
    }
}
