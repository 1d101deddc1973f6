-- Administration: a role per account, a `disabled` status, the last sign-in, a search column
-- for the users table, and the audit log of administrative acts.

create extension if not exists pg_trgm;

alter table users
    add column role text not null default 'user',
    add column last_login_at timestamptz,
    add column disabled_at timestamptz,
    add column disabled_reason text,
    -- Names, email and the phone's digits, lower-cased: what the administrators' search reads.
    add column search_text text generated always as (
        lower(first_name || ' ' || last_name || ' ' || email || ' '
              || regexp_replace(phone_number, '[^0-9]', '', 'g'))
    ) stored,
    add constraint users_role_check check (role in ('user', 'admin'));

alter table users drop constraint users_status_check;
alter table users add constraint users_status_check
    check (status in ('pending', 'active', 'locked', 'disabled'));
alter table users add constraint users_disabled_has_reason
    check ((status = 'disabled') = (disabled_at is not null and disabled_reason is not null));

create index users_search on users using gin (search_text gin_trgm_ops);
create index users_created on users (created_at, id);
create index users_admins on users (id) where role = 'admin';

-- A disabled registration never gives way to a new one: its email and phone stay taken.
create or replace function is_stale_pending(u users, hold_secs double precision) returns boolean
language sql stable parallel safe as $$
    select u.status in ('pending', 'locked')
       and u.last_activity_at < now() - make_interval(secs => hold_secs)
       and not exists (select 1 from one_time_codes c
                       where c.user_id = u.id and c.purpose = 'activation'
                         and c.expires_at > now())
$$;

-- One row per administrative act, written in the transaction of the act. No foreign keys: a
-- row outlives its actor and its target, whose email is copied at the time of the act.
create table audit_log (
    id bigint generated always as identity primary key,
    at timestamptz not null default now(),
    -- `administrator` (a signed-in account) or `command_line` (the server binary).
    actor_kind text not null,
    actor_id uuid,
    actor_email text,
    action text not null,
    target_id uuid,
    target_email text,
    ip text,
    details jsonb not null default '{}',
    constraint audit_log_actor_kind_check check (actor_kind in ('administrator', 'command_line'))
);
create index audit_log_at on audit_log (at desc, id desc);
create index audit_log_actor on audit_log (actor_id, at desc);
create index audit_log_target on audit_log (target_id, at desc);
