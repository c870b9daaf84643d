//! Setting the emulator up: seed users, a custom signing key.

use authkit_axum::Error;
use authkit_axum::user_management::AuthenticateWithPassword;
use authkit_emulator::{Emulator, SeedUser, SigningKey};

use crate::support;
use crate::support::EmulatorExt as _;

/// A second RSA key and certificate, for tests only (NOT SECRET).
const TEST_KEY_PEM: &str = r"-----BEGIN PRIVATE KEY-----
MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQDEbEfLJ2YEA9Qz
bVPCcHvIYVgc/Ovn4XHo6+u6c0jRw1ybfgCiEcZrM2lWS+u1zK+2Q9WjhiQctw5T
6NcbmkBpnduRAPv4cnPKZhPZBxstkrUr2LRkVROQdYauKGGH8agbFv1eXRYqoeWI
azyPD+NSu3mW2sagWNgi069/82P0FLN4MBQHW/supNXk5Gjf8NGFpWePwJ8xFStU
HicuSBsKoJ4UKpbUkD4YT+zMLVLspK9x3fKGbiL9u9lme/3r7ZZiJf6wJlNcGNab
Gj6XtCaATbngbaTjVp5QWYK60tulTq6R9MRkpefGJ5sQz2dPD70MkRgjEeMUGyq/
FLhrJx/3AgMBAAECggEAAvPiaRDjYohmM7cJ18tAvm8217S2R8rmn0rl78G/j1EB
qYq4MAzWr+eFcVknJsP4GOQl0tVM4gD0c67KhlfdblkDoxyMgnHCANcOUahe2w1b
W4M17v4tEvJZVHE3Sh0IBbmPlHq6FGj7nindLq9dSkdBhCgvbTCjYHP7LZAMlBox
cMMhayKmZrJczfBHafunUuXhICo+NFJPBj11c7n/1zUbt2RbIz55jstHR1a5dXl0
Px2ArSSDXXgbu1XUqqS/czDDN6lGVR1ycuDjggcsutCCxq90cpO6y4tIlXfsoQi0
skKfzLONfAkKTxWh5maLx8OMOJ6/CfIi6WZhMn+IkQKBgQD8CchpgqH+yrdH2joy
0cLzXlUiqDaK/5cFbNQcBAtYG9vzRwmImOEE5tDbhZM4ZXUZlasIO/3Ko0cdlV1z
qBCtWbciEQhtteEke6pnN9vDoXEVp339Y9dQEITqGsVzA2sntw2JSAcSBDxNUiQ+
LHLIiZrkmm1O8q8GOK/kcVL9ZwKBgQDHgrLNvwvJisBA1HarGFbYVjUx4VZFl5y4
lCPhtp1d1r612FPOXpsMsDfOHcK8oCePIRUK844Nm0DXKNjmCzGOJKid4vDbdP02
QsapiB5Zmu8cZb6M8PbfOGd3pRL4YtSRj62+g3l/YFZcZOdzce0Sv1YBQGlroUTE
t0HlSbee8QKBgGBNGJ+AA4fISymQL6aVUYkN5Te90EFiEYFIKO+fd/otgug8n17r
Eyd9ThZivnLRCWJCNryJt5pCsvyRwshbUiv6WKgSnAbXdPQssFqKFFV2jS/59IDq
Mi3scezFV+ZvSvU801Y+CD2REr10glajQyRut5lbjCKbRdb5t/NwfYZHAoGBAK1m
awFnilcgwPeXsYwDG3frdVBlCRZzL0M9ffIvRZbJjfd+jVhP4XKltdrvAtHuYHOF
zUQ3ar9osHJQjjNihy+DrQmMtMoIZAtE/mVaaQZ4IloMFBFrXSWlYEgcsOAxBY99
0QREQNT0ZhrnmEI+Qk6I/bcYxIdHIv3WSO9/opgBAoGBAPdhli+NZAxxMVp1cPhV
60lImpKNEBF3QYePTfQcbyclUHeyHeG6vDzCvIH9Z6z0F9O/xBnOET8jy7DAZWZE
UKlxp0RPf0zOmTc8bz3Kyi/egIRYqY2mL4hJCkBLdjSAthonPpLj5Ozf/Sg3402i
nPkiSKsUuc9glf45MsLNsTbg
-----END PRIVATE KEY-----";
const TEST_CERT_PEM: &str = r"-----BEGIN CERTIFICATE-----
MIIDPTCCAiWgAwIBAgIUE4Xji5aojMf/OE+3CbN4dXCB0sEwDQYJKoZIhvcNAQEL
BQAwLTErMCkGA1UEAwwiYXV0aGtpdC1heHVtIHRlc3Qga2V5IC0gTk9UIFNFQ1JF
VDAgFw0yNjExMjkxNDQ3MDJaGA8yMTI2MTEwNTE0NDcwMlowLTErMCkGA1UEAwwi
YXV0aGtpdC1heHVtIHRlc3Qga2V5IC0gTk9UIFNFQ1JFVDCCASIwDQYJKoZIhvcN
AQEBBQADggEPADCCAQoCggEBAMRsR8snZgQD1DNtU8Jwe8hhWBz86+fhcejr67pz
SNHDXJt+AKIRxmszaVZL67XMr7ZD1aOGJBy3DlPo1xuaQGmd25EA+/hyc8pmE9kH
Gy2StSvYtGRVE5B1hq4oYYfxqBsW/V5dFiqh5YhrPI8P41K7eZbaxqBY2CLTr3/z
Y/QUs3gwFAdb+y6k1eTkaN/w0YWlZ4/AnzEVK1QeJy5IGwqgnhQqltSQPhhP7Mwt
Uuykr3Hd8oZuIv272WZ7/evtlmIl/rAmU1wY1psaPpe0JoBNueBtpONWnlBZgrrS
26VOrpH0xGSl58YnmxDPZ08PvQyRGCMR4xQbKr8UuGsnH/cCAwEAAaNTMFEwHQYD
VR0OBBYEFBNWva/HxJMPnUaIAfa465aKT9rKMB8GA1UdIwQYMBaAFBNWva/HxJMP
nUaIAfa465aKT9rKMA8GA1UdEwEB/wQFMAMBAf8wDQYJKoZIhvcNAQELBQADggEB
AHqvKSkr5CGcvPfIOytbmxPQVSRcVBuo433B1n6MqOArom4G5axvF3YwPjnhko7r
FR9tSPQFycDxDQD9wwUq1TwRr6OZkqlkqyCWxKnd79ZAZbaMKyL/PCEShCVeQBNW
LhknfbJorwECqG6+QgyWxwZrEy0xXFjJuFtjSMVdQepXjqKLRB6R5IwI8vjDf4U5
Lp6fMU4uu9rbdymBXdrct5DQ5sSbkAedDhBOvuOVssrqF+AXwY+erJeatMumajuT
ffLvMNflYmemgxIoqFRRNFzbZbmc1fKm7Oh1+jq2caA70f7wW4Aei41oJWsW9nZO
dfdBAO941Y9k4VVxjNdlpGY=
-----END CERTIFICATE-----";

