//! `/orders`: the signed-in person's orders, newest first, and `/orders/:id`: one order, which
//! can be cancelled while it is placed. Anonymous visitors are sent to sign in and brought back.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::Redirect,
    hooks::{use_params_map, use_query_map},
};

use crate::{
    api::orders::{CancelOrder, get_order, orders},
    components::{
        pager::{Pages, href_with},
        table::{Column, Empty, ListTable},
        time::When,
    },
    error::ErrorCode,
    model::{Order, OrderStatus},
    session::CurrentUser,
    t,
};

/// The short name of an order: the first block of its id.
pub fn order_number(order: &Order) -> String {
    order.id.to_string().chars().take(8).collect()
}

/// An order's status as the page says it (the badge's class keeps the status's own name).
fn status_text(status: OrderStatus) -> &'static str {
    match status {
        OrderStatus::Placed => t!(shop.status_placed),
        OrderStatus::Cancelled => t!(shop.status_cancelled),
    }
}

/// Renders `children` for signed-in people; sends anyone else to sign in, back to `next`.
#[component]
fn SignedIn(next: Signal<String>, children: ChildrenFn) -> impl IntoView {
    let user = CurrentUser::get();
    let signed_in = user.ask(CurrentUser::signed_in);
    view! {
        <Transition fallback=|| view! { <p>{t!(shop.loading)}</p> }>
            {move || match signed_in() {
                Some(false) => view! { <Redirect path=format!("/login?next={}", next.get()) /> }.into_any(),
                Some(true) => children().into_any(),
                None => ().into_any(),
            }}
        </Transition>
    }
}

#[component]
pub fn OrdersPage() -> impl IntoView {
    view! {
        <Title text=t!(shop.orders_title) />
        <SignedIn next=Signal::stored("/orders".to_string())>
            {view! { <OrderList /> }.into_any()}
        </SignedIn>
    }
}

