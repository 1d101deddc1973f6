//! Hostile input: every `/api` endpoint answers arbitrary JSON, malformed bodies, arbitrary
//! credentials and arbitrary query strings without a 5xx, and every refusal is JSON with a
//! string `error` code. The administrators' endpoints (the product acts too) never answer 2xx
//! to anyone but an administrator and never refuse an administrator's real token as
//! `unauthenticated` or `forbidden`; afterwards the audit log holds one row for each act
//! answered 2xx and none for a refused one, and nothing is half-written: no stock below zero,
//! every order's lines add up to its total, and each product's stock and its units on placed
//! orders add up to its initial stock and the administrators' changes.
//!
//! The cases come from proptest strategies with a fixed seed, so a failure reproduces. They are
//! generated up front and then sent one at a time from the async test: proptest's runner is
//! synchronous, and sequential requests never leave a request waiting for a hashing slot (that
//! 503 would be the server's choice, not a client mistake). About 3,050 requests in all: 560
//! anonymous, 320 Basic-Auth, 850 signed-in, 444 administrators', 286 on the catalogue and
//! orders, 600 malformed bodies.

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

use crate::{
    contract::Contract,
    helpers::{Person, TestApp, basic, spawn_app, spawn_app_with},
};

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
    /// A product's name: mostly new, sometimes one of [`Records::product_names`].
    ProductName,
    /// A product's description: up to 5,000 characters.
    Description,
    /// A price: a JSON string or number, more than 0, at most 1000000.00, two decimals at most.
    Price,
    /// A count in stock: a whole number from 0 to 1,000,000,000, a JSON number or string.
    Stock,
    /// A product id: mostly one of [`Records::products`].
    ProductId,
    /// A product's version, a JSON number: mostly [`CURRENT_VERSION`].
    Version,
    /// The lines of an order: a JSON array of `{product_id, quantity}`, mostly real products.
    Items,
    /// An order id: mostly one of [`Records::orders`] or [`LAST_ORDER`].
    OrderId,
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

/// The catalogue's and the orders' POST endpoints: sent where products and orders exist (see
/// [`catalogue_and_orders_answer_hostile_input_without_a_5xx`]).
const SHOP_POSTS: &[Post] = &[
    Post {
        path: "/api/create-product",
        access: Access::Admin,
        fields: &[
            ("name", Field::ProductName),
            ("description", Field::Description),
            ("price", Field::Price),
            ("stock", Field::Stock),
        ],
        cases: 40,
    },
    Post {
        path: "/api/update-product",
        access: Access::Admin,
        fields: &[
            ("id", Field::ProductId),
            ("version", Field::Version),
            ("name", Field::ProductName),
            ("description", Field::Description),
            ("price", Field::Price),
            ("stock", Field::Stock),
        ],
        cases: 50,
    },
    Post {
        path: "/api/delete-product",
        access: Access::Admin,
        fields: &[("id", Field::ProductId)],
        cases: 8,
    },
    Post {
        path: "/api/place-order",
        access: Access::SignedIn,
        fields: &[("items", Field::Items)],
        cases: 60,
    },
    Post {
        path: "/api/cancel-order",
        access: Access::SignedIn,
        fields: &[("id", Field::OrderId)],
        cases: 25,
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
    /// The catalogue's search: product names, words, symbols.
    Keyword,
    /// An amount, as a price is written.
    Amount,
    /// A product id.
    ProductId,
    /// An order id.
    OrderId,
}

struct Get {
    path: &'static str,
    access: Access,
    params: &'static [(&'static str, Param)],
    cases: usize,
}

