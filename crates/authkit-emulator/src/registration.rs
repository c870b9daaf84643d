//! What an app registers with the emulator, as in the WorkOS dashboard: redirect URIs (where
//! sign-ins may return), logout redirect URIs (where sign-outs may return), and the host names
//! the emulator answers to besides loopback.
//!
//! The emulator refuses the rest, as WorkOS does, so that an app cannot be tested into relying
//! on an open redirect, and a web page cannot reach a developer's emulator through DNS
//! rebinding (a name the attacker controls, pointed at 127.0.0.1).

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use url::Url;

use super::{EmulatorError, SharedState};

/// The registered URIs and names, fixed at start.
#[derive(Debug, Default, Clone)]
pub(crate) struct Registered {
    /// Redirect URIs, normalized; the first is the default (where impersonation goes).
    pub redirect_uris: Vec<String>,
    /// Logout redirect URIs, normalized; the first is the default (`return_to` omitted).
    pub logout_redirect_uris: Vec<String>,
    /// Host names allowed besides loopback, lower case, without a port.
    pub allowed_hosts: Vec<String>,
}

impl Registered {
    /// Builds the registrations from the builder's raw values, refusing malformed ones.
    pub fn new(
        redirect_uris: &[String],
        logout_redirect_uris: &[String],
        allowed_hosts: &[String],
    ) -> Result<Self, EmulatorError> {
        let uris = |raw: &[String], what: &str| -> Result<Vec<String>, EmulatorError> {
            let mut out: Vec<String> = Vec::new();
            for uri in raw {
                let normalized = normalize(uri).ok_or_else(|| {
                    EmulatorError::Invalid(format!(
                        "{what} {uri:?} is not an absolute http(s) URL without a fragment"
                    ))
                })?;
                if !out.contains(&normalized) {
                    out.push(normalized);
                }
            }
            Ok(out)
        };
        let mut hosts = Vec::new();
        for host in allowed_hosts {
            let name = host.trim().to_ascii_lowercase();
            let valid = !name.is_empty()
                && Url::parse(&format!("http://{name}/"))
                    .ok()
                    .is_some_and(|u| u.port().is_none() && u.host_str() == Some(name.as_str()));
            if !valid {
                return Err(EmulatorError::Invalid(format!(
                    "allowed host {host:?} is not a host name (give the name alone, without \
                     scheme or port, e.g. \"emulator\" or \"[fd00::1]\")"
                )));
            }
            if !hosts.contains(&name) {
                hosts.push(name);
            }
        }
        Ok(Registered {
            redirect_uris: uris(redirect_uris, "redirect URI")?,
            logout_redirect_uris: uris(logout_redirect_uris, "logout redirect URI")?,
            allowed_hosts: hosts,
        })
    }

    /// Whether `uri` is a registered redirect URI (exact match, after URL normalization).
    pub fn is_redirect_uri(&self, uri: &str) -> bool {
        normalize(uri).is_some_and(|u| self.redirect_uris.contains(&u))
    }

    /// Whether `uri` is a registered logout redirect URI.
    pub fn is_logout_redirect_uri(&self, uri: &str) -> bool {
        normalize(uri).is_some_and(|u| self.logout_redirect_uris.contains(&u))
    }

    /// Why `uri` cannot be a redirect URI, and how to register it, for an error page.
    pub fn unregistered_redirect_uri(&self, uri: &str) -> String {
        format!(
            "The redirect_uri '{uri}' is not registered with this emulator, so it will not send \
             the sign-in there (WorkOS refuses unregistered redirect URIs too). Register it: \
             EmulatorBuilder::redirect_uri(\"{uri}\") in Rust, or \
             `authkit-emulator --redirect-uri {uri}`; in WorkOS, add it under Redirects in \
             the dashboard. Registered now: {}.",
            listed(&self.redirect_uris)
        )
    }

    /// Why `uri` cannot be a logout return URL, and how to register it.
    pub fn unregistered_logout_redirect_uri(&self, uri: &str) -> String {
        format!(
            "The return_to '{uri}' is not a registered logout redirect URI, so the emulator \
             will not send the browser there (WorkOS refuses it too). Register it: \
             EmulatorBuilder::logout_redirect_uri(\"{uri}\") in Rust, or \
             `authkit-emulator --logout-redirect-uri {uri}`; in WorkOS, add it as a sign-out \
             redirect under Redirects in the dashboard. Registered now: {}.",
            listed(&self.logout_redirect_uris)
        )
    }

    /// Whether a request addressed to `host` (a `Host` header value: name and optional port)
    /// may be answered: loopback names, or a configured one.
    pub fn host_allowed(&self, host: &str) -> bool {
        let Some(name) = host_name(host) else {
            return false;
        };
        matches!(name.as_str(), "localhost" | "127.0.0.1" | "[::1]")
            || self.allowed_hosts.contains(&name)
    }
}

