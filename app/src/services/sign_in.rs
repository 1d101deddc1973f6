//! Signing in with a session cookie or for a bearer token, and signing out.

use sqlx::PgConnection;
use uuid::Uuid;

use crate::t;
use crate::{
    error::{ApiError, Context as _, ErrorCode},
    infra::{
        client::ClientInfo,
        credentials, events,
        sessions::{self, Caller, Issued},
    },
    model::{AccountStatus, EventKind, Profile, Secret, SessionKind},
    services::{account, second_factor},
    state::AppState,
};

/// A new session, and who it belongs to.
#[derive(Debug)]
pub struct SignedIn {
    pub session: Issued,
    pub kind: SessionKind,
    pub profile: Profile,
}

/// Checks the credentials and opens a session of `kind`; on an account with a second factor,
/// a challenge instead (the `second_factor_required` error), which `second_factor::second_step`
/// finishes.
#[tracing::instrument(name = "sign_in", skip_all, fields(user.id, session.kind = %kind))]
pub async fn sign_in(
    state: &AppState,
    client: &ClientInfo,
    email: &str,
    password: &Secret,
    kind: SessionKind,
) -> Result<SignedIn, ApiError> {
    let account = credentials::verify(state, client, email, password).await?;
    tracing::Span::current().record("user.id", tracing::field::display(account.user_id));
    if account.status == AccountStatus::Disabled {
        return Err(ApiError::account_disabled());
    }
    if account.status != AccountStatus::Active {
        return Err(ApiError::new(
            ErrorCode::NotActivated,
            t!(errors.not_activated),
        ));
    }
    let mut tx = state.pool.begin().await.context("begin a sign-in")?;
    if account.second_factor {
        let challenge = second_factor::challenge(&mut tx, account.user_id, kind).await?;
        tx.commit().await.context("commit a sign-in challenge")?;
        tracing::info!("password checked; second step needed");
        return Err(challenge);
    }
    let signed_in = open_session(&mut tx, state, client, account.user_id, kind).await?;
    tx.commit().await.context("commit a sign-in")?;
    tracing::info!("signed in");
    Ok(signed_in)
}

/// The session of a sign-in whose every step checked out, in `tx`: the session, the history
/// entry, the last sign-in time.
pub async fn open_session(
    tx: &mut PgConnection,
    state: &AppState,
    client: &ClientInfo,
    user_id: Uuid,
    kind: SessionKind,
) -> Result<SignedIn, ApiError> {
    let session =
        sessions::issue(&mut *tx, &state.settings.sessions, user_id, kind, client).await?;
    events::record(&mut *tx, user_id, EventKind::LoginSucceeded, client).await?;
    sqlx::query("update users set last_login_at = now() where id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await
        .context("note the sign-in")?;
    let profile = account::load_profile(&mut *tx, user_id).await?;
    Ok(SignedIn {
        session,
        kind,
        profile,
    })
}

/// Ends the session or token the caller came with.
#[tracing::instrument(name = "sign_out", skip_all, fields(user.id = %caller.user_id))]
pub async fn sign_out(state: &AppState, caller: &Caller) -> Result<(), ApiError> {
    let mut conn = state.pool.acquire().await.context("acquire a connection")?;
    sessions::end(&mut conn, caller.session_id).await?;
    tracing::info!("signed out");
    Ok(())
}