#[component]
fn OrderList() -> impl IntoView {
    let query = use_query_map();
    let offset = move || query.with(|q| q.get("offset"));
    let list = Resource::new(offset, |offset| {
        crate::error::page_data(orders(None, offset))
    });
    view! {
        <section class="orders">
            <h1>{t!(shop.orders_title)}</h1>
            <Transition fallback=|| view! { <p>{t!(shop.loading)}</p> }>
                {move || list.get().map(|result| match result {
                    Err(e) => view! { <div role="alert" class="form-error">{e.message}</div> }.into_any(),
                    Ok(page) => {
                        let href = |offset: u32| href_with("/orders", &[("offset", Some(offset.to_string()))]);
                        let pages = Pages::new(&page, &href);
                        let empty = (page.items.is_empty() && page.offset == 0)
                            .then(|| Empty::see_products(t!(shop.orders_empty)));
                        let columns = vec![
                            Column::text(t!(shop.order)),
                            Column::text(t!(shop.placed)),
                            Column::text(t!(shop.items)),
                            Column::amount(t!(shop.total)),
                            Column::text(t!(shop.status)),
                        ];
                        view! {
                            <ListTable caption=t!(shop.orders_caption) columns empty pages>
                                {page.items.into_iter().map(|order| {
                                    let items = order.items.iter()
                                        .map(|i| format!("{} × {}", i.quantity, i.name))
                                        .collect::<Vec<_>>()
                                        .join(", ");
                                    view! {
                                        <tr>
                                            <td><a href=format!("/orders/{}", order.id)>{t!(shop.order_name, number = order_number(&order))}</a></td>
                                            <td><When at=order.created_at.clone() /></td>
                                            <td>{items}</td>
                                            <td class="amount">{order.total.display(order.currency)}</td>
                                            <td><span class=format!("badge badge-{}", order.status)>{status_text(order.status)}</span></td>
                                        </tr>
                                    }
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

#[component]
pub fn OrderPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id")).unwrap_or_default();
    let next = Signal::derive(move || format!("/orders/{}", id()));
    view! {
        <Title text=t!(shop.order_title) />
        <SignedIn next>
            {view! { <OrderView /> }.into_any()}
        </SignedIn>
    }
}

#[component]
fn OrderView() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let id = move || params.with(|p| p.get("id")).unwrap_or_default();
    // Bumped after cancelling: the page reloads the order.
    let acted = RwSignal::new(0u32);
    // Here, not in the order's view: it outlives the re-render with the reloaded order.
    let notice = RwSignal::new(None::<Result<String, String>>);
    if query.with_untracked(|q| q.get("placed")).is_some() {
        notice.set(Some(Ok(t!(shop.order_placed_notice).into())));
    }
    let order = Resource::new(
        move || (id(), acted.get()),
        |(id, _)| crate::error::page_data(get_order(id)),
    );
    view! {
        <Transition fallback=|| view! { <p>{t!(shop.loading)}</p> }>
            {move || order.get().map(|result| match result {
                Ok(order) => view! { <OrderDetail order acted notice /> }.into_any(),
                Err(e) if matches!(e.error, ErrorCode::NotFound | ErrorCode::Invalid) => {
                    crate::pages::not_found::set_not_found_status();
                    view! {
                    <section class="message-page">
                        <h1>{t!(shop.order_not_found)}</h1>
                        <p>{t!(shop.order_not_found_text)}</p>
                        <p><a href="/orders">{t!(shop.orders_title)}</a></p>
                    </section>
                }
                .into_any()
                }
                Err(e) => view! { <div role="alert" class="form-error">{e.message}</div> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn OrderDetail(
    order: Order,
    acted: RwSignal<u32>,
    notice: RwSignal<Option<Result<String, String>>>,
) -> impl IntoView {
    let number = order_number(&order);
    let placed = order.status == OrderStatus::Placed;
    let order_id = order.id.to_string();
    let columns = vec![
        Column::text(t!(shop.product)),
        Column::text(t!(shop.price)),
        Column::text(t!(shop.quantity)),
        Column::amount(t!(shop.amount)),
    ];
    let foot = view! {
        <tr>
            <th scope="row" colspan="3">{t!(shop.total)}</th>
            <td class="amount" data-testid="order-total">{order.total.display(order.currency)}</td>
        </tr>
    }
    .into_any();
    view! {
        <section class="order">
            <p class="muted"><a href="/orders">{t!(shop.all_orders)}</a></p>
            <h1>{t!(shop.order_name, number = number)}</h1>
            {move || notice.get().map(|n| match n {
                Ok(text) => view! { <p role="status" class="form-info">{text}</p> }.into_any(),
                Err(text) => view! { <div role="alert" class="form-error">{text}</div> }.into_any(),
            })}
            <dl class="facts">
                <dt>{t!(shop.status)}</dt>
                <dd><span class=format!("badge badge-{}", order.status)>{status_text(order.status)}</span></dd>
                <dt>{t!(shop.placed)}</dt>
                <dd><When at=order.created_at.clone() /></dd>
                <dt>{t!(shop.order_number_label)}</dt>
                <dd>{order_id.clone()}</dd>
            </dl>
            <ListTable caption=t!(shop.order_caption) columns foot>
                {order.items.into_iter().map(|item| view! {
                    <tr>
                        <th scope="row"><a href=format!("/products/{}", item.product_id)>{item.name}</a></th>
                        <td>{item.unit_price.display(item.currency)}</td>
                        <td>{item.quantity}</td>
                        <td class="amount">{item.line_total.display(item.currency)}</td>
                    </tr>
                }).collect_view()}
            </ListTable>
            {placed.then(|| view! { <CancelOrderButton order_id acted notice /> })}
        </section>
    }
}

#[component]
fn CancelOrderButton(
    order_id: String,
    acted: RwSignal<u32>,
    notice: RwSignal<Option<Result<String, String>>>,
) -> impl IntoView {
    let hydrated = crate::rules::Hydrated::get();
    let asking = RwSignal::new(false);
    let cancel = ServerAction::<CancelOrder>::new();
    Effect::new(move |_| match cancel.value().get() {
        Some(Ok(_)) => {
            notice.set(Some(Ok(t!(shop.order_cancelled_notice).into())));
            acted.update(|n| *n += 1);
        }
        Some(Err(e)) => {
            notice.set(Some(Err(e.message)));
            // Cancelled elsewhere, say: show the order as it is now.
            acted.update(|n| *n += 1);
        }
        None => {}
    });
    let busy = move || !hydrated.get() || cancel.pending().get();
    view! {
        <div class="actions">
            <button type="button" class="button button-secondary" disabled=busy
                on:click=move |_| { notice.set(None); asking.set(true); }>
                {t!(shop.cancel_order_ask)}
            </button>
        </div>
        <Show when=move || asking.get()>
            <div class="confirm" role="group" aria-labelledby="cancel-question">
                <p id="cancel-question"><strong>{t!(shop.cancel_order_question)}</strong></p>
                <div class="actions">
                    <button type="button" class="button button-small button-danger" disabled=busy
                        on:click={
                            let id = order_id.clone();
                            move |_| { cancel.dispatch(CancelOrder { id: id.clone() }); }
                        }>
                        {t!(shop.cancel_order)}
                    </button>
                    <button type="button" class="button button-small button-secondary"
                        on:click=move |_| asking.set(false)>{t!(shop.keep_order)}</button>
                </div>
            </div>
        </Show>
    }
}