const PASSWORD: &str = "password123!";

#[tokio::test]
async fn seed_users_sign_in_with_their_step_ups() {
    let emulator = Emulator::builder()
        .seed_user(
            SeedUser::new("plain@example.com")
                .password(PASSWORD)
                .name("Plain", "User"),
        )
        .seed_user(
            SeedUser::new("totp@example.com")
                .password(PASSWORD)
                .totp_secret("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"),
        )
        .seed_user(
            SeedUser::new("orgs@example.com")
                .password(PASSWORD)
                .organization("Acme", "admin")
                .organization("Globex", "member"),
        )
        .seed_user(
            SeedUser::new("new@example.com")
                .password(PASSWORD)
                .unverified(),
        )
        .start()
        .await
        .unwrap();
    let um = emulator.client().user_management();
    let sign_in = |email: &str| AuthenticateWithPassword::new(email, PASSWORD);

    let plain = um
        .authenticate_with_password(sign_in("plain@example.com"))
        .await
        .unwrap();
    assert_eq!(plain.user.display_name(), "Plain User");
    assert!(plain.user.email_verified);

    let err = um
        .authenticate_with_password(sign_in("totp@example.com"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::MfaChallenge(_)), "{err}");

    let Error::OrganizationSelectionRequired(step) = um
        .authenticate_with_password(sign_in("orgs@example.com"))
        .await
        .unwrap_err()
    else {
        panic!("expected an organization choice");
    };
    let mut names: Vec<_> = step.organizations.iter().map(|o| o.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["Acme", "Globex"]);

    let err = um
        .authenticate_with_password(sign_in("new@example.com"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::EmailVerificationRequired(_)), "{err}");
    support::assert_contract(&emulator);
}

#[tokio::test]
async fn seeding_a_user_twice_or_a_bad_secret_is_refused() {
    let twice = Emulator::builder()
        .seed_user(SeedUser::new("a@example.com"))
        .seed_user(SeedUser::new("A@example.com"))
        .start()
        .await
        .unwrap_err();
    assert!(twice.to_string().contains("listed twice"), "{twice}");
    let bad = Emulator::builder()
        .seed_user(SeedUser::new("a@example.com").totp_secret("not base32!"))
        .start()
        .await
        .unwrap_err();
    assert!(bad.to_string().contains("base32"), "{bad}");
}

#[tokio::test]
async fn a_custom_signing_key_signs_the_tokens_and_fills_the_jwks() {
    let key = SigningKey::from_pem(TEST_KEY_PEM, TEST_CERT_PEM, "test_key_2").unwrap();
    let emulator = Emulator::builder()
        .signing_key(key)
        .seed_user(SeedUser::new("ada@example.com").password(PASSWORD))
        .start()
        .await
        .unwrap();
    let um = emulator.client().user_management();
    let auth = um
        .authenticate_with_password(AuthenticateWithPassword::new("ada@example.com", PASSWORD))
        .await
        .unwrap();
    let token = auth.access_token.expose_secret();
    assert_eq!(support::jwt::header(token)["kid"], "test_key_2");

    let jwks = um.get_jwks().await.unwrap();
    let jwk = jwks
        .find("test_key_2")
        .expect("the JWKS publishes the custom key");
    let claims = support::jwt::verify_rs256(token, &jwk.n, &jwk.e).unwrap();
    assert_eq!(claims["sub"], auth.user.id);

    // The development key does not verify it.
    let dev = Emulator::start().await.unwrap();
    let dev_jwks = dev.client().user_management().get_jwks().await.unwrap();
    let dev_key = &dev_jwks.keys[0];
    assert!(support::jwt::verify_rs256(token, &dev_key.n, &dev_key.e).is_err());
    support::assert_contract(&emulator);

    assert!(SigningKey::from_pem(TEST_KEY_PEM, "garbage", "k").is_err());
    assert!(SigningKey::from_pem(TEST_KEY_PEM, TEST_CERT_PEM, "").is_err());
}
