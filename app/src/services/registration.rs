//! Registration, activation and code resend: the rules behind `/api/register`,
//! `/api/activate` and `/api/resend-code`.

use sqlx::PgConnection;
use uuid::Uuid;

use crate::t;
use crate::{
    domain::{Email, Password, PersonName, PhoneNumber, VerificationCode},
    error::{ApiError, Context as _, ErrorCode},
    infra::{
        client::ClientInfo,
        codes::{self, Owner, Slot},
        credentials::{self, Verified},
        db::{self, DbResultExt as _},
        events,
        mail::{self, EmailKind},
        metrics::{self, LimitKind},
        rate_limit,
        webhooks::{self, Deletion, Event, NewUser},
    },
    language::Locale,
    model::{AccountStatus, Activated, CodeSent, EventKind, Registered, Role, Secret},
    state::AppState,
    t_in,
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
    id: Uuid,
    email: String,
    first_name: String,
    language: Option<Locale>,
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
    limit_registrations(state, client).await?;
    if state.settings.registration.prevents_enumeration {
        return register_quietly(state, client, form).await;
    }
    let account = prepare(state, form).await?;
    let user_id = create_pending(state, &account, client).await?;
    Ok(registered(state, &account.email, &account.phone, user_id))
}

fn registered(state: &AppState, email: &Email, phone: &PhoneNumber, user_id: Uuid) -> Registered {
    Registered {
        user_id,
        email: email.as_str().to_owned(),
        phone_number: phone.as_str().to_owned(),
        code_expires_in: state.settings.codes.ttl_secs(),
    }
}

/// The pending account, its history and its activation code's email, in one transaction.
async fn create_pending(
    state: &AppState,
    account: &Prepared,
    client: &ClientInfo,
) -> Result<Uuid, ApiError> {
    let mut tx = state.pool.begin().await.context("begin a registration")?;
    let user_id = insert(&mut tx, state, account, NewAccount::Pending, client).await?;
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
    Ok(user_id)
}

/// Registration that tells no one whether the email or phone has an account
/// (`REGISTRATION_PREVENTS_ENUMERATION`, OWASP ASVS 5.0 6.3.8). Every well-formed request gets
/// 201 with the same body shape (a fresh random `user_id` when no account was made), spends one
/// password hash and queues one email, to the address typed:
///
/// - both free: the account, pending, and its activation code, as without the setting;
/// - the email has an account (pending or active): nothing is created or changed, and its owner
///   is told someone tried, with a way to sign in or reset the password;
/// - the email is free but the phone belongs to another account: nothing is created, and the
///   address is told the number is taken. Only someone who reads that inbox learns it, which is
///   how the phone's uniqueness is kept without saying it to anyone who asks.
///
/// A stale pending registration still gives way, as without the setting. Notices to one address
/// are capped at `CODE_RESENDS_PER_HOUR` an hour (its inbox is not a target for others'
/// registrations); past that the answer is the same and no email goes.
async fn register_quietly(
    state: &AppState,
    client: &ClientInfo,
    form: Form,
) -> Result<Registered, ApiError> {
    let fields = parse(state, &form)?;
    let holders = holders(state, &fields.email, &fields.phone).await?;
    // The same hash whoever holds the addresses: the time taken tells nothing either.
    let password_hash = state.hasher.hash(&fields.password).await?;
    let taken = match holders {
        Holders::Free { stale_holder } => {
            let account = Prepared {
                first_name: fields.first_name.clone(),
                last_name: fields.last_name.clone(),
                email: fields.email.clone(),
                phone: fields.phone.clone(),
                password_hash,
                stale_holder,
            };
            match create_pending(state, &account, client).await {
                Ok(user_id) => {
                    return Ok(registered(state, &fields.email, &fields.phone, user_id));
                }
                // Another registration took an address in the meantime: tell as if it had
                // been taken already.
                Err(e) if matches!(e.error, ErrorCode::EmailTaken | ErrorCode::PhoneTaken) => {
                    holders_after_race(state, &fields).await?
                }
                Err(e) => return Err(e),
            }
        }
        taken => taken,
    };
    tell_the_address(state, &fields, taken).await?;
    Ok(registered(
        state,
        &fields.email,
        &fields.phone,
        Uuid::new_v4(),
    ))
}

/// The holders once a registration lost a race for its addresses: taken, whichever it was.
async fn holders_after_race(state: &AppState, fields: &Fields) -> Result<Holders, ApiError> {
    Ok(match holders(state, &fields.email, &fields.phone).await? {
        Holders::Free { .. } => Holders::Phone,
        taken => taken,
    })
}

