//! Two-step sign-in in the browser: the account page's section (set up an authenticator app,
//! recovery codes, turn it off) and the second step of `/login`.

use leptos::prelude::*;

use crate::{
    api::second_factor::{RecoveryCodes, SecondFactor, TotpDisable, TotpEnable, TotpSetup},
    browser::load_page,
    components::field::{Field, code_field, focus_first_error, password_field, place_error},
    error::{ApiError, ErrorCode},
    language::{k, plural},
    model::{AuthenticatorSetup, PasskeyPurpose, SecondFactorMethod, SecondFactors, SecondStep},
    session::CurrentUser,
    t,
};

/// Where the account page's section is.
#[derive(Clone, PartialEq, Eq)]
enum Stage {
    /// What the account has, and what can be done with it.
    Idle,
    /// A new secret is shown; a code from the app turns it on.
    Scanning(AuthenticatorSetup),
    /// A new set of recovery codes, shown once.
    Codes(Vec<String>),
}

/// The account page's "Two-step sign-in" section.
#[component]
pub fn TwoStepSection(factors: SecondFactors) -> impl IntoView {
    let stage = RwSignal::new(Stage::Idle);
    let factors = RwSignal::new(factors);
    view! {
        <section class="card" aria-labelledby="two-step-heading">
            <h2 id="two-step-heading">{t!(sign_in.two_step_heading)}</h2>
            {move || match stage.get() {
                Stage::Idle if factors.get().totp => view! { <Enabled factors stage /> }.into_any(),
                Stage::Idle => view! { <Start stage /> }.into_any(),
                Stage::Scanning(setup) => view! { <Scan setup stage factors /> }.into_any(),
                Stage::Codes(codes) => view! { <ShowCodes codes stage /> }.into_any(),
            }}
        </section>
    }
}

#[component]
fn Start(stage: RwSignal<Stage>) -> impl IntoView {
    let password = password_field();
    let setup = ServerAction::<TotpSetup>::new();
    let form = NodeRef::<leptos::html::Form>::new();
    let notice = RwSignal::new(None::<String>);
    Effect::new(move |_| match setup.value().get() {
        Some(Ok(secret)) => stage.set(Stage::Scanning(secret)),
        Some(Err(e)) => {
            notice.set(place_error(e, &[("password", password)]));
            focus_first_error(form);
        }
        None => {}
    });
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        notice.set(None);
        if password.validate() {
            setup.dispatch(TotpSetup {
                password: password.value.get_untracked().into(),
            });
        } else {
            focus_first_error(form);
        }
    };
    view! {
        <p>{t!(sign_in.two_step_off)}</p>
        <form class="form" method="post" novalidate node_ref=form on:submit=on_submit>
            <Field state=password id="totp_password" label=t!(forms.your_password) kind="password" autocomplete="current-password" />
            <div role="alert" class="form-error">{move || notice.get()}</div>
            <button type="submit" class="button" disabled=move || setup.pending().get()>{t!(sign_in.set_up_app)}</button>
        </form>
    }
}

#[component]
fn Scan(
    setup: AuthenticatorSetup,
    stage: RwSignal<Stage>,
    factors: RwSignal<SecondFactors>,
) -> impl IntoView {
    let user = CurrentUser::get();
    let code = code_field();
    let enable = ServerAction::<TotpEnable>::new();
    let form = NodeRef::<leptos::html::Form>::new();
    let notice = RwSignal::new(None::<String>);
    Effect::new(move |_| match enable.value().get() {
        Some(Ok(set)) => {
            factors.update(|f| {
                f.totp = true;
                f.recovery_codes_left = u32::try_from(set.recovery_codes.len()).unwrap_or(0);
            });
            stage.set(Stage::Codes(set.recovery_codes));
            user.refresh();
        }
        Some(Err(e)) => {
            notice.set(place_error(e, &[("code", code)]));
            focus_first_error(form);
        }
        None => {}
    });
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        notice.set(None);
        if code.validate() {
            enable.dispatch(TotpEnable {
                code: code.value.get_untracked().trim().into(),
            });
        } else {
            focus_first_error(form);
        }
    };
    view! {
        <ol class="list">
            <li>
                {t!(sign_in.scan_qr_code)}
                <div class="qr" role="img" aria-label=t!(sign_in.qr_code_label) inner_html=setup.qr_svg></div>
            </li>
            <li>
                {t!(sign_in.type_key)}
                <code class="secret" id="authenticator-key">{setup.secret_grouped}</code>
            </li>
            <li>{t!(sign_in.enter_app_code)}</li>
        </ol>
        <form class="form" method="post" novalidate node_ref=form on:submit=on_submit>
            <Field state=code id="totp_code" label=t!(sign_in.code_from_app) inputmode="numeric" autocomplete="one-time-code" maxlength=7 />
            <div role="alert" class="form-error">{move || notice.get()}</div>
            <div class="actions">
                <button type="submit" class="button" disabled=move || enable.pending().get()>{t!(sign_in.turn_on)}</button>
                <button type="button" class="button button-secondary" on:click=move |_| stage.set(Stage::Idle)>{t!(forms.cancel)}</button>
            </div>
        </form>
    }
}

