//! What a person reads instead of raw wire values: times relative to now in their own time zone
//! ("today 07:43", "3 minutes ago"), and a short device name for a user agent ("Chrome on
//! Linux"), in the page's language (the `time` texts). Pure functions, the same in both builds;
//! the browser supplies the clock and the time zone (see [`crate::browser`]).

use crate::{
    language::{self, Key, k},
    t,
};

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MINUTE_MS;
const DAY_MS: i64 = 24 * HOUR_MS;
const MONTHS: [Key; 12] = [
    k::time::month_jan,
    k::time::month_feb,
    k::time::month_mar,
    k::time::month_apr,
    k::time::month_may,
    k::time::month_jun,
    k::time::month_jul,
    k::time::month_aug,
    k::time::month_sep,
    k::time::month_oct,
    k::time::month_nov,
    k::time::month_dec,
];

/// Milliseconds since the epoch of an RFC 3339 time as the server writes it
/// (`2026-11-30T06:43:57.017Z`, or with `+hh:mm`); `None` for anything else.
pub fn parse_rfc3339_ms(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    if bytes.len() < 20 || bytes[4] != b'-' || bytes[7] != b'-' || bytes[10] != b'T' {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        part.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    let mut rest = &text[19..];
    let mut millis = 0;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let first_three = format!("{:0<3}", &fraction[..digits.min(3)]);
        millis = first_three.parse::<i64>().ok()?;
        rest = &fraction[digits..];
    }
    let offset_minutes = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            if rest.len() != 6 || rest.as_bytes()[3] != b':' {
                return None;
            }
            let hours: i64 = rest[1..3].parse().ok()?;
            let minutes: i64 = rest[4..6].parse().ok()?;
            sign * (hours * 60 + minutes)
        }
    };
    let days = days_from_civil(year, month, day);
    Some(
        days * DAY_MS + hour * HOUR_MS + minute * MINUTE_MS + second * 1000 + millis
            - offset_minutes * MINUTE_MS,
    )
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date of a day number from [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, usize, i64) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month as usize, day)
}

/// A time as the wall clock of a zone `offset_minutes` east of UTC shows it.
struct Local {
    day_number: i64,
    year: i64,
    month: usize,
    day: i64,
    hour: i64,
    minute: i64,
}

impl Local {
    fn of(ms: i64, offset_minutes: i64) -> Self {
        let local = ms + offset_minutes * MINUTE_MS;
        let day_number = local.div_euclid(DAY_MS);
        let (year, month, day) = civil_from_days(day_number);
        let in_day = local.rem_euclid(DAY_MS);
        Self {
            day_number,
            year,
            month,
            day,
            hour: in_day / HOUR_MS,
            minute: in_day % HOUR_MS / MINUTE_MS,
        }
    }

    /// "28 Nov 2026"; the order and the month's name are the language's ("28. Nov. 2026").
    fn date(&self) -> String {
        let month = language::text(MONTHS[self.month - 1]);
        t!(time.date, day = self.day, month = month, year = self.year)
    }

    fn clock(&self) -> String {
        format!("{:02}:{:02}", self.hour, self.minute)
    }
}

/// `then` as a person reads it at `now`, in a zone `offset_minutes` east of UTC: "just now",
/// "3 minutes ago", "today 07:43", "yesterday 21:05", "28 Nov 2026, 09:15". A time ahead of
/// the clock (a skewed device) reads as "just now" within a minute, and as a date beyond.
pub fn relative_time(then_ms: i64, now_ms: i64, offset_minutes: i64) -> String {
    let ago = now_ms - then_ms;
    if (-MINUTE_MS..MINUTE_MS).contains(&ago) {
        return t!(time.just_now).into();
    }
    if (MINUTE_MS..HOUR_MS).contains(&ago) {
        return language::plural(k::time::minutes_ago, (ago / MINUTE_MS) as u64);
    }
    let (then, now) = (
        Local::of(then_ms, offset_minutes),
        Local::of(now_ms, offset_minutes),
    );
    match now.day_number - then.day_number {
        0 => t!(time.today, time = then.clock()),
        1 => t!(time.yesterday, time = then.clock()),
        _ => t!(time.date_time, date = then.date(), time = then.clock()),
    }
}

/// A time as it reads before the browser knows the reader's zone (on the server, and until the
/// page is hydrated): "just now" or "3 minutes ago" when it is that recent, which no zone
/// changes, so the text stays when the browser takes over and nothing on the page moves;
/// otherwise the exact time in UTC.
pub fn zone_free_time(then_ms: i64, now_ms: i64) -> String {
    if (-MINUTE_MS..HOUR_MS).contains(&(now_ms - then_ms)) {
        relative_time(then_ms, now_ms, 0)
    } else {
        exact_time(then_ms, 0)
    }
}

