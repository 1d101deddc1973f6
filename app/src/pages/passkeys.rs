//! Passkeys in the browser: the account page's section (add one, list, rename, remove), and
//! signing in with one (`/login`'s button, and the second step's).

use leptos::prelude::*;
use serde_json::value::RawValue;

use crate::{
    api::passkeys::{
        DeletePasskey, RenamePasskey, passkey_login, passkey_options, passkey_register, passkeys,
    },
    browser::{self, Ceremony},
    components::{
        field::{Field, FieldState, code_field, focus_first_error, password_field, place_error},
        time::{When, WhenOr},
    },
    display,
    error::{ApiError, ErrorCode},
    model::{PasskeyInfo, PasskeyPurpose, SecondStepDone},
    session::CurrentUser,
    t,
};

/// What the browser could not do, as an error the page shows like the server's.
fn refused_here(message: String) -> ApiError {
    ApiError::new(ErrorCode::InvalidPasskey, message)
}

fn credential_json(credential: String) -> Result<Box<RawValue>, ApiError> {
    RawValue::from_string(credential)
        .map_err(|_| refused_here(t!(account.passkey_unreadable).to_string()))
}

/// Signs in with a passkey: `login` (any passkey of any account, no email) or the
/// `second_factor` step of the sign-in whose `challenge` is given.
pub async fn sign_in_with_passkey(
    purpose: PasskeyPurpose,
    challenge: Option<String>,
) -> Result<SecondStepDone, ApiError> {
    let started = passkey_options(Some(purpose), None, challenge).await?;
    let credential = browser::passkey(Ceremony::Get, started.options.get())
        .await
        .map_err(refused_here)?;
    passkey_login(started.ceremony, Some(credential_json(credential)?), None).await
}

async fn add_passkey(password: String, name: String) -> Result<PasskeyInfo, ApiError> {
    let started =
        passkey_options(Some(PasskeyPurpose::Register), Some(password.into()), None).await?;
    let credential = browser::passkey(Ceremony::Create, started.options.get())
        .await
        .map_err(refused_here)?;
    passkey_register(started.ceremony, Some(credential_json(credential)?), name).await
}

fn name_field() -> FieldState {
    FieldState::new(|v| {
        v.trim()
            .is_empty()
            .then(|| t!(account.passkey_name_required).to_string())
    })
}

/// What is being done to one passkey of the list.
#[derive(Clone, PartialEq, Eq)]
enum Editing {
    Rename(PasskeyInfo),
    Remove(PasskeyInfo),
}