fn listed(uris: &[String]) -> String {
    if uris.is_empty() {
        "none".to_owned()
    } else {
        uris.iter()
            .map(|u| format!("'{u}'"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The normalized form of an absolute http(s) URL without a fragment, as the `url` crate
/// serializes it (lower-case scheme and host, default port dropped, `/` for an empty path).
pub(crate) fn normalize(uri: &str) -> Option<String> {
    let url = Url::parse(uri).ok()?;
    let ok = matches!(url.scheme(), "http" | "https")
        && url.host().is_some()
        && url.fragment().is_none()
        && url.username().is_empty()
        && url.password().is_none();
    ok.then(|| url.into())
}

/// The host name of a `Host` value (`name`, `name:port`, `[v6]` or `[v6]:port`), lower case.
fn host_name(host: &str) -> Option<String> {
    let host = host.trim();
    let name = if host.starts_with('[') {
        let end = host.find(']')?;
        let rest = &host[end + 1..];
        if !(rest.is_empty() || valid_port(rest.strip_prefix(':')?)) {
            return None;
        }
        &host[..=end]
    } else {
        match host.rsplit_once(':') {
            Some((name, port)) if valid_port(port) => name,
            Some(_) => return None,
            None => host,
        }
    };
    (!name.is_empty()).then(|| name.to_ascii_lowercase())
}

fn valid_port(port: &str) -> bool {
    !port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit())
}

/// The outermost middleware: refuses requests addressed to a host the emulator does not
/// answer to (421 Misdirected Request), before anything is recorded or done.
pub(crate) async fn host_guard(
    State(state): State<SharedState>,
    request: Request,
    next: Next,
) -> Response {
    let header_host = request
        .headers()
        .get(header::HOST)
        .map(|v| v.to_str().unwrap_or("\u{fffd}").to_owned());
    let uri_host = request.uri().authority().map(|a| a.as_str().to_owned());
    let registered = &state.config.registered;
    let hosts: Vec<&String> = header_host.iter().chain(uri_host.iter()).collect();
    if !hosts.is_empty() && hosts.iter().all(|h| registered.host_allowed(h)) {
        return next.run(request).await;
    }
    let shown = header_host
        .or(uri_host)
        .unwrap_or_else(|| "(none)".to_owned());
    tracing::warn!(host = %shown, "emulator: refused a request for another host");
    let message = format!(
        "421 Misdirected Request: this WorkOS emulator answers only requests addressed to \
         localhost, 127.0.0.1 or [::1] (any port), and this one was addressed to {shown:?}. \
         This protects your machine from DNS rebinding: a web page on a domain that resolves \
         to 127.0.0.1 must not reach the emulator. To use another name (e.g. a container's), \
         add it with EmulatorBuilder::allowed_host(\"name\") or \
         `authkit-emulator --allowed-host name`. The emulator is for development and tests \
         only, never production.\n"
    );
    let mut response = (StatusCode::MISDIRECTED_REQUEST, message).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registered(hosts: &[&str]) -> Registered {
        let hosts: Vec<String> = hosts.iter().map(|h| h.to_string()).collect();
        Registered::new(&[], &[], &hosts).unwrap()
    }

    #[test]
    fn loopback_hosts_with_any_port_are_allowed_and_others_refused() {
        let r = registered(&[]);
        for ok in [
            "localhost",
            "LOCALHOST:4100",
            "127.0.0.1",
            "127.0.0.1:1",
            "[::1]",
            "[::1]:4100",
        ] {
            assert!(r.host_allowed(ok), "{ok}");
        }
        for refused in [
            "evil.example",
            "evil.example:4100",
            "localhost.evil.example",
            "127.0.0.1.nip.io:4100",
            "127.0.0.2:4100",
            "localhost:4100:1",
            "localhost:port",
            "[::1]x",
            "",
            ":4100",
        ] {
            assert!(!r.host_allowed(refused), "{refused}");
        }
    }

    #[test]
    fn configured_hosts_are_allowed_by_name() {
        let r = registered(&["Emulator", "[fd00::1]"]);
        assert!(r.host_allowed("emulator:4100"));
        assert!(r.host_allowed("EMULATOR"));
        assert!(r.host_allowed("[fd00::1]:80"));
        assert!(!r.host_allowed("emulator.evil.example"));
        for bad in ["", "emulator:4100", "http://emulator", "a/b"] {
            assert!(
                Registered::new(&[], &[], &[bad.to_owned()]).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn redirect_uris_match_exactly_after_normalization() {
        let r = Registered::new(
            &["http://LOCALHOST:3000/auth/callback".to_owned()],
            &["http://localhost:3000".to_owned()],
            &[],
        )
        .unwrap();
        assert!(r.is_redirect_uri("http://localhost:3000/auth/callback"));
        assert!(!r.is_redirect_uri("http://localhost:3000/auth/callback/"));
        assert!(!r.is_redirect_uri("http://localhost:3000/auth/callback?x=1"));
        assert!(!r.is_redirect_uri("http://localhost:3001/auth/callback"));
        assert!(!r.is_redirect_uri("https://localhost:3000/auth/callback"));
        assert!(r.is_logout_redirect_uri("http://localhost:3000/"));
        assert!(!r.is_logout_redirect_uri("http://localhost:3000/elsewhere"));
        for bad in [
            "/auth/callback",
            "ftp://x/",
            "http://x/#frag",
            "http://u:p@x/",
        ] {
            assert!(
                Registered::new(&[bad.to_owned()], &[], &[]).is_err(),
                "{bad}"
            );
        }
    }
}
