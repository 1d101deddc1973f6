//! `/cart`: the lines of the cart with their amounts and the total, from prices fetched fresh;
//! checking out places the order. A refusal for stock lands on the lines that caused it.

use std::collections::HashMap;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_navigate;

use crate::{
    api::{catalog::get_product, orders::PlaceOrder},
    browser::load_page,
    cart::{Cart, Limits},
    components::table::{Column, Empty, EmptyList, ListTable},
    domain::Money,
    error::{ApiError, ErrorCode},
    language::{k, plural},
    model::{OrderLineInput, Product},
    session::CurrentUser,
    t,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Loading,
    Empty,
    Lines,
}

#[component]
pub fn CartPage() -> impl IntoView {
    let cart = Cart::get();
    // Only a change between these re-renders the page: editing a quantity must not.
    let state = Memo::new(move |_| {
        if !cart.loaded() {
            State::Loading
        } else if cart.count() == 0 {
            State::Empty
        } else {
            State::Lines
        }
    });
    view! {
        <Title text=t!(shop.cart_title) />
        <section class="cart">
            <h1>{t!(shop.cart_title)}</h1>
            {move || match state.get() {
                State::Loading => view! { <p>{t!(shop.cart_loading)}</p> }.into_any(),
                State::Empty => {
                    view! { <EmptyList empty=Empty::see_products(t!(shop.cart_empty)) /> }.into_any()
                }
                State::Lines => view! { <CartLines /> }.into_any(),
            }}
        </section>
    }
}

/// What the page knows of a line's product.
#[derive(Clone, Debug, PartialEq)]
enum Known {
    Loading,
    Found(Product),
    /// Not in the catalogue any more.
    Gone,
}

#[component]
fn CartLines() -> impl IntoView {
    let cart = Cart::get();
    let user = CurrentUser::get();
    let navigate = use_navigate();
    let ids = Memo::new(move |_| {
        let mut ids: Vec<String> = cart.lines().into_iter().map(|l| l.product_id).collect();
        ids.sort();
        ids
    });
    // Fresh from the catalogue every time the page shows, never from the cart's own copy.
    let products = LocalResource::new(move || {
        let ids = ids.get();
        async move {
            let mut found = HashMap::new();
            for id in ids {
                match get_product(id.clone()).await {
                    Ok(product) => {
                        found.insert(id, Ok(product));
                    }
                    Err(e) => {
                        found.insert(id, Err(e));
                    }
                }
            }
            found
        }
    });
    let known = move |id: &str| -> Known {
        products.with(|map| match map.as_ref().and_then(|m| m.get(id)) {
            None => Known::Loading,
            Some(Ok(product)) => Known::Found(product.clone()),
            Some(Err(e)) if matches!(e.error, ErrorCode::NotFound | ErrorCode::Invalid) => {
                Known::Gone
            }
            Some(Err(_)) => Known::Loading,
        })
    };
    // What the server said at checkout: how many are left of each short line, and the lines
    // whose product is gone.
    let shortages = RwSignal::new(HashMap::<String, i32>::new());
    let gone = RwSignal::new(Vec::<String>::new());
    let error = RwSignal::new(None::<String>);
    let place = ServerAction::<PlaceOrder>::new();
    let sent = StoredValue::new(Vec::<String>::new());

    Effect::new(move |_| match place.value().get() {
        Some(Ok(order)) => {
            cart.clear();
            navigate(
                &format!("/orders/{}?placed=1", order.id),
                Default::default(),
            );
        }
        Some(Err(e)) => refused(e, sent.get_value(), shortages, gone, error),
        None => {}
    });

    let checkout = move |_| {
        error.set(None);
        if user.0.with_untracked(|u| matches!(u, Some(Ok(None)))) {
            load_page("/login?next=/cart");
            return;
        }
        let lines = cart.lines();
        sent.set_value(lines.iter().map(|l| l.product_id.clone()).collect());
        shortages.set(HashMap::new());
        gone.set(Vec::new());
        place.dispatch(PlaceOrder {
            items: lines
                .into_iter()
                .map(|l| OrderLineInput {
                    product_id: l.product_id,
                    quantity: Some(l.quantity.into()),
                })
                .collect(),
        });
    };

    let total = move || {
        cart.lines()
            .iter()
            .filter_map(|line| match known(&line.product_id) {
                Known::Found(p) => p.price.times(i64::from(line.quantity)),
                _ => None,
            })
            .try_fold(Money::ZERO, Money::checked_add)
            .map(|m| m.display(crate::rules::Rules::get().currency))
            .unwrap_or_default()
    };
    let hydrated = crate::rules::Hydrated::get();
    let columns = vec![
        Column::text(t!(shop.product)),
        Column::text(t!(shop.price)),
        Column::text(t!(shop.quantity)),
        Column::amount(t!(shop.amount)),
        Column::hidden(t!(shop.remove)),
    ];
    let foot = view! {
        <tr>
            <th scope="row" colspan="3">{t!(shop.total)}</th>
            <td class="amount" data-testid="cart-total">{total}</td>
            <td></td>
        </tr>
    }
    .into_any();
    view! {
        <ListTable caption=t!(shop.cart_caption) columns class="table cart-table" foot>
            <For
                each=move || cart.lines()
                key=|line| line.product_id.clone()
                children=move |line| {
                    let id = line.product_id.clone();
                    let known = Signal::derive(move || known(&id));
                    view! { <CartRow product_id=line.product_id known shortages gone /> }
                }
            />
        </ListTable>
        <div role="alert" class="form-error">{move || error.get()}</div>
        <div class="actions">
            <button type="button" class="button" on:click=checkout
                disabled=move || !hydrated.get() || place.pending().get()>
                {move || if place.pending().get() { t!(shop.placing_order) } else { t!(shop.place_order) }}
            </button>
            <a class="button button-secondary" href="/products">{t!(shop.continue_shopping)}</a>
        </div>
        <Transition fallback=|| ()>
            {move || (user.signed_in() == Some(false)).then(|| view! {
                <p class="muted">{t!(shop.sign_in_first)}</p>
            })}
        </Transition>
    }
}

