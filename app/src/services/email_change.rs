//! Changing the email address: a code goes to the new address (and a notice to the old one);
//! nothing changes until that code comes back.

use crate::t;
use crate::{
    domain::{Email, VerificationCode},
    error::{ApiError, Context as _, ErrorCode},
    infra::{
        client::ClientInfo,
        codes::{self, Owner, Slot},
        db::{self, DbResultExt as _},
        events,
        mail::{self, CodeMessage, EmailKind},
        sessions::Caller,
        webhooks::{self, Event},
    },
    model::{CodeSentTo, EventKind, Profile, Secret},
    services::account::{load_profile, recheck_password},
    state::AppState,
    t_in,
};

#[tracing::instrument(name = "email_change.request", skip_all, fields(user.id = %caller.user_id))]
pub async fn request(
    state: &AppState,
    client: &ClientInfo,
    caller: &Caller,
    new_email: &str,
    password: &Secret,
) -> Result<CodeSentTo, ApiError> {
    let settings = &state.settings;
    let new_email = Email::parse(new_email).map_err(|e| ApiError::field("new_email", e))?;
    let (old_email, first_name) =
        recheck_password(state, client, caller, password, "password").await?;
    if old_email.eq_ignore_ascii_case(new_email.as_str()) {
        return Err(ApiError::invalid("new_email", t!(errors.email_unchanged)));
    }
    let taken: bool =
        sqlx::query_scalar("select exists(select 1 from users where lower(email) = lower($1))")
            .bind(new_email.as_str())
            .fetch_one(&state.pool)
            .await
            .context("look for the new address")?;
    if taken {
        return Err(db::email_taken().with_field("new_email"));
    }

    let slot = Slot::email_change(caller.user_id);
    let mut tx = state.pool.begin().await.context("begin an email change")?;
    codes::pace(&mut tx, &settings.codes, &slot).await?;
    let issued = codes::issue(
        &mut tx,
        &settings.codes,
        &slot,
        Owner {
            user_id: Some(caller.user_id),
            new_email: Some(new_email.as_str()),
        },
    )
    .await?;
    let language = mail::language_for(caller.language);
    let mut to_new = mail::code_email(CodeMessage {
        kind: EmailKind::EmailChange,
        language,
        recipient: new_email.as_str(),
        first_name: &first_name,
        subject: t_in!(language, mail.email_change_subject, code = issued.code),
        purpose: t_in!(language, mail.email_change_purpose),
        ignore: t_in!(language, mail.email_change_ignore),
        code: &issued.code,
        ttl: settings.codes.ttl,
    })?;
    to_new.expires_at = Some(issued.expires_at);
    let to_old = mail::notice_email(
        (EmailKind::EmailChangeNotice, language),
        &old_email,
        &first_name,
        t_in!(language, mail.email_change_notice_subject),
        &t_in!(
            language,
            mail.email_change_notice_body,
            new_email = new_email.as_str()
        ),
        &settings.http.link("/login"),
    )?;
    mail::enqueue(&mut tx, Some(caller.user_id), &to_new).await?;
    mail::enqueue(&mut tx, Some(caller.user_id), &to_old).await?;
    events::record(
        &mut tx,
        caller.user_id,
        EventKind::EmailChangeRequested,
        client,
    )
    .await?;
    tx.commit()
        .await
        .context("commit an email change request")?;
    Ok(CodeSentTo {
        code_expires_in: settings.codes.ttl_secs(),
    })
}

#[tracing::instrument(name = "email_change.confirm", skip_all, fields(user.id = %caller.user_id))]
pub async fn confirm(
    state: &AppState,
    client: &ClientInfo,
    caller: &Caller,
    code: &str,
) -> Result<Profile, ApiError> {
    let settings = &state.settings;
    let code = VerificationCode::parse(code, Some(settings.codes.length))
        .map_err(|e| ApiError::field("code", e))?;
    let mut tx = state
        .pool
        .begin()
        .await
        .context("begin an email confirmation")?;
    let slot = Slot::email_change(caller.user_id);
    let matched = match codes::attempt(&mut tx, &settings.codes, &slot, &code).await {
        Ok(Ok(matched)) => matched,
        Ok(Err(wrong)) => {
            tx.commit().await.context("commit a wrong code")?;
            return Err(wrong.error);
        }
        Err(e) if e.error == ErrorCode::CodeExpired => {
            return Err(e.with_message(t!(errors.no_email_change_waiting)));
        }
        Err(e) => return Err(e),
    };
    let new_email = matched
        .new_email
        .ok_or_else(|| ApiError::internal("an email-change code without its address"))?;
    // The unique index decides a race with a registration of the same address.
    sqlx::query("update users set email = $2, email_verified_at = now() where id = $1")
        .bind(caller.user_id)
        .bind(&new_email)
        .execute(&mut *tx)
        .await
        .on_constraint(
            db::USERS_EMAIL_KEY,
            || db::email_taken().with_message(t!(errors.email_taken_meanwhile)),
            "change the email address",
        )?;
    events::record(&mut tx, caller.user_id, EventKind::EmailChanged, client).await?;
    webhooks::publish(
        &mut tx,
        &settings.webhooks,
        Event::user_email_changed(caller.user_id, &new_email),
    )
    .await?;
    let profile = load_profile(&mut tx, caller.user_id).await?;
    tx.commit()
        .await
        .on_user_conflict("commit an email change")?;
    tracing::info!("email address changed");
    Ok(profile)
}
