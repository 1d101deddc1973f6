//! A minimal SMTP server that accepts every message and remembers, per recipient, when it
//! accepted it and the message's subject: enough for lettre's client (EHLO, MAIL, RCPT, DATA,
//! RSET, NOOP, QUIT), for measuring how long activation emails take and for reading their codes,
//! without a real mail server on the machine.

use std::{
    collections::HashMap,
    net::Ipv4Addr,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use anyhow::Context as _;
use tokio::{
    io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader},
    net::{TcpListener, TcpStream, tcp::OwnedReadHalf},
    task::JoinHandle,
};

/// One accepted message for one recipient.
#[derive(Clone, Debug)]
struct Delivery {
    /// Lower-cased address from `RCPT TO:<…>`.
    recipient: String,
    /// When the message's final `.` line was read, just before answering `250`.
    accepted_at: Instant,
    /// The `Subject:` header, unfolded; `None` when the message had none.
    subject: Option<String>,
}

type Deliveries = Arc<Mutex<Vec<Delivery>>>;

/// The running sink; it stops listening when dropped.
pub struct SmtpSink {
    deliveries: Deliveries,
    accept_loop: JoinHandle<()>,
}

impl SmtpSink {
    /// Listens on 127.0.0.1:`port`. Tokio sets `SO_REUSEADDR` on Unix, so the port can be taken
    /// again right after the previous run's sink closed it.
    pub async fn start(port: u16) -> anyhow::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port))
            .await
            .with_context(|| format!("the SMTP sink could not listen on 127.0.0.1:{port}"))?;
        let deliveries = Deliveries::default();
        let accept_loop = tokio::spawn(accept_loop(listener, Arc::clone(&deliveries)));
        Ok(Self {
            deliveries,
            accept_loop,
        })
    }

    /// When each recipient's first message was accepted.
    pub fn first_acceptances(&self) -> HashMap<String, Instant> {
        let deliveries = self
            .deliveries
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut first = HashMap::with_capacity(deliveries.len());
        for delivery in deliveries.iter() {
            first
                .entry(delivery.recipient.clone())
                .or_insert(delivery.accepted_at);
        }
        first
    }

    /// The subject of the latest message to `recipient` that had one.
    pub fn latest_subject(&self, recipient: &str) -> Option<String> {
        let recipient = recipient.to_ascii_lowercase();
        let deliveries = self
            .deliveries
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        deliveries
            .iter()
            .rev()
            .filter(|delivery| delivery.recipient == recipient)
            .find_map(|delivery| delivery.subject.clone())
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.accept_loop.abort();
    }
}

async fn accept_loop(listener: TcpListener, deliveries: Deliveries) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let deliveries = Arc::clone(&deliveries);
                tokio::spawn(async move {
                    // A client hanging up mid-session only ends that session; the mail
                    // worker retries, and a missing email shows in the report anyway.
                    let _ = session(stream, &deliveries).await;
                });
            }
            Err(e) => {
                // Typically out of file descriptors: back off instead of spinning.
                eprintln!("[smtp sink] accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// One SMTP conversation, command by command, until QUIT or the client hangs up.
async fn session(stream: TcpStream, deliveries: &Mutex<Vec<Delivery>>) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let (reader, mut writer) = stream.into_split();
    let mut reader = BufReader::new(reader);
    let mut line = Vec::new();
    let mut recipients: Vec<String> = Vec::new();

    writer.write_all(b"220 bench-sink ESMTP\r\n").await?;
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).await? == 0 {
            return Ok(());
        }
        let command = String::from_utf8_lossy(&line);
        let verb = command
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" | "HELO" => b"250 bench-sink\r\n",
            "MAIL" | "RSET" => {
                recipients.clear();
                b"250 ok\r\n"
            }
            "RCPT" => {
                if let Some(address) = angle_address(&command) {
                    recipients.push(address);
                }
                b"250 ok\r\n"
            }
            "NOOP" => b"250 ok\r\n",
            "DATA" => {
                writer
                    .write_all(b"354 end data with <CR><LF>.<CR><LF>\r\n")
                    .await?;
                let subject = read_message(&mut reader).await?;
                record(deliveries, &mut recipients, subject, Instant::now());
                b"250 ok queued\r\n"
            }
            "QUIT" => {
                writer.write_all(b"221 bye\r\n").await?;
                return Ok(());
            }
            _ => b"502 command not implemented\r\n",
        };
        writer.write_all(reply).await?;
    }
}

