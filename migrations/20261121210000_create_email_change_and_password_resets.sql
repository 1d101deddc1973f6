-- Email changes use the one-time-code table: the code goes to the new address, kept here until
-- it is confirmed.
alter table verification_codes add column new_email text;
alter table verification_codes drop constraint verification_codes_purpose_check;
alter table verification_codes add constraint verification_codes_purpose_check
    check (purpose in ('activation', 'email_change'));
alter table verification_codes add constraint verification_codes_new_email_check
    check ((purpose = 'email_change') = (new_email is not null));

-- Password resets are keyed by the address asked for, known or not: an unknown address gets a
-- row too (with no account and a code nobody receives), so the reset endpoints answer the same
-- way whether or not an account exists.
create table password_resets (
    email_key text primary key,
    user_id uuid references users (id) on delete cascade,
    code_hash bytea not null,
    attempts integer not null default 0,
    issued_at timestamptz not null default now(),
    expires_at timestamptz not null
);
create index password_resets_expires on password_resets (expires_at);
