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

    /// A question about the person (signed in? an administrator?) for a signed-in page's
    /// `<Transition>` to branch on; call the answer inside the `<Transition>`, so that it waits
    /// for the person.
    ///
    /// In the browser the answer is a [`Memo`]: the page re-renders only when the answer
    /// changes, so a refreshed profile (after a save) does not reset its forms. On the server it
    /// is read afresh at each call. A memo there can keep a stale answer: it marks itself clean
    /// after computing, over a change the resource announced from another thread meanwhile
    /// (`reactive_graph`'s `update_if_necessary`). The page then went out empty while the
    /// browser, which gets the person with the page, tried to hydrate it filled in, and trapped.
    pub fn ask<A>(self, question: fn(Self) -> A) -> impl Fn() -> A + Copy + Send + Sync + 'static
    where
        A: Clone + PartialEq + Send + Sync + 'static,
    {
        #[cfg(feature = "ssr")]
        {
            move || question(self)
        }
        #[cfg(not(feature = "ssr"))]
        {
            let answer = Memo::new(move |_| question(self));
            move || answer.get()
        }
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
