//! Who is signed in, as the UI knows it: loaded on the server with the page (so the header
//! renders signed in or out with no flash) and refreshed after signing in or out.

use leptos::prelude::*;

use crate::{api::session::current_user, error::ApiError, model::Profile};

#[derive(Clone, Copy)]
pub struct CurrentUser(pub Resource<Result<Option<Profile>, ApiError>>);

impl CurrentUser {
    /// Blocking: the server waits for it before sending the page.
    pub fn provide() {
        provide_context(Self(Resource::new_blocking(
            || (),
            |()| crate::error::page_data(current_user()),
        )));
    }

    pub fn get() -> Self {
        expect_context::<Self>()
    }

    /// The signed-in person; `None` while loading, signed out, or on an error.
    pub fn profile(self) -> Option<Profile> {
        self.0.get().and_then(Result::ok).flatten()
    }

    /// `Some(true)` signed in, `Some(false)` signed out, `None` still loading.
    pub fn signed_in(self) -> Option<bool> {
        self.0.get().map(|result| matches!(result, Ok(Some(_))))
    }

    pub fn refresh(self) {
        self.0.refetch();
    }
}

/// Where to go after signing in: only paths on this site (`/…`, never `//host`).
pub fn safe_next(next: Option<String>) -> String {
    next.filter(|n| n.starts_with('/') && !n.starts_with("//") && !n.contains('\\'))
        .unwrap_or_else(|| "/account".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/account".into())), "/account");
        assert_eq!(safe_next(Some("//evil.example".into())), "/account");
        assert_eq!(safe_next(Some("https://evil.example".into())), "/account");
        assert_eq!(safe_next(Some("/\\evil.example".into())), "/account");
        assert_eq!(safe_next(None), "/account");
    }
}
