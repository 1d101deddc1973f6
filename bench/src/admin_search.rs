//! The administrators' users search, `GET /api/admin/users?q=…`, with an administrator's bearer
//! token, over the accounts `bench/run.sh` puts in the database.
//!
//! The searches are made from accounts picked at random through the endpoint itself: part of a
//! surname, an email address or its local part, the last digits of a phone number, a full name,
//! and now and then a surname part with a status filter. So they are what an administrator
//! types, and each one should find at least the account it was made from: the run counts the
//! answers whose page holds a row, so a search that answers quickly by finding nothing shows.

use std::io::BufRead as _;

use anyhow::{Context as _, ensure};
use rand::Rng;
use reqwest::Client;
use serde::Deserialize;
use serde_json::json;

use crate::{
    account::Account,
    args::AdminSearchArgs,
    http, report,
    signed_in::{self, Judge, Naming, Probe},
    smtp_sink::SmtpSink,
};

const NAMING: Naming = Naming {
    name: "admin-search",
    request_line: "GET /api/admin/users?q=… with a bearer token",
    unit: "requests/s",
    rate_field: "requests_per_sec",
};

/// Accounts picked to make searches from: this many pages of `PICK_PAGE` rows, each at a random
/// offset.
const PICK_PAGES: usize = 5;
const PICK_PAGE: usize = 40;

pub async fn run(args: AdminSearchArgs) -> anyhow::Result<()> {
    let password = read_password()?;
    let run = &args.run;
    let url = &run.url;
    let client = http::client(run.connections)?;
    http::check_ready(&client, url).await?;
    // Kept for the whole run, as for the profile and token runs: mail the server still has
    // queued is accepted instead of failing and being retried while the run measures.
    let sink = SmtpSink::start(run.smtp_port).await?;
    let administrator = Account {
        email: args.email.clone(),
        password,
    };
    let token = administrator
        .token(&client, url)
        .await
        .context("could not sign in as the administrator")?;

    let (accounts, picked) = pick_accounts(&client, url, &token).await?;
    let mut rng = rand::rng();
    let searches: Vec<Search> = picked
        .iter()
        .enumerate()
        .map(|(i, account)| Search::for_account(account, KINDS[i % KINDS.len()], &mut rng))
        .collect();
    let probes = searches
        .iter()
        .map(|search| search.probe(&client, url, &token))
        .collect::<anyhow::Result<Vec<Probe>>>()?;

    let tally = signed_in::measure(&client, &probes, Judge::Page, run).await?;
    drop(sink);

    let mut lines = vec![format!(
        "{} searches made from as many accounts picked at random among {accounts}, in turn:",
        searches.len()
    )];
    lines.extend(tally.lines(NAMING, run));
    let mut result = tally.json(NAMING, run);
    result["accounts"] = json!(accounts);
    result["searches"] = json!(searches.len());
    report::emit(&lines, &result);
    tally.ensure_answered(url)
}

/// One line from standard input, without its line ending: the password is never an argument.
fn read_password() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("could not read the administrator's password from standard input")?;
    let password = line.trim_end_matches(['\r', '\n']).to_string();
    ensure!(
        !password.is_empty(),
        "give the administrator's password on standard input"
    );
    Ok(password)
}

/// The part of a users page the searches are made from.
#[derive(Debug, Deserialize)]
struct UsersPage {
    items: Vec<Picked>,
    total: i64,
    /// `false` when the server stopped counting: `total` is a lower bound.
    total_exact: bool,
}

#[derive(Clone, Debug, Deserialize)]
struct Picked {
    first_name: String,
    last_name: String,
    email: String,
    phone_number: String,
    status: String,
}

