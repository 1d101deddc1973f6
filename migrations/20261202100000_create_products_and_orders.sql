-- The product catalogue and orders. Money is integer cents (never a float); stock can never go
-- below zero, whatever the code does.

create table products (
    id uuid primary key default gen_random_uuid(),
    -- Unique case-insensitively among live products (products_name_key).
    name text not null,
    description text not null default '',
    price_cents bigint not null,
    stock integer not null,
    -- Bumped by every change, orders included: an edit based on an older version is refused.
    version integer not null default 1,
    -- Deleted products leave the catalogue; past orders keep pointing at them.
    deleted_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    -- What a keyword search reads (served by products_search).
    search_text text generated always as (lower(name || ' ' || description)) stored,
    constraint products_stock_check check (stock >= 0),
    constraint products_price_check check (price_cents > 0 and price_cents <= 100000000),
    constraint products_name_check check (char_length(name) between 1 and 200),
    constraint products_description_check check (char_length(description) <= 5000)
);
create unique index products_name_key on products (lower(name)) where deleted_at is null;
create index products_search on products using gin (search_text gin_trgm_ops)
    where deleted_at is null;
create index products_by_price on products (price_cents, id) where deleted_at is null;
create index products_by_created on products (created_at desc, id desc) where deleted_at is null;
create trigger set_updated_at before update on products
    for each row execute function set_updated_at();

create table orders (
    id uuid primary key default gen_random_uuid(),
    -- An account's orders go with it.
    user_id uuid not null references users (id) on delete cascade,
    status text not null default 'placed',
    total_cents bigint not null,
    created_at timestamptz not null default now(),
    cancelled_at timestamptz,
    constraint orders_status_check check (status in ('placed', 'cancelled')),
    constraint orders_cancelled_check check ((status = 'cancelled') = (cancelled_at is not null)),
    constraint orders_total_check check (total_cents > 0)
);
create index orders_by_user on orders (user_id, created_at desc, id desc);

-- Name and price are copied when the order is placed: later edits do not rewrite history.
create table order_items (
    order_id uuid not null references orders (id) on delete cascade,
    line smallint not null,
    product_id uuid not null references products (id),
    name text not null,
    unit_price_cents bigint not null,
    quantity integer not null,
    primary key (order_id, line),
    constraint order_items_quantity_check check (quantity between 1 and 1000),
    constraint order_items_price_check check (unit_price_cents > 0)
);
create index order_items_product on order_items (product_id);

-- `Idempotency-Key` of place-order, per account: the request it came with and the first
-- answer, kept at least 24 hours (the housekeeping removes them after 25). The row is inserted
-- first in the order's transaction, so a concurrent retry waits on it; the response is set
-- before that transaction commits, so no committed row lacks one.
create table idempotency_keys (
    user_id uuid not null references users (id) on delete cascade,
    key text not null,
    request jsonb not null,
    response jsonb,
    created_at timestamptz not null default now(),
    primary key (user_id, key)
);
create index idempotency_keys_created on idempotency_keys (created_at);
