//! `return_to` values: only same-origin relative paths are kept, so the sign-in flow cannot
//! be used as an open redirect.

/// Whether `target` is a path on this site: starts with a single `/`, no scheme or authority,
/// no backslashes or control characters (browsers treat `/\evil.com` like `//evil.com`), and the
/// same after percent-decoding.
pub(crate) fn is_local_path(target: &str) -> bool {
    fn plain(t: &str) -> bool {
        t.starts_with('/')
            && !t.starts_with("//")
            && !t.contains('\\')
            && !t.chars().any(|c| c.is_control() || c.is_whitespace())
    }
    if target.len() > 2048 || !plain(target) {
        return false;
    }
    // Decode repeatedly: `/%2F%2Fevil.com` and `/%252F...` must not become `//evil.com`.
    let mut current = target.to_owned();
    for _ in 0..3 {
        let decoded = percent_encoding::percent_decode_str(&current)
            .decode_utf8_lossy()
            .into_owned();
        // Decoded spaces are fine ("/search?q=%20a"); a decoded `//`, `\\` or control
        // character is not.
        if !decoded.starts_with('/')
            || decoded.starts_with("//")
            || decoded.contains('\\')
            || decoded.chars().any(char::is_control)
            || !resolves_locally(&decoded)
        {
            return false;
        }
        if decoded == current {
            return resolves_locally(target);
        }
        current = decoded;
    }
    false
}

/// Whether a browser resolving `target` against this site stays on it with a path that
/// does not start with `//` (`/.//evil.com` and `/%2e%2e//evil.com` become `//evil.com`,
/// which a path-normalizing redirect further on would turn into another host).
///
/// `target` starts with a single `/` and has no backslash or control character (checked
/// before), so the browser keeps the host and only resolves the path's dot segments, as the
/// URL standard's path state does: `.` and `%2e` are "this segment", `..`, `.%2e`, `%2e.`
/// and `%2e%2e` "the parent" (never above the root).
fn resolves_locally(target: &str) -> bool {
    if !target.starts_with('/') || target.starts_with("//") || target.contains('\\') {
        return false;
    }
    let end = target.find(['?', '#']).unwrap_or(target.len());
    let raw = &target[1..end];
    let mut path: Vec<&str> = Vec::new();
    let mut segments = raw.split('/').peekable();
    while let Some(segment) = segments.next() {
        let last = segments.peek().is_none();
        let lower = segment.to_ascii_lowercase();
        match lower.as_str() {
            ".." | ".%2e" | "%2e." | "%2e%2e" => {
                path.pop();
                if last {
                    path.push("");
                }
            }
            "." | "%2e" => {
                if last {
                    path.push("");
                }
            }
            _ => path.push(segment),
        }
    }
    // The path is `/` + the segments joined by `/`: it starts with `//` when the first
    // segment is empty and another follows.
    !(path.len() > 1 && path[0].is_empty())
}

/// `target` if it is a local path, else `None`. Non-ASCII characters are percent-encoded, so
/// the `Location` header is plain ASCII whatever the browser sent.
pub(crate) fn sanitize(target: Option<&str>) -> Option<String> {
    target.filter(|t| is_local_path(t)).map(|t| {
        let mut out = String::with_capacity(t.len());
        for c in t.chars() {
            if c.is_ascii() {
                out.push(c);
            } else {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("%{b:02X}"));
                }
            }
        }
        out
    })
}

#[cfg(test)]
mod tests {
    use super::is_local_path;

    #[test]
    fn only_local_paths_are_kept() {
        for ok in [
            "/",
            "/account",
            "/a/b?x=1#frag",
            "/search?q=%20a",
            "/a/../b",
            "/next?url=//x",
            "/a/..",
            "/..",
            "/a/./b/",
            "/a//b",
            "/a/.//b",
        ] {
            assert!(is_local_path(ok), "{ok}");
        }
        for bad in [
            "//evil.com",
            "https://evil.com",
            "/\\evil.com",
            "\\\\evil.com",
            "/%2F%2Fevil.com",
            "/%252F%252Fevil.com",
            "/%5Cevil.com",
            "evil.com",
            "javascript:alert(1)",
            "/\tevil",
            "/.//evil.com",
            "/%2e%2e//evil.com",
            "/a/..//evil.com",
            "/%2E/%2F/evil.com",
            "/..//evil.com",
            "/%2e%2E//evil.com",
            "/a/.%2e//evil.com",
            "/a/b/../..//evil.com",
            "/./%2e/..//evil.com",
            "",
        ] {
            assert!(!is_local_path(bad), "{bad}");
        }
    }

    #[test]
    fn non_ascii_paths_are_percent_encoded() {
        assert_eq!(
            super::sanitize(Some("/café?q=ü")).as_deref(),
            Some("/caf%C3%A9?q=%C3%BC")
        );
        assert_eq!(super::sanitize(Some("/a%20b")).as_deref(), Some("/a%20b"));
        assert_eq!(super::sanitize(Some("//évil.com")), None);
    }
}
