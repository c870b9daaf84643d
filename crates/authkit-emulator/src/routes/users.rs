//! `/user_management/users`: create, get, get by external id, update, delete, list.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::SharedState;
use crate::http::{ApiError, Json, Query};
use crate::store::{ListQuery, Store, UserRec, list_page};

pub(crate) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/user_management/users", get(list).post(create))
        .route(
            "/user_management/users/{id}",
            get(read).put(update).delete(remove),
        )
        .route(
            "/user_management/users/external_id/{external_id}",
            get(read_by_external_id),
        )
}

/// A field that may be absent, `null`, or a value.
#[derive(Debug, Default)]
pub(crate) enum Patch<T> {
    #[default]
    Absent,
    Null,
    Value(T),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Patch<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Option::<T>::deserialize(d)? {
            None => Patch::Null,
            Some(v) => Patch::Value(v),
        })
    }
}

#[derive(Deserialize)]
struct CreateBody {
    email: String,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    password_hash: Option<String>,
    #[serde(default)]
    password_hash_type: Option<String>,
    #[serde(default)]
    first_name: Option<String>,
    #[serde(default)]
    last_name: Option<String>,
    #[serde(default)]
    email_verified: Option<bool>,
    #[serde(default)]
    external_id: Option<String>,
    #[serde(default)]
    metadata: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize)]
struct UpdateBody {
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    first_name: Option<String>,
    #[serde(default)]
    last_name: Option<String>,
    #[serde(default)]
    email_verified: Option<bool>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    password_hash: Option<String>,
    #[serde(default)]
    password_hash_type: Option<String>,
    #[serde(default)]
    external_id: Patch<String>,
    #[serde(default)]
    metadata: Patch<BTreeMap<String, String>>,
    #[serde(default)]
    locale: Patch<String>,
}

const HASH_TYPES: &[&str] = &[
    "bcrypt",
    "firebase-scrypt",
    "ssha",
    "scrypt",
    "pbkdf2",
    "argon2",
];

/// Checks an email's shape the way a form would: something@something.tld.
pub(crate) fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(char::is_whitespace)
}

/// WorkOS's default password policy in the emulator: at least 8 characters.
pub(crate) fn check_password_strength(password: &str) -> Result<(), ApiError> {
    if password.chars().count() < 8 {
        return Err(ApiError::code(
            StatusCode::BAD_REQUEST,
            "password_strength_error",
            "Password does not meet strength requirements.",
        )
        .with(json!({ "errors": [{
            "code": "password_too_short",
            "message": "Password must be at least 8 characters long."
        }]})));
    }
    Ok(())
}

fn check_password_variants(
    password: &Option<String>,
    hash: &Option<String>,
    hash_type: &Option<String>,
) -> Result<(), ApiError> {
    match (password, hash, hash_type) {
        (Some(_), Some(_), _) => Err(ApiError::code(
            StatusCode::BAD_REQUEST,
            "password_and_password_hash_provided",
            "Provide either password or password_hash, not both.",
        )),
        (Some(_), None, Some(_)) => Err(ApiError::code(
            StatusCode::BAD_REQUEST,
            "password_and_password_hash_type_provided",
            "password_hash_type goes with password_hash, not password.",
        )),
        (None, Some(_), None) => Err(ApiError::invalid_params(
            "password_hash_type",
            "password_hash_type is required with password_hash",
        )),
        (None, Some(_), Some(t)) if !HASH_TYPES.contains(&t.as_str()) => {
            Err(ApiError::invalid_params(
                "password_hash_type",
                "password_hash_type must be one of bcrypt, firebase-scrypt, ssha, scrypt, pbkdf2, argon2",
            ))
        }
        (Some(password), None, None) => check_password_strength(password),
        _ => Ok(()),
    }
}

