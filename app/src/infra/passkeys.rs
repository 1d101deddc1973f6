//! Passkeys, the relying party's side of WebAuthn (webauthn-rs), pure and synchronous (the
//! rules are in `services::passkeys`):
//!
//! - The relying party is the app's public origin (`APP_BASE_URL`) and its host as the
//!   relying-party ID (`WEBAUTHN_RP_ID` to name a parent domain instead). WebAuthn refuses an IP
//!   address as an ID: a server addressed by one has no passkeys ([`RelyingParty::new`] is
//!   `None`), so development and the browser tests use `http://localhost:…`.
//! - Every ceremony asks for user verification (a fingerprint, a face or the device's PIN), so a
//!   passkey is two factors in itself: something held, and something known or been.
//! - New passkeys are discoverable (resident) credentials: a sign-in needs no email typed.
//! - The state between a ceremony's two requests is JSON the caller stores (in Postgres): any
//!   replica finishes what another began.

use serde::{Serialize, de::DeserializeOwned};
use uuid::Uuid;
use webauthn_rs::prelude::{
    AuthenticationResult, CredentialID, DiscoverableAuthentication, Passkey, PasskeyAuthentication,
    PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential, Url, Webauthn,
    WebauthnBuilder, WebauthnError,
};

use super::config::HttpSettings;

/// The name authenticators show beside the account.
const RP_NAME: &str = "Accounts";

/// Why a credential was refused.
#[derive(Debug)]
pub enum Refused {
    /// The browser's JSON is not a WebAuthn credential.
    Malformed(String),
    /// A credential, but not one this ceremony accepts (wrong origin or challenge, a bad
    /// signature, no user verification, a counter that went back).
    Rejected(WebauthnError),
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Malformed(e) => write!(f, "not a WebAuthn credential: {e}"),
            Self::Rejected(e) => write!(f, "credential refused: {e}"),
        }
    }
}

/// What the browser gets to start a ceremony, and what the server keeps until it ends.
pub struct Started {
    /// WebAuthn's options (`{"publicKey": …}`), for `navigator.credentials`.
    pub options: serde_json::Value,
    /// The ceremony's state, to store.
    pub state: serde_json::Value,
}

/// The app as a WebAuthn relying party.
pub struct RelyingParty(Webauthn);

impl RelyingParty {
    /// The relying party of `http`; `None` when its ID would be an IP address (or anything else
    /// WebAuthn refuses), with the reason.
    pub fn new(http: &HttpSettings) -> Result<Self, String> {
        let origin = &http.app_base_url;
        let host = origin.host_str().unwrap_or_default();
        let id = http.webauthn_rp_id.as_deref().unwrap_or(host);
        if id.parse::<std::net::IpAddr>().is_ok() || id.starts_with('[') {
            return Err(format!(
                "the relying-party ID would be the IP address {id}: serve the app at a host name \
                 (http://localhost:PORT in development) or set WEBAUTHN_RP_ID"
            ));
        }
        let origin = Url::parse(&origin.origin().ascii_serialization())
            .map_err(|e| format!("APP_BASE_URL's origin: {e}"))?;
        WebauthnBuilder::new(id, &origin)
            .and_then(|b| b.rp_name(RP_NAME).build())
            .map(Self)
            .map_err(|e| format!("relying-party ID {id:?} for {origin}: {e}"))
    }

    /// Starts adding a passkey to `user_id`'s account; `existing` are the credentials it has
    /// (an authenticator that holds one of them declines to make another).
    pub fn start_registration(
        &self,
        user_id: Uuid,
        email: &str,
        display_name: &str,
        existing: Vec<CredentialID>,
    ) -> Result<Started, String> {
        let exclude = (!existing.is_empty()).then_some(existing);
        let (options, state) = self
            .0
            .start_passkey_registration(user_id, email, display_name, exclude)
            .map_err(|e| e.to_string())?;
        let mut started = started(&options, &state)?;
        // A discoverable credential, so that a sign-in needs no email: webauthn-rs asks for
        // none by default ("discouraged"), and many authenticators then make one it cannot find
        // without being told the account first. Its check of the answer does not depend on it.
        let selection = &mut started.options["publicKey"]["authenticatorSelection"];
        selection["residentKey"] = "required".into();
        selection["requireResidentKey"] = true.into();
        Ok(started)
    }

    /// Checks a new credential against its ceremony's `state`.
    pub fn finish_registration(
        &self,
        credential: &str,
        state: serde_json::Value,
    ) -> Result<Passkey, Refused> {
        let credential: RegisterPublicKeyCredential = parse(credential)?;
        let state: PasskeyRegistration = stored(state)?;
        self.0
            .finish_passkey_registration(&credential, &state)
            .map_err(Refused::Rejected)
    }

    /// Starts a second step that one of `passkeys` can meet.
    pub fn start_authentication(&self, passkeys: &[Passkey]) -> Result<Started, String> {
        let (options, state) = self
            .0
            .start_passkey_authentication(passkeys)
            .map_err(|e| e.to_string())?;
        started(&options, &state)
    }

