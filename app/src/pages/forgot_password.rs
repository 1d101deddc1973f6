//! `/forgot-password`: ask for a code by email, then set a new password with it.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::{
    api::password_reset::{RequestPasswordReset, ResetPassword},
    components::field::{
        Field, FieldState, focus_first_error, focus_when_shown, place_error, verdict,
    },
    domain::{Email, Password, VerificationCode},
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
        format!(
            "{} digits, as in the email (for example {}); spaces are fine.",
            rules.reset_code_length,
            rules.reset_code_example()
        )
    };
    let reset_rules = move || {
        let rules = crate::rules::Rules::get();
        format!(
            "The code is long because it replaces your password. After {} wrong codes in a day, \
             resets for this address pause for a while and its owner is told by email; signing \
             in with the current password still works.",
            rules.reset_failures_per_day
        )
    };

    view! {
        <Title text="Reset your password" />
        <section class="form-page">
            <h1>"Reset your password"</h1>
            <Show
                when=done
                fallback=move || view! {
                    <Show
                        when=requested
                        fallback=move || view! {
                            <p class="muted">"We will email a code to your address if it belongs to an activated account."</p>
                            <form class="card form" method="post" novalidate node_ref=request_form on:submit=on_request>
                                <Field state=email id="email" label="Email" kind="email" autocomplete="username" />
                                <div role="alert" class="form-error">
                                    {move || request.value().get().and_then(Result::err).map(|e| e.message)}
                                </div>
                                <button type="submit" class="button" disabled=move || !hydrated.get() || request.pending().get()>
                                    "Email me a code"
                                </button>
                            </form>
                        }
                    >
                        <p role="status" class="form-info">
                            {format!(
                                "If an activated account uses that address, a code is on its way. It expires in {}.",
                                crate::rules::Rules::get().reset_code_lifetime_text()
                            )}
                        </p>
                        <p class="muted">{reset_rules}</p>
                        <form class="card form" method="post" novalidate node_ref=reset_form on:submit=on_reset>
                            <Field state=code id="code" label="Code" inputmode="numeric" autocomplete="one-time-code" hint=code_hint() maxlength=32 />
                            <Field state=new_password id="new_password" label="New password" kind="password" autocomplete="new-password" />
                            <div role="alert" class="form-error">{move || reset_error.get()}</div>
                            <button type="submit" class="button" disabled=move || reset.pending().get()>
                                "Set the new password"
                            </button>
                        </form>
                    </Show>
                }
            >
                <div class="card confirmation">
                    <h2 tabindex="-1" node_ref=done_heading>"Your password was changed"</h2>
                    <p>"Every session was signed out. Sign in with the new password."</p>
                    <a class="button" href="/login">"Sign in"</a>
                </div>
            </Show>
        </section>
    }
}
