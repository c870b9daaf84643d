//! The Events API: `GET /events`, the same [`Event`]s webhooks deliver, kept in order by WorkOS
//! (for 30 days) so that an app can catch up on what it missed.

use futures_core::Stream;
use time::format_description::well_known::Rfc3339;

use super::{Event, EventKind};
use crate::Client;
use crate::client::{Endpoint, Order, Page, PageParams, Result, paginate};
use crate::user_management::Timestamp;

/// The Events API of a [`Client`] ([`Client::events`]).
///
/// ```no_run
/// # async fn run(client: authkit_axum::Client) -> Result<(), authkit_axum::Error> {
/// use authkit_axum::webhooks::ListEvents;
///
/// let page = client.events().list(&ListEvents::new(["user.created"]).limit(50)).await?;
/// for event in &page.data {
///     println!("{} {}", event.id, event.event);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Events {
    client: Client,
}

impl Events {
    pub(crate) fn new(client: Client) -> Self {
        Events { client }
    }

    /// Lists events, one page. `GET /events`.
    pub async fn list(&self, params: &ListEvents) -> Result<Page<Event>> {
        let types = (!params.events.is_empty()).then(|| {
            params
                .events
                .iter()
                .map(EventKind::as_str)
                .collect::<Vec<_>>()
                .join(",")
        });
        let endpoint = Endpoint::get("/events", &[])
            .query_opt("events", types)
            .query_opt("range_start", params.range_start.and_then(format_ts))
            .query_opt("range_end", params.range_end.and_then(format_ts))
            .query_opt("organization_id", params.organization_id.as_deref());
        self.client.execute(params.page.apply(endpoint)).await
    }

    /// Lists events across every page, as a stream, following the `after` cursor. `GET
    /// /events`.
    ///
    /// With [`ListEvents::since`] this is the catch-up after downtime: every event after the
    /// stored cursor, oldest first. Store each event's id as the new cursor once the event
    /// is handled (see the [module docs](crate::webhooks#webhooks-and-catch-up)).
    ///
    /// ```no_run
    /// # async fn run(client: authkit_axum::Client, cursor: Option<String>) -> Result<(), authkit_axum::Error> {
    /// use futures_util::TryStreamExt;
    /// use authkit_axum::webhooks::ListEvents;
    ///
    /// let mut missed = std::pin::pin!(client.events().stream(
    ///     ListEvents::since(cursor).events(["user.created", "user.updated", "user.deleted"]),
    /// ));
    /// while let Some(event) = missed.try_next().await? {
    ///     // handle the event, then store event.id as the cursor
    /// }
    /// # Ok(()) }
    /// ```
    pub fn stream(&self, params: ListEvents) -> impl Stream<Item = Result<Event>> + Send + 'static {
        let events = self.clone();
        let first = params.page.clone();
        paginate(first, move |page| {
            let events = events.clone();
            let params = ListEvents {
                page,
                ..params.clone()
            };
            async move { events.list(&params).await }
        })
    }
}

fn format_ts(at: Timestamp) -> Option<String> {
    at.format(&Rfc3339).ok()
}

/// Parameters of [`Events::list`] and [`Events::stream`]: which event types, in which time
/// range, about which organization, and the page.
///
/// ```
/// use authkit_axum::user_management::Order;
/// use authkit_axum::webhooks::{EventKind, ListEvents};
///
/// let params = ListEvents::new([EventKind::UserCreated, EventKind::SessionRevoked])
///     .organization_id("org_123")
///     .order(Order::Asc)
///     .limit(100);
/// assert_eq!(params.events.len(), 2);
///
/// // Resuming from a stored cursor: oldest first, after that event.
/// let resume = ListEvents::since(Some("event_01J...".to_owned())).events(["user.created"]);
/// assert_eq!(resume.page.after.as_deref(), Some("event_01J..."));
/// assert_eq!(resume.page.order, Some(Order::Asc));
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ListEvents {
    /// Only events of these types (`events`); every type when empty.
    pub events: Vec<EventKind>,
    /// Only events created at or after this time (`range_start`).
    pub range_start: Option<Timestamp>,
    /// Only events created before this time (`range_end`).
    pub range_end: Option<Timestamp>,
    /// Only events about this organization (`organization_id`).
    pub organization_id: Option<String>,
    /// Pagination. WorkOS's default order is newest first; catch-up wants
    /// [`Order::Asc`].
    pub page: PageParams,
}

impl ListEvents {
    /// Events of these types (none: every type).
    pub fn new<K: Into<EventKind>>(events: impl IntoIterator<Item = K>) -> Self {
        ListEvents {
            events: events.into_iter().map(Into::into).collect(),
            ..ListEvents::default()
        }
    }

    /// The catch-up after downtime: the events after the event `cursor` (the id of the last
    /// event handled; `None` for everything WorkOS still keeps), oldest first. Every type,
    /// unless narrowed with [`events`](Self::events).
    pub fn since(cursor: Option<String>) -> Self {
        let mut params = ListEvents::default();
        params.page.order = Some(Order::Asc);
        params.page.after = cursor;
        params
    }

    /// Only events of these types.
    pub fn events<K: Into<EventKind>>(mut self, events: impl IntoIterator<Item = K>) -> Self {
        self.events = events.into_iter().map(Into::into).collect();
        self
    }

    /// Only events created at or after `at`.
    pub fn range_start(mut self, at: Timestamp) -> Self {
        self.range_start = Some(at);
        self
    }

    /// Only events created before `at`.
    pub fn range_end(mut self, at: Timestamp) -> Self {
        self.range_end = Some(at);
        self
    }
}

setters!(ListEvents {
    /// Only events about this organization.
    organization_id: String,
});
page_setters!(ListEvents);

impl Client {
    /// The Events API: the events webhooks deliver, listed in order for catch-up.
    ///
    /// ```no_run
    /// # async fn run(client: authkit_axum::Client) -> Result<(), authkit_axum::Error> {
    /// use authkit_axum::webhooks::{EventKind, ListEvents};
    ///
    /// let revoked = client
    ///     .events()
    ///     .list(&ListEvents::new([EventKind::SessionRevoked]))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn events(&self) -> Events {
        Events::new(self.clone())
    }
}