    /// Checks an answer to [`Self::start_authentication`].
    pub fn finish_authentication(
        &self,
        credential: &PublicKeyCredential,
        state: serde_json::Value,
    ) -> Result<AuthenticationResult, Refused> {
        let state: PasskeyAuthentication = stored(state)?;
        self.0
            .finish_passkey_authentication(credential, &state)
            .map_err(Refused::Rejected)
    }

    /// Starts a sign-in with any passkey of any account: the browser offers the ones it has
    /// for this site, and the answer names its account.
    pub fn start_discoverable(&self) -> Result<Started, String> {
        let (options, state) = self
            .0
            .start_discoverable_authentication()
            .map_err(|e| e.to_string())?;
        let mut started = started(&options, &state)?;
        // webauthn-rs asks for the autofill prompt (conditional mediation); a button asks for
        // the browser's dialog.
        if let Some(options) = started.options.as_object_mut() {
            options.remove("mediation");
        }
        Ok(started)
    }

    /// Checks an answer to [`Self::start_discoverable`] against the passkey it names.
    pub fn finish_discoverable(
        &self,
        credential: &PublicKeyCredential,
        state: serde_json::Value,
        passkey: &Passkey,
    ) -> Result<AuthenticationResult, Refused> {
        let state: DiscoverableAuthentication = stored(state)?;
        self.0
            .finish_discoverable_authentication_v2(credential, state, passkey)
            .map_err(Refused::Rejected)
    }
}

/// A credential from `navigator.credentials.get()`, as the browser sent it.
pub fn parse_assertion(credential: &str) -> Result<PublicKeyCredential, Refused> {
    parse(credential)
}

/// The account and credential id an assertion says it is for (the account only when the
/// authenticator sent its user handle, as a discoverable credential does).
pub fn claimed(credential: &PublicKeyCredential) -> (Option<Uuid>, Vec<u8>) {
    let user = credential
        .get_user_unique_id()
        .and_then(|bytes| Uuid::from_slice(bytes).ok());
    (user, credential.get_credential_id().to_vec())
}

fn parse<T: DeserializeOwned>(json: &str) -> Result<T, Refused> {
    serde_json::from_str(json).map_err(|e| Refused::Malformed(e.to_string()))
}

fn stored<T: DeserializeOwned>(state: serde_json::Value) -> Result<T, Refused> {
    // Written by this module; a row that does not read back is a ceremony of another kind.
    serde_json::from_value(state).map_err(|e| Refused::Malformed(format!("ceremony state: {e}")))
}

fn started(options: &impl Serialize, state: &impl Serialize) -> Result<Started, String> {
    let options = serde_json::to_value(options).map_err(|e| e.to_string())?;
    let state = serde_json::to_value(state).map_err(|e| e.to_string())?;
    Ok(Started { options, state })
}

/// A stored passkey (its JSON column) and its credential id.
pub fn stored_passkey(json: serde_json::Value) -> Result<Passkey, String> {
    serde_json::from_value(json).map_err(|e| e.to_string())
}

/// A passkey as stored: JSON, and its credential id apart (to find it by).
pub fn to_store(passkey: &Passkey) -> Result<(serde_json::Value, Vec<u8>), String> {
    let json = serde_json::to_value(passkey).map_err(|e| e.to_string())?;
    Ok((json, passkey.cred_id().to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(base: &str, rp_id: Option<&str>) -> HttpSettings {
        let vars: std::collections::HashMap<String, String> =
            [("APP_BASE_URL".to_string(), base.to_string())].into();
        let mut settings = crate::infra::config::Settings::from_vars(vars)
            .expect("settings")
            .http;
        settings.webauthn_rp_id = rp_id.map(str::to_string);
        settings
    }

    #[test]
    fn an_ip_address_is_no_relying_party() {
        for base in ["http://127.0.0.1:3000", "http://[::1]:3000"] {
            let refused = RelyingParty::new(&http(base, None)).err();
            assert!(refused.is_some_and(|e| e.contains("IP address")), "{base}");
        }
        assert!(RelyingParty::new(&http("http://localhost:3000", None)).is_ok());
        assert!(RelyingParty::new(&http("https://accounts.example.com", None)).is_ok());
    }

    #[test]
    fn the_id_may_be_a_parent_domain_of_the_host_but_not_another_site() {
        let parent = http("https://accounts.example.com", Some("example.com"));
        assert!(RelyingParty::new(&parent).is_ok());
        let other = http("https://accounts.example.com", Some("example.org"));
        assert!(RelyingParty::new(&other).is_err());
    }

    #[test]
    fn new_passkeys_are_discoverable_and_verified() {
        let rp = RelyingParty::new(&http("http://localhost:3000", None)).expect("relying party");
        let started = rp
            .start_registration(Uuid::new_v4(), "ada@example.com", "Ada Lovelace", vec![])
            .expect("start");
        let options = started.options;
        let selection = &options["publicKey"]["authenticatorSelection"];
        assert_eq!(selection["residentKey"], "required", "{options}");
        assert_eq!(selection["userVerification"], "required", "{options}");
        assert_eq!(options["publicKey"]["rp"]["id"], "localhost");
        let login = rp.start_discoverable().expect("start");
        let options = login.options;
        assert_eq!(
            options["publicKey"]["userVerification"], "required",
            "{options}"
        );
        assert!(options.get("mediation").is_none(), "{options}");
    }
}
