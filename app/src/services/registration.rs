//! Registration, activation and code resend: the rules behind `/api/register`,
//! `/api/activate` and `/api/resend-code`.

use sqlx::PgConnection;
use uuid::Uuid;

use crate::{
    domain::{Email, Password, PersonName, PhoneNumber, VerificationCode},
    error::{ApiError, Context as _, ErrorCode},
    infra::{
        client::ClientInfo,
        codes::{self, Owner, Slot},
        credentials::{self, Verified},
        db::{self, DbResultExt as _},
        events,
        mail::{self},
        metrics::{self, LimitKind},
        rate_limit,
        webhooks::{self, Deletion, Event, NewUser},
    },
    model::{AccountStatus, Activated, CodeSent, EventKind, Registered, Role, Secret},
    state::AppState,
};

/// What a person fills in to register, as typed.
#[derive(Clone, Debug, Default)]
pub struct Form {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub phone_number: String,
    pub password: Secret,
}

/// Whether a stored account holds the email or the phone being registered, and whether it is
/// a stale pending registration that gives way: its code expired and it has been idle for
/// `PENDING_HOLD_SECS`.
#[derive(sqlx::FromRow)]
struct Holder {
    holds_email: bool,
    holds_phone: bool,
    stale: bool,
}

#[tracing::instrument(name = "registration.register", skip_all, fields(user.id))]
pub async fn register(
    state: &AppState,
    client: &ClientInfo,
    form: Form,
) -> Result<Registered, ApiError> {
    let settings = &state.settings;
    limit_registrations(state, client).await?;
    let account = prepare(state, form).await?;
    let mut tx = state.pool.begin().await.context("begin a registration")?;
    let user_id = insert(&mut tx, state, &account, NewAccount::Pending, client).await?;
    tracing::Span::current().record("user.id", tracing::field::display(user_id));
    send_activation_code(
        &mut tx,
        state,
        user_id,
        account.email.as_str(),
        account.first_name.as_str(),
        (EventKind::CodeSent, client),
    )
    .await?;
    tx.commit()
        .await
        .on_user_conflict("commit a registration")?;

    tracing::info!("registered; activation code queued");
    Ok(Registered {
        user_id,
        email: account.email.into_inner(),
        phone_number: account.phone.into_inner(),
        code_expires_in: settings.codes.ttl_secs(),
    })
}

/// A registration whose fields parsed, whose addresses are free, and whose password is hashed.
pub struct Prepared {
    pub first_name: PersonName,
    pub last_name: PersonName,
    pub email: Email,
    pub phone: PhoneNumber,
    password_hash: String,
    /// A stale pending registration holds the email or phone and gives way on insert.
    stale_holder: bool,
}

/// The registration rules, for a person registering and for `server create-admin` alike:
/// every field parsed, taken addresses refused before a hash is spent on them, the password
/// hashed on the bounded pool.
pub async fn prepare(state: &AppState, form: Form) -> Result<Prepared, ApiError> {
    let settings = &state.settings;
    let first_name =
        PersonName::parse(&form.first_name).map_err(|e| ApiError::field("first_name", e))?;
    let last_name =
        PersonName::parse(&form.last_name).map_err(|e| ApiError::field("last_name", e))?;
    let email = Email::parse(&form.email).map_err(|e| ApiError::field("email", e))?;
    let phone = PhoneNumber::parse(
        &form.phone_number,
        settings.registration.default_phone_region,
    )
    .map_err(|e| ApiError::field("phone_number", e))?;
    let password =
        Password::parse(form.password.expose()).map_err(|e| ApiError::field("password", e))?;

    // The unique indexes remain the truth for races.
    let stale_holder = check_not_taken(state, &email, &phone).await?;
    let password_hash = state.hasher.hash(&password).await?;
    Ok(Prepared {
        first_name,
        last_name,
        email,
        phone,
        password_hash,
        stale_holder,
    })
}

/// What kind of account [`insert`] makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NewAccount {
    /// A person registering: pending until the emailed code comes back.
    Pending,
    /// An administrator made on the command line: active at once (the operator vouches for
    /// the address).
    ActiveAdmin,
}

