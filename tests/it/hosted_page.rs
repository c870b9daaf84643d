//! The emulator's hosted sign-in page, driven like a browser without one: GET the URL built by
//! `get_authorization_url`, read the form, post it, follow each step-up, and check the final
//! redirect back to the app.

use authkit_axum::user_management::{
    AuthorizationUrl, CreateUser, Pkce, ScreenHint, SignInWith, User,
};
use authkit_emulator::{EmailKind, Emulator};
use reqwest::StatusCode;
use reqwest::redirect::Policy;
use url::Url;

use crate::support;
use crate::support::EmulatorExt as _;

const CALLBACK: &str = "http://localhost:3000/auth/callback";
const PASSWORD: &str = "correct horse battery staple";
const TOTP_SECRET: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

/// An emulator with the app's callback registered (and the callback with a query of its own,
/// which a redirect URI may have).
async fn emulator() -> Emulator {
    Emulator::builder()
        .redirect_uri(CALLBACK)
        .redirect_uri(format!("{CALLBACK}?from=test"))
        .start()
        .await
        .unwrap()
}

/// A browser that does not follow redirects.
struct Browser {
    http: reqwest::Client,
    base: Url,
}

/// A page the emulator answered.
struct Page {
    status: StatusCode,
    html: String,
    location: Option<Url>,
}

impl Page {
    /// The hidden fields of the page's form, in order.
    fn hidden(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut rest = self.html.as_str();
        while let Some(start) = rest.find("<input type=\"hidden\" name=\"") {
            rest = &rest[start + "<input type=\"hidden\" name=\"".len()..];
            let name_end = rest.find('"').unwrap();
            let name = rest[..name_end].to_owned();
            rest = &rest[name_end..];
            let value_start = rest.find("value=\"").unwrap() + "value=\"".len();
            rest = &rest[value_start..];
            let value_end = rest.find('"').unwrap();
            out.push((name, unescape(&rest[..value_end])));
            rest = &rest[value_end..];
        }
        out
    }

    /// The value of hidden field `name`.
    fn field(&self, name: &str) -> Option<String> {
        self.hidden()
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
    }

    /// The `action` of the page's first form.
    fn action(&self) -> String {
        attribute_after(&self.html, "<form method=\"post\" action=\"")
    }

    /// The `formaction` of the Cancel button.
    fn cancel_action(&self) -> String {
        attribute_after(&self.html, "formaction=\"")
    }

    fn title(&self) -> String {
        let start = self.html.find("<title>").unwrap() + "<title>".len();
        let end = self.html.find("</title>").unwrap();
        self.html[start..end].to_owned()
    }

    /// A query parameter of the redirect.
    fn param(&self, name: &str) -> Option<String> {
        self.location
            .as_ref()?
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }
}

fn attribute_after(html: &str, marker: &str) -> String {
    let start = html.find(marker).expect(marker) + marker.len();
    let end = start + html[start..].find('"').unwrap();
    unescape(&html[start..end])
}

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

impl Browser {
    fn new(emulator: &Emulator) -> Self {
        Browser {
            http: crate::support::http_client()
                .redirect(Policy::none())
                .build()
                .unwrap(),
            base: Url::parse(emulator.base_url()).unwrap(),
        }
    }

    async fn read(response: reqwest::Response) -> Page {
        // The page keeps its state in the form, never in a cookie.
        assert!(
            response.headers().get("set-cookie").is_none(),
            "the hosted page must not set cookies"
        );
        let status = response.status();
        let location = response
            .headers()
            .get("location")
            .map(|l| Url::parse(l.to_str().unwrap()).unwrap());
        let html = response.text().await.unwrap();
        Page {
            status,
            html,
            location,
        }
    }

    async fn get(&self, url: &str) -> Page {
        Self::read(self.http.get(url).send().await.unwrap()).await
    }

