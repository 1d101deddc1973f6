//! Faults the app must survive, with real processes: its own Postgres cluster fast-stopped and
//! started again under a steady registration load, and an SMTP server that accepts connections
//! and then says nothing.

use std::{
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};

use server::startup::Application;
use sqlx::PgPool;
use tokio::{net::TcpStream, sync::Mutex};

use crate::helpers::{MailSink, Person, free_port, spawn_app_with, test_settings};

const POSTGRES_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/postgres.sh");

/// A Postgres cluster of the test's own (`scripts/postgres.sh --throwaway`) in a directory
/// under `target/tmp`: stopped and removed when dropped, pass or fail.
struct Cluster {
    dir: PathBuf,
    port: u16,
}

impl Cluster {
    /// Initialises and starts a cluster on a free port; returns it and its `DATABASE_URL`.
    async fn start() -> (Self, String) {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("faults-pg-{}", uuid::Uuid::new_v4().simple()));
        let cluster = Self {
            dir,
            port: free_port(),
        };
        let url = cluster.run_start().await;
        (cluster, url)
    }

    /// `postgres.sh start`: returns once the server accepts connections.
    async fn run_start(&self) -> String {
        let output = tokio::process::Command::new(POSTGRES_SCRIPT)
            .arg("start")
            .arg(&self.dir)
            .arg(self.port.to_string())
            .arg("--throwaway")
            .output()
            .await
            .expect("run postgres.sh start");
        assert!(
            output.status.success(),
            "postgres.sh start failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout)
            .expect("a UTF-8 URL")
            .trim()
            .to_owned()
    }

    /// `pg_ctl stop -m fast` (through `postgres.sh stop`): open connections are terminated,
    /// open transactions roll back; returns once the server is down.
    async fn fast_stop(&self) {
        let status = tokio::process::Command::new(POSTGRES_SCRIPT)
            .arg("stop")
            .arg(&self.dir)
            .status()
            .await
            .expect("run postgres.sh stop");
        assert!(status.success(), "postgres.sh stop failed");
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = std::process::Command::new(POSTGRES_SCRIPT)
            .arg("stop")
            .arg(&self.dir)
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One registration of the load and what came back.
#[derive(Debug)]
struct Answer {
    email: String,
    sent: Instant,
    latency: Duration,
    /// `None`: no answer at all (the client gave up after 30 s).
    status: Option<u16>,
    error: Option<String>,
    retry_after: Option<String>,
}

impl Answer {
    fn answered(&self) -> Instant {
        self.sent + self.latency
    }
}

async fn register_once(client: reqwest::Client, url: String, person: Person) -> Answer {
    let sent = Instant::now();
    let response = client.post(url).json(&person.json()).send().await;
    let mut answer = Answer {
        email: person.email,
        sent,
        latency: sent.elapsed(),
        status: None,
        error: None,
        retry_after: None,
    };
    if let Ok(response) = response {
        answer.status = Some(response.status().as_u16());
        answer.retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body: Option<serde_json::Value> = response.json().await.ok();
        answer.error = body.and_then(|b| b["error"].as_str().map(str::to_owned));
        answer.latency = sent.elapsed();
    }
    answer
}

/// Registers a new person every `every` until `stop` is set. Each answer is added to `answers`
/// as it arrives, so the test can wait for what it needs to see; the task returns once every
/// request it sent has been answered.
fn steady_load(
    address: String,
    every: Duration,
    stop: Arc<std::sync::atomic::AtomicBool>,
    answers: Arc<std::sync::Mutex<Vec<Answer>>>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("a client");
        let url = format!("{address}/api/register");
        let mut tick = tokio::time::interval(every);
        let mut in_flight = Vec::new();
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            tick.tick().await;
            let (client, url, answers) = (client.clone(), url.clone(), Arc::clone(&answers));
            in_flight.push(tokio::spawn(async move {
                let answer = register_once(client, url, Person::new()).await;
                answers.lock().expect("the answers").push(answer);
            }));
        }
        for request in in_flight {
            request.await.expect("a registration task");
        }
    })
}

