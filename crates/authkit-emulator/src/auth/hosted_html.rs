//! The HTML of the emulator's hosted sign-in page: one plain page per screen, inline CSS,
//! no JavaScript. Every value put in the page is escaped.

use std::fmt::Write as _;

use super::hosted::AuthorizeRequest;

/// Where the screens post to. Under `/__emulator/` so they never collide with a WorkOS path
/// (e.g. `POST /user_management/authorize/device`).
pub(crate) const SIGN_IN_PATH: &str = "/__emulator/authorize/sign-in";
pub(crate) const SIGN_UP_PATH: &str = "/__emulator/authorize/sign-up";
pub(crate) const VERIFY_EMAIL_PATH: &str = "/__emulator/authorize/verify-email";
pub(crate) const RESEND_PATH: &str = "/__emulator/authorize/resend-code";
pub(crate) const TOTP_PATH: &str = "/__emulator/authorize/totp";
pub(crate) const ORGANIZATION_PATH: &str = "/__emulator/authorize/organization";
pub(crate) const CANCEL_PATH: &str = "/__emulator/authorize/cancel";
/// The device verification page (the `verification_uri` of a device authorization) and
/// where its screens post to.
pub(crate) const DEVICE_PATH: &str = "/__emulator/device";
pub(crate) const DEVICE_SIGN_IN_PATH: &str = "/__emulator/device/sign-in";
pub(crate) const DEVICE_DECIDE_PATH: &str = "/__emulator/device/decide";

/// A message shown above a form.
pub(crate) enum Message {
    /// Something to fix (shown in red).
    Error(String),
    /// Information (shown in blue).
    Info(String),
}

/// Escapes text for HTML content and attribute values.
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

const STYLE: &str = "\
*{box-sizing:border-box}\
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;\
background:#f4f5f7;font:16px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1f2328}\
main{width:100%;max-width:400px;margin:24px;background:#fff;border:1px solid #d8dbe0;border-radius:12px;\
padding:28px 28px 20px;box-shadow:0 1px 3px rgba(0,0,0,.06)}\
.banner{background:#fff8c5;border:1px solid #e9d66b;border-radius:8px;padding:8px 12px;font-size:13px;margin-bottom:20px}\
h1{font-size:22px;margin:0 0 4px}\
p.lead{margin:0 0 18px;color:#57606a;font-size:14px}\
label{display:block;font-size:14px;font-weight:600;margin:12px 0 4px}\
input[type=email],input[type=password],input[type=text]{width:100%;padding:9px 11px;border:1px solid #c4c8cf;\
border-radius:8px;font-size:15px}\
input:focus{outline:2px solid #6366f1;border-color:#6366f1}\
.row{display:flex;gap:10px}.row>div{flex:1}\
.choice{display:flex;gap:10px;align-items:center;padding:10px 12px;border:1px solid #d8dbe0;border-radius:8px;margin:8px 0;font-weight:500}\
.actions{display:flex;flex-direction:row-reverse;gap:10px;margin-top:20px}\
button{flex:1;padding:10px 14px;border-radius:8px;font-size:15px;font-weight:600;cursor:pointer;border:1px solid #4f46e5;\
background:#4f46e5;color:#fff}\
button.secondary{background:#fff;color:#1f2328;border-color:#c4c8cf}\
.msg{border-radius:8px;padding:9px 12px;font-size:14px;margin:0 0 12px}\
.error{background:#ffebe9;border:1px solid #ff8182;color:#82071e}\
.info{background:#ddf4ff;border:1px solid #54aeff;color:#0a3069}\
.foot{margin-top:18px;font-size:14px;text-align:center;color:#57606a}\
a{color:#4f46e5}";

/// A whole page: `<title>{title} — WorkOS emulator</title>` and the development banner.
pub(crate) fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><link rel=\"icon\" href=\"data:,\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<meta name=\"robots\" content=\"noindex\">\
<title>{title} — WorkOS emulator</title><style>{STYLE}</style></head>\
<body><main><div class=\"banner\"><strong>Development emulator.</strong> This is the WorkOS emulator \
of authkit-axum, not WorkOS: for development and tests only, never for real accounts.</div>\
{body}</main></body></html>\n",
        title = esc(title),
    )
}

