//! The public catalogue search, `GET /api/products?keyword=…` (no sign-in), over the products
//! `bench/run.sh` puts in the database.
//!
//! As for the administrators' search, the keywords are made from products picked at random
//! through the endpoint itself: the last word of a name (`kettle`, about one product in a
//! hundred, more for a word that is part of others, such as `lamp` of `Desk Lamp` and
//! `Lampshade`), its first four letters (what a search box sends while someone types), and two
//! words of a name (`indigo kettle`, a few dozen products). So each search finds at least the
//! product it was made from, and the run counts the answers whose page holds a row.

use anyhow::{Context as _, ensure};
use rand::{Rng, seq::IndexedRandom as _};
use reqwest::Client;
use serde::Deserialize;
use serde_json::json;

use crate::{
    args::SignedInArgs,
    http, report,
    signed_in::{self, Judge, Naming, Probe},
    smtp_sink::SmtpSink,
};

const NAMING: Naming = Naming {
    name: "products-search",
    request_line: "GET /api/products?keyword=…",
    unit: "requests/s",
    rate_field: "requests_per_sec",
};

/// Products picked to make searches from: this many pages of `PICK_PAGE`, each at a random
/// offset.
const PICK_PAGES: usize = 5;
const PICK_PAGE: usize = 40;

pub async fn run(args: SignedInArgs) -> anyhow::Result<()> {
    let url = &args.url;
    let client = http::client(args.connections)?;
    http::check_ready(&client, url).await?;
    // Mail the server still has queued from earlier runs is accepted instead of being retried
    // while the run measures.
    let sink = SmtpSink::start(args.smtp_port).await?;

    let (products, searches) = searches(&client, url).await?;
    let probes = searches
        .iter()
        .map(|search| search.probe(&client, url))
        .collect::<anyhow::Result<Vec<Probe>>>()?;

    let tally = signed_in::measure(&client, &probes, Judge::Page, &args).await?;
    drop(sink);

    let mut lines = vec![format!(
        "{} keywords made from as many products picked at random among {products}, in turn:",
        searches.len()
    )];
    lines.extend(tally.lines(NAMING, &args));
    let mut result = tally.json(NAMING, &args);
    result["products"] = json!(products);
    result["searches"] = json!(searches.len());
    report::emit(&lines, &result);
    tally.ensure_answered(url)
}

/// How many products there are, and the searches of the rotation, made from products picked
/// at random.
pub async fn searches(client: &Client, url: &str) -> anyhow::Result<(i64, Vec<Search>)> {
    let (products, picked) = pick_products(client, url).await?;
    let mut rng = rand::rng();
    let searches: Vec<Search> = picked
        .iter()
        .enumerate()
        .filter_map(|(i, product)| Search::for_product(product, KINDS[i % KINDS.len()], &mut rng))
        .collect();
    ensure!(
        !searches.is_empty(),
        "no keywords could be made from the products picked"
    );
    Ok((products, searches))
}

/// The part of a catalogue page the searches are made from.
#[derive(Debug, Deserialize)]
struct ProductsPage {
    items: Vec<Picked>,
    total: i64,
    /// `false` when the server stopped counting: `total` is a lower bound.
    total_exact: bool,
}

#[derive(Clone, Debug, Deserialize)]
struct Picked {
    name: String,
}

/// How many products there are, and up to `PICK_PAGES × PICK_PAGE` of them at random offsets.
async fn pick_products(client: &Client, url: &str) -> anyhow::Result<(i64, Vec<Picked>)> {
    let first = products_page(client, url, 1, 0).await?;
    let mut products = first.total;
    ensure!(products > 0, "there are no products to search for");
    if !first.total_exact {
        // The count stops early: find how deep the catalogue goes.
        let shown = usize::try_from(products).unwrap_or(usize::MAX);
        let length = http::list_length(shown, |offset| async move {
            Ok(!products_page(client, url, 1, offset)
                .await?
                .items
                .is_empty())
        })
        .await?;
        products = i64::try_from(length).unwrap_or(i64::MAX);
    }
    let last_offset = usize::try_from(products)
        .unwrap_or(usize::MAX)
        .saturating_sub(PICK_PAGE);
    let mut picked: Vec<Picked> = Vec::new();
    for _ in 0..PICK_PAGES {
        let offset = rand::rng().random_range(0..=last_offset);
        let page = products_page(client, url, PICK_PAGE, offset).await?;
        for product in page.items {
            if !picked.iter().any(|p| p.name == product.name) {
                picked.push(product);
            }
        }
    }
    Ok((products, picked))
}

