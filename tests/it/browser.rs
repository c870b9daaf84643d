//! End to end in a real browser: headless Chromium, driven over the W3C WebDriver protocol
//! (chromedriver), signs in to the `login` example app through the emulator's hosted page:
//! password, TOTP, organization selection and switch, email verification, sign-out.
//!
//! Needs `chromium` and `chromedriver` (`.ci/install-browser.sh`): ignored unless built with
//! `CI=true` (where it fails without them); run it locally with `--include-ignored`. Screenshots land in `target/browser-screenshots/`.
//! The test only talks to servers it started on loopback.
#![cfg(feature = "axum")]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use authkit_axum::AuthKit;
use authkit_emulator::Emulator;
use base64::Engine;
use serde_json::{Value, json};

use crate::example as login;
use crate::support;
use crate::support::EmulatorExt as _;

/// The WebDriver element reference key.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
/// How long to wait for a page or an element.
const WAIT: Duration = Duration::from_secs(15);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(ci),
    ignore = "needs chromium and chromedriver (.ci/install-browser.sh); run with --include-ignored"
)]
async fn signs_in_with_a_real_browser() {
    let (chromium, chromedriver) = browser_binaries();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app_url = format!("http://localhost:{}", listener.local_addr().unwrap().port());
    let emulator = login::demo_emulator(0, &app_url)
        .await
        .expect("emulator starts");
    let authkit = AuthKit::builder(emulator.client(), format!("{app_url}/auth/callback"))
        .after_sign_in("/account")
        .build()
        .unwrap();
    let server = tokio::spawn(async move {
        let store = authkit_axum::stores::MemoryStore::default();
        axum::serve(listener, login::app(authkit, store))
            .await
            .unwrap();
    });

    let browser = Browser::start(&chromium, &chromedriver).await;
    let result = run_steps(&browser, &emulator, &app_url).await;
    if result.is_err() {
        browser.screenshot("failure").await;
        if let Ok(source) = browser.get("source").await {
            eprintln!("page at failure:\n{source}");
        }
    }
    drop(browser);
    server.abort();
    if let Err(err) = result {
        panic!("{err}");
    }
    support::assert_contract(&emulator);
}

type Step = Result<(), String>;

async fn run_steps(b: &Browser, emulator: &Emulator, app: &str) -> Step {
    // 1. A plain user: home → Sign in → hosted page → back on /account.
    b.open(&format!("{app}/")).await?;
    b.wait_text("main", "You are not signed in").await?;
    b.screenshot("01-home-signed-out").await;
    b.click_css("a[href='/auth/login']").await?;
    sign_in_on_hosted_page(b, emulator, "alice@example.com", "01-hosted-sign-in").await?;
    b.wait_url(&format!("{app}/account")).await?;
    b.wait_text("#email", "alice@example.com").await?;
    b.wait_text("#name", "Alice Example").await?;
    b.screenshot("02-account-alice").await;
    b.open(&format!("{app}/")).await?;
    b.wait_text("main", "Signed in as Alice Example").await?;
    sign_out(b, app).await?;

    // 2. The TOTP user: the code computed from the seeded secret.
    b.open(&format!("{app}/account")).await?;
    sign_in_on_hosted_page(b, emulator, "tom@example.com", "").await?;
    b.find("#code").await?;
    b.screenshot("03-totp").await;
    b.type_into("#code", &totp_now()).await?;
    b.submit().await?;
    b.wait_url(&format!("{app}/account")).await?;
    b.wait_text("#email", "tom@example.com").await?;
    sign_out(b, app).await?;

    // 3. Two organizations: pick Globex on the hosted page, then switch to Acme on /account.
    b.open(&format!("{app}/auth/login")).await?;
    sign_in_on_hosted_page(b, emulator, "grace@example.com", "").await?;
    let globex = b
        .find_xpath("//label[contains(., 'Globex Corporation')]/input[@type='radio']")
        .await?;
    b.screenshot("04-choose-organization").await;
    b.click(&globex).await?;
    b.submit().await?;
    b.wait_url(&format!("{app}/account")).await?;
    b.wait_text("#organization", "Globex Corporation").await?;
    b.wait_text("#role", "member").await?;
    b.screenshot("05-account-globex").await;
    let acme = b
        .find_xpath("//select[@name='organization_id']/option[contains(., 'Acme Inc.')]")
        .await?;
    b.click(&acme).await?;
    let switch = b.find_xpath("//button[normalize-space()='Switch']").await?;
    b.click(&switch).await?;
    b.wait_text("#organization", "Acme Inc.").await?;
    b.wait_text("#role", "admin").await?;
    b.wait_text("#permissions", "users:manage").await?;
    b.screenshot("06-account-acme").await;
    sign_out(b, app).await?;

    // 4. An unverified email: the code from the outbox.
    b.open(&format!("{app}/auth/login")).await?;
    sign_in_on_hosted_page(b, emulator, "uma@example.com", "").await?;
    b.find("#code").await?;
    let code = emulator
        .last_email_to("uma@example.com")
        .and_then(|e| e.code)
        .ok_or("no verification code in the outbox")?;
    b.screenshot("07-verify-email").await;
    b.type_into("#code", &code).await?;
    b.submit().await?;
    b.wait_url(&format!("{app}/account")).await?;
    b.wait_text("#email", "uma@example.com").await?;
    sign_out(b, app).await?;

    // 5. The JSON endpoint: a plain `curl` and an API client get 401 JSON, never a redirect.
    let http = crate::support::http_client()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| e.to_string())?;
    // `curl` sends `Accept: */*`.
    for accept in ["*/*", "application/json"] {
        let resp = http
            .get(format!("{app}/api/me"))
            .header("accept", accept)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.map_err(|e| e.to_string())?;
        if status != 401 || body["error"] != "unauthorized" {
            return Err(format!("/api/me with Accept {accept}: {status} {body}"));
        }
    }

    // 6. Signed out for real: /account sends the browser to sign in again.
    b.open(&format!("{app}/account")).await?;
    b.wait_url_prefix(emulator.base_url()).await?;
    b.find("#password").await?;
    Ok(())
}

