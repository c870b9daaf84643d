//! JWT templates: the custom claims WorkOS adds to every access token, written as JSON with
//! Liquid output tags (`{"tier": "{{user.metadata.tier}}"}`).
//!
//! The emulator renders `{{ path }}` tags, where the path starts at `user` (the spec's `User`:
//! `id`, `email`, `first_name`, `metadata.<key>`, ...) or `organization` (the session's
//! organization: `id`, `name`, `external_id`, `metadata.<key>`, ...; empty without one). A tag
//! inside a JSON string adds the value's text (nothing for a missing value); a tag outside a
//! string adds the value as JSON (`null` when missing). Liquid filters and `{% %}` tags are not
//! emulated: a template using them is refused. The rendered template must be a JSON object,
//! and it may not set the claims WorkOS sets itself (`sub`, `sid`, `org_id`, `permissions`, ...).

use serde_json::{Map, Value, json};

/// Claims a template may not set: WorkOS sets them.
const RESERVED: &[&str] = &[
    "iss",
    "sub",
    "sid",
    "jti",
    "iat",
    "exp",
    "nbf",
    "auth_time",
    "org_id",
    "role",
    "roles",
    "permissions",
    "entitlements",
    "feature_flags",
    "act",
];

/// Checks a template: supported tags only, and it renders (for a user without names or
/// metadata, outside an organization) to a JSON object without reserved claims.
pub(crate) fn check(content: &str) -> Result<(), String> {
    let sample = json!({
        "user": {
            "object": "user", "id": "user_sample", "email": "sample@example.com",
            "email_verified": true, "first_name": null, "last_name": null,
            "profile_picture_url": null, "external_id": null, "metadata": {}, "locale": null,
            "last_sign_in_at": null, "created_at": "2026-01-15T12:00:00.000Z",
            "updated_at": "2026-01-15T12:00:00.000Z",
        },
        "organization": null,
    });
    render(content, &sample).map(|_| ())
}

/// Renders the template for `context` (`{"user": .., "organization": ..}`): the claims to add.
pub(crate) fn render(content: &str, context: &Value) -> Result<Map<String, Value>, String> {
    let mut out = String::with_capacity(content.len());
    let mut in_string = false;
    let mut escaped = false;
    let mut rest = content;
    while let Some(c) = rest.chars().next() {
        if rest.starts_with("{%") {
            return Err(
                "`{% %}` tags are not supported by the emulator; use `{{ path }}` output tags"
                    .into(),
            );
        }
        if let Some(after) = rest.strip_prefix("{{") {
            let end = after
                .find("}}")
                .ok_or_else(|| "a `{{` tag is not closed with `}}`".to_owned())?;
            let expression = after[..end].trim();
            let value = lookup(expression, context)?;
            if in_string {
                let text = match value {
                    Value::Null => String::new(),
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                let quoted = Value::String(text).to_string();
                out.push_str(&quoted[1..quoted.len() - 1]);
            } else {
                out.push_str(&value.to_string());
            }
            rest = &after[end + 2..];
            continue;
        }
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    let claims: Value = serde_json::from_str(&out)
        .map_err(|e| format!("the rendered template is not valid JSON: {e}"))?;
    let Value::Object(claims) = claims else {
        return Err("the template must be a JSON object of claims".into());
    };
    if let Some(reserved) = claims.keys().find(|k| RESERVED.contains(&k.as_str())) {
        return Err(format!(
            "the template sets `{reserved}`, a claim WorkOS sets itself"
        ));
    }
    Ok(claims)
}

/// The value at a dotted path like `user.metadata.tier`; a missing one is `null`.
fn lookup(expression: &str, context: &Value) -> Result<Value, String> {
    if expression.contains('|') {
        return Err(format!(
            "`{{{{ {expression} }}}}`: Liquid filters are not supported by the emulator"
        ));
    }
    let mut parts = expression.split('.');
    let root = parts.next().unwrap_or_default();
    if !matches!(root, "user" | "organization") {
        return Err(format!(
            "`{{{{ {expression} }}}}`: a path starts with `user` or `organization`"
        ));
    }
    let mut value = context.get(root).unwrap_or(&Value::Null);
    for part in parts {
        if part.is_empty()
            || !part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(format!("`{{{{ {expression} }}}}` is not a path"));
        }
        value = value.get(part).unwrap_or(&Value::Null);
    }
    Ok(value.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_render_as_text_in_strings_and_as_json_outside() {
        let context = json!({
            "user": { "first_name": "Ada", "last_name": "Lo\"ve", "metadata": { "tier": "pro" } },
            "organization": null,
        });
        let claims = render(
            r#"{"name": "{{user.first_name}} {{ user.last_name }}", "meta": {{user.metadata}}, "org": "{{organization.name}}", "missing": {{user.nope}}}"#,
            &context,
        )
        .unwrap();
        assert_eq!(claims["name"], "Ada Lo\"ve");
        assert_eq!(claims["meta"], json!({ "tier": "pro" }));
        assert_eq!(claims["org"], "");
        assert_eq!(claims["missing"], Value::Null);
    }

    #[test]
    fn unsupported_or_unsafe_templates_are_refused() {
        for (template, expected) in [
            (r#"{"a": "{% if user %}x{% endif %}"}"#, "{% %}"),
            (r#"{"a": "{{ user.email | upcase }}"}"#, "filters"),
            (r#"{"a": "{{ session.id }}"}"#, "starts with"),
            (r#"{"sub": "x"}"#, "`sub`"),
            (r#"["x"]"#, "JSON object"),
            (r#"{"a": {{user.email}"#, "not closed"),
            ("not json", "not valid JSON"),
        ] {
            let err = check(template).unwrap_err();
            assert!(err.contains(expected), "{template}: {err}");
        }
        assert!(check(r#"{"aud": "my-api", "email": "{{user.email}}"}"#).is_ok());
    }
}