fn message_html(message: Option<&Message>) -> String {
    match message {
        Some(Message::Error(text)) => {
            format!("<p class=\"msg error\" role=\"alert\">{}</p>", esc(text))
        }
        Some(Message::Info(text)) => format!("<p class=\"msg info\">{}</p>", esc(text)),
        None => String::new(),
    }
}

/// The hidden fields that carry the authorization request (and the flow id) from screen to
/// screen: the page keeps its state in the form, never in a cookie.
fn hidden_fields(req: &AuthorizeRequest, flow: Option<&str>) -> String {
    let mut out = String::new();
    let mut field = |name: &str, value: &str| {
        let _ = write!(
            out,
            "<input type=\"hidden\" name=\"{name}\" value=\"{}\">",
            esc(value)
        );
    };
    field("client_id", &req.client_id);
    field("redirect_uri", &req.redirect_uri);
    for (name, value) in [
        ("state", &req.state),
        ("code_challenge", &req.code_challenge),
        ("organization_id", &req.organization_id),
        ("invitation_token", &req.invitation_token),
    ] {
        if let Some(value) = value {
            field(name, value);
        }
    }
    if let Some(flow) = flow {
        field("flow", flow);
    }
    out
}

/// The submit button and a Cancel button that posts the same form to the cancel path. The
/// submit button comes first in the form so that Enter submits, not cancels; CSS shows
/// Cancel on the left.
fn actions(submit: &str) -> String {
    format!(
        "<div class=\"actions\"><button type=\"submit\">{}</button>\
<button type=\"submit\" formaction=\"{CANCEL_PATH}\" formnovalidate class=\"secondary\" \
name=\"cancel\" value=\"1\">Cancel</button></div>",
        esc(submit)
    )
}

/// The email + password sign-in screen.
pub(crate) fn sign_in(
    req: &AuthorizeRequest,
    email: &str,
    message: Option<&Message>,
    sign_up_link: &str,
) -> String {
    let body = format!(
        "<h1>Sign in</h1><p class=\"lead\">Enter your email address and password.</p>{msg}\
<form method=\"post\" action=\"{SIGN_IN_PATH}\">{hidden}\
<label for=\"email\">Email</label>\
<input id=\"email\" type=\"email\" name=\"email\" value=\"{email}\" autocomplete=\"username\" required autofocus>\
<label for=\"password\">Password</label>\
<input id=\"password\" type=\"password\" name=\"password\" autocomplete=\"current-password\" required>\
{actions}</form>\
<p class=\"foot\">No account yet? <a href=\"{link}\">Sign up</a></p>",
        msg = message_html(message),
        hidden = hidden_fields(req, None),
        email = esc(email),
        actions = actions("Sign in"),
        link = esc(sign_up_link),
    );
    page("Sign in", &body)
}

/// What the sign-up form shows back after an error (never the password).
#[derive(Default)]
pub(crate) struct SignUpValues<'a> {
    pub email: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
}

/// The sign-up screen: email, password, first and last name.
pub(crate) fn sign_up(
    req: &AuthorizeRequest,
    values: &SignUpValues<'_>,
    message: Option<&Message>,
    sign_in_link: &str,
) -> String {
    let body = format!(
        "<h1>Create an account</h1><p class=\"lead\">Sign up with your email address.</p>{msg}\
<form method=\"post\" action=\"{SIGN_UP_PATH}\">{hidden}\
<div class=\"row\"><div><label for=\"first_name\">First name</label>\
<input id=\"first_name\" type=\"text\" name=\"first_name\" value=\"{first}\" autocomplete=\"given-name\"></div>\
<div><label for=\"last_name\">Last name</label>\
<input id=\"last_name\" type=\"text\" name=\"last_name\" value=\"{last}\" autocomplete=\"family-name\"></div></div>\
<label for=\"email\">Email</label>\
<input id=\"email\" type=\"email\" name=\"email\" value=\"{email}\" autocomplete=\"email\" required>\
<label for=\"password\">Password</label>\
<input id=\"password\" type=\"password\" name=\"password\" autocomplete=\"new-password\" minlength=\"8\" required>\
{actions}</form>\
<p class=\"foot\">Already have an account? <a href=\"{link}\">Sign in</a></p>",
        msg = message_html(message),
        hidden = hidden_fields(req, None),
        first = esc(values.first_name),
        last = esc(values.last_name),
        email = esc(values.email),
        actions = actions("Sign up"),
        link = esc(sign_in_link),
    );
    page("Sign up", &body)
}

