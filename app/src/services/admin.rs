//! What administrators do to other people's accounts, and what operators do from the command
//! line: every act checks its target, changes it, and writes one audit row in one transaction.
//! The role check is not here: an [`Administrator`] only comes out of
//! [`Caller::administrator`](crate::infra::sessions::Caller::administrator), and the command
//! line acts as [`Actor::command_line`].

use serde_json::json;
use sqlx::{PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

use super::{
    account,
    paging::{self, Paging, blank_to_none},
    query::{escape_like, parse_enum, plain_text},
    registration::{self, Form, NewAccount},
};
use crate::t;
use crate::{
    domain::PhoneNumber,
    error::{ApiError, Context as _, ErrorCode},
    infra::{
        audit::{self, Actor},
        client::ClientInfo,
        events,
        mail::OUTBOX_CHANNEL,
        sessions::{self, Administrator},
        webhooks::{self, Deletion, Event},
    },
    model::{
        AccountStatus, AdminCreated, AuditAction, AuditEntry, CodeSent, EventKind, OutboxCounts,
        OutboxEntry, OutboxStatus, OutboxView, Page, Role, SecurityEvent, SessionsSummary,
        UserDetail, UserSort, UserSummary, WebhookCounts, WebhookView,
    },
    services::second_factor,
    state::AppState,
};

/// Longer than any name, email and phone together: not a search anyone types.
const MAX_QUERY_CHARS: usize = 200;
/// Words of a search that must all match.
const MAX_QUERY_WORDS: usize = 8;
/// Characters of a reason for disabling an account.
const MAX_REASON_CHARS: usize = 500;
/// The history an administrator sees on a user's page.
const DETAIL_EVENTS: i64 = 50;

/// The users table's query string, as sent.
#[derive(Clone, Debug, Default)]
pub struct UserQuery {
    pub q: Option<String>,
    pub status: Option<String>,
    pub role: Option<String>,
    pub sort: Option<String>,
    pub limit: Option<String>,
    pub offset: Option<String>,
}

/// The users table's query, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
struct UserFilter {
    /// The search, when it is a whole email address: tried exactly first.
    email: Option<String>,
    /// Set for the exact try: `lower(email) = lower(…)` instead of the patterns.
    exact_email: Option<String>,
    /// `LIKE` patterns over `users.search_text`, all of which must match; the most selective
    /// (longest) first.
    patterns: Vec<String>,
    status: Option<AccountStatus>,
    role: Option<Role>,
    sort: UserSort,
    paging: Paging,
}

impl UserQuery {
    fn parse(&self, region: crate::domain::Region) -> Result<UserFilter, ApiError> {
        let q = plain_text(self.q.as_deref().unwrap_or(""), "q")?;
        if q.chars().count() > MAX_QUERY_CHARS {
            return Err(ApiError::invalid(
                "q",
                t!(errors.search_at_most_chars, max = MAX_QUERY_CHARS),
            ));
        }
        let patterns = search_patterns(q, region);
        if patterns.len() > MAX_QUERY_WORDS {
            return Err(ApiError::invalid(
                "q",
                t!(errors.search_at_most_words, max = MAX_QUERY_WORDS),
            ));
        }
        let email = crate::domain::Email::parse(q.trim())
            .ok()
            .map(|email| crate::infra::codes::storable(email.as_str()));
        Ok(UserFilter {
            email,
            exact_email: None,
            patterns,
            status: parse_enum(self.status.as_deref(), "status", AccountStatus::ALL)?,
            role: parse_enum(self.role.as_deref(), "role", Role::ALL)?,
            sort: parse_enum(self.sort.as_deref(), "sort", UserSort::ALL)?
                .unwrap_or(UserSort::Newest),
            paging: Paging::parse(self.limit.as_deref(), self.offset.as_deref())?,
        })
    }
}

/// The `LIKE` patterns a search stands for, over `users.search_text` (names, email and the
/// phone's digits, lower-cased).
///
/// A search made only of phone characters with three or more digits is a phone number in any
/// format: a whole number in national or international form becomes its E.164 digits, a part
/// of one its digits (without a leading trunk `0` or international `00`). Anything else is
/// words, each of which must appear.
fn search_patterns(q: &str, region: crate::domain::Region) -> Vec<String> {
    let q = q.trim();
    let digits: String = q.chars().filter(char::is_ascii_digit).collect();
    let phone_like = q
        .chars()
        .all(|c| c.is_ascii_digit() || " +-().\u{a0}/".contains(c));
    let mut words: Vec<String> = if phone_like && digits.len() >= 3 {
        let digits = match PhoneNumber::parse(q, region) {
            Ok(number) => number.as_str().trim_start_matches('+').to_string(),
            Err(_) if digits.starts_with("00") => digits[2..].to_string(),
            Err(_) if digits.starts_with('0') => digits[1..].to_string(),
            Err(_) => digits,
        };
        vec![digits]
    } else {
        q.split_whitespace().map(str::to_lowercase).collect()
    };
    words.sort_by_key(|w| std::cmp::Reverse(w.chars().count()));
    words.dedup();
    words
        .into_iter()
        .filter(|w| !w.is_empty())
        .map(|w| format!("%{}%", escape_like(&w)))
        .collect()
}

fn push_filters<'a>(query: &mut QueryBuilder<'a, Postgres>, filter: &'a UserFilter) {
    query.push(" where true");
    if let Some(email) = &filter.exact_email {
        query
            .push(" and lower(email) = lower(")
            .push_bind(email)
            .push(")");
    }
    for pattern in &filter.patterns {
        query.push(" and search_text like ").push_bind(pattern);
    }
    if let Some(status) = filter.status {
        query.push(" and status = ").push_bind(status);
    }
    if let Some(role) = filter.role {
        query.push(" and role = ").push_bind(role);
    }
}