/// Fills the hosted sign-in page (email, password) and submits it.
async fn sign_in_on_hosted_page(b: &Browser, emulator: &Emulator, email: &str, shot: &str) -> Step {
    b.wait_url_prefix(emulator.base_url()).await?;
    b.type_into("#email", email).await?;
    b.type_into("#password", login::DEMO_PASSWORD).await?;
    if !shot.is_empty() {
        b.screenshot(shot).await;
    }
    b.submit().await
}

/// Clicks "Sign out" on the account page; the browser comes back to the home page.
async fn sign_out(b: &Browser, app: &str) -> Step {
    b.open(&format!("{app}/account")).await?;
    let button = b
        .find_xpath("//button[normalize-space()='Sign out']")
        .await?;
    b.click(&button).await?;
    b.wait_url(&format!("{app}/")).await?;
    b.wait_text("main", "You are not signed in").await
}

fn totp_now() -> String {
    let secret = totp_rs::Secret::Encoded(login::DEMO_TOTP_SECRET.into())
        .to_bytes()
        .unwrap();
    let totp = totp_rs::TOTP::new(
        totp_rs::Algorithm::SHA1,
        6,
        1,
        30,
        secret,
        None,
        String::new(),
    )
    .unwrap();
    totp.generate_current().unwrap()
}

/// `chromium` and `chromedriver`, found on the `PATH`.
fn browser_binaries() -> (PathBuf, PathBuf) {
    let chromium = ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| which(name));
    match (chromium, which("chromedriver")) {
        (Some(c), Some(d)) => (c, d),
        _ => panic!(
            "chromium and chromedriver are needed for the browser test: run .ci/install-browser.sh"
        ),
    }
}

fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// A chromedriver process and one WebDriver session. Dropping it quits the session, kills
/// chromedriver and removes the browser profile, even when the test fails.
struct Browser {
    http: reqwest::Client,
    port: u16,
    session: String,
    driver: Child,
    profile: PathBuf,
    screenshots: PathBuf,
}

