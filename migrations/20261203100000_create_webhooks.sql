-- Domain events for webhooks (the Standard Webhooks convention): an event is written in the
-- same transaction as the change that causes it, with one delivery per URL of WEBHOOK_URLS;
-- the server's webhook worker sends them. Nothing is written when WEBHOOK_URLS is empty.
create table webhook_events (
    -- The `webhook-id` header: the same on every retry, so receivers deduplicate by it.
    id uuid primary key default gen_random_uuid(),
    type text not null,
    -- Deliveries to one URL keep the order of events with the same key: the account's id
    -- (the buyer's, for orders).
    ordering_key text not null,
    -- The exact bytes sent and signed: stored as text so a retry signs the same body.
    body text not null,
    created_at timestamptz not null default now()
);
create index webhook_events_created on webhook_events (created_at);

create table webhook_deliveries (
    -- Allocated in the event's transaction, after the account's row is locked: the order of
    -- an account's events.
    id bigint generated always as identity primary key,
    event_id uuid not null references webhook_events (id) on delete cascade,
    url text not null,
    -- The event's, copied so the ordering check is one index probe.
    ordering_key text not null,
    status text not null default 'pending',
    attempts integer not null default 0,
    -- While a worker sends it, its lease: no other worker claims it before then.
    next_attempt_at timestamptz not null default now(),
    last_error text,
    delivered_at timestamptz,
    created_at timestamptz not null default now(),
    constraint webhook_deliveries_status_check check (status in ('pending', 'delivered', 'dead'))
);
-- What a URL's worker claims next.
create index webhook_deliveries_due on webhook_deliveries (url, next_attempt_at, id)
    where status = 'pending';
-- Whether an earlier delivery of the same account to the same URL is still pending.
create index webhook_deliveries_ordering on webhook_deliveries (url, ordering_key, id)
    where status = 'pending';
create index webhook_deliveries_event on webhook_deliveries (event_id);
create index webhook_deliveries_dead on webhook_deliveries (created_at) where status = 'dead';
