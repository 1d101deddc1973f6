-- A password reset request is work for the reset worker, not a task spawned by the request:
-- the request answers the same way whatever the address, costs one row, and survives a restart.
-- The worker takes the oldest due row (`for update skip locked`, so every replica can run one),
-- issues the code and queues its email in the transaction that deletes the row.
create table password_reset_requests (
    id bigint generated always as identity primary key,
    -- As typed (trimmed); the worker looks the account up case-insensitively.
    email text not null,
    client_ip text,
    user_agent text,
    requested_at timestamptz not null default now(),
    -- A request whose handling failed (Postgres trouble) waits before its next try, and is
    -- given up after a few.
    attempts integer not null default 0,
    not_before timestamptz not null default now()
);
create index password_reset_requests_due on password_reset_requests (not_before, id);
