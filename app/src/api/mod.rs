//! Server functions, grouped by area: each has an explicit, stable endpoint under `/api`. A
//! server function only translates: it reads what the request carries (see [`extract`]),
//! calls one service with plain arguments, and turns the result into the response.

pub mod account;
pub mod admin;
pub mod catalog;
#[cfg(feature = "ssr")]
pub mod extract;
#[cfg(feature = "ssr")]
pub mod openapi;
pub mod orders;
pub mod passkeys;
pub mod password_reset;
pub mod registration;
pub mod second_factor;
pub mod session;
pub mod status;
pub mod webhooks;

#[cfg(test)]
mod tests {
    //! The server-function macro derives `Debug` on every argument struct: none may print a
    //! password or a one-time code.
    use crate::model::Secret;

    #[test]
    fn no_argument_struct_prints_a_password() {
        let pw = || Secret::from("hunter2 hunter2");
        let printed = [
            format!(
                "{:?}",
                super::registration::Register {
                    first_name: "Ada".into(),
                    last_name: "Lovelace".into(),
                    email: "ada@example.com".into(),
                    phone_number: "+442079460958".into(),
                    password: pw(),
                }
            ),
            format!(
                "{:?}",
                super::session::Login {
                    email: "ada@example.com".into(),
                    password: pw(),
                }
            ),
            format!(
                "{:?}",
                super::session::Token {
                    email: "ada@example.com".into(),
                    password: pw(),
                }
            ),
            format!(
                "{:?}",
                super::account::ChangePassword {
                    current_password: pw(),
                    new_password: pw(),
                }
            ),
            format!(
                "{:?}",
                super::account::ChangeEmail {
                    new_email: "new@example.com".into(),
                    password: pw(),
                }
            ),
            format!("{:?}", super::account::DeleteAccount { password: pw() }),
            format!(
                "{:?}",
                super::password_reset::ResetPassword {
                    email: "ada@example.com".into(),
                    code: "042742".into(),
                    new_password: pw(),
                }
            ),
            format!(
                "{:?}",
                super::registration::Activate {
                    code: "042742".into()
                }
            ),
            format!(
                "{:?}",
                super::account::ConfirmEmail {
                    code: "042742".into()
                }
            ),
            format!(
                "{:?}",
                super::passkeys::PasskeyOptions {
                    purpose: Some(crate::model::PasskeyPurpose::Register),
                    password: Some(pw()),
                    challenge: None,
                }
            ),
            format!(
                "{:?}",
                super::passkeys::DeletePasskey {
                    passkey_id: "1".into(),
                    password: pw(),
                    code: Some("042742".into()),
                }
            ),
        ];
        for line in printed {
            assert!(
                !line.contains("hunter2") && !line.contains("042742"),
                "{line}"
            );
            assert!(line.contains("[redacted]"), "{line}");
        }
    }
}
