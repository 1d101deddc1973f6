//! Hostile input: every `/api` endpoint answers arbitrary JSON, malformed bodies, arbitrary
//! credentials and arbitrary query strings without a 5xx, and every refusal is JSON with a
//! string `error` code. The administrators' endpoints never answer 2xx to anyone but an
//! administrator and never refuse an administrator's real token as `unauthenticated` or
//! `forbidden`; afterwards the audit log holds one row for each act answered 2xx and none for
//! a refused one, and nothing is half-written.
//!
//! The cases come from proptest strategies with a fixed seed, so a failure reproduces. They are
//! generated up front and then sent one at a time from the async test: proptest's runner is
//! synchronous, and sequential requests never leave a request waiting for a hashing slot (that
//! 503 would be the server's choice, not a client mistake). About 2,600 requests in all: 560
//! anonymous, 320 Basic-Auth, 850 signed-in, 444 administrators', 480 malformed bodies.

use std::collections::HashMap;

use base64::{
    Engine as _,
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
};
use proptest::{
    collection,
    prelude::{BoxedStrategy, Just, Strategy, any},
    prop_oneof,
    sample::{Index, select},
    strategy::{Union, ValueTree},
    string::string_regex,
    test_runner::{Config, RngAlgorithm, TestRng, TestRunner},
};
use reqwest::{
    Method, Url,
    header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, HeaderMap, HeaderValue},
};
use serde_json::Value;
use uuid::Uuid;

use crate::helpers::{Person, TestApp, basic, spawn_app, spawn_app_with};

// ---------------------------------------------------------------------------------------------
// The endpoints
// ---------------------------------------------------------------------------------------------

/// What a field holds, so that nearly right values get past parsing to the deeper rules.
#[derive(Clone, Copy, Debug)]
enum Field {
    Name,
    Email,
    Phone,
    Password,
    Code,
    SessionId,
    /// An account id: mostly one of [`Records::users`].
    UserId,
    /// `user` or `admin`, nearly.
    Role,
    /// Why an administrator disables an account: 1 to 500 characters.
    Reason,
    /// The id of a queued email, a JSON number: mostly one of [`Records::outbox`].
    EmailId,
}

/// How an endpoint authenticates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Access {
    Anonymous,
    Basic,
    SignedIn,
    /// A signed-in administrator.
    Admin,
}

struct Post {
    path: &'static str,
    access: Access,
    fields: &'static [(&'static str, Field)],
    /// Requests with a JSON object body.
    cases: usize,
}

const POSTS: &[Post] = &[
    Post {
        path: "/api/register",
        access: Access::Anonymous,
        fields: &[
            ("first_name", Field::Name),
            ("last_name", Field::Name),
            ("email", Field::Email),
            ("phone_number", Field::Phone),
            ("password", Field::Password),
        ],
        cases: 150,
    },
    Post {
        path: "/api/activate",
        access: Access::Basic,
        fields: &[("code", Field::Code)],
        cases: 200,
    },
    Post {
        path: "/api/resend-code",
        access: Access::Basic,
        fields: &[],
        cases: 120,
    },
    Post {
        path: "/api/login",
        access: Access::Anonymous,
        fields: &[("email", Field::Email), ("password", Field::Password)],
        cases: 80,
    },
    Post {
        path: "/api/token",
        access: Access::Anonymous,
        fields: &[("email", Field::Email), ("password", Field::Password)],
        cases: 80,
    },
    Post {
        path: "/api/logout",
        access: Access::SignedIn,
        fields: &[],
        cases: 40,
    },
    Post {
        path: "/api/update-profile",
        access: Access::SignedIn,
        fields: &[
            ("first_name", Field::Name),
            ("last_name", Field::Name),
            ("phone_number", Field::Phone),
        ],
        cases: 130,
    },
    Post {
        path: "/api/change-password",
        access: Access::SignedIn,
        fields: &[
            ("current_password", Field::Password),
            ("new_password", Field::Password),
        ],
        cases: 90,
    },
    Post {
        path: "/api/revoke-session",
        access: Access::SignedIn,
        fields: &[("session_id", Field::SessionId)],
        cases: 80,
    },
    Post {
        path: "/api/change-email",
        access: Access::SignedIn,
        fields: &[("new_email", Field::Email), ("password", Field::Password)],
        cases: 90,
    },
    Post {
        path: "/api/confirm-email",
        access: Access::SignedIn,
        fields: &[("code", Field::Code)],
        cases: 80,
    },
    Post {
        path: "/api/request-password-reset",
        access: Access::Anonymous,
        fields: &[("email", Field::Email)],
        cases: 100,
    },
    Post {
        path: "/api/reset-password",
        access: Access::Anonymous,
        fields: &[
            ("email", Field::Email),
            ("code", Field::Code),
            ("new_password", Field::Password),
        ],
        cases: 100,
    },
    Post {
        path: "/api/delete-account",
        access: Access::SignedIn,
        fields: &[("password", Field::Password)],
        cases: 70,
    },
    Post {
        path: "/api/admin/disable-user",
        access: Access::Admin,
        fields: &[("user_id", Field::UserId), ("reason", Field::Reason)],
        cases: 50,
    },
    Post {
        path: "/api/admin/enable-user",
        access: Access::Admin,
        fields: &[("user_id", Field::UserId)],
        cases: 50,
    },
    Post {
        path: "/api/admin/set-role",
        access: Access::Admin,
        fields: &[("user_id", Field::UserId), ("role", Field::Role)],
        cases: 50,
    },
    Post {
        path: "/api/admin/resend-activation",
        access: Access::Admin,
        fields: &[("user_id", Field::UserId)],
        cases: 50,
    },
    Post {
        path: "/api/admin/delete-user",
        access: Access::Admin,
        fields: &[("user_id", Field::UserId)],
        cases: 16,
    },
    Post {
        path: "/api/admin/retry-email",
        access: Access::Admin,
        fields: &[("id", Field::EmailId)],
        cases: 40,
    },
];

/// What a query parameter of an administrators' GET holds.
#[derive(Clone, Copy, Debug)]
enum Param {
    /// `limit` or `offset`.
    Number,
    /// The users table's search: words, part of a name, email or phone number.
    Search,
    /// One of these spellings.
    Choice(&'static [&'static str]),
    /// An account, by id or email address.
    Party,
    /// An account id.
    UserId,
}

struct Get {
    path: &'static str,
    params: &'static [(&'static str, Param)],
    cases: usize,
}

/// The administrators' GET endpoints and their query parameters.
const ADMIN_GETS: &[Get] = &[
    Get {
        path: "/api/admin/users",
        params: &[
            ("q", Param::Search),
            (
                "status",
                Param::Choice(&["pending", "active", "locked", "disabled"]),
            ),
            ("role", Param::Choice(&["user", "admin"])),
            (
                "sort",
                Param::Choice(&["newest", "oldest", "name", "email"]),
            ),
            ("limit", Param::Number),
            ("offset", Param::Number),
        ],
        cases: 70,
    },
    Get {
        path: "/api/admin/user",
        params: &[("id", Param::UserId)],
        cases: 40,
    },
    Get {
        path: "/api/admin/audit-log",
        params: &[
            ("actor", Param::Party),
            ("target", Param::Party),
            ("limit", Param::Number),
            ("offset", Param::Number),
        ],
        cases: 50,
    },
    Get {
        path: "/api/admin/outbox",
        params: &[
            (
                "status",
                Param::Choice(&["pending", "sent", "expired", "dead"]),
            ),
            ("limit", Param::Number),
            ("offset", Param::Number),
        ],
        cases: 30,
    },
];

/// The signed-in GET endpoints and how many query strings each gets.
const SIGNED_IN_GETS: &[(&str, usize)] = &[
    ("/api/profile", 40),
    ("/api/sessions", 40),
    ("/api/security-events", 100),
    ("/api/export-account", 40),
    ("/api/current-user", 50),
];

/// Query strings for `GET /api/status`.
const STATUS_CASES: usize = 50;

/// Malformed bodies per POST endpoint.
const MALFORMED_CASES: usize = 24;

/// Let hostile sign-ins and registrations reach the deeper rules instead of the IP limits.
const NO_IP_LIMITS: &[(&str, &str)] = &[
    ("RATE_LIMIT_REGISTER_PER_IP", "0"),
    ("RATE_LIMIT_LOGIN_PER_IP", "0"),
];

const JSON: Option<&str> = Some("application/json");

// ---------------------------------------------------------------------------------------------
// Awkward text
// ---------------------------------------------------------------------------------------------

