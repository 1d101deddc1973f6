//! A labelled input with its error: the shared parser runs as you type, and an error from the
//! server lands on the field it names.

use leptos::prelude::*;

use crate::t;

/// The state of one input. `Copy`: every part is a signal.
#[derive(Clone, Copy)]
pub struct FieldState {
    pub value: RwSignal<String>,
    /// Show the parser's verdict: once the person has typed here, or tried to submit.
    pub shown: RwSignal<bool>,
    /// What the server said about the last submitted value; cleared on the next edit.
    pub server_error: RwSignal<Option<String>>,
    check: fn(&str) -> Option<String>,
}

impl FieldState {
    pub fn new(check: fn(&str) -> Option<String>) -> Self {
        Self {
            value: RwSignal::new(String::new()),
            shown: RwSignal::new(false),
            server_error: RwSignal::new(None),
            check,
        }
    }

    /// The error to show now, if any.
    pub fn error(self) -> Option<String> {
        if let Some(e) = self.server_error.get() {
            return Some(e);
        }
        if !self.shown.get() {
            return None;
        }
        self.value.with(|v| (self.check)(v))
    }

    /// Marks the field for display and says whether its value passes the parser.
    pub fn validate(self) -> bool {
        self.shown.set(true);
        self.value.with(|v| (self.check)(v)).is_none()
    }
}

/// A password to re-enter: anything but nothing.
pub fn password_field() -> FieldState {
    FieldState::new(|v| {
        v.is_empty()
            .then(|| t!(forms.password_required).to_string())
    })
}

/// A one-time code (from an app, or a recovery code): anything but blanks.
pub fn code_field() -> FieldState {
    FieldState::new(|v| {
        let digits = v.chars().filter(|c| !c.is_whitespace()).count();
        (digits == 0).then(|| t!(forms.code_required).to_string())
    })
}

/// A parser's verdict as a field shows it: the error's sentence, or nothing.
pub fn verdict<T>(result: Result<T, crate::domain::FieldError>) -> Option<String> {
    result.err().map(|e| e.0)
}

/// Puts a server error on the field it names (one of `fields`), or gives it back for the
/// form's own alert: the one place that turns an `ApiError` into a message for a field.
pub fn place_error(error: crate::error::ApiError, fields: &[(&str, FieldState)]) -> Option<String> {
    match fields
        .iter()
        .find(|(name, _)| Some(*name) == error.field.as_deref())
    {
        Some((_, state)) => {
            state.server_error.set(Some(error.message));
            None
        }
        None => Some(error.message),
    }
}

/// After a refused submit, moves the keyboard focus to what the person must fix: the first field
/// of `form` marked invalid, or else the form's alert (made focusable for this). Runs on the next
/// frame, once the verdicts are in the page; inert on the server.
pub fn focus_first_error(form: NodeRef<leptos::html::Form>) {
    #[cfg(feature = "hydrate")]
    request_animation_frame(move || {
        use web_sys::wasm_bindgen::JsCast;
        let Some(form) = form.get_untracked() else {
            return;
        };
        let first = |selector: &str| form.query_selector(selector).ok().flatten();
        let target = first("[aria-invalid=\"true\"]").or_else(|| {
            let alert = first("[role=\"alert\"]:not(:empty)")?;
            let _ = alert.set_attribute("tabindex", "-1");
            Some(alert)
        });
        if let Some(element) = target.and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok()) {
            let _ = element.focus();
        }
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = form;
}

/// Moves the keyboard focus to `node` once it is in the page: a confirmation that replaces the
/// form the focus was in (which would otherwise drop it back to the top of the document).
pub fn focus_when_shown<E>(node: NodeRef<E>)
where
    E: leptos::tachys::html::element::ElementType,
    E::Output: leptos::wasm_bindgen::JsCast + Clone + 'static,
{
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        use web_sys::wasm_bindgen::JsCast;
        if let Some(element) = node.get()
            && let Some(element) = element.dyn_ref::<web_sys::HtmlElement>()
        {
            let _ = element.focus();
        }
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = node;
}

#[component]
pub fn Field(
    state: FieldState,
    id: &'static str,
    label: &'static str,
    #[prop(default = "text")] kind: &'static str,
    #[prop(default = "off")] autocomplete: &'static str,
    #[prop(optional)] inputmode: Option<&'static str>,
    #[prop(optional, into)] hint: Option<String>,
    #[prop(optional)] maxlength: Option<usize>,
) -> impl IntoView {
    let error_id = format!("{id}-error");
    let hint_id = format!("{id}-hint");
    let has_hint = hint.is_some();
    let described_by = {
        let (error_id, hint_id) = (error_id.clone(), hint_id.clone());
        move || {
            let mut ids = Vec::new();
            if has_hint {
                ids.push(hint_id.clone());
            }
            if state.error().is_some() {
                ids.push(error_id.clone());
            }
            (!ids.is_empty()).then(|| ids.join(" "))
        }
    };
    view! {
        <div class="field" class:field-invalid=move || state.error().is_some()>
            <label for=id>{label}</label>
            {hint.map(|h| view! { <p class="field-hint" id=hint_id.clone()>{h}</p> })}
            <input
                id=id
                name=id
                type=kind
                autocomplete=autocomplete
                inputmode=inputmode
                maxlength=maxlength
                aria-invalid=move || state.error().is_some().then_some("true")
                aria-describedby=described_by
                prop:value=move || state.value.get()
                on:input=move |ev| {
                    state.value.set(event_target_value(&ev));
                    state.server_error.set(None);
                    state.shown.set(true);
                }
            />
            <p class="field-error" id=error_id aria-live="polite">
                {move || state.error()}
            </p>
        </div>
    }
}
