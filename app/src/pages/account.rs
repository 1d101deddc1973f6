//! `/account`: the signed-in area. Anonymous visitors are sent to sign in and brought back.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;

use crate::{
    api::account::{
        ChangeEmail, ChangePassword, ConfirmEmail, DeleteAccount, RevokeSession, UpdateProfile,
        security_events, sessions,
    },
    browser::load_page,
    components::{
        field::{Field, FieldState, focus_first_error, place_error, verdict},
        layout::SignOut,
        time::When,
    },
    display,
    domain::{Email, Password, PersonName, VerificationCode, check_phone_shape},
    model::{Profile, SessionKind},
    pages::{passkeys::PasskeysSection, two_step::TwoStepSection},
    session::CurrentUser,
    t,
};

#[component]
pub fn AccountPage() -> impl IntoView {
    let user = CurrentUser::get();
    // Only signing in or out re-renders the page: a refreshed profile (after a save) must not
    // reset the forms and their messages.
    let signed_in = user.ask(CurrentUser::signed_in);
    view! {
        <Title text=t!(account.your_account) />
        <Transition fallback=|| view! { <p>{t!(account.loading)}</p> }>
            {move || match signed_in() {
                Some(false) => view! { <Redirect path="/login?next=/account" /> }.into_any(),
                Some(true) => match untrack(|| user.profile()) {
                    Some(profile) => view! { <Account profile /> }.into_any(),
                    None => ().into_any(),
                },
                None => ().into_any(),
            }}
        </Transition>
    }
}

#[component]
fn Account(profile: Profile) -> impl IntoView {
    view! {
        <section class="account">
            <div class="account-head">
                <h1>{t!(account.your_account)}</h1>
                <SignOut />
            </div>
            // Boxed: one concrete type per section keeps the page's type (and its stack use) small.
            {view! { <ProfileForm profile=profile.clone() /> }.into_any()}
            {view! { <EmailForm current=profile.email.clone() /> }.into_any()}
            {view! { <PasswordForm /> }.into_any()}
            {view! { <TwoStepSection factors=profile.second_factors /> }.into_any()}
            {view! { <PasskeysSection /> }.into_any()}
            {view! { <Sessions /> }.into_any()}
            {view! { <History /> }.into_any()}
            <section class="card" aria-labelledby="export-heading">
                <h2 id="export-heading">{t!(account.export_heading)}</h2>
                <p>{t!(account.export_text)}</p>
                <a class="button button-secondary" href="/api/export-account" download="account.json">{t!(account.export_download)}</a>
            </section>
            {view! { <DeleteForm /> }.into_any()}
        </section>
    }
}