/// Fragments parsers, databases and templates trip over.
const FRAGMENTS: &[&str] = &[
    "",
    " ",
    "\u{0}",
    "\t",
    "\r\n",
    "\u{7f}",
    "\u{85}",
    "\u{a0}",
    "\u{ad}",
    "\u{200b}",
    "\u{200d}",
    "\u{202e}",
    "\u{2066}",
    "\u{2028}",
    "\u{feff}",
    "\u{fffd}",
    "\u{ffff}",
    "\u{e000}",
    "\u{10ffff}",
    "\u{301}",
    "e\u{301}",
    "\u{fe0f}",
    "\u{1f980}",
    "\u{1f469}\u{200d}\u{1f469}\u{200d}\u{1f467}",
    "\u{1d552}",
    "\u{1c5}",
    "\u{130}",
    "\u{df}",
    "\u{fb03}",
    "\u{663}",
    "\u{ff13}",
    "\\",
    "\"",
    "'",
    "`",
    "%",
    "%00",
    "%s%n",
    "{{",
    "}}",
    "${x}",
    "<script>",
    "' or 1=1 --",
    "@",
    "@@",
    "..",
    "+",
    "00",
    "-1",
    "1e308",
    "NaN",
    "null",
    "[]",
    "{}",
    ":",
    ";",
    "=",
    "&",
    "#",
    "?",
    "../",
];

const TLDS: &[&str] = &[
    "com", "example", "co.uk", "xn--p1ai", "c", "", "com.", "рф", "123",
];

const EMAILS: &[&str] = &[
    "ada@example.com",
    "ADA@EXAMPLE.COM",
    " ada@example.com ",
    "ada@localhost",
    "\"ada lovelace\"@example.com",
    "\"a\\\"b\"@example.com",
    "ada@[127.0.0.1]",
    "ada@[IPv6:::1]",
    "ada@example.com.",
    ".ada@example.com",
    "ada..lovelace@example.com",
    "ada@-example.com",
    "ada@exa_mple.com",
    "用户@例子.广告",
    "ada+tag@example.com",
    "ada%example.com@example.org",
    "@example.com",
    "ada@",
    "ada",
    "ada@@example.com",
    "ada@example.com\u{0}",
    "ada\u{0}@example.com",
    "ada@exam\u{202e}ple.com",
    "reject@example.com",
    "ada@example.com\r\nBcc: eve@example.com",
];

const PHONES: &[&str] = &[
    "",
    "+",
    "++44 20 7946 0958",
    "+44 20 7946 0958 ext. 1234",
    "+44 (0) 20 7946 0958",
    "tel:+44-20-7946-0958",
    "+1 202 555 0143",
    "+999 1234567",
    "00442079460958",
    "+44 20 7946 0958\u{0}",
    "+٤٤ ٢٠ ٧٩٤٦ ٠٩٥٨",
    "+44\u{202e}2079460958",
    "911",
    "+800 1234 5678",
];

const PASSWORDS: &[&str] = &[
    "password",
    "Password123",
    "12345678",
    "        ",
    "\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}",
    "correct horse battery staple",
    "pässwörd ünïcödé",
    "🦀🦀🦀🦀🦀🦀🦀🦀",
];

const CODES: &[&str] = &[
    "",
    " 1234 ",
    "12 34",
    "-123",
    "+123",
    "0x1F",
    "1e3",
    "1234\u{0}",
    "00000",
    "999999999999999999999",
    "١٢٣٤",
    "¹²³⁴",
    "𝟏𝟐𝟑𝟒",
];

const ROLES: &[&str] = &[
    "user",
    "admin",
    " admin ",
    "ADMIN",
    "Admin",
    "admin\u{0}",
    "admin\u{200b}",
    "\u{430}dmin",
    "administrator",
    "admins",
    "root",
    "superuser",
    "user,admin",
    "",
];

const REASONS: &[&str] = &[
    "Spam",
    "fraud reported by the bank",
    " ",
    "\u{3000}",
    "\u{0}",
    "reason\u{0}",
    "{{ user.email }}",
    "<b>bold</b>",
    "'; drop table users; --",
    "\\u0000",
];

/// Searches of the users table: words, parts of names, addresses and phone numbers.
const SEARCHES: &[&str] = &[
    "ada",
    "Ada Lovelace",
    "LOVELACE ada",
    "example.com",
    "@",
    "%",
    "_",
    "\\",
    "020 7",
    "+44 20 7946 0958",
    "0044 20",
    "(20) 79",
    "44",
    "٤٤٢٠",
    "+",
    "--",
    "a b c d e f g h i",
];

/// JSON numbers, all valid syntax, some out of every Rust type's range.
const NUMBERS: &[&str] = &[
    "0",
    "-0",
    "-0.0",
    "0e0",
    "-0e-0",
    "1",
    "-1",
    "1.5",
    "1E+2",
    "1e308",
    "-1e308",
    "1e309",
    "-1e309",
    "1e-400",
    "5e-324",
    "4294967295",
    "4294967296",
    "-2147483649",
    "9223372036854775808",
    "-9223372036854775809",
    "18446744073709551615",
    "18446744073709551616",
    "123456789012345678901234567890123456789",
    "0.30000000000000004",
];

/// Keys for extra members and nested objects: known fields in the wrong place and near-misses.
const KEYS: &[&str] = &[
    "email",
    "password",
    "first_name",
    "phone_number",
    "code",
    "new_password",
    "session_id",
    "user_id",
    "status",
    "email_verified_at",
    "password_hash",
    "__proto__",
    "constructor",
    "",
    "\u{0}",
    "email ",
    "EMAIL",
    "email\u{0}",
];

/// Bodies that are not a JSON object, or not JSON at all.
const MALFORMED: &[&str] = &[
    "",
    " ",
    "\n",
    "{",
    "}",
    "[",
    "{\"",
    "{\"email\"",
    "{\"email\":",
    "{\"email\":}",
    "{,}",
    "{\"a\":1,}",
    "[1,]",
    "{'email':'a'}",
    "{email:1}",
    "nul",
    "tru",
    "NaN",
    "Infinity",
    "-Infinity",
    "01",
    "1.",
    ".5",
    "+1",
    "0x10",
    "\u{feff}{}",
    "{}{}",
    "{} x",
    "\"\\ud800\"",
    "{\"code\":\"\\ud800\"}",
    "{\"code\":\"\\udc00\\ud800\"}",
    "{\"code\":\"\\u0000\"}",
    "{\"email\":\"\\u0000@example.com\",\"password\":\"x\"}",
    "\"unterminated",
    "{\"code\":\"\\x41\"}",
    "{\"a\":1}\u{0}",
    "/* c */{}",
    "null",
    "true",
    "false",
    "0",
    "-0",
    "1e309",
    "[]",
    "[{}]",
    "\"\"",
    "{}",
];

const CONTENT_TYPES: &[Option<&str>] = &[
    Some("application/json"),
    Some("application/json"),
    Some("application/json"),
    Some("application/json"),
    Some("application/json; charset=utf-8"),
    Some("application/json; charset=utf-16"),
    Some("text/plain"),
    Some("application/x-www-form-urlencoded"),
    Some("multipart/form-data; boundary=x"),
    Some("application/cbor"),
    Some(""),
    None,
];

const SCHEMES: &[&str] = &[
    "Basic ",
    "Bearer ",
    "basic ",
    "BEARER ",
    "Basic",
    "Bearer",
    "Basic  ",
    " Bearer ",
    "Bearer\t",
    "Digest ",
    "Negotiate ",
    "Token ",
    "Basic Basic ",
    "",
];

/// Ways of writing the real token: (before, after). Some still work, most do not.
const TOKEN_SPELLINGS: &[(&str, &str)] = &[
    ("bearer ", ""),
    ("BEARER   ", "  "),
    ("Bearer ", "\t"),
    ("Bearer ", "x"),
    ("Bearer x", ""),
    ("Bearer ", " extra"),
    ("Basic ", ""),
    ("Token ", ""),
    ("", ""),
];

/// Query keys written raw: the structure a query-string parser has to make sense of.
const QUERY_KEYS: &[&str] = &[
    "limit",
    "offset",
    "limit",
    "offset",
    "limit[]",
    "offset[]",
    "limit[0]",
    "limit[a]",
    "limit[][]",
    "a[b][c][d][e][f][g][h]",
    "[",
    "]",
    "[]",
    "limit]",
    "limit[",
    "",
    "%",
    "%zz",
    "%00",
    "%FF",
    "lim%69t",
    "LIMIT",
    "+limit",
    "limit%00",
    "limit=1",
];