const SUMMARY_COLUMNS: &str = "id, first_name, last_name, email, phone_number, phone_number as phone_display, status, role, \
     rfc3339(created_at) as created_at, rfc3339(last_login_at) as last_login_at";

/// The users table: search, filters, sort and one page.
///
/// A search that is a whole email address is first looked up exactly (one index probe; every
/// row shares trigrams like `com`); the pattern search follows only when that finds no one.
/// `total` is exact up to [`paging::COUNT_CAP`] matches, and a lower bound beyond (`total_exact`).
#[tracing::instrument(name = "admin.list_users", skip_all, fields(admin.id = %admin.user_id()))]
pub async fn list_users(
    state: &AppState,
    admin: &Administrator,
    query: &UserQuery,
) -> Result<Page<UserSummary>, ApiError> {
    let filter = query.parse(state.settings.registration.default_phone_region)?;
    let mut conn = state.pool.acquire().await.context("acquire a connection")?;
    if let Some(email) = &filter.email {
        let exact = UserFilter {
            patterns: Vec::new(),
            exact_email: Some(email.clone()),
            ..filter.clone()
        };
        let page = users_page(&mut conn, &exact).await?;
        if page.total > 0 {
            return Ok(page);
        }
    }
    users_page(&mut conn, &filter).await
}

async fn users_page(
    conn: &mut PgConnection,
    filter: &UserFilter,
) -> Result<Page<UserSummary>, ApiError> {
    let mut page = QueryBuilder::new("select ");
    page.push(SUMMARY_COLUMNS).push(" from users");
    push_filters(&mut page, filter);
    // Fixed text per sort: nothing a client sends is spliced into the statement. Qualified:
    // a bare `created_at` would name the output column (the RFC 3339 text), computed and
    // compared for every match instead of read from the index.
    page.push(match filter.sort {
        UserSort::Newest => " order by users.created_at desc, users.id desc",
        UserSort::Oldest => " order by users.created_at, users.id",
        UserSort::Name => " order by lower(users.last_name), lower(users.first_name), users.id",
        UserSort::Email => " order by lower(users.email), users.id",
    });
    let mut count = QueryBuilder::new("select count(*) from (select 1 from users");
    push_filters(&mut count, filter);
    paging::fetch_page(conn, filter.paging, page, count, "users").await
}

fn parse_user_id(raw: &str, field: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw.trim()).map_err(|_| ApiError::invalid(field, t!(errors.not_a_user_id)))
}

fn user_not_found() -> ApiError {
    ApiError::not_found(t!(errors.no_such_user))
}

async fn summary(conn: &mut PgConnection, user_id: Uuid) -> Result<UserSummary, ApiError> {
    let mut query = QueryBuilder::new("select ");
    query
        .push(SUMMARY_COLUMNS)
        .push(" from users where id = ")
        .push_bind(user_id);
    query
        .build_query_as::<UserSummary>()
        .fetch_optional(conn)
        .await
        .context("load a user")?
        .ok_or_else(user_not_found)
}

