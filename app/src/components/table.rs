//! The list the pages share: a sentence when there is nothing to list, otherwise a table in a box
//! that scrolls sideways on a narrow screen, and the pager under it for a paged list.
//!
//! Concrete on purpose: the rows come in as `Children` and the pages as numbers and links, so
//! the browser bundle holds one copy of it however many pages use it.

use leptos::{either::Either, prelude::*};

use crate::{
    components::pager::{Pager, Pages},
    t,
};

/// A column's header cell (`<th scope="col">`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Column {
    label: &'static str,
    kind: ColumnKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ColumnKind {
    Text,
    /// Right-aligned (`class="amount"`).
    Amount,
    /// Named for screen readers only: a column of buttons needs no visible heading.
    Hidden,
}

impl Column {
    pub const fn text(label: &'static str) -> Self {
        Self {
            label,
            kind: ColumnKind::Text,
        }
    }

    /// A column of amounts, aligned on the right with its figures.
    pub const fn amount(label: &'static str) -> Self {
        Self {
            label,
            kind: ColumnKind::Amount,
        }
    }

    /// A column whose heading only screen readers read (a column of buttons).
    pub const fn hidden(label: &'static str) -> Self {
        Self {
            label,
            kind: ColumnKind::Hidden,
        }
    }
}

/// What a list says when it has nothing at all, and the link it offers instead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Empty {
    pub text: &'static str,
    pub href: &'static str,
    pub link: &'static str,
}

impl Empty {
    /// Nothing here yet: the catalogue is where to go.
    pub fn see_products(text: &'static str) -> Self {
        Self {
            text,
            href: "/products",
            link: t!(shop.see_products),
        }
    }
}

/// The empty state alone, for a list that decides it apart from its table (the cart).
#[component]
pub fn EmptyList(empty: Empty) -> impl IntoView {
    view! {
        <p>{empty.text}</p>
        <p><a class="button" href=empty.href>{empty.link}</a></p>
    }
}

/// A list as a table: `empty` instead when set, otherwise the table and, with `pages`, the pager.
#[component]
pub fn ListTable(
    /// The table's name, for screen readers (`<caption>`, visually hidden).
    caption: &'static str,
    columns: Vec<Column>,
    /// The `<table>`'s classes.
    #[prop(default = "table")]
    class: &'static str,
    /// For a table with nothing focusable in it: the box takes the focus (a region named by the
    /// caption), so the keyboard can scroll it sideways where it is wider than the screen.
    #[prop(optional)]
    focusable: bool,
    /// Set when the list has nothing at all: shown in place of the table and the pager.
    #[prop(optional_no_strip)]
    empty: Option<Empty>,
    /// Where this page sits in a paged list.
    #[prop(optional)]
    pages: Option<Pages>,
    /// The `<tfoot>`'s rows.
    #[prop(optional)]
    foot: Option<AnyView>,
    /// The `<tbody>`'s rows.
    children: Children,
) -> impl IntoView {
    if let Some(empty) = empty {
        return Either::Left(view! { <EmptyList empty /> });
    }
    let region = focusable.then_some("region");
    let name = focusable.then_some(caption);
    let tabindex = focusable.then_some("0");
    Either::Right(view! {
        <div class="table-wrap" role=region aria-label=name tabindex=tabindex>
            <table class=class>
                <caption class="visually-hidden">{caption}</caption>
                <thead>
                    <tr>{columns.into_iter().map(header).collect_view()}</tr>
                </thead>
                <tbody>{children()}</tbody>
                {foot.map(|rows| view! { <tfoot>{rows}</tfoot> })}
            </table>
        </div>
        {pages.map(|pages| view! { <Pager pages /> })}
    })
}

fn header(column: Column) -> impl IntoView {
    let class = (column.kind == ColumnKind::Amount).then_some("amount");
    let label = if column.kind == ColumnKind::Hidden {
        Either::Left(view! { <span class="visually-hidden">{column.label}</span> })
    } else {
        Either::Right(column.label)
    };
    view! { <th scope="col" class=class>{label}</th> }
}
