//! The cart: which products and how many, kept in the browser's localStorage so it survives a
//! reload and a sign-in. Only ids and quantities are kept: names, prices and stock are fetched
//! fresh wherever the cart is shown, and the server prices the order.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::browser::{store, stored};

/// The localStorage key.
const KEY: &str = "cart";

/// The most of one product a line may ask for (the order endpoint's limit).
pub const MAX_QUANTITY: u32 = 1000;

/// The most lines an order may have (the order endpoint's limit).
pub const MAX_LINES: usize = 50;

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
        self.change(
            |lines| match lines.iter_mut().find(|l| l.product_id == product_id) {
                Some(line) => line.quantity = (line.quantity + quantity).min(MAX_QUANTITY),
                None => lines.push(CartLine {
                    product_id: product_id.to_string(),
                    quantity: quantity.clamp(1, MAX_QUANTITY),
                }),
            },
        );
    }

    pub fn set_quantity(self, product_id: &str, quantity: u32) {
        self.change(|lines| {
            if let Some(line) = lines.iter_mut().find(|l| l.product_id == product_id) {
                line.quantity = quantity.clamp(1, MAX_QUANTITY);
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
            .map(|text| parse(&text))
            .unwrap_or_else(|| self.lines.get_untracked());
        edit(&mut lines);
        write(&lines);
        self.lines.set(lines);
    }
}

fn read() -> Vec<CartLine> {
    stored(KEY).map(|text| parse(&text)).unwrap_or_default()
}

fn write(lines: &[CartLine]) {
    if lines.is_empty() {
        store(KEY, None);
    } else if let Ok(text) = serde_json::to_string(lines) {
        store(KEY, Some(&text));
    }
}

/// The stored lines, anything odd left out: the storage is the person's to edit.
fn parse(text: &str) -> Vec<CartLine> {
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
            quantity: line.quantity.min(MAX_QUANTITY),
            ..line
        });
    }
    kept.truncate(MAX_LINES);
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_lines_are_cleaned() {
        let text = r#"[{"product_id":"a","quantity":2},{"product_id":"a","quantity":5},
            {"product_id":"","quantity":1},{"product_id":"b","quantity":0},
            {"product_id":"c","quantity":5000}]"#;
        assert_eq!(
            parse(text),
            vec![
                CartLine {
                    product_id: "a".into(),
                    quantity: 2
                },
                CartLine {
                    product_id: "c".into(),
                    quantity: MAX_QUANTITY
                },
            ]
        );
        assert!(parse("not json").is_empty());
        assert!(parse(r#"{"product_id":"a"}"#).is_empty());
    }
}