/// Writes the account and the first entry of its security history in `tx`, after any stale
/// pending registration holding its addresses gave way.
pub async fn insert(
    tx: &mut PgConnection,
    state: &AppState,
    account: &Prepared,
    new: NewAccount,
    client: &ClientInfo,
) -> Result<Uuid, ApiError> {
    let mut events = Vec::new();
    if account.stale_holder {
        let replaced: Vec<Uuid> = sqlx::query_scalar(
            "delete from users u
             where (lower(u.email) = lower($1) or u.phone_number = $2) and is_stale_pending(u, $3)
             returning u.id",
        )
        .bind(account.email.as_str())
        .bind(account.phone.as_str())
        .bind(state.settings.registration.pending_hold.as_secs_f64())
        .fetch_all(&mut *tx)
        .await
        .context("remove a stale registration")?;
        events.extend(
            replaced
                .into_iter()
                .map(|id| Event::user_deleted(id, Deletion::Replaced)),
        );
    }
    let (status, role) = match new {
        NewAccount::Pending => (AccountStatus::Pending, Role::User),
        NewAccount::ActiveAdmin => (AccountStatus::Active, Role::Admin),
    };
    // One round trip: the account and the first entry of its security history.
    let user_id: Uuid = sqlx::query_scalar(
        "with u as (
             insert into users (first_name, last_name, email, phone_number, password_hash,
                                status, role, email_verified_at)
             values ($1, $2, $3, $4, $5, $9, $10, case when $9 = 'active' then now() end)
             returning id
         )
         insert into security_events (user_id, kind, ip, user_agent)
         select id, $6, $7, $8 from u
         returning user_id",
    )
    .bind(account.first_name.as_str())
    .bind(account.last_name.as_str())
    .bind(account.email.as_str())
    .bind(account.phone.as_str())
    .bind(&account.password_hash)
    .bind(EventKind::Registered)
    .bind(client.ip_text())
    .bind(client.user_agent.as_deref())
    .bind(status)
    .bind(role)
    .fetch_one(&mut *tx)
    .await
    .on_user_conflict("create the account")?;
    events.push(Event::user_registered(&NewUser {
        user_id,
        email: account.email.as_str(),
        first_name: account.first_name.as_str(),
        last_name: account.last_name.as_str(),
        phone_number: account.phone.as_str(),
        status,
    }));
    webhooks::publish_all(tx, &state.settings.webhooks, &events).await?;
    Ok(user_id)
}

async fn limit_registrations(state: &AppState, client: &ClientInfo) -> Result<(), ApiError> {
    let limit = state.settings.registration.per_ip_per_minute;
    let (Some(ip), true) = (client.ip, limit > 0) else {
        return Ok(());
    };
    let mut conn = state.pool.acquire().await.context("acquire a connection")?;
    let key = format!("register:ip:{ip}");
    match rate_limit::check(&mut conn, &key, limit, std::time::Duration::from_secs(60))
        .await
        .context("count registrations from this address")?
    {
        rate_limit::Decision::Allowed => Ok(()),
        rate_limit::Decision::Limited { retry_after } => {
            tracing::warn!(client.ip = %ip, "registration rate limit reached");
            metrics::rate_limited(LimitKind::RegisterPerIp);
            Err(ApiError::new(
                ErrorCode::TooManyRequests,
                "Too many registrations from your network. Please wait a moment.",
            )
            .with_retry_after(retry_after))
        }
    }
}

/// Refuses addresses held by another account; says whether a stale pending registration holds
/// one of them (it gives way in the registration's transaction).
async fn check_not_taken(
    state: &AppState,
    email: &Email,
    phone: &PhoneNumber,
) -> Result<bool, ApiError> {
    let holders: Vec<Holder> = sqlx::query_as(
        "select lower(u.email) = lower($1) as holds_email, u.phone_number = $2 as holds_phone,
                is_stale_pending(u, $3) as stale
         from users u
         where lower(u.email) = lower($1) or u.phone_number = $2",
    )
    .bind(email.as_str())
    .bind(phone.as_str())
    .bind(state.settings.registration.pending_hold.as_secs_f64())
    .fetch_all(&state.pool)
    .await
    .context("look for accounts holding the email or phone")?;
    let live = || holders.iter().filter(|h| !h.stale);
    if live().any(|h| h.holds_email) {
        return Err(db::email_taken());
    }
    if live().any(|h| h.holds_phone) {
        return Err(db::phone_taken());
    }
    Ok(!holders.is_empty())
}

/// Issues a fresh activation code (replacing any previous one) and queues its email, in `tx`;
/// `event` goes into the account's history (`code_sent`, or `code_sent_by_admin`).
pub(crate) async fn send_activation_code(
    tx: &mut PgConnection,
    state: &AppState,
    user_id: Uuid,
    email: &str,
    first_name: &str,
    (event, client): (EventKind, &ClientInfo),
) -> Result<(), ApiError> {
    let settings = &state.settings;
    let issued = codes::issue(
        tx,
        &settings.codes,
        &Slot::activation(user_id),
        Owner {
            user_id: Some(user_id),
            new_email: None,
        },
    )
    .await?;
    let mut message = mail::activation_email(
        email,
        first_name,
        &issued.code,
        settings.codes.ttl,
        &settings.http.link("/activate"),
    )?;
    // Not worth sending once the code has expired.
    message.expires_at = Some(issued.expires_at);
    mail::enqueue(tx, Some(user_id), &message).await?;
    events::record(tx, user_id, event, client).await
}

/// The account behind the request's Basic-Auth credentials, if it is still waiting for its
/// code.
async fn pending_account(
    state: &AppState,
    client: &ClientInfo,
    email: &str,
    password: &Secret,
) -> Result<Verified, ApiError> {
    let account = credentials::verify(state, client, email, password).await?;
    check_pending(account.status)?;
    Ok(account)
}

