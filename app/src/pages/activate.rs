//! `/activate`: enter the emailed code before it expires, or ask for a new one.
//!
//! Right after registering, the page knows the email, password and when the code was sent (kept
//! in memory only, never in the URL or storage). After a reload, or in another browser, it asks
//! for the email and password, which the API needs as HTTP Basic Auth anyway.

use leptos::prelude::*;
use leptos_meta::Title;
use serde_json::json;

use crate::{
    browser::{basic_authorization, now_ms, post_json_with_auth},
    components::field::{
        Field, FieldState, focus_first_error, focus_when_shown, place_error, verdict,
    },
    domain::{Email, VerificationCode},
    error::{ApiError, ErrorCode},
    language::{k, plural},
    model::{Activated, CodeSent},
    rules::{Hydrated, Rules},
    t,
};

/// What registration hands to the activation page, in memory.
#[derive(Clone, PartialEq)]
pub struct PendingActivation {
    pub email: String,
    pub password: String,
    pub code_sent_at_ms: Option<f64>,
    pub code_expires_in: u64,
}

/// Where the app keeps a pending activation between pages.
pub fn provide_pending_activation() {
    provide_context(RwSignal::new(None::<PendingActivation>));
}

#[derive(Clone, PartialEq)]
enum Notice {
    Error(String),
    Info(String),
}