#[derive(sqlx::FromRow)]
struct DetailExtras {
    email_verified_at: Option<String>,
    disabled_at: Option<String>,
    disabled_reason: Option<String>,
    failed_code_attempts: i32,
}

/// One account with its sessions and its latest history.
pub async fn user_detail(
    state: &AppState,
    _admin: &Administrator,
    user_id: &str,
) -> Result<UserDetail, ApiError> {
    let user_id = parse_user_id(user_id, "id")?;
    let mut conn = state.pool.acquire().await.context("acquire a connection")?;
    let user = summary(&mut conn, user_id).await?;
    let extras: DetailExtras = sqlx::query_as(
        "select rfc3339(email_verified_at) as email_verified_at,
                rfc3339(disabled_at) as disabled_at, disabled_reason, failed_code_attempts
         from users where id = $1",
    )
    .bind(user_id)
    .fetch_optional(&mut *conn)
    .await
    .context("load a user's state")?
    .ok_or_else(user_not_found)?;
    let sessions: SessionsSummary = sqlx::query_as(
        "select count(*) as count, rfc3339(max(last_seen_at)) as last_used_at
         from sessions
         where user_id = $1 and expires_at > now()
           and last_seen_at > now() - make_interval(secs => $2)",
    )
    .bind(user_id)
    .bind(state.settings.sessions.idle_timeout.as_secs_f64())
    .fetch_one(&mut *conn)
    .await
    .context("count a user's sessions")?;
    let security_events: Vec<SecurityEvent> = sqlx::query_as(
        "select kind, rfc3339(created_at) as created_at, ip, user_agent from security_events
         where user_id = $1 order by security_events.created_at desc, security_events.id desc limit $2",
    )
    .bind(user_id)
    .bind(DETAIL_EVENTS)
    .fetch_all(&mut *conn)
    .await
    .context("list a user's history")?;
    let second_factors = second_factor::factors_of(&mut conn, user_id).await?;
    Ok(UserDetail {
        user,
        second_factors,
        email_verified_at: extras.email_verified_at,
        disabled_at: extras.disabled_at,
        disabled_reason: extras.disabled_reason,
        failed_code_attempts: extras.failed_code_attempts,
        sessions,
        security_events,
    })
}

/// The target of an act, locked for the rest of the transaction.
#[derive(sqlx::FromRow)]
struct Target {
    email: String,
    first_name: String,
    status: AccountStatus,
    role: Role,
    failed_code_attempts: i32,
}

/// Starts an act on `user_id`: refuses the actor's own account (`refusal` says so), serialises every change that
/// could leave no administrator (an advisory lock), and locks the target's row.
async fn begin_act(
    state: &AppState,
    actor: &Actor,
    user_id: Uuid,
    refusal: &str,
) -> Result<(sqlx::Transaction<'static, Postgres>, Target), ApiError> {
    if actor.user_id() == Some(user_id) {
        return Err(ApiError::new(ErrorCode::CannotModifySelf, refusal));
    }
    let mut tx = state
        .pool
        .begin()
        .await
        .context("begin an administrative act")?;
    sqlx::query("select pg_advisory_xact_lock(hashtext('administrators'))")
        .execute(&mut *tx)
        .await
        .context("serialise role changes")?;
    let target: Target = sqlx::query_as(
        "select email, first_name, status, role, failed_code_attempts from users
         where id = $1 for update",
    )
    .bind(user_id)
    .fetch_optional(&mut *tx)
    .await
    .context("lock the target account")?
    .ok_or_else(user_not_found)?;
    Ok((tx, target))
}

/// Refuses a change that would leave no administrator able to sign in.
async fn keep_an_admin(
    conn: &mut PgConnection,
    target_id: Uuid,
    target: &Target,
) -> Result<(), ApiError> {
    if target.role != Role::Admin {
        return Ok(());
    }
    let others: i64 = sqlx::query_scalar(
        "select count(*) from users where role = 'admin' and status <> 'disabled' and id <> $1",
    )
    .bind(target_id)
    .fetch_one(conn)
    .await
    .context("count the other administrators")?;
    if others == 0 {
        return Err(ApiError::new(ErrorCode::LastAdmin, t!(errors.last_admin)));
    }
    Ok(())
}

