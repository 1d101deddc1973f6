//! `/register`: the form, checked as you type with the same parsers the server uses.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_navigate;

use crate::{
    api::registration::Register,
    browser::now_ms,
    components::field::{Field, FieldState, focus_first_error, place_error, verdict},
    domain::{Email, PASSWORD_MAX_CHARS, Password, PersonName, check_phone_shape},
    model::Registered,
    pages::activate::PendingActivation,
};

#[component]
pub fn RegisterPage() -> impl IntoView {
    let first_name = FieldState::new(|v| verdict(PersonName::parse(v)));
    let last_name = FieldState::new(|v| verdict(PersonName::parse(v)));
    let email = FieldState::new(|v| verdict(Email::parse(v)));
    let phone = FieldState::new(|v| verdict(check_phone_shape(v)));
    let password = FieldState::new(|v| verdict(Password::parse(v)));
    let fields = [
        ("first_name", first_name),
        ("last_name", last_name),
        ("email", email),
        ("phone_number", phone),
        ("password", password),
    ];

    let register = ServerAction::<Register>::new();
    let general_error = RwSignal::new(None::<String>);
    let pending = expect_context::<RwSignal<Option<PendingActivation>>>();
    let navigate = use_navigate();
    // The submit button is disabled until hydration: before that a press would be a native
    // form submission that could put the password in a URL.
    let hydrated = crate::rules::Hydrated::get();
    let form = NodeRef::<leptos::html::Form>::new();

    Effect::new(move |_| {
        let Some(result) = register.value().get() else {
            return;
        };
        match result {
            Ok(Registered {
                email: stored,
                code_expires_in,
                ..
            }) => {
                let now = now_ms();
                pending.set(Some(PendingActivation {
                    email: stored,
                    password: password.value.get_untracked(),
                    code_sent_at_ms: Some(now),
                    code_expires_in,
                }));
                navigate("/activate", Default::default());
            }
            Err(e) => {
                if let Some(message) = place_error(e, &fields) {
                    general_error.set(Some(message));
                }
                focus_first_error(form);
            }
        }
    });

    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        general_error.set(None);
        // Check every field (so each shows its verdict), then send only if all pass.
        let verdicts: Vec<bool> = fields.iter().map(|(_, state)| state.validate()).collect();
        let all_valid = verdicts.iter().all(|ok| *ok);
        if !all_valid {
            focus_first_error(form);
            return;
        }
        if register.pending().get_untracked() {
            return;
        }
        register.dispatch(Register {
            first_name: first_name.value.get_untracked(),
            last_name: last_name.value.get_untracked(),
            email: email.value.get_untracked(),
            phone_number: phone.value.get_untracked(),
            password: password.value.get_untracked().into(),
        });
    };

    let code_length = crate::rules::Rules::get().code_length;
    view! {
        <Title text="Create your account" />
        <section class="form-page">
            <h1>"Create your account"</h1>
            <p class="muted">
                {format!("We will email you a {code_length}-digit code to activate it. Already registered? ")}
                <a href="/activate">"Enter your code"</a>" or "<a href="/login">"sign in"</a>"."
            </p>
            <form class="card form" method="post" novalidate node_ref=form on:submit=on_submit>
                <div class="field-row">
                    <Field state=first_name id="first_name" label="First name" autocomplete="given-name" maxlength=100 />
                    <Field state=last_name id="last_name" label="Surname" autocomplete="family-name" maxlength=100 />
                </div>
                <Field state=email id="email" label="Email" kind="email" autocomplete="email" />
                <Field
                    state=phone
                    id="phone_number"
                    label="Phone number"
                    kind="tel"
                    autocomplete="tel"
                    hint="With the country code, like +44 20 7946 0958."
                />
                <Field
                    state=password
                    id="password"
                    label="Password"
                    kind="password"
                    autocomplete="new-password"
                    hint="8 to 128 characters. Any characters, spaces too; avoid common passwords."
                    maxlength=PASSWORD_MAX_CHARS * 4
                />
                <div role="alert" class="form-error">{move || general_error.get()}</div>
                <button
                    type="submit"
                    class="button"
                    disabled=move || !hydrated.get() || register.pending().get()
                >
                    {move || if register.pending().get() { "Creating your account…" } else { "Create account" }}
                </button>
            </form>
        </section>
    }
}
