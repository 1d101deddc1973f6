//! A software passkey authenticator for the tests: what a platform authenticator does, in the
//! open. ES256 keys (ring), "none" attestation, discoverable credentials (the user handle comes
//! back with every assertion), a signature counter, and switches for what a misbehaving one
//! does (no user verification, another origin). The server checks everything it makes with
//! webauthn-rs, as it checks a real one's.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use ring::{
    rand::{SecureRandom as _, SystemRandom},
    signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair as _},
};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

/// Flags of the authenticator data (WebAuthn §6.1).
const USER_PRESENT: u8 = 0x01;
const USER_VERIFIED: u8 = 0x04;
const ATTESTED_CREDENTIAL: u8 = 0x40;

/// One credential the authenticator holds.
#[derive(Clone)]
struct Credential {
    id: Vec<u8>,
    pkcs8: Vec<u8>,
    rp_id: String,
    user_handle: Vec<u8>,
    counter: u32,
}

/// The authenticator, and the origin of the page that calls it.
#[derive(Clone)]
pub struct SoftPasskey {
    origin: String,
    credentials: Vec<Credential>,
    /// Whether it verifies the user (fingerprint, PIN): a real passkey does.
    pub verifies_user: bool,
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .expect("base64url from the server")
}

/// The smallest CBOR encoder the attestation needs (RFC 8949): unsigned and negative integers,
/// byte and text strings, maps.
mod cbor {
    pub enum Item<'a> {
        Int(i64),
        Bytes(&'a [u8]),
        Text(&'a str),
        Map(Vec<(Item<'a>, Item<'a>)>),
    }

    fn head(out: &mut Vec<u8>, major: u8, n: u64) {
        let major = major << 5;
        match n {
            0..=23 => out.push(major | n as u8),
            24..=0xff => out.extend([major | 24, n as u8]),
            0x100..=0xffff => {
                out.push(major | 25);
                out.extend((n as u16).to_be_bytes());
            }
            _ => {
                out.push(major | 26);
                out.extend((n as u32).to_be_bytes());
            }
        }
    }

    pub fn encode(item: &Item<'_>, out: &mut Vec<u8>) {
        match item {
            Item::Int(n) if *n >= 0 => head(out, 0, *n as u64),
            Item::Int(n) => head(out, 1, (-1 - *n) as u64),
            Item::Bytes(b) => {
                head(out, 2, b.len() as u64);
                out.extend_from_slice(b);
            }
            Item::Text(t) => {
                head(out, 3, t.len() as u64);
                out.extend_from_slice(t.as_bytes());
            }
            Item::Map(entries) => {
                head(out, 5, entries.len() as u64);
                for (k, v) in entries {
                    encode(k, out);
                    encode(v, out);
                }
            }
        }
    }
}

impl SoftPasskey {
    /// An authenticator in a browser at `origin` (`http://localhost:PORT`).
    pub fn new(origin: &str) -> Self {
        Self {
            origin: origin.to_string(),
            credentials: Vec::new(),
            verifies_user: true,
        }
    }

    /// The same authenticator in a page of another origin (a phishing site).
    pub fn at_origin(&self, origin: &str) -> Self {
        Self {
            origin: origin.to_string(),
            ..self.clone()
        }
    }

    fn flags(&self) -> u8 {
        if self.verifies_user {
            USER_PRESENT | USER_VERIFIED
        } else {
            USER_PRESENT
        }
    }