/// How many accounts there are, and up to `PICK_PAGES × PICK_PAGE` of them at random offsets.
async fn pick_accounts(
    client: &Client,
    url: &str,
    token: &str,
) -> anyhow::Result<(i64, Vec<Picked>)> {
    let first = users_page(client, url, token, 1, 0).await?;
    let mut accounts = first.total;
    ensure!(accounts > 0, "there are no accounts to search for");
    if !first.total_exact {
        // The server counts only so far: find how deep the table goes.
        let shown = usize::try_from(accounts).unwrap_or(usize::MAX);
        let length = http::list_length(shown, |offset| async move {
            Ok(!users_page(client, url, token, 1, offset)
                .await?
                .items
                .is_empty())
        })
        .await?;
        accounts = i64::try_from(length).unwrap_or(i64::MAX);
    }
    let last_offset = usize::try_from(accounts)
        .unwrap_or(usize::MAX)
        .saturating_sub(PICK_PAGE);
    let mut picked: Vec<Picked> = Vec::new();
    for _ in 0..PICK_PAGES {
        let offset = rand::rng().random_range(0..=last_offset);
        let page = users_page(client, url, token, PICK_PAGE, offset).await?;
        for account in page.items {
            if !picked.iter().any(|p| p.email == account.email) {
                picked.push(account);
            }
        }
    }
    ensure!(
        !picked.is_empty(),
        "no accounts could be picked to search for"
    );
    Ok((accounts, picked))
}

async fn users_page(
    client: &Client,
    url: &str,
    token: &str,
    limit: usize,
    offset: usize,
) -> anyhow::Result<UsersPage> {
    let response = client
        .get(format!("{url}/api/admin/users"))
        .query(&[("limit", limit), ("offset", offset)])
        .bearer_auth(token)
        .send()
        .await
        .context("GET /api/admin/users failed")?;
    let status = response.status();
    if !status.is_success() {
        let body = response.text().await.unwrap_or_default();
        anyhow::bail!("GET /api/admin/users answered {status}: {body}");
    }
    response
        .json()
        .await
        .context("GET /api/admin/users did not answer with a page of users")
}

/// What an administrator looks an account up by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// The first 4 to 6 letters of the surname.
    SurnamePart,
    /// The whole address or its local part.
    Email,
    /// The last 4 to 6 digits of the phone number.
    PhoneDigits,
    /// First name and surname, two words.
    FullName,
    /// A surname part, with the account's status as a filter.
    SurnamePartWithStatus,
}

/// The rotation of kinds over the picked accounts.
const KINDS: [Kind; 5] = [
    Kind::SurnamePart,
    Kind::Email,
    Kind::PhoneDigits,
    Kind::FullName,
    Kind::SurnamePartWithStatus,
];

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Self::SurnamePart => "surname part",
            Self::Email => "email",
            Self::PhoneDigits => "phone digits",
            Self::FullName => "full name",
            Self::SurnamePartWithStatus => "surname part + status",
        }
    }
}

/// One search of the rotation: the `q` and `status` parameters.
#[derive(Debug, PartialEq, Eq)]
struct Search {
    kind: Kind,
    q: String,
    status: Option<String>,
}

impl Search {
    fn for_account(account: &Picked, kind: Kind, rng: &mut impl Rng) -> Self {
        let (q, status) = match kind {
            Kind::SurnamePart => (surname_part(&account.last_name, rng), None),
            Kind::Email => {
                let whole = rng.random_bool(0.5);
                let q = match account.email.split_once('@') {
                    Some((local, _)) if !whole => local,
                    _ => &account.email,
                };
                (q.to_string(), None)
            }
            Kind::PhoneDigits => (phone_digits(&account.phone_number, rng_len(rng)), None),
            Kind::FullName => (
                format!("{} {}", account.first_name, account.last_name),
                None,
            ),
            Kind::SurnamePartWithStatus => (
                surname_part(&account.last_name, rng),
                Some(account.status.clone()),
            ),
        };
        Self { kind, q, status }
    }

    fn probe(&self, client: &Client, url: &str, token: &str) -> anyhow::Result<Probe> {
        let mut query = vec![("q", self.q.as_str())];
        if let Some(status) = &self.status {
            query.push(("status", status));
        }
        let request = client
            .get(format!("{url}/api/admin/users"))
            .query(&query)
            .bearer_auth(token)
            .build()
            .context("could not build a search request")?;
        Ok(Probe {
            kind: self.kind.label(),
            request,
        })
    }
}