/// Stops an account: every session and token ends now, and it can no longer sign in,
/// activate or reset its password. Its email and phone stay taken.
#[tracing::instrument(name = "admin.disable", skip_all, fields(target.id = %user_id))]
pub async fn disable(
    state: &AppState,
    actor: &Actor,
    user_id: &str,
    reason: &str,
) -> Result<UserSummary, ApiError> {
    let user_id = parse_user_id(user_id, "user_id")?;
    let reason = plain_text(reason, "reason")?.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
        return Err(ApiError::invalid(
            "reason",
            t!(errors.reason_length, max = MAX_REASON_CHARS),
        ));
    }
    let (mut tx, target) = begin_act(state, actor, user_id, t!(errors.cannot_disable_self)).await?;
    if target.status == AccountStatus::Disabled {
        return Err(ApiError::new(
            ErrorCode::AlreadyDisabled,
            t!(errors.already_disabled),
        ));
    }
    keep_an_admin(&mut tx, user_id, &target).await?;
    sqlx::query(
        "update users set status = 'disabled', disabled_at = now(), disabled_reason = $2
         where id = $1",
    )
    .bind(user_id)
    .bind(reason)
    .execute(&mut *tx)
    .await
    .context("disable the account")?;
    let ended = sessions::end_all(&mut tx, user_id, None).await?;
    events::record_by_admin(&mut tx, user_id, EventKind::DisabledByAdmin).await?;
    webhooks::publish(
        &mut tx,
        &state.settings.webhooks,
        Event::user_disabled(user_id),
    )
    .await?;
    let details = json!({ "reason": reason, "sessions_ended": ended, "was": target.status });
    audit::record(
        &mut tx,
        actor,
        AuditAction::UserDisabled,
        Some(user_id),
        details,
    )
    .await?;
    let user = summary(&mut tx, user_id).await?;
    tx.commit().await.context("commit disabling an account")?;
    tracing::info!(sessions_ended = ended, "account disabled");
    Ok(user)
}

/// Lets a disabled account back in, where it was: active if its email was verified, else
/// pending (or locked, if its codes were used up).
#[tracing::instrument(name = "admin.enable", skip_all, fields(target.id = %user_id))]
pub async fn enable(
    state: &AppState,
    actor: &Actor,
    user_id: &str,
) -> Result<UserSummary, ApiError> {
    let user_id = parse_user_id(user_id, "user_id")?;
    let (mut tx, target) = begin_act(state, actor, user_id, t!(errors.cannot_enable_self)).await?;
    if target.status != AccountStatus::Disabled {
        return Err(ApiError::new(
            ErrorCode::NotDisabled,
            t!(errors.not_disabled),
        ));
    }
    let status: AccountStatus = sqlx::query_scalar(
        "update users set disabled_at = null, disabled_reason = null,
             status = case when email_verified_at is not null then 'active'
                           when failed_code_attempts >= $2 then 'locked'
                           else 'pending' end
         where id = $1 returning status",
    )
    .bind(user_id)
    .bind(i64::from(state.settings.codes.account_max_failures))
    .fetch_one(&mut *tx)
    .await
    .context("enable the account")?;
    events::record_by_admin(&mut tx, user_id, EventKind::EnabledByAdmin).await?;
    webhooks::publish(
        &mut tx,
        &state.settings.webhooks,
        Event::user_enabled(user_id, status),
    )
    .await?;
    let details = json!({ "status": status });
    audit::record(
        &mut tx,
        actor,
        AuditAction::UserEnabled,
        Some(user_id),
        details,
    )
    .await?;
    let user = summary(&mut tx, user_id).await?;
    tx.commit().await.context("commit enabling an account")?;
    tracing::info!(%status, "account enabled");
    Ok(user)
}