    fn client_data(&self, kind: &str, challenge: &str) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "type": kind,
            "challenge": challenge,
            "origin": self.origin,
            "crossOrigin": false,
        }))
        .expect("JSON")
    }

    /// `navigator.credentials.create()` with the server's options (`{"publicKey": …}`): a new
    /// key pair, the credential as the browser sends it.
    pub fn create(&mut self, options: &Value) -> Value {
        let options = &options["publicKey"];
        let rp_id = options["rp"]["id"].as_str().expect("rp.id").to_string();
        let challenge = options["challenge"].as_str().expect("challenge");
        let user_handle = unb64(options["user"]["id"].as_str().expect("user.id"));
        let excluded: Vec<Vec<u8>> = options["excludeCredentials"]
            .as_array()
            .map(|list| {
                list.iter()
                    .map(|c| unb64(c["id"].as_str().expect("id")))
                    .collect()
            })
            .unwrap_or_default();
        assert!(
            !self.credentials.iter().any(|c| excluded.contains(&c.id)),
            "the authenticator already holds one of the excluded credentials"
        );
        let random = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &random)
            .expect("a P-256 key")
            .as_ref()
            .to_vec();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &pkcs8, &random)
            .expect("the key reads back");
        let point = pair.public_key().as_ref();
        assert_eq!(point.len(), 65, "an uncompressed P-256 point");
        let mut id = vec![0u8; 16];
        random.fill(&mut id).expect("random id");

        use cbor::Item::{Bytes, Int, Map, Text};
        let mut cose = Vec::new();
        cbor::encode(
            &Map(vec![
                (Int(1), Int(2)),  // kty: EC2
                (Int(3), Int(-7)), // alg: ES256
                (Int(-1), Int(1)), // crv: P-256
                (Int(-2), Bytes(&point[1..33])),
                (Int(-3), Bytes(&point[33..65])),
            ]),
            &mut cose,
        );
        let mut auth_data = Sha256::digest(rp_id.as_bytes()).to_vec();
        auth_data.push(self.flags() | ATTESTED_CREDENTIAL);
        auth_data.extend(0u32.to_be_bytes());
        auth_data.extend([0u8; 16]); // AAGUID: none
        auth_data.extend((id.len() as u16).to_be_bytes());
        auth_data.extend(&id);
        auth_data.extend(&cose);
        let mut attestation = Vec::new();
        cbor::encode(
            &Map(vec![
                (Text("fmt"), Text("none")),
                (Text("attStmt"), Map(vec![])),
                (Text("authData"), Bytes(&auth_data)),
            ]),
            &mut attestation,
        );
        let client_data = self.client_data("webauthn.create", challenge);
        self.credentials.push(Credential {
            id: id.clone(),
            pkcs8,
            rp_id,
            user_handle,
            counter: 0,
        });
        json!({
            "id": b64(&id),
            "rawId": b64(&id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64(&client_data),
                "attestationObject": b64(&attestation),
                "transports": ["internal"],
            },
            "extensions": {},
        })
    }

    /// `navigator.credentials.get()` with the server's options: an assertion by the first
    /// credential for its relying party that the options allow (any, when they list none).
    pub fn get(&mut self, options: &Value) -> Value {
        let request = &options["publicKey"];
        let rp_id = request["rpId"].as_str().expect("rpId");
        let challenge = request["challenge"].as_str().expect("challenge");
        let allowed: Vec<Vec<u8>> = request["allowCredentials"]
            .as_array()
            .map(|list| {
                list.iter()
                    .map(|c| unb64(c["id"].as_str().expect("id")))
                    .collect()
            })
            .unwrap_or_default();
        let flags = self.flags();
        let client_data = self.client_data("webauthn.get", challenge);
        let credential = self
            .credentials
            .iter_mut()
            .find(|c| c.rp_id == rp_id && (allowed.is_empty() || allowed.contains(&c.id)))
            .expect("a credential for this relying party");
        credential.counter += 1;
        let mut auth_data = Sha256::digest(rp_id.as_bytes()).to_vec();
        auth_data.push(flags);
        auth_data.extend(credential.counter.to_be_bytes());
        let mut signed = auth_data.clone();
        signed.extend(Sha256::digest(&client_data));
        let random = SystemRandom::new();
        let pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &credential.pkcs8, &random)
                .expect("the key reads back");
        let signature = pair.sign(&random, &signed).expect("a signature");
        json!({
            "id": b64(&credential.id),
            "rawId": b64(&credential.id),
            "type": "public-key",
            "response": {
                "authenticatorData": b64(&auth_data),
                "clientDataJSON": b64(&client_data),
                "signature": b64(signature.as_ref()),
                "userHandle": b64(&credential.user_handle),
            },
            "extensions": {},
        })
    }
}