/// The one email of a registration that made no account.
async fn tell_the_address(
    state: &AppState,
    fields: &Fields,
    taken: Holders,
) -> Result<(), ApiError> {
    let settings = &state.settings;
    let (message, user_id) = match &taken {
        Holders::Email {
            user_id,
            email,
            first_name,
            language,
        } => (
            {
                let language = mail::language_for(*language);
                mail::attempt_email(mail::AttemptMessage {
                    kind: EmailKind::RegistrationAttempt,
                    language,
                    recipient: email,
                    first_name,
                    subject: t_in!(language, mail.registration_attempt_subject),
                    body: t_in!(language, mail.registration_attempt_body),
                    action: t_in!(language, mail.registration_attempt_action),
                    url: &settings.http.link("/login"),
                })?
            },
            Some(*user_id),
        ),
        Holders::Phone | Holders::Free { .. } => (
            {
                // The address is free: its registration's own language.
                let language = mail::language_for(None);
                mail::attempt_email(mail::AttemptMessage {
                    kind: EmailKind::PhoneTakenNotice,
                    language,
                    recipient: fields.email.as_str(),
                    first_name: fields.first_name.as_str(),
                    subject: t_in!(language, mail.phone_taken_subject),
                    body: t_in!(language, mail.phone_taken_body),
                    action: t_in!(language, mail.phone_taken_action),
                    url: &settings.http.link("/register"),
                })?
            },
            None,
        ),
    };
    let mut tx = state.pool.begin().await.context("begin a notice")?;
    let key = format!("register:notice:{}", codes::text_key(&message.recipient));
    let decision = rate_limit::check(
        &mut tx,
        &key,
        settings.codes.resends_per_hour,
        std::time::Duration::from_secs(3600),
    )
    .await
    .context("count registration notices to this address")?;
    if decision == rate_limit::Decision::Allowed {
        mail::enqueue(&mut tx, user_id, &message).await?;
    } else {
        tracing::info!("registration notice not sent: this address had enough of them this hour");
    }
    tx.commit().await.context("commit a notice")?;
    Ok(())
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

/// A registration's fields, parsed.
struct Fields {
    first_name: PersonName,
    last_name: PersonName,
    email: Email,
    phone: PhoneNumber,
    password: Password,
}

fn parse(state: &AppState, form: &Form) -> Result<Fields, ApiError> {
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
    Ok(Fields {
        first_name,
        last_name,
        email,
        phone,
        password,
    })
}

/// The registration rules, for a person registering and for `server create-admin` alike:
/// every field parsed, taken addresses refused before a hash is spent on them, the password
/// hashed on the bounded pool.
pub async fn prepare(state: &AppState, form: Form) -> Result<Prepared, ApiError> {
    let fields = parse(state, &form)?;
    // The unique indexes remain the truth for races.
    let stale_holder = match holders(state, &fields.email, &fields.phone).await? {
        Holders::Free { stale_holder } => stale_holder,
        Holders::Email { .. } => return Err(db::email_taken()),
        Holders::Phone => return Err(db::phone_taken()),
    };
    let password_hash = state.hasher.hash(&fields.password).await?;
    Ok(Prepared {
        first_name: fields.first_name,
        last_name: fields.last_name,
        email: fields.email,
        phone: fields.phone,
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
                t!(errors.too_many_registrations),
            )
            .with_retry_after(retry_after))
        }
    }
}

/// Who holds the email or phone being registered.
enum Holders {
    /// Neither is held by a live account; `stale_holder`: a stale pending registration holds
    /// one (it gives way in the registration's transaction).
    Free { stale_holder: bool },
    /// The email belongs to this account (pending or active).
    Email {
        user_id: Uuid,
        email: String,
        first_name: String,
        language: Option<Locale>,
    },
    /// The email is free, the phone belongs to another account.
    Phone,
}

async fn holders(
    state: &AppState,
    email: &Email,
    phone: &PhoneNumber,
) -> Result<Holders, ApiError> {
    let holders: Vec<Holder> = sqlx::query_as(
        "select u.id, u.email, u.first_name, u.language, lower(u.email) = lower($1) as holds_email,
                u.phone_number = $2 as holds_phone, is_stale_pending(u, $3) as stale
         from users u
         where lower(u.email) = lower($1) or u.phone_number = $2",
    )
    .bind(email.as_str())
    .bind(phone.as_str())
    .bind(state.settings.registration.pending_hold.as_secs_f64())
    .fetch_all(&state.pool)
    .await
    .context("look for accounts holding the email or phone")?;
    let mut live = holders.iter().filter(|h| !h.stale);
    if let Some(holder) = live.clone().find(|h| h.holds_email) {
        return Ok(Holders::Email {
            user_id: holder.id,
            email: holder.email.clone(),
            first_name: holder.first_name.clone(),
            language: holder.language,
        });
    }
    if live.any(|h| h.holds_phone) {
        return Ok(Holders::Phone);
    }
    Ok(Holders::Free {
        stale_holder: !holders.is_empty(),
    })
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
    // A pending account has picked no language yet: the request's (the registration, the
    // person's resend; an administrator's resend, theirs).
    let mut message = mail::activation_email(
        mail::language_for(None),
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
            t!(errors.already_activated_sign_in),
        )),
        AccountStatus::Locked => Err(account_locked()),
        AccountStatus::Disabled => Err(ApiError::account_disabled()),
    }
}

fn account_locked() -> ApiError {
    ApiError::new(ErrorCode::AccountLocked, t!(errors.registration_locked))
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
