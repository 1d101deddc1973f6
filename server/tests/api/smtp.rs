//! A real SMTP server on a socket for the tests: it speaks just enough of RFC 5321 for lettre
//! and keeps what it receives. Recipients containing `reject` are refused with a permanent 550.

use std::{sync::Arc, time::Duration};

use base64::{Engine as _, engine::general_purpose::STANDARD};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::{TcpListener, TcpStream},
    sync::{Mutex, Notify},
};

#[derive(Clone, Debug)]
pub struct ReceivedMail {
    pub recipients: Vec<String>,
    /// The message as sent after DATA, dot-stuffing removed.
    pub data: String,
}

impl ReceivedMail {
    /// A header of the message itself (not of its parts), unfolded.
    pub fn header(&self, name: &str) -> Option<String> {
        let data = self.data.replace("\r\n", "\n");
        let entity = Entity::parse(&data);
        entity.header(name).map(str::to_string)
    }

    /// The subject as written: lettre sends one that is not ASCII (`Your order of €21.60 …`)
    /// as RFC 2047 encoded words, decoded here.
    pub fn subject(&self) -> String {
        decode_words(&self.header("subject").unwrap_or_default())
    }

    /// The `text/plain` part, decoded (7bit, quoted-printable or base64), lines ending in `\n`.
    pub fn text_body(&self) -> String {
        self.only_part("text/plain")
    }

    /// The `text/html` part, decoded like [`Self::text_body`].
    pub fn html_body(&self) -> String {
        self.only_part("text/html")
    }

    /// The decoded body of the one leaf part of type `media`; panics when there is none or more.
    fn only_part(&self, media: &str) -> String {
        let mut parts = Vec::new();
        leaf_parts(&self.data.replace("\r\n", "\n"), &mut parts);
        let mut matching = parts
            .into_iter()
            .filter(|(kind, _)| kind == media)
            .map(|(_, body)| body);
        let body = matching
            .next()
            .unwrap_or_else(|| panic!("no {media} part in:\n{}", self.data));
        assert!(
            matching.next().is_none(),
            "more than one {media} part in:\n{}",
            self.data
        );
        body
    }

    /// The first run of ASCII digits in the subject: the code.
    pub fn code(&self) -> String {
        self.subject()
            .split(|c: char| !c.is_ascii_digit())
            .find(|part| !part.is_empty())
            .expect("a code in the subject")
            .to_string()
    }
}

/// A MIME entity (the message or one of its parts), line breaks already `\n`: its headers,
/// names lower-cased and folded lines joined, and its body as sent (still encoded).
struct Entity<'a> {
    headers: Vec<(String, String)>,
    body: &'a str,
}

impl<'a> Entity<'a> {
    /// Splits `raw` at the blank line that ends the headers.
    fn parse(raw: &'a str) -> Self {
        let (head, body) = match raw.strip_prefix('\n') {
            Some(body) => ("", body),
            None => raw.split_once("\n\n").unwrap_or((raw, "")),
        };
        // Unfolding (RFC 5322 2.2.3): a line break followed by white space is not a break.
        let head = head.replace("\n ", " ").replace("\n\t", "\t");
        let headers = head
            .lines()
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_string()))
            .collect();
        Self { headers, body }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(found, _)| found.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// A header value made of RFC 2047 encoded words (`=?utf-8?b?…?=`, the white space between them
/// not part of the text), decoded; any other value as it is.
fn decode_words(value: &str) -> String {
    // Words as the header has them: an encoded word (`=?utf-8?b?…?=`) is decoded; the space
    // between two encoded words is dropped (RFC 2047, 6.2), any other is kept.
    let decode = |word: &str| -> Option<String> {
        let prefix = word.get(..10)?;
        if !prefix.eq_ignore_ascii_case("=?utf-8?b?") {
            return None;
        }
        let encoded = word[10..].strip_suffix("?=")?;
        String::from_utf8(STANDARD.decode(encoded).ok()?).ok()
    };
    let mut out = String::new();
    let mut previous_encoded = false;
    for (index, word) in value.split(' ').enumerate() {
        match decode(word) {
            Some(text) => {
                if index > 0 && !previous_encoded {
                    out.push(' ');
                }
                out.push_str(&text);
                previous_encoded = true;
            }
            None => {
                if index > 0 {
                    out.push(' ');
                }
                out.push_str(word);
                previous_encoded = false;
            }
        }
    }
    out
}