    /// Posts the page's hidden fields plus `extra` to `action`.
    async fn post(&self, page: &Page, action: &str, extra: &[(&str, &str)]) -> Page {
        let mut body = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in page.hidden() {
            body.append_pair(&name, &value);
        }
        for (name, value) in extra {
            body.append_pair(name, value);
        }
        let response = self
            .http
            .post(self.base.join(action).unwrap())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.finish())
            .send()
            .await
            .unwrap();
        Self::read(response).await
    }

    /// Posts the page's own form.
    async fn submit(&self, page: &Page, extra: &[(&str, &str)]) -> Page {
        self.post(page, &page.action(), extra).await
    }
}

async fn user(emulator: &Emulator, email: &str, verified: bool) -> User {
    emulator
        .client()
        .user_management()
        .create_user(
            CreateUser::new(email)
                .password(PASSWORD)
                .email_verified(verified),
        )
        .await
        .unwrap()
}

fn authorize_url(emulator: &Emulator, params: &AuthorizationUrl) -> String {
    emulator
        .client()
        .user_management()
        .get_authorization_url(params)
        .unwrap()
        .to_string()
}

fn totp_now(offset_steps: i64) -> String {
    let secret = totp_rs::Secret::Encoded(TOTP_SECRET.into())
        .to_bytes()
        .unwrap();
    let totp = totp_rs::TOTP::new_unchecked(
        totp_rs::Algorithm::SHA1,
        6,
        1,
        30,
        secret,
        None,
        String::new(),
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    totp.generate((now + offset_steps * 30) as u64)
}

/// A 6-digit code that is not the TOTP of the last, current or next step.
fn wrong_totp() -> String {
    let valid = [totp_now(-1), totp_now(0), totp_now(1)];
    ["000000", "111111", "222222", "333333"]
        .into_iter()
        .find(|c| !valid.iter().any(|v| v == c))
        .unwrap()
        .to_owned()
}

/// Asserts the page is the final redirect to the callback with a code for `user_id`/`org`.
fn assert_code_for(
    emulator: &Emulator,
    page: &Page,
    state: Option<&str>,
    user_id: &str,
    org: Option<&str>,
) -> String {
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.html);
    let location = page.location.as_ref().expect("a Location header");
    assert_eq!(
        &location[..url::Position::AfterPath],
        CALLBACK,
        "back to redirect_uri"
    );
    let code = page.param("code").expect("a code");
    assert!(code.len() >= 32, "{code}");
    assert_eq!(page.param("state").as_deref(), state);
    assert_eq!(page.param("error"), None);
    assert_eq!(
        emulator.pending_code_user(&code),
        Some((user_id.to_owned(), org.map(str::to_owned)))
    );
    code
}