/// Makes an account an administrator or a plain user; the last administrator stays one.
#[tracing::instrument(name = "admin.set_role", skip_all, fields(target.id = %user_id))]
pub async fn set_role(
    state: &AppState,
    actor: &Actor,
    user_id: &str,
    role: &str,
) -> Result<UserSummary, ApiError> {
    let user_id = parse_user_id(user_id, "user_id")?;
    let role: Role = role
        .trim()
        .parse()
        .map_err(|_| ApiError::invalid("role", t!(errors.one_of, choices = "user, admin")))?;
    let (mut tx, target) =
        begin_act(state, actor, user_id, t!(errors.cannot_change_role_self)).await?;
    if target.role == role {
        // Nothing changes, so nothing is recorded.
        let user = summary(&mut tx, user_id).await?;
        return Ok(user);
    }
    if role == Role::User {
        keep_an_admin(&mut tx, user_id, &target).await?;
    }
    sqlx::query("update users set role = $2 where id = $1")
        .bind(user_id)
        .bind(role)
        .execute(&mut *tx)
        .await
        .context("change a role")?;
    events::record_by_admin(&mut tx, user_id, EventKind::RoleChangedByAdmin).await?;
    let details = json!({ "from": target.role, "to": role });
    audit::record(
        &mut tx,
        actor,
        AuditAction::RoleChanged,
        Some(user_id),
        details,
    )
    .await?;
    let user = summary(&mut tx, user_id).await?;
    tx.commit().await.context("commit a role change")?;
    tracing::info!(%role, "role changed");
    Ok(user)
}

/// Sends a new activation code to a pending account, clearing its count of wrong codes (and
/// with it the lock that 100 of them set). Not paced: administrators are trusted with it.
#[tracing::instrument(name = "admin.resend_activation", skip_all, fields(target.id = %user_id))]
pub async fn resend_activation(
    state: &AppState,
    actor: &Actor,
    user_id: &str,
) -> Result<CodeSent, ApiError> {
    let user_id = parse_user_id(user_id, "user_id")?;
    let (mut tx, target) =
        begin_act(state, actor, user_id, t!(errors.cannot_resend_code_self)).await?;
    match target.status {
        AccountStatus::Pending | AccountStatus::Locked => {}
        AccountStatus::Active => {
            return Err(ApiError::new(
                ErrorCode::AlreadyActive,
                t!(errors.already_activated),
            ));
        }
        AccountStatus::Disabled => return Err(ApiError::account_disabled()),
    }
    sqlx::query(
        "update users set status = 'pending', failed_code_attempts = 0, last_activity_at = now()
         where id = $1",
    )
    .bind(user_id)
    .execute(&mut *tx)
    .await
    .context("unlock the pending account")?;
    registration::send_activation_code(
        &mut tx,
        state,
        user_id,
        &target.email,
        &target.first_name,
        (EventKind::CodeSentByAdmin, &ClientInfo::default()),
    )
    .await?;
    let details = json!({ "cleared_failures": target.failed_code_attempts });
    audit::record(
        &mut tx,
        actor,
        AuditAction::ActivationResent,
        Some(user_id),
        details,
    )
    .await?;
    tx.commit().await.context("commit an activation resend")?;
    tracing::info!("activation code resent by an administrator");
    Ok(CodeSent {
        code_expires_in: state.settings.codes.ttl_secs(),
    })
}

/// Removes every second factor of a person who lost their devices (the authenticator app, its
/// recovery codes, the passkeys, and any sign-in waiting for its second step): the password alone signs
/// in again. Audited; the person is emailed.
#[tracing::instrument(name = "admin.remove_second_factors", skip_all, fields(target.id = %user_id))]
pub async fn remove_second_factors(
    state: &AppState,
    actor: &Actor,
    user_id: &str,
) -> Result<(), ApiError> {
    let user_id = parse_user_id(user_id, "user_id")?;
    let (mut tx, _) = begin_act(
        state,
        actor,
        user_id,
        t!(errors.cannot_remove_second_factors_self),
    )
    .await?;
    let removed = second_factor::remove_all(&mut tx, user_id).await?;
    if !removed.any() {
        return Err(ApiError::new(
            ErrorCode::NoSecondFactor,
            t!(errors.no_second_factor),
        ));
    }
    events::record_by_admin(&mut tx, user_id, EventKind::SecondFactorsRemovedByAdmin).await?;
    second_factor::notify_removed_by_admin(&mut tx, state, user_id).await?;
    let details = json!({
        "totp": removed.totp,
        "recovery_codes_left": removed.recovery_codes_left,
        "passkeys": removed.passkeys,
    });
    audit::record(
        &mut tx,
        actor,
        AuditAction::SecondFactorsRemoved,
        Some(user_id),
        details,
    )
    .await?;
    tx.commit()
        .await
        .context("commit removing second factors")?;
    tracing::info!("second factors removed by an administrator");
    Ok(())
}

