//! The integration tests of `authkit-axum`, one binary with a module per capability (one
//! link instead of one per file). Shared setup lives in [`support`].

mod support;

/// The `login` example, as its users would copy it.
#[cfg(feature = "axum")]
#[path = "../../examples/login.rs"]
#[allow(dead_code)]
mod example;

/// The `device_login` example (a CLI), as its users would copy it.
#[path = "../../examples/device_login.rs"]
#[allow(dead_code)]
mod device_example;

mod actions;
mod anonymous_state;
mod api_key_auth;
mod api_keys;
mod app_settings;
mod authenticate;
mod authorization_url;
mod authorized_applications;
mod bearer_only;
mod browser;
mod callback_security;
mod config;
mod cookies;
mod custom_claims;
mod device_sign_in;
mod devices;
mod email_change;
mod email_verification;
mod emulator_setup;
mod events;
mod example_app;
mod faults;
mod feature_flags;
mod groups;
mod guards;
mod hosted_page;
mod identities;
mod invitations;
mod jwt_template;
mod magic_auth;
mod mfa;
mod organization_memberships;
mod organization_sso;
mod organizations;
mod outbox;
mod password_reset;
mod redaction;
mod refresh;
mod reliability;
mod requester;
mod retries;
mod session_control;
mod sessions;
mod sign_in;
mod sign_in_links;
mod step_up;
mod step_up_attempts;
mod step_up_fixation;
mod stores;
mod test_helpers;
mod tls;
mod tokens;
mod users;
mod webhooks;
mod widget_token_route;
mod widgets;