/// Query values written raw: broken escapes, escapes of invalid UTF-8, separators.
const RAW_QUERY_VALUES: &[&str] = &[
    "",
    "%",
    "%zz",
    "%ff%fe",
    "%00",
    "%E2%80%AE",
    "%C0%80",
    "+",
    "+5",
    "5+",
    "1%2B1",
    "[]",
    "a=b",
    "&",
    "&&",
    "1&limit=2",
];

type Text = BoxedStrategy<String>;
type Bytes = BoxedStrategy<Vec<u8>>;
/// A JSON object member: the key as text, the value as JSON text.
type Member = (String, String);

fn regex(pattern: &str) -> Text {
    string_regex(pattern).expect("a valid pattern").boxed()
}

fn fixed(values: &'static [&'static str]) -> Text {
    select(values).prop_map(str::to_owned).boxed()
}

/// One awkward piece: plain ASCII, a known troublemaker, any code point, control characters
/// (NUL included), lone combining marks, or bidirectional overrides.
fn piece() -> Text {
    prop_oneof![
        3 => regex(r"[a-zA-Z0-9._+-]{1,12}"),
        2 => fixed(FRAGMENTS),
        2 => regex(r"(?s).{1,12}"),
        1 => regex(r"[\x{0}-\x{1F}\x{7F}-\x{9F}]{1,6}"),
        1 => regex(r"[\x{300}-\x{36F}\x{1AB0}-\x{1AFF}\x{20D0}-\x{20FF}\x{FE20}-\x{FE2F}]{1,6}"),
        1 => regex(r"[\x{61C}\x{200E}\x{200F}\x{202A}-\x{202E}\x{2066}-\x{2069}]{1,4}"),
    ]
    .boxed()
}

fn maybe_piece() -> Text {
    prop_oneof![3 => Just(String::new()), 1 => piece()].boxed()
}

/// Up to six awkward pieces in a row.
fn hostile_text() -> Text {
    collection::vec(piece(), 0..6)
        .prop_map(|parts| parts.concat())
        .boxed()
}

/// 1,000 to 5,000 characters: an awkward unit, repeated.
fn long_text() -> Text {
    (collection::vec(piece(), 1..4), 1000usize..=5000)
        .prop_map(|(parts, length)| {
            let unit = parts.concat();
            if unit.is_empty() {
                "x".repeat(length)
            } else {
                unit.chars().cycle().take(length).collect()
            }
        })
        .boxed()
}

/// An account id in every spelling `Uuid::parse_str` reads, and some it does not: mostly one
/// of `users` (when there are any), else any id.
fn user_id(users: &[Uuid]) -> Text {
    let id = if users.is_empty() {
        any::<u128>().prop_map(Uuid::from_u128).boxed()
    } else {
        prop_oneof![
            6 => select(users.to_vec()),
            1 => any::<u128>().prop_map(Uuid::from_u128),
        ]
        .boxed()
    };
    prop_oneof![
        8 => id.clone().prop_map(|id| id.to_string()),
        1 => id.clone().prop_map(|id| id.braced().to_string()),
        1 => id.clone().prop_map(|id| id.urn().to_string()),
        1 => id.clone().prop_map(|id| id.simple().to_string().to_uppercase()),
        1 => (maybe_piece(), id.clone(), maybe_piece())
            .prop_map(|(before, id, after)| format!("{before}{id}{after}")),
        1 => (id, 1usize..36).prop_map(|(id, cut)| id.to_string()[..cut].to_owned()),
        1 => regex(r"[0-9a-fA-F{}-]{0,40}"),
        1 => fixed(&[
            "00000000-0000-0000-0000-000000000000",
            "ffffffff-ffff-ffff-ffff-ffffffffffff",
            "me",
            "admin",
        ]),
    ]
    .boxed()
}

/// The id of a queued email as a JSON number: mostly one of `outbox`, else small, negative,
/// huge, fractional or out of `i64`'s range.
fn email_id(outbox: &[i64]) -> Text {
    let real = if outbox.is_empty() {
        (1i64..50).boxed()
    } else {
        select(outbox.to_vec()).boxed()
    };
    prop_oneof![
        6 => real.clone().prop_map(|id| id.to_string()),
        2 => (-3i64..100).prop_map(|id| id.to_string()),
        1 => any::<i64>().prop_map(|id| id.to_string()),
        1 => real.prop_map(|id| format!("{id}.0")),
        1 => fixed(NUMBERS),
    ]
    .boxed()
}

/// Values that are nearly right for `field`, often exactly right, so that requests get past
/// the first parser.
fn plausible(field: Field, records: &Records) -> Text {
    match field {
        Field::Name => prop_oneof![
            regex(r"[A-Za-z' -]{1,30}"),
            regex(r"(?s).{1,101}"),
            (regex(r"[A-Za-z]{1,10}"), piece()).prop_map(|(name, extra)| name + &extra),
        ]
        .boxed(),
        Field::Email => prop_oneof![
            4 => (
                maybe_piece(),
                regex(r"[a-zA-Z0-9._%+-]{1,20}"),
                maybe_piece(),
                regex(r"[a-z0-9-]{1,12}"),
                fixed(TLDS),
                maybe_piece(),
            )
                .prop_map(|(before, local, inside, domain, tld, after)| {
                    format!("{before}{local}{inside}@{domain}.{tld}{after}")
                }),
            1 => fixed(EMAILS),
            1 => (1usize..400).prop_map(|n| format!("{}@example.com", "a".repeat(n))),
        ]
        .boxed(),
        Field::Phone => prop_oneof![
            (0u32..10_000_000).prop_map(|n| format!("+44 20 7{n:07}")),
            (maybe_piece(), 0u32..10_000_000, maybe_piece())
                .prop_map(|(before, n, after)| format!("{before}020 7{n:07}{after}")),
            regex(r"[+0-9 ().-]{0,30}"),
            regex(r"\+[0-9]{1,30}"),
            regex(r"[\x{660}-\x{669}]{6,15}"),
            regex(r"[\x{FF10}-\x{FF19}]{6,15}"),
            fixed(PHONES),
        ]
        .boxed(),
        Field::Password => prop_oneof![
            3 => regex(r"(?s).{8,40}"),
            1 => regex(r"(?s).{0,7}"),
            1 => regex(r"(?s).{120,135}"),
            1 => fixed(PASSWORDS),
            2 => hostile_text(),
        ]
        .boxed(),
        Field::Code => prop_oneof![
            3 => regex(r"[0-9]{4}"),
            1 => regex(r"[0-9]{6}"),
            1 => regex(r"[0-9]{0,12}"),
            1 => regex(r"[\x{660}-\x{669}]{4}"),
            1 => regex(r"[\x{FF10}-\x{FF19}]{4}"),
            1 => (maybe_piece(), regex(r"[0-9]{4}"), maybe_piece())
                .prop_map(|(before, code, after)| format!("{before}{code}{after}")),
            1 => fixed(CODES),
        ]
        .boxed(),
        Field::SessionId => prop_oneof![
            any::<u128>().prop_map(|n| Uuid::from_u128(n).to_string()),
            any::<u128>().prop_map(|n| Uuid::from_u128(n).braced().to_string()),
            any::<u128>().prop_map(|n| Uuid::from_u128(n).urn().to_string()),
            any::<u128>().prop_map(|n| Uuid::from_u128(n).simple().to_string().to_uppercase()),
            (maybe_piece(), any::<u128>(), maybe_piece())
                .prop_map(|(before, n, after)| format!("{before}{}{after}", Uuid::from_u128(n))),
            regex(r"[0-9a-fA-F{}-]{0,40}"),
            fixed(&[
                "00000000-0000-0000-0000-000000000000",
                "ffffffff-ffff-ffff-ffff-ffffffffffff",
                "max",
                "nil",
            ]),
        ]
        .boxed(),
        Field::UserId => user_id(&records.users),
        Field::Role => prop_oneof![
            4 => fixed(&["user", "admin"]),
            2 => fixed(ROLES),
            1 => (maybe_piece(), fixed(&["user", "admin"]), maybe_piece())
                .prop_map(|(before, role, after)| format!("{before}{role}{after}")),
        ]
        .boxed(),
        Field::Reason => prop_oneof![
            4 => regex(r"[A-Za-z0-9 .,'!?-]{1,80}"),
            1 => fixed(REASONS),
            1 => regex(r"(?s).{1,40}"),
            1 => regex(r"[a-z ]{495,505}"),
            1 => regex(r"(?s).{490,510}"),
            1 => regex(r"[ \t\r\n\x{a0}\x{3000}\x{feff}]{0,6}"),
            2 => hostile_text(),
        ]
        .boxed(),
        // As text: `nearly_right` sends it as a JSON string now and then.
        Field::EmailId => email_id(&records.outbox),
    }
}