/// Deletes an account as its owner would: email and phone free, a goodbye email queued.
#[tracing::instrument(name = "admin.delete_user", skip_all, fields(target.id = %user_id))]
pub async fn delete_user(state: &AppState, actor: &Actor, user_id: &str) -> Result<(), ApiError> {
    let user_id = parse_user_id(user_id, "user_id")?;
    let (mut tx, target) = begin_act(state, actor, user_id, t!(errors.cannot_delete_self)).await?;
    keep_an_admin(&mut tx, user_id, &target).await?;
    // Before the row goes: the audit row copies the target's email.
    let details = json!({ "status": target.status, "role": target.role });
    audit::record(
        &mut tx,
        actor,
        AuditAction::UserDeleted,
        Some(user_id),
        details,
    )
    .await?;
    account::erase(
        &mut tx,
        state,
        (user_id, &target.email, &target.first_name),
        Deletion::ByAdmin,
    )
    .await?;
    tx.commit().await.context("commit deleting an account")?;
    tracing::info!("account deleted by an administrator");
    Ok(())
}

/// The audit log's query string, as sent: `actor` and `target` are an account id or an email.
#[derive(Clone, Debug, Default)]
pub struct AuditQuery {
    pub actor: Option<String>,
    pub target: Option<String>,
    pub limit: Option<String>,
    pub offset: Option<String>,
}

/// Who an audit filter names.
enum Party {
    Id(Uuid),
    Email(String),
}

fn parse_party(raw: Option<&str>, field: &str) -> Result<Option<Party>, ApiError> {
    let Some(raw) = blank_to_none(raw) else {
        return Ok(None);
    };
    let raw = plain_text(raw, field)?;
    if raw.contains('@') {
        return Ok(Some(Party::Email(raw.to_lowercase())));
    }
    Uuid::parse_str(raw)
        .map(|id| Some(Party::Id(id)))
        .map_err(|_| ApiError::invalid(field, t!(errors.account_id_or_email)))
}

fn push_party<'a>(query: &mut QueryBuilder<'a, Postgres>, role: &str, party: &'a Option<Party>) {
    match (role, party) {
        (_, None) => {}
        ("actor", Some(Party::Id(id))) => {
            query.push(" and actor_id = ").push_bind(id);
        }
        ("actor", Some(Party::Email(email))) => {
            query.push(" and lower(actor_email) = ").push_bind(email);
        }
        (_, Some(Party::Id(id))) => {
            query.push(" and target_id = ").push_bind(id);
        }
        (_, Some(Party::Email(email))) => {
            query.push(" and lower(target_email) = ").push_bind(email);
        }
    }
}

/// The audit log, newest first.
pub async fn audit_log(
    state: &AppState,
    _admin: &Administrator,
    query: &AuditQuery,
) -> Result<Page<AuditEntry>, ApiError> {
    let actor = parse_party(query.actor.as_deref(), "actor")?;
    let target = parse_party(query.target.as_deref(), "target")?;
    let paging = Paging::parse(query.limit.as_deref(), query.offset.as_deref())?;
    let mut conn = state.pool.acquire().await.context("acquire a connection")?;

    let mut count = QueryBuilder::new("select count(*) from audit_log where true");
    push_party(&mut count, "actor", &actor);
    push_party(&mut count, "target", &target);
    let total: i64 = count
        .build_query_scalar()
        .fetch_one(&mut *conn)
        .await
        .context("count audit rows")?;

    let mut page = QueryBuilder::new(
        "select id, rfc3339(at) as at, actor_kind, actor_id, actor_email, action, target_id,
                target_email, ip, details
         from audit_log where true",
    );
    push_party(&mut page, "actor", &actor);
    push_party(&mut page, "target", &target);
    page.push(" order by audit_log.at desc, audit_log.id desc limit ")
        .push_bind(i64::from(paging.limit))
        .push(" offset ")
        .push_bind(i64::from(paging.offset));
    let items = page
        .build_query_as::<AuditEntry>()
        .fetch_all(&mut *conn)
        .await
        .context("list audit rows")?;
    Ok(Page {
        items,
        total,
        total_exact: true,
        limit: paging.limit,
        offset: paging.offset,
    })
}

