//! Running `commerce` as a black box: temporary data directories, a fresh PostgreSQL
//! database per test, the server process, and an HTTP client with small helpers.

use std::ffi::OsString;
use std::process::{ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::{Client, StatusCode, Url};
use serde_json::Value;
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_commerce");

/// How long a server may take to say it listens (guards against hangs only).
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a process may take to exit once asked (guards against hangs only).
const EXIT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a CLI run (rebuild, a refused serve) may take (guards against hangs only).
const CLI_TIMEOUT: Duration = Duration::from_secs(120);

/// Runs one scenario `async fn name(backend: Backend)` once on SQLite and once on
/// PostgreSQL, as the tests `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! on_both_backends {
    ($($scenario:ident),+ $(,)?) => {$(
        mod $scenario {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                super::$scenario($crate::support::Backend::Sqlite).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                super::$scenario($crate::support::Backend::Postgres).await
            }
        }
    )+};
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Where one test keeps its data: a temporary data directory and, on PostgreSQL, a
/// database of its own (dropped at the end, best effort).
pub struct Env {
    data_dir: TempDir,
    db: Option<Arc<TestDb>>,
}

impl Env {
    pub async fn new(backend: Backend) -> Self {
        let data_dir = tempfile::Builder::new()
            .prefix("commerce-e2e-")
            .tempdir()
            .expect("a temporary data directory");
        let db = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(Arc::new(TestDb::create().await)),
        };
        Env { data_dir, db }
    }

    /// Another data directory on the same database (on PostgreSQL, a second process
    /// on one shared log; on SQLite, a separate store).
    pub fn sibling(&self) -> Self {
        let data_dir = tempfile::Builder::new()
            .prefix("commerce-e2e-")
            .tempdir()
            .expect("a temporary data directory");
        Env {
            data_dir,
            db: self.db.clone(),
        }
    }

    pub fn data_dir(&self) -> &std::path::Path {
        self.data_dir.path()
    }

    /// The test's log opened beside (or instead of) a server: its connections and
    /// its store.
    pub async fn open_log(&self) -> (event_log::Database, event_log::EventStore) {
        let db = event_log::Database::connect(self.database_url(), self.data_dir())
            .await
            .unwrap();
        let store = event_log::EventStore::open(db.clone()).await.unwrap();
        (db, store)
    }

    /// The test's own PostgreSQL database, when it runs on PostgreSQL.
    pub fn database_url(&self) -> Option<&str> {
        self.db.as_deref().map(|db| db.url.as_str())
    }

    /// `--data-dir DIR [--database-url URL]`
    pub fn storage_args(&self) -> Vec<OsString> {
        let mut args: Vec<OsString> = vec!["--data-dir".into(), self.data_dir().into()];
        if let Some(db) = &self.db {
            args.push("--database-url".into());
            args.push(db.url.clone().into());
        }
        args
    }

    /// A `commerce` command with a clean environment (no stray DATABASE_URL etc.).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(BIN);
        // A clean environment: nothing the developer's shell or CI sets for the server
        // (the database, Redis, any COMMERCE_* setting) reaches it.
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy();
            if name.starts_with("COMMERCE_") || name == "DATABASE_URL" || name == "REDIS_URL" {
                command.env_remove(name.as_ref());
            }
        }
        command
            .args(args)
            .args(self.storage_args())
            .env("RUST_LOG", "info,sqlx=warn")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        command
    }

    /// `commerce serve` on a free port, on the system clock.
    pub async fn start(&self) -> Server {
        self.start_with(&[]).await
    }

    /// `commerce serve` on a free port with extra arguments (e.g. `--clock manual`).
    pub async fn start_with(&self, extra: &[&str]) -> Server {
        let mut args = vec!["serve", "--listen", "127.0.0.1:0"];
        args.extend_from_slice(extra);
        let mut command = self.command(&args);
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = command.spawn().expect("commerce serve starts");
        let logs = Arc::new(Mutex::new(Vec::new()));
        drain(child.stderr.take().expect("piped stderr"), logs.clone());
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
        let address = tokio::time::timeout(START_TIMEOUT, async {
            while let Some(line) = stdout.next_line().await.expect("stdout reads") {
                if let Some(address) = line.trim().strip_prefix("listening on ") {
                    return Some(address.to_string());
                }
                logs.lock().unwrap().push(format!("[stdout] {line}"));
            }
            None
        })
        .await;
        let base = match address {
            Ok(Some(address)) => address,
            Ok(None) => {
                let status = tokio::time::timeout(EXIT_TIMEOUT, child.wait()).await;
                panic!(
                    "commerce serve ended without saying where it listens ({status:?}); its log:\n{}",
                    logs.lock().unwrap().join("\n")
                )
            }
            Err(_) => panic!(
                "commerce serve did not say where it listens within {START_TIMEOUT:?}; its log:\n{}",
                logs.lock().unwrap().join("\n")
            ),
        };
        drain(stdout.into_inner(), logs.clone());
        Server {
            child: Some(child),
            api: Api {
                base: Url::parse(&base).expect("the listening line holds a URL"),
                client: client(),
            },
            logs,
        }
    }

    /// `commerce rebuild NAME` with this storage; its output once it exits.
    pub async fn rebuild(&self, projection: &str) -> Output {
        self.run_cli(&["rebuild", projection]).await
    }

    /// Run a `commerce` command to its end.
    pub async fn run_cli(&self, args: &[&str]) -> Output {
        let mut command = self.command(args);
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        tokio::time::timeout(CLI_TIMEOUT, command.output())
            .await
            .unwrap_or_else(|_| panic!("`commerce {}` did not end in time", args.join(" ")))
            .expect("commerce runs")
    }
}