/// How much of a surname or a phone number a search types: 4 to 6 characters.
fn rng_len(rng: &mut impl Rng) -> usize {
    rng.random_range(4..=6)
}

/// The first 4 to 6 letters of a surname (all of a shorter one).
fn surname_part(last_name: &str, rng: &mut impl Rng) -> String {
    last_name.chars().take(rng_len(rng)).collect()
}

/// The last `wanted` digits of `phone`, or else the nearest shorter suffix (down to 4 digits),
/// or else the nearest longer one, that does not start with a 0: the search reads a leading 0
/// (or 00) as a trunk (or international) prefix and drops it, which is not what someone typing
/// the end of a number means.
fn phone_digits(phone: &str, wanted: usize) -> String {
    let digits: Vec<char> = phone.chars().filter(char::is_ascii_digit).collect();
    let suffix = |n: usize| -> Option<String> {
        let tail = digits.get(digits.len().checked_sub(n)?..)?;
        (tail.first() != Some(&'0')).then(|| tail.iter().collect())
    };
    let lengths = std::iter::once(wanted)
        .chain((4..wanted).rev())
        .chain(wanted + 1..=digits.len());
    lengths
        .filter_map(suffix)
        .next()
        .unwrap_or_else(|| digits.iter().collect())
}

#[cfg(test)]
mod tests {
    use rand::{SeedableRng as _, rngs::StdRng};

    use super::*;

    fn account() -> Picked {
        Picked {
            first_name: "Zoë".into(),
            last_name: "Richardson".into(),
            email: "user4207@example.com".into(),
            phone_number: "+442080004207".into(),
            status: "active".into(),
        }
    }

    #[test]
    fn every_kind_of_search_is_made_from_the_account() {
        let account = account();
        let mut rng = StdRng::seed_from_u64(7);
        for _ in 0..50 {
            for kind in KINDS {
                let search = Search::for_account(&account, kind, &mut rng);
                let q = search.q.as_str();
                match kind {
                    Kind::SurnamePart | Kind::SurnamePartWithStatus => {
                        assert!((4..=6).contains(&q.chars().count()), "{q}");
                        assert!(account.last_name.starts_with(q), "{q}");
                    }
                    Kind::Email => assert!(q == "user4207" || q == account.email, "{q}"),
                    // 4207, 04207 or 004207: the last two start with a 0.
                    Kind::PhoneDigits => assert_eq!(q, "4207"),
                    Kind::FullName => assert_eq!(q, "Zoë Richardson"),
                }
                let status = search.status.as_deref();
                if kind == Kind::SurnamePartWithStatus {
                    assert_eq!(status, Some("active"));
                } else {
                    assert_eq!(status, None);
                }
            }
        }
    }

    #[test]
    fn phone_digits_do_not_start_with_a_zero() {
        assert_eq!(phone_digits("+442080012345", 5), "12345");
        assert_eq!(phone_digits("+442080012345", 6), "12345");
        assert_eq!(phone_digits("+442080012345", 4), "2345");
        // Nothing from 4 to 6 digits: the first longer suffix that starts with another digit.
        assert_eq!(phone_digits("+442080000001", 4), "80000001");
        assert_eq!(phone_digits("+447400010203", 6), "10203");
        assert_eq!(phone_digits("+447400010203", 4), "10203");
        assert_eq!(phone_digits("123", 4), "123");
    }

    #[test]
    fn the_probe_sends_the_search_with_the_token() -> anyhow::Result<()> {
        let client = Client::new();
        let search = Search {
            kind: Kind::SurnamePartWithStatus,
            q: "Zoë R".into(),
            status: Some("pending".into()),
        };
        let probe = search.probe(&client, "http://127.0.0.1:1", "t0k")?;
        assert_eq!(probe.kind, "surname part + status");
        assert_eq!(
            probe.request.url().as_str(),
            "http://127.0.0.1:1/api/admin/users?q=Zo%C3%AB+R&status=pending"
        );
        let authorization = probe.request.headers().get("authorization");
        assert_eq!(
            authorization.and_then(|h| h.to_str().ok()),
            Some("Bearer t0k")
        );
        Ok(())
    }
}
