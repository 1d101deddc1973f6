//! `/products`: the catalogue, with search, price range, stock filter, sort and pages in the
//! URL (a plain GET form, so a filtered page can be shared and works before hydration), and
//! `/products/:id`: one product, with "Add to cart".

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::{
    api::catalog::{get_product, products},
    cart::{Cart, Limits},
    components::{
        field::{Field, FieldState, focus_first_error},
        filters::FilterForm,
        pager::{Pager, Pages, href_with},
    },
    error::ErrorCode,
    language::{fill, k, plural},
    model::{Product, ProductSort},
    t,
};

/// "In stock: 5" or "Out of stock".
pub fn stock_text(stock: i32) -> String {
    if stock > 0 {
        t!(shop.stock_in, stock = stock)
    } else {
        t!(shop.stock_out).to_string()
    }
}

fn sort_label(sort: ProductSort) -> &'static str {
    match sort {
        ProductSort::Name => t!(shop.sort_name),
        ProductSort::Price => t!(shop.sort_price),
        ProductSort::PriceDescending => t!(shop.sort_price_descending),
        ProductSort::Newest => t!(shop.sort_newest),
    }
}

/// A text input of the filter form. `value` renders on the server (the form is right before
/// hydration); `prop:value` follows the URL after.
fn filter_input(
    name: &'static str,
    label: &'static str,
    kind: &'static str,
    inputmode: Option<&'static str>,
    current: impl Fn() -> String + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let id = format!("filter-{name}");
    view! {
        <div class="field field-inline">
            <label for=id.clone()>{label}</label>
            <input id=id type=kind name=name inputmode=inputmode value=current() prop:value=current />
        </div>
    }
}