/// The emailed-code screen.
pub(crate) fn verify_email(
    req: &AuthorizeRequest,
    flow: &str,
    email: &str,
    message: Option<&Message>,
) -> String {
    let hidden = hidden_fields(req, Some(flow));
    let body = format!(
        "<h1>Verify your email</h1><p class=\"lead\">We sent a 6-digit code to <strong>{email}</strong>. \
(In the emulator it lands in the outbox: <code>GET /__emulator/outbox</code>.)</p>{msg}\
<form method=\"post\" action=\"{VERIFY_EMAIL_PATH}\">{hidden}\
<label for=\"code\">Code</label>\
<input id=\"code\" type=\"text\" name=\"code\" inputmode=\"numeric\" autocomplete=\"one-time-code\" \
pattern=\"[0-9]{{6}}\" maxlength=\"6\" required autofocus>\
{actions}</form>\
<form method=\"post\" action=\"{RESEND_PATH}\" class=\"foot\">{hidden}\
<button type=\"submit\" class=\"secondary\">Send a new code</button></form>",
        email = esc(email),
        msg = message_html(message),
        actions = actions("Continue"),
    );
    page("Verify your email", &body)
}

/// The authenticator-app code screen.
pub(crate) fn totp(req: &AuthorizeRequest, flow: &str, message: Option<&Message>) -> String {
    let body = format!(
        "<h1>Two-factor authentication</h1><p class=\"lead\">Enter the 6-digit code from your \
authenticator app.</p>{msg}\
<form method=\"post\" action=\"{TOTP_PATH}\">{hidden}\
<label for=\"code\">Code</label>\
<input id=\"code\" type=\"text\" name=\"code\" inputmode=\"numeric\" autocomplete=\"one-time-code\" \
pattern=\"[0-9]{{6}}\" maxlength=\"6\" required autofocus>\
{actions}</form>",
        msg = message_html(message),
        hidden = hidden_fields(req, Some(flow)),
        actions = actions("Verify"),
    );
    page("Two-factor authentication", &body)
}

/// The organization choice screen: `(id, name)` pairs as radio buttons.
pub(crate) fn choose_organization(
    req: &AuthorizeRequest,
    flow: &str,
    organizations: &[(String, String)],
    message: Option<&Message>,
) -> String {
    let mut choices = String::new();
    for (i, (id, name)) in organizations.iter().enumerate() {
        let _ = write!(
            choices,
            "<label class=\"choice\"><input type=\"radio\" name=\"organization_id\" value=\"{id}\"{checked} required> {name}</label>",
            id = esc(id),
            name = esc(name),
            checked = if i == 0 { " checked" } else { "" },
        );
    }
    // The chosen organization travels in the radio group, not in a hidden field.
    let hidden = hidden_fields(
        &AuthorizeRequest {
            organization_id: None,
            ..req.clone()
        },
        Some(flow),
    );
    let body = format!(
        "<h1>Choose an organization</h1><p class=\"lead\">Your account belongs to several \
organizations. Which one do you want to sign in to?</p>{msg}\
<form method=\"post\" action=\"{ORGANIZATION_PATH}\">{hidden}{choices}{actions}</form>",
        msg = message_html(message),
        actions = actions("Continue"),
    );
    page("Choose an organization", &body)
}

