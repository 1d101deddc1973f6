//! Several replicas: three real `server` processes on one database behind Debian's nginx,
//! configured with the production site `deploy/nginx/accounts.conf` (filled in for loopback
//! ports and a self-signed certificate made with `openssl`), as `make cluster` runs it.
//!
//! The journey pins each request to a replica by calling it directly, as a trusted proxy does:
//! from 127.0.0.1 (`TRUSTED_PROXIES`) with the client's address in `X-Forwarded-For`. What nginx
//! itself must do (forwarding the real client address, TLS, HSTS, `/pkg`, retrying on a dead
//! replica) is checked through nginx, with clients on other loopback addresses (127.0.0.2,
//! 127.0.0.3) that nginx sees as distinct clients and the app does not trust.
//!
//! With `PGBOUNCER=1` (`make test` sets it) the migrations and the replicas reach Postgres through Debian's PgBouncer
//! in session mode (`scripts/pgbouncer.sh`), as `make cluster PGBOUNCER=1` runs them; the test's
//! own checks read Postgres directly.

use std::{
    collections::HashSet,
    net::IpAddr,
    os::unix::fs::MetadataExt as _,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use serde_json::json;
use sqlx::PgPool;

use crate::helpers::{MailSink, Person, basic, body, create_database, free_port};

const SERVER: &str = env!("CARGO_BIN_EXE_server");
const PGBOUNCER_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/pgbouncer.sh");
const SITE_TEMPLATE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/nginx/accounts.conf");
const SECRET_KEY: &str = "cluster-test-secret-key-shared-by-every-replica";
/// Registrations per client address per minute, low enough to reach in a test.
const REGISTER_PER_IP: usize = 3;
/// Wrong passwords per email before sign-in is refused.
const LOGIN_FAILURES: usize = 3;
/// How long start-up may take on a busy machine.
const START_WITHIN: Duration = Duration::from_secs(60);

fn nginx_binary() -> PathBuf {
    let path = PathBuf::from(std::env::var("NGINX").unwrap_or_else(|_| "/usr/sbin/nginx".into()));
    // Not a silent pass: the test needs nginx, and `make test` installs it.
    assert!(
        path.exists(),
        "nginx is not installed at {}: run `scripts/tools.sh nginx` (Debian's nginx package), \
         or set NGINX to its path",
        path.display()
    );
    path
}

/// Sends `signal` to `pid` with kill(1): the tests have no libc binding.
fn signal(pid: u32, signal: &str) {
    let _ = Command::new("kill")
        .args([signal, &pid.to_string()])
        .status();
}

/// Waits for `child` to exit, up to `within`; false when it is still running.
fn wait_exit(child: &mut Child, within: Duration) -> bool {
    let started = Instant::now();
    while started.elapsed() < within {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// A local port no other part of this cluster uses.
fn distinct_port(taken: &mut HashSet<u16>) -> u16 {
    loop {
        let port = free_port();
        if taken.insert(port) {
            return port;
        }
    }
}

/// PgBouncer started by `scripts/pgbouncer.sh` from `dir`, stopped when dropped.
struct PgBouncer {
    dir: PathBuf,
}

impl PgBouncer {
    /// When `PGBOUNCER` is set (and not `0`): session pooling in front of `database_url`'s
    /// server, with room for every replica's pool; returns it with the URL through it.
    fn start_if_asked(dir: &Path, port: u16, database_url: &str) -> Option<(Self, String)> {
        let asked = std::env::var("PGBOUNCER").is_ok_and(|v| !v.is_empty() && v != "0");
        if !asked {
            return None;
        }
        let dir = dir.join("pgbouncer");
        let started = Command::new(PGBOUNCER_SCRIPT)
            .arg("start")
            .arg(&dir)
            .arg(port.to_string())
            .arg(database_url)
            .env("PGBOUNCER_POOL_MODE", "session")
            // Three pools of 5, the migrations' connection, and room to spare.
            .env("PGBOUNCER_POOL_SIZE", "20")
            .stderr(Stdio::inherit())
            .output()
            .expect("run scripts/pgbouncer.sh");
        assert!(started.status.success(), "PgBouncer did not start");
        let url = String::from_utf8(started.stdout).expect("a URL");
        Some((Self { dir }, url.trim().to_string()))
    }
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        let _ = Command::new(PGBOUNCER_SCRIPT)
            .arg("stop")
            .arg(&self.dir)
            .status();
    }
}

struct Replica {
    child: Child,
    /// `host:port`
    address: String,
}

/// Stops everything it started when dropped, also when an assertion fails.
struct Cluster {
    dir: PathBuf,
    pool: PgPool,
    mail: MailSink,
    replicas: Vec<Replica>,
    nginx: Option<Child>,
    /// `Some` with `PGBOUNCER=1`: stopped after the replicas.
    pgbouncer: Option<PgBouncer>,
    /// `https://127.0.0.1:PORT`, nginx's TLS port and the app's APP_BASE_URL.
    base: String,
    http_port: u16,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Some(mut nginx) = self.nginx.take() {
            // Not SIGKILL: its worker would live on, holding the ports.
            signal(nginx.id(), "-TERM");
            if !wait_exit(&mut nginx, Duration::from_secs(10)) {
                let _ = nginx.kill();
            }
            let _ = nginx.wait();
        }
        for replica in &mut self.replicas {
            let _ = replica.child.kill();
            let _ = replica.child.wait();
        }
        drop(self.pgbouncer.take());
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Cluster {
    /// Three replicas in production mode and nginx in front of them.
    async fn start() -> Self {
        let nginx_bin = nginx_binary();
        let (database_url, _) = create_database().await;
        let pool = PgPool::connect(&database_url)
            .await
            .expect("connect to the test database");
        let mail = MailSink::start().await;
        let dir = std::env::temp_dir().join(format!("accounts-cluster-{}", uuid::Uuid::new_v4()));
        let site = dir.join("site");
        std::fs::create_dir_all(site.join("pkg")).expect("make the site directory");
        std::fs::create_dir_all(dir.join("tmp")).expect("make nginx's temporary directory");
        // What cargo-leptos builds: a plain name, and a fingerprinted one (`hash-files`).
        std::fs::write(site.join("pkg/accounts.js"), "export default 1;\n").expect("write");
        std::fs::write(
            site.join("pkg/accounts.0f3a9c2b7d.wasm"),
            b"\0asm\x01\0\0\0",
        )
        .expect("write");

        let mut ports = HashSet::new();
        // The replicas' (and the migrations') way to Postgres: direct, or through PgBouncer.
        let (pgbouncer, server_url) =
            match PgBouncer::start_if_asked(&dir, distinct_port(&mut ports), &database_url) {
                Some((pgbouncer, url)) => (Some(pgbouncer), url),
                None => (None, database_url.clone()),
            };
        let migrated = Command::new(SERVER)
            .arg("migrate")
            .env_clear()
            .env("DATABASE_URL", &server_url)
            .env("RUST_LOG", "warn")
            .output()
            .expect("run server migrate");
        assert!(migrated.status.success(), "migrate: {migrated:?}");

        let https_port = distinct_port(&mut ports);
        let http_port = distinct_port(&mut ports);
        let base = format!("https://127.0.0.1:{https_port}");
        let mut cluster = Self {
            dir,
            pool,
            mail,
            replicas: Vec::new(),
            nginx: None,
            pgbouncer,
            base,
            http_port,
        };
        for _ in 0..3 {
            let address = format!("127.0.0.1:{}", distinct_port(&mut ports));
            let child = Command::new(SERVER)
                .env_clear()
                .envs([
                    ("APP_ENV", "production"),
                    ("DATABASE_URL", server_url.as_str()),
                    ("DATABASE_MAX_CONNECTIONS", "5"),
                    ("LEPTOS_SITE_ADDR", &address),
                    ("LEPTOS_SITE_ROOT", &site.to_string_lossy()),
                    ("APP_BASE_URL", &cluster.base),
                    ("SECRET_KEY", SECRET_KEY),
                    ("SMTP_URL", &cluster.mail.url()),
                    ("TRUSTED_PROXIES", "127.0.0.1/32"),
                    // Three processes on one machine: each its own metrics port.
                    ("METRICS_ADDR", "127.0.0.1:0"),
                    ("RATE_LIMIT_REGISTER_PER_IP", &REGISTER_PER_IP.to_string()),
                    ("LOGIN_FAILURES_ALLOWED", &LOGIN_FAILURES.to_string()),
                    // A busy 2-core machine: waiting for a hashing slot is not what is tested.
                    ("PASSWORD_HASH_MAX_WAIT_MS", "20000"),
                    ("EMAIL_RETRY_BASE_MS", "200"),
                    ("RUST_LOG", "warn"),
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("start the server binary");
            cluster.replicas.push(Replica { child, address });
        }
        for replica in &cluster.replicas {
            wait_until_ok(
                &plain_client(),
                &format!("http://{}/readyz", replica.address),
            )
            .await;
        }

        let cert = cluster.dir.join("cert.pem");
        let key = cluster.dir.join("key.pem");
        let made = Command::new("openssl")
            .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
            .args(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "1"])
            .args(["-subj", "/CN=localhost", "-addext"])
            .arg("subjectAltName=IP:127.0.0.1,DNS:localhost")
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .stderr(Stdio::null())
            .status()
            .expect("run openssl");
        assert!(made.success(), "openssl could not make a certificate");

        let servers: String = cluster
            .replicas
            .iter()
            .map(|r| format!("server {};", r.address))
            .collect::<Vec<_>>()
            .join(" ");
        let site_conf = render(
            &std::fs::read_to_string(SITE_TEMPLATE).expect("read deploy/nginx/accounts.conf"),
            &[
                ("SERVER_NAME", "127.0.0.1 localhost"),
                ("APP_BASE_URL", &cluster.base),
                ("HTTPS_PORT", &https_port.to_string()),
                ("HTTP_PORT", &http_port.to_string()),
                ("TLS_CERT", &cert.to_string_lossy()),
                ("TLS_KEY", &key.to_string_lossy()),
                ("SITE_ROOT", &site.to_string_lossy()),
                ("APP_SERVERS", &servers),
            ],
        );
        std::fs::write(cluster.dir.join("accounts.conf"), site_conf).expect("write the site");
        let conf = cluster.dir.join("nginx.conf");
        std::fs::write(&conf, main_conf(&cluster.dir)).expect("write nginx.conf");
        let error_log = cluster.dir.join("error.log");
        let checked = Command::new(&nginx_bin)
            .arg("-t")
            .arg("-p")
            .arg(&cluster.dir)
            .arg("-e")
            .arg(&error_log)
            .arg("-c")
            .arg(&conf)
            .output()
            .expect("run nginx -t");
        assert!(
            checked.status.success(),
            "nginx refuses the site: {}",
            String::from_utf8_lossy(&checked.stderr)
        );
        let nginx = Command::new(&nginx_bin)
            .arg("-p")
            .arg(&cluster.dir)
            .arg("-e")
            .arg(&error_log)
            .arg("-c")
            .arg(&conf)
            .args(["-g", "daemon off;"])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start nginx");
        cluster.nginx = Some(nginx);
        wait_until_ok(&tls_client(None), &format!("{}/readyz", cluster.base)).await;
        cluster
    }

    /// `http://host:port` of replica `i`.
    fn replica(&self, i: usize) -> String {
        format!("http://{}", self.replicas[i].address)
    }

    fn access_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("access.log")).unwrap_or_default()
    }

    /// Waits until the outbox has nothing pending: every email sent (or given up). A row is
    /// marked sent only once the SMTP server took it.
    async fn outbox_settles(&self) {
        // A message leased by a replica that died waits out its lease (25 s) first.
        let deadline = Instant::now() + Duration::from_secs(150);
        loop {
            let pending: i64 = sqlx::query_scalar(
                "select count(*) from email_outbox where status not in ('sent', 'dead', 'expired')",
            )
            .fetch_one(&self.pool)
            .await
            .expect("count pending emails");
            if pending == 0 {
                return;
            }
            assert!(Instant::now() < deadline, "{pending} emails still pending");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Outbox rows marked sent.
    async fn sent_count(&self) -> usize {
        let sent: i64 =
            sqlx::query_scalar("select count(*) from email_outbox where status = 'sent'")
                .fetch_one(&self.pool)
                .await
                .expect("count sent emails");
        usize::try_from(sent).expect("a count")
    }

    /// The outbox status of the (one) email to `recipient`.
    async fn outbox_status(&self, recipient: &str) -> String {
        sqlx::query_scalar("select status from email_outbox where lower(recipient) = lower($1)")
            .bind(recipient)
            .fetch_one(&self.pool)
            .await
            .expect("an outbox row")
    }

    async fn account_exists(&self, email: &str) -> bool {
        sqlx::query_scalar("select exists(select 1 from users where lower(email) = lower($1))")
            .bind(email)
            .fetch_one(&self.pool)
            .await
            .expect("look the account up")
    }
}

/// Fills in the `${NAME}` placeholders, as `envsubst` with the names listed does.
fn render(template: &str, values: &[(&str, &str)]) -> String {
    values
        .iter()
        .fold(template.to_string(), |text, (name, value)| {
            text.replace(&format!("${{{name}}}"), value)
        })
}

/// What Debian's /etc/nginx/nginx.conf gives the site in production, in `dir`; the access log
/// names every upstream a request tried.
fn main_conf(dir: &Path) -> String {
    let dir = dir.display();
    // As root, nginx's workers would otherwise run as nobody, who may not read the files here.
    let is_root = std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
    let user = if is_root { "user root;\n" } else { "" };
    format!(
        "{user}worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    log_format cluster '$request_method $uri $status \"$upstream_addr\" \"$upstream_status\"';
    access_log {dir}/access.log cluster;
    client_body_temp_path {dir}/tmp/body;
    proxy_temp_path {dir}/tmp/proxy;
    fastcgi_temp_path {dir}/tmp/fastcgi;
    uwsgi_temp_path {dir}/tmp/uwsgi;
    scgi_temp_path {dir}/tmp/scgi;
    include {dir}/accounts.conf;
}}
"
    )
}

fn plain_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()
        .expect("a client")
}

/// A client for nginx's TLS port (the certificate is self-signed: made a moment ago), from
/// `local` when given (another loopback address: another client for nginx).
fn tls_client(local: Option<IpAddr>) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .danger_accept_invalid_certs(true)
        .local_address(local)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()
        .expect("a TLS client")
}

