//! The [`Requester`] of a request: the client's IP address, from the connection
//! (`ConnectInfo<SocketAddr>`, when the app is served with
//! `into_make_service_with_connect_info`) or, behind a proxy, from the header that proxy sets
//! ([`AuthKitBuilder::client_ip_header`](super::AuthKitBuilder::client_ip_header)); and the
//! `User-Agent`.
//!
//! Only a configured header is read: any client can send `X-Forwarded-For`, so without a proxy
//! that overwrites or appends it, its value is whatever the client wants WorkOS to record.

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::http::{Extensions, HeaderMap, HeaderName, header};

use crate::session::requester::Requester;

/// The requester of a request with `headers` and `extensions`; `ip_header` is the trusted
/// proxy's header, if configured.
pub(crate) fn of(
    headers: &HeaderMap,
    extensions: &Extensions,
    ip_header: Option<&HeaderName>,
) -> Requester {
    let ip = match ip_header {
        Some(name) => from_header(headers, name),
        None => extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip()),
    };
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    Requester::new(ip.map(|ip| ip.to_string()), user_agent)
}

/// The address the trusted proxy put in `name`: the last one (a proxy appends the address it
/// saw to `X-Forwarded-For`; headers that carry one address, like `X-Real-IP` or
/// `CF-Connecting-IP`, read the same). `None` when missing or not an IP address.
fn from_header(headers: &HeaderMap, name: &HeaderName) -> Option<IpAddr> {
    let value = headers.get_all(name).iter().next_back()?.to_str().ok()?;
    let last = value.rsplit(',').next()?.trim();
    last.parse::<IpAddr>()
        .ok()
        // `[v6]:port` and `v4:port`, as some proxies write them.
        .or_else(|| last.parse::<SocketAddr>().ok().map(|addr| addr.ip()))
}

/// The [`Requester`] of a sign-in route's request, as an extractor (never fails).
pub(crate) struct RequesterOf(pub Requester);

impl axum::extract::FromRequestParts<super::AuthKit> for RequesterOf {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        authkit: &super::AuthKit,
    ) -> Result<Self, Self::Rejection> {
        Ok(RequesterOf(of(
            &parts.headers,
            &parts.extensions,
            authkit.inner.client_ip_header.as_ref(),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        map
    }

    #[test]
    fn the_trusted_header_gives_the_last_address_and_nothing_else_is_read() {
        let xff = HeaderName::from_static("x-forwarded-for");
        let none = Extensions::new();
        let forwarded = headers(&[
            ("x-forwarded-for", "198.51.100.1, 203.0.113.7"),
            ("user-agent", "Mozilla/5.0"),
        ]);
        let requester = of(&forwarded, &none, Some(&xff));
        assert_eq!(requester.ip_address.as_deref(), Some("203.0.113.7"));
        assert_eq!(requester.user_agent.as_deref(), Some("Mozilla/5.0"));
        // Not configured: a client's X-Forwarded-For is ignored.
        assert_eq!(of(&forwarded, &none, None).ip_address, None);
        // Several header lines: the last; ports and garbage.
        let lines = headers(&[
            ("x-forwarded-for", "1.1.1.1"),
            ("x-forwarded-for", "[2001:db8::1]:443"),
        ]);
        assert_eq!(
            of(&lines, &none, Some(&xff)).ip_address.as_deref(),
            Some("2001:db8::1")
        );
        let junk = headers(&[("x-forwarded-for", "not an address")]);
        assert_eq!(of(&junk, &none, Some(&xff)).ip_address, None);
    }

    #[test]
    fn without_a_header_the_connection_address_is_used() {
        let mut extensions = Extensions::new();
        extensions.insert(ConnectInfo(SocketAddr::from(([192, 0, 2, 9], 51000))));
        let requester = of(&HeaderMap::new(), &extensions, None);
        assert_eq!(requester.ip_address.as_deref(), Some("192.0.2.9"));
        assert_eq!(requester.user_agent, None);
    }
}
