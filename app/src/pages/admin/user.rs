//! `/admin/users/:id`: one account with its sessions and history, and what an administrator
//! may do to it. Each destructive act asks first, naming the account.

use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_params_map};

use super::{AdminFrame, message};
use crate::{
    api::admin::{
        DeleteUser, DisableUser, EnableUser, RemoveSecondFactors, ResendActivation, SetRole,
        admin_user,
    },
    components::time::{When, WhenOr},
    model::{AccountStatus, Role, UserDetail},
};

#[component]
pub fn AdminUserPage() -> impl IntoView {
    view! {
        <AdminFrame title="Account" next="/admin" current="">
            {view! { <UserView /> }.into_any()}
        </AdminFrame>
    }
}

/// An act waiting for its confirmation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pending {
    Disable,
    Delete,
    Role(Role),
    RemoveFactors,
}

#[component]
fn UserView() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id")).unwrap_or_default();
    // Bumped after every act: the page reloads the account.
    let acted = RwSignal::new(0u32);
    // Here, not in the actions: it outlives their re-render with the reloaded account.
    let notice = RwSignal::new(None::<Result<String, String>>);
    let detail = Resource::new(
        move || (id(), acted.get()),
        |(id, _)| crate::error::page_data(admin_user(id)),
    );
    view! {
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || detail.get().map(|result| match result {
                Err(e) => view! {
                    <div role="alert" class="form-error">{message(&e)}</div>
                    <p><a href="/admin">"Back to the users"</a></p>
                }.into_any(),
                Ok(user) => view! { <Detail user acted notice /> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn Detail(
    user: UserDetail,
    acted: RwSignal<u32>,
    notice: RwSignal<Option<Result<String, String>>>,
) -> impl IntoView {
    let u = user.user.clone();
    let name = format!("{} {}", u.first_name, u.last_name);
    let disabled = user.disabled_reason.clone().map(|reason| {
        view! {
            <p class="form-info">
                "Disabled"{user.disabled_at.clone().map(|at| view! { " "<When at /> })}": "
                <q>{reason}</q>
            </p>
        }
    });
    view! {
        <article class="card" aria-labelledby="user-heading">
            <h2 id="user-heading">{name.clone()}</h2>
            {disabled}
            <dl class="facts">
                <dt>"Email"</dt><dd>{u.email.clone()}</dd>
                <dt>"Phone"</dt><dd>{u.phone_display.0.clone()}</dd>
                <dt>"Status"</dt><dd>{u.status.as_str()}</dd>
                <dt>"Role"</dt><dd>{u.role.as_str()}</dd>
                <dt>"Registered"</dt><dd><When at=u.created_at.clone() /></dd>
                <dt>"Email verified"</dt>
                <dd><WhenOr at=user.email_verified_at.clone() otherwise="not yet" /></dd>
                <dt>"Last sign-in"</dt><dd><WhenOr at=u.last_login_at.clone() otherwise="never" /></dd>
                <dt>"Sessions"</dt>
                <dd>
                    {format!("{} live", user.sessions.count)}
                    {user.sessions.last_used_at.clone().map(|at| view! { ", last used "<When at /> })}
                </dd>
                <dt>"Wrong activation codes"</dt><dd>{user.failed_code_attempts}</dd>
                <dt>"Two-step sign-in"</dt><dd>{factors_text(user.second_factors)}</dd>
            </dl>
        </article>
        {view! { <Actions user=user.clone() acted notice /> }.into_any()}
        <section class="card" aria-labelledby="user-history-heading">
            <h2 id="user-history-heading">"Security history"</h2>
            <ol class="list">
                {user.security_events.into_iter().map(|e| view! {
                    <li>
                        <strong>{e.kind.label()}</strong>
                        " · "<When at=e.created_at />
                        {e.ip.map(|ip| format!(" · {ip}"))}
                    </li>
                }).collect_view()}
            </ol>
        </section>
    }
}

/// "an authenticator app, 2 passkeys, 7 recovery codes", or "off": which factors, never a secret.
fn factors_text(f: crate::model::SecondFactors) -> String {
    let mut parts = Vec::new();
    if f.totp {
        parts.push("an authenticator app".to_string());
    }
    match f.passkeys {
        0 => {}
        1 => parts.push("1 passkey".to_string()),
        n => parts.push(format!("{n} passkeys")),
    }
    if f.recovery_codes_left > 0 {
        parts.push(format!("{} recovery codes", f.recovery_codes_left));
    }
    if parts.is_empty() {
        "off".to_string()
    } else {
        parts.join(", ")
    }
}

#[component]
fn Actions(
    user: UserDetail,
    acted: RwSignal<u32>,
    notice: RwSignal<Option<Result<String, String>>>,
) -> impl IntoView {
    let u = user.user;
    let user_id = u.user_id.to_string();
    let who = format!("{} {} ({})", u.first_name, u.last_name, u.email);
    let hydrated = crate::rules::Hydrated::get();
    let pending = RwSignal::new(None::<Pending>);
    let reason = RwSignal::new(String::new());

    let disable = ServerAction::<DisableUser>::new();
    let enable = ServerAction::<EnableUser>::new();
    let set_role = ServerAction::<SetRole>::new();
    let resend = ServerAction::<ResendActivation>::new();
    let delete = ServerAction::<DeleteUser>::new();
    let remove_factors = ServerAction::<RemoveSecondFactors>::new();
    let navigate = use_navigate();
    let has_factors = user.second_factors.any() || user.second_factors.recovery_codes_left > 0;

    let report = move |result: Option<Result<String, String>>| {
        if let Some(result) = result {
            if result.is_ok() {
                pending.set(None);
                acted.update(|n| *n += 1);
            }
            notice.set(Some(result));
        }
    };
    Effect::new(move |_| {
        report(disable.value().get().map(|r| {
            r.map(|_| "The account is disabled and signed out everywhere.".to_string())
                .map_err(|e| message(&e))
        }))
    });
    Effect::new(move |_| {
        report(enable.value().get().map(|r| {
            r.map(|_| "The account is enabled.".to_string())
                .map_err(|e| message(&e))
        }))
    });
    Effect::new(move |_| {
        report(set_role.value().get().map(|r| {
            r.map(|u| format!("The role is now {}.", u.role))
                .map_err(|e| message(&e))
        }))
    });
    Effect::new(move |_| {
        report(resend.value().get().map(|r| {
            r.map(|_| "A new activation code is on its way.".to_string())
                .map_err(|e| message(&e))
        }))
    });
    Effect::new(move |_| {
        report(remove_factors.value().get().map(|r| {
            r.map(|_| "Two-step sign-in is removed; the person was emailed.".to_string())
                .map_err(|e| message(&e))
        }))
    });
    Effect::new(move |_| match delete.value().get() {
        Some(Ok(_)) => navigate("/admin?deleted=1", Default::default()),
        Some(Err(e)) => notice.set(Some(Err(message(&e)))),
        None => {}
    });

    let id = user_id.clone();
    let confirm = move |_| {
        let user_id = id.clone();
        match pending.get_untracked() {
            Some(Pending::Disable) => {
                disable.dispatch(DisableUser {
                    user_id,
                    reason: reason.get_untracked(),
                });
            }
            Some(Pending::Delete) => {
                delete.dispatch(DeleteUser { user_id });
            }
            Some(Pending::Role(role)) => {
                set_role.dispatch(SetRole {
                    user_id,
                    role: role.as_str().to_string(),
                });
            }
            Some(Pending::RemoveFactors) => {
                remove_factors.dispatch(RemoveSecondFactors { user_id });
            }
            None => {}
        }
    };
    let busy = move || {
        !hydrated.get()
            || disable.pending().get()
            || enable.pending().get()
            || set_role.pending().get()
            || resend.pending().get()
            || delete.pending().get()
            || remove_factors.pending().get()
    };
    let status = u.status;
    let role = u.role;
    let id_enable = user_id.clone();
    let id_resend = user_id.clone();
    let ask = move |p: Pending| {
        move |_| {
            notice.set(None);
            pending.set(Some(p));
        }
    };
    let other_role = if role == Role::Admin {
        Role::User
    } else {
        Role::Admin
    };
    let who_confirm = who.clone();
    view! {
        <section class="card" aria-labelledby="actions-heading">
            <h2 id="actions-heading">"Actions"</h2>
            <div class="actions">
                {(status == AccountStatus::Disabled).then(|| view! {
                    <button type="button" class="button button-small" disabled=busy
                        on:click=move |_| {
                            notice.set(None);
                            enable.dispatch(EnableUser { user_id: id_enable.clone() });
                        }>
                        "Enable"
                    </button>
                })}
                {(status != AccountStatus::Disabled).then(|| view! {
                    <button type="button" class="button button-small button-secondary" disabled=busy
                        on:click=ask(Pending::Disable)>"Disable…"</button>
                })}
                {matches!(status, AccountStatus::Pending | AccountStatus::Locked).then(|| view! {
                    <button type="button" class="button button-small button-secondary" disabled=busy
                        on:click=move |_| {
                            notice.set(None);
                            resend.dispatch(ResendActivation { user_id: id_resend.clone() });
                        }>
                        "Resend activation code"
                    </button>
                })}
                <button type="button" class="button button-small button-secondary" disabled=busy
                    on:click=ask(Pending::Role(other_role))>
                    {if other_role == Role::Admin { "Make administrator…" } else { "Make plain user…" }}
                </button>
                {has_factors.then(|| view! {
                    <button type="button" class="button button-small button-secondary" disabled=busy
                        on:click=ask(Pending::RemoveFactors)>"Remove two-step sign-in…"</button>
                })}
                <button type="button" class="button button-small button-danger" disabled=busy
                    on:click=ask(Pending::Delete)>"Delete…"</button>
            </div>
            {move || pending.get().map(|p| {
                let question = match p {
                    Pending::Disable => format!("Disable {who_confirm}? Every session and token of the account ends now."),
                    Pending::Delete => format!("Delete {who_confirm}? This cannot be undone."),
                    Pending::Role(Role::Admin) => format!("Make {who_confirm} an administrator?"),
                    Pending::Role(Role::User) => format!("Make {who_confirm} a plain user?"),
                    Pending::RemoveFactors => format!("Remove every second factor of {who_confirm} (authenticator app, passkeys, recovery codes)? Only when they lost their devices: their password alone signs in until they set one up again."),
                };
                let confirm_label = match p {
                    Pending::Disable => "Disable account",
                    Pending::Delete => "Delete account",
                    Pending::Role(_) => "Change role",
                    Pending::RemoveFactors => "Remove two-step sign-in",
                };
                view! {
                    <div class="confirm" role="group" aria-labelledby="confirm-question">
                        <p id="confirm-question"><strong>{question}</strong></p>
                        {(p == Pending::Disable).then(|| view! {
                            <div class="field">
                                <label for="disable-reason">"Reason (for administrators only)"</label>
                                <textarea id="disable-reason" maxlength="500" rows="2"
                                    prop:value=move || reason.get()
                                    on:input=move |ev| reason.set(event_target_value(&ev))></textarea>
                            </div>
                        })}
                        <div class="actions">
                            <button type="button" class="button button-small button-danger" disabled=busy
                                on:click=confirm.clone()>{confirm_label}</button>
                            <button type="button" class="button button-small button-secondary"
                                on:click=move |_| pending.set(None)>"Cancel"</button>
                        </div>
                    </div>
                }
            })}
            {move || notice.get().map(|n| match n {
                Ok(text) => view! { <p role="status" class="form-info">{text}</p> }.into_any(),
                Err(text) => view! { <div role="alert" class="form-error">{text}</div> }.into_any(),
            })}
        </section>
    }
}
