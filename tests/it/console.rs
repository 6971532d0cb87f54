//! The operator console in a real browser: Debian's headless Chromium driven through
//! its chromedriver (fantoccini), one browser for every page.
//!
//! Each page, at 1280 and at 375 pixels wide: it loads with no console error, nothing
//! overflows sideways, and axe-core (vendored from its npm package) finds no
//! violation. Then the live parts (a flash sale's figures change while purchases
//! are made; a rebuild's bar reaches 100%), the sign-in (a wrong key fails), CSRF
//! (a form posted without its token is refused), the pages read with JavaScript
//! off, and a revoked key's session ends. Screenshots go to
//! `target/console-screenshots/`.

use std::path::PathBuf;
use std::process::Stdio;

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::credentials::{as_holder, start_in_production};
use crate::support::{Api, Backend, Env};

const MASTER: &str = "console-master-key-0123456789";
const JWT_SECRET: &str = "console-test-jwt-secret-0123456789abcdef";
/// The chromedriver Debian's `chromium-driver` installs (`make services` does).
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// axe-core 4.14.1, from its npm package (MPL-2.0; see assets/axe-core.LICENSE).
const AXE: &str = include_str!("assets/axe.min.js");
/// Longest a live figure may take to show (guards against hangs only).
const LIVE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
const WIDTHS: [u32; 2] = [1280, 375];

/// One chromedriver, on a port of its own, killed when dropped.
struct Driver {
    _child: Child,
    url: String,
    profiles: tempfile::TempDir,
}

impl Driver {
    async fn start() -> Driver {
        assert!(
            std::path::Path::new(CHROMEDRIVER).exists(),
            "{CHROMEDRIVER} is missing: `make services` installs chromium and chromium-driver"
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        loop {
            let line = lines
                .next_line()
                .await
                .unwrap()
                .expect("chromedriver says it started");
            if line.contains("started successfully") {
                break;
            }
        }
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Driver {
            _child: child,
            url: format!("http://127.0.0.1:{port}"),
            profiles: tempfile::tempdir().unwrap(),
        }
    }

    /// A browser session; `javascript` off reads pages as a script-less browser does.
    async fn session(&self, javascript: bool) -> Client {
        let profile = tempfile::Builder::new()
            .prefix("profile-")
            .tempdir_in(self.profiles.path())
            .unwrap()
            .keep();
        let mut options = json!({
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                "--window-size=1280,800", format!("--user-data-dir={}", profile.display()),
            ],
        });
        if !javascript {
            options["prefs"] = json!({"profile.managed_default_content_settings.javascript": 2});
        }
        let capabilities = json!({
            "goog:chromeOptions": options,
            "goog:loggingPrefs": {"browser": "ALL"},
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!()
        };
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .expect("a chromium session")
    }
}

/// chromedriver's browser log since the last read (`POST /session/{id}/se/log`).
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base_url: &reqwest::Url,
        session_id: Option<&str>,
    ) -> Result<reqwest::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/se/log",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &reqwest::Url) -> (reqwest::Method, Option<String>) {
        (
            reqwest::Method::POST,
            Some(json!({"type": "browser"}).to_string()),
        )
    }
}

