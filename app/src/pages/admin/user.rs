//! `/admin/users/:id`: one account with its sessions and history, and what an administrator
//! may do to it. Each destructive act asks first, naming the account.

use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_params_map};

use super::{AdminFrame, message, role_text, status_text};
use crate::{
    api::admin::{
        DeleteUser, DisableUser, EnableUser, RemoveSecondFactors, ResendActivation, SetRole,
        admin_user,
    },
    components::time::{When, WhenOr},
    language::{k, plural},
    model::{AccountStatus, Role, UserDetail},
    t,
};

#[component]
pub fn AdminUserPage() -> impl IntoView {
    view! {
        <AdminFrame title=t!(admin.account) next="/admin" current="">
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
        <Transition fallback=|| view! { <p>{t!(admin.loading)}</p> }>
            {move || detail.get().map(|result| match result {
                Err(e) => view! {
                    <div role="alert" class="form-error">{message(&e)}</div>
                    <p><a href="/admin">{t!(admin.back_to_users)}</a></p>
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
                {t!(admin.disabled)}
                {user.disabled_at.clone().map(|at| view! { " "<When at /> })}
                {t!(admin.disabled_colon)}
                <q>{reason}</q>
            </p>
        }
    });
    view! {
        <article class="card" aria-labelledby="user-heading">
            <h2 id="user-heading">{name.clone()}</h2>
            {disabled}
            <dl class="facts">
                <dt>{t!(admin.email)}</dt><dd>{u.email.clone()}</dd>
                <dt>{t!(admin.phone)}</dt><dd>{u.phone_display.0.clone()}</dd>
                <dt>{t!(admin.status)}</dt><dd>{status_text(u.status)}</dd>
                <dt>{t!(admin.role)}</dt><dd>{role_text(u.role)}</dd>
                <dt>{t!(admin.registered)}</dt><dd><When at=u.created_at.clone() /></dd>
                <dt>{t!(admin.email_verified)}</dt>
                <dd><WhenOr at=user.email_verified_at.clone() otherwise=t!(admin.not_yet) /></dd>
                <dt>{t!(admin.last_sign_in)}</dt><dd><WhenOr at=u.last_login_at.clone() otherwise=t!(admin.never) /></dd>
                <dt>{t!(admin.sessions)}</dt>
                <dd>
                    {plural(k::admin::sessions_live, u64::try_from(user.sessions.count).unwrap_or(0))}
                    {user.sessions.last_used_at.clone().map(|at| view! { {t!(admin.sessions_last_used)}<When at /> })}
                </dd>
                <dt>{t!(admin.wrong_codes)}</dt><dd>{user.failed_code_attempts}</dd>
                <dt>{t!(admin.two_step)}</dt><dd>{factors_text(user.second_factors)}</dd>
            </dl>
        </article>
        {view! { <Actions user=user.clone() acted notice /> }.into_any()}
        <section class="card" aria-labelledby="user-history-heading">
            <h2 id="user-history-heading">{t!(admin.security_history)}</h2>
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

/// "an authenticator app, 2 passkeys, 7 recovery codes", or "off" (in the page's language):
/// which factors, never a secret.
fn factors_text(f: crate::model::SecondFactors) -> String {
    let mut parts = Vec::new();
    if f.totp {
        parts.push(t!(admin.factor_authenticator).to_string());
    }
    if f.passkeys > 0 {
        parts.push(plural(k::admin::factor_passkeys, u64::from(f.passkeys)));
    }
    if f.recovery_codes_left > 0 {
        parts.push(plural(
            k::admin::factor_recovery_codes,
            u64::from(f.recovery_codes_left),
        ));
    }
    if parts.is_empty() {
        t!(admin.factors_off).to_string()
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
            r.map(|_| t!(admin.notice_disabled).to_string())
                .map_err(|e| message(&e))
        }))
    });
    Effect::new(move |_| {
        report(enable.value().get().map(|r| {
            r.map(|_| t!(admin.notice_enabled).to_string())
                .map_err(|e| message(&e))
        }))
    });
    Effect::new(move |_| {
        report(set_role.value().get().map(|r| {
            r.map(|u| t!(admin.notice_role, role = role_text(u.role)))
                .map_err(|e| message(&e))
        }))
    });
    Effect::new(move |_| {
        report(resend.value().get().map(|r| {
            r.map(|_| t!(admin.notice_code_sent).to_string())
                .map_err(|e| message(&e))
        }))
    });
    Effect::new(move |_| {
        report(remove_factors.value().get().map(|r| {
            r.map(|_| t!(admin.notice_factors_removed).to_string())
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
            <h2 id="actions-heading">{t!(admin.actions)}</h2>
            <div class="actions">
                {(status == AccountStatus::Disabled).then(|| view! {
                    <button type="button" class="button button-small" disabled=busy
                        on:click=move |_| {
                            notice.set(None);
                            enable.dispatch(EnableUser { user_id: id_enable.clone() });
                        }>
                        {t!(admin.enable)}
                    </button>
                })}
                {(status != AccountStatus::Disabled).then(|| view! {
                    <button type="button" class="button button-small button-secondary" disabled=busy
                        on:click=ask(Pending::Disable)>{t!(admin.disable_ask)}</button>
                })}
                {matches!(status, AccountStatus::Pending | AccountStatus::Locked).then(|| view! {
                    <button type="button" class="button button-small button-secondary" disabled=busy
                        on:click=move |_| {
                            notice.set(None);
                            resend.dispatch(ResendActivation { user_id: id_resend.clone() });
                        }>
                        {t!(admin.resend_code)}
                    </button>
                })}
                <button type="button" class="button button-small button-secondary" disabled=busy
                    on:click=ask(Pending::Role(other_role))>
                    {if other_role == Role::Admin { t!(admin.make_admin_ask) } else { t!(admin.make_user_ask) }}
                </button>
                {has_factors.then(|| view! {
                    <button type="button" class="button button-small button-secondary" disabled=busy
                        on:click=ask(Pending::RemoveFactors)>{t!(admin.remove_factors_ask)}</button>
                })}
                <button type="button" class="button button-small button-danger" disabled=busy
                    on:click=ask(Pending::Delete)>{t!(admin.delete_ask)}</button>
            </div>
            {move || pending.get().map(|p| {
                let question = match p {
                    Pending::Disable => t!(admin.confirm_disable, who = who_confirm),
                    Pending::Delete => t!(admin.confirm_delete, who = who_confirm),
                    Pending::Role(Role::Admin) => t!(admin.confirm_make_admin, who = who_confirm),
                    Pending::Role(Role::User) => t!(admin.confirm_make_user, who = who_confirm),
                    Pending::RemoveFactors => t!(admin.confirm_remove_factors, who = who_confirm),
                };
                let confirm_label = match p {
                    Pending::Disable => t!(admin.disable_account),
                    Pending::Delete => t!(admin.delete_account),
                    Pending::Role(_) => t!(admin.change_role),
                    Pending::RemoveFactors => t!(admin.remove_factors),
                };
                view! {
                    <div class="confirm" role="group" aria-labelledby="confirm-question">
                        <p id="confirm-question"><strong>{question}</strong></p>
                        {(p == Pending::Disable).then(|| view! {
                            <div class="field">
                                <label for="disable-reason">{t!(admin.disable_reason)}</label>
                                <textarea id="disable-reason" maxlength="500" rows="2"
                                    prop:value=move || reason.get()
                                    on:input=move |ev| reason.set(event_target_value(&ev))></textarea>
                            </div>
                        })}
                        <div class="actions">
                            <button type="button" class="button button-small button-danger" disabled=busy
                                on:click=confirm.clone()>{confirm_label}</button>
                            <button type="button" class="button button-small button-secondary"
                                on:click=move |_| pending.set(None)>{t!(admin.cancel)}</button>
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
