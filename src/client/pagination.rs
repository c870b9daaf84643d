//! Cursor pagination: a [`Page`] of results, the [`PageParams`] every list call takes, and a
//! `Stream` over all pages.

use std::future::Future;

use futures_core::Stream;
use futures_util::stream::{self, StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};

use super::Result;

/// One page of a list call.
///
/// ```
/// use authkit_axum::user_management::Page;
///
/// let page: Page<u32> = serde_json::from_str(
///     r#"{"object":"list","data":[1,2],"list_metadata":{"before":null,"after":"user_2"}}"#,
/// ).unwrap();
/// assert_eq!(page.data, vec![1, 2]);
/// assert!(page.has_more());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Page<T> {
    /// The items.
    pub data: Vec<T>,
    /// The cursors.
    #[serde(default)]
    pub list_metadata: ListMetadata,
}

impl<T> Page<T> {
    /// Whether another page follows (`list_metadata.after` is set).
    pub fn has_more(&self) -> bool {
        self.list_metadata.after.is_some()
    }
}

/// The cursors of a [`Page`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ListMetadata {
    /// Cursor for the previous page (`None` at the start).
    #[serde(default)]
    pub before: Option<String>,
    /// Cursor for the next page (`None` at the end).
    #[serde(default)]
    pub after: Option<String>,
}

/// Sort order by creation time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Order {
    /// Oldest first.
    Asc,
    /// Newest first (WorkOS's default).
    #[default]
    Desc,
    /// Newest first, with `before` fetching older and `after` newer records.
    Normal,
}

impl Order {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Order::Asc => "asc",
            Order::Desc => "desc",
            Order::Normal => "normal",
        }
    }
}

/// Pagination parameters, common to every list call.
///
/// ```
/// use authkit_axum::user_management::{Order, PageParams};
///
/// let params = PageParams::default().limit(50).order(Order::Asc);
/// assert_eq!(params.limit, Some(50));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PageParams {
    /// Page size, 1–100 (WorkOS's default is 10).
    pub limit: Option<u32>,
    /// Return records before this object id.
    pub before: Option<String>,
    /// Return records after this object id.
    pub after: Option<String>,
    /// Sort order.
    pub order: Option<Order>,
}

impl PageParams {
    /// Sets the page size (1–100).
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Starts before this object id.
    pub fn before(mut self, id: impl Into<String>) -> Self {
        self.before = Some(id.into());
        self
    }

    /// Starts after this object id.
    pub fn after(mut self, id: impl Into<String>) -> Self {
        self.after = Some(id.into());
        self
    }

    /// Sets the sort order.
    pub fn order(mut self, order: Order) -> Self {
        self.order = Some(order);
        self
    }

    /// Adds the parameters to a request.
    pub(crate) fn apply(&self, endpoint: super::Endpoint) -> super::Endpoint {
        endpoint
            .query_opt("limit", self.limit)
            .query_opt("before", self.before.as_deref())
            .query_opt("after", self.after.as_deref())
            .query_opt("order", self.order.map(Order::as_str))
    }
}

/// Turns a page-fetching function into a stream of items over every page, following
/// `list_metadata.after` (or `before` when the caller started with a `before` cursor).
pub(crate) fn paginate<T, F, Fut>(
    first: PageParams,
    fetch: F,
) -> impl Stream<Item = Result<T>> + Send
where
    T: Send + 'static,
    F: Fn(PageParams) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Page<T>>> + Send + 'static,
{
    let backwards = first.before.is_some() && first.after.is_none();
    let template = PageParams {
        before: None,
        after: None,
        ..first.clone()
    };
    stream::try_unfold(Some(first), move |next| {
        let fetched = next.map(&fetch);
        let template = template.clone();
        async move {
            let Some(fetched) = fetched else {
                return Ok::<_, crate::Error>(None);
            };
            let page = fetched.await?;
            let cursor = if backwards {
                page.list_metadata.before.clone()
            } else {
                page.list_metadata.after.clone()
            };
            let next = cursor
                .filter(|_| !page.data.is_empty())
                .map(|cursor| template.with_cursor(backwards, cursor));
            Ok(Some((stream::iter(page.data.into_iter().map(Ok)), next)))
        }
    })
    .try_flatten()
    .boxed()
}

impl PageParams {
    fn with_cursor(self, backwards: bool, cursor: String) -> Self {
        if backwards {
            self.before(cursor)
        } else {
            self.after(cursor)
        }
    }
}
