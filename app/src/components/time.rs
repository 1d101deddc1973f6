//! A time as a person reads it: relative and local ("today 07:43", "3 minutes ago"), with the
//! exact time on hover.

use leptos::prelude::*;

use crate::{browser, display};

/// `<time datetime=…>`. The server cannot know the reader's zone or clock, so it renders the
/// exact UTC time; once hydrated, the browser rewrites it as a relative local time and puts the
/// exact local time in the tooltip. A value that is not a time is shown as it came.
#[component]
pub fn When(#[prop(into)] at: String) -> impl IntoView {
    let parsed = display::parse_rfc3339_ms(&at);
    let utc = parsed.map(|ms| display::exact_time(ms, 0));
    let text = RwSignal::new(utc.clone().unwrap_or_else(|| at.clone()));
    let title = RwSignal::new(utc);
    // Once the page is hydrated (see `rules::Hydrated`).
    let hydrated = crate::rules::Hydrated::get();
    Effect::new(move |_| {
        if !hydrated.get() {
            return;
        }
        if let Some(ms) = parsed {
            let now = browser::now_ms();
            let offset = browser::utc_offset_minutes(ms as f64);
            text.set(display::relative_time(ms, now as i64, offset));
            title.set(Some(display::exact_time(ms, offset)));
        }
    });
    view! { <time datetime=at title=move || title.get()>{move || text.get()}</time> }
}