// ---------------------------------------------------------------------------------------------
// JSON
// ---------------------------------------------------------------------------------------------

fn json_string(text: &str) -> String {
    Value::from(text).to_string()
}

/// `text` as a JSON string of at most `max_bytes` (escapes counted): long values stay long,
/// but a whole body stays under the 64 KiB limit.
fn capped_json_string(text: &str, max_bytes: usize) -> String {
    let mut kept = String::new();
    let mut size = 0;
    for c in text.chars() {
        let mut one = [0u8; 4];
        let escaped = json_string(c.encode_utf8(&mut one)).len() - 2;
        if size + escaped > max_bytes {
            break;
        }
        size += escaped;
        kept.push(c);
    }
    json_string(&kept)
}

fn json_object(members: &[Member]) -> String {
    let members: Vec<String> = members
        .iter()
        .map(|(key, value)| format!("{}:{value}", json_string(key)))
        .collect();
    format!("{{{}}}", members.join(","))
}

fn json_key() -> Text {
    prop_oneof![2 => fixed(KEYS), 1 => hostile_text()].boxed()
}

/// Any JSON scalar: integers of every width, floats, numbers no Rust type holds, booleans,
/// null, hostile strings.
fn json_scalar() -> Text {
    prop_oneof![
        1 => any::<i64>().prop_map(|n| n.to_string()),
        1 => any::<u64>().prop_map(|n| n.to_string()),
        1 => any::<i128>().prop_map(|n| n.to_string()),
        1 => any::<f64>().prop_map(|x| {
            if x.is_finite() {
                format!("{x:e}")
            } else {
                "1e308".to_owned()
            }
        }),
        2 => fixed(NUMBERS),
        1 => any::<bool>().prop_map(|b| b.to_string()),
        1 => Just("null".to_owned()),
        2 => hostile_text().prop_map(|text| json_string(&text)),
    ]
    .boxed()
}

/// Any JSON value, as text: scalars, arrays and objects nested up to three deep.
fn json_value() -> Text {
    json_scalar()
        .prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                collection::vec(inner.clone(), 0..5)
                    .prop_map(|items| format!("[{}]", items.join(","))),
                collection::vec((json_key(), inner), 0..5)
                    .prop_map(|members| json_object(&members)),
            ]
        })
        .boxed()
}

/// A nearly right value of `field` as JSON: a string, except that an email id is mostly a
/// number.
fn nearly_right(field: Field, records: &Records) -> Text {
    let text = plausible(field, records).prop_map(|text| json_string(&text));
    match field {
        Field::EmailId => prop_oneof![4 => email_id(&records.outbox), 1 => text].boxed(),
        _ => text.boxed(),
    }
}

/// The value of a known field: nearly right, hostile text, very long, or the wrong type.
fn field_value(field: Field, records: &Records) -> Text {
    prop_oneof![
        6 => nearly_right(field, records),
        3 => hostile_text().prop_map(|text| json_string(&text)),
        1 => long_text().prop_map(|text| capped_json_string(&text, 9_000)),
        3 => json_value(),
    ]
    .boxed()
}

/// A JSON object with every field of the endpoint, each nearly right, and nothing else: the
/// administrators' acts need all their fields right to reach the state of their target.
fn plausible_body(fields: &'static [(&'static str, Field)], records: &Records) -> Bytes {
    let members: Vec<BoxedStrategy<Member>> = fields
        .iter()
        .map(|&(name, field)| {
            nearly_right(field, records)
                .prop_map(move |value| (name.to_owned(), value))
                .boxed()
        })
        .collect();
    members
        .prop_map(|members| json_object(&members).into_bytes())
        .boxed()
}

/// A JSON object with the endpoint's fields (each may be missing), up to two unknown keys and
/// sometimes a known key twice.
fn object_body(fields: &'static [(&'static str, Field)], records: &Records) -> Bytes {
    let known: Vec<BoxedStrategy<Option<Member>>> = fields
        .iter()
        .map(|&(name, field)| {
            prop_oneof![
                1 => Just(None::<Member>),
                5 => field_value(field, records)
                    .prop_map(move |value| Some((name.to_owned(), value))),
            ]
            .boxed()
        })
        .collect();
    let extra = collection::vec((json_key(), json_value()), 0..3);
    let repeated: BoxedStrategy<Option<Member>> = if fields.is_empty() {
        Just(None::<Member>).boxed()
    } else {
        prop_oneof![
            4 => Just(None::<Member>),
            1 => (select(fields), json_value())
                .prop_map(|((name, _), value)| Some((name.to_owned(), value))),
        ]
        .boxed()
    };
    (known, extra, repeated)
        .prop_map(|(known, extra, repeated)| {
            let mut members: Vec<Member> = known.into_iter().flatten().collect();
            members.extend(extra);
            members.extend(repeated);
            json_object(&members).into_bytes()
        })
        .boxed()
}

/// Bodies that are not a JSON object: other JSON values, invalid JSON, random bytes, nesting
/// past any parser's limit, trailing junk, truncations, invalid UTF-8, UTF-16.
fn malformed_body() -> Bytes {
    prop_oneof![
        2 => json_scalar().prop_map(String::into_bytes),
        2 => collection::vec(json_value(), 0..4)
            .prop_map(|items| format!("[{}]", items.join(",")).into_bytes()),
        2 => collection::vec(any::<u8>(), 0..512),
        3 => select(MALFORMED).prop_map(|text| text.as_bytes().to_vec()),
        1 => (1usize..300)
            .prop_map(|depth| format!("{}{}", "[".repeat(depth), "]".repeat(depth)).into_bytes()),
        1 => (1usize..300).prop_map(|depth| {
            format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth)).into_bytes()
        }),
        1 => (json_value(), collection::vec(any::<u8>(), 1..16))
            .prop_map(|(value, junk)| [value.into_bytes(), junk].concat()),
        1 => (json_value(), any::<Index>()).prop_map(|(value, cut)| {
            let bytes = value.into_bytes();
            let end = cut.index(bytes.len() + 1);
            bytes[..end].to_vec()
        }),
        1 => collection::vec(any::<u8>(), 1..32).prop_map(|junk| {
            [
                b"{\"email\":\"".as_slice(),
                junk.as_slice(),
                b"\",\"code\":\"1234\"}".as_slice(),
            ]
            .concat()
        }),
        1 => Just(vec![0xFF, 0xFE, b'{', 0, b'}', 0]),
    ]
    .boxed()
}

// ---------------------------------------------------------------------------------------------
// Credentials and query strings
// ---------------------------------------------------------------------------------------------

/// Who a request claims to be.
#[derive(Clone, Debug)]
enum Credentials {
    Anonymous,
    /// The real bearer token of an activated person.
    Token,
    /// The real token, written as `TOKEN_SPELLINGS[i]` says.
    TokenSpelled(usize),
    /// The real bearer token of an administrator.
    AdminToken,
    /// The administrator's token, written as `TOKEN_SPELLINGS[i]` says.
    AdminTokenSpelled(usize),
    /// Basic Auth of a registered, not yet activated person.
    PendingBasic,
    /// Basic Auth of an activated person.
    ActiveBasic,
    /// Any `Authorization` header value.
    Authorization(Vec<u8>),
    /// Any `Cookie` header value.
    Cookie(Vec<u8>),
}

/// Bytes a header value may hold: visible ASCII, space, tab, and obs-text (0x80–0xFF).
fn header_byte() -> BoxedStrategy<u8> {
    prop_oneof![4 => 0x20u8..0x7f, 1 => 0x80u8..=0xff, 1 => Just(b'\t')].boxed()
}