impl Browser {
    async fn start(chromium: &Path, chromedriver: &Path) -> Browser {
        let port = support::free_port();
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let profile =
            std::env::temp_dir().join(format!("authkit-browser-{}-{port}", std::process::id()));
        let screenshots = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/browser-screenshots");
        std::fs::create_dir_all(&screenshots).unwrap();
        let http = crate::support::http_client()
            .no_proxy()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        let mut browser = Browser {
            http,
            port,
            session: String::new(),
            driver,
            profile,
            screenshots,
        };
        let deadline = Instant::now() + WAIT;
        loop {
            let ready = browser
                .http
                .get(format!("http://127.0.0.1:{port}/status"))
                .send()
                .await;
            if let Ok(r) = ready
                && let Ok(v) = r.json::<Value>().await
                && v["value"]["ready"] == true
            {
                break;
            }
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run", "--no-proxy-server",
                    "--window-size=1000,800",
                    format!("--user-data-dir={}", browser.profile.display()),
                ],
            },
        }}});
        let created = browser
            .call(reqwest::Method::POST, "/session", Some(caps))
            .await;
        browser.session = created
            .ok()
            .and_then(|v| v["sessionId"].as_str().map(str::to_owned))
            .expect("chromedriver creates a session");
        browser
    }

    /// One WebDriver command; `Err` carries WebDriver's error.
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, String> {
        let url = format!("http://127.0.0.1:{}{path}", self.port);
        let mut req = self.http.request(method, url);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.map_err(|e| format!("{path}: {e}"))?;
        let status = resp.status();
        let v: Value = resp.json().await.map_err(|e| format!("{path}: {e}"))?;
        if !status.is_success() {
            return Err(format!("{path}: {status} {}", v["value"]));
        }
        Ok(v["value"].clone())
    }

    async fn get(&self, what: &str) -> Result<Value, String> {
        self.call(
            reqwest::Method::GET,
            &format!("/session/{}/{what}", self.session),
            None,
        )
        .await
    }

    async fn post(&self, what: &str, body: Value) -> Result<Value, String> {
        self.call(
            reqwest::Method::POST,
            &format!("/session/{}/{what}", self.session),
            Some(body),
        )
        .await
    }

    async fn open(&self, url: &str) -> Step {
        self.post("url", json!({ "url": url })).await.map(drop)
    }

    async fn url(&self) -> Result<String, String> {
        Ok(self
            .get("url")
            .await?
            .as_str()
            .unwrap_or_default()
            .to_owned())
    }

    /// Waits for an element (by CSS selector or XPath).
    async fn find_by(&self, using: &str, value: &str) -> Result<String, String> {
        let deadline = Instant::now() + WAIT;
        loop {
            match self
                .post("element", json!({ "using": using, "value": value }))
                .await
            {
                Ok(v) => {
                    return v[ELEMENT]
                        .as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| format!("no element reference in {v}"));
                }
                Err(e) if Instant::now() > deadline => {
                    let url = self.url().await.unwrap_or_default();
                    return Err(format!("{value} not found on {url}: {e}"));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    async fn find(&self, css: &str) -> Result<String, String> {
        self.find_by("css selector", css).await
    }

    async fn find_xpath(&self, xpath: &str) -> Result<String, String> {
        self.find_by("xpath", xpath).await
    }

    async fn click(&self, element: &str) -> Step {
        self.post(&format!("element/{element}/click"), json!({}))
            .await
            .map(drop)
    }

    async fn click_css(&self, css: &str) -> Step {
        let element = self.find(css).await?;
        self.click(&element).await
    }

    async fn type_into(&self, css: &str, text: &str) -> Step {
        let element = self.find(css).await?;
        self.post(&format!("element/{element}/clear"), json!({}))
            .await?;
        self.post(&format!("element/{element}/value"), json!({ "text": text }))
            .await
            .map(drop)
    }

    /// Clicks the form's main submit button (not the hosted page's "Cancel").
    async fn submit(&self) -> Step {
        let button = self
            .find_xpath("//form//button[@type='submit' and not(@formaction)]")
            .await?;
        self.click(&button).await
    }

    /// Waits until the element's text contains `expected`.
    async fn wait_text(&self, css: &str, expected: &str) -> Step {
        let deadline = Instant::now() + WAIT;
        let mut last = String::new();
        while Instant::now() < deadline {
            let text = async {
                let element = self
                    .post("element", json!({ "using": "css selector", "value": css }))
                    .await?;
                let id = element[ELEMENT]
                    .as_str()
                    .ok_or_else(|| format!("no element reference in {element}"))?;
                let text = self.get(&format!("element/{id}/text")).await?;
                Ok::<_, String>(text.as_str().unwrap_or_default().to_owned())
            };
            last = text.await.unwrap_or_else(|e| format!("(error: {e})"));
            if last.contains(expected) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let url = self.url().await.unwrap_or_default();
        Err(format!(
            "{css} on {url} shows {last:?}, expected {expected:?}"
        ))
    }

    async fn wait_url(&self, expected: &str) -> Step {
        self.wait_url_matching(expected, |url| url == expected)
            .await
    }

    async fn wait_url_prefix(&self, prefix: &str) -> Step {
        self.wait_url_matching(prefix, |url| url.starts_with(prefix))
            .await
    }

    async fn wait_url_matching(&self, what: &str, ok: impl Fn(&str) -> bool) -> Step {
        let deadline = Instant::now() + WAIT;
        let mut url = String::new();
        while Instant::now() < deadline {
            url = self.url().await?;
            if ok(&url) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(format!("the browser is on {url}, expected {what}"))
    }

    /// Saves a PNG of the page under target/browser-screenshots/.
    async fn screenshot(&self, name: &str) {
        let saved = async {
            let data = self.get("screenshot").await?;
            let png = base64::engine::general_purpose::STANDARD
                .decode(data.as_str().unwrap_or_default())
                .map_err(|e| e.to_string())?;
            std::fs::write(self.screenshots.join(format!("{name}.png")), png)
                .map_err(|e| e.to_string())
        };
        if let Err(err) = saved.await {
            eprintln!("screenshot {name} failed: {err}");
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            // Plain blocking HTTP: Drop cannot await.
            if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                let _ = write!(
                    stream,
                    "DELETE /session/{} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
                    self.session, self.port
                );
                let _ = stream.read_to_end(&mut Vec::new());
            }
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