/// The exact time, for a tooltip: "30 Nov 2026, 07:43:57" in the zone, with its offset.
pub fn exact_time(ms: i64, offset_minutes: i64) -> String {
    let local = Local::of(ms, offset_minutes);
    let seconds = (ms + offset_minutes * MINUTE_MS).rem_euclid(MINUTE_MS) / 1000;
    let sign = if offset_minutes < 0 { '-' } else { '+' };
    let offset = offset_minutes.abs();
    let zone = if offset_minutes == 0 {
        "UTC".to_string()
    } else {
        format!("UTC{sign}{:02}:{:02}", offset / 60, offset % 60)
    };
    let clock = format!("{}:{seconds:02}", local.clock());
    t!(time.exact, date = local.date(), time = clock, zone = zone)
}

/// "Chrome on Linux", "Safari on iPhone", "Firefox on Windows"; a program's agent by its name
/// ("curl"); "Unknown device" when there is nothing to go on.
pub fn device_name(user_agent: Option<&str>) -> String {
    let Some(agent) = user_agent.map(str::trim).filter(|a| !a.is_empty()) else {
        return t!(time.device_unknown).into();
    };
    let has = |needle: &str| agent.contains(needle);
    let browser = if has("Edg/") || has("Edge/") {
        Some("Edge")
    } else if has("OPR/") || has("Opera") {
        Some("Opera")
    } else if has("SamsungBrowser/") {
        Some("Samsung Internet")
    } else if has("Firefox/") || has("FxiOS/") {
        Some("Firefox")
    } else if has("Chrome/") || has("CriOS/") || has("Chromium/") {
        Some("Chrome")
    } else if has("Safari/") && has("Version/") {
        Some("Safari")
    } else {
        None
    };
    let system = if has("iPhone") {
        Some("iPhone")
    } else if has("iPad") {
        Some("iPad")
    } else if has("Android") {
        Some("Android")
    } else if has("Windows") {
        Some("Windows")
    } else if has("Mac OS X") || has("Macintosh") {
        Some("macOS")
    } else if has("CrOS") {
        Some("ChromeOS")
    } else if has("Linux") {
        Some("Linux")
    } else {
        None
    };
    match (browser, system) {
        (Some(browser), Some(system)) => t!(time.device, browser = browser, system = system),
        (Some(browser), None) => browser.to_string(),
        (None, Some(system)) => t!(time.device_on_system, system = system),
        // A program: the product token before the first `/` ("curl/8.5.0" reads "curl").
        (None, None) => {
            let product: String = agent
                .split(['/', ' '])
                .next()
                .unwrap_or_default()
                .chars()
                .take(40)
                .collect();
            if product.is_empty() {
                t!(time.device_unknown).into()
            } else {
                product
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::language::Locale;

    const NOW: &str = "2026-11-30T06:43:57.017Z";

    fn ms(text: &str) -> i64 {
        parse_rfc3339_ms(text).expect("parses")
    }

    #[test]
    fn parses_the_servers_times_and_refuses_the_rest() {
        assert_eq!(ms("1970-01-01T00:00:00Z"), 0);
        assert_eq!(ms("1970-01-01T00:00:01.5Z"), 1500);
        assert_eq!(ms(NOW), 1_796_021_037_017);
        assert_eq!(ms("2026-11-30T07:43:57.017+01:00"), ms(NOW));
        assert_eq!(ms("2026-11-29T22:43:57.017-08:00"), ms(NOW));
        assert_eq!(
            ms("2024-02-29T12:00:00Z") - ms("2024-02-28T12:00:00Z"),
            DAY_MS
        );
        for bad in [
            "",
            "yesterday",
            "2026-11-30 06:43:57Z",
            "2026-13-30T06:43:57Z",
            "2026-11-30T06:43:57",
            "2026-11-30T06:43:57.Z",
            "2026-11-30T06:43:57+0100",
            "2026-11-30T24:00:00Z",
            "２026-11-30T06:43:57Z",
        ] {
            assert_eq!(parse_rfc3339_ms(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_calendar_round_trips() {
        for days in [-800_000, -1, 0, 1, 59, 365, 11_016, 20_422, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m as i64, d), days);
        }
    }

    #[test]
    fn before_the_zone_is_known_recent_times_are_relative_and_the_rest_exact_in_utc() {
        let now = ms(NOW);
        assert_eq!(zone_free_time(now - 5_000, now), "just now");
        assert_eq!(zone_free_time(now + 5_000, now), "just now");
        assert_eq!(zone_free_time(now - 59 * MINUTE_MS, now), "59 minutes ago");
        assert_eq!(
            zone_free_time(now - HOUR_MS, now),
            "30 Nov 2026, 05:43:57 UTC"
        );
        assert_eq!(
            zone_free_time(now + 2 * MINUTE_MS, now),
            "30 Nov 2026, 06:45:57 UTC"
        );
    }

    #[test]
    fn times_read_relative_to_now_in_the_persons_zone() {
        let now = ms(NOW);
        let london = 0;
        let paris = 60;
        assert_eq!(relative_time(now - 5_000, now, london), "just now");
        assert_eq!(relative_time(now + 5_000, now, london), "just now");
        assert_eq!(relative_time(now - MINUTE_MS, now, london), "1 minute ago");
        assert_eq!(
            relative_time(now - 3 * MINUTE_MS, now, london),
            "3 minutes ago"
        );
        assert_eq!(
            relative_time(now - 59 * MINUTE_MS, now, london),
            "59 minutes ago"
        );
        assert_eq!(
            relative_time(ms("2026-11-30T01:05:00Z"), now, london),
            "today 01:05"
        );
        assert_eq!(
            relative_time(ms("2026-11-30T01:05:00Z"), now, paris),
            "today 02:05"
        );
        assert_eq!(
            relative_time(ms("2026-11-29T23:30:00Z"), now, london),
            "yesterday 23:30"
        );
        // 23:30 UTC is already the 30th in Paris.
        assert_eq!(
            relative_time(ms("2026-11-29T23:30:00Z"), now, paris),
            "today 00:30"
        );
        assert_eq!(
            relative_time(ms("2026-11-28T09:15:00Z"), now, london),
            "28 Nov 2026, 09:15"
        );
        assert_eq!(
            relative_time(ms("2025-01-02T03:04:00Z"), now, -300),
            "1 Jan 2025, 22:04"
        );
        assert_eq!(
            relative_time(now + 3 * DAY_MS, now, london),
            "3 Dec 2026, 06:43"
        );
    }

    #[test]
    fn the_exact_time_names_its_zone() {
        assert_eq!(exact_time(ms(NOW), 0), "30 Nov 2026, 06:43:57 UTC");
        assert_eq!(exact_time(ms(NOW), 60), "30 Nov 2026, 07:43:57 UTC+01:00");
        assert_eq!(exact_time(ms(NOW), -330), "30 Nov 2026, 01:13:57 UTC-05:30");
    }

    #[test]
    fn devices_have_short_names() {
        let cases = [
            (
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
                "Chrome on Linux",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
                "Edge on Windows",
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
                "Safari on macOS",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
                "Safari on iPhone",
            ),
            (
                "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
                "Firefox on Linux",
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
                "Chrome on Android",
            ),
            ("curl/8.5.0", "curl"),
            ("python-requests/2.32.3", "python-requests"),
            ("", "Unknown device"),
            ("   ", "Unknown device"),
        ];
        for (agent, name) in cases {
            assert_eq!(device_name(Some(agent)), name, "{agent}");
        }
        assert_eq!(device_name(None), "Unknown device");
    }

    /// `render`'s texts in `locale`, as on a page in that language (its `Locale` context).
    fn in_language<T>(locale: Locale, render: impl FnOnce() -> T) -> T {
        use leptos::prelude::{Owner, provide_context};
        Owner::new().with(|| {
            provide_context(locale);
            render()
        })
    }

    #[test]
    fn times_and_devices_read_in_the_pages_language() {
        let now = ms(NOW);
        let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
        let render = || {
            [
                relative_time(now - 5_000, now, 0),
                relative_time(now - MINUTE_MS, now, 0),
                relative_time(now - 3 * MINUTE_MS, now, 0),
                relative_time(ms("2026-11-30T01:05:00Z"), now, 0),
                relative_time(ms("2026-11-29T21:05:00Z"), now, 0),
                relative_time(ms("2026-11-28T09:15:00Z"), now, 0),
                relative_time(ms("2026-05-01T12:00:00Z"), now, 0),
                relative_time(ms("2026-03-03T12:00:00Z"), now, 0),
                exact_time(now, 60),
                device_name(Some(chrome)),
                device_name(Some("Mozilla/5.0 (Windows NT 10.0; Win64; x64)")),
                device_name(None),
            ]
        };
        assert_eq!(
            in_language(Locale::Fr, render),
            [
                "à l’instant",
                "il y a 1 minute",
                "il y a 3 minutes",
                "aujourd’hui 01:05",
                "hier 21:05",
                "28 nov. 2026, 09:15",
                "1 mai 2026, 12:00",
                "3 mars 2026, 12:00",
                "30 nov. 2026, 07:43:57 UTC+01:00",
                "Chrome sur Linux",
                "Un navigateur sur Windows",
                "Appareil inconnu",
            ]
        );
        assert_eq!(
            in_language(Locale::De, render),
            [
                "gerade eben",
                "vor 1 Minute",
                "vor 3 Minuten",
                "heute 01:05",
                "gestern 21:05",
                "28. Nov. 2026, 09:15",
                "1. Mai 2026, 12:00",
                "3. März 2026, 12:00",
                "30. Nov. 2026, 07:43:57 UTC+01:00",
                "Chrome auf Linux",
                "Ein Browser auf Windows",
                "Unbekanntes Gerät",
            ]
        );
        // Outside a page (as in the tests above), English.
        assert_eq!(render()[5], "28 Nov 2026, 09:15");
    }
}