/// The text file of a set of recovery codes, as a `data:` URL.
fn codes_file(codes: &[String]) -> String {
    let mut url = String::from("data:text/plain;charset=utf-8,");
    url.push_str(&crate::browser::encode_query_value(t!(
        sign_in.codes_file_heading
    )));
    url.push_str("%0A");
    for code in codes {
        // Codes are digits, capitals and dashes: nothing to escape.
        url.push_str(code);
        url.push_str("%0A");
    }
    url
}

#[component]
fn ShowCodes(codes: Vec<String>, stage: RwSignal<Stage>) -> impl IntoView {
    let copied = RwSignal::new(false);
    let text = codes.join("\n");
    let file = codes_file(&codes);
    view! {
        <p role="status" class="form-info">{t!(sign_in.codes_shown)}</p>
        <ol class="codes">
            {codes.into_iter().map(|c| view! { <li><code>{c}</code></li> }).collect_view()}
        </ol>
        <div class="actions">
            <button type="button" class="button button-secondary" on:click=move |_| {
                crate::browser::copy_text(&text);
                copied.set(true);
            }>
                {move || if copied.get() { t!(sign_in.copied) } else { t!(sign_in.copy) }}
            </button>
            <a class="button button-secondary" href=file download="recovery-codes.txt">{t!(sign_in.download_codes)}</a>
            <button type="button" class="button" on:click=move |_| stage.set(Stage::Idle)>{t!(sign_in.codes_saved)}</button>
        </div>
    }
}

#[component]
fn Enabled(factors: RwSignal<SecondFactors>, stage: RwSignal<Stage>) -> impl IntoView {
    let user = CurrentUser::get();
    let renew_password = password_field();
    let renew_code = code_field();
    let renew = ServerAction::<RecoveryCodes>::new();
    let off_password = password_field();
    let off_code = code_field();
    let off = ServerAction::<TotpDisable>::new();
    let (renew_form, off_form) = (
        NodeRef::<leptos::html::Form>::new(),
        NodeRef::<leptos::html::Form>::new(),
    );
    let (renew_notice, off_notice) = (RwSignal::new(None::<String>), RwSignal::new(None::<String>));
    Effect::new(move |_| match renew.value().get() {
        Some(Ok(set)) => {
            factors.update(|f| {
                f.recovery_codes_left = u32::try_from(set.recovery_codes.len()).unwrap_or(0);
            });
            stage.set(Stage::Codes(set.recovery_codes));
        }
        Some(Err(e)) => {
            renew_notice.set(place_error(
                e,
                &[("password", renew_password), ("code", renew_code)],
            ));
            focus_first_error(renew_form);
        }
        None => {}
    });
    Effect::new(move |_| match off.value().get() {
        Some(Ok(_)) => {
            factors.set(SecondFactors::default());
            user.refresh();
        }
        Some(Err(e)) => {
            off_notice.set(place_error(
                e,
                &[("password", off_password), ("code", off_code)],
            ));
            focus_first_error(off_form);
        }
        None => {}
    });
    let on_renew = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        renew_notice.set(None);
        if [renew_password.validate(), renew_code.validate()]
            .iter()
            .all(|ok| *ok)
        {
            renew.dispatch(RecoveryCodes {
                password: renew_password.value.get_untracked().into(),
                code: renew_code.value.get_untracked().trim().into(),
            });
        } else {
            focus_first_error(renew_form);
        }
    };
    let on_off = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        off_notice.set(None);
        if [off_password.validate(), off_code.validate()]
            .iter()
            .all(|ok| *ok)
        {
            off.dispatch(TotpDisable {
                password: off_password.value.get_untracked().into(),
                code: off_code.value.get_untracked().trim().into(),
            });
        } else {
            focus_first_error(off_form);
        }
    };
    let left = move || factors.get().recovery_codes_left;
    view! {
        <p>
            <strong>{t!(sign_in.two_step_on)}</strong>
            {t!(sign_in.two_step_on_text)}
            {move || plural(k::sign_in::recovery_codes_left, u64::from(left()))}
        </p>
        <h3>{t!(sign_in.new_recovery_codes_heading)}</h3>
        <form class="form" method="post" novalidate node_ref=renew_form on:submit=on_renew>
            <Field state=renew_password id="renew_password" label=t!(forms.your_password) kind="password" autocomplete="current-password" />
            <Field state=renew_code id="renew_code" label=t!(forms.code_or_recovery_code) autocomplete="one-time-code" />
            <div role="alert" class="form-error">{move || renew_notice.get()}</div>
            <button type="submit" class="button button-secondary" disabled=move || renew.pending().get()>{t!(sign_in.make_new_recovery_codes)}</button>
        </form>
        <h3>{t!(sign_in.turn_off_heading)}</h3>
        <form class="form" method="post" novalidate node_ref=off_form on:submit=on_off>
            <Field state=off_password id="off_password" label=t!(forms.your_password) kind="password" autocomplete="current-password" />
            <Field state=off_code id="off_code" label=t!(forms.code_or_recovery_code) autocomplete="one-time-code" />
            <div role="alert" class="form-error">{move || off_notice.get()}</div>
            <button type="submit" class="button button-danger" disabled=move || off.pending().get()>{t!(sign_in.turn_off)}</button>
        </form>
    }
}