/// Waits until `enough` holds for the load's answers so far; panics with `what` after
/// `within` (a guard against a hang, far above what any machine needs).
async fn until_answers(
    answers: &std::sync::Mutex<Vec<Answer>>,
    enough: impl Fn(&[Answer]) -> bool,
    within: Duration,
    what: &str,
) {
    let started = Instant::now();
    while !enough(&answers.lock().expect("the answers")) {
        assert!(
            started.elapsed() < within,
            "still not {what} after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Polls `query` (one boolean) on `pool` every 100 ms until it answers true; panics with
/// `what` after `within`.
async fn until(pool: &PgPool, query: &str, within: Duration, what: &str) {
    let started = Instant::now();
    loop {
        if sqlx::query_scalar::<_, bool>(query)
            .fetch_one(pool)
            .await
            .unwrap_or(false)
        {
            return;
        }
        assert!(
            started.elapsed() < within,
            "still not {what} after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
#[expect(
    clippy::print_stdout,
    reason = "the figures for the notes (--nocapture)"
)]
async fn postgres_restarted_under_load_gives_503s_then_recovers_losing_no_account_or_email() {
    const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);
    // What a request may take on top of the acquire timeout on a slow, busy machine: a password
    // hash and the queries before the one that waited. A guard against a request that hangs
    // (until the client's 30 s), not a claim about speed.
    const MARGIN: Duration = Duration::from_secs(10);
    let (cluster, database_url) = Cluster::start().await;
    let mail = MailSink::start().await;
    let smtp_url = mail.url();
    let settings = test_settings(
        &database_url,
        &[
            ("SMTP_URL", smtp_url.as_str()),
            ("DATABASE_ACQUIRE_TIMEOUT_SECS", "2"),
            ("RATE_LIMIT_REGISTER_PER_IP", "0"),
            ("EMAIL_RETRY_BASE_MS", "200"),
            // A code outlives the test, so no email expires unsent while the test waits.
            ("ACTIVATION_CODE_TTL_SECS", "600"),
        ],
    );
    let app = Application::build(settings).await.expect("build the app");
    let address = format!("http://{}", app.local_addr());
    tokio::spawn(app.run_until(std::future::pending()));

    let stop_load = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let answers = Arc::new(std::sync::Mutex::new(Vec::new()));
    let load = steady_load(
        address.clone(),
        Duration::from_millis(250),
        Arc::clone(&stop_load),
        Arc::clone(&answers),
    );
    let created = |answers: &[Answer], since: Option<Instant>| {
        answers
            .iter()
            .filter(|a| a.status == Some(201) && since.is_none_or(|since| a.sent > since))
            .count()
    };
    // Every wait below is for something the test sees happen; the limits only stop a hang.
    const HANG: Duration = Duration::from_secs(60);
    until_answers(
        &answers,
        |a| created(a, None) >= 3,
        HANG,
        "3 accounts created before the fault",
    )
    .await;

    let check = PgPool::connect(&database_url).await.expect("connect");
    let pending_at_stop: i64 =
        sqlx::query_scalar("select count(*) from email_outbox where status = 'pending'")
            .fetch_one(&check)
            .await
            .expect("count pending emails");
    check.close().await;
    let stopping = Instant::now();
    cluster.fast_stop().await;
    // Postgres is down from `down` (the stop has returned) until `restarting` (the start has
    // not begun): whatever is sent and answered between the two never reached it.
    let down = Instant::now();
    until_answers(
        &answers,
        |a| a.iter().filter(|a| a.sent >= down).count() >= 5,
        HANG,
        "5 requests sent in the outage answered",
    )
    .await;
    // Every answer counted above was recorded before this instant.
    let restarting = Instant::now();
    cluster.run_start().await;
    let back = Instant::now();

    // Recovery: a registration sent after Postgres is back succeeds.
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("a client");
    let recovered = loop {
        let answer = register_once(
            client.clone(),
            format!("{address}/api/register"),
            Person::new(),
        )
        .await;
        if answer.status == Some(201) {
            break answer.answered();
        }
        assert!(
            back.elapsed() < HANG,
            "no registration succeeded within {HANG:?} of Postgres being back: {answer:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let recovery = recovered - back;
    // The load goes on after recovery, and is served.
    until_answers(
        &answers,
        |a| created(a, Some(back)) >= 3,
        HANG,
        "3 accounts created after the restart",
    )
    .await;
    stop_load.store(true, std::sync::atomic::Ordering::Relaxed);
    load.await.expect("the load task");
    let answers = std::mem::take(&mut *answers.lock().expect("the answers"));

    // Every answer is a 201 or a typed 503 `unavailable` with Retry-After; none hung.
    for answer in &answers {
        match answer.status {
            Some(201) => {}
            Some(503) => {
                assert_eq!(answer.error.as_deref(), Some("unavailable"), "{answer:?}");
                assert!(answer.retry_after.is_some(), "Retry-After: {answer:?}");
            }
            _ => panic!("neither 201 nor 503: {answer:?}"),
        }
        assert!(
            answer.latency <= ACQUIRE_TIMEOUT + MARGIN,
            "took longer than the acquire timeout and a margin: {answer:?}"
        );
    }
    // Sent and answered while Postgres was down: 503, every one.
    let during: Vec<&Answer> = answers
        .iter()
        .filter(|a| a.sent >= down && a.answered() <= restarting)
        .collect();
    assert!(during.len() >= 5, "{} requests in the outage", during.len());
    assert!(during.iter().all(|a| a.status == Some(503)), "{during:?}");
    let overlapping: Vec<&Answer> = answers
        .iter()
        .filter(|a| a.answered() >= stopping && a.sent <= back)
        .collect();
    let max_latency = overlapping
        .iter()
        .map(|a| a.latency)
        .max()
        .unwrap_or_default();

    // No half-written account, no lost email.
    let check = PgPool::connect(&database_url).await.expect("connect");
    for answer in answers.iter().filter(|a| a.status == Some(201)) {
        let exists: bool =
            sqlx::query_scalar("select exists(select 1 from users where email = $1)")
                .bind(&answer.email)
                .fetch_one(&check)
                .await
                .expect("look the account up");
        assert!(exists, "a 201 without its account: {answer:?}");
    }
    let (users, outbox, without_email): (i64, i64, i64) = sqlx::query_as(
        "select (select count(*) from users), (select count(*) from email_outbox),
                (select count(*) from users u
                 where not exists (select 1 from email_outbox o where o.user_id = u.id))",
    )
    .fetch_one(&check)
    .await
    .expect("count");
    assert_eq!(without_email, 0, "accounts without their activation email");
    assert_eq!(users, outbox, "one activation email per account");
    let refused_but_created = answers
        .iter()
        .filter(|a| a.status == Some(503))
        .map(|a| a.email.clone())
        .collect::<Vec<_>>();
    let refused_but_created: i64 =
        sqlx::query_scalar("select count(*) from users where email = any($1)")
            .bind(&refused_but_created)
            .fetch_one(&check)
            .await
            .expect("count");

    // The mail worker lived through it: everything queued reaches the SMTP server.
    let settling = Instant::now();
    until(
        &check,
        "select not exists(select 1 from email_outbox where status <> 'sent')",
        // A message sent as Postgres went down is marked sent once it is back (the worker
        // tries again for half its 25 s lease), not sent again when its lease runs out (the
        // count of emails each address got, below, would show it).
        HANG,
        "every email sent",
    )
    .await;
    let emails: Vec<String> = sqlx::query_scalar("select email from users")
        .fetch_all(&check)
        .await
        .expect("the accounts");
    let settled = settling.elapsed();
    for email in &emails {
        assert_eq!(mail.to(email).await.len(), 1, "one email reached {email}");
    }
    let count = |status: u16| answers.iter().filter(|a| a.status == Some(status)).count();
    println!(
        "postgres restart: {} requests in all ({} × 201, {} × 503); {} sent and answered during \
         the outage, all 503 unavailable with Retry-After; {} overlapping it, max latency \
         {max_latency:?} (acquire timeout {ACQUIRE_TIMEOUT:?}); fast stop took {:?}, down {:?}; \
         first success {recovery:?} after Postgres was back ({:?} to start it); {users} users, {outbox} outbox \
         rows, {without_email} accounts without an email, {refused_but_created} refused but \
         created; {pending_at_stop} emails pending at the stop; all {} emails delivered once, the last {settled:?} after the load \
         ended",
        answers.len(),
        count(201),
        count(503),
        during.len(),
        overlapping.len(),
        down - stopping,
        restarting - down,
        back - restarting,
        emails.len(),
    );
    drop(cluster);
}

/// A TCP listener that accepts connections and never writes a byte; the sockets stay open
/// until it is stopped.
struct SilentSmtp {
    port: u16,
    accepted: Arc<Mutex<Vec<TcpStream>>>,
    task: tokio::task::JoinHandle<()>,
}

impl SilentSmtp {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("an address").port();
        let accepted: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let kept = Arc::clone(&accepted);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                kept.lock().await.push(stream);
            }
        });
        Self {
            port,
            accepted,
            task,
        }
    }

    async fn connections(&self) -> usize {
        self.accepted.lock().await.len()
    }

    /// Stops listening (the accepted sockets stay open) and returns once the port is free.
    async fn stop_listening(&self) {
        self.task.abort();
        while !self.task.is_finished() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

#[tokio::test]
#[expect(
    clippy::print_stdout,
    reason = "the figures for the notes (--nocapture)"
)]
async fn an_smtp_server_that_never_answers_delays_no_registration_and_loses_no_email() {
    // Every wait below is for something the test sees happen; the limits only stop a hang.
    const HANG: Duration = Duration::from_secs(60);

    // No registration waits for the mail. With an SMTP server that never answers and the
    // longest SMTP time limit there is (30 s), each registration is answered while its email is
    // still pending with no failed attempt: one that waited on SMTP could only be answered once
    // the limit had fired and the failure was recorded. Events, not a stopwatch: how fast the
    // machine registers does not matter, only that the answer comes before the failure.
    let patient_smtp = SilentSmtp::start().await;
    let patient_url = format!("smtp://127.0.0.1:{}", patient_smtp.port);
    let patient = spawn_app_with(&[
        ("SMTP_URL", patient_url.as_str()),
        ("SMTP_TIMEOUT_SECS", "30"),
        ("RATE_LIMIT_REGISTER_PER_IP", "0"),
    ])
    .await;
    for _ in 0..3 {
        let person = Person::new();
        let response = patient.register(&person).await;
        assert_eq!(response.status(), 201);
        let (status, last_error): (String, Option<String>) = sqlx::query_as(
            "select o.status, o.last_error from email_outbox o join users u on u.id = o.user_id
             where u.email = $1",
        )
        .bind(&person.email)
        .fetch_one(&patient.pool)
        .await
        .expect("the registration's email");
        assert_eq!(
            (status.as_str(), last_error.as_deref()),
            ("pending", None),
            "answered only after its email was tried and failed"
        );
    }

    let silent = SilentSmtp::start().await;
    let smtp_url = format!("smtp://127.0.0.1:{}", silent.port);
    let app = spawn_app_with(&[
        ("SMTP_URL", smtp_url.as_str()),
        ("SMTP_TIMEOUT_SECS", "1"),
        ("EMAIL_RETRY_BASE_MS", "200"),
        ("RATE_LIMIT_REGISTER_PER_IP", "0"),
        // A code outlives the test, so no email expires unsent while the test waits.
        ("ACTIVATION_CODE_TTL_SECS", "600"),
    ])
    .await;
    let people: Vec<Person> = (0..5).map(|_| Person::new()).collect();
    let mut latencies = Vec::new();
    let mut first_registered = None;
    for person in &people {
        let started = Instant::now();
        let response = app.register(person).await;
        assert_eq!(response.status(), 201);
        latencies.push(started.elapsed());
        first_registered.get_or_insert_with(Instant::now);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let first_registered = first_registered.expect("registered");

    // The time limit fires and the message is tried again, still pending.
    until(
        &app.pool,
        "select attempts >= 2 and status = 'pending' and last_error like '%did not answer%'
         from email_outbox order by id limit 1",
        HANG,
        "retried",
    )
    .await;
    let first_retry = first_registered.elapsed();
    // Every message, not just the first: the worker is not stuck on one.
    until(
        &app.pool,
        "select count(*) = 5 and bool_and(attempts >= 2 and status = 'pending')
         from email_outbox",
        HANG,
        "every email retried",
    )
    .await;
    let silent_connections = silent.connections().await;
    assert!(silent_connections >= 2, "{silent_connections} connections");
    let attempts_before: Vec<i32> =
        sqlx::query_scalar("select attempts from email_outbox order by id")
            .fetch_all(&app.pool)
            .await
            .expect("attempts");

    // A working SMTP server takes the port over: every message arrives, once. Each goes out at
    // its next retry, which the backoff may have put a while ahead (200 ms doubled per attempt
    // made while the server was silent): the guard allows for that.
    silent.stop_listening().await;
    let sink = MailSink::start_on(silent.port).await;
    let took_over = Instant::now();
    for person in &people {
        sink.wait_for_nth(&person.email, 1, Duration::from_secs(120))
            .await;
    }
    let delivered_after = took_over.elapsed();
    app.outbox_settles().await;
    let statuses: Vec<(String, i32)> =
        sqlx::query_as("select status, attempts from email_outbox order by id")
            .fetch_all(&app.pool)
            .await
            .expect("the outbox");
    assert!(statuses.iter().all(|(s, _)| s == "sent"), "{statuses:?}");
    for person in &people {
        assert_eq!(sink.to(&person.email).await.len(), 1, "exactly once");
    }
    println!(
        "silent SMTP: registrations answered in {latencies:?}; first message retried (attempt 2 \
         claimed, attempt 1 timed out after 1 s) {first_retry:?} after the first registration; \
         {silent_connections} silent \
         connections held; attempts before the takeover {attempts_before:?}; all 5 delivered \
         {delivered_after:?} after a working server took the port over, attempts {:?}",
        statuses.iter().map(|(_, a)| *a).collect::<Vec<_>>()
    );
}