/// The account page's "Passkeys" section.
#[component]
pub fn PasskeysSection() -> impl IntoView {
    let user = CurrentUser::get();
    let changed = RwSignal::new(0u32);
    let list = Resource::new(
        move || changed.get(),
        |_| crate::error::page_data(passkeys()),
    );
    let editing = RwSignal::new(None::<Editing>);
    let notice = RwSignal::new(None::<String>);
    let done = Callback::new(move |message: String| {
        editing.set(None);
        notice.set(Some(message));
        changed.update(|n| *n += 1);
        user.refresh();
    });
    view! {
        <section class="card" aria-labelledby="passkeys-heading">
            <h2 id="passkeys-heading">{t!(account.passkeys_heading)}</h2>
            <p>{t!(account.passkeys_intro)}</p>
            <p role="status" class="form-info">{move || notice.get()}</p>
            <Transition fallback=|| view! { <p>{t!(account.loading)}</p> }>
                {move || {
                    let items = list.get().and_then(Result::ok).unwrap_or_default();
                    if items.is_empty() {
                        return view! { <p class="muted">{t!(account.passkeys_none)}</p> }.into_any();
                    }
                    view! {
                        <ul class="list">
                            {items.into_iter().map(|p| {
                                let (rename, remove) = (p.clone(), p.clone());
                                view! {
                                    <li>
                                        <span>
                                            <strong>{p.name}</strong>
                                            " · "{t!(account.passkey_added_before)}<When at=p.created_at />
                                            " · "{t!(account.passkey_last_used_before)}<WhenOr at=p.last_used_at otherwise=t!(account.passkey_never_used) />
                                        </span>
                                        <span class="actions">
                                            <button type="button" class="button button-small button-secondary"
                                                on:click=move |_| { notice.set(None); editing.set(Some(Editing::Rename(rename.clone()))) }>
                                                {t!(account.passkey_rename)}
                                            </button>
                                            <button type="button" class="button button-small button-secondary"
                                                on:click=move |_| { notice.set(None); editing.set(Some(Editing::Remove(remove.clone()))) }>
                                                {t!(account.passkey_remove)}
                                            </button>
                                        </span>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }
                    .into_any()
                }}
            </Transition>
            {move || match editing.get() {
                Some(Editing::Rename(passkey)) => view! { <RenameForm passkey editing done /> }.into_any(),
                Some(Editing::Remove(passkey)) => view! { <RemoveForm passkey editing done /> }.into_any(),
                None => view! { <AddForm done /> }.into_any(),
            }}
        </section>
    }
}

#[component]
fn AddForm(done: Callback<String>) -> impl IntoView {
    let name = name_field();
    // A first name to change: the device this is (in the browser only; the server renders none).
    Effect::new(move |_| {
        if name.value.get_untracked().is_empty() {
            name.value
                .set(display::device_name(browser::user_agent().as_deref()));
        }
    });
    let password = password_field();
    let add = Action::new_local(|(password, name): &(String, String)| {
        add_passkey(password.clone(), name.clone())
    });
    let form = NodeRef::<leptos::html::Form>::new();
    let error = RwSignal::new(None::<String>);
    Effect::new(move |_| match add.value().get() {
        Some(Ok(added)) => {
            password.value.set(String::new());
            done.run(t!(account.passkey_added, name = added.name));
        }
        Some(Err(e)) => {
            error.set(place_error(e, &[("password", password), ("name", name)]));
            focus_first_error(form);
        }
        None => {}
    });
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        if [name.validate(), password.validate()].iter().all(|ok| *ok) {
            add.dispatch((
                password.value.get_untracked(),
                name.value.get_untracked().trim().to_string(),
            ));
        } else {
            focus_first_error(form);
        }
    };
    view! {
        <h3>{t!(account.passkey_add_heading)}</h3>
        <form class="form" method="post" novalidate node_ref=form on:submit=on_submit>
            <Field state=name id="passkey_name" label=t!(account.passkey_name_label) hint=t!(account.passkey_name_hint) />
            <Field state=password id="passkey_password" label=t!(account.your_password) kind="password" autocomplete="current-password" />
            <div role="alert" class="form-error">{move || error.get()}</div>
            <button type="submit" class="button" disabled=move || add.pending().get()>{t!(account.passkey_add_button)}</button>
        </form>
    }
}

#[component]
fn RenameForm(
    passkey: PasskeyInfo,
    editing: RwSignal<Option<Editing>>,
    done: Callback<String>,
) -> impl IntoView {
    let name = name_field();
    name.value.set(passkey.name.clone());
    let rename = ServerAction::<RenamePasskey>::new();
    let form = NodeRef::<leptos::html::Form>::new();
    let error = RwSignal::new(None::<String>);
    Effect::new(move |_| match rename.value().get() {
        Some(Ok(renamed)) => done.run(t!(account.passkey_renamed, name = renamed.name)),
        Some(Err(e)) => {
            error.set(place_error(e, &[("name", name)]));
            focus_first_error(form);
        }
        None => {}
    });
    let id = passkey.passkey_id.to_string();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        if name.validate() {
            rename.dispatch(RenamePasskey {
                passkey_id: id.clone(),
                name: name.value.get_untracked().trim().to_string(),
            });
        } else {
            focus_first_error(form);
        }
    };
    view! {
        <h3>{t!(account.passkey_rename_heading, name = passkey.name)}</h3>
        <form class="form" method="post" novalidate node_ref=form on:submit=on_submit>
            <Field state=name id="rename_passkey_name" label=t!(account.passkey_new_name) />
            <div role="alert" class="form-error">{move || error.get()}</div>
            <div class="actions">
                <button type="submit" class="button" disabled=move || rename.pending().get()>{t!(account.passkey_save_name)}</button>
                <button type="button" class="button button-secondary" on:click=move |_| editing.set(None)>{t!(account.cancel)}</button>
            </div>
        </form>
    }
}

#[component]
fn RemoveForm(
    passkey: PasskeyInfo,
    editing: RwSignal<Option<Editing>>,
    done: Callback<String>,
) -> impl IntoView {
    let user = CurrentUser::get();
    // A current code is asked for when the account has an authenticator app or recovery codes.
    let code_needed = user
        .profile()
        .is_some_and(|p| p.second_factors.totp || p.second_factors.recovery_codes_left > 0);
    let password = password_field();
    let code = code_field();
    let remove = ServerAction::<DeletePasskey>::new();
    let form = NodeRef::<leptos::html::Form>::new();
    let error = RwSignal::new(None::<String>);
    let name = passkey.name.clone();
    Effect::new(move |_| match remove.value().get() {
        Some(Ok(_)) => done.run(t!(account.passkey_removed, name = name)),
        Some(Err(e)) => {
            error.set(place_error(e, &[("password", password), ("code", code)]));
            focus_first_error(form);
        }
        None => {}
    });
    let id = passkey.passkey_id.to_string();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        let ok = [password.validate(), !code_needed || code.validate()]
            .iter()
            .all(|ok| *ok);
        if ok {
            remove.dispatch(DeletePasskey {
                passkey_id: id.clone(),
                password: password.value.get_untracked().into(),
                code: code_needed.then(|| code.value.get_untracked().trim().into()),
            });
        } else {
            focus_first_error(form);
        }
    };
    view! {
        <h3>{t!(account.passkey_remove_heading, name = passkey.name)}</h3>
        <form class="form" method="post" novalidate node_ref=form on:submit=on_submit>
            <Field state=password id="remove_passkey_password" label=t!(account.your_password) kind="password" autocomplete="current-password" />
            {code_needed.then(|| view! {
                <Field state=code id="remove_passkey_code" label=t!(account.passkey_code_label) autocomplete="one-time-code" />
            })}
            <div role="alert" class="form-error">{move || error.get()}</div>
            <div class="actions">
                <button type="submit" class="button button-danger" disabled=move || remove.pending().get()>{t!(account.passkey_remove_button)}</button>
                <button type="button" class="button button-secondary" on:click=move |_| editing.set(None)>{t!(account.cancel)}</button>
            </div>
        </form>
    }
}
