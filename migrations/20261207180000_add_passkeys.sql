-- Passkeys (WebAuthn): a person's registered credentials, and the ceremonies in progress.

-- `credential` is webauthn-rs's `Passkey` as JSON: the credential id, its public key and the
-- signature counter (no secret: a dump of this table signs nothing). `credential_id` repeats the
-- id so a sign-in without an email finds its row.
create table passkeys (
    id uuid primary key default gen_random_uuid(),
    user_id uuid not null references users (id) on delete cascade,
    credential_id bytea not null unique,
    name text not null,
    credential jsonb not null,
    created_at timestamptz not null default now(),
    last_used_at timestamptz,
    constraint passkeys_name_length check (char_length(name) between 1 and 64)
);
create index passkeys_user on passkeys (user_id);

-- A registration or an authentication begun on any replica and finished on any other: the
-- browser holds the token, only its SHA-256 is kept; the row is deleted when it is finished
-- (used once) and is no use after `expires_at`. `user_id` is the account registering or being
-- asked for its second step; `challenge_hash` ties a second step to its sign-in challenge.
create table webauthn_ceremonies (
    token_hash bytea primary key,
    purpose text not null,
    user_id uuid references users (id) on delete cascade,
    challenge_hash bytea references sign_in_challenges (token_hash) on delete cascade,
    state jsonb not null,
    expires_at timestamptz not null,
    created_at timestamptz not null default now(),
    constraint webauthn_ceremonies_purpose_check
        check (purpose in ('register', 'login', 'second_factor'))
);
create index webauthn_ceremonies_expires on webauthn_ceremonies (expires_at);