/// Any `Authorization` value: Basic with base64 of hostile credentials or random bytes, Basic
/// with text that is not base64, Bearer with random tokens, random schemes, raw bytes, values
/// of up to 8,000 bytes. Values a header cannot hold are skipped when the request is built.
fn authorization() -> Bytes {
    prop_oneof![
        3 => (
            plausible(Field::Email, &Records::default()),
            plausible(Field::Password, &Records::default()),
        )
            .prop_map(|(email, password)| {
            format!("Basic {}", STANDARD.encode(format!("{email}:{password}"))).into_bytes()
        }),
        1 => collection::vec(any::<u8>(), 0..200)
            .prop_map(|raw| format!("Basic {}", STANDARD.encode(raw)).into_bytes()),
        1 => (fixed(SCHEMES), regex(r"[ -~]{0,120}"))
            .prop_map(|(scheme, rest)| format!("{scheme}{rest}").into_bytes()),
        1 => collection::vec(any::<u8>(), 0..64)
            .prop_map(|raw| format!("Bearer {}", URL_SAFE_NO_PAD.encode(raw)).into_bytes()),
        1 => (fixed(SCHEMES), hostile_text())
            .prop_map(|(scheme, rest)| format!("{scheme}{rest}").into_bytes()),
        1 => (regex(r"[!-~]{1,20}"), regex(r"[ -~]{0,100}"))
            .prop_map(|(scheme, rest)| format!("{scheme} {rest}").into_bytes()),
        1 => (fixed(SCHEMES), collection::vec(header_byte(), 0..120))
            .prop_map(|(scheme, raw)| [scheme.into_bytes(), raw].concat()),
        1 => (fixed(SCHEMES), regex(r"[A-Za-z0-9+/=_-]{1,4}"), 1000usize..8000).prop_map(
            |(scheme, unit, length)| {
                let mut value = scheme;
                while value.len() < length {
                    value.push_str(&unit);
                }
                value.into_bytes()
            }
        ),
        1 => hostile_text().prop_map(String::into_bytes),
    ]
    .boxed()
}

/// Any `Cookie` value, mostly naming the session cookie.
fn cookie() -> Bytes {
    prop_oneof![
        2 => regex(r"[!-~]{0,100}").prop_map(|value| format!("session={value}").into_bytes()),
        1 => collection::vec(any::<u8>(), 32)
            .prop_map(|raw| format!("session={}", URL_SAFE_NO_PAD.encode(raw)).into_bytes()),
        1 => collection::vec(header_byte(), 0..150)
            .prop_map(|raw| [b"session=".to_vec(), raw].concat()),
        1 => (regex(r"[ -~]{0,60}"), regex(r"[ -~]{0,60}"))
            .prop_map(|(a, b)| format!("session={a}; session={b}").into_bytes()),
        1 => hostile_text().prop_map(|text| format!("session={text}").into_bytes()),
        1 => collection::vec(header_byte(), 0..150),
        1 => (1usize..8000).prop_map(|n| format!("session={}", "A".repeat(n)).into_bytes()),
    ]
    .boxed()
}

/// For signed-in endpoints: mostly the real token (so hostile bodies reach the rules behind
/// authentication), else no credentials, garbage `Authorization` or garbage cookies.
fn signed_in_credentials(real_token: bool) -> BoxedStrategy<Credentials> {
    let hostile = prop_oneof![
        3 => authorization().prop_map(Credentials::Authorization),
        1 => cookie().prop_map(Credentials::Cookie),
        1 => Just(Credentials::Anonymous),
    ];
    if real_token {
        prop_oneof![
            5 => Just(Credentials::Token),
            1 => (0..TOKEN_SPELLINGS.len()).prop_map(Credentials::TokenSpelled),
            3 => hostile,
        ]
        .boxed()
    } else {
        hostile.boxed()
    }
}

/// For the Basic-Auth endpoints: real credentials of a pending or an active person, none, or
/// any `Authorization` value.
fn basic_credentials() -> BoxedStrategy<Credentials> {
    prop_oneof![
        3 => Just(Credentials::PendingBasic),
        1 => Just(Credentials::ActiveBasic),
        1 => Just(Credentials::Anonymous),
        5 => authorization().prop_map(Credentials::Authorization),
    ]
    .boxed()
}

/// For the administrators' endpoints: mostly an administrator's real token, else the token of
/// a signed-in person who is not one, no credentials, garbage `Authorization` or cookies.
fn admin_credentials() -> BoxedStrategy<Credentials> {
    prop_oneof![
        12 => Just(Credentials::AdminToken),
        1 => (0..TOKEN_SPELLINGS.len()).prop_map(Credentials::AdminTokenSpelled),
        2 => Just(Credentials::Token),
        1 => (0..TOKEN_SPELLINGS.len()).prop_map(Credentials::TokenSpelled),
        2 => authorization().prop_map(Credentials::Authorization),
        1 => cookie().prop_map(Credentials::Cookie),
        1 => Just(Credentials::Anonymous),
    ]
    .boxed()
}

fn credentials(access: Access, path: &str) -> BoxedStrategy<Credentials> {
    match access {
        Access::Anonymous => Just(Credentials::Anonymous).boxed(),
        Access::Basic => basic_credentials(),
        // Signing out with the real token would end it for every later case.
        Access::SignedIn => signed_in_credentials(path != "/api/logout"),
        Access::Admin => admin_credentials(),
    }
}

/// Every byte but unreserved ASCII as `%XX`.
fn percent_encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

fn query_key() -> Text {
    prop_oneof![
        3 => fixed(QUERY_KEYS),
        1 => hostile_text().prop_map(|text| percent_encode(&text)),
    ]
    .boxed()
}

fn query_value() -> Text {
    prop_oneof![
        2 => regex(r"-?[0-9]{0,25}"),
        2 => fixed(NUMBERS).prop_map(|n| percent_encode(&n)),
        1 => (0u32..300).prop_map(|n| n.to_string()),
        2 => hostile_text().prop_map(|text| percent_encode(&text)),
        1 => fixed(RAW_QUERY_VALUES),
    ]
    .boxed()
}

/// A query string (without `?`): pairs with raw structure (`limit[a]`, broken `%` escapes)
/// and percent-encoded hostile text. Never longer than a few KiB: the URI stays far below
/// the server's limits, whose refusals are not the app's.
fn query() -> Text {
    let pair = prop_oneof![
        4 => (query_key(), query_value()).prop_map(|(key, value)| format!("{key}={value}")),
        1 => query_key(),
    ];
    prop_oneof![
        5 => collection::vec(pair, 0..6).prop_map(|pairs| pairs.join("&")),
        1 => hostile_text().prop_map(|text| percent_encode(&text)),
        1 => (fixed(QUERY_KEYS), 1usize..200)
            .prop_map(|(key, n)| format!("{key}={}", "9".repeat(n))),
    ]
    .boxed()
}

/// A value for an administrators' query parameter, already escaped for the query string.
fn param_value(param: Param, records: &Records) -> Text {
    let text = match param {
        Param::Number => return query_value(),
        Param::Search => prop_oneof![
            3 => fixed(SEARCHES),
            2 => hostile_text(),
            1 => plausible(Field::Email, records),
            1 => plausible(Field::Phone, records),
            1 => regex(r"([a-z]{1,3} ){6,12}"),
            1 => regex(r"(?s).{190,210}"),
        ]
        .boxed(),
        Param::Choice(spellings) => prop_oneof![
            4 => fixed(spellings),
            1 => fixed(spellings).prop_map(|word| word.to_uppercase()),
            1 => (maybe_piece(), fixed(spellings), maybe_piece())
                .prop_map(|(before, word, after)| format!("{before}{word}{after}")),
            1 => hostile_text(),
        ]
        .boxed(),
        Param::Party => {
            let emails = if records.emails.is_empty() {
                plausible(Field::Email, records)
            } else {
                select(records.emails.clone()).boxed()
            };
            prop_oneof![
                3 => user_id(&records.users),
                2 => emails.clone(),
                1 => emails.prop_map(|email| email.to_uppercase()),
                1 => plausible(Field::Email, records),
                1 => (hostile_text(), hostile_text())
                    .prop_map(|(local, domain)| format!("{local}@{domain}")),
                1 => hostile_text(),
            ]
            .boxed()
        }
        Param::UserId => user_id(&records.users),
    };
    prop_oneof![
        6 => text.clone().prop_map(|text| percent_encode(&text)),
        // As a form writes it: spaces as `+`.
        1 => text.prop_map(|text| percent_encode(&text).replace("%20", "+")),
    ]
    .boxed()
}

/// A query string for one of the administrators' GETs: mostly its own parameters (each any
/// number of times, in any order), with values nearly right or hostile; sometimes a bare key,
/// or the raw structure of [`query`].
fn admin_query(params: &'static [(&'static str, Param)], records: &Records) -> Text {
    let named: Vec<Text> = params
        .iter()
        .map(|&(key, param)| {
            param_value(param, records)
                .prop_map(move |value| format!("{key}={value}"))
                .boxed()
        })
        .collect();
    let pair = prop_oneof![
        8 => Union::new(named),
        1 => select(params).prop_map(|(key, _)| key.to_owned()),
        1 => (query_key(), query_value()).prop_map(|(key, value)| format!("{key}={value}")),
    ];
    prop_oneof![
        6 => collection::vec(pair, 0..5).prop_map(|pairs| pairs.join("&")),
        1 => query(),
    ]
    .boxed()
}