/// The device verification screen: the code the device shows, then email and password.
pub(crate) fn device_sign_in(user_code: &str, email: &str, message: Option<&Message>) -> String {
    let lead = if user_code.is_empty() {
        "Enter the code your device shows, then sign in to approve it."
    } else {
        "Check that this code matches the one your device shows, then sign in to approve it."
    };
    let body = format!(
        "<h1>Sign in a device</h1><p class=\"lead\">{lead}</p>{msg}\
<form method=\"post\" action=\"{DEVICE_SIGN_IN_PATH}\">\
<label for=\"user_code\">Device code</label>\
<input id=\"user_code\" type=\"text\" name=\"user_code\" value=\"{code}\" autocomplete=\"off\" \
autocapitalize=\"characters\" spellcheck=\"false\" placeholder=\"ABCD-EFGH\" required{focus_code}>\
<label for=\"email\">Email</label>\
<input id=\"email\" type=\"email\" name=\"email\" value=\"{email}\" autocomplete=\"username\" required{focus_email}>\
<label for=\"password\">Password</label>\
<input id=\"password\" type=\"password\" name=\"password\" autocomplete=\"current-password\" required>\
<div class=\"actions\"><button type=\"submit\">Continue</button></div></form>",
        msg = message_html(message),
        code = esc(user_code),
        email = esc(email),
        focus_code = if user_code.is_empty() {
            " autofocus"
        } else {
            ""
        },
        focus_email = if user_code.is_empty() {
            ""
        } else {
            " autofocus"
        },
    );
    page("Sign in a device", &body)
}

/// The approval screen of a device sign-in: approve or deny.
pub(crate) fn device_confirm(
    flow: &str,
    user_code: &str,
    email: &str,
    organization: Option<&str>,
) -> String {
    let scope = organization
        .map(|name| format!(" in <strong>{}</strong>", esc(name)))
        .unwrap_or_default();
    let body = format!(
        "<h1>Approve this device?</h1><p class=\"lead\">A device showing the code \
<strong>{code}</strong> asks to sign in as <strong>{email}</strong>{scope}. Approve only if you \
started this sign-in yourself.</p>\
<form method=\"post\" action=\"{DEVICE_DECIDE_PATH}\">\
<input type=\"hidden\" name=\"flow\" value=\"{flow}\">\
<div class=\"actions\"><button type=\"submit\" name=\"decision\" value=\"approve\">Approve</button>\
<button type=\"submit\" name=\"decision\" value=\"deny\" class=\"secondary\">Deny</button></div></form>",
        code = esc(user_code),
        email = esc(email),
        flow = esc(flow),
    );
    page("Approve this device?", &body)
}

/// The last screen of a device sign-in.
pub(crate) fn device_done(approved: bool) -> String {
    let (title, text) = if approved {
        (
            "Device approved",
            "The device is signed in. You can close this window and go back to it.",
        )
    } else {
        (
            "Device denied",
            "The device was not signed in. You can close this window.",
        )
    };
    let body = format!(
        "<h1>{}</h1><p class=\"msg info\">{}</p>",
        esc(title),
        esc(text)
    );
    page(title, &body)
}

/// An error page, with a link to start over when one can be built.
pub(crate) fn error_page(title: &str, message: &str, restart: Option<&str>) -> String {
    let restart = restart
        .map(|link| {
            format!(
                "<p class=\"foot\"><a href=\"{}\">Start again</a></p>",
                esc(link)
            )
        })
        .unwrap_or_default();
    let body = format!(
        "<h1>{}</h1><p class=\"msg error\" role=\"alert\">{}</p>{restart}",
        esc(title),
        esc(message)
    );
    page(title, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_everything_interpolated() {
        assert_eq!(
            esc("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        let html = error_page("Oops", "<script>alert(1)</script>", Some("/x?a=1&b=\"2\""));
        assert!(!html.contains("<script>"));
        assert!(html.contains("href=\"/x?a=1&amp;b=&quot;2&quot;\""));
        assert!(html.contains("<title>Oops — WorkOS emulator</title>"));
    }
}
