//! A time as a person reads it: relative and local ("today 07:43", "3 minutes ago"), with the
//! exact time on hover.

use leptos::prelude::*;

use crate::{browser, display};

/// `<time datetime=…>`. The server cannot know the reader's zone, so it renders what needs none
/// ("just now", "3 minutes ago", or else the exact UTC time); once hydrated, the browser
/// rewrites an exact UTC time as a relative local one ("today 07:43") and puts the exact local
/// time in the tooltip. A value
/// that is not a time is shown as it came.
#[component]
pub fn When(#[prop(into)] at: String) -> impl IntoView {
    let parsed = display::parse_rfc3339_ms(&at);
    let text = RwSignal::new(
        parsed
            .map(|ms| display::zone_free_time(ms, clock_ms()))
            .unwrap_or_else(|| at.clone()),
    );
    let title = RwSignal::new(parsed.map(|ms| display::exact_time(ms, 0)));
    // Once the page is hydrated (see `rules::Hydrated`).
    let hydrated = crate::rules::Hydrated::get();
    Effect::new(move |_| {
        if !hydrated.get() {
            return;
        }
        if let Some(ms) = parsed {
            let offset = browser::utc_offset_minutes(ms as f64);
            title.set(Some(display::exact_time(ms, offset)));
            // A recent time reads the same in every zone ("3 minutes ago"): the server's words
            // stay, so hydration reflows nothing, whatever minute the clock reached in between.
            // Only a time the server had to write in UTC is rewritten, as a local one.
            if text.get_untracked() == display::exact_time(ms, 0) {
                let now = browser::now_ms();
                text.set(display::relative_time(ms, now as i64, offset));
            }
        }
    });
    view! { <time datetime=at title=move || title.get()>{move || text.get()}</time> }
}

/// Now, in milliseconds since the epoch: the server's clock while it renders, the browser's
/// while it hydrates.
fn clock_ms() -> i64 {
    #[cfg(feature = "ssr")]
    {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_millis() as i64)
    }
    #[cfg(not(feature = "ssr"))]
    {
        browser::now_ms() as i64
    }
}

/// [`When`], or `otherwise` ("never", "not yet") when there is no time.
#[component]
pub fn WhenOr(at: Option<String>, otherwise: &'static str) -> impl IntoView {
    match at {
        Some(at) => leptos::either::Either::Left(view! { <When at /> }),
        None => leptos::either::Either::Right(otherwise),
    }
}