#[component]
fn ProfileForm(profile: Profile) -> impl IntoView {
    let user = CurrentUser::get();
    let first = FieldState::new(|v| verdict(PersonName::parse(v)));
    let last = FieldState::new(|v| verdict(PersonName::parse(v)));
    let phone = FieldState::new(|v| verdict(check_phone_shape(v)));
    first.value.set(profile.first_name);
    last.value.set(profile.last_name);
    phone.value.set(profile.phone_display.0);
    // The language of the pages and emails: a code, or "" for the browser's own.
    let picked = profile.language.map(|l| l.code()).unwrap_or_default();
    let language = RwSignal::new(picked.to_string());
    let save = ServerAction::<UpdateProfile>::new();
    let form = NodeRef::<leptos::html::Form>::new();
    let notice = RwSignal::new(None::<Result<String, String>>);
    Effect::new(move |_| match save.value().get() {
        Some(Ok(saved)) => {
            if saved.language.map(|l| l.code()).unwrap_or_default() != picked {
                // Every word on the page changes: the server renders it again.
                load_page("/account");
                return;
            }
            notice.set(Some(Ok(t!(account.saved).into())));
            user.refresh();
        }
        Some(Err(e)) => {
            let fields = [
                ("first_name", first),
                ("last_name", last),
                ("phone_number", phone),
            ];
            notice.set(place_error(e, &fields).map(Err));
            focus_first_error(form);
        }
        None => {}
    });
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        notice.set(None);
        if [first.validate(), last.validate(), phone.validate()]
            .iter()
            .all(|ok| *ok)
        {
            let mut changes = serde_json::Map::new();
            changes.insert("first_name".into(), first.value.get_untracked().into());
            changes.insert("last_name".into(), last.value.get_untracked().into());
            changes.insert("phone_number".into(), phone.value.get_untracked().into());
            let code = language.get_untracked();
            changes.insert(
                "language".into(),
                if code.is_empty() {
                    serde_json::Value::Null
                } else {
                    code.into()
                },
            );
            save.dispatch(UpdateProfile { changes });
        } else {
            focus_first_error(form);
        }
    };
    view! {
        <section class="card" aria-labelledby="profile-heading">
            <h2 id="profile-heading">{t!(account.profile_heading)}</h2>
            <form class="form" method="post" novalidate node_ref=form on:submit=on_submit>
                <div class="field-row">
                    <Field state=first id="first_name" label=t!(account.first_name) autocomplete="given-name" />
                    <Field state=last id="last_name" label=t!(account.surname) autocomplete="family-name" />
                </div>
                <Field state=phone id="phone_number" label=t!(account.phone_number) kind="tel" autocomplete="tel" />
                <div class="field">
                    <label for="language">{t!(account.language)}</label>
                    <select
                        id="language"
                        name="language"
                        aria-describedby="language-hint"
                        on:change=move |ev| language.set(event_target_value(&ev))
                    >
                        <option value="" selected=picked.is_empty()>{t!(account.language_browser)}</option>
                        {crate::language::Locale::ALL
                            .iter()
                            .map(|locale| {
                                view! {
                                    <option value=locale.code() lang=locale.code() selected=locale.code() == picked>
                                        {locale.name()}
                                    </option>
                                }
                            })
                            .collect_view()}
                    </select>
                    <p class="field-hint" id="language-hint">{t!(account.language_hint)}</p>
                </div>
                <Notice notice />
                <button type="submit" class="button" disabled=move || save.pending().get()>{t!(account.save_profile)}</button>
            </form>
        </section>
    }
}

#[component]
fn Notice(notice: RwSignal<Option<Result<String, String>>>) -> impl IntoView {
    view! {
        <div role="alert" class="form-error">
            {move || notice.get().and_then(Result::err)}
        </div>
        <p role="status" class="form-info">
            {move || notice.get().and_then(Result::ok)}
        </p>
    }
}