/// Reads the message up to and including the line that is exactly `.`, keeping its header
/// section (at most [`MAX_HEADER_BYTES`]); returns the subject. The body is read and dropped.
async fn read_message(reader: &mut BufReader<OwnedReadHalf>) -> std::io::Result<Option<String>> {
    let mut line = Vec::new();
    let mut headers = Vec::new();
    let mut in_headers = true;
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        if matches!(line.as_slice(), b".\r\n" | b".\n") {
            return Ok(subject_of(&String::from_utf8_lossy(&headers)));
        }
        if !in_headers {
            continue;
        }
        if matches!(line.as_slice(), b"\r\n" | b"\n") {
            in_headers = false;
        } else if headers.len() + line.len() <= MAX_HEADER_BYTES {
            // Dot-stuffing: the client doubled a leading `.`.
            let unstuffed = line.strip_prefix(b".").unwrap_or(line.as_slice());
            headers.extend_from_slice(unstuffed);
        }
    }
}

/// More header than any activation email has; the rest of an oversized header is dropped.
const MAX_HEADER_BYTES: usize = 64 * 1024;

/// The value of the `Subject:` header (any case) in a message's header section, with folded
/// continuation lines joined back on and the surrounding spaces trimmed.
fn subject_of(headers: &str) -> Option<String> {
    let mut lines = headers.lines();
    while let Some(line) = lines.next() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        if !name.trim_end().eq_ignore_ascii_case("subject") {
            continue;
        }
        let mut subject = value.to_string();
        // Unfolding (RFC 5322 §2.2.3): a line that starts with white space continues the field.
        for continuation in lines.by_ref().take_while(|l| l.starts_with([' ', '\t'])) {
            subject.push_str(continuation);
        }
        return Some(subject.trim().to_string());
    }
    None
}

/// Notes the message as accepted for each of its recipients; the next transaction starts empty.
fn record(
    deliveries: &Mutex<Vec<Delivery>>,
    recipients: &mut Vec<String>,
    subject: Option<String>,
    accepted_at: Instant,
) {
    let mut deliveries = deliveries.lock().unwrap_or_else(PoisonError::into_inner);
    deliveries.extend(recipients.drain(..).map(|recipient| Delivery {
        recipient,
        accepted_at,
        subject: subject.clone(),
    }));
}

/// The address between `<` and `>` in `RCPT TO:<ada@example.com> …`, lower-cased.
fn angle_address(command: &str) -> Option<String> {
    let start = command.find('<')? + 1;
    let len = command[start..].find('>')?;
    Some(command[start..start + len].to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    use super::*;

    #[test]
    fn reads_the_recipient() {
        assert_eq!(
            angle_address("RCPT TO:<Ada@Example.com> NOTIFY=NEVER\r\n").as_deref(),
            Some("ada@example.com")
        );
        assert_eq!(angle_address("RCPT TO:ada@example.com\r\n"), None);
    }

    #[test]
    fn reads_the_subject() {
        let headers = "From: Accounts <no-reply@localhost>\r\n\
                       To: ada@example.com\r\n\
                       Subject: 0427 is your activation code\r\n\
                       MIME-Version: 1.0\r\n";
        assert_eq!(
            subject_of(headers).as_deref(),
            Some("0427 is your activation code")
        );
        assert_eq!(
            subject_of("subject:   spaced  \n").as_deref(),
            Some("spaced")
        );
        assert_eq!(subject_of("To: a@b.c\r\nX-Subject: no\r\n"), None);
        assert_eq!(subject_of(""), None);
    }

    #[test]
    fn unfolds_a_long_subject() {
        let headers = "Subject: 0427 is your\r\n activation code\r\nTo: ada@example.com\r\n";
        assert_eq!(
            subject_of(headers).as_deref(),
            Some("0427 is your activation code")
        );
    }

    /// A whole conversation as lettre has it, over a real socket.
    #[tokio::test]
    async fn accepts_a_message_and_records_its_recipient() -> anyhow::Result<()> {
        let probe = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let port = probe.local_addr()?.port();
        drop(probe);
        let sink = SmtpSink::start(port).await?;

        let mut client = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).await?;
        client
            .write_all(
                b"EHLO test\r\nMAIL FROM:<no-reply@localhost>\r\nRCPT TO:<Ada@Example.com>\r\n\
                  DATA\r\nSubject: 1234 is your\r\n\tactivation code\r\n\r\nSubject: body\r\n\
                  ..not the end\r\n.\r\nRSET\r\nNOOP\r\nQUIT\r\n",
            )
            .await?;
        let mut replies = String::new();
        client.read_to_string(&mut replies).await?;

        let codes: Vec<&str> = replies.lines().map(|l| &l[..3]).collect();
        assert_eq!(
            codes,
            [
                "220", "250", "250", "250", "354", "250", "250", "250", "221"
            ]
        );
        assert!(sink.first_acceptances().contains_key("ada@example.com"));
        assert_eq!(
            sink.latest_subject("Ada@example.com").as_deref(),
            Some("1234 is your\tactivation code")
        );
        assert_eq!(sink.latest_subject("bob@example.com"), None);
        Ok(())
    }
}
