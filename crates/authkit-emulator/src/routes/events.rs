//! `GET /events`: the emulator's event log (every event its state changes produced, the same
//! ones the webhooks deliver), listed with WorkOS's filters and cursors.
//!
//! Filters: `events` (comma-separated, as the spec's `explode: false` form sends it; repeated
//! `events` or `events[]` parameters are read too), `range_start` (events created at or after
//! it), `range_end` (created before it), `organization_id` (events whose data names the
//! organization). A time that is not ISO 8601, or a range that ends before it starts, is a 422
//! naming the field; an unknown organization is a 400, as WorkOS answers.

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::SharedState;
use crate::http::ApiError;
use crate::store::{ListQuery, Record, list_page};

pub(crate) fn routes() -> Router<SharedState> {
    Router::new().route("/events", get(list))
}

impl Record for Value {
    fn id(&self) -> &str {
        self.get("id").and_then(Value::as_str).unwrap_or_default()
    }
}

/// The parsed query of `GET /events`.
#[derive(Default)]
struct EventsQuery {
    events: Vec<String>,
    range_start: Option<OffsetDateTime>,
    range_end: Option<OffsetDateTime>,
    organization_id: Option<String>,
    page: ListQuery,
}

fn parse_time(field: &str, value: &str) -> Result<OffsetDateTime, ApiError> {
    OffsetDateTime::parse(value, &Rfc3339).map_err(|_| {
        ApiError::invalid_params(
            field,
            &format!("{field} must be an ISO 8601 date-time, e.g. 2026-01-15T12:00:00.000Z"),
        )
    })
}

fn parse_query(raw: Option<&str>) -> Result<EventsQuery, ApiError> {
    let mut q = EventsQuery::default();
    for (name, value) in url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        let value = value.into_owned();
        match name.as_ref() {
            "events" | "events[]" => q.events.extend(
                value
                    .split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned),
            ),
            "range_start" => q.range_start = Some(parse_time("range_start", &value)?),
            "range_end" => q.range_end = Some(parse_time("range_end", &value)?),
            "organization_id" => q.organization_id = Some(value),
            "limit" => q.page.limit = Some(value),
            "before" => q.page.before = Some(value),
            "after" => q.page.after = Some(value),
            "order" => q.page.order = Some(value),
            _ => {}
        }
    }
    if let (Some(start), Some(end)) = (q.range_start, q.range_end)
        && end < start
    {
        return Err(ApiError::invalid_params(
            "range_end",
            "range_end must not be before range_start",
        ));
    }
    Ok(q)
}

/// Whether `event` is about `organization_id`: its data names it, or is that organization.
fn about_organization(event: &Value, organization_id: &str) -> bool {
    let data = &event["data"];
    data.get("organization_id").and_then(Value::as_str) == Some(organization_id)
        || (data.get("object").and_then(Value::as_str) == Some("organization")
            && data.get("id").and_then(Value::as_str) == Some(organization_id))
}

async fn list(
    State(state): State<SharedState>,
    RawQuery(raw): RawQuery,
) -> Result<axum::Json<Value>, ApiError> {
    let q = parse_query(raw.as_deref())?;
    let store = state.store();
    if let Some(org) = q.organization_id.as_deref()
        && store.organizations.get(org).is_none()
    {
        return Err(ApiError::message(
            StatusCode::BAD_REQUEST,
            format!("Organization not found: '{org}'."),
        ));
    }
    let created_at = |event: &Value| {
        event["created_at"]
            .as_str()
            .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
    };
    let rows: Vec<&Value> = store
        .events
        .iter()
        .filter(|e| {
            q.events.is_empty()
                || e["event"]
                    .as_str()
                    .is_some_and(|t| q.events.iter().any(|w| w == t))
        })
        .filter(|e| {
            q.organization_id
                .as_deref()
                .is_none_or(|org| about_organization(e, org))
        })
        .filter(|e| {
            q.range_start
                .is_none_or(|start| created_at(e).is_some_and(|at| at >= start))
        })
        .filter(|e| {
            q.range_end
                .is_none_or(|end| created_at(e).is_some_and(|at| at < end))
        })
        .collect();
    list_page(rows.into_iter(), &q.page, |e| e.clone()).map(axum::Json)
}