/// The mail queue, newest first, with counts by status; no bodies.
pub async fn outbox(
    state: &AppState,
    _admin: &Administrator,
    status: Option<&str>,
    limit: Option<&str>,
    offset: Option<&str>,
) -> Result<OutboxView, ApiError> {
    let status = parse_enum(status, "status", OutboxStatus::ALL)?;
    let paging = Paging::parse(limit, offset)?;
    let mut conn = state.pool.acquire().await.context("acquire a connection")?;
    let by_status: Vec<(OutboxStatus, i64)> =
        sqlx::query_as("select status, count(*) from email_outbox group by status")
            .fetch_all(&mut *conn)
            .await
            .context("count queued mail")?;
    let mut counts = OutboxCounts::default();
    for (status, n) in by_status {
        *match status {
            OutboxStatus::Pending => &mut counts.pending,
            OutboxStatus::Sent => &mut counts.sent,
            OutboxStatus::Expired => &mut counts.expired,
            OutboxStatus::Dead => &mut counts.dead,
        } = n;
    }
    let total = match status {
        None => counts.pending + counts.sent + counts.expired + counts.dead,
        Some(OutboxStatus::Pending) => counts.pending,
        Some(OutboxStatus::Sent) => counts.sent,
        Some(OutboxStatus::Expired) => counts.expired,
        Some(OutboxStatus::Dead) => counts.dead,
    };
    let items: Vec<OutboxEntry> = sqlx::query_as(
        "select id, recipient, kind, status, attempts, last_error,
                rfc3339(next_attempt_at) as next_attempt_at, rfc3339(created_at) as created_at,
                rfc3339(sent_at) as sent_at
         from email_outbox
         where $1::text is null or status = $1
         order by email_outbox.created_at desc, email_outbox.id desc limit $2 offset $3",
    )
    .bind(status)
    .bind(i64::from(paging.limit))
    .bind(i64::from(paging.offset))
    .fetch_all(&mut *conn)
    .await
    .context("list queued mail")?;
    Ok(OutboxView {
        counts,
        page: Page {
            items,
            total,
            total_exact: true,
            limit: paging.limit,
            offset: paging.offset,
        },
    })
}

/// Webhook deliveries by status, and the latest 100 given up; no bodies.
pub async fn webhooks(state: &AppState, _admin: &Administrator) -> Result<WebhookView, ApiError> {
    let mut conn = state.pool.acquire().await.context("acquire a connection")?;
    let mut counts = WebhookCounts::default();
    let by_status: Vec<(String, i64)> =
        sqlx::query_as("select status, count(*) from webhook_deliveries group by status")
            .fetch_all(&mut *conn)
            .await
            .context("count webhook deliveries")?;
    for (status, n) in by_status {
        match status.as_str() {
            "pending" => counts.pending = n,
            "delivered" => counts.delivered = n,
            _ => counts.dead = n,
        }
    }
    let dead = sqlx::query_as(
        "select d.id, d.event_id, e.type, d.url, d.attempts, d.last_error,
                rfc3339(e.created_at) as created_at
         from webhook_deliveries d join webhook_events e on e.id = d.event_id
         where d.status = 'dead'
         order by d.created_at desc, d.id desc limit 100",
    )
    .fetch_all(&mut *conn)
    .await
    .context("list dead webhook deliveries")?;
    Ok(WebhookView { counts, dead })
}

#[derive(sqlx::FromRow)]
struct DeadLetter {
    status: OutboxStatus,
    user_id: Option<Uuid>,
    kind: String,
    has_body: bool,
}

/// Queues a dead email again, from its first attempt.
#[tracing::instrument(name = "admin.retry_email", skip_all, fields(email.id = id))]
pub async fn retry_email(state: &AppState, actor: &Actor, id: i64) -> Result<(), ApiError> {
    let mut tx = state.pool.begin().await.context("begin an email retry")?;
    let letter: DeadLetter = sqlx::query_as(
        "select status, user_id, kind, text_body is not null as has_body from email_outbox
         where id = $1 for update",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await
    .context("lock a queued email")?
    .ok_or_else(|| ApiError::not_found(t!(errors.no_such_email)).with_field("id"))?;
    if letter.status != OutboxStatus::Dead {
        return Err(ApiError::new(ErrorCode::NotDead, t!(errors.not_dead)));
    }
    if !letter.has_body {
        return Err(ApiError::new(
            ErrorCode::NotRetryable,
            t!(errors.not_retryable),
        ));
    }
    sqlx::query(
        "with r as (
             update email_outbox set status = 'pending', attempts = 0, last_error = null,
                 next_attempt_at = now()
             where id = $1
         )
         select pg_notify($2, '')",
    )
    .bind(id)
    .bind(OUTBOX_CHANNEL)
    .execute(&mut *tx)
    .await
    .context("queue an email again")?;
    let details = json!({ "email_id": id, "kind": letter.kind });
    audit::record(
        &mut tx,
        actor,
        AuditAction::EmailRetried,
        letter.user_id,
        details,
    )
    .await?;
    tx.commit().await.context("commit an email retry")?;
    Ok(())
}

