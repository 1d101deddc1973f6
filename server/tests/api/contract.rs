//! The OpenAPI document as a contract: which statuses an endpoint documents, and whether an
//! answer's body matches the schema documented for its status (JSON Schema 2020-12, checked
//! with the `jsonschema` crate, which shares no code with the `utoipa` that wrote the document).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use serde_json::{Value, json};

pub struct Contract {
    pub document: Value,
    validators: Mutex<HashMap<(String, String, u16), Arc<jsonschema::Validator>>>,
}

impl Contract {
    /// The document a server with the development cookie name serves.
    pub fn of_this_build() -> Self {
        let document =
            serde_json::to_value(app::api::openapi::document("session")).expect("JSON document");
        Self::new(document)
    }

    pub fn new(document: Value) -> Self {
        Self {
            document,
            validators: Mutex::new(HashMap::new()),
        }
    }

    /// The operation for `method` (lower case) on `path`, if documented.
    pub fn operation(&self, method: &str, path: &str) -> Option<&Value> {
        self.document["paths"].get(path)?.get(method)
    }

    /// `Ok` when `status` is documented for the operation and `body` matches its schema;
    /// `Err` says what does not. An undocumented operation is an error too.
    pub fn check(&self, method: &str, path: &str, status: u16, body: &[u8]) -> Result<(), String> {
        let operation = self
            .operation(method, path)
            .ok_or_else(|| format!("{method} {path} is not in the document"))?;
        let Some(response) = operation["responses"].get(status.to_string()) else {
            let documented: Vec<&String> = operation["responses"]
                .as_object()
                .map(|responses| responses.keys().collect())
                .unwrap_or_default();
            return Err(format!(
                "{method} {path} answered {status}, documented: {documented:?}; body: {}",
                String::from_utf8_lossy(body)
            ));
        };
        let schema = &response["content"]["application/json"]["schema"];
        if schema.is_null() {
            return Ok(());
        }
        let instance: Value = serde_json::from_slice(body).map_err(|e| {
            format!(
                "{method} {path} {status}: not JSON ({e}): {}",
                String::from_utf8_lossy(body)
            )
        })?;
        let validator = self.validator(method, path, status, schema)?;
        let errors: Vec<String> = validator
            .iter_errors(&instance)
            .map(|error| format!("{} at {}", error, error.instance_path()))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{method} {path} {status}: the body does not match its schema: {}\nbody: {instance}",
                errors.join("; ")
            ))
        }
    }

    fn validator(
        &self,
        method: &str,
        path: &str,
        status: u16,
        schema: &Value,
    ) -> Result<Arc<jsonschema::Validator>, String> {
        let key = (method.to_string(), path.to_string(), status);
        let mut validators = self.validators.lock().expect("not poisoned");
        if let Some(validator) = validators.get(&key) {
            return Ok(validator.clone());
        }
        // The response's schema, with the document's components beside it so that its
        // `#/components/schemas/…` references resolve.
        let root = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "components": self.document["components"],
            "allOf": [schema],
        });
        let validator = Arc::new(
            jsonschema::draft202012::new(&root)
                .map_err(|e| format!("{method} {path} {status}: schema does not compile: {e}"))?,
        );
        validators.insert(key, validator.clone());
        Ok(validator)
    }
}
