/// A secret a person types (a password): plain in JSON, `[redacted]` in every `Debug` output.
///
/// The server-function macro derives `Debug` on its argument structs, so any secret argument
/// must be this type, or it would print in logs and panics.
#[derive(Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema), schema(value_type = String, format = Password))]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one place that needs it (hashing, a Basic-Auth header).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_string())
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_transparent_in_json_and_hidden_in_debug() {
        let secret = Secret::from("hunter2 hunter2");
        assert_eq!(
            serde_json::to_string(&secret).expect("serialises"),
            r#""hunter2 hunter2""#
        );
        let back: Secret = serde_json::from_str(r#""hunter2 hunter2""#).expect("parses");
        assert_eq!(back.expose(), "hunter2 hunter2");
        assert_eq!(format!("{secret:?}"), "[redacted]");
        assert_eq!(format!("{secret:#?}"), "[redacted]");
    }
}