async fn products_page(
    client: &Client,
    url: &str,
    limit: usize,
    offset: usize,
) -> anyhow::Result<ProductsPage> {
    let response = client
        .get(format!("{url}/api/products"))
        .query(&[("limit", limit), ("offset", offset)])
        .send()
        .await
        .context("GET /api/products failed")?;
    let status = response.status();
    if !status.is_success() {
        let body = response.text().await.unwrap_or_default();
        anyhow::bail!("GET /api/products answered {status}: {body}");
    }
    response
        .json()
        .await
        .context("GET /api/products did not answer with a page of products")
}

/// What a shopper types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// The last word of the name: what the product is (`kettle`).
    LastWord,
    /// The first four letters of that word, as a search box sends while someone types.
    WordStart,
    /// Two words of the name, in the name's order (`indigo kettle`).
    TwoWords,
}

const KINDS: [Kind; 3] = [Kind::LastWord, Kind::WordStart, Kind::TwoWords];

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Self::LastWord => "last word of a name",
            Self::WordStart => "first 4 letters of it",
            Self::TwoWords => "two words of a name",
        }
    }
}

/// One search of the rotation.
#[derive(Debug, PartialEq, Eq)]
pub struct Search {
    kind: Kind,
    pub keyword: String,
}

impl Search {
    /// `None` for a name without words to search by.
    fn for_product(product: &Picked, kind: Kind, rng: &mut impl Rng) -> Option<Self> {
        let words: Vec<String> = product
            .name
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| w.chars().count() >= 3)
            .map(str::to_lowercase)
            .collect();
        let last = words.last()?;
        let keyword = match kind {
            Kind::LastWord => last.clone(),
            Kind::WordStart => last.chars().take(4).collect(),
            Kind::TwoWords => {
                let first = words[..words.len() - 1].choose(rng)?;
                format!("{first} {last}")
            }
        };
        Some(Self { kind, keyword })
    }

    fn probe(&self, client: &Client, url: &str) -> anyhow::Result<Probe> {
        let request = client
            .get(format!("{url}/api/products"))
            .query(&[("keyword", self.keyword.as_str())])
            .build()
            .context("could not build a search request")?;
        Ok(Probe {
            kind: self.kind.label(),
            request,
        })
    }
}

#[cfg(test)]
mod tests {
    use rand::{SeedableRng as _, rngs::StdRng};

    use super::*;

    fn product(name: &str) -> Picked {
        Picked { name: name.into() }
    }

    #[test]
    fn keywords_are_made_from_the_name() {
        let mut rng = StdRng::seed_from_u64(7);
        let lamp = product("Rustic Indigo Desk Lamp");
        let search = |kind, rng: &mut StdRng| Search::for_product(&lamp, kind, rng);
        assert_eq!(
            search(Kind::LastWord, &mut rng).map(|s| s.keyword),
            Some("lamp".into())
        );
        assert_eq!(
            search(Kind::WordStart, &mut rng).map(|s| s.keyword),
            Some("lamp".into())
        );
        for _ in 0..20 {
            let two = search(Kind::TwoWords, &mut rng).expect("two words");
            let (first, last) = two.keyword.split_once(' ').expect("a space");
            assert!(["rustic", "indigo", "desk"].contains(&first), "{first}");
            assert_eq!(last, "lamp");
        }
        let kettle = product("Classic Sage Kettle");
        let start = Search::for_product(&kettle, Kind::WordStart, &mut rng);
        assert_eq!(start.map(|s| s.keyword), Some("kett".into()));
        // Punctuation splits words; words under three letters are not searched by.
        let yoyo = product("Bold Red Yo-yo");
        let last = Search::for_product(&yoyo, Kind::LastWord, &mut rng);
        assert_eq!(last.map(|s| s.keyword), Some("red".into()));
        let lone = product("Mug");
        assert!(Search::for_product(&lone, Kind::TwoWords, &mut rng).is_none());
        assert!(Search::for_product(&product("A b"), Kind::LastWord, &mut rng).is_none());
    }

    #[test]
    fn the_probe_sends_the_keyword() -> anyhow::Result<()> {
        let client = Client::new();
        let search = Search {
            kind: Kind::TwoWords,
            keyword: "indigo kettle".into(),
        };
        let probe = search.probe(&client, "http://127.0.0.1:1")?;
        assert_eq!(probe.kind, "two words of a name");
        assert_eq!(
            probe.request.url().as_str(),
            "http://127.0.0.1:1/api/products?keyword=indigo+kettle"
        );
        assert!(probe.request.headers().get("authorization").is_none());
        Ok(())
    }
}
