//! A real SMTP server on a socket for the tests: it speaks just enough of RFC 5321 for lettre
//! and keeps what it receives. Recipients containing `reject` are refused with a permanent 550.

use std::{sync::Arc, time::Duration};

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
    pub fn subject(&self) -> String {
        self.data
            .lines()
            .find_map(|line| line.strip_prefix("Subject: "))
            .unwrap_or_default()
            .to_string()
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
        self.wait_for_nth(recipient, 1, Duration::from_secs(10))
            .await
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