// ---------------------------------------------------------------------------------------------
// Generating and sending
// ---------------------------------------------------------------------------------------------

/// A runner with a fixed seed and algorithm: the same cases on every run.
fn runner() -> TestRunner {
    TestRunner::new_with_rng(
        Config::default(),
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    )
}

fn generate<S: Strategy>(runner: &mut TestRunner, strategy: &S, count: usize) -> Vec<S::Value> {
    (0..count)
        .map(|_| {
            strategy
                .new_tree(runner)
                .expect("a generated case")
                .current()
        })
        .collect()
}

/// Records of the app under test that nearly right values point at.
#[derive(Clone, Debug, Default)]
struct Records {
    /// Accounts administrators may act on.
    users: Vec<Uuid>,
    /// Their email addresses.
    emails: Vec<String>,
    /// Ids of queued emails, mostly dead ones.
    outbox: Vec<i64>,
}

/// The real credentials and records a test holds.
#[derive(Default)]
struct Known {
    /// The bearer token of an activated person who is not an administrator.
    token: Option<String>,
    admin_token: Option<String>,
    pending: Option<Person>,
    active: Option<Person>,
    records: Records,
}

/// What an answer must show besides no 5xx and a JSON `error` code on every refusal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    Nothing,
    /// No administrator's credentials on an administrators' endpoint: a 4xx.
    Refused,
    /// An administrator's real token: never refused as `unauthenticated` or `forbidden`.
    Admitted,
}

impl Expect {
    fn of(access: Access, credentials: &Credentials) -> Self {
        match (access, credentials) {
            (Access::Admin, Credentials::AdminToken) => Self::Admitted,
            // Some spellings of the token are still the token.
            (Access::Admin, Credentials::AdminTokenSpelled(_)) => Self::Nothing,
            (Access::Admin, _) => Self::Refused,
            _ => Self::Nothing,
        }
    }
}

/// One request, ready to send.
struct Case {
    method: Method,
    url: Url,
    headers: HeaderMap,
    body: Option<Vec<u8>>,
    expect: Expect,
}

/// The answer to a case that passed the checks of [`send`].
struct Answer {
    status: reqwest::StatusCode,
    body: Vec<u8>,
}

/// The headers for `credentials`; `None` when a header cannot hold the generated value.
fn credential_headers(credentials: &Credentials, known: &Known) -> Option<HeaderMap> {
    let token = || known.token.as_deref().expect("this test holds a token");
    let admin_token = || {
        known
            .admin_token
            .as_deref()
            .expect("this test holds an administrator's token")
    };
    let person = |person: &Option<Person>| {
        let person = person.as_ref().expect("this test holds the person");
        basic(&person.email, &person.password)
    };
    let (name, value) = match credentials {
        Credentials::Anonymous => return Some(HeaderMap::new()),
        Credentials::Token => (
            AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {}", token())).ok()?,
        ),
        Credentials::TokenSpelled(index) => {
            let (before, after) = TOKEN_SPELLINGS[*index];
            (
                AUTHORIZATION,
                HeaderValue::from_str(&format!("{before}{}{after}", token())).ok()?,
            )
        }
        Credentials::AdminToken => (
            AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {}", admin_token())).ok()?,
        ),
        Credentials::AdminTokenSpelled(index) => {
            let (before, after) = TOKEN_SPELLINGS[*index];
            (
                AUTHORIZATION,
                HeaderValue::from_str(&format!("{before}{}{after}", admin_token())).ok()?,
            )
        }
        Credentials::PendingBasic => (
            AUTHORIZATION,
            HeaderValue::from_str(&person(&known.pending)).ok()?,
        ),
        Credentials::ActiveBasic => (
            AUTHORIZATION,
            HeaderValue::from_str(&person(&known.active)).ok()?,
        ),
        Credentials::Authorization(raw) => (AUTHORIZATION, HeaderValue::from_bytes(raw).ok()?),
        Credentials::Cookie(raw) => (COOKIE, HeaderValue::from_bytes(raw).ok()?),
    };
    let mut headers = HeaderMap::new();
    headers.insert(name, value);
    Some(headers)
}

fn post_case(
    app: &TestApp,
    known: &Known,
    (path, access): (&str, Access),
    credentials: &Credentials,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> Option<Case> {
    let mut headers = credential_headers(credentials, known)?;
    if let Some(content_type) = content_type {
        headers.insert(CONTENT_TYPE, HeaderValue::from_str(content_type).ok()?);
    }
    Some(Case {
        method: Method::POST,
        url: Url::parse(&app.url(path)).ok()?,
        headers,
        body: Some(body),
        expect: Expect::of(access, credentials),
    })
}

fn get_case(
    app: &TestApp,
    known: &Known,
    (path, access): (&str, Access),
    credentials: &Credentials,
    query: &str,
) -> Option<Case> {
    Some(Case {
        method: Method::GET,
        url: Url::parse(&app.url(&format!("{path}?{query}"))).ok()?,
        headers: credential_headers(credentials, known)?,
        body: None,
        expect: Expect::of(access, credentials),
    })
}

/// Bytes for a failure message: escaped, cut after 2,000 characters.
fn shown(bytes: &[u8]) -> String {
    const MAX_CHARS: usize = 2000;
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => format!("{text:?}"),
        Err(_) => format!("b\"{}\"", bytes.escape_ascii()),
    };
    if text.chars().count() <= MAX_CHARS {
        return text;
    }
    let cut: String = text.chars().take(MAX_CHARS).collect();
    format!("{cut}… ({} bytes in all)", bytes.len())
}

fn describe(method: &Method, url: &Url, headers: &HeaderMap, body: Option<&[u8]>) -> String {
    let mut text = format!("{method} {url}");
    for (name, value) in headers {
        text.push_str(&format!("\n{}: {}", name.as_str(), shown(value.as_bytes())));
    }
    if let Some(body) = body {
        text.push_str(&format!("\nbody: {}", shown(body)));
    }
    text
}

/// A client without a cookie store: every request carries only the credentials its case says.
fn plain_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client")
}

/// Sends one case and checks the answer: never a 5xx, every refusal JSON with a string
/// `error` code, and what the case expects besides.
async fn send(client: &reqwest::Client, case: &Case) -> Answer {
    let Case {
        method,
        url,
        headers,
        body,
        expect,
    } = case;
    let sent = || describe(method, url, headers, body.as_deref());
    let mut request = client
        .request(method.clone(), url.clone())
        .headers(headers.clone());
    if let Some(body) = body {
        request = request.body(body.clone());
    }
    let response = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e} for\n{}", sent()));
    let status = response.status();
    let answer = response
        .bytes()
        .await
        .unwrap_or_else(|e| panic!("unreadable answer ({e}) for\n{}", sent()));
    assert!(
        status.as_u16() < 500,
        "{status} for\n{}\nanswer: {}",
        sent(),
        shown(&answer)
    );
    let code = if status.is_success() {
        None
    } else {
        let code = serde_json::from_slice::<Value>(&answer)
            .ok()
            .and_then(|body| body.get("error").cloned());
        let Some(Value::String(code)) = code else {
            panic!(
                "{status} without a JSON `error` code for\n{}\nanswer: {}",
                sent(),
                shown(&answer)
            );
        };
        Some(code)
    };
    match expect {
        Expect::Nothing => {}
        Expect::Refused => assert!(
            status.is_client_error(),
            "{status}, not a refusal, without an administrator's credentials for\n{}\nanswer: {}",
            sent(),
            shown(&answer)
        ),
        Expect::Admitted => assert!(
            !matches!(code.as_deref(), Some("unauthenticated" | "forbidden")),
            "{status} for an administrator's real token for\n{}\nanswer: {}",
            sent(),
            shown(&answer)
        ),
    }
    Answer {
        status,
        body: answer.to_vec(),
    }
}

/// Sends the cases one after another, never concurrently, and returns how many were sent.
async fn send_all(cases: Vec<Case>) -> usize {
    let client = plain_client();
    for case in &cases {
        send(&client, case).await;
    }
    cases.len()
}

// ---------------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------------

