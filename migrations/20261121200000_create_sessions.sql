-- Sessions (browser cookies) and API tokens: 32 random bytes given to the client, only their
-- SHA-256 stored. Revoking one deletes its row, so it stops working at once.
create table sessions (
    id uuid primary key default gen_random_uuid(),
    user_id uuid not null references users (id) on delete cascade,
    token_hash bytea not null,
    kind text not null,
    created_at timestamptz not null default now(),
    -- Touched at most once a minute: the idle timeout counts from here.
    last_seen_at timestamptz not null default now(),
    -- The absolute lifetime: no activity extends it.
    expires_at timestamptz not null,
    ip text,
    user_agent text,
    constraint sessions_kind_check check (kind in ('cookie', 'bearer'))
);
create unique index sessions_token_hash_key on sessions (token_hash);
create index sessions_user on sessions (user_id);
create index sessions_expires on sessions (expires_at);
