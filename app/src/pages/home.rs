use leptos::prelude::*;
use leptos_meta::Title;

use crate::t;

/// What the product is and where to start.
#[component]
pub fn HomePage() -> impl IntoView {
    let rules = crate::rules::Rules::get();
    let lead = t!(home.lead, digits = rules.code_length);
    let activate_step = t!(
        home.step_activate_text,
        digits = rules.code_length,
        lifetime = rules.code_lifetime_text(),
    );
    view! {
        <Title text="" />
        <section class="hero">
            <h1>{t!(home.heading)}</h1>
            <p class="lead">{lead}</p>
            <div class="actions">
                <a class="button" href="/register">{t!(home.create_account)}</a>
                <a class="button button-secondary" href="/login">{t!(home.sign_in)}</a>
            </div>
        </section>

        <section class="features" aria-labelledby="how-it-works">
            <h2 id="how-it-works">{t!(home.how_it_works)}</h2>
            <ol class="steps">
                <li>
                    <h3>{t!(home.step_register)}</h3>
                    <p>{t!(home.step_register_text)}</p>
                </li>
                <li>
                    <h3>{t!(home.step_activate)}</h3>
                    <p>{activate_step}</p>
                </li>
                <li>
                    <h3>{t!(home.step_sign_in)}</h3>
                    <p>{t!(home.step_sign_in_text)}</p>
                </li>
            </ol>
            <p class="muted">
                {t!(home.api_before)}
                <code>"/api"</code>", "<a href="/docs/" rel="external">{t!(home.api_link)}</a>"."
            </p>
        </section>
    }
}