/// The media type of a `Content-Type` value, lower-cased: `text/plain`, `multipart/alternative`.
fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// A parameter of a `Content-Type` value, unquoted (`boundary`, `charset`).
fn parameter(content_type: &str, name: &str) -> Option<String> {
    content_type
        .split(';')
        .skip(1)
        .filter_map(|param| param.split_once('='))
        .find(|(key, _)| key.trim().eq_ignore_ascii_case(name))
        .map(|(_, value)| value.trim().trim_matches('"').to_string())
}

/// Collects the leaf parts of the entity `raw` (line breaks `\n`), depth first, as
/// (media type, decoded body with `\n` line breaks).
fn leaf_parts(raw: &str, out: &mut Vec<(String, String)>) {
    let entity = Entity::parse(raw);
    let content_type = entity.header("content-type").unwrap_or("text/plain");
    let media = media_type(content_type);
    if media.starts_with("multipart/") {
        let boundary = parameter(content_type, "boundary")
            .unwrap_or_else(|| panic!("a multipart without a boundary: {content_type}"));
        // RFC 2046 5.1.1: the line break before `--boundary` belongs to the delimiter. The
        // first delimiter may open the body, hence the added line break.
        let delimiter = format!("\n--{boundary}");
        let body = format!("\n{}", entity.body);
        for chunk in body.split(&delimiter).skip(1) {
            if chunk.starts_with("--") {
                break; // the closing delimiter
            }
            // The rest of the delimiter line (transport padding) is not part of the part.
            let part = chunk.split_once('\n').map_or("", |(_, part)| part);
            leaf_parts(part, out);
        }
        return;
    }
    let encoding = entity
        .header("content-transfer-encoding")
        .unwrap_or("7bit")
        .to_ascii_lowercase();
    let bytes = match encoding.as_str() {
        "quoted-printable" => decode_quoted_printable(entity.body),
        "base64" => STANDARD
            .decode(entity.body.split_whitespace().collect::<String>())
            .unwrap_or_else(|e| panic!("a {media} part that is not base64 ({e})")),
        _ => entity.body.as_bytes().to_vec(), // 7bit, 8bit, binary
    };
    let text = String::from_utf8(bytes)
        .unwrap_or_else(|e| panic!("a {media} part that is not UTF-8 ({e})"))
        .replace("\r\n", "\n");
    out.push((media, text));
}

/// Decodes a quoted-printable body (RFC 2045 6.7) whose line breaks are `\n`: `=` at the end of
/// a line is a soft break (the line goes on), `=XX` is the byte 0xXX, white space at the end of a
/// line was added in transport and goes.
fn decode_quoted_printable(encoded: &str) -> Vec<u8> {
    fn hex_digit(byte: u8) -> Option<u8> {
        char::from(byte)
            .to_digit(16)
            .and_then(|digit| u8::try_from(digit).ok())
    }
    let mut out = Vec::with_capacity(encoded.len());
    let mut lines = encoded.split('\n').peekable();
    while let Some(line) = lines.next() {
        let line = line.trim_end_matches([' ', '\t', '\r']);
        let (line, soft_break) = match line.strip_suffix('=') {
            Some(rest) => (rest.as_bytes(), true),
            None => (line.as_bytes(), false),
        };
        let mut i = 0;
        while i < line.len() {
            let escaped = match line.get(i..i + 3) {
                Some([b'=', high, low]) => hex_digit(*high)
                    .zip(hex_digit(*low))
                    .map(|(high, low)| high * 16 + low),
                _ => None,
            };
            match escaped {
                Some(byte) => {
                    out.push(byte);
                    i += 3;
                }
                None => {
                    out.push(line[i]);
                    i += 1;
                }
            }
        }
        if !soft_break && lines.peek().is_some() {
            out.push(b'\n');
        }
    }
    out
}

