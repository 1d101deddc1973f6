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
    t,
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
        <Title text=t!(sign_up.register_heading) />
        <section class="form-page">
            <h1>{t!(sign_up.register_heading)}</h1>
            <p class="muted">
                {t!(sign_up.register_lead_before, digits = code_length)}
                <a href="/activate">{t!(sign_up.register_lead_enter_code)}</a>
                {t!(sign_up.register_lead_or)}
                <a href="/login">{t!(sign_up.register_lead_sign_in)}</a>
                {t!(sign_up.register_lead_after)}
            </p>
            <form class="card form" method="post" novalidate node_ref=form on:submit=on_submit>
                <div class="field-row">
                    <Field state=first_name id="first_name" label=t!(sign_up.first_name) autocomplete="given-name" maxlength=100 />
                    <Field state=last_name id="last_name" label=t!(sign_up.surname) autocomplete="family-name" maxlength=100 />
                </div>
                <Field state=email id="email" label=t!(forms.email) kind="email" autocomplete="email" />
                <Field
                    state=phone
                    id="phone_number"
                    label=t!(sign_up.phone_number)
                    kind="tel"
                    autocomplete="tel"
                    hint=t!(sign_up.phone_hint)
                />
                <Field
                    state=password
                    id="password"
                    label=t!(forms.password)
                    kind="password"
                    autocomplete="new-password"
                    hint=t!(sign_up.password_hint)
                    maxlength=PASSWORD_MAX_CHARS * 4
                />
                <div role="alert" class="form-error">{move || general_error.get()}</div>
                <button
                    type="submit"
                    class="button"
                    disabled=move || !hydrated.get() || register.pending().get()
                >
                    {move || if register.pending().get() { t!(sign_up.creating) } else { t!(sign_up.create_account) }}
                </button>
            </form>
        </section>
    }
}