/// Keep reading a child's output so it never blocks on a full pipe.
fn drain(stream: impl AsyncRead + Unpin + Send + 'static, logs: Arc<Mutex<Vec<String>>>) {
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            logs.lock().unwrap().push(line);
        }
    });
}

pub fn client() -> Client {
    Client::builder()
        // Guards against a hung server only; nothing asserts on timing.
        .timeout(Duration::from_secs(60))
        .build()
        .expect("an HTTP client")
}

/// A database of one test on the PostgreSQL server of `TEST_DATABASE_URL`.
pub struct TestDb {
    pub name: String,
    pub url: String,
    admin_url: String,
}

impl TestDb {
    pub fn admin_url() -> String {
        std::env::var("TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
    }

    async fn create() -> Self {
        use sqlx::Connection;
        let admin_url = Self::admin_url();
        let name = format!("commerce_e2e_{}", uuid::Uuid::new_v4().simple());
        let mut conn = sqlx::PgConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {admin_url} answers: {e}"));
        sqlx::raw_sql(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut conn)
            .await
            .expect("CREATE DATABASE");
        let _ = conn.close().await;
        let mut url = Url::parse(&admin_url).expect("TEST_DATABASE_URL is a URL");
        url.set_path(&format!("/{name}"));
        TestDb {
            name,
            url: url.to_string(),
            admin_url,
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let sql = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        // Drop runs outside any async context we may block, so use a thread of its own.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                use sqlx::Connection;
                let mut conn = sqlx::PgConnection::connect(&admin_url).await.ok()?;
                let _ = sqlx::raw_sql(&sql).execute(&mut conn).await;
                let _ = conn.close().await;
                Some(())
            })
        })
        .join();
    }
}

/// The HTTP API of one server: cheap to clone into client tasks.
#[derive(Clone)]
pub struct Api {
    pub base: Url,
    pub client: Client,
}