/// register, login, token, request-password-reset, reset-password and status: 560 requests.
#[tokio::test]
async fn anonymous_endpoints_answer_hostile_json_without_a_5xx() {
    let app = spawn_app_with(NO_IP_LIMITS).await;
    let known = Known::default();
    let mut runner = runner();
    let mut cases = Vec::new();
    for post in POSTS.iter().filter(|p| p.access == Access::Anonymous) {
        let strategy = object_body(post.fields, &known.records);
        for body in generate(&mut runner, &strategy, post.cases) {
            cases.extend(post_case(
                &app,
                &known,
                (post.path, post.access),
                &Credentials::Anonymous,
                JSON,
                body,
            ));
        }
    }
    for query in generate(&mut runner, &query(), STATUS_CASES) {
        cases.extend(get_case(
            &app,
            &known,
            ("/api/status", Access::Anonymous),
            &Credentials::Anonymous,
            &query,
        ));
    }
    let sent = send_all(cases).await;
    assert!(sent >= 500, "only {sent} requests could be sent");
}

/// activate and resend-code with real, missing and hostile Basic credentials and hostile
/// bodies: 320 requests.
#[tokio::test]
async fn basic_auth_endpoints_answer_hostile_credentials_without_a_5xx() {
    let app = spawn_app_with(NO_IP_LIMITS).await;
    let pending = Person::new();
    app.register_and_get_code(&pending).await;
    let active = app.activated_person().await;
    let known = Known {
        pending: Some(pending),
        active: Some(active),
        ..Known::default()
    };
    let mut runner = runner();
    let mut cases = Vec::new();
    for post in POSTS.iter().filter(|p| p.access == Access::Basic) {
        let strategy = (
            credentials(post.access, post.path),
            prop_oneof![5 => object_body(post.fields, &known.records), 1 => malformed_body()],
        );
        for (credentials, body) in generate(&mut runner, &strategy, post.cases) {
            cases.extend(post_case(
                &app,
                &known,
                (post.path, post.access),
                &credentials,
                JSON,
                body,
            ));
        }
    }
    let sent = send_all(cases).await;
    assert!(sent >= 200, "only {sent} requests could be sent");
}

/// Every signed-in endpoint, POST and GET, with the real bearer token, none, garbage
/// `Authorization` or garbage cookies, hostile bodies and query strings: 850 requests.
#[tokio::test]
async fn signed_in_endpoints_answer_hostile_input_without_a_5xx() {
    let app = spawn_app().await;
    let person = app.activated_person().await;
    let token = app.token(&person).await;
    let known = Known {
        token: Some(token.clone()),
        ..Known::default()
    };
    let mut runner = runner();
    let mut cases = Vec::new();
    for post in POSTS.iter().filter(|p| p.access == Access::SignedIn) {
        let strategy = (
            credentials(post.access, post.path),
            object_body(post.fields, &known.records),
        );
        for (credentials, body) in generate(&mut runner, &strategy, post.cases) {
            cases.extend(post_case(
                &app,
                &known,
                (post.path, post.access),
                &credentials,
                JSON,
                body,
            ));
        }
    }
    for &(path, count) in SIGNED_IN_GETS {
        let strategy = (signed_in_credentials(true), query());
        for (credentials, query) in generate(&mut runner, &strategy, count) {
            cases.extend(get_case(
                &app,
                &known,
                (path, Access::SignedIn),
                &credentials,
                &query,
            ));
        }
    }
    let sent = send_all(cases).await;
    assert!(sent >= 600, "only {sent} requests could be sent");

    // The real token outlived every case, so the hostile values did reach the signed-in rules.
    let profile = app
        .bearer(Method::GET, "/api/profile", &token)
        .send()
        .await
        .expect("request");
    assert_eq!(profile.status(), 200);
}

/// Every POST endpoint with bodies that are not a JSON object (or not JSON), under assorted
/// content types, with credentials that get past authentication: 480 requests.
#[tokio::test]
async fn malformed_bodies_are_refused_without_a_5xx() {
    let app = spawn_app_with(NO_IP_LIMITS).await;
    let pending = Person::new();
    app.register_and_get_code(&pending).await;
    let active = app.activated_person().await;
    let token = app.token(&active).await;
    let (_, admin_token) = app.admin().await;
    let known = Known {
        token: Some(token),
        admin_token: Some(admin_token),
        pending: Some(pending),
        active: Some(active),
        records: Records::default(),
    };
    let mut runner = runner();
    let mut cases = Vec::new();
    for post in POSTS {
        let strategy = (
            credentials(post.access, post.path),
            select(CONTENT_TYPES),
            malformed_body(),
        );
        for (credentials, content_type, body) in generate(&mut runner, &strategy, MALFORMED_CASES) {
            cases.extend(post_case(
                &app,
                &known,
                (post.path, post.access),
                &credentials,
                content_type,
                body,
            ));
        }
    }
    let sent = send_all(cases).await;
    assert!(sent >= 350, "only {sent} requests could be sent");
}

// ---------------------------------------------------------------------------------------------
// The administrators' endpoints
// ---------------------------------------------------------------------------------------------

/// An account the administrators' hostile acts may change.
struct Target {
    person: Person,
    id: Uuid,
    role: &'static str,
}

/// Accounts the administrators' acts may change, never the harness's own: three active ones
/// with a live token each, three pending registrations, a locked one and a second
/// administrator.
async fn sacrificial_accounts(app: &TestApp) -> Vec<Target> {
    let mut accounts = Vec::new();
    for _ in 0..3 {
        let person = app.activated_person().await;
        app.token(&person).await;
        accounts.push((person, "user"));
    }
    for _ in 0..4 {
        let person = Person::new();
        app.register_and_get_code(&person).await;
        accounts.push((person, "user"));
    }
    let (second_admin, _) = app.admin().await;
    accounts.push((second_admin, "admin"));
    let mut targets = Vec::new();
    for (person, role) in accounts {
        let id = app.user_id(&person.email).await;
        targets.push(Target { person, id, role });
    }
    // As after 100 wrong codes.
    sqlx::query("update users set status = 'locked', failed_code_attempts = 100 where id = $1")
        .bind(targets[6].id)
        .execute(&app.pool)
        .await
        .expect("lock a registration");
    targets
}

/// Emails an administrator may queue again: four dead notices, two of them to `target`, and a
/// dead code email whose body is gone. Returns their ids and those of the first two emails
/// sent.
async fn dead_letters(app: &TestApp, target: &Target) -> Vec<i64> {
    for user_id in [Some(target.id), None, Some(target.id), None] {
        sqlx::query(
            "insert into email_outbox (user_id, kind, recipient, subject, text_body, html_body,
                                       status, attempts, last_error)
             values ($1, 'password_changed', $2, 'Your password was changed', 'Hello',
                     '<p>Hello</p>', 'dead', 8, '550 mailbox unavailable')",
        )
        .bind(user_id)
        .bind(&target.person.email)
        .execute(&app.pool)
        .await
        .expect("a dead letter");
    }
    sqlx::query(
        "insert into email_outbox (user_id, kind, recipient, subject, status, attempts, expires_at)
         values ($1, 'activation', $2, 'code', 'dead', 8, now())",
    )
    .bind(target.id)
    .bind(&target.person.email)
    .execute(&app.pool)
    .await
    .expect("a dead code email");
    sqlx::query_scalar(
        "(select id from email_outbox where status = 'dead')
         union all (select id from email_outbox where status <> 'dead' order by id limit 2)",
    )
    .fetch_all(&app.pool)
    .await
    .expect("the queued emails")
}

/// The cases of all lists in one run, each list spread evenly over it (a short list is not
/// over in the first rounds), so that each act meets its targets in the states the others left
/// them in, all along.
fn interleave(lists: Vec<Vec<Case>>) -> Vec<Case> {
    let mut placed: Vec<(f64, Case)> = Vec::new();
    for list in lists {
        let count = list.len() as f64;
        placed.extend(
            list.into_iter()
                .enumerate()
                .map(|(i, case)| ((i as f64 + 0.5) / count, case)),
        );
    }
    placed.sort_by(|(a, _), (b, _)| a.total_cmp(b));
    placed.into_iter().map(|(_, case)| case).collect()
}

/// The body of an act on an account, read as the server reads it: other members skipped
/// (numbers out of every range included).
#[derive(serde::Deserialize)]
struct UserAct {
    user_id: String,
}

/// The body of `retry-email`, read as the server reads it.
#[derive(serde::Deserialize)]
struct EmailAct {
    id: i64,
}