pub(crate) fn check_metadata(metadata: &BTreeMap<String, String>) -> Result<(), ApiError> {
    if metadata.len() > 50
        || metadata
            .iter()
            .any(|(k, v)| k.chars().count() > 40 || v.chars().count() > 600)
    {
        return Err(ApiError::code(
            StatusCode::BAD_REQUEST,
            "invalid_metadata",
            "Metadata may have at most 50 keys, keys of at most 40 characters and values of at most 600.",
        ));
    }
    Ok(())
}

fn check_external_id(
    store: &Store,
    external_id: &str,
    except: Option<&str>,
) -> Result<(), ApiError> {
    if external_id.chars().count() > 128 {
        return Err(ApiError::invalid_params(
            "external_id",
            "external_id must be at most 128 characters",
        ));
    }
    if store
        .users
        .find(|u| u.external_id.as_deref() == Some(external_id) && Some(u.id.as_str()) != except)
        .is_some()
    {
        let message = format!("The external_id '{external_id}' is already used by another user.");
        // Creating, the spec documents a 400 `user_creation_error` listing what failed.
        if except.is_none() {
            return Err(ApiError::code(
                StatusCode::BAD_REQUEST,
                "user_creation_error",
                "Validation failed.",
            )
            .with(serde_json::json!({
                "errors": [{ "code": "external_id_already_used", "message": message }],
            })));
        }
        return Err(ApiError::code(
            StatusCode::BAD_REQUEST,
            "external_id_already_used",
            message,
        ));
    }
    Ok(())
}

fn email_taken(store: &Store, email: &str, except: Option<&str>) -> bool {
    store
        .users
        .find(|u| u.email.eq_ignore_ascii_case(email) && Some(u.id.as_str()) != except)
        .is_some()
}

async fn create(
    State(state): State<SharedState>,
    Json(body): Json<CreateBody>,
) -> Result<(StatusCode, axum::Json<Value>), ApiError> {
    let email = body.email.trim().to_owned();
    if !valid_email(&email) {
        return Err(ApiError::invalid_params(
            "email",
            "email must be a valid email address",
        ));
    }
    check_password_variants(
        &body.password,
        &body.password_hash,
        &body.password_hash_type,
    )?;
    if let Some(metadata) = &body.metadata {
        check_metadata(metadata)?;
    }
    let now = state.now();
    let mut store = state.store();
    if email_taken(&store, &email, None) {
        return Err(ApiError::code(
            StatusCode::BAD_REQUEST,
            "user_creation_error",
            "Could not create user.",
        )
        .with(json!({ "errors": [{
            "code": "email_not_available",
            "message": "This email is not available."
        }]})));
    }
    if let Some(external_id) = &body.external_id {
        check_external_id(&store, external_id, None)?;
    }
    let mut user = UserRec::new(&email, now);
    user.first_name = body.first_name;
    user.last_name = body.last_name;
    user.email_verified = body.email_verified.unwrap_or(false);
    user.external_id = body.external_id;
    user.metadata = body.metadata.unwrap_or_default();
    // Imported hashes cannot be checked by the emulator; only plain passwords sign in.
    user.password = body.password;
    let json = user.to_json();
    store.users.insert(user);
    store.emit("user.created", json.clone(), now);
    Ok((StatusCode::CREATED, axum::Json(json)))
}

async fn read(
    State(state): State<SharedState>,
    Path(id): Path<String>,
) -> Result<axum::Json<Value>, ApiError> {
    let store = state.store();
    let user = store
        .users
        .get(&id)
        .ok_or_else(|| ApiError::not_found("User", &id))?;
    Ok(axum::Json(user.to_json()))
}

async fn read_by_external_id(
    State(state): State<SharedState>,
    Path(external_id): Path<String>,
) -> Result<axum::Json<Value>, ApiError> {
    let store = state.store();
    let user = store
        .users
        .find(|u| u.external_id.as_deref() == Some(external_id.as_str()))
        .ok_or_else(|| ApiError::not_found("User with external ID", &external_id))?;
    Ok(axum::Json(user.to_json()))
}