impl Api {
    pub fn url(&self, path_and_query: &str) -> String {
        format!(
            "{}{}",
            self.base.as_str().trim_end_matches('/'),
            path_and_query
        )
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send(self.client.get(self.url(path))).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Answer {
        self.send(self.client.post(self.url(path)).json(body)).await
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Answer {
        let response = request.send().await.expect("the server answers");
        Answer::read(response).await
    }

    /// The last committed log position, from `/ready`.
    pub async fn head(&self) -> i64 {
        let ready = self.get("/ready").await.expect(StatusCode::OK);
        ready["head"].as_i64().expect("/ready has a numeric head")
    }
}

/// A running `commerce serve`. Killed when dropped; its log is printed when the test
/// fails.
pub struct Server {
    child: Option<Child>,
    pub api: Api,
    logs: Arc<Mutex<Vec<String>>>,
}

impl std::ops::Deref for Server {
    type Target = Api;

    fn deref(&self) -> &Api {
        &self.api
    }
}

impl Server {
    pub fn pid(&self) -> u32 {
        self.child
            .as_ref()
            .and_then(|c| c.id())
            .expect("the server runs")
    }

    pub fn logs(&self) -> String {
        self.logs.lock().unwrap().join("\n")
    }

    /// Stop with SIGTERM and wait for the process to end.
    pub async fn stop(mut self) -> ExitStatus {
        let pid = self.pid();
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "SIGTERM could not be sent to {pid}");
        self.wait().await
    }

    /// Kill with SIGKILL (a crash) and wait for the process to end.
    pub async fn crash(mut self) {
        let child = self.child.as_mut().expect("the server runs");
        child.start_kill().expect("SIGKILL is sent");
        self.wait().await;
    }

    async fn wait(&mut self) -> ExitStatus {
        let child = self.child.as_mut().expect("the server runs");
        let status = tokio::time::timeout(EXIT_TIMEOUT, child.wait()).await;
        match status {
            Ok(status) => {
                self.child = None;
                status.expect("the server's exit status")
            }
            Err(_) => panic!(
                "the server did not exit within {EXIT_TIMEOUT:?}; its log:\n{}",
                self.logs()
            ),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.start_kill();
        }
        if std::thread::panicking() {
            eprintln!(
                "--- log of the server at {} ---\n{}",
                self.api.base,
                self.logs()
            );
        }
    }
}

/// An HTTP answer, read whole.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl Answer {
    async fn read(response: reqwest::Response) -> Self {
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("the body reads");
        Answer {
            status,
            headers,
            text,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn content_type(&self) -> &str {
        self.header("content-type").unwrap_or("")
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.text))
    }

    /// The body, after checking the status.
    #[track_caller]
    pub fn expect(&self, status: StatusCode) -> Value {
        assert_eq!(self.status, status, "unexpected answer: {}", self.text);
        self.json()
    }

    /// Check an RFC 9457 problem with this status and return it.
    #[track_caller]
    pub fn problem(&self, status: StatusCode) -> Value {
        assert_eq!(self.status, status, "unexpected answer: {}", self.text);
        assert!(
            self.content_type().starts_with("application/problem+json"),
            "a {} answer has content type '{}', not application/problem+json: {}",
            status,
            self.content_type(),
            self.text
        );
        let problem = self.json();
        assert_eq!(
            problem["status"].as_u64(),
            Some(status.as_u16() as u64),
            "problem.status: {problem}"
        );
        for member in ["type", "title", "detail"] {
            let value = problem[member].as_str();
            assert!(
                value.is_some_and(|v| !v.trim().is_empty()),
                "problem.{member} is missing or empty: {problem}"
            );
        }
        problem
    }
}

/// A deterministic pseudo-random sequence (SplitMix64), so runs are repeatable.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `low..=high`.
    pub fn range(&mut self, low: u64, high: u64) -> u64 {
        low + self.next_u64() % (high - low + 1)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// A warehouse registration body.
pub fn warehouse(id: &str) -> Value {
    serde_json::json!({
        "warehouse_id": id,
        "name": format!("Warehouse {id}"),
        "region": "nl",
        "location": {"lat": 52.37, "lon": 4.89},
        "ships_to": [{
            "region": "nl",
            "cost_per_item": {"amount": 50, "currency": "EUR"},
            "cost_per_shipment": {"amount": 495, "currency": "EUR"},
            "days": 1
        }]
    })
}

/// Register warehouses; returns the highest position.
pub async fn register_warehouses(server: &Api, ids: &[&str]) -> i64 {
    let mut position = 0;
    for id in ids {
        let answer = server.post("/v1/warehouses", &warehouse(id)).await;
        let body = answer.expect(StatusCode::CREATED);
        assert_eq!(body["warehouse_id"], *id);
        assert_eq!(body["created"], true);
        position = position.max(body["position"].as_i64().expect("position"));
    }
    position
}

/// The machine's NATS server (`NATS_URL`, 127.0.0.1:4222 by default).
pub fn nats_url() -> String {
    std::env::var("NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}