#[component]
pub fn ProductsPage() -> impl IntoView {
    let query = use_query_map();
    let param = move |key: &str| query.with(|q| q.get(key));
    let params = move || {
        (
            param("keyword"),
            param("min_price"),
            param("max_price"),
            param("in_stock"),
            param("sort"),
            param("offset"),
        )
    };
    let list = Resource::new(params, |(keyword, min, max, in_stock, sort, offset)| {
        crate::error::page_data(products(keyword, min, max, in_stock, sort, None, offset))
    });
    let in_stock =
        move || param("in_stock").is_some_and(|v| matches!(v.as_str(), "true" | "1" | "on"));
    let sort = move || param("sort").unwrap_or_default();
    view! {
        <Title text=t!(shop.products_title) />
        <section class="catalog">
            <h1>{t!(shop.products_title)}</h1>
            <FilterForm action="/products">
                <div class="filters" role="search" aria-label=t!(shop.products_title)>
                    {filter_input("keyword", t!(shop.filter_search), "search", None, move || param("keyword").unwrap_or_default())}
                    {filter_input("min_price", t!(shop.lowest_price), "text", Some("decimal"), move || param("min_price").unwrap_or_default())}
                    {filter_input("max_price", t!(shop.highest_price), "text", Some("decimal"), move || param("max_price").unwrap_or_default())}
                    <div class="field field-inline">
                        <label for="filter-sort">{t!(shop.sort_by)}</label>
                        <select id="filter-sort" name="sort">
                            {ProductSort::ALL.iter().map(|s| {
                                let value = s.as_str();
                                // The server's default order is by name.
                                let selected = move || sort() == value || (sort().is_empty() && *s == ProductSort::Name);
                                view! { <option value=value selected=selected prop:selected=selected>{sort_label(*s)}</option> }
                            }).collect_view()}
                        </select>
                    </div>
                    <label class="check">
                        <input type="checkbox" name="in_stock" value="true" checked=in_stock() prop:checked=in_stock />
                        " "{t!(shop.in_stock_only)}
                    </label>
                    <button type="submit" class="button button-small">{t!(shop.search_button)}</button>
                </div>
            </FilterForm>
            <Transition fallback=|| view! { <p>{t!(shop.loading)}</p> }>
                {move || list.get().map(|result| match result {
                    Err(e) => view! { <div role="alert" class="form-error">{e.message}</div> }.into_any(),
                    Ok(page) => {
                        let (keyword, min, max, in_stock, sort, _) = params();
                        let href = move |offset: u32| href_with("/products", &[
                            ("keyword", keyword.clone()), ("min_price", min.clone()), ("max_price", max.clone()),
                            ("in_stock", in_stock.clone()), ("sort", sort.clone()),
                            ("offset", Some(offset.to_string())),
                        ]);
                        let pages = Pages::new(&page, &href);
                        let empty = page.items.is_empty().then(|| view! {
                            <p>{t!(shop.no_match)}</p>
                        });
                        view! {
                            {empty}
                            <ul class="product-grid">
                                {page.items.into_iter().map(|p| view! { <ProductCard product=p /> }).collect_view()}
                            </ul>
                            <Pager pages />
                        }
                        .into_any()
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn ProductCard(product: Product) -> impl IntoView {
    let stock_class = if product.stock > 0 {
        "stock"
    } else {
        "stock stock-out"
    };
    view! {
        <li class="card product-card">
            <h2><a href=format!("/products/{}", product.id)>{product.name}</a></h2>
            <p class="price">{product.price.display(product.currency)}</p>
            <p class=stock_class>{stock_text(product.stock)}</p>
        </li>
    }
}

#[component]
pub fn ProductPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id")).unwrap_or_default();
    let product = Resource::new(id, |id| crate::error::page_data(get_product(id)));
    view! {
        <Transition fallback=|| view! { <p>{t!(shop.loading)}</p> }>
            {move || product.get().map(|result| match result {
                Ok(product) => view! { <ProductDetail product /> }.into_any(),
                Err(e) if matches!(e.error, ErrorCode::NotFound | ErrorCode::Invalid) => {
                    crate::pages::not_found::set_not_found_status();
                    view! {
                    <Title text=t!(shop.product_not_found) />
                    <section class="message-page">
                        <h1>{t!(shop.product_not_found)}</h1>
                        <p>{t!(shop.product_not_found_text)}</p>
                        <p><a href="/products">{t!(shop.see_all_products)}</a></p>
                    </section>
                }.into_any()
                }
                Err(e) => view! { <div role="alert" class="form-error">{e.message}</div> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn ProductDetail(product: Product) -> impl IntoView {
    let cart = Cart::get();
    let hydrated = crate::rules::Hydrated::get();
    let quantity = FieldState::new(|v| {
        let max = Limits::get().max_quantity;
        v.trim()
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .is_none()
            .then(|| t!(shop.quantity_range, max = max))
    });
    quantity.value.set("1".into());
    let added = RwSignal::new(None::<String>);
    let form = NodeRef::<leptos::html::Form>::new();
    let id = product.id.to_string();
    let name = product.name.clone();
    let stock = product.stock;
    let on_submit = {
        let id = id.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            added.set(None);
            if !quantity.validate() {
                focus_first_error(form);
                return;
            }
            let wanted: u32 = quantity.value.get_untracked().trim().parse().unwrap_or(1);
            let in_cart = cart.quantity(&id);
            let available = u32::try_from(stock).unwrap_or(0);
            if in_cart + wanted > available {
                let left = available.saturating_sub(in_cart);
                let text = match (left, in_cart) {
                    (0, 0) => t!(shop.out_of_stock_sentence).to_string(),
                    (0, _) => plural(k::shop::all_in_cart, available.into()),
                    (_, 0) => plural(k::shop::only_in_stock, left.into()),
                    (_, _) => fill(
                        &plural(k::shop::only_more_in_stock, in_cart.into()),
                        &[("left", &left)],
                    ),
                };
                quantity.server_error.set(Some(text));
                focus_first_error(form);
                return;
            }
            cart.add(&id, wanted);
            added.set(Some(t!(shop.added_to_cart, quantity = wanted, name = name)));
        }
    };
    let out = stock <= 0;
    view! {
        <Title text=product.name.clone() />
        <article class="product">
            <p class="muted"><a href="/products">{t!(shop.all_products)}</a></p>
            <h1>{product.name.clone()}</h1>
            <p class="price price-large">{product.price.display(product.currency)}</p>
            <p class=if out { "stock stock-out" } else { "stock" }>{stock_text(stock)}</p>
            {(!product.description.is_empty()).then(|| view! { <p class="description">{product.description.clone()}</p> })}
            <form class="card form add-to-cart" method="post" novalidate node_ref=form on:submit=on_submit>
                <Field state=quantity id="quantity" label=t!(shop.quantity) kind="number" inputmode="numeric" />
                <button type="submit" class="button" disabled=move || !hydrated.get() || out>{t!(shop.add_to_cart)}</button>
                <p role="status" class="form-info">
                    {move || added.get().map(|text| view! { {text}" "<a href="/cart">{t!(shop.view_cart)}</a> })}
                </p>
            </form>
        </article>
    }
}