async fn wait_until_ok(client: &reqwest::Client, url: &str) {
    let started = Instant::now();
    loop {
        if let Ok(r) = client.get(url).send().await
            && r.status() == 200
        {
            return;
        }
        assert!(started.elapsed() < START_WITHIN, "{url} never answered 200");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A request to a replica as a trusted proxy sends it: the client's address in
/// X-Forwarded-For.
fn forwarded(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    client_ip: &str,
) -> reqwest::RequestBuilder {
    client
        .request(method, url)
        .header("x-forwarded-for", client_ip)
}

/// `name=value` of the session cookie a sign-in set.
fn session_cookie(response: &reqwest::Response) -> String {
    let set_cookie = response
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .expect("a session cookie");
    assert!(
        set_cookie.starts_with("__Host-session=") && set_cookie.contains("Secure"),
        "production cookies are Secure and host-bound: {set_cookie}"
    );
    set_cookie.split(';').next().unwrap_or_default().to_string()
}

#[tokio::test]
async fn three_replicas_behind_nginx_share_sessions_limits_and_mail_and_survive_losing_one() {
    let mut cluster = Cluster::start().await;
    let direct = plain_client();
    let post = reqwest::Method::POST;

    // The journey, each step on another replica.
    let person = Person::new();
    let registered = forwarded(
        &direct,
        post.clone(),
        cluster.replica(0) + "/api/register",
        "192.0.2.1",
    )
    .json(&person.json())
    .send()
    .await
    .expect("register");
    assert_eq!(registered.status(), 201);
    let code = cluster.mail.wait_for(&person.email).await.code();
    let activated = forwarded(
        &direct,
        post.clone(),
        cluster.replica(1) + "/api/activate",
        "192.0.2.1",
    )
    .header("authorization", basic(&person.email, &person.password))
    .json(&json!({"code": code}))
    .send()
    .await
    .expect("activate");
    assert_eq!(activated.status(), 200, "activated on another replica");
    let signed_in = forwarded(
        &direct,
        post.clone(),
        cluster.replica(2) + "/api/login",
        "192.0.2.1",
    )
    .json(&json!({"email": person.email, "password": person.password}))
    .send()
    .await
    .expect("sign in");
    assert_eq!(signed_in.status(), 200);
    let cookie = session_cookie(&signed_in);
    let token = body(
        forwarded(
            &direct,
            post.clone(),
            cluster.replica(0) + "/api/token",
            "192.0.2.1",
        )
        .json(&json!({"email": person.email, "password": person.password}))
        .send()
        .await
        .expect("a token"),
    )
    .await["token"]
        .as_str()
        .expect("a token")
        .to_string();
    // The session and the token, made on one replica each, work on every replica.
    for i in 0..3 {
        for (how, request) in [
            (
                "cookie",
                direct
                    .get(cluster.replica(i) + "/api/profile")
                    .header("cookie", &cookie),
            ),
            (
                "token",
                direct
                    .get(cluster.replica(i) + "/api/profile")
                    .bearer_auth(&token),
            ),
        ] {
            let response = request.send().await.expect("profile");
            assert_eq!(response.status(), 200, "{how} on replica {i}");
            assert_eq!(body(response).await["email"], person.email.as_str());
        }
    }

    // The per-IP registration limit is one count for all replicas: the requests spread over
    // them, the one past the limit is refused, wherever it lands.
    for i in 0..REGISTER_PER_IP {
        let response = forwarded(
            &direct,
            post.clone(),
            cluster.replica(i % 3) + "/api/register",
            "203.0.113.10",
        )
        .json(&Person::new().json())
        .send()
        .await
        .expect("register");
        assert_eq!(response.status(), 201, "registration {i} from one address");
    }
    let refused = forwarded(
        &direct,
        post.clone(),
        cluster.replica(REGISTER_PER_IP % 3) + "/api/register",
        "203.0.113.10",
    )
    .json(&Person::new().json())
    .send()
    .await
    .expect("register");
    assert_eq!(
        refused.status(),
        429,
        "the address's limit, counted on every replica"
    );

    // The per-email limit on wrong passwords, from a different address each time (so it is
    // not the per-IP one), spread over the replicas.
    let target = Person::new();
    for i in 0..LOGIN_FAILURES {
        let response = forwarded(
            &direct,
            post.clone(),
            cluster.replica(i % 3) + "/api/login",
            &format!("198.51.100.{}", i + 1),
        )
        .json(&json!({"email": target.email, "password": "not the password"}))
        .send()
        .await
        .expect("sign in");
        assert_eq!(response.status(), 401, "wrong password {i}");
    }
    let blocked = forwarded(
        &direct,
        post.clone(),
        cluster.replica(LOGIN_FAILURES % 3) + "/api/login",
        "198.51.100.99",
    )
    .json(&json!({"email": target.email, "password": "not the password"}))
    .send()
    .await
    .expect("sign in");
    assert_eq!(
        blocked.status(),
        429,
        "the email's limit, counted on every replica"
    );

    // Through nginx: TLS, HSTS, plain HTTP redirected, /pkg from disk with its caching.
    let edge = tls_client(None);
    let health = edge
        .get(format!("{}/healthz", cluster.base))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status(), 200);
    assert!(
        health
            .headers()
            .get("strict-transport-security")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("max-age=63072000")),
        "HSTS: {:?}",
        health.headers()
    );
    let redirected = direct
        .get(format!(
            "http://127.0.0.1:{}/login?next=1",
            cluster.http_port
        ))
        .send()
        .await
        .expect("plain HTTP");
    assert_eq!(redirected.status(), 301);
    assert_eq!(
        redirected.headers()["location"],
        format!("{}/login?next=1", cluster.base).as_str()
    );
    let script = edge
        .get(format!("{}/pkg/accounts.js", cluster.base))
        .send()
        .await
        .expect("pkg");
    assert_eq!(script.status(), 200);
    assert_eq!(script.headers()["content-type"], "text/javascript");
    assert_eq!(
        script.headers()["cache-control"],
        "no-cache",
        "plain names revalidate"
    );
    let etag = script.headers()["etag"].clone();
    let unchanged = edge
        .get(format!("{}/pkg/accounts.js", cluster.base))
        .header("if-none-match", etag)
        .send()
        .await
        .expect("pkg again");
    assert_eq!(unchanged.status(), 304);
    let wasm = edge
        .get(format!("{}/pkg/accounts.0f3a9c2b7d.wasm", cluster.base))
        .send()
        .await
        .expect("pkg");
    assert_eq!(wasm.status(), 200);
    assert_eq!(wasm.headers()["content-type"], "application/wasm");
    assert_eq!(
        wasm.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert!(wasm.headers().contains_key("strict-transport-security"));
    let missing = edge
        .get(format!("{}/pkg/nothing.js", cluster.base))
        .send()
        .await
        .expect("pkg");
    assert_eq!(missing.status(), 404, "never passed to the app");

    // The app sees each client's own address through nginx, not nginx's, and not what an
    // untrusted client claims in X-Forwarded-For: 127.0.0.2 reaches its limit although it
    // claims another address every time, and 127.0.0.3 is still welcome afterwards.
    let spoofer = tls_client(Some("127.0.0.2".parse().expect("an IP")));
    for i in 0..REGISTER_PER_IP {
        let response = spoofer
            .post(format!("{}/api/register", cluster.base))
            .header("x-forwarded-for", format!("198.18.0.{}", i + 1))
            .json(&Person::new().json())
            .send()
            .await
            .expect("register through nginx");
        assert_eq!(response.status(), 201, "registration {i} through nginx");
    }
    let limited = spoofer
        .post(format!("{}/api/register", cluster.base))
        .header("x-forwarded-for", "198.18.0.200")
        .json(&Person::new().json())
        .send()
        .await
        .expect("register through nginx");
    assert_eq!(
        limited.status(),
        429,
        "counted against 127.0.0.2, its real address"
    );
    let neighbour = tls_client(Some("127.0.0.3".parse().expect("an IP")))
        .post(format!("{}/api/register", cluster.base))
        .json(&Person::new().json())
        .send()
        .await
        .expect("register through nginx");
    assert_eq!(
        neighbour.status(),
        201,
        "another client is not nginx's address"
    );

    // Each email so far sent exactly once, although three mail workers share the outbox.
    cluster.outbox_settles().await;
    let sent_before_kill = cluster.mail.all().await;
    let recipients: HashSet<String> = sent_before_kill
        .iter()
        .flat_map(|m| m.recipients.iter().map(|r| r.to_ascii_lowercase()))
        .collect();
    assert_eq!(
        recipients.len(),
        sent_before_kill.len(),
        "one email per registration, none twice"
    );
    assert_eq!(cluster.sent_count().await, sent_before_kill.len());

    // Load through nginx, one replica killed in the middle of it. The load comes from
    // 127.0.0.1, a trusted proxy to the app, with its own client address per registration so
    // that the per-IP limit stays out of the way.
    let load = Load::default();
    let mut tasks = Vec::new();
    for worker in 0..3 {
        tasks.push(tokio::spawn(load.clone().register(
            edge.clone(),
            cluster.base.clone(),
            worker,
        )));
    }
    for _ in 0..2 {
        tasks.push(tokio::spawn(load.clone().profiles(
            edge.clone(),
            cluster.base.clone(),
            token.clone(),
        )));
    }
    load.until(
        || load.created.load(Ordering::SeqCst) >= 6,
        "6 registrations before the kill",
    )
    .await;
    let victim = cluster.replicas[1].address.clone();
    cluster.replicas[1].child.kill().expect("SIGKILL a replica");
    let _ = cluster.replicas[1].child.wait();
    let (created_at_kill, read_at_kill) = (
        load.created.load(Ordering::SeqCst),
        load.read.load(Ordering::SeqCst),
    );
    // Until nginx has also tried the dead replica and moved on: a request in flight on it when
    // it died, or the first one sent to it after (which marks it down for fail_timeout, 10 s,
    // after which nginx tries it again).
    let retried_from_victim = |log: &str| -> Vec<String> {
        log.lines()
            .filter(|line| line.contains(&format!("\"{victim}, ")))
            .map(str::to_string)
            .collect()
    };
    load.until(
        || {
            load.created.load(Ordering::SeqCst) >= created_at_kill + 10
                && load.read.load(Ordering::SeqCst) >= read_at_kill + 40
                && !retried_from_victim(&cluster.access_log()).is_empty()
        },
        "10 registrations, 40 profile reads and a retry after the kill",
    )
    .await;
    load.stop.store(true, Ordering::SeqCst);
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.extend(task.await.expect("a load task"));
    }

    // Every GET was answered 200, retried by nginx when its replica died under it.
    let gets: Vec<&Outcome> = outcomes.iter().filter(|o| o.email.is_none()).collect();
    assert!(
        gets.iter().all(|o| o.status == Some(200)),
        "every profile read answered: {:?}",
        gets.iter()
            .filter(|o| o.status != Some(200))
            .collect::<Vec<_>>()
    );
    // A registration is answered 201, or 502 when the replica died after nginx had sent it
    // (not retried: it may have committed). At most the registrations in flight: one per
    // worker.
    let posts: Vec<&Outcome> = outcomes.iter().filter(|o| o.email.is_some()).collect();
    let lost: Vec<&&Outcome> = posts.iter().filter(|o| o.status != Some(201)).collect();
    assert!(
        lost.iter().all(|o| o.status == Some(502)) && lost.len() <= 3,
        "only the registrations in flight on the dead replica fail, with 502: {lost:?}"
    );
    // Every accepted registration is in the database.
    for outcome in posts.iter().filter(|o| o.status == Some(201)) {
        let email = outcome.email.as_deref().unwrap_or_default();
        assert!(
            cluster.account_exists(email).await,
            "{email} was accepted but is missing"
        );
    }
    // nginx sent requests to the dead replica and then to a live one, and those succeeded.
    let log = cluster.access_log();
    for line in retried_from_victim(&log) {
        let status = line.split(' ').nth(2).unwrap_or_default();
        assert!(status.starts_with('2'), "a retried request failed: {line}");
    }

    // Every accepted registration got its email, but for the few messages the killed replica
    // had in hand: it may have handed one to SMTP and died before recording it, or died
    // mid-send. Such a row waits out its lease (25 s) and then goes out again from a live
    // replica (the outbox's at-least-once: a second copy), unless its code has expired by then
    // (codes live 60 s; on a slow machine a queued message can take that long): then it is
    // marked expired and not sent (a resend gets a new code).
    cluster.outbox_settles().await;
    let mut touched_by_the_kill = Vec::new();
    for email in posts
        .iter()
        .filter(|o| o.status == Some(201))
        .filter_map(|o| o.email.as_deref())
    {
        match cluster.mail.to(email).await.len() {
            1 => {}
            2 => touched_by_the_kill.push(format!("{email}: sent twice")),
            0 => {
                let status = cluster.outbox_status(email).await;
                assert_eq!(status, "expired", "{email} got no email");
                touched_by_the_kill.push(format!("{email}: expired in a dead lease"));
            }
            count => panic!("{email} got {count} emails"),
        }
    }
    assert!(
        touched_by_the_kill.len() <= 3,
        "more than the dead replica's messages in hand: {touched_by_the_kill:?}"
    );
    assert!(
        cluster.mail.all().await.len() <= cluster.sent_count().await + 3,
        "beyond the dead replica's batch, each email marked sent was sent once"
    );
}