#[tokio::test]
async fn signs_in_with_a_password_and_returns_the_code_and_state() {
    let emulator = emulator().await;
    let ada = user(&emulator, "ada@example.com", true).await;
    let browser = Browser::new(&emulator);
    let pkce = Pkce::new();
    let state = "st@te with spaces & symbols=/?";
    let url = authorize_url(
        &emulator,
        &AuthorizationUrl::new(CALLBACK)
            .state(state)
            .login_hint("ada@example.com")
            .pkce(&pkce),
    );

    let page = browser.get(&url).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert_eq!(page.title(), "Sign in — WorkOS emulator");
    assert!(page.html.contains("Development emulator"));
    assert_eq!(page.action(), "/__emulator/authorize/sign-in");
    assert_eq!(
        page.field("client_id").as_deref(),
        Some(emulator.client_id())
    );
    assert_eq!(page.field("redirect_uri").as_deref(), Some(CALLBACK));
    assert_eq!(page.field("state").as_deref(), Some(state));
    assert_eq!(
        page.field("code_challenge").as_deref(),
        Some(pkce.challenge())
    );
    // login_hint pre-fills the email.
    assert!(page.html.contains("value=\"ada@example.com\""));

    let done = browser
        .submit(
            &page,
            &[("email", "ADA@example.com"), ("password", PASSWORD)],
        )
        .await;
    let code = assert_code_for(&emulator, &done, Some(state), &ada.id, None);
    assert_eq!(
        emulator.pending_code_challenge(&code),
        Some(Some(pkce.challenge().to_owned()))
    );

    // Without state, none is sent back; a redirect_uri's own query is kept.
    let with_query = format!("{CALLBACK}?from=test");
    let page = browser
        .get(&authorize_url(
            &emulator,
            &AuthorizationUrl::new(&with_query),
        ))
        .await;
    assert_eq!(page.field("state"), None);
    let done = browser
        .submit(
            &page,
            &[("email", "ada@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert_eq!(done.param("from").as_deref(), Some("test"));
    assert_eq!(done.param("state"), None);
    let code = done.param("code").unwrap();
    assert_eq!(emulator.pending_code_challenge(&code), Some(None));
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn a_wrong_password_shows_the_form_again() {
    let emulator = emulator().await;
    let grace = user(&emulator, "grace@example.com", true).await;
    let browser = Browser::new(&emulator);
    let page = browser
        .get(&authorize_url(
            &emulator,
            &AuthorizationUrl::new(CALLBACK).state("s1"),
        ))
        .await;

    for (email, password) in [
        ("grace@example.com", "wrong password"),
        ("nobody@example.com", PASSWORD),
        ("grace@example.com", ""),
    ] {
        let again = browser
            .submit(&page, &[("email", email), ("password", password)])
            .await;
        assert_eq!(again.status, StatusCode::BAD_REQUEST);
        assert!(again.location.is_none());
        assert!(
            again.html.contains("Incorrect email or password"),
            "{}",
            again.html
        );
        // The form comes back with the email kept and the request still in its fields.
        assert!(again.html.contains(&format!("value=\"{email}\"")));
        assert_eq!(again.field("state").as_deref(), Some("s1"));
    }
    assert!(!page.html.contains("Incorrect"));

    let done = browser
        .submit(
            &page,
            &[("email", "grace@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_code_for(&emulator, &done, Some("s1"), &grace.id, None);
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn sign_up_creates_an_unverified_user_and_verifies_the_email() {
    let emulator = emulator().await;
    user(&emulator, "taken@example.com", true).await;
    let browser = Browser::new(&emulator);
    let url = authorize_url(
        &emulator,
        &AuthorizationUrl::new(CALLBACK)
            .state("signup-state")
            .screen_hint(ScreenHint::SignUp),
    );
    let page = browser.get(&url).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.title(), "Sign up — WorkOS emulator");
    assert_eq!(page.action(), "/__emulator/authorize/sign-up");
    assert!(page.html.contains("name=\"first_name\""));

    let weak = browser
        .submit(
            &page,
            &[
                ("email", "new@example.com"),
                ("password", "short"),
                ("first_name", "Nova"),
            ],
        )
        .await;
    assert_eq!(weak.status, StatusCode::BAD_REQUEST);
    assert!(weak.html.contains("at least 8 characters"), "{}", weak.html);
    assert!(weak.html.contains("value=\"Nova\""));

    let duplicate = browser
        .submit(
            &page,
            &[("email", "Taken@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(duplicate.status, StatusCode::BAD_REQUEST);
    assert!(
        duplicate.html.contains("already exists"),
        "{}",
        duplicate.html
    );

    let bad_email = browser
        .submit(&page, &[("email", "not-an-email"), ("password", PASSWORD)])
        .await;
    assert_eq!(bad_email.status, StatusCode::BAD_REQUEST);
    assert!(bad_email.html.contains("valid email"));

    let verify = browser
        .submit(
            &page,
            &[
                ("email", "new@example.com"),
                ("password", PASSWORD),
                ("first_name", "Nova"),
                ("last_name", "Lee"),
            ],
        )
        .await;
    assert_eq!(verify.status, StatusCode::OK, "{}", verify.html);
    assert_eq!(verify.title(), "Verify your email — WorkOS emulator");
    assert!(verify.field("flow").is_some_and(|f| f.len() >= 32));
    assert_eq!(verify.field("state").as_deref(), Some("signup-state"));
    let um = emulator.client().user_management();
    let users = um
        .list_users(&authkit_axum::user_management::ListUsers::new().email("new@example.com"))
        .await
        .unwrap();
    let created = &users.data[0];
    assert!(!created.email_verified);
    assert_eq!(created.display_name(), "Nova Lee");

    let email = emulator
        .last_email_to("new@example.com")
        .expect("a code email");
    assert_eq!(email.kind, EmailKind::EmailVerification);
    let code = email.code.unwrap();
    assert_eq!(code.len(), 6);

    let wrong = if code == "123456" { "654321" } else { "123456" };
    let again = browser.submit(&verify, &[("code", wrong)]).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert!(again.html.contains("incorrect"), "{}", again.html);
    assert_eq!(again.title(), "Verify your email — WorkOS emulator");
    assert!(!um.get_user(&created.id).await.unwrap().email_verified);

    let done = browser.submit(&verify, &[("code", &code)]).await;
    assert_code_for(&emulator, &done, Some("signup-state"), &created.id, None);
    assert!(um.get_user(&created.id).await.unwrap().email_verified);

    // The flow is finished: posting to it again is refused.
    let replay = browser.submit(&verify, &[("code", &code)]).await;
    assert_eq!(replay.status, StatusCode::BAD_REQUEST);
    assert!(replay.html.contains("no longer valid"));
    assert!(replay.html.contains("Start again"));
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn an_unverified_user_can_ask_for_a_new_code() {
    let emulator = emulator().await;
    let lin = user(&emulator, "lin@example.com", false).await;
    let browser = Browser::new(&emulator);
    let page = browser
        .get(&authorize_url(&emulator, &AuthorizationUrl::new(CALLBACK)))
        .await;
    let verify = browser
        .submit(
            &page,
            &[("email", "lin@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(verify.title(), "Verify your email — WorkOS emulator");
    let first = emulator.last_email_to("lin@example.com").unwrap();

    let resent = browser
        .post(&verify, "/__emulator/authorize/resend-code", &[])
        .await;
    assert_eq!(resent.status, StatusCode::OK);
    assert!(resent.html.contains("We sent a new code"));
    let emails: Vec<_> = emulator
        .outbox()
        .into_iter()
        .filter(|e| e.to == "lin@example.com")
        .collect();
    assert_eq!(emails.len(), 2);
    let second = emails[1].code.clone().unwrap();

    // The first code no longer works (unless the two happen to be equal).
    if first.code.as_deref() != Some(second.as_str()) {
        let old = browser
            .submit(&verify, &[("code", first.code.as_deref().unwrap())])
            .await;
        assert_eq!(old.status, StatusCode::BAD_REQUEST);
    }
    let done = browser.submit(&verify, &[("code", &second)]).await;
    assert_code_for(&emulator, &done, None, &lin.id, None);
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn a_totp_factor_asks_for_the_authenticator_code() {
    let emulator = emulator().await;
    let mia = user(&emulator, "mia@example.com", true).await;
    emulator.seed_totp_factor(&mia.id, TOTP_SECRET);
    let browser = Browser::new(&emulator);
    let page = browser
        .get(&authorize_url(
            &emulator,
            &AuthorizationUrl::new(CALLBACK).state("mfa"),
        ))
        .await;
    let mfa = browser
        .submit(
            &page,
            &[("email", "mia@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(mfa.status, StatusCode::OK);
    assert_eq!(mfa.title(), "Two-factor authentication — WorkOS emulator");
    assert_eq!(mfa.action(), "/__emulator/authorize/totp");
    assert!(mfa.location.is_none());

    let wrong = browser.submit(&mfa, &[("code", &wrong_totp())]).await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert!(
        wrong.html.contains("That code is incorrect"),
        "{}",
        wrong.html
    );
    let empty = browser.submit(&mfa, &[("code", "")]).await;
    assert_eq!(empty.status, StatusCode::BAD_REQUEST);

    let done = browser.submit(&mfa, &[("code", &totp_now(0))]).await;
    assert_code_for(&emulator, &done, Some("mfa"), &mia.id, None);
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn several_organizations_ask_which_one() {
    let emulator = emulator().await;
    let sam = user(&emulator, "sam@example.com", true).await;
    let acme = emulator.create_organization("Acme <Corp>");
    let globex = emulator.create_organization("Globex");
    let other = emulator.create_organization("Initech");
    emulator.seed_membership(&sam.id, &acme, "member");
    emulator.seed_membership(&sam.id, &globex, "admin");
    let browser = Browser::new(&emulator);

    let page = browser
        .get(&authorize_url(
            &emulator,
            &AuthorizationUrl::new(CALLBACK).state("orgs"),
        ))
        .await;
    let choose = browser
        .submit(
            &page,
            &[("email", "sam@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(choose.status, StatusCode::OK, "{}", choose.html);
    assert_eq!(choose.title(), "Choose an organization — WorkOS emulator");
    assert!(
        choose.html.contains("Acme &lt;Corp&gt;"),
        "names are escaped"
    );
    assert!(choose.html.contains("Globex"));
    assert!(!choose.html.contains("Initech"));
    assert!(choose.html.contains(&format!("value=\"{acme}\"")));

    let not_mine = browser
        .submit(&choose, &[("organization_id", &other)])
        .await;
    assert_eq!(not_mine.status, StatusCode::BAD_REQUEST);
    assert!(not_mine.html.contains("Choose one of your organizations"));

    let done = browser
        .submit(&choose, &[("organization_id", &globex)])
        .await;
    assert_code_for(&emulator, &done, Some("orgs"), &sam.id, Some(&globex));

    // An organization given in the URL skips the choice.
    let page = browser
        .get(&authorize_url(
            &emulator,
            &AuthorizationUrl::new(CALLBACK).sign_in_with(SignInWith::OrganizationId(acme.clone())),
        ))
        .await;
    assert_eq!(
        page.field("organization_id").as_deref(),
        Some(acme.as_str())
    );
    let done = browser
        .submit(
            &page,
            &[("email", "sam@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_code_for(&emulator, &done, None, &sam.id, Some(&acme));

    // ... but only for a member.
    let page = browser
        .get(&authorize_url(
            &emulator,
            &AuthorizationUrl::new(CALLBACK).sign_in_with(SignInWith::OrganizationId(other)),
        ))
        .await;
    let refused = browser
        .submit(
            &page,
            &[("email", "sam@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.html.contains("not a member"), "{}", refused.html);

    // One membership: its organization, no question asked.
    let solo = user(&emulator, "solo@example.com", true).await;
    emulator.seed_membership(&solo.id, &acme, "member");
    let page = browser
        .get(&authorize_url(&emulator, &AuthorizationUrl::new(CALLBACK)))
        .await;
    let done = browser
        .submit(
            &page,
            &[("email", "solo@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_code_for(&emulator, &done, None, &solo.id, Some(&acme));
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn every_step_up_in_turn() {
    let emulator = emulator().await;
    let kai = user(&emulator, "kai@example.com", false).await;
    emulator.seed_totp_factor(&kai.id, TOTP_SECRET);
    let one = emulator.create_organization("One");
    let two = emulator.create_organization("Two");
    emulator.seed_membership(&kai.id, &one, "member");
    emulator.seed_membership(&kai.id, &two, "member");
    let browser = Browser::new(&emulator);
    let page = browser
        .get(&authorize_url(
            &emulator,
            &AuthorizationUrl::new(CALLBACK).state("all"),
        ))
        .await;
    let verify = browser
        .submit(
            &page,
            &[("email", "kai@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(verify.title(), "Verify your email — WorkOS emulator");
    let code = emulator
        .last_email_to("kai@example.com")
        .unwrap()
        .code
        .unwrap();
    let mfa = browser.submit(&verify, &[("code", &code)]).await;
    assert_eq!(mfa.title(), "Two-factor authentication — WorkOS emulator");
    let choose = browser.submit(&mfa, &[("code", &totp_now(0))]).await;
    assert_eq!(choose.title(), "Choose an organization — WorkOS emulator");
    let done = browser.submit(&choose, &[("organization_id", &one)]).await;
    assert_code_for(&emulator, &done, Some("all"), &kai.id, Some(&one));
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn bad_requests_get_an_error_page_never_a_redirect() {
    let emulator = emulator().await;
    let browser = Browser::new(&emulator);
    let base = emulator.base_url();
    let cid = emulator.client_id();

    // Wrong client id (a client configured for another environment).
    let other = emulator
        .client_builder()
        .client_id("client_somewhere_else")
        .build()
        .unwrap();
    let url = other
        .user_management()
        .get_authorization_url(&AuthorizationUrl::new(CALLBACK))
        .unwrap();
    let page = browser.get(url.as_str()).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.location.is_none());
    assert!(page.html.contains("client_somewhere_else"), "{}", page.html);

    let cases = [
        // No client id at all.
        format!("{base}/user_management/authorize?redirect_uri={CALLBACK}&response_type=code"),
        // No redirect_uri.
        format!("{base}/user_management/authorize?client_id={cid}&response_type=code"),
        // Not an http(s) URL.
        format!(
            "{base}/user_management/authorize?client_id={cid}&response_type=code&redirect_uri=javascript%3Aalert(1)"
        ),
        // Relative.
        format!(
            "{base}/user_management/authorize?client_id={cid}&response_type=code&redirect_uri=%2Fcallback"
        ),
    ];
    for url in &cases {
        let page = browser.get(url).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{url}");
        assert!(page.location.is_none(), "{url}");
        assert!(page.html.contains("Invalid sign-in request"), "{url}");
    }
    // A redirect_uri the app did not register: refused, saying how to register it.
    let page = browser
        .get(&format!(
            "{base}/user_management/authorize?client_id={cid}&response_type=code&redirect_uri=https%3A%2F%2Fevil.example%2Fcallback"
        ))
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.location.is_none());
    assert!(
        page.html.contains("Redirect URI not registered"),
        "{}",
        page.html
    );
    assert!(
        page.html.contains("EmulatorBuilder::redirect_uri"),
        "{}",
        page.html
    );

    // With a good redirect_uri, other problems go back to it as OAuth errors (with state).
    let encoded: String = url::form_urlencoded::byte_serialize(CALLBACK.as_bytes()).collect();
    let start =
        format!("{base}/user_management/authorize?client_id={cid}&redirect_uri={encoded}&state=s");
    for (query, error) in [
        ("&response_type=token", "unsupported_response_type"),
        ("", "unsupported_response_type"),
        ("&response_type=code&code_challenge=abc", "invalid_request"),
        (
            "&response_type=code&code_challenge=abc&code_challenge_method=plain",
            "invalid_request",
        ),
        (
            "&response_type=code&organization_id=org_missing",
            "invalid_request",
        ),
    ] {
        let page = browser.get(&format!("{start}{query}")).await;
        assert_eq!(page.status, StatusCode::FOUND, "{query}: {}", page.html);
        let location = page.location.as_ref().unwrap();
        assert!(location.as_str().starts_with(CALLBACK), "{location}");
        assert_eq!(page.param("error").as_deref(), Some(error), "{query}");
        assert!(page.param("error_description").is_some());
        assert_eq!(page.param("state").as_deref(), Some("s"));
        assert_eq!(page.param("code"), None);
    }

    // A form post with a tampered redirect_uri is refused the same way.
    let page = browser
        .get(&authorize_url(&emulator, &AuthorizationUrl::new(CALLBACK)))
        .await;
    let tampered = Page {
        html: page.html.replace(CALLBACK, "ftp://evil.example.com/steal"),
        ..page
    };
    let refused = browser
        .submit(
            &tampered,
            &[("email", "x@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.location.is_none());
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn cancel_returns_access_denied_and_ends_the_flow() {
    let emulator = emulator().await;
    let mia = user(&emulator, "mia@example.com", true).await;
    emulator.seed_totp_factor(&mia.id, TOTP_SECRET);
    let browser = Browser::new(&emulator);
    let url = authorize_url(&emulator, &AuthorizationUrl::new(CALLBACK).state("c1"));

    // From the first screen.
    let page = browser.get(&url).await;
    assert_eq!(page.cancel_action(), "/__emulator/authorize/cancel");
    let cancelled = browser.post(&page, &page.cancel_action(), &[]).await;
    assert_eq!(cancelled.status, StatusCode::SEE_OTHER);
    assert!(
        cancelled
            .location
            .as_ref()
            .unwrap()
            .as_str()
            .starts_with(CALLBACK)
    );
    assert_eq!(cancelled.param("error").as_deref(), Some("access_denied"));
    assert!(cancelled.param("error_description").is_some());
    assert_eq!(cancelled.param("state").as_deref(), Some("c1"));
    assert_eq!(cancelled.param("code"), None);

    // From a step-up: the flow ends, its code screen no longer works.
    let mfa = browser
        .submit(
            &page,
            &[("email", "mia@example.com"), ("password", PASSWORD)],
        )
        .await;
    let cancelled = browser.post(&mfa, &mfa.cancel_action(), &[]).await;
    assert_eq!(cancelled.param("error").as_deref(), Some("access_denied"));
    assert_eq!(cancelled.param("state").as_deref(), Some("c1"));
    let late = browser.submit(&mfa, &[("code", &totp_now(0))]).await;
    assert_eq!(late.status, StatusCode::BAD_REQUEST);
    assert!(late.html.contains("no longer valid"));
    assert!(late.location.is_none());
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn flows_expire_after_ten_minutes() {
    let emulator = emulator().await;
    let mia = user(&emulator, "mia@example.com", true).await;
    emulator.seed_totp_factor(&mia.id, TOTP_SECRET);
    let browser = Browser::new(&emulator);
    let page = browser
        .get(&authorize_url(
            &emulator,
            &AuthorizationUrl::new(CALLBACK).state("late"),
        ))
        .await;
    let mfa = browser
        .submit(
            &page,
            &[("email", "mia@example.com"), ("password", PASSWORD)],
        )
        .await;
    emulator.advance_clock(std::time::Duration::from_secs(11 * 60));
    let expired = browser.submit(&mfa, &[("code", &totp_now(0))]).await;
    assert_eq!(expired.status, StatusCode::BAD_REQUEST);
    assert!(expired.html.contains("expired"), "{}", expired.html);
    assert!(expired.location.is_none());
    // "Start again" leads back to the same request.
    let restart = attribute_after(&expired.html, "<a href=\"");
    assert!(
        restart.starts_with("/user_management/authorize?"),
        "{restart}"
    );
    let again = browser
        .get(&format!("{}{restart}", emulator.base_url()))
        .await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.field("state").as_deref(), Some("late"));
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn too_many_wrong_codes_end_the_flow() {
    let emulator = emulator().await;
    let mia = user(&emulator, "mia@example.com", true).await;
    emulator.seed_totp_factor(&mia.id, TOTP_SECRET);
    let browser = Browser::new(&emulator);
    let page = browser
        .get(&authorize_url(&emulator, &AuthorizationUrl::new(CALLBACK)))
        .await;
    let mfa = browser
        .submit(
            &page,
            &[("email", "mia@example.com"), ("password", PASSWORD)],
        )
        .await;
    let wrong = wrong_totp();
    let mut last = None;
    for _ in 0..10 {
        last = Some(browser.submit(&mfa, &[("code", &wrong)]).await);
    }
    assert!(last.unwrap().html.contains("Too many incorrect codes"));
    let after = browser.submit(&mfa, &[("code", &totp_now(0))]).await;
    assert_eq!(after.status, StatusCode::BAD_REQUEST);
    assert!(after.location.is_none());
    support::assert_contract(&emulator);
}