/// `server create-admin`: the registration rules, then an active administrator, recorded in
/// the audit log as made on the command line.
#[tracing::instrument(name = "admin.create_admin", skip_all)]
pub async fn create_admin(state: &AppState, form: Form) -> Result<AdminCreated, ApiError> {
    let actor = Actor::command_line();
    let account = registration::prepare(state, form).await?;
    let mut tx = state
        .pool
        .begin()
        .await
        .context("begin creating an administrator")?;
    let client = ClientInfo::default();
    let user_id =
        registration::insert(&mut tx, state, &account, NewAccount::ActiveAdmin, &client).await?;
    audit::record(
        &mut tx,
        &actor,
        AuditAction::AdminCreated,
        Some(user_id),
        json!({}),
    )
    .await?;
    tx.commit()
        .await
        .context("commit creating an administrator")?;
    Ok(AdminCreated {
        user_id,
        email: account.email.into_inner(),
    })
}

/// The account id behind an email address, for the command line.
pub async fn find_by_email(state: &AppState, email: &str) -> Result<Uuid, ApiError> {
    sqlx::query_scalar("select id from users where lower(email) = lower($1)")
        .bind(crate::infra::codes::storable(email.trim()))
        .fetch_optional(&state.pool)
        .await
        .context("find an account by email")?
        .ok_or_else(|| ApiError::not_found(t!(errors.no_account_with_email)).with_field("email"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gb() -> crate::domain::Region {
        crate::domain::Region::GB
    }

    #[test]
    fn words_must_all_appear_and_are_matched_literally() {
        assert_eq!(
            search_patterns("  Ada LOVELACE ", gb()),
            vec!["%lovelace%", "%ada%"]
        );
        assert_eq!(search_patterns("100%_a\\b", gb()), vec![r"%100\%\_a\\b%"]);
        assert!(search_patterns("   ", gb()).is_empty());
        assert_eq!(search_patterns("ada ada", gb()), vec!["%ada%"]);
    }

    #[test]
    fn phone_numbers_match_in_any_format() {
        // A whole national number becomes its E.164 digits.
        assert_eq!(
            search_patterns("020 7946 0958", gb()),
            vec!["%442079460958%"]
        );
        assert_eq!(
            search_patterns("+44 20-7946-0958", gb()),
            vec!["%442079460958%"]
        );
        // A part keeps its digits, without a trunk or international prefix.
        assert_eq!(search_patterns("020 79", gb()), vec!["%2079%"]);
        assert_eq!(search_patterns("0044 20", gb()), vec!["%4420%"]);
        assert_eq!(search_patterns("(946) 095", gb()), vec!["%946095%"]);
        // Two digits are too few to be a phone search: a word.
        assert_eq!(search_patterns("12", gb()), vec!["%12%"]);
    }

    #[test]
    fn bad_filters_name_their_field() {
        let region = gb();
        let bad = |q: UserQuery| q.parse(region).expect_err("refused").field;
        let field = |f: &str| Some(f.to_string());
        assert_eq!(
            bad(UserQuery {
                status: Some("asleep".into()),
                ..UserQuery::default()
            }),
            field("status")
        );
        assert_eq!(
            bad(UserQuery {
                role: Some("root".into()),
                ..UserQuery::default()
            }),
            field("role")
        );
        assert_eq!(
            bad(UserQuery {
                sort: Some("random".into()),
                ..UserQuery::default()
            }),
            field("sort")
        );
        assert_eq!(
            bad(UserQuery {
                q: Some("ada\u{0}".into()),
                ..UserQuery::default()
            }),
            field("q")
        );
        assert_eq!(
            bad(UserQuery {
                q: Some("x".repeat(201)),
                ..UserQuery::default()
            }),
            field("q")
        );
        let fine = UserQuery {
            status: Some(String::new()),
            sort: Some("email".into()),
            ..UserQuery::default()
        }
        .parse(region)
        .expect("blank status is no filter");
        assert_eq!((fine.status, fine.sort), (None, UserSort::Email));
    }
}
