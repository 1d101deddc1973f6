//! The cart: which products and how many, kept in the browser's localStorage so it survives a
//! reload and a sign-in. Only ids and quantities are kept: names, prices and stock are fetched
//! fresh wherever the cart is shown, and the server prices the order.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{
    browser::{store, stored},
    rules::Rules,
};

/// The localStorage key.
const KEY: &str = "cart";

/// The order endpoint's limits, as the server says them (`GET /api/settings`): the most of one
/// product a line may ask for, and the most lines an order may have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub max_quantity: u32,
    pub max_lines: usize,
}

impl Limits {
    pub fn get() -> Self {
        let rules = Rules::get();
        Self {
            max_quantity: rules.order_max_quantity,
            max_lines: rules.order_max_lines,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartLine {
    pub product_id: String,
    pub quantity: u32,
}

/// The cart as the page knows it. `Copy`: both parts are signals.
#[derive(Clone, Copy)]
pub struct Cart {
    lines: RwSignal<Vec<CartLine>>,
    /// Read from storage: stays `false` on the server and until hydration, so both render the
    /// same (an unknown cart) and the stored one appears after.
    loaded: RwSignal<bool>,
}

impl Cart {
    pub fn provide() {
        let cart = Self {
            lines: RwSignal::new(Vec::new()),
            loaded: RwSignal::new(false),
        };
        provide_context(cart);
        // In the browser, once the page is hydrated (see `rules::Hydrated`).
        let hydrated = crate::rules::Hydrated::get();
        Effect::new(move |_| {
            if hydrated.get() {
                cart.lines.set(read());
                cart.loaded.set(true);
            }
        });
    }

    pub fn get() -> Self {
        expect_context::<Self>()
    }

    pub fn loaded(self) -> bool {
        self.loaded.get()
    }

    pub fn lines(self) -> Vec<CartLine> {
        self.lines.get()
    }

    /// How many items, counting quantities.
    pub fn count(self) -> u32 {
        self.lines
            .with(|lines| lines.iter().map(|l| l.quantity).sum())
    }

    /// The quantity of one product (0 when it is not in the cart).
    pub fn quantity(self, product_id: &str) -> u32 {
        self.lines.with(|lines| {
            lines
                .iter()
                .find(|l| l.product_id == product_id)
                .map_or(0, |l| l.quantity)
        })
    }

    /// Adds `quantity` to the product's line (a new line at the end if there is none).
    pub fn add(self, product_id: &str, quantity: u32) {
        let max = Limits::get().max_quantity;
        self.change(
            |lines| match lines.iter_mut().find(|l| l.product_id == product_id) {
                Some(line) => line.quantity = (line.quantity + quantity).min(max),
                None => lines.push(CartLine {
                    product_id: product_id.to_string(),
                    quantity: quantity.clamp(1, max),
                }),
            },
        );
    }

    pub fn set_quantity(self, product_id: &str, quantity: u32) {
        let max = Limits::get().max_quantity;
        self.change(|lines| {
            if let Some(line) = lines.iter_mut().find(|l| l.product_id == product_id) {
                line.quantity = quantity.clamp(1, max);
            }
        });
    }

    pub fn remove(self, product_id: &str) {
        self.change(|lines| lines.retain(|l| l.product_id != product_id));
    }

    pub fn clear(self) {
        self.change(Vec::clear);
    }

    /// Changes the lines from what is stored now (another tab may have changed them; memory
    /// when nothing is), then stores them.
    fn change(self, edit: impl FnOnce(&mut Vec<CartLine>)) {
        let mut lines = stored(KEY)
            .map(|text| parse(&text, Limits::get()))
            .unwrap_or_else(|| self.lines.get_untracked());
        edit(&mut lines);
        write(&lines);
        self.lines.set(lines);
    }
}

fn read() -> Vec<CartLine> {
    stored(KEY)
        .map(|text| parse(&text, Limits::get()))
        .unwrap_or_default()
}

fn write(lines: &[CartLine]) {
    if lines.is_empty() {
        store(KEY, None);
    } else if let Ok(text) = serde_json::to_string(lines) {
        store(KEY, Some(&text));
    }
}

/// The stored lines, anything odd left out (the storage is the person's to edit), within the
/// order endpoint's limits.
fn parse(text: &str, limits: Limits) -> Vec<CartLine> {
    let lines: Vec<CartLine> = serde_json::from_str(text).unwrap_or_default();
    let mut kept: Vec<CartLine> = Vec::new();
    for line in lines {
        if line.product_id.is_empty()
            || line.quantity == 0
            || kept.iter().any(|k| k.product_id == line.product_id)
        {
            continue;
        }
        kept.push(CartLine {
            quantity: line.quantity.min(limits.max_quantity),
            ..line
        });
    }
    kept.truncate(limits.max_lines);
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        max_quantity: 1000,
        max_lines: 3,
    };

    fn line(product_id: &str, quantity: u32) -> CartLine {
        CartLine {
            product_id: product_id.into(),
            quantity,
        }
    }

    #[test]
    fn stored_lines_are_cleaned() {
        let text = r#"[{"product_id":"a","quantity":2},{"product_id":"a","quantity":5},
            {"product_id":"","quantity":1},{"product_id":"b","quantity":0},
            {"product_id":"c","quantity":5000}]"#;
        assert_eq!(parse(text, LIMITS), vec![line("a", 2), line("c", 1000)]);
        assert!(parse("not json", LIMITS).is_empty());
        assert!(parse(r#"{"product_id":"a"}"#, LIMITS).is_empty());
    }

    #[test]
    fn stored_lines_keep_to_the_servers_limits() {
        let text = r#"[{"product_id":"a","quantity":7},{"product_id":"b","quantity":1},
            {"product_id":"c","quantity":1},{"product_id":"d","quantity":1}]"#;
        let limits = Limits {
            max_quantity: 5,
            max_lines: 3,
        };
        assert_eq!(
            parse(text, limits),
            vec![line("a", 5), line("b", 1), line("c", 1)]
        );
    }
}
