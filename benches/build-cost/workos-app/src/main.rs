//! The build-cost comparison app on the official `workos` crate and `tower-sessions`: the same
//! three routes as `../quickstart`, written by hand on the SDK's AuthKit helpers.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;
use tower_sessions::{MemoryStore, Session, SessionManagerLayer};
use workos::{AuthKitAuthorizationUrlParams, AuthKitPkceCodeExchangeParams, Client, User};

const STATE_KEY: &str = "state";
const VERIFIER_KEY: &str = "code_verifier";
const USER_KEY: &str = "user";

#[derive(Clone)]
struct App {
    workos: Client,
    redirect_uri: String,
}

#[derive(Deserialize)]
struct Callback {
    code: String,
    state: String,
}

fn internal(err: impl std::fmt::Display) -> Response {
    (StatusCode::INTERNAL_SERVER_ERROR, err.to_string()).into_response()
}

/// `GET /login`: PKCE (S256) and a state nonce kept in the session, then off to AuthKit.
async fn login(State(app): State<App>, session: Session) -> Response {
    let params = AuthKitAuthorizationUrlParams {
        redirect_uri: app.redirect_uri.clone(),
        provider: Some("authkit".to_owned()),
        ..Default::default()
    };
    let pkce = match app.workos.authkit().pkce_authorization_url(params) {
        Ok(pkce) => pkce,
        Err(err) => return internal(err),
    };
    if let Err(err) = session.insert(STATE_KEY, &pkce.state).await {
        return internal(err);
    }
    if let Err(err) = session.insert(VERIFIER_KEY, &pkce.code_verifier).await {
        return internal(err);
    }
    Redirect::to(&pkce.url).into_response()
}

/// `GET /callback`: checks the state, exchanges the code with the verifier, keeps the user.
async fn callback(
    State(app): State<App>,
    session: Session,
    Query(query): Query<Callback>,
) -> Response {
    let state: Option<String> = session.remove(STATE_KEY).await.ok().flatten();
    let verifier: Option<String> = session.remove(VERIFIER_KEY).await.ok().flatten();
    let (Some(state), Some(code_verifier)) = (state, verifier) else {
        return (StatusCode::BAD_REQUEST, "no sign-in in progress").into_response();
    };
    if state != query.state {
        return (StatusCode::BAD_REQUEST, "state mismatch").into_response();
    }
    let exchange = AuthKitPkceCodeExchangeParams {
        code: query.code,
        code_verifier,
    };
    let auth = match app.workos.authkit().pkce_code_exchange(exchange).await {
        Ok(auth) => auth,
        Err(err) => return (StatusCode::UNAUTHORIZED, err.to_string()).into_response(),
    };
    if let Err(err) = session.cycle_id().await {
        return internal(err);
    }
    if let Err(err) = session.insert(USER_KEY, &auth.user).await {
        return internal(err);
    }
    Redirect::to("/").into_response()
}

/// `GET /`: the signed-in user's email, or off to sign in.
async fn home(session: Session) -> Response {
    match session.get::<User>(USER_KEY).await {
        Ok(Some(user)) => user.email.into_response(),
        _ => Redirect::to("/login").into_response(),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let env = |name: &str| std::env::var(name).map_err(|_| format!("{name} is not set"));
    let workos = Client::builder()
        .api_key(env("WORKOS_API_KEY")?)
        .client_id(env("WORKOS_CLIENT_ID")?)
        .build();
    let app = App {
        workos,
        redirect_uri: env("WORKOS_REDIRECT_URI")?,
    };
    let sessions = SessionManagerLayer::new(MemoryStore::default()).with_secure(false);
    let router = Router::new()
        .route("/", get(home))
        .route("/login", get(login))
        .route("/callback", get(callback))
        .with_state(app)
        .layer(sessions);
    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".to_owned());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    axum::serve(listener, router).await?;
    Ok(())
}