#[component]
fn EmailForm(current: String) -> impl IntoView {
    let user = CurrentUser::get();
    let new_email = FieldState::new(|v| verdict(Email::parse(v)));
    let password =
        FieldState::new(|v| v.is_empty().then(|| t!(account.enter_password).to_string()));
    let code = FieldState::new(|v| verdict(VerificationCode::parse(v, None)));
    let request = ServerAction::<ChangeEmail>::new();
    let confirm = ServerAction::<ConfirmEmail>::new();
    let notice = RwSignal::new(None::<Result<String, String>>);
    let awaiting_code = RwSignal::new(false);
    let (request_form, confirm_form) = (
        NodeRef::<leptos::html::Form>::new(),
        NodeRef::<leptos::html::Form>::new(),
    );
    Effect::new(move |_| match request.value().get() {
        Some(Ok(_)) => {
            awaiting_code.set(true);
            notice.set(Some(Ok(t!(
                account.email_code_sent,
                email = new_email.value.get_untracked().trim()
            ))));
        }
        Some(Err(e)) => {
            notice
                .set(place_error(e, &[("new_email", new_email), ("password", password)]).map(Err));
            focus_first_error(request_form);
        }
        None => {}
    });
    Effect::new(move |_| match confirm.value().get() {
        Some(Ok(profile)) => {
            awaiting_code.set(false);
            notice.set(Some(Ok(t!(account.email_changed, email = profile.email))));
            user.refresh();
        }
        Some(Err(e)) => {
            notice.set(place_error(e, &[("code", code)]).map(Err));
            focus_first_error(confirm_form);
        }
        None => {}
    });
    let on_request = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        notice.set(None);
        if [new_email.validate(), password.validate()]
            .iter()
            .all(|ok| *ok)
        {
            request.dispatch(ChangeEmail {
                new_email: new_email.value.get_untracked().trim().to_string(),
                password: password.value.get_untracked().into(),
            });
        } else {
            focus_first_error(request_form);
        }
    };
    let on_confirm = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        notice.set(None);
        if code.validate() {
            confirm.dispatch(ConfirmEmail {
                code: code.value.get_untracked().into(),
            });
        } else {
            focus_first_error(confirm_form);
        }
    };
    view! {
        <section class="card" aria-labelledby="email-heading">
            <h2 id="email-heading">{t!(account.email_heading)}</h2>
            <p>{t!(account.email_current_before)}<strong>{current}</strong>{t!(account.email_current_after)}</p>
            <Show
                when=move || awaiting_code.get()
                fallback=move || view! {
                    <form class="form" method="post" novalidate node_ref=request_form on:submit=on_request>
                        <Field state=new_email id="new_email" label=t!(account.new_email) kind="email" autocomplete="email" />
                        <Field state=password id="email_password" label=t!(account.your_password) kind="password" autocomplete="current-password" />
                        <button type="submit" class="button" disabled=move || request.pending().get()>{t!(account.send_code)}</button>
                    </form>
                }
            >
                <form class="form" method="post" novalidate node_ref=confirm_form on:submit=on_confirm>
                    <Field state=code id="email_code" label=t!(account.email_code) inputmode="numeric" autocomplete="one-time-code" />
                    <button type="submit" class="button" disabled=move || confirm.pending().get()>{t!(account.confirm_email)}</button>
                </form>
            </Show>
            <Notice notice />
        </section>
    }
}

#[component]
fn PasswordForm() -> impl IntoView {
    let current = FieldState::new(|v| {
        v.is_empty()
            .then(|| t!(account.enter_current_password).to_string())
    });
    let new = FieldState::new(|v| verdict(Password::parse(v)));
    let change = ServerAction::<ChangePassword>::new();
    let form = NodeRef::<leptos::html::Form>::new();
    let notice = RwSignal::new(None::<Result<String, String>>);
    Effect::new(move |_| match change.value().get() {
        Some(Ok(_)) => {
            current.value.set(String::new());
            new.value.set(String::new());
            current.shown.set(false);
            new.shown.set(false);
            notice.set(Some(Ok(t!(account.password_changed).into())));
        }
        Some(Err(e)) => {
            notice.set(
                place_error(e, &[("current_password", current), ("new_password", new)]).map(Err),
            );
            focus_first_error(form);
        }
        None => {}
    });
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        notice.set(None);
        if [current.validate(), new.validate()].iter().all(|ok| *ok) {
            change.dispatch(ChangePassword {
                current_password: current.value.get_untracked().into(),
                new_password: new.value.get_untracked().into(),
            });
        } else {
            focus_first_error(form);
        }
    };
    view! {
        <section class="card" aria-labelledby="password-heading">
            <h2 id="password-heading">{t!(account.password_heading)}</h2>
            <form class="form" method="post" novalidate node_ref=form on:submit=on_submit>
                <Field state=current id="current_password" label=t!(account.current_password) kind="password" autocomplete="current-password" />
                <Field state=new id="new_password" label=t!(account.new_password) kind="password" autocomplete="new-password" />
                <Notice notice />
                <button type="submit" class="button" disabled=move || change.pending().get()>{t!(account.change_password)}</button>
            </form>
        </section>
    }
}

