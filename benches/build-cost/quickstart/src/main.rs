//! The README's quick start as the build-cost comparison app: `GET /login` (PKCE S256 and a
//! state in the session, then AuthKit), `GET /callback` (code and verifier exchanged, the user
//! kept in the session) and a protected `GET /` answering the user's email. The same routes as
//! `../workos-app`.

use std::time::Duration;

use authkit_axum::stores::MemoryStore;
use authkit_axum::tower_sessions::ExpiredDeletion;
use authkit_axum::{AuthKitBuilder, AuthUser};
use axum::{Router, routing::get};

/// Signed out, the extractor redirects page loads to `/login`.
async fn home(user: AuthUser) -> String {
    user.email.clone()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // WORKOS_API_KEY, WORKOS_CLIENT_ID, WORKOS_REDIRECT_URI (e.g. http://localhost:3000/callback)
    // The routes at the root: /login, /callback, /logout, ...
    let authkit = AuthKitBuilder::from_env()?.prefix("").build()?;
    let store = MemoryStore::default();
    tokio::spawn(
        store
            .clone()
            .continuously_delete_expired(Duration::from_secs(60)),
    );
    let app = Router::new()
        .route("/", get(home))
        .merge(authkit.router())
        .layer(authkit.layer(store));
    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".to_owned());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    axum::serve(listener, app).await?;
    Ok(())
}