fn check_pending(status: AccountStatus) -> Result<(), ApiError> {
    match status {
        AccountStatus::Pending => Ok(()),
        AccountStatus::Active => Err(ApiError::new(
            ErrorCode::AlreadyActive,
            "This account is already activated. You can sign in.",
        )),
        AccountStatus::Locked => Err(account_locked()),
        AccountStatus::Disabled => Err(ApiError::account_disabled()),
    }
}

fn account_locked() -> ApiError {
    ApiError::new(
        ErrorCode::AccountLocked,
        "Too many wrong codes: this registration is locked. Register again later.",
    )
}

#[derive(sqlx::FromRow)]
struct PendingState {
    status: AccountStatus,
    failed_code_attempts: i32,
}

/// Activates a pending account with its code, after its email and password checked out.
#[tracing::instrument(name = "registration.activate", skip_all, fields(user.id))]
pub async fn activate(
    state: &AppState,
    client: &ClientInfo,
    email: &str,
    password: &Secret,
    code: &str,
) -> Result<Activated, ApiError> {
    let settings = &state.settings;
    let account = pending_account(state, client, email, password).await?;
    tracing::Span::current().record("user.id", tracing::field::display(account.user_id));
    let code = VerificationCode::parse(code, Some(settings.codes.length))
        .map_err(|e| ApiError::field("code", e))?;

    let mut tx = state.pool.begin().await.context("begin an activation")?;
    // The user row lock puts every attempt on this account in a queue: the attempt counts are
    // read and written by one request at a time, so parallel guesses cannot exceed them.
    let pending: PendingState = sqlx::query_as(
        "update users set last_activity_at = now() where id = $1
         returning status, failed_code_attempts",
    )
    .bind(account.user_id)
    .fetch_one(&mut *tx)
    .await
    .context("lock the pending account")?;
    check_pending(pending.status)?;
    let wrong = match codes::attempt(
        &mut tx,
        &settings.codes,
        &Slot::activation(account.user_id),
        &code,
    )
    .await?
    {
        Ok(_) => {
            sqlx::query(
                "update users set status = $2, email_verified_at = now(), failed_code_attempts = 0
                 where id = $1",
            )
            .bind(account.user_id)
            .bind(AccountStatus::Active)
            .execute(&mut *tx)
            .await
            .context("activate the account")?;
            events::record(&mut tx, account.user_id, EventKind::Activated, client).await?;
            webhooks::publish(
                &mut tx,
                &settings.webhooks,
                Event::user_activated(account.user_id, &account.email),
            )
            .await?;
            tx.commit().await.context("commit an activation")?;
            tracing::info!("account activated");
            return Ok(Activated { activated: true });
        }
        Err(wrong) => wrong,
    };

    let failed = pending.failed_code_attempts + 1;
    let locks = u32::try_from(failed).unwrap_or(0) >= settings.codes.account_max_failures;
    sqlx::query(
        "update users set failed_code_attempts = $2,
             status = case when $3 then $4 else status end
         where id = $1",
    )
    .bind(account.user_id)
    .bind(failed)
    .bind(locks)
    .bind(AccountStatus::Locked)
    .execute(&mut *tx)
    .await
    .context("count a wrong activation code")?;
    events::record(
        &mut tx,
        account.user_id,
        EventKind::ActivationFailed,
        client,
    )
    .await?;
    if locks {
        events::record(&mut tx, account.user_id, EventKind::AccountLocked, client).await?;
    }
    tx.commit()
        .await
        .context("commit a wrong activation code")?;
    if locks {
        tracing::warn!("pending account locked after too many wrong codes");
        return Err(account_locked());
    }
    Err(wrong.error)
}

/// Sends a new activation code, paced like every emailed code.
#[tracing::instrument(name = "registration.resend_code", skip_all, fields(user.id))]
pub async fn resend_code(
    state: &AppState,
    client: &ClientInfo,
    email: &str,
    password: &Secret,
) -> Result<CodeSent, ApiError> {
    let account = pending_account(state, client, email, password).await?;
    tracing::Span::current().record("user.id", tracing::field::display(account.user_id));

    let mut tx = state.pool.begin().await.context("begin a resend")?;
    let status: AccountStatus = sqlx::query_scalar(
        "update users set last_activity_at = now() where id = $1 returning status",
    )
    .bind(account.user_id)
    .fetch_one(&mut *tx)
    .await
    .context("lock the pending account")?;
    check_pending(status)?;
    codes::pace(
        &mut tx,
        &state.settings.codes,
        &Slot::activation(account.user_id),
    )
    .await?;
    send_activation_code(
        &mut tx,
        state,
        account.user_id,
        &account.email,
        &account.first_name,
        (EventKind::CodeSent, client),
    )
    .await?;
    tx.commit().await.context("commit a resend")?;
    tracing::info!("activation code resent");
    Ok(CodeSent {
        code_expires_in: state.settings.codes.ttl_secs(),
    })
}