/// Puts a refusal where it belongs: on the short or missing lines, or in the page's alert.
fn refused(
    e: ApiError,
    sent: Vec<String>,
    shortages: RwSignal<HashMap<String, i32>>,
    gone: RwSignal<Vec<String>>,
    error: RwSignal<Option<String>>,
) {
    match e.error {
        ErrorCode::Unauthenticated => load_page("/login?next=/cart"),
        ErrorCode::InsufficientStock => {
            shortages.set(
                e.lines
                    .unwrap_or_default()
                    .into_iter()
                    .map(|s| (s.product_id.to_string(), s.available))
                    .collect(),
            );
            error.set(Some(t!(shop.insufficient_stock).into()));
        }
        ErrorCode::ProductNotFound => {
            // `items[3].product_id`: the line sent in that place.
            let line = e
                .field
                .as_deref()
                .and_then(|f| f.strip_prefix("items["))
                .and_then(|f| f.split(']').next())
                .and_then(|i| i.parse::<usize>().ok())
                .and_then(|i| sent.get(i).cloned());
            if let Some(id) = line {
                gone.set(vec![id]);
            }
            error.set(Some(t!(shop.product_gone_error).into()));
        }
        _ => error.set(Some(e.message)),
    }
}

#[component]
fn CartRow(
    product_id: String,
    known: Signal<Known>,
    shortages: RwSignal<HashMap<String, i32>>,
    gone: RwSignal<Vec<String>>,
) -> impl IntoView {
    let cart = Cart::get();
    let id = StoredValue::new(product_id);
    let quantity = move || id.with_value(|id| cart.quantity(id));
    // The text in the input, which may be mid-edit (empty, say) while the cart keeps its number.
    let typed = RwSignal::new(untrack(quantity).to_string());
    let invalid = RwSignal::new(false);
    let max = Limits::get().max_quantity;
    let name = move || match known.get() {
        Known::Found(p) => p.name,
        Known::Gone => t!(shop.product_gone_name).to_string(),
        Known::Loading => "…".to_string(),
    };
    let notice = move || {
        let id = id.get_value();
        if invalid.get() {
            return Some(t!(shop.quantity_range, max = max));
        }
        if gone.with(|g| g.contains(&id)) || known.get() == Known::Gone {
            return Some(t!(shop.line_gone).to_string());
        }
        let available = shortages
            .with(|s| s.get(&id).copied())
            .or_else(|| match known.get() {
                Known::Found(p) => Some(p.stock),
                _ => None,
            })?;
        let wanted = i64::from(quantity());
        (wanted > i64::from(available)).then(|| {
            if available <= 0 {
                t!(shop.out_of_stock_sentence).to_string()
            } else {
                plural(k::shop::only_left, available as u64)
            }
        })
    };
    let unit = move || match known.get() {
        Known::Found(p) => p.price.display(p.currency),
        _ => String::new(),
    };
    let amount = move || match known.get() {
        Known::Found(p) => p
            .price
            .times(i64::from(quantity()))
            .map(|m| m.display(p.currency))
            .unwrap_or_default(),
        _ => String::new(),
    };
    let input_id = id.with_value(|id| format!("quantity-{id}"));
    let notice_id = id.with_value(|id| format!("notice-{id}"));
    let href = id.with_value(|id| format!("/products/{id}"));
    view! {
        <tr class:line-short=move || notice().is_some()>
            <th scope="row">
                <a href=href>{name}</a>
                <p class="line-notice" id=notice_id.clone() aria-live="polite">{notice}</p>
            </th>
            <td>{unit}</td>
            <td>
                <label class="visually-hidden" for=input_id.clone()>{move || t!(shop.quantity_of, name = name())}</label>
                <input id=input_id class="quantity" type="number" min="1" max=max.to_string() inputmode="numeric"
                    aria-describedby=notice_id
                    aria-invalid=move || invalid.get().then_some("true")
                    prop:value=move || typed.get()
                    on:input=move |ev| {
                        let text = event_target_value(&ev);
                        typed.set(text.clone());
                        match text.trim().parse::<u32>() {
                            Ok(n) if (1..=max).contains(&n) => {
                                invalid.set(false);
                                id.with_value(|id| cart.set_quantity(id, n));
                            }
                            _ => invalid.set(true),
                        }
                    } />
            </td>
            <td class="amount">{amount}</td>
            <td>
                <button type="button" class="button button-small button-secondary"
                    aria-label=move || t!(shop.remove_named, name = name())
                    on:click=move |_| id.with_value(|id| cart.remove(id))>
                    {t!(shop.remove)}
                </button>
            </td>
        </tr>
    }
}
