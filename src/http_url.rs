//! Absolute `http(s)` URLs as the crate takes them in settings (the API base URL, the callback
//! URL, trusted origins): checked once, kept as written, with the parts the crate needs.
//!
//! Hosts are ASCII (an internationalized domain name is written in its `xn--` form, as
//! browsers send it in `Origin`).

use http::Uri;

/// A checked absolute `http://` or `https://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HttpUrl {
    /// The URL as given, without surrounding spaces or fragment.
    text: String,
    https: bool,
    /// Lowercase; IPv6 addresses in brackets.
    host: String,
    /// The port, unless it is the scheme's default.
    port: Option<u16>,
    /// Where the path starts in `text` (the end of the authority).
    path_start: usize,
    /// Where the query starts in `text` (its `?`), or the length.
    query_start: usize,
}

impl HttpUrl {
    /// Parses an absolute `http(s)` URL with a host and no user name or password.
    pub(crate) fn parse(raw: &str) -> Result<HttpUrl, String> {
        let raw = raw.trim();
        let text = raw.split('#').next().unwrap_or_default();
        let uri: Uri = text.parse().map_err(|e| format!("{e}"))?;
        let https = match uri.scheme_str() {
            Some(s) if s.eq_ignore_ascii_case("https") => true,
            Some(s) if s.eq_ignore_ascii_case("http") => false,
            Some(other) => return Err(format!("the scheme is {other}, not http or https")),
            None => return Err("it has no scheme (http:// or https://)".into()),
        };
        let authority = uri.authority().ok_or_else(|| "it has no host".to_owned())?;
        if authority.as_str().contains('@') {
            return Err("it has a user name or password".into());
        }
        let host = authority.host();
        if host.is_empty() {
            return Err("it has no host".into());
        }
        let port = authority
            .port_u16()
            .filter(|&p| p != if https { 443 } else { 80 });
        // `scheme://authority` then the path, query and fragment as written.
        let path_start = text
            .find("://")
            .map(|i| i + 3 + authority.as_str().len())
            .ok_or_else(|| "it has no scheme (http:// or https://)".to_owned())?;
        let query_start = text[path_start..]
            .find('?')
            .map_or(text.len(), |i| path_start + i);
        Ok(HttpUrl {
            text: text.to_owned(),
            https,
            host: host.to_ascii_lowercase(),
            port,
            path_start,
            query_start,
        })
    }

    /// The URL as given (trimmed, fragment removed).
    pub(crate) fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the scheme is `https`.
    pub(crate) fn is_https(&self) -> bool {
        self.https
    }

    /// The path, `""` when the URL has none.
    pub(crate) fn path(&self) -> &str {
        &self.text[self.path_start..self.query_start]
    }

    /// Whether the URL has a query (even an empty one).
    pub(crate) fn has_query(&self) -> bool {
        self.query_start < self.text.len()
    }

    /// `scheme://host[:port]`, as browsers send it in `Origin`: lowercase, without the
    /// default port.
    pub(crate) fn origin(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        match self.port {
            Some(port) => format!("{scheme}://{}:{port}", self.host),
            None => format!("{scheme}://{}", self.host),
        }
    }

    /// The origin and path, ending with `/`, without query: the base that API paths are
    /// appended to.
    pub(crate) fn as_base(&self) -> String {
        let mut base = format!("{}{}", self.origin(), self.path());
        if !base.ends_with('/') {
            base.push('/');
        }
        base
    }

    /// Whether the host is this machine: `localhost`, a `.localhost` name or a loopback
    /// address.
    pub(crate) fn is_loopback(&self) -> bool {
        let host = self.host.as_str();
        if host == "localhost" || host.ends_with(".localhost") {
            return true;
        }
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        bare.parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
    }
}

#[cfg(test)]
mod tests {
    use super::HttpUrl;

    #[test]
    fn parts_and_origin() {
        let url = HttpUrl::parse(" HTTPS://App.Example.com:443/auth/callback?x=1#top ").unwrap();
        assert_eq!(
            url.as_str(),
            "HTTPS://App.Example.com:443/auth/callback?x=1"
        );
        assert_eq!(url.origin(), "https://app.example.com");
        assert_eq!(url.path(), "/auth/callback");
        assert!(url.has_query() && url.is_https());
        assert_eq!(url.as_base(), "https://app.example.com/auth/callback/");

        let local = HttpUrl::parse("http://localhost:3000").unwrap();
        assert_eq!(local.origin(), "http://localhost:3000");
        assert_eq!(local.path(), "");
        assert_eq!(local.as_base(), "http://localhost:3000/");
        assert!(local.is_loopback() && !local.has_query());

        let v6 = HttpUrl::parse("http://[::1]:8080/cb").unwrap();
        assert_eq!(v6.origin(), "http://[::1]:8080");
        assert!(v6.is_loopback());
        assert!(HttpUrl::parse("http://127.0.0.1/").unwrap().is_loopback());
        assert!(!HttpUrl::parse("http://example.com/").unwrap().is_loopback());
        assert!(
            !HttpUrl::parse("http://localhost.evil.com/")
                .unwrap()
                .is_loopback()
        );
    }

    #[test]
    fn what_is_refused() {
        for bad in [
            "",
            "localhost:4100",
            "api.workos.com",
            "/callback",
            "ftp://example.com/",
            "http://",
            "http:///path",
            "http://user:pass@example.com/",
            "http://exa mple.com/",
            "javascript:alert(1)",
        ] {
            assert!(HttpUrl::parse(bad).is_err(), "{bad:?}");
        }
    }
}