#[component]
pub fn ActivatePage() -> impl IntoView {
    let pending = expect_context::<RwSignal<Option<PendingActivation>>>();
    // Decided once: a page that started without credentials keeps asking for them.
    let remembered = pending.get_untracked();
    let ask_credentials = remembered.is_none();

    let email = FieldState::new(|v| verdict(Email::parse(v)));
    let password = FieldState::new(|v| {
        v.is_empty()
            .then(|| t!(forms.password_required).to_string())
    });
    let code = FieldState::new(|v| verdict(VerificationCode::parse(v, None)));

    let rules = Rules::get();
    let code_hint = StoredValue::new(t!(sign_up.code_hint, digits = rules.code_length));
    let sent_at = remembered.as_ref().and_then(|p| p.code_sent_at_ms);
    let ttl = remembered
        .as_ref()
        .map_or(rules.code_ttl_secs, |p| p.code_expires_in);
    let cooldown = rules.resend_cooldown_secs;
    let expires_at = RwSignal::new(sent_at.map(|t| t + ttl as f64 * 1000.0));
    let resend_at = RwSignal::new(sent_at.map(|t| t + cooldown as f64 * 1000.0));
    let notice = RwSignal::new(None::<Notice>);
    let activated = RwSignal::new(false);

    // The clock, ticking in the browser only (effects do not run on the server).
    let now = RwSignal::new(0.0);
    let hydrated = Hydrated::get();
    let form_ref = NodeRef::<leptos::html::Form>::new();
    let done_heading = NodeRef::<leptos::html::H1>::new();
    focus_when_shown(done_heading);
    Effect::new(move |_| {
        // Once the page is hydrated (see `rules::Hydrated`).
        if !hydrated.get() {
            return;
        }
        now.set(now_ms());
        if let Ok(handle) = set_interval_with_handle(
            move || now.set(now_ms()),
            std::time::Duration::from_millis(250),
        ) {
            on_cleanup(move || handle.clear());
        }
    });
    let seconds_until = move |deadline: Option<f64>| {
        deadline.map(|t| ((t - now.get()) / 1000.0).ceil().max(0.0) as u64)
    };

    let credentials = move || match pending.get_untracked() {
        Some(p) if !ask_credentials => Some(basic_authorization(&p.email, &p.password)),
        _ => {
            let email_ok = email.validate();
            let password_ok = password.validate();
            (email_ok && password_ok).then(|| {
                basic_authorization(
                    email.value.get_untracked().trim(),
                    &password.value.get_untracked(),
                )
            })
        }
    };

    let activate = Action::new_local(|(auth, code): &(String, String)| {
        let (auth, code) = (auth.clone(), code.clone());
        async move {
            post_json_with_auth::<_, Activated>("/api/activate", &auth, &json!({ "code": code }))
                .await
        }
    });
    let resend = Action::new_local(|auth: &String| {
        let auth = auth.clone();
        async move { post_json_with_auth::<_, CodeSent>("/api/resend-code", &auth, &json!({})).await }
    });

    Effect::new(move |_| {
        let Some(result) = activate.value().get() else {
            return;
        };
        match result {
            Ok(_) => {
                activated.set(true);
                pending.set(None);
            }
            Err(e) => {
                focus_first_error(form_ref);
                match e.error {
                    ErrorCode::AlreadyActive => {
                        activated.set(true);
                        pending.set(None);
                    }
                    ErrorCode::Invalid => {
                        if let Some(message) = place_error(e, &[("code", code)]) {
                            notice.set(Some(Notice::Error(message)));
                        }
                    }
                    ErrorCode::CodeExpired => {
                        // The resend cooldown never outlasts a code, so a new one may go now,
                        // whatever this page's clock says.
                        let now = now_ms();
                        expires_at.set(Some(now));
                        resend_at.set(Some(now));
                        notice.set(Some(Notice::Error(e.message)));
                    }
                    _ => notice.set(Some(Notice::Error(e.message))),
                }
            }
        }
    });
    Effect::new(move |_| {
        let Some(result) = resend.value().get() else {
            return;
        };
        let now = now_ms();
        match result {
            Ok(CodeSent { code_expires_in }) => {
                expires_at.set(Some(now + code_expires_in as f64 * 1000.0));
                resend_at.set(Some(now + cooldown as f64 * 1000.0));
                code.value.set(String::new());
                code.shown.set(false);
                notice.set(Some(Notice::Info(t!(sign_up.new_code_sent).into())));
            }
            Err(ApiError {
                error: ErrorCode::AlreadyActive,
                ..
            }) => activated.set(true),
            Err(e) => {
                if let Some(wait) = e.retry_after {
                    resend_at.set(Some(now + wait as f64 * 1000.0));
                }
                notice.set(Some(Notice::Error(e.message)));
            }
        }
    });

    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        notice.set(None);
        let code_ok = code.validate();
        let Some(auth) = credentials().filter(|_| code_ok) else {
            focus_first_error(form_ref);
            return;
        };
        if !activate.pending().get_untracked() {
            activate.dispatch((auth, code.value.get_untracked()));
        }
    };
    let on_resend = move |_| {
        notice.set(None);
        if let Some(auth) = credentials() {
            resend.dispatch(auth);
        }
    };

    let countdown = move || {
        seconds_until(expires_at.get()).map(|left| match left {
            0 => t!(sign_up.code_expired).to_string(),
            n => plural(k::sign_up::code_expires_in, n),
        })
    };
    // Screen readers hear the countdown at a few moments, not every second.
    let announcement = Memo::new(move |_| {
        seconds_until(expires_at.get()).map(|left| match left {
            0 => t!(sign_up.code_expired).to_string(),
            1..=10 => t!(sign_up.code_expires_within_10).to_string(),
            11..=30 => t!(sign_up.code_expires_within_30).to_string(),
            _ => t!(sign_up.code_expires_after_30).to_string(),
        })
    });
    let resend_wait = move || seconds_until(resend_at.get()).filter(|s| *s > 0);

    let form = move || {
        view! {
            <form class="card form" method="post" novalidate node_ref=form_ref on:submit=on_submit>
                {ask_credentials.then(|| view! {
                    <p class="muted">{t!(sign_up.credentials_needed)}</p>
                    <Field state=email id="email" label=t!(forms.email) kind="email" autocomplete="email" />
                    <Field state=password id="password" label=t!(forms.password) kind="password" autocomplete="current-password" />
                })}
                <Field
                    state=code
                    id="code"
                    label=t!(sign_up.activation_code)
                    inputmode="numeric"
                    autocomplete="one-time-code"
                    hint=code_hint.get_value()
                />
                <p class="countdown" role="timer" aria-atomic="true">{countdown}</p>
                <p class="visually-hidden" aria-live="polite">{move || announcement.get()}</p>
                <div role="alert" class="form-error">
                    {move || match notice.get() {
                        Some(Notice::Error(m)) => Some(m),
                        _ => None,
                    }}
                </div>
                <p role="status" class="form-info">
                    {move || match notice.get() {
                        Some(Notice::Info(m)) => Some(m),
                        _ => None,
                    }}
                </p>
                <div class="actions">
                    <button
                        type="submit"
                        class="button"
                        disabled=move || !hydrated.get() || activate.pending().get()
                    >
                        {move || if activate.pending().get() { t!(forms.checking) } else { t!(sign_up.activate) }}
                    </button>
                    <button
                        type="button"
                        class="button button-secondary"
                        disabled=move || !hydrated.get() || resend.pending().get() || resend_wait().is_some()
                        on:click=on_resend
                    >
                        {t!(sign_up.send_new_code)}
                    </button>
                </div>
                <p class="field-hint">
                    {move || resend_wait().map(|s| plural(k::sign_up::resend_in, s))}
                </p>
            </form>
        }
    };

    view! {
        <Title text=t!(sign_up.activate_heading) />
        <section class="form-page">
            <Show
                when=move || activated.get()
                fallback=move || view! {
                    <h1>{t!(sign_up.activate_heading)}</h1>
                    <p class="muted">
                        {match &remembered {
                            Some(p) => t!(sign_up.code_emailed_to, email = p.email),
                            None => t!(sign_up.enter_emailed_code).to_string(),
                        }}
                    </p>
                    {form}
                }
            >
                <div class="card confirmation">
                    <h1 tabindex="-1" node_ref=done_heading>{t!(sign_up.active_heading)}</h1>
                    <p>{t!(sign_up.active_text)}</p>
                    <a class="button" href="/login">{t!(sign_up.sign_in)}</a>
                </div>
            </Show>
        </section>
    }
}