/// How long a test waits for a message before it gives up: a guard against a hang, far above
/// what any machine needs (the worker hands a new message to SMTP within milliseconds), not a
/// claim about speed.
pub const MAIL_WITHIN: Duration = Duration::from_secs(60);

#[derive(Clone)]
pub struct MailSink {
    pub port: u16,
    received: Arc<Mutex<Vec<ReceivedMail>>>,
    arrived: Arc<Notify>,
}

impl MailSink {
    pub async fn start() -> Self {
        Self::start_on(0).await
    }

    pub async fn start_on(port: u16) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind the SMTP sink");
        let sink = Self {
            port: listener.local_addr().expect("an address").port(),
            received: Arc::default(),
            arrived: Arc::default(),
        };
        let server = sink.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let server = server.clone();
                tokio::spawn(async move {
                    let _ = server.session(stream).await;
                });
            }
        });
        sink
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub async fn all(&self) -> Vec<ReceivedMail> {
        self.received.lock().await.clone()
    }

    /// Every message addressed to `recipient` so far.
    pub async fn to(&self, recipient: &str) -> Vec<ReceivedMail> {
        self.received
            .lock()
            .await
            .iter()
            .filter(|m| {
                m.recipients
                    .iter()
                    .any(|r| r.eq_ignore_ascii_case(recipient))
            })
            .cloned()
            .collect()
    }

    /// Waits (up to `within`) until `recipient` has received `count` messages; returns the last.
    pub async fn wait_for_nth(
        &self,
        recipient: &str,
        count: usize,
        within: Duration,
    ) -> ReceivedMail {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let notified = self.arrived.notified();
            let mails = self.to(recipient).await;
            if mails.len() >= count {
                return mails[count - 1].clone();
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!("no mail #{count} for {recipient} within {within:?}");
            }
        }
    }

    pub async fn wait_for(&self, recipient: &str) -> ReceivedMail {
        self.wait_for_nth(recipient, 1, MAIL_WITHIN).await
    }

    async fn session(&self, stream: TcpStream) -> std::io::Result<()> {
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read);
        write.write_all(b"220 sink.test ESMTP\r\n").await?;
        let mut recipients = Vec::new();
        let mut line = String::new();
        loop {
            line.clear();
            if lines.read_line(&mut line).await? == 0 {
                return Ok(());
            }
            let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
            let reply: &[u8] = match verb.as_str() {
                "EHLO" => b"250-sink.test\r\n250 8BITMIME\r\n",
                "HELO" | "NOOP" => b"250 ok\r\n",
                "MAIL" => {
                    recipients.clear();
                    b"250 ok\r\n"
                }
                "RCPT" => {
                    let address = line
                        .split_once(':')
                        .map(|(_, a)| a.trim().trim_matches(['<', '>']).to_string())
                        .unwrap_or_default();
                    if address.contains("reject") {
                        b"550 5.1.1 no such mailbox\r\n"
                    } else {
                        recipients.push(address);
                        b"250 ok\r\n"
                    }
                }
                "RSET" => {
                    recipients.clear();
                    b"250 ok\r\n"
                }
                "DATA" => {
                    write.write_all(b"354 go ahead\r\n").await?;
                    let mut data = String::new();
                    loop {
                        line.clear();
                        if lines.read_line(&mut line).await? == 0 {
                            return Ok(());
                        }
                        if line == ".\r\n" || line == ".\n" {
                            break;
                        }
                        data.push_str(line.strip_prefix('.').unwrap_or(&line));
                    }
                    self.received.lock().await.push(ReceivedMail {
                        recipients: std::mem::take(&mut recipients),
                        data,
                    });
                    self.arrived.notify_waiters();
                    b"250 ok: queued\r\n"
                }
                "QUIT" => {
                    write.write_all(b"221 bye\r\n").await?;
                    return Ok(());
                }
                _ => b"502 not implemented\r\n",
            };
            write.write_all(reply).await?;
        }
    }
}
