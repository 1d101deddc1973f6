//! `/admin/products`: the catalogue as administrators see it, with a form for a new product.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::{AdminFrame, href_with, message};
use crate::{
    api::catalog::{CreateProduct, products},
    components::{
        field::{Field, FieldState, place_error},
        filters::FilterForm,
        pager::Pages,
        table::{Column, ListTable},
        time::When,
    },
    pages::products::stock_text,
    t,
};

#[component]
pub fn AdminProductsPage() -> impl IntoView {
    // Bumped when a product is created: the table reloads.
    let created = RwSignal::new(0u32);
    view! {
        <AdminFrame title=t!(admin.products) next="/admin/products" current="/admin/products">
            {view! { <NewProduct created /> }.into_any()}
            {view! { <ProductsTable created /> }.into_any()}
        </AdminFrame>
    }
}

/// The checks the product forms run as you type; the server checks again.
pub(super) mod checks {
    use crate::{domain::Money, t};

    pub fn name(v: &str) -> Option<String> {
        v.trim()
            .is_empty()
            .then(|| t!(admin.check_name).to_string())
    }

    pub fn price(v: &str) -> Option<String> {
        Money::parse_price(&serde_json::Value::String(v.to_string()))
            .err()
            .map(|e| e.0)
    }

    pub fn stock(v: &str) -> Option<String> {
        let v = v.trim();
        (v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()))
            .then(|| t!(admin.check_stock).to_string())
    }
}

#[component]
fn NewProduct(created: RwSignal<u32>) -> impl IntoView {
    let hydrated = crate::rules::Hydrated::get();
    let name = FieldState::new(checks::name);
    let price = FieldState::new(checks::price);
    let stock = FieldState::new(checks::stock);
    let description = RwSignal::new(String::new());
    let create = ServerAction::<CreateProduct>::new();
    let notice = RwSignal::new(None::<Result<String, String>>);
    Effect::new(move |_| match create.value().get() {
        Some(Ok(product)) => {
            for field in [name, price, stock] {
                field.value.set(String::new());
                field.shown.set(false);
            }
            description.set(String::new());
            notice.set(Some(Ok(t!(admin.product_created, name = product.name))));
            created.update(|n| *n += 1);
        }
        Some(Err(e)) => {
            let fields = [("name", name), ("price", price), ("stock", stock)];
            notice.set(place_error(e, &fields).map(Err));
        }
        None => {}
    });
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        notice.set(None);
        if [name.validate(), price.validate(), stock.validate()]
            .iter()
            .all(|ok| *ok)
        {
            create.dispatch(CreateProduct {
                name: name.value.get_untracked().trim().to_string(),
                description: Some(description.get_untracked()),
                price: Some(price.value.get_untracked().trim().into()),
                stock: Some(stock.value.get_untracked().trim().into()),
            });
        }
    };
    view! {
        <section class="card" aria-labelledby="new-product-heading">
            <h2 id="new-product-heading">{t!(admin.new_product)}</h2>
            <form class="form" method="post" novalidate on:submit=on_submit>
                <Field state=name id="name" label=t!(admin.name) maxlength=200 />
                <div class="field">
                    <label for="description">{t!(admin.description)}</label>
                    <textarea id="description" name="description" rows="3" maxlength="5000"
                        prop:value=move || description.get()
                        on:input=move |ev| description.set(event_target_value(&ev))></textarea>
                </div>
                <div class="field-row">
                    <Field state=price id="price" label=t!(admin.price) inputmode="decimal" hint=t!(admin.price_hint) />
                    <Field state=stock id="stock" label=t!(admin.stock) inputmode="numeric" hint=t!(admin.stock_hint) />
                </div>
                <div role="alert" class="form-error">{move || notice.get().and_then(Result::err)}</div>
                <p role="status" class="form-info">{move || notice.get().and_then(Result::ok)}</p>
                <button type="submit" class="button" disabled=move || !hydrated.get() || create.pending().get()>
                    {t!(admin.create_product)}
                </button>
            </form>
        </section>
    }
}

#[component]
fn ProductsTable(created: RwSignal<u32>) -> impl IntoView {
    let query = use_query_map();
    let param = move |key: &str| query.with(|q| q.get(key));
    let params = move || (param("keyword"), param("offset"));
    let list = Resource::new(
        move || (params(), created.get()),
        |((keyword, offset), _)| {
            crate::error::page_data(products(
                keyword,
                None,
                None,
                None,
                Some("newest".into()),
                None,
                offset,
            ))
        },
    );
    let deleted = move || {
        param("deleted")
            .map(|_| view! { <p role="status" class="form-info">{t!(admin.product_deleted)}</p> })
    };
    let keyword = move || param("keyword").unwrap_or_default();
    view! {
        <section class="card" aria-labelledby="catalogue-heading">
            <h2 id="catalogue-heading">{t!(admin.catalogue)}</h2>
            {deleted}
            <FilterForm action="/admin/products">
                <div class="filters" role="search" aria-label=t!(admin.catalogue)>
                    <div class="field field-inline">
                        <label for="filter-keyword">{t!(admin.search_products)}</label>
                        <input id="filter-keyword" type="search" name="keyword" value=keyword() prop:value=keyword />
                    </div>
                    <button type="submit" class="button button-small">{t!(admin.search_button)}</button>
                </div>
            </FilterForm>
            <Transition fallback=|| view! { <p>{t!(admin.loading)}</p> }>
                {move || list.get().map(|result| match result {
                    Err(e) => view! { <div role="alert" class="form-error">{message(&e)}</div> }.into_any(),
                    Ok(page) => {
                        let (keyword, _) = params();
                        let href = move |offset: u32| href_with("/admin/products", &[
                            ("keyword", keyword.clone()), ("offset", Some(offset.to_string())),
                        ]);
                        let pages = Pages::new(&page, &href);
                        let columns = vec![
                            Column::text(t!(admin.name)),
                            Column::amount(t!(admin.price)),
                            Column::text(t!(admin.stock)),
                            Column::text(t!(admin.changed)),
                        ];
                        view! {
                            <ListTable caption=t!(admin.products_caption) columns pages>
                                {page.items.into_iter().map(|p| view! {
                                    <tr>
                                        <td><a href=format!("/admin/products/{}", p.id)>{p.name}</a></td>
                                        <td class="amount">{p.price.display(p.currency)}</td>
                                        <td>{stock_text(p.stock)}</td>
                                        <td><When at=p.updated_at.clone() /></td>
                                    </tr>
                                }).collect_view()}
                            </ListTable>
                        }
                        .into_any()
                    }
                })}
            </Transition>
        </section>
    }
}