/// The errors the page logged (script errors, refused resources, CSP violations).
async fn console_errors(browser: &Client) -> Vec<String> {
    let log = browser
        .issue_cmd(BrowserLog)
        .await
        .expect("the browser log");
    log.as_array()
        .into_iter()
        .flatten()
        .filter(|entry| entry["level"] == "SEVERE")
        .map(|entry| entry["message"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn screenshots() -> PathBuf {
    // CARGO_TARGET_TMPDIR is <target>/tmp.
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("console-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn text(browser: &Client, css: &str) -> String {
    browser
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .unwrap()
}

/// Wait until the element of `xpath` is on the page (the live script updates it).
async fn wait_for(browser: &Client, xpath: &str) {
    if let Err(e) = browser
        .wait()
        .at_most(LIVE_TIMEOUT)
        .for_element(Locator::XPath(xpath))
        .await
    {
        let source = browser.source().await.unwrap_or_default();
        panic!("{xpath} never showed ({e}); the page:\n{source}");
    }
}

/// Load `path` at each width: no console error, no sideways overflow, no axe-core
/// violation; a screenshot of each.
async fn check_page(browser: &Client, base: &str, name: &str, path: &str) {
    for width in WIDTHS {
        browser.set_window_size(width, 800).await.unwrap();
        browser.goto(&format!("{base}{path}")).await.unwrap();
        let title = browser.title().await.unwrap();
        assert!(title.ends_with("commerce console"), "{path}: title {title}");
        let errors = console_errors(browser).await;
        assert!(
            errors.is_empty(),
            "{path} at {width} px logged errors: {errors:#?}"
        );
        let overflow = browser
            .execute(
                "return document.documentElement.scrollWidth - document.documentElement.clientWidth",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(
            overflow,
            json!(0),
            "{path} overflows sideways at {width} px"
        );
        browser.execute(AXE, vec![]).await.expect("axe-core loads");
        let violations = browser
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, {resultTypes: ['violations']})
                    .then(r => done(r.violations.map(v => ({id: v.id, help: v.help,
                        nodes: v.nodes.map(n => n.html)}))))
                    .catch(e => done([{id: 'axe-failed', help: String(e)}]));",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(
            violations,
            json!([]),
            "{path} at {width} px: axe-core violations"
        );
        let png = browser.screenshot().await.unwrap();
        std::fs::write(screenshots().join(format!("{name}-{width}.png")), png).unwrap();
    }
    browser.set_window_size(1280, 800).await.unwrap();
}

async fn sign_in(browser: &Client, base: &str, key: &str) {
    browser
        .goto(&format!("{base}/console/sign-in"))
        .await
        .unwrap();
    browser
        .find(Locator::Css("#key"))
        .await
        .unwrap()
        .send_keys(key)
        .await
        .unwrap();
    browser
        .find(Locator::Css("form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// A shop with stock, a product, an order, a flash sale and an admin key; the key's
/// id and secret.
async fn open_shop(master: &Api) -> (String, String) {
    crate::shop::open_shop(master, 100, 1299).await;
    master
        .post(
            "/v1/orders",
            &json!({"order_id": "o-1", "lines": [{"sku": "MUG-1", "quantity": 2}], "ship_to": {"region": "nl"}}),
        )
        .await
        .expect(StatusCode::CREATED);
    crate::flash_sales::schedule(master, "drop-1", 10, 1).await;
    // Amsterdam's delivery policy and an order to a dropoff in it: a zone on the map.
    master
        .post("/v1/delivery/cities", &crate::delivery::amsterdam(1.4))
        .await
        .expect(StatusCode::OK);
    let (lat, lon) = crate::delivery::DROPOFF;
    master
        .post(
            "/v1/orders",
            &json!({"order_id": "o-2", "lines": [{"sku": "MUG-1", "quantity": 1}],
                    "ship_to": {"region": "nl", "lat": lat, "lon": lon}}),
        )
        .await
        .expect(StatusCode::CREATED);
    // A listing with a stay booked three nights from tomorrow: its calendar.
    master
        .post(
            "/v1/stays",
            &crate::stays::listing("loft", "host-1", &crate::stays::hash(1)),
        )
        .await
        .expect(StatusCode::CREATED);
    master
        .post(
            "/v1/stays/loft/bookings",
            &crate::stays::booking("s-1", "guest-1", 1, 4),
        )
        .await
        .expect(StatusCode::CREATED);
    let key = master
        .post("/v1/keys", &json!({"name": "console", "scopes": ["admin"]}))
        .await
        .expect(StatusCode::CREATED);
    (
        key["id"].as_str().unwrap().to_string(),
        key["key"].as_str().unwrap().to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_in_a_browser() {
    let env = Env::new(Backend::Sqlite).await;
    let server = start_in_production(&env, MASTER, JWT_SECRET, &[]).await;
    let master = as_holder(&server, MASTER);
    let base = server.base.as_str().trim_end_matches('/').to_string();
    let (key_id, admin_key) = open_shop(&master).await;
    let driver = Driver::start().await;
    let browser = driver.session(true).await;

    // Not signed in: the sign-in form. A wrong key, or a key without `admin`, fails.
    browser.goto(&format!("{base}/console")).await.unwrap();
    assert_eq!(
        browser.current_url().await.unwrap().path(),
        "/console/sign-in"
    );
    sign_in(&browser, &base, "ck_not-a-key-at-all").await;
    wait_for(
        &browser,
        "//p[@role='alert' and contains(., 'not accepted')]",
    )
    .await;
    let reader = master
        .post("/v1/keys", &json!({"name": "reader", "scopes": ["read"]}))
        .await
        .expect(StatusCode::CREATED);
    sign_in(&browser, &base, reader["key"].as_str().unwrap()).await;
    wait_for(
        &browser,
        "//p[@role='alert' and contains(., 'not accepted')]",
    )
    .await;
    assert!(browser.get_named_cookie(SESSION_COOKIE).await.is_err());

    // The admin key signs in: an HttpOnly, SameSite=Strict session cookie.
    sign_in(&browser, &base, &admin_key).await;
    wait_for(&browser, "//h1[normalize-space()='Overview']").await;
    let cookie = browser
        .get_named_cookie(SESSION_COOKIE)
        .await
        .expect("the session cookie");
    assert_eq!(cookie.http_only(), Some(true));
    assert_eq!(format!("{:?}", cookie.same_site()), "Some(Strict)");
    let session = format!("{}={}", cookie.name(), cookie.value());

    // The in-memory models have read everything written so far.
    let head = master.head().await;
    master
        .get(&format!(
            "/v1/delivery/cities/ams/forecast?min_position={head}"
        ))
        .await
        .expect(StatusCode::OK);
    master
        .get(&format!("/v1/stays/loft?min_position={head}"))
        .await
        .expect(StatusCode::OK);

    // Every page reads well at both widths.
    for (name, path) in [
        ("overview", "/console"),
        ("stock", "/console/stock?sku=MUG-1"),
        ("flash-sales", "/console/flash-sales"),
        ("orders", "/console/orders?order=o-1"),
        ("projections", "/console/projections"),
        ("recommendations", "/console/recommendations?user=buyer-1"),
        ("delivery", "/console/delivery"),
        ("stays", "/console/stays?listing=loft"),
    ] {
        check_page(&browser, &base, name, path).await;
    }
    // What the read models hold is on the pages (the last one loaded: the stays').
    let taken = browser
        .find_all(Locator::Css("table.calendar td.booked"))
        .await
        .unwrap();
    assert_eq!(taken.len(), 3, "three nights taken by the stay");
    browser
        .goto(&format!("{base}/console/delivery"))
        .await
        .unwrap();
    let zones = browser
        .find_all(Locator::Css("svg.map polygon"))
        .await
        .unwrap();
    assert!(!zones.is_empty(), "the order's zone is on the fee map");
    let navigation = browser
        .find_all(Locator::Css("header nav a"))
        .await
        .unwrap();
    assert_eq!(navigation.len(), 8, "the navigation names every page");

    // A flash sale's figures move while buyers purchase.
    browser
        .goto(&format!("{base}/console/flash-sales"))
        .await
        .unwrap();
    assert_eq!(text(&browser, "[data-live='flash.drop-1.held']").await, "0");
    for buyer in ["b-1", "b-2", "b-3"] {
        master
            .post(
                "/v1/flash-sales/drop-1/purchase",
                &json!({"quantity": 1, "user_id": buyer}),
            )
            .await
            .expect(StatusCode::CREATED);
    }
    wait_for(
        &browser,
        "//*[@data-live='flash.drop-1.held' and normalize-space()='3']",
    )
    .await;
    assert_eq!(
        text(&browser, "[data-live='flash.drop-1.remaining']").await,
        "7"
    );

    // A rebuild started from its button: the bar goes from 0 to 100%.
    browser
        .goto(&format!("{base}/console/projections"))
        .await
        .unwrap();
    assert_eq!(
        text(&browser, "[data-rebuild-percent='availability']").await,
        "0%"
    );
    browser
        .find(Locator::Css(
            "form[action='/console/projections/availability/rebuild'] button",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(
        &browser,
        "//*[@data-live='projection.availability.rebuild' and normalize-space()='done']",
    )
    .await;
    wait_for(
        &browser,
        "//*[@data-rebuild-percent='availability' and normalize-space()='100%']",
    )
    .await;
    let bar = browser
        .execute(
            "return document.querySelector(\"progress[data-live-progress='availability']\").value",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(bar, json!(100));

    // A form posted with the session but without its CSRF token is refused; with it,
    // it is taken. Without a session, nothing is.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let rebuild = format!("{base}/console/projections/listings/rebuild");
    for form in [vec![], vec![("csrf", "0123456789abcdef0123456789abcdef")]] {
        let refused = http
            .post(&rebuild)
            .header("cookie", &session)
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        let problem: Value = refused.json().await.unwrap();
        assert_eq!(problem["type"], "/problems/csrf_token_invalid", "{problem}");
    }
    let token = browser
        .find(Locator::Css(
            "form[action='/console/projections/listings/rebuild'] input[name=csrf]",
        ))
        .await
        .unwrap()
        .attr("value")
        .await
        .unwrap()
        .expect("the form carries its token");
    let taken = http
        .post(&rebuild)
        .header("cookie", &session)
        .form(&[("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(taken.status(), StatusCode::SEE_OTHER);
    let anonymous = http
        .post(&rebuild)
        .form(&[("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

    // The stream takes the session cookie too, and a bearer admin key; nobody else.
    let stream = http
        .get(format!("{base}/v1/admin/stream"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    assert_eq!(
        stream.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    drop(stream);
    let refused = http
        .get(format!("{base}/v1/admin/stream"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);

    // With JavaScript off, the reading pages show their figures.
    let plain = driver.session(false).await;
    sign_in(&plain, &base, &admin_key).await;
    wait_for(&plain, "//h1[normalize-space()='Overview']").await;
    let head = master.head().await;
    let shown: i64 = text(&plain, "[data-live='head']").await.parse().unwrap();
    assert!(shown > 0 && shown <= head, "log head {shown} of {head}");
    plain
        .goto(&format!("{base}/console/stock?sku=MUG-1"))
        .await
        .unwrap();
    let stock = text(&plain, "main").await;
    assert!(stock.contains("Stock of MUG-1"), "{stock}");
    assert!(stock.contains("ams 100"), "on hand per warehouse: {stock}");
    plain
        .goto(&format!("{base}/console/flash-sales"))
        .await
        .unwrap();
    assert_eq!(text(&plain, "[data-live='flash.drop-1.held']").await, "3");
    plain
        .goto(&format!("{base}/console/orders?order=o-1"))
        .await
        .unwrap();
    let orders = text(&plain, "main").await;
    assert!(
        orders.contains("OrderPlaced"),
        "the order's timeline: {orders}"
    );
    assert!(
        orders.contains("Orders by status"),
        "counts by status: {orders}"
    );
    assert!(
        console_errors(&plain).await.is_empty(),
        "pages without scripts log nothing"
    );
    // Signing out ends the session in that browser.
    plain
        .find(Locator::Css("form[action='/console/sign-out'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(&plain, "//h1[normalize-space()='Sign in to the console']").await;
    plain.goto(&format!("{base}/console")).await.unwrap();
    assert_eq!(
        plain.current_url().await.unwrap().path(),
        "/console/sign-in"
    );
    plain.close().await.unwrap();

    // Revoking the key ends its sessions at once.
    master
        .send(
            master
                .client
                .delete(master.url(&format!("/v1/keys/{key_id}"))),
        )
        .await
        .expect(StatusCode::OK);
    browser.goto(&format!("{base}/console")).await.unwrap();
    assert_eq!(
        browser.current_url().await.unwrap().path(),
        "/console/sign-in"
    );
    browser.close().await.unwrap();
}

/// The session cookie's name, as the server sets it.
const SESSION_COOKIE: &str = "commerce_console";