/// What one load request got: its status (None: no answer), and for a registration its email.
#[derive(Debug)]
struct Outcome {
    status: Option<u16>,
    email: Option<String>,
}

#[derive(Clone, Default)]
struct Load {
    stop: Arc<AtomicBool>,
    created: Arc<AtomicUsize>,
    read: Arc<AtomicUsize>,
}

impl Load {
    async fn register(self, client: reqwest::Client, base: String, worker: usize) -> Vec<Outcome> {
        let mut outcomes = Vec::new();
        let mut n = 0;
        while !self.stop.load(Ordering::SeqCst) {
            n += 1;
            let person = Person::new();
            let status = client
                .post(format!("{base}/api/register"))
                .header(
                    "x-forwarded-for",
                    format!("10.{worker}.{}.{}", n / 250, n % 250 + 1),
                )
                .json(&person.json())
                .send()
                .await
                .ok()
                .map(|r| r.status().as_u16());
            if status == Some(201) {
                self.created.fetch_add(1, Ordering::SeqCst);
            }
            outcomes.push(Outcome {
                status,
                email: Some(person.email),
            });
        }
        outcomes
    }

    async fn profiles(self, client: reqwest::Client, base: String, token: String) -> Vec<Outcome> {
        let mut outcomes = Vec::new();
        while !self.stop.load(Ordering::SeqCst) {
            let status = client
                .get(format!("{base}/api/profile"))
                .bearer_auth(&token)
                .send()
                .await
                .ok()
                .map(|r| r.status().as_u16());
            if status == Some(200) {
                self.read.fetch_add(1, Ordering::SeqCst);
            }
            outcomes.push(Outcome {
                status,
                email: None,
            });
        }
        outcomes
    }

    /// Polls `reached` until it holds, for at most two minutes.
    async fn until(&self, reached: impl Fn() -> bool, what: &str) {
        let started = Instant::now();
        while !reached() {
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "not {what} within two minutes"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