/// The second step of `/login`: a passkey, a code from the app, or a recovery code, whichever
/// the account has (`step.methods`). `expired` is called when the challenge is over (too old,
/// or too many wrong codes): the password again.
#[component]
pub fn SecondStepForm(
    step: SecondStep,
    next: String,
    expired: Callback<ApiError>,
) -> impl IntoView {
    let SecondStep { challenge, methods } = step;
    let has_app = methods.contains(&SecondFactorMethod::Totp);
    let has_recovery = methods.contains(&SecondFactorMethod::RecoveryCode);
    let has_passkey = methods.contains(&SecondFactorMethod::Passkey);
    // Without an app, the field (if any) is for a recovery code.
    let recovery = RwSignal::new(!has_app);
    let code = code_field();
    let recovery_code = code_field();
    let submit = ServerAction::<SecondFactor>::new();
    let form = NodeRef::<leptos::html::Form>::new();
    let notice = RwSignal::new(None::<String>);
    let with_passkey = {
        let challenge = challenge.clone();
        Action::new_local(move |(): &()| {
            crate::pages::passkeys::sign_in_with_passkey(
                PasskeyPurpose::SecondFactor,
                Some(challenge.clone()),
            )
        })
    };
    let passkey_notice = RwSignal::new(None::<String>);
    {
        let next = next.clone();
        Effect::new(move |_| match with_passkey.value().get() {
            Some(Ok(_)) => load_page(&next),
            Some(Err(e)) if e.error == ErrorCode::CodeExpired => expired.run(e),
            Some(Err(e)) => passkey_notice.set(Some(e.message)),
            None => {}
        });
    }
    Effect::new(move |_| match submit.value().get() {
        Some(Ok(_)) => load_page(&next),
        Some(Err(e)) if matches!(e.error, ErrorCode::CodeExpired | ErrorCode::CodeUsedUp) => {
            expired.run(e);
        }
        Some(Err(e)) => {
            let field = if recovery.get_untracked() {
                recovery_code
            } else {
                code
            };
            let message = match e.attempts_left {
                Some(left) => crate::language::fill(
                    &plural(k::sign_in::tries_left, u64::from(left)),
                    &[("message", &e.message)],
                ),
                None => e.message.clone(),
            };
            notice.set(place_error(e.with_message(message), &[("code", field)]));
            focus_first_error(form);
        }
        None => {}
    });
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        notice.set(None);
        let use_recovery = recovery.get_untracked();
        let field = if use_recovery { recovery_code } else { code };
        if !field.validate() {
            focus_first_error(form);
        } else if !submit.pending().get_untracked() {
            let typed = field.value.get_untracked().trim().to_string();
            submit.dispatch(SecondFactor {
                challenge: challenge.clone(),
                code: (!use_recovery).then(|| typed.clone().into()),
                recovery_code: use_recovery.then(|| typed.into()),
            });
        }
    };
    let passkey = has_passkey.then(|| {
        view! {
            <div class="form">
                <button type="button" class="button" disabled=move || with_passkey.pending().get()
                    on:click=move |_| {
                        passkey_notice.set(None);
                        with_passkey.dispatch(());
                    }>
                    {t!(sign_in.use_passkey)}
                </button>
                <div role="alert" class="form-error">{move || passkey_notice.get()}</div>
            </div>
        }
    });
    let codes = (has_app || has_recovery).then(|| view! {
        <form class="form" method="post" novalidate node_ref=form on:submit=on_submit>
            <Show
                when=move || recovery.get()
                fallback=move || view! {
                    <Field state=code id="second_code" label=t!(sign_in.code_from_authenticator) inputmode="numeric" autocomplete="one-time-code" maxlength=7 />
                }
            >
                <Field state=recovery_code id="recovery_code" label=t!(sign_in.recovery_code) autocomplete="off" hint=t!(sign_in.recovery_code_hint) />
            </Show>
            <div role="alert" class="form-error">{move || notice.get()}</div>
            <button type="submit" class="button" disabled=move || submit.pending().get()>{t!(sign_in.sign_in)}</button>
            {(has_app && has_recovery).then(|| view! {
                <button type="button" class="button button-link" on:click=move |_| {
                    notice.set(None);
                    recovery.update(|r| *r = !*r);
                }>
                    {move || if recovery.get() { t!(sign_in.use_app_code_instead) } else { t!(sign_in.use_recovery_code_instead) }}
                </button>
            })}
        </form>
    });
    view! {
        <div class="card">
            <p>{t!(sign_in.second_step_intro)}</p>
            {passkey}
            {codes}
        </div>
    }
}
