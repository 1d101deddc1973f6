-- Accounts, their one-time codes, the email outbox, rate-limit state and the security history.

create table users (
    id uuid primary key default gen_random_uuid(),
    first_name text not null,
    last_name text not null,
    -- As typed (trimmed); unique case-insensitively through users_email_key.
    email text not null,
    -- E.164.
    phone_number text not null,
    password_hash text not null,
    status text not null default 'pending',
    email_verified_at timestamptz,
    -- Wrong codes over the life of a pending account; 100 locks it.
    failed_code_attempts integer not null default 0,
    -- Registration, resend or activation attempt: how long a pending account has been idle.
    last_activity_at timestamptz not null default now(),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint users_status_check check (status in ('pending', 'active', 'locked')),
    constraint users_active_is_verified check (status <> 'active' or email_verified_at is not null)
);
create unique index users_email_key on users (lower(email));
create unique index users_phone_number_key on users (phone_number);
create index users_pending_created on users (created_at) where status <> 'active';
create trigger set_updated_at before update on users
    for each row execute function set_updated_at();

-- One live code per account and purpose; stored only as an HMAC.
create table verification_codes (
    user_id uuid not null references users (id) on delete cascade,
    purpose text not null,
    code_hash bytea not null,
    attempts integer not null default 0,
    issued_at timestamptz not null default now(),
    expires_at timestamptz not null,
    primary key (user_id, purpose),
    constraint verification_codes_purpose_check check (purpose in ('activation'))
);

-- The transactional outbox: written with the change that causes the email, delivered by the
-- mail worker (FOR UPDATE SKIP LOCKED, so several servers never send one twice).
create table email_outbox (
    id bigint generated always as identity primary key,
    user_id uuid references users (id) on delete set null,
    kind text not null,
    recipient text not null,
    subject text not null,
    -- Cleared once an SMTP server has the message: codes do not linger in the database.
    text_body text,
    html_body text,
    status text not null default 'pending',
    attempts integer not null default 0,
    next_attempt_at timestamptz not null default now(),
    -- Not worth sending after this (the code inside has expired).
    expires_at timestamptz,
    last_error text,
    created_at timestamptz not null default now(),
    sent_at timestamptz,
    constraint email_outbox_status_check check (status in ('pending', 'sent', 'expired', 'dead'))
);
create index email_outbox_due on email_outbox (next_attempt_at) where status = 'pending';
create index email_outbox_created on email_outbox (created_at);

-- GCRA state per limited key: the "theoretical arrival time" of the next request.
create table rate_limits (
    key text primary key,
    tat timestamptz not null
);

create table security_events (
    id bigint generated always as identity primary key,
    user_id uuid not null references users (id) on delete cascade,
    kind text not null,
    ip text,
    user_agent text,
    created_at timestamptz not null default now()
);
create index security_events_user_created on security_events (user_id, created_at desc);
