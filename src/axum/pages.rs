//! The small built-in HTML pages: callback errors and the sign-in step-ups.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

/// Escapes text for HTML.
pub(crate) fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;background:#f6f7f9;color:#1f2328;margin:0}\
main{max-width:420px;margin:8vh auto;background:#fff;border:1px solid #d8dee4;border-radius:10px;padding:28px 32px;box-shadow:0 1px 3px rgba(0,0,0,.06)}\
h1{font-size:1.35rem;margin:0 0 12px}p{line-height:1.5}label{display:block;margin:14px 0 6px;font-weight:600}\
input[type=text]{width:100%;box-sizing:border-box;padding:10px;border:1px solid #c9d1d9;border-radius:6px;font-size:1.1rem;letter-spacing:.15em}\
button{margin-top:18px;width:100%;padding:10px;border:0;border-radius:6px;background:#4f46e5;color:#fff;font-size:1rem;cursor:pointer}\
.error{background:#fff1f0;border:1px solid #ffccc7;color:#a8071a;padding:10px 12px;border-radius:6px}\
.choice{display:flex;gap:10px;align-items:center;padding:10px;border:1px solid #d8dee4;border-radius:6px;margin:8px 0}\
a{color:#4f46e5}img{max-width:200px;display:block;margin:10px auto}code{word-break:break-all}";

/// The pages' Content-Security-Policy: inline styles and `data:` images (the TOTP QR code)
/// only.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; \
frame-ancestors 'none'; base-uri 'none'";

/// A page with a title and body HTML (already escaped).
pub(crate) fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><link rel=\"icon\" href=\"data:,\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{title}</title>\
<style>{STYLE}</style></head><body><main><h1>{title}</h1>{body}</main></body></html>",
        title = esc(title),
    );
    use axum::http::header;
    (
        status,
        [
            (header::CACHE_CONTROL, "no-store"),
            // No script, no outside resources, no framing (the step-up forms cannot be
            // clickjacked), and the callback's code never leaves in a Referer.
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::X_FRAME_OPTIONS, "DENY"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        Html(html),
    )
        .into_response()
}

/// An error page with a link to start again.
pub(crate) fn error(
    status: StatusCode,
    title: &str,
    message: &str,
    sign_in_path: &str,
) -> Response {
    page(
        status,
        title,
        &format!(
            "<p class=\"error\">{}</p><p><a href=\"{}\">Sign in again</a></p>",
            esc(message),
            esc(sign_in_path)
        ),
    )
}