async fn update(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    Json(body): Json<UpdateBody>,
) -> Result<axum::Json<Value>, ApiError> {
    check_password_variants(
        &body.password,
        &body.password_hash,
        &body.password_hash_type,
    )?;
    if let Patch::Value(metadata) = &body.metadata {
        check_metadata(metadata)?;
    }
    let now = state.now();
    let mut store = state.store();
    if store.users.get(&id).is_none() {
        return Err(ApiError::not_found("User", &id));
    }
    if let Some(email) = &body.email {
        if !valid_email(email.trim()) {
            return Err(ApiError::code(
                StatusCode::BAD_REQUEST,
                "invalid_email",
                "The email is not valid.",
            ));
        }
        if email_taken(&store, email.trim(), Some(&id)) {
            return Err(ApiError::code(
                StatusCode::BAD_REQUEST,
                "email_not_available",
                "This email is not available.",
            ));
        }
    }
    if let Patch::Value(external_id) = &body.external_id {
        check_external_id(&store, external_id, Some(&id))?;
    }
    let user = store
        .users
        .get_mut(&id)
        .ok_or_else(|| ApiError::not_found("User", &id))?;
    if let Some(email) = body.email {
        let email = email.trim().to_owned();
        if !email.eq_ignore_ascii_case(&user.email) {
            user.email = email;
            user.email_verified = false;
        }
    }
    if let Some(v) = body.first_name {
        user.first_name = Some(v);
    }
    if let Some(v) = body.last_name {
        user.last_name = Some(v);
    }
    if let Some(v) = body.email_verified {
        user.email_verified = v;
    }
    if let Some(v) = body.password {
        user.password = Some(v);
    } else if body.password_hash.is_some() {
        user.password = None;
    }
    match body.external_id {
        Patch::Absent => {}
        Patch::Null => user.external_id = None,
        Patch::Value(v) => user.external_id = Some(v),
    }
    match body.metadata {
        Patch::Absent => {}
        Patch::Null => user.metadata.clear(),
        Patch::Value(v) => user.metadata = v,
    }
    match body.locale {
        Patch::Absent => {}
        Patch::Null => user.locale = None,
        Patch::Value(v) => user.locale = Some(v),
    }
    user.updated_at = now;
    let json = user.to_json();
    store.emit("user.updated", json.clone(), now);
    Ok(axum::Json(json))
}

async fn remove(
    State(state): State<SharedState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let now = state.now();
    let mut store = state.store();
    let removed = store
        .users
        .remove(&id)
        .ok_or_else(|| ApiError::not_found("User", &id))?;
    store.emit("user.deleted", removed.to_json(), now);
    let memberships: Vec<String> = store
        .memberships
        .iter()
        .filter(|m| m.user_id == id)
        .map(|m| m.id.clone())
        .collect();
    for m in memberships {
        super::organization_memberships::emit_membership(
            &mut store,
            "organization_membership.deleted",
            &m,
            now,
        );
        store.memberships.remove(&m);
    }
    Ok(StatusCode::OK)
}

#[derive(Deserialize)]
struct ListUsersQuery {
    email: Option<String>,
    organization_id: Option<String>,
    organization: Option<String>,
    #[serde(flatten)]
    page: ListQuery,
}

async fn list(
    State(state): State<SharedState>,
    Query(q): Query<ListUsersQuery>,
) -> Result<axum::Json<Value>, ApiError> {
    let store = state.store();
    let org = q.organization_id.or(q.organization);
    let rows = store.users.iter().filter(|u| {
        q.email
            .as_deref()
            .is_none_or(|e| u.email.eq_ignore_ascii_case(e))
            && org.as_deref().is_none_or(|org| {
                store
                    .memberships
                    .find(|m| m.user_id == u.id && m.organization_id == org)
                    .is_some()
            })
    });
    list_page(rows, &q.page, UserRec::to_json).map(axum::Json)
}
