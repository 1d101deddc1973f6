//! `/admin/products/:id`: change a product (the form sends the version it showed, so a change
//! made meanwhile is never overwritten) or delete it, after a confirmation.

use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_params_map};

use super::{AdminFrame, message, products::checks};
use crate::{
    api::catalog::{DeleteProduct, UpdateProduct, get_product},
    components::{
        field::{Field, FieldState, place_error},
        time::When,
    },
    error::ErrorCode,
    model::Product,
    t,
};

#[component]
pub fn AdminProductPage() -> impl IntoView {
    view! {
        <AdminFrame title=t!(admin.product) next="/admin/products" current="">
            {view! { <ProductView /> }.into_any()}
        </AdminFrame>
    }
}

#[component]
fn ProductView() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id")).unwrap_or_default();
    let product = Resource::new(id, |id| crate::error::page_data(get_product(id)));
    view! {
        <Transition fallback=|| view! { <p>{t!(admin.loading)}</p> }>
            {move || product.get().map(|result| match result {
                Err(e) => view! {
                    <div role="alert" class="form-error">{message(&e)}</div>
                    <p><a href="/admin/products">{t!(admin.back_to_products)}</a></p>
                }
                .into_any(),
                Ok(product) => view! { <EditProduct product /> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn EditProduct(product: Product) -> impl IntoView {
    let hydrated = crate::rules::Hydrated::get();
    let id = product.id.to_string();
    let name = FieldState::new(checks::name);
    let price = FieldState::new(checks::price);
    let stock = FieldState::new(checks::stock);
    let description = RwSignal::new(String::new());
    // The product as last loaded: its version goes with the next save.
    let shown = RwSignal::new(product);
    let fill = move |p: Product| {
        name.value.set(p.name.clone());
        price.value.set(p.price.input_text());
        stock.value.set(p.stock.to_string());
        description.set(p.description.clone());
        for field in [name, price, stock] {
            field.server_error.set(None);
            field.shown.set(false);
        }
        shown.set(p);
    };
    fill(shown.get_untracked());

    let notice = RwSignal::new(None::<Result<String, String>>);
    let save = ServerAction::<UpdateProduct>::new();
    let reload = Action::new(|id: &String| get_product(id.clone()));
    Effect::new(move |_| match save.value().get() {
        Some(Ok(p)) => {
            fill(p);
            notice.set(Some(Ok(t!(admin.saved).into())));
        }
        Some(Err(e)) if e.error == ErrorCode::VersionConflict => {
            reload.dispatch(shown.get_untracked().id.to_string());
        }
        Some(Err(e)) => {
            let fields = [("name", name), ("price", price), ("stock", stock)];
            notice.set(place_error(e, &fields).map(Err));
        }
        None => {}
    });
    Effect::new(move |_| match reload.value().get() {
        Some(Ok(p)) => {
            let version = p.version;
            fill(p);
            notice.set(Some(Err(t!(admin.version_conflict, version = version))));
        }
        Some(Err(e)) => notice.set(Some(Err(message(&e)))),
        None => {}
    });

    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        notice.set(None);
        if [name.validate(), price.validate(), stock.validate()]
            .iter()
            .all(|ok| *ok)
        {
            let current = shown.get_untracked();
            save.dispatch(UpdateProduct {
                id: current.id.to_string(),
                version: Some(current.version.into()),
                name: Some(name.value.get_untracked().trim().to_string()),
                description: Some(description.get_untracked()),
                price: Some(price.value.get_untracked().trim().into()),
                stock: Some(stock.value.get_untracked().trim().into()),
            });
        }
    };
    let busy = move || !hydrated.get() || save.pending().get() || reload.pending().get();
    view! {
        <section class="card" aria-labelledby="product-heading">
            <h2 id="product-heading">{move || shown.with(|p| p.name.clone())}</h2>
            <p class="muted">
                {move || shown.with(|p| t!(admin.version_changed, version = p.version))}
                {move || shown.with(|p| view! { <When at=p.updated_at.clone() /> })}
                " · "<a href=format!("/products/{id}")>{t!(admin.shop_page)}</a>
            </p>
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
                <button type="submit" class="button" disabled=busy>{t!(admin.save_changes)}</button>
            </form>
        </section>
        {move || view! { <DeleteProductButton product=shown.get() /> }}
    }
}

#[component]
fn DeleteProductButton(product: Product) -> impl IntoView {
    let hydrated = crate::rules::Hydrated::get();
    let asking = RwSignal::new(false);
    let delete = ServerAction::<DeleteProduct>::new();
    let error = RwSignal::new(None::<String>);
    let navigate = use_navigate();
    Effect::new(move |_| match delete.value().get() {
        Some(Ok(_)) => navigate("/admin/products?deleted=1", Default::default()),
        Some(Err(e)) => error.set(Some(message(&e))),
        None => {}
    });
    let busy = move || !hydrated.get() || delete.pending().get();
    let id = product.id.to_string();
    let question = t!(admin.confirm_delete_product, name = product.name);
    view! {
        <section class="card danger" aria-labelledby="delete-product-heading">
            <h2 id="delete-product-heading">{t!(admin.delete_heading)}</h2>
            <div class="actions">
                <button type="button" class="button button-small button-danger" disabled=busy
                    on:click=move |_| { error.set(None); asking.set(true); }>{t!(admin.delete_ask)}</button>
            </div>
            <Show when=move || asking.get()>
                <div class="confirm" role="group" aria-labelledby="delete-question">
                    <p id="delete-question"><strong>{question.clone()}</strong></p>
                    <div class="actions">
                        <button type="button" class="button button-small button-danger" disabled=busy
                            on:click={
                                let id = id.clone();
                                move |_| { delete.dispatch(DeleteProduct { id: id.clone() }); }
                            }>
                            {t!(admin.delete_product)}
                        </button>
                        <button type="button" class="button button-small button-secondary"
                            on:click=move |_| asking.set(false)>{t!(admin.cancel)}</button>
                    </div>
                </div>
            </Show>
            <div role="alert" class="form-error">{move || error.get()}</div>
        </section>
    }
}
