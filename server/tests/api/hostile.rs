//! Hostile input: every `/api` endpoint answers arbitrary JSON, malformed bodies, arbitrary
//! credentials and arbitrary query strings without a 5xx, and every refusal is JSON with a
//! string `error` code.
//!
//! The cases come from proptest strategies with a fixed seed, so a failure reproduces. They are
//! generated up front and then sent one at a time from the async test: proptest's runner is
//! synchronous, and sequential requests never leave a request waiting for a hashing slot (that
//! 503 would be the server's choice, not a client mistake). About 2,100 requests in all: 560
//! anonymous, 320 Basic-Auth, 850 signed-in, 336 malformed bodies.

use base64::{
    Engine as _,
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
};
use proptest::{
    collection,
    prelude::{BoxedStrategy, Just, Strategy, any},
    prop_oneof,
    sample::{Index, select},
    strategy::ValueTree,
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
}

/// How an endpoint authenticates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Access {
    Anonymous,
    Basic,
    SignedIn,
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

/// Values that are nearly right for `field`, often exactly right, so that requests get past
/// the first parser.
fn plausible(field: Field) -> Text {
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

/// The value of a known field: nearly right, hostile text, very long, or the wrong type.
fn field_value(field: Field) -> Text {
    prop_oneof![
        6 => plausible(field).prop_map(|text| json_string(&text)),
        3 => hostile_text().prop_map(|text| json_string(&text)),
        1 => long_text().prop_map(|text| capped_json_string(&text, 9_000)),
        3 => json_value(),
    ]
    .boxed()
}

/// A JSON object with the endpoint's fields (each may be missing), up to two unknown keys and
/// sometimes a known key twice.
fn object_body(fields: &'static [(&'static str, Field)]) -> Bytes {
    let known: Vec<BoxedStrategy<Option<Member>>> = fields
        .iter()
        .map(|&(name, field)| {
            prop_oneof![
                1 => Just(None::<Member>),
                5 => field_value(field).prop_map(move |value| Some((name.to_owned(), value))),
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
        3 => (plausible(Field::Email), plausible(Field::Password)).prop_map(|(email, password)| {
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

fn credentials(access: Access, path: &str) -> BoxedStrategy<Credentials> {
    match access {
        Access::Anonymous => Just(Credentials::Anonymous).boxed(),
        Access::Basic => basic_credentials(),
        // Signing out with the real token would end it for every later case.
        Access::SignedIn => signed_in_credentials(path != "/api/logout"),
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

/// The real credentials a test holds.
#[derive(Default)]
struct Known {
    token: Option<String>,
    pending: Option<Person>,
    active: Option<Person>,
}

/// One request, ready to send.
struct Case {
    method: Method,
    url: Url,
    headers: HeaderMap,
    body: Option<Vec<u8>>,
}

/// The headers for `credentials`; `None` when a header cannot hold the generated value.
fn credential_headers(credentials: &Credentials, known: &Known) -> Option<HeaderMap> {
    let token = || known.token.as_deref().expect("this test holds a token");
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
    path: &str,
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
    })
}

fn get_case(
    app: &TestApp,
    known: &Known,
    path: &str,
    credentials: &Credentials,
    query: &str,
) -> Option<Case> {
    Some(Case {
        method: Method::GET,
        url: Url::parse(&app.url(&format!("{path}?{query}"))).ok()?,
        headers: credential_headers(credentials, known)?,
        body: None,
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

/// Sends one case and checks the answer: never a 5xx, and every refusal JSON with a string
/// `error` code.
async fn send(client: &reqwest::Client, case: Case) {
    let Case {
        method,
        url,
        headers,
        body,
    } = case;
    let sent = || describe(&method, &url, &headers, body.as_deref());
    let mut request = client
        .request(method.clone(), url.clone())
        .headers(headers.clone());
    if let Some(body) = &body {
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
    if !status.is_success() {
        let code = serde_json::from_slice::<Value>(&answer)
            .ok()
            .and_then(|body| body.get("error").cloned());
        assert!(
            matches!(code, Some(Value::String(_))),
            "{status} without a JSON `error` code for\n{}\nanswer: {}",
            sent(),
            shown(&answer)
        );
    }
}

/// Sends the cases one after another, never concurrently, and returns how many were sent.
async fn send_all(cases: Vec<Case>) -> usize {
    let client = plain_client();
    let count = cases.len();
    for case in cases {
        send(&client, case).await;
    }
    count
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
        for body in generate(&mut runner, &object_body(post.fields), post.cases) {
            cases.extend(post_case(
                &app,
                &known,
                post.path,
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
            "/api/status",
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
        token: None,
        pending: Some(pending),
        active: Some(active),
    };
    let mut runner = runner();
    let mut cases = Vec::new();
    for post in POSTS.iter().filter(|p| p.access == Access::Basic) {
        let strategy = (
            credentials(post.access, post.path),
            prop_oneof![5 => object_body(post.fields), 1 => malformed_body()],
        );
        for (credentials, body) in generate(&mut runner, &strategy, post.cases) {
            cases.extend(post_case(&app, &known, post.path, &credentials, JSON, body));
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
            object_body(post.fields),
        );
        for (credentials, body) in generate(&mut runner, &strategy, post.cases) {
            cases.extend(post_case(&app, &known, post.path, &credentials, JSON, body));
        }
    }
    for &(path, count) in SIGNED_IN_GETS {
        let strategy = (signed_in_credentials(true), query());
        for (credentials, query) in generate(&mut runner, &strategy, count) {
            cases.extend(get_case(&app, &known, path, &credentials, &query));
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
/// content types, with credentials that get past authentication: 336 requests.
#[tokio::test]
async fn malformed_bodies_are_refused_without_a_5xx() {
    let app = spawn_app_with(NO_IP_LIMITS).await;
    let pending = Person::new();
    app.register_and_get_code(&pending).await;
    let active = app.activated_person().await;
    let token = app.token(&active).await;
    let known = Known {
        token: Some(token),
        pending: Some(pending),
        active: Some(active),
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
                post.path,
                &credentials,
                content_type,
                body,
            ));
        }
    }
    let sent = send_all(cases).await;
    assert!(sent >= 250, "only {sent} requests could be sent");
}
