//! `/forgot-password`: ask for a code by email, then set a new password with it.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::{
    api::password_reset::{RequestPasswordReset, ResetPassword},
    components::field::{
        Field, FieldState, focus_first_error, focus_when_shown, place_error, verdict,
    },
    domain::{Email, Password, VerificationCode},
    t,
};

#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    let email = FieldState::new(|v| verdict(Email::parse(v)));
    let code = FieldState::new(|v| verdict(VerificationCode::parse(v, None)));
    let new_password = FieldState::new(|v| verdict(Password::parse(v)));
    let request = ServerAction::<RequestPasswordReset>::new();
    let reset = ServerAction::<ResetPassword>::new();
    let hydrated = crate::rules::Hydrated::get();
    let done_heading = NodeRef::<leptos::html::H2>::new();
    focus_when_shown(done_heading);
    let (request_form, reset_form) = (
        NodeRef::<leptos::html::Form>::new(),
        NodeRef::<leptos::html::Form>::new(),
    );

    let requested = move || matches!(request.value().get(), Some(Ok(_)));
    let done = move || matches!(reset.value().get(), Some(Ok(_)));
    let reset_error = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        if let Some(Err(_)) = request.value().get() {
            focus_first_error(request_form);
        }
    });
    Effect::new(move |_| match reset.value().get() {
        Some(Err(e)) => {
            reset_error.set(place_error(e, &[("new_password", new_password)]));
            focus_first_error(reset_form);
        }
        _ => reset_error.set(None),
    });

    let on_request = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if email.validate() {
            request.dispatch(RequestPasswordReset {
                email: email.value.get_untracked().trim().to_string(),
            });
        } else {
            focus_first_error(request_form);
        }
    };
    let on_reset = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let ok = [code.validate(), new_password.validate()]
            .iter()
            .all(|ok| *ok);
        if ok {
            reset.dispatch(ResetPassword {
                email: email.value.get_untracked().trim().to_string(),
                code: code.value.get_untracked().into(),
                new_password: new_password.value.get_untracked().into(),
            });
        } else {
            focus_first_error(reset_form);
        }
    };

    // Why the code is long, and what too many wrong ones do, from the server's own rules.
    let code_hint = move || {
        let rules = crate::rules::Rules::get();
        t!(
            sign_in.reset_code_hint,
            digits = rules.reset_code_length,
            example = rules.reset_code_example(),
        )
    };
    let reset_rules = move || {
        let rules = crate::rules::Rules::get();
        t!(sign_in.reset_rules, failures = rules.reset_failures_per_day)
    };

    view! {
        <Title text=t!(sign_in.reset_heading) />
        <section class="form-page">
            <h1>{t!(sign_in.reset_heading)}</h1>
            <Show
                when=done
                fallback=move || view! {
                    <Show
                        when=requested
                        fallback=move || view! {
                            <p class="muted">{t!(sign_in.reset_intro)}</p>
                            <form class="card form" method="post" novalidate node_ref=request_form on:submit=on_request>
                                <Field state=email id="email" label=t!(forms.email) kind="email" autocomplete="username" />
                                <div role="alert" class="form-error">
                                    {move || request.value().get().and_then(Result::err).map(|e| e.message)}
                                </div>
                                <button type="submit" class="button" disabled=move || !hydrated.get() || request.pending().get()>
                                    {t!(sign_in.email_me_code)}
                                </button>
                            </form>
                        }
                    >
                        <p role="status" class="form-info">
                            {t!(
                                sign_in.reset_code_sent,
                                lifetime = crate::rules::Rules::get().reset_code_lifetime_text(),
                            )}
                        </p>
                        <p class="muted">{reset_rules}</p>
                        <form class="card form" method="post" novalidate node_ref=reset_form on:submit=on_reset>
                            <Field state=code id="code" label=t!(sign_in.code) inputmode="numeric" autocomplete="one-time-code" hint=code_hint() maxlength=32 />
                            <Field state=new_password id="new_password" label=t!(sign_in.new_password) kind="password" autocomplete="new-password" />
                            <div role="alert" class="form-error">{move || reset_error.get()}</div>
                            <button type="submit" class="button" disabled=move || reset.pending().get()>
                                {t!(sign_in.set_new_password)}
                            </button>
                        </form>
                    </Show>
                }
            >
                <div class="card confirmation">
                    <h2 tabindex="-1" node_ref=done_heading>{t!(sign_in.password_changed_heading)}</h2>
                    <p>{t!(sign_in.password_changed_text)}</p>
                    <a class="button" href="/login">{t!(sign_in.sign_in)}</a>
                </div>
            </Show>
        </section>
    }
}
