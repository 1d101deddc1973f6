//! `/login`: sign in, with the ways out for a forgotten password or an account not activated;
//! on an account with two-step sign-in, the second step after the password.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::{
    api::session::Login,
    browser::load_page,
    components::field::{Field, FieldState, focus_first_error, verdict},
    domain::Email,
    error::{ApiError, ErrorCode},
    model::{PasskeyPurpose, SecondStep},
    pages::{activate::PendingActivation, two_step::SecondStepForm},
    session::safe_next,
    t,
};

#[component]
pub fn LoginPage() -> impl IntoView {
    let email = FieldState::new(|v| verdict(Email::parse(v)));
    let code_ttl = crate::rules::Rules::get().code_ttl_secs;
    let password = FieldState::new(|v| {
        v.is_empty()
            .then(|| t!(forms.password_required).to_string())
    });
    let login = ServerAction::<Login>::new();
    let error = RwSignal::new(None::<ApiError>);
    let pending = expect_context::<RwSignal<Option<PendingActivation>>>();
    let query = use_query_map();
    let hydrated = crate::rules::Hydrated::get();
    let form = NodeRef::<leptos::html::Form>::new();
    // The password checked out on an account with two-step sign-in: the second step.
    let challenge = RwSignal::new(None::<SecondStep>);
    let with_passkey = Action::new_local(|(): &()| {
        crate::pages::passkeys::sign_in_with_passkey(PasskeyPurpose::Login, None)
    });

    Effect::new(move |_| {
        let Some(result) = login.value().get() else {
            return;
        };
        match result {
            Ok(_) => load_page(&safe_next(query.with_untracked(|q| q.get("next")))),
            Err(e) if e.error == ErrorCode::SecondFactorRequired => {
                challenge.set(e.second_step.map(|step| *step));
            }
            Err(e) => {
                if e.error == ErrorCode::NotActivated {
                    // The activation page can resend a code with these, without asking again.
                    pending.set(Some(PendingActivation {
                        email: email.value.get_untracked().trim().to_string(),
                        password: password.value.get_untracked(),
                        code_sent_at_ms: None,
                        code_expires_in: code_ttl,
                    }));
                }
                error.set(Some(e));
                focus_first_error(form);
            }
        }
    });

    Effect::new(move |_| match with_passkey.value().get() {
        Some(Ok(_)) => load_page(&safe_next(query.with_untracked(|q| q.get("next")))),
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });

    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        let ok = [email.validate(), password.validate()].iter().all(|ok| *ok);
        if !ok {
            focus_first_error(form);
        } else if !login.pending().get_untracked() {
            login.dispatch(Login {
                email: email.value.get_untracked().trim().to_string(),
                password: password.value.get_untracked().into(),
            });
        }
    };

    // Back to the password when the second step is over (too old, too many wrong codes).
    let expired = Callback::new(move |e: ApiError| {
        challenge.set(None);
        password.value.set(String::new());
        error.set(Some(e));
    });
    let second_step = move || {
        challenge.get().map(|step| {
            let next = safe_next(query.with_untracked(|q| q.get("next")));
            view! { <SecondStepForm step next expired /> }
        })
    };

    view! {
        <Title text=t!(sign_in.heading) />
        <section class="form-page">
            <h1>{t!(sign_in.heading)}</h1>
            {second_step}
            <form class="card form" method="post" novalidate node_ref=form on:submit=on_submit
                hidden=move || challenge.get().is_some()>
                <Field state=email id="email" label=t!(forms.email) kind="email" autocomplete="username" />
                <Field state=password id="password" label=t!(forms.password) kind="password" autocomplete="current-password" />
                <div role="alert" class="form-error">
                    {move || error.get().map(|e| {
                        let activate = (e.error == ErrorCode::NotActivated).then(|| view! {
                            " "<a href="/activate">{t!(sign_in.activate_account_link)}</a>
                        });
                        view! { {e.message} {activate} }
                    })}
                </div>
                <button type="submit" class="button" disabled=move || !hydrated.get() || login.pending().get()>
                    {move || if login.pending().get() { t!(sign_in.signing_in) } else { t!(sign_in.sign_in) }}
                </button>
                <button type="button" class="button button-secondary"
                    disabled=move || !hydrated.get() || with_passkey.pending().get()
                    on:click=move |_| {
                        error.set(None);
                        with_passkey.dispatch(());
                    }>
                    {t!(sign_in.with_passkey)}
                </button>
            </form>
            <p class="muted">
                <a href="/forgot-password">{t!(sign_in.forgot_password_link)}</a>
                " · "{t!(sign_in.not_activated_yet)}" "
                <a href="/activate">{t!(sign_in.enter_or_resend_code_link)}</a>
                " · "{t!(sign_in.new_here)}" "
                <a href="/register">{t!(sign_in.create_account_link)}</a>
            </p>
        </section>
    }
}
