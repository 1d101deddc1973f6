//! The filter forms above the lists (`/products`, `/admin`…): GET forms whose URL names only
//! their fields, so a filtered list can be shared and works before hydration.

use std::sync::Arc;

use leptos::{prelude::*, web_sys::FormData};
use leptos_router::components::Form;

/// A GET form to `action`: a plain form before hydration, client-side navigation after.
///
/// The router's `<Form>` adds the button that submitted it to the query, name and value, as a
/// browser does for a named button; for the unnamed "Search" button that was a bare `=` at the
/// end of every filtered URL (`/products?keyword=tea&=`). That entry is dropped here.
#[component]
pub fn FilterForm(action: &'static str, children: Children) -> impl IntoView {
    let on_form_data: Arc<dyn Fn(&FormData)> = Arc::new(drop_unnamed);
    view! {
        <Form method="GET" action on_form_data>
            {children()}
        </Form>
    }
}

/// Removes the entries without a name: a browser submitting the form itself sends none.
fn drop_unnamed(data: &FormData) {
    data.delete("");
}