/// The audit row an act answered with a 2xx must have left, as [`audit_rows`] spells it;
/// `None` for a read, or a role set to the one the account had. `roles` follows the roles of
/// the accounts acted on.
fn audit_entry(case: &Case, answer: &Answer, roles: &mut HashMap<Uuid, String>) -> Option<String> {
    let sent = case.body.as_deref()?;
    let target = || {
        let act: UserAct = serde_json::from_slice(sent).expect("an act answered 2xx names a user");
        Uuid::parse_str(act.user_id.trim()).expect("an act answered 2xx names a user id")
    };
    let entry = match case.url.path() {
        "/api/admin/disable-user" => format!("user_disabled {}", target()),
        "/api/admin/enable-user" => format!("user_enabled {}", target()),
        "/api/admin/set-role" => {
            let user: Value = serde_json::from_slice(&answer.body).expect("a user");
            assert_eq!(user["user_id"], target().to_string(), "the user acted on");
            let role = user["role"].as_str().expect("a role").to_owned();
            if roles.insert(target(), role.clone()).as_ref() == Some(&role) {
                return None;
            }
            format!("role_changed {} to {role}", target())
        }
        "/api/admin/resend-activation" => format!("activation_resent {}", target()),
        "/api/admin/delete-user" => {
            roles.remove(&target());
            format!("user_deleted {}", target())
        }
        "/api/admin/retry-email" => {
            let act: EmailAct =
                serde_json::from_slice(sent).expect("an email retried names its id");
            format!("email_retried #{}", act.id)
        }
        _ => return None,
    };
    Some(entry)
}

/// The administrators' acts in the audit log, oldest first: action, target (or email) and new
/// role.
async fn audit_rows(app: &TestApp) -> Vec<String> {
    sqlx::query_scalar(
        "select action || ' '
                || case when action = 'email_retried' then '#' || (details->>'email_id')
                        else coalesce(target_id::text, '-') end
                || coalesce(' to ' || (details->>'to'), '')
         from audit_log where actor_kind = 'administrator' order by id",
    )
    .fetch_all(&app.pool)
    .await
    .expect("the audit log")
}

/// What `sql`, a `select count(*)`, counts.
async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(&app.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}: {sql}"))
}

/// Every administrators' endpoint, the acts interleaved, with an administrator's real token, a
/// non-administrator's, none or garbage, hostile bodies aimed at real accounts and queued
/// emails, and hostile query strings: 444 requests. Afterwards the audit log holds exactly one
/// row for each act answered 2xx, in order, and every account is as those acts left it.
#[tokio::test]
async fn administrator_endpoints_answer_hostile_input_without_a_5xx() {
    let app = spawn_app().await;
    let (admin, admin_token) = app.admin().await;
    let admin_id = app.user_id(&admin.email).await;
    let person = app.activated_person().await;
    let token = app.token(&person).await;
    let targets = sacrificial_accounts(&app).await;
    let outbox = dead_letters(&app, &targets[0]).await;
    // Two accounts disabled before the hostile cases, so that enabling has targets from the
    // start: an active one with a live token and a pending registration.
    let mut expected = Vec::new();
    for target in [&targets[0], &targets[3]] {
        let response = app
            .bearer(Method::POST, "/api/admin/disable-user", &admin_token)
            .json(&serde_json::json!({"user_id": target.id, "reason": "fixture"}))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 200);
        expected.push(format!("user_disabled {}", target.id));
    }
    let mut roles: HashMap<Uuid, String> = targets
        .iter()
        .map(|target| (target.id, target.role.to_owned()))
        .collect();
    let mut users: Vec<Uuid> = targets.iter().map(|target| target.id).collect();
    let mut emails: Vec<String> = targets
        .iter()
        .map(|target| target.person.email.clone())
        .collect();
    // The administrator itself: every act on it is refused.
    users.push(admin_id);
    emails.push(admin.email.clone());
    let known = Known {
        token: Some(token.clone()),
        admin_token: Some(admin_token.clone()),
        records: Records {
            users,
            emails,
            outbox,
        },
        ..Known::default()
    };

    let mut runner = runner();
    let mut lists = Vec::new();
    for post in POSTS.iter().filter(|p| p.access == Access::Admin) {
        let strategy = (
            credentials(post.access, post.path),
            prop_oneof![
                object_body(post.fields, &known.records),
                plausible_body(post.fields, &known.records),
            ],
        );
        let cases = generate(&mut runner, &strategy, post.cases)
            .into_iter()
            .filter_map(|(credentials, body)| {
                post_case(
                    &app,
                    &known,
                    (post.path, post.access),
                    &credentials,
                    JSON,
                    body,
                )
            })
            .collect();
        lists.push(cases);
    }
    for get in ADMIN_GETS {
        let strategy = (admin_credentials(), admin_query(get.params, &known.records));
        let cases = generate(&mut runner, &strategy, get.cases)
            .into_iter()
            .filter_map(|(credentials, query)| {
                get_case(
                    &app,
                    &known,
                    (get.path, Access::Admin),
                    &credentials,
                    &query,
                )
            })
            .collect();
        lists.push(cases);
    }
    let cases = interleave(lists);
    assert!(
        cases.len() >= 350,
        "only {} requests could be sent",
        cases.len()
    );

    let client = plain_client();
    for case in &cases {
        let answer = send(&client, case).await;
        if answer.status.is_success() {
            expected.extend(audit_entry(case, &answer, &mut roles));
        }
    }

    // One audit row for each act answered 2xx, in the order of the answers, and none for a
    // refused act.
    assert_eq!(audit_rows(&app).await, expected);
    for action in [
        "user_disabled",
        "user_enabled",
        "role_changed",
        "activation_resent",
        "user_deleted",
        "email_retried",
    ] {
        assert!(
            expected.iter().any(|entry| entry.starts_with(action)),
            "no hostile case got as far as {action}: {expected:#?}"
        );
    }
    // Nothing else in the audit log but the two administrators made on the command line; every
    // act by that administrator, none on itself.
    let rows = count(&app, "select count(*) from audit_log").await;
    assert_eq!(rows, i64::try_from(expected.len() + 2).expect("a count"));
    let others: i64 = sqlx::query_scalar(
        "select count(*) from audit_log where actor_kind = 'administrator'
             and (actor_id is distinct from $1 or target_id = $1)",
    )
    .bind(admin_id)
    .fetch_one(&app.pool)
    .await
    .expect("count");
    assert_eq!(
        others, 0,
        "acts by someone else, or on the administrator itself"
    );

    // Nothing half-written: each act's history event beside its audit row, deleted accounts
    // gone, disabled ones without sessions, statuses where the acts left them.
    let unmatched: Vec<(String, String)> = sqlx::query_as(
        "select u.email, pair.kind from users u
         cross join (values ('disabled_by_admin', 'user_disabled'),
                            ('enabled_by_admin', 'user_enabled'),
                            ('role_changed_by_admin', 'role_changed'),
                            ('code_sent_by_admin', 'activation_resent')) as pair(kind, action)
         where (select count(*) from security_events e
                where e.user_id = u.id and e.kind = pair.kind)
            <> (select count(*) from audit_log a
                where a.target_id = u.id and a.action = pair.action)",
    )
    .fetch_all(&app.pool)
    .await
    .expect("history beside the audit log");
    assert_eq!(
        unmatched,
        [],
        "history events without their audit rows, or the reverse"
    );
    for (sql, what) in [
        (
            "select count(*) from audit_log a where a.action = 'user_deleted'
               and exists (select 1 from users u where u.id = a.target_id)",
            "deleted accounts still there",
        ),
        (
            "select count(*) from sessions s join users u on u.id = s.user_id
             where u.status = 'disabled'",
            "sessions of disabled accounts",
        ),
        (
            "select count(*) from users
             where status <> 'disabled' and (status = 'active') <> (email_verified_at is not null)",
            "accounts active without a verified email, or pending with one",
        ),
    ] {
        assert_eq!(count(&app, sql).await, 0, "{what}");
    }
    let ids: Vec<Uuid> = targets.iter().map(|target| target.id).collect();
    let now: Vec<(Uuid, String)> = sqlx::query_as("select id, role from users where id = any($1)")
        .bind(&ids)
        .fetch_all(&app.pool)
        .await
        .expect("the targets' roles");
    assert_eq!(
        now.into_iter().collect::<HashMap<_, _>>(),
        roles,
        "the accounts left and their roles, as the answers said"
    );

    // The harness's own people are as they were: the administrator's token still opens the
    // administrators' endpoints, and the other person's still does not.
    let response = app
        .bearer(Method::GET, "/api/admin/users", &admin_token)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let response = app
        .bearer(Method::GET, "/api/admin/users", &token)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 403);
}