#[component]
fn Sessions() -> impl IntoView {
    let revoke = ServerAction::<RevokeSession>::new();
    let list = Resource::new(
        move || revoke.version().get(),
        |_| crate::error::page_data(sessions()),
    );
    view! {
        <section class="card" aria-labelledby="sessions-heading">
            <h2 id="sessions-heading">{t!(account.sessions_heading)}</h2>
            <Transition fallback=|| view! { <p>{t!(account.loading)}</p> }>
                <ul class="list">
                    {move || list.get().and_then(Result::ok).unwrap_or_default().into_iter().map(|s| {
                        let id = s.session_id.to_string();
                        let kind = if s.kind == SessionKind::Bearer { t!(account.session_api_token) } else { t!(account.session_browser) };
                        let device = display::device_name(s.user_agent.as_deref());
                        let agent = s.user_agent.unwrap_or_default();
                        view! {
                            <li>
                                <span>
                                    {kind}" · "<span title=agent>{device}</span>
                                    " · "{t!(account.session_last_seen_before)}<When at=s.last_seen_at />
                                    " · "{s.ip.unwrap_or_default()}
                                </span>
                                {if s.current {
                                    view! { <strong>" "{t!(account.this_browser)}</strong> }.into_any()
                                } else {
                                    view! {
                                        <button
                                            type="button"
                                            class="button button-small button-secondary"
                                            on:click=move |_| {
                                                revoke.dispatch(RevokeSession { session_id: id.clone() });
                                            }
                                        >
                                            {t!(account.revoke)}
                                        </button>
                                    }
                                    .into_any()
                                }}
                            </li>
                        }
                    }).collect_view()}
                </ul>
            </Transition>
        </section>
    }
}

#[component]
fn History() -> impl IntoView {
    let events = Resource::new(
        || (),
        |()| crate::error::page_data(security_events(Some(20), None)),
    );
    view! {
        <section class="card" aria-labelledby="history-heading">
            <h2 id="history-heading">{t!(account.history_heading)}</h2>
            <Transition fallback=|| view! { <p>{t!(account.loading)}</p> }>
                <ol class="list">
                    {move || events.get().and_then(Result::ok).unwrap_or_default().into_iter().map(|e| {
                        view! {
                            <li>
                                <strong>{e.kind.label()}</strong>
                                " · "<When at=e.created_at />
                                " · "{e.ip.unwrap_or_default()}
                            </li>
                        }
                    }).collect_view()}
                </ol>
            </Transition>
        </section>
    }
}

#[component]
fn DeleteForm() -> impl IntoView {
    let password = FieldState::new(|v| {
        v.is_empty()
            .then(|| t!(account.enter_password_to_confirm).to_string())
    });
    let confirmed = RwSignal::new(false);
    let delete = ServerAction::<DeleteAccount>::new();
    let form = NodeRef::<leptos::html::Form>::new();
    let notice = RwSignal::new(None::<Result<String, String>>);
    Effect::new(move |_| match delete.value().get() {
        Some(Ok(_)) => load_page("/"),
        Some(Err(e)) => {
            notice.set(place_error(e, &[("password", password)]).map(Err));
            focus_first_error(form);
        }
        None => {}
    });
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        notice.set(None);
        if password.validate() && confirmed.get_untracked() {
            delete.dispatch(DeleteAccount {
                password: password.value.get_untracked().into(),
            });
        } else {
            focus_first_error(form);
        }
    };
    view! {
        <section class="card danger" aria-labelledby="delete-heading">
            <h2 id="delete-heading">{t!(account.delete_heading)}</h2>
            <p>{t!(account.delete_text)}</p>
            <form class="form" method="post" novalidate node_ref=form on:submit=on_submit>
                <Field state=password id="delete_password" label=t!(account.password) kind="password" autocomplete="current-password" />
                <label class="check">
                    <input type="checkbox" prop:checked=move || confirmed.get() on:change=move |ev| confirmed.set(event_target_checked(&ev)) />
                    " "{t!(account.delete_understand)}
                </label>
                <Notice notice />
                <button type="submit" class="button button-danger" disabled=move || !confirmed.get() || delete.pending().get()>
                    {t!(account.delete_button)}
                </button>
            </form>
        </section>
    }
}