/// The administrators' GET endpoints and their query parameters.
const ADMIN_GETS: &[Get] = &[
    Get {
        path: "/api/admin/users",
        access: Access::Admin,
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
        access: Access::Admin,
        params: &[("id", Param::UserId)],
        cases: 40,
    },
    Get {
        path: "/api/admin/audit-log",
        access: Access::Admin,
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
        access: Access::Admin,
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

/// The catalogue's GET endpoints, public, and the orders', signed in.
const SHOP_GETS: &[Get] = &[
    Get {
        path: "/api/products",
        access: Access::Anonymous,
        params: &[
            ("keyword", Param::Keyword),
            ("min_price", Param::Amount),
            ("max_price", Param::Amount),
            (
                "in_stock",
                Param::Choice(&["true", "false", "1", "0", "on"]),
            ),
            (
                "sort",
                Param::Choice(&["name", "price", "-price", "newest"]),
            ),
            ("limit", Param::Number),
            ("offset", Param::Number),
        ],
        cases: 50,
    },
    Get {
        path: "/api/product",
        access: Access::Anonymous,
        params: &[("id", Param::ProductId)],
        cases: 15,
    },
    Get {
        path: "/api/orders",
        access: Access::SignedIn,
        params: &[("limit", Param::Number), ("offset", Param::Number)],
        cases: 15,
    },
    Get {
        path: "/api/order",
        access: Access::SignedIn,
        params: &[("id", Param::OrderId)],
        cases: 15,
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
    ("RATE_LIMIT_RESET_PER_NETWORK", "0"),
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

/// Amounts at and past the edges of a price, as JSON numbers.
const PRICE_NUMBERS: &[&str] = &[
    "0",
    "0.00",
    "-0.01",
    "0.01",
    "0.001",
    "1.234",
    "12.300",
    "1e2",
    "1E-2",
    "1000000",
    "1000000.00",
    "1000000.01",
    "99999999999999999999",
];

/// Amounts written as text: the edges of a price, the decimal comma, and spellings it refuses.
const PRICE_TEXTS: &[&str] = &[
    "0.01",
    "1000000.00",
    "1000000.01",
    "0",
    "-1",
    " 12.50 ",
    "12,50",
    "12.",
    ".5",
    "+12",
    "12.5.0",
    "$12",
    "12 50",
    "1e2",
    "١٢",
    "999999999999.99",
    "9999999999999",
    "NaN",
    "",
];

/// Counts at and past the edges of a stock or a quantity, as JSON numbers.
const COUNTS: &[&str] = &[
    "0",
    "-0",
    "1",
    "-1",
    "1000",
    "1001",
    "1.0",
    "1.5",
    "1e3",
    "1000000000",
    "1000000001",
    "2147483647",
    "2147483648",
];

/// Counts written as text.
const COUNT_TEXTS: &[&str] = &["", " 7 ", "+7", "07", "7x", "7.0", "١", "1_000", "0x10"];

/// Stands for the version the product has when the case is sent, as a client that just loaded
/// it would send; [`fill_in`] writes it in.
const CURRENT_VERSION: &str = "{current version}";

/// Stands for the order last placed when the case is sent; [`fill_in`] writes it in.
const LAST_ORDER: &str = "{last order}";

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

/// An id (of an account, a product, an order) in every spelling `Uuid::parse_str` reads, and
/// some it does not: mostly one of `ids` (when there are any), else any id.
fn id_text(ids: &[Uuid]) -> Text {
    let id = if ids.is_empty() {
        any::<u128>().prop_map(Uuid::from_u128).boxed()
    } else {
        prop_oneof![
            6 => select(ids.to_vec()),
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

/// A price as a JSON number: mostly right, in cents or whole, else at or past an edge.
fn price_number() -> Text {
    prop_oneof![
        6 => (1u32..100_000, 0u32..100).prop_map(|(whole, cents)| format!("{whole}.{cents:02}")),
        2 => (1u32..1000).prop_map(|whole| whole.to_string()),
        1 => (1u32..1000, 0u32..10).prop_map(|(whole, tenths)| format!("{whole}.{tenths}")),
        2 => fixed(PRICE_NUMBERS),
        1 => fixed(NUMBERS),
    ]
    .boxed()
}

/// A count in stock as a JSON number: mostly small, else anywhere in range or at an edge.
fn stock_number() -> Text {
    prop_oneof![
        5 => (0u32..50).prop_map(|n| n.to_string()),
        1 => (0u32..=1_000_000_000).prop_map(|n| n.to_string()),
        2 => fixed(COUNTS),
        1 => fixed(NUMBERS),
    ]
    .boxed()
}

/// A version that is not the current one, mostly: small, at an edge, or any JSON number.
fn version_number() -> Text {
    prop_oneof![
        4 => (1u32..30).prop_map(|n| n.to_string()),
        1 => fixed(&["0", "-1", "1.0", "2147483647", "2147483648"]),
        1 => fixed(NUMBERS),
    ]
    .boxed()
}

/// A line's quantity as JSON: mostly a few units, else up to the most a line holds (often
/// more than is in stock), a string of digits, or a number out of range.
fn quantity() -> Text {
    prop_oneof![
        16 => (1u32..=3).prop_map(|n| n.to_string()),
        3 => (1u32..=1000).prop_map(|n| n.to_string()),
        1 => (1u32..=5).prop_map(|n| json_string(&n.to_string())),
        1 => fixed(COUNTS),
        1 => fixed(COUNT_TEXTS).prop_map(|text| json_string(&text)),
        1 => json_scalar(),
    ]
    .boxed()
}

/// The lines of an order, as JSON: mostly one to three lines of real products, else no lines,
/// lines missing a member or with an extra one, products as other JSON types, or around the
/// most lines an order holds.
fn order_lines(records: &Records) -> Text {
    let real = if records.products.is_empty() {
        any::<u128>().prop_map(Uuid::from_u128).boxed()
    } else {
        select(records.products.clone()).boxed()
    };
    let product = prop_oneof![
        12 => real.prop_map(|id| json_string(&id.to_string())),
        3 => id_text(&records.products).prop_map(|id| json_string(&id)),
        1 => json_scalar(),
    ];
    let line = prop_oneof![
        16 => (product.clone(), quantity()).prop_map(|(product, quantity)| {
            json_object(&[("product_id".into(), product), ("quantity".into(), quantity)])
        }),
        1 => product.clone().prop_map(|product| json_object(&[("product_id".into(), product)])),
        1 => quantity().prop_map(|quantity| json_object(&[("quantity".into(), quantity)])),
        1 => (product, quantity(), json_key(), json_value()).prop_map(
            |(product, quantity, key, value)| {
                json_object(&[
                    ("product_id".into(), product),
                    ("quantity".into(), quantity),
                    (key, value),
                ])
            }
        ),
    ];
    let array = |lines: Vec<String>| format!("[{}]", lines.join(","));
    prop_oneof![
        12 => collection::vec(line.clone(), 1..4).prop_map(array),
        1 => Just("[]".to_owned()),
        1 => collection::vec(line, 48..53).prop_map(array),
        1 => collection::vec(any::<u128>(), 49..52).prop_map(|ids| {
            let lines: Vec<Value> = ids
                .into_iter()
                .map(|id| serde_json::json!({"product_id": Uuid::from_u128(id), "quantity": 1}))
                .collect();
            Value::from(lines).to_string()
        }),
        1 => collection::vec(json_value(), 1..4).prop_map(array),
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
        Field::UserId => id_text(&records.users),
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
        Field::ProductName => {
            let fresh = regex(r"[A-Z][a-z]{2,12}( [a-z]{2,10}){0,3}");
            let taken = if records.product_names.is_empty() {
                fresh.clone()
            } else {
                select(records.product_names.clone()).boxed()
            };
            prop_oneof![
                8 => fresh.clone(),
                2 => taken.clone(),
                2 => taken.prop_map(|name| format!(" {} ", name.to_uppercase())),
                1 => (fresh, piece()).prop_map(|(name, extra)| name + &extra),
                1 => regex(r"[a-z]{195,205}"),
                1 => regex(r"(?s).{1,40}"),
                1 => regex(r"[ \t\r\n\x{a0}\x{3000}]{0,4}"),
            ]
            .boxed()
        }
        Field::Description => prop_oneof![
            6 => regex(r"[A-Za-z0-9 ,.'!?-]{0,200}"),
            1 => regex(r"[a-z \n]{4995,5005}"),
            1 => regex(r"(?s).{0,60}"),
            1 => hostile_text(),
        ]
        .boxed(),
        // As text; `nearly_right` sends most as JSON numbers.
        Field::Price => prop_oneof![4 => price_number(), 1 => fixed(PRICE_TEXTS)].boxed(),
        Field::Stock => prop_oneof![4 => stock_number(), 1 => fixed(COUNT_TEXTS)].boxed(),
        Field::Version => version_number(),
        Field::ProductId => id_text(&records.products),
        Field::Items => order_lines(records),
        Field::OrderId => prop_oneof![
            3 => id_text(&records.orders),
            2 => Just(LAST_ORDER.to_owned()),
        ]
        .boxed(),
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

/// A nearly right value of `field` as JSON: a string, except that an email id, a price, a
/// stock and a version are mostly numbers (a version mostly [`CURRENT_VERSION`]), and the
/// lines of an order an array.
fn nearly_right(field: Field, records: &Records) -> Text {
    let text = plausible(field, records).prop_map(|text| json_string(&text));
    match field {
        Field::EmailId => prop_oneof![4 => email_id(&records.outbox), 1 => text].boxed(),
        Field::Price => prop_oneof![3 => price_number(), 1 => text].boxed(),
        Field::Stock => prop_oneof![4 => stock_number(), 1 => text].boxed(),
        Field::Version => prop_oneof![
            6 => Just(json_string(CURRENT_VERSION)),
            3 => version_number(),
            1 => text,
        ]
        .boxed(),
        Field::Items => order_lines(records),
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

/// Like [`plausible_body`], but each field that does not say what is acted on (an id, a
/// version, the lines of an order) is there only half the time: a change of a few fields.
fn few_fields_body(fields: &'static [(&'static str, Field)], records: &Records) -> Bytes {
    let members: Vec<BoxedStrategy<Option<Member>>> = fields
        .iter()
        .map(|&(name, field)| {
            let member =
                nearly_right(field, records).prop_map(move |value| (name.to_owned(), value));
            match field {
                Field::ProductId | Field::Version | Field::Items | Field::OrderId => {
                    member.prop_map(Some).boxed()
                }
                _ => prop_oneof![Just(None::<Member>), member.prop_map(Some)].boxed(),
            }
        })
        .collect();
    members
        .prop_map(|members| {
            let members: Vec<Member> = members.into_iter().flatten().collect();
            json_object(&members).into_bytes()
        })
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

/// An `Idempotency-Key` for place-order: mostly none or one of a few keys used again and again
/// (so that orders are replayed and keys reused with other lines), else a fresh key, any bytes a
/// header holds, or a key longer than allowed.
fn idempotency_key() -> BoxedStrategy<Option<Vec<u8>>> {
    prop_oneof![
        4 => Just(None),
        3 => fixed(&["order-1", "order-2", " order-3 "]).prop_map(|key| Some(key.into_bytes())),
        1 => any::<u128>().prop_map(|n| Some(Uuid::from_u128(n).to_string().into_bytes())),
        1 => collection::vec(header_byte(), 0..40).prop_map(Some),
        1 => (250usize..260).prop_map(|n| Some("k".repeat(n).into_bytes())),
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

/// A value for a query parameter, already escaped for the query string.
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
                3 => id_text(&records.users),
                2 => emails.clone(),
                1 => emails.prop_map(|email| email.to_uppercase()),
                1 => plausible(Field::Email, records),
                1 => (hostile_text(), hostile_text())
                    .prop_map(|(local, domain)| format!("{local}@{domain}")),
                1 => hostile_text(),
            ]
            .boxed()
        }
        Param::UserId => id_text(&records.users),
        Param::Keyword => {
            let names = if records.product_names.is_empty() {
                fixed(SEARCHES)
            } else {
                select(records.product_names.clone()).boxed()
            };
            prop_oneof![
                3 => names.clone(),
                1 => names.prop_map(|name| name.to_uppercase()),
                2 => fixed(SEARCHES),
                2 => hostile_text(),
                1 => regex(r"([a-z]{1,3} ){6,12}"),
                1 => regex(r"(?s).{190,210}"),
            ]
            .boxed()
        }
        Param::Amount => plausible(Field::Price, records),
        Param::ProductId => id_text(&records.products),
        Param::OrderId => id_text(&records.orders),
    };
    prop_oneof![
        6 => text.clone().prop_map(|text| percent_encode(&text)),
        // As a form writes it: spaces as `+`.
        1 => text.prop_map(|text| percent_encode(&text).replace("%20", "+")),
    ]
    .boxed()
}

/// A query string with each of a GET's parameters once, nearly right: the first always, the
/// others half the time.
fn few_params_query(params: &'static [(&'static str, Param)], records: &Records) -> Text {
    let pairs: Vec<BoxedStrategy<Option<String>>> = params
        .iter()
        .enumerate()
        .map(|(i, &(key, param))| {
            let pair = param_value(param, records).prop_map(move |value| format!("{key}={value}"));
            if i == 0 {
                pair.prop_map(Some).boxed()
            } else {
                prop_oneof![Just(None::<String>), pair.prop_map(Some)].boxed()
            }
        })
        .collect();
    pairs
        .prop_map(|pairs| pairs.into_iter().flatten().collect::<Vec<_>>().join("&"))
        .boxed()
}

/// A query string for a GET with parameters: mostly its own parameters (each any number of
/// times, in any order), with values nearly right or hostile; sometimes a bare key, or the raw
/// structure of [`query`].
fn endpoint_query(params: &'static [(&'static str, Param)], records: &Records) -> Text {
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
    /// Products in the catalogue, and one deleted.
    products: Vec<Uuid>,
    /// Their names.
    product_names: Vec<String>,
    /// Orders: the signed-in person's, placed and cancelled, and someone else's.
    orders: Vec<Uuid>,
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
#[derive(Clone)]
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
    headers: HeaderMap,
    body: Vec<u8>,
    /// The `error` code of a refusal.
    code: Option<String>,
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

/// The OpenAPI document every answer is checked against.
static CONTRACT: std::sync::LazyLock<Contract> = std::sync::LazyLock::new(Contract::of_this_build);

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
    let answer_headers = response.headers().clone();
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
    // Every answer of a documented operation is documented: its status, and its body's shape.
    let method_name = method.as_str().to_lowercase();
    if CONTRACT.operation(&method_name, url.path()).is_some()
        && let Err(failure) = CONTRACT.check(&method_name, url.path(), status.as_u16(), &answer)
    {
        panic!("{failure}\nfor\n{}", sent());
    }
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
        headers: answer_headers,
        body: answer.to_vec(),
        code,
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
/// content types, with credentials that get past authentication: 600 requests.
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
    for post in POSTS.iter().chain(SHOP_POSTS) {
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

/// The body of an act on a product, read as the server reads it.
#[derive(serde::Deserialize)]
struct ProductAct {
    id: String,
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
        path @ ("/api/create-product" | "/api/update-product") => {
            let product: Value = serde_json::from_slice(&answer.body).expect("a product");
            let action = if path == "/api/create-product" {
                "product_created"
            } else {
                "product_updated"
            };
            format!(
                "{action} product {}",
                product["id"].as_str().expect("an id")
            )
        }
        "/api/delete-product" => {
            let act: ProductAct =
                serde_json::from_slice(sent).expect("a product deleted names its id");
            let id = Uuid::parse_str(act.id.trim()).expect("a product deleted names its id");
            format!("product_deleted product {id}")
        }
        _ => return None,
    };
    Some(entry)
}

/// The administrators' acts in the audit log, oldest first: action, target (or email, or
/// product) and new role.
async fn audit_rows(app: &TestApp) -> Vec<String> {
    sqlx::query_scalar(
        "select action || ' '
                || case when action = 'email_retried' then '#' || (details->>'email_id')
                        when target_id is null and details->>'product_id' is not null
                            then 'product ' || (details->>'product_id')
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
            ..Records::default()
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
        let strategy = (
            admin_credentials(),
            endpoint_query(get.params, &known.records),
        );
        let cases = generate(&mut runner, &strategy, get.cases)
            .into_iter()
            .filter_map(|(credentials, query)| {
                get_case(&app, &known, (get.path, get.access), &credentials, &query)
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

// ---------------------------------------------------------------------------------------------
// The catalogue and orders
// ---------------------------------------------------------------------------------------------

/// Products made before the hostile cases: name, price and stock, every stock from none to more
/// than any order takes. The last is deleted with an order still on it.
const PRODUCTS: &[(&str, &str, i64)] = &[
    ("Green tea", "2.20", 0),
    ("Black tea", "0.01", 1),
    ("Teapot", "15", 3),
    ("Cup", "3.5", 10),
    ("Kettle", "1000000.00", 40),
    ("Strainer", "7.99", 200),
    ("Honey", "12.00", 1000),
    ("Sugar", "0.99", 1_000_000_000),
    ("Old mug", "4.00", 5),
];

/// The catalogue as the answers tell it, and the audit rows they call for.
#[derive(Default)]
struct Shop {
    /// Each product's stock when it was created.
    initial: HashMap<Uuid, i64>,
    /// Each product's stock as the answers since left it.
    stock: HashMap<Uuid, i64>,
    /// The administrators' changes to each product's stock: each new stock less the one before,
    /// summed.
    restocked: HashMap<Uuid, i64>,
    /// Every order answered 201, and whether it has been cancelled since.
    orders: HashMap<Uuid, bool>,
    last_order: Option<Uuid>,
    /// Orders answered again for a repeated `Idempotency-Key`.
    replays: usize,
    /// The administrators' acts, as [`audit_rows`] spells them.
    audit: Vec<String>,
}

fn uuid(value: &Value) -> Uuid {
    value
        .as_str()
        .and_then(|id| Uuid::parse_str(id).ok())
        .unwrap_or_else(|| panic!("an id: {value}"))
}

/// The products and quantities of an order's lines.
fn lines(order: &Value) -> Vec<(Uuid, i64)> {
    order["items"]
        .as_array()
        .unwrap_or_else(|| panic!("an order's lines: {order}"))
        .iter()
        .map(|item| {
            let quantity = item["quantity"].as_i64().expect("a quantity");
            (uuid(&item["product_id"]), quantity)
        })
        .collect()
}

fn stock_of(stock: &mut HashMap<Uuid, i64>, product: Uuid) -> &mut i64 {
    stock
        .get_mut(&product)
        .unwrap_or_else(|| panic!("{product} was not made in this test"))
}

impl Shop {
    /// Follows a case answered 2xx.
    fn record(&mut self, case: &Case, answer: &Answer) {
        self.audit
            .extend(audit_entry(case, answer, &mut HashMap::new()));
        let body: Value = serde_json::from_slice(&answer.body).expect("a JSON answer");
        match case.url.path() {
            "/api/create-product" => {
                let id = uuid(&body["id"]);
                let stock = body["stock"].as_i64().expect("a stock");
                self.initial.insert(id, stock);
                self.stock.insert(id, stock);
            }
            "/api/update-product" => {
                let now = body["stock"].as_i64().expect("a stock");
                let before = std::mem::replace(stock_of(&mut self.stock, uuid(&body["id"])), now);
                *self.restocked.entry(uuid(&body["id"])).or_default() += now - before;
            }
            "/api/place-order" => {
                let id = uuid(&body["id"]);
                let replayed = answer.headers.contains_key("idempotent-replayed");
                assert_eq!(
                    replayed,
                    self.orders.contains_key(&id),
                    "an order answered again, and only then, is a replay: {body}"
                );
                if replayed {
                    self.replays += 1;
                } else {
                    assert_eq!(body["status"], "placed", "{body}");
                    for (product, quantity) in lines(&body) {
                        *stock_of(&mut self.stock, product) -= quantity;
                    }
                    self.orders.insert(id, false);
                    self.last_order = Some(id);
                }
            }
            "/api/cancel-order" => {
                assert_eq!(body["status"], "cancelled", "{body}");
                for (product, quantity) in lines(&body) {
                    *stock_of(&mut self.stock, product) += quantity;
                }
                let id = uuid(&body["id"]);
                assert_eq!(
                    self.orders.insert(id, true),
                    Some(false),
                    "only a placed order is cancelled: {body}"
                );
            }
            _ => {}
        }
    }
}

/// Writes into a case's body what a client would have read just before sending it: the
/// product's current version for [`CURRENT_VERSION`] (when the body names a product that
/// exists), the last order placed for [`LAST_ORDER`]. Left as they are, both are refused.
async fn fill_in(app: &TestApp, case: &mut Case, last_order: Option<Uuid>) {
    let Some(Ok(text)) = case.body.as_deref().map(std::str::from_utf8) else {
        return;
    };
    let mut text = text.to_owned();
    let version = json_string(CURRENT_VERSION);
    if text.contains(&version)
        && let Ok(act) = serde_json::from_str::<ProductAct>(&text)
        && let Ok(id) = Uuid::parse_str(act.id.trim())
    {
        let current: Option<i32> = sqlx::query_scalar("select version from products where id = $1")
            .bind(id)
            .fetch_optional(&app.pool)
            .await
            .expect("a product's version");
        if let Some(current) = current {
            text = text.replace(&version, &current.to_string());
        }
    }
    if let Some(order) = last_order {
        text = text.replace(&json_string(LAST_ORDER), &json_string(&order.to_string()));
    }
    case.body = Some(text.into_bytes());
}

/// Sends an act of the setup and follows it; panics unless it is a 2xx.
async fn setup_act(
    app: &TestApp,
    known: &Known,
    shop: &mut Shop,
    (path, access): (&str, Access),
    credentials: &Credentials,
    body: &Value,
) -> Value {
    let case = post_case(
        app,
        known,
        (path, access),
        credentials,
        JSON,
        body.to_string().into_bytes(),
    )
    .expect("a setup case");
    let answer = send(&plain_client(), &case).await;
    assert!(
        answer.status.is_success(),
        "{} for {path} {body}: {}",
        answer.status,
        shown(&answer.body)
    );
    shop.record(&case, &answer);
    serde_json::from_slice(&answer.body).expect("a JSON answer")
}

/// The catalogue and orders over real products and orders, all endpoints interleaved:
/// administrators' product acts with an administrator's real token, a non-administrator's, none
/// or garbage; orders placed (with and without `Idempotency-Key`s, some sent twice), read and
/// cancelled with the real token of a signed-in person, none or garbage; the public catalogue
/// with hostile query strings: 286 requests after 15 of setup. Afterwards the audit log holds
/// exactly one row for each product act answered 2xx; no stock is negative; every order has
/// lines that add up to its total; the orders are those answered 201, cancelled as the answers
/// said; and each product's stock plus its units on placed orders is its initial stock plus the
/// administrators' changes.
#[tokio::test]
async fn catalogue_and_orders_answer_hostile_input_without_a_5xx() {
    let app = spawn_app().await;
    let (_, admin_token) = app.admin().await;
    let person = app.activated_person().await;
    let token = app.token(&person).await;
    let other = app.activated_person().await;
    let other_token = app.token(&other).await;
    let mut known = Known {
        token: Some(token.clone()),
        admin_token: Some(admin_token.clone()),
        ..Known::default()
    };

    let mut shop = Shop::default();
    let mut products = Vec::new();
    for &(name, price, stock) in PRODUCTS {
        let body = serde_json::json!({"name": name, "price": price, "stock": stock});
        let product = setup_act(
            &app,
            &known,
            &mut shop,
            ("/api/create-product", Access::Admin),
            &Credentials::AdminToken,
            &body,
        )
        .await;
        products.push(uuid(&product["id"]));
    }
    // The person's orders, then someone else's.
    let someone_else = Credentials::Authorization(format!("Bearer {other_token}").into_bytes());
    let mut orders = Vec::new();
    for (credentials, lines) in [
        (&Credentials::Token, vec![(3, 2), (5, 1)]),
        (&Credentials::Token, vec![(6, 3)]),
        (&Credentials::Token, vec![(2, 1)]),
        (&Credentials::Token, vec![(7, 5)]),
        (&Credentials::Token, vec![(8, 1)]),
        (&someone_else, vec![(3, 1)]),
    ] {
        let items: Vec<Value> = lines
            .iter()
            .map(|&(i, quantity)| {
                serde_json::json!({"product_id": products[i], "quantity": quantity})
            })
            .collect();
        let order = setup_act(
            &app,
            &known,
            &mut shop,
            ("/api/place-order", Access::SignedIn),
            credentials,
            &serde_json::json!({ "items": items }),
        )
        .await;
        orders.push(uuid(&order["id"]));
    }
    // An order cancelled already, and a product deleted with an order still on it.
    for (path, access, credentials, id) in [
        (
            "/api/cancel-order",
            Access::SignedIn,
            Credentials::Token,
            orders[2],
        ),
        (
            "/api/delete-product",
            Access::Admin,
            Credentials::AdminToken,
            products[8],
        ),
    ] {
        let body = serde_json::json!({ "id": id });
        setup_act(&app, &known, &mut shop, (path, access), &credentials, &body).await;
    }
    known.records = Records {
        products,
        product_names: PRODUCTS
            .iter()
            .map(|(name, _, _)| name.to_string())
            .collect(),
        orders,
        ..Records::default()
    };

    let mut runner = runner();
    let mut lists = Vec::new();
    for post in SHOP_POSTS {
        let strategy = (
            credentials(post.access, post.path),
            prop_oneof![
                1 => object_body(post.fields, &known.records),
                2 => plausible_body(post.fields, &known.records),
                2 => few_fields_body(post.fields, &known.records),
            ],
            idempotency_key(),
            0u8..5,
        );
        let mut cases = Vec::new();
        for (credentials, body, key, repeat) in generate(&mut runner, &strategy, post.cases) {
            let Some(mut case) = post_case(
                &app,
                &known,
                (post.path, post.access),
                &credentials,
                JSON,
                body,
            ) else {
                continue;
            };
            if post.path == "/api/place-order" {
                if let Some(key) = key {
                    let Ok(key) = HeaderValue::from_bytes(&key) else {
                        continue;
                    };
                    case.headers.insert("idempotency-key", key);
                }
                // Now and then sent twice, as a client retries.
                if repeat == 0 {
                    cases.push(case.clone());
                }
            }
            cases.push(case);
        }
        lists.push(cases);
    }
    for get in SHOP_GETS {
        let strategy = (
            credentials(get.access, get.path),
            prop_oneof![
                endpoint_query(get.params, &known.records),
                few_params_query(get.params, &known.records),
            ],
        );
        let cases = generate(&mut runner, &strategy, get.cases)
            .into_iter()
            .filter_map(|(credentials, query)| {
                get_case(&app, &known, (get.path, get.access), &credentials, &query)
            })
            .collect();
        lists.push(cases);
    }
    let cases = interleave(lists);
    assert!(
        cases.len() >= 250,
        "only {} requests could be sent",
        cases.len()
    );

    let client = plain_client();
    let mut reached = std::collections::BTreeMap::<String, usize>::new();
    for mut case in cases {
        fill_in(&app, &mut case, shop.last_order).await;
        let answer = send(&client, &case).await;
        let outcome = answer.code.as_deref().unwrap_or("2xx");
        *reached
            .entry(format!("{} {outcome}", case.url.path()))
            .or_default() += 1;
        if answer.status.is_success() {
            shop.record(&case, &answer);
        }
    }

    // The hostile cases got as far as the deepest rules.
    for outcome in [
        "/api/create-product 2xx",
        "/api/create-product name_taken",
        "/api/update-product 2xx",
        "/api/update-product version_conflict",
        "/api/delete-product 2xx",
        "/api/place-order 2xx",
        "/api/place-order insufficient_stock",
        "/api/place-order product_not_found",
        "/api/place-order idempotency_key_reused",
        "/api/cancel-order 2xx",
        "/api/cancel-order already_cancelled",
        "/api/products 2xx",
        "/api/product 2xx",
        "/api/orders 2xx",
        "/api/order 2xx",
    ] {
        assert!(
            reached.contains_key(outcome),
            "no hostile case got as far as {outcome}: {reached:#?}"
        );
    }
    assert!(shop.replays > 0, "no order was replayed");

    // One audit row for each product act answered 2xx, in order, and nothing else but the
    // administrator made on the command line.
    assert_eq!(audit_rows(&app).await, shop.audit);
    let rows = count(&app, "select count(*) from audit_log").await;
    assert_eq!(rows, i64::try_from(shop.audit.len() + 1).expect("a count"));

    // Nothing half-written.
    for (sql, what) in [
        (
            "select count(*) from products where stock < 0",
            "products with a negative stock",
        ),
        (
            "select count(*) from orders o
             where not exists (select 1 from order_items i where i.order_id = o.id)",
            "orders without lines",
        ),
        (
            "select count(*) from orders o
             where total_cents <> (select sum(i.unit_price_cents * i.quantity)
                                   from order_items i where i.order_id = o.id)",
            "orders whose total is not the sum of their lines",
        ),
        (
            "select count(*) from idempotency_keys where response is null",
            "idempotency keys without the answer they stand for",
        ),
        (
            "select (select count(*) from orders)
                  - (select count(*) from email_outbox where kind = 'order_confirmation')",
            "orders without a confirmation email, or the reverse",
        ),
    ] {
        assert_eq!(count(&app, sql).await, 0, "{what}");
    }
    let placed: HashMap<Uuid, bool> =
        sqlx::query_as::<_, (Uuid, bool)>("select id, status = 'cancelled' from orders")
            .fetch_all(&app.pool)
            .await
            .expect("the orders")
            .into_iter()
            .collect();
    assert_eq!(
        placed, shop.orders,
        "the orders, cancelled or not, as the answers said"
    );
    let stock: HashMap<Uuid, i64> =
        sqlx::query_as::<_, (Uuid, i64)>("select id, stock::int8 from products")
            .fetch_all(&app.pool)
            .await
            .expect("the stock")
            .into_iter()
            .collect();
    assert_eq!(stock, shop.stock, "the stock, as the answers left it");
    // Each product's stock and its units on placed orders add up to its stock when it was
    // created and the administrators' changes since.
    let held: HashMap<Uuid, i64> = sqlx::query_as::<_, (Uuid, i64)>(
        "select p.id, p.stock + coalesce((select sum(i.quantity) from order_items i
                                          join orders o on o.id = i.order_id
                                          where i.product_id = p.id and o.status = 'placed'),
                                         0)::int8
         from products p",
    )
    .fetch_all(&app.pool)
    .await
    .expect("the stock and the units ordered")
    .into_iter()
    .collect();
    let accounted: HashMap<Uuid, i64> = shop
        .initial
        .iter()
        .map(|(id, initial)| (*id, initial + shop.restocked.get(id).unwrap_or(&0)))
        .collect();
    assert_eq!(
        held, accounted,
        "stock and units ordered, against stock made"
    );

    // The person's token outlived every case: their orders are all there, someone else's not.
    let response = app
        .bearer(Method::GET, "/api/orders?limit=100", &token)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let page: Value = response.json().await.expect("a page");
    assert_eq!(page["total"], shop.orders.len() - 1);
}

// ---------------------------------------------------------------------------------------------
// Every documented endpoint, from the OpenAPI document
// ---------------------------------------------------------------------------------------------

/// Requests per documented operation in [`every_documented_endpoint_answers_hostile_input`].
const DOCUMENTED_CASES: usize = 24;

/// The operations the OpenAPI document lists, `(method, path, request body property names)`:
/// the tests above fuzz each endpoint with values made for its fields; this list makes sure an
/// endpoint added later is fuzzed too, with no one having to remember to add it here.
fn documented_operations(document: &Value) -> Vec<(Method, String, Vec<String>)> {
    let schemas = &document["components"]["schemas"];
    let mut operations = Vec::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("operations") {
            let Ok(method) = Method::from_bytes(method.to_uppercase().as_bytes()) else {
                continue;
            };
            let mut schema = &operation["requestBody"]["content"]["application/json"]["schema"];
            if let Some(name) = schema["$ref"].as_str().and_then(|r| r.rsplit('/').next()) {
                schema = &schemas[name];
            }
            let mut names: Vec<String> = schema["properties"]
                .as_object()
                .map(|properties| properties.keys().cloned().collect())
                .unwrap_or_default();
            if let Some(parameters) = operation["parameters"].as_array() {
                names.extend(
                    parameters
                        .iter()
                        .filter_map(|p| p["name"].as_str().map(str::to_owned)),
                );
            }
            operations.push((method, path.clone(), names));
        }
    }
    operations
}

/// Every operation of the OpenAPI document, each with hostile bodies or query strings made from
/// its own field names, anonymous, with a person's token and with an administrator's: never a
/// 5xx, every refusal typed, every answer as documented.
#[tokio::test]
async fn every_documented_endpoint_answers_hostile_input_without_a_5xx() {
    let app = spawn_app_with(NO_IP_LIMITS).await;
    let person = app.activated_person().await;
    let (_, admin_token) = app.admin().await;
    let known = Known {
        token: Some(app.token(&person).await),
        admin_token: Some(admin_token),
        ..Known::default()
    };
    let operations = documented_operations(&CONTRACT.document);
    // The document is whole: the endpoints the hand-kept lists once missed are in it.
    for expected in [
        "/api/admin/webhooks",
        "/api/settings",
        "/api/request-password-reset",
    ] {
        assert!(
            operations.iter().any(|(_, path, _)| path == expected),
            "{expected} is documented"
        );
    }
    let mut runner = runner();
    let mut cases = Vec::new();
    for (method, path, names) in &operations {
        // Keys from the operation's own fields, mostly, and hostile ones besides.
        let key: Text = if names.is_empty() {
            json_key()
        } else {
            prop_oneof![4 => select(names.clone()), 1 => json_key()].boxed()
        };
        let credentials = prop_oneof![
            Just(Credentials::Anonymous),
            Just(Credentials::Token),
            Just(Credentials::AdminToken),
        ];
        let members = collection::vec((key, json_value()), 0..6);
        for (credentials, members) in
            generate(&mut runner, &(credentials, members), DOCUMENTED_CASES)
        {
            let access = if path.starts_with("/api/admin/") {
                Access::Admin
            } else {
                Access::SignedIn
            };
            let case = if *method == Method::GET {
                let query: Vec<String> = members
                    .iter()
                    .map(|(key, value)| {
                        format!(
                            "{}={}",
                            percent_encode(key),
                            percent_encode(value.trim_matches('"'))
                        )
                    })
                    .collect();
                get_case(
                    &app,
                    &known,
                    (path.as_str(), access),
                    &credentials,
                    &query.join("&"),
                )
            } else {
                post_case(
                    &app,
                    &known,
                    (path.as_str(), access),
                    &credentials,
                    JSON,
                    json_object(&members).into_bytes(),
                )
            };
            cases.extend(case.map(|mut case| {
                case.method = method.clone();
                // Who is admitted is the other tests' business: here a case may sign the token
                // it carries out (`/api/logout`), and the next one carries it dead.
                case.expect = Expect::Nothing;
                case
            }));
        }
    }
    let sent = send_all(cases).await;
    assert!(
        sent >= operations.len() * DOCUMENTED_CASES / 2,
        "only {sent} requests could be sent for {} operations",
        operations.len()
    );
}
