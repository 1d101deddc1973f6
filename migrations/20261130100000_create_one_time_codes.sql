-- One table for every one-time code (activation, email change, password reset), so issuing,
-- trying, expiring and burning a code is one flow. The subject is the account id, or for a
-- password reset the address asked for (lower-cased): unknown addresses get a code too, so the
-- reset endpoints answer the same way whether or not an account exists. Codes live a minute,
-- so the rows of the old tables (verification_codes, password_resets) are not carried over;
-- the tables stay until a later release drops them, so replicas still running the previous
-- version keep working during a rolling deploy.
create table one_time_codes (
    purpose text not null,
    subject text not null,
    user_id uuid references users (id) on delete cascade,
    code_hash bytea not null,
    attempts integer not null default 0,
    issued_at timestamptz not null default now(),
    expires_at timestamptz not null,
    -- The address an email change moves to.
    new_email text,
    primary key (purpose, subject),
    constraint one_time_codes_purpose_check
        check (purpose in ('activation', 'email_change', 'password_reset')),
    constraint one_time_codes_new_email_check
        check ((purpose = 'email_change') = (new_email is not null))
);
create index one_time_codes_user on one_time_codes (user_id);
create index one_time_codes_expires on one_time_codes (expires_at);

-- Timestamps as the API shows them: RFC 3339 in UTC with milliseconds.
create function rfc3339(t timestamptz) returns text
language sql immutable strict parallel safe as $$
    select to_char(t at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;

-- A pending registration stops holding its email and phone once its latest code has expired
-- and it has been idle for `hold_secs` (PENDING_HOLD_SECS).
create function is_stale_pending(u users, hold_secs double precision) returns boolean
language sql stable parallel safe as $$
    select u.status <> 'active'
       and u.last_activity_at < now() - make_interval(secs => hold_secs)
       and not exists (select 1 from one_time_codes c
                       where c.user_id = u.id and c.purpose = 'activation'
                         and c.expires_at > now())
$$;

