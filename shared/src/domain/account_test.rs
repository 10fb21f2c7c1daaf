//! Unit tests of `account`.

use super::*;

#[test]
fn emails_are_normalised() {
    assert_eq!(
        Email::parse("  Asha.Rao@Example.COM ").unwrap().as_str(),
        "asha.rao@example.com"
    );
}

#[test]
fn malformed_emails_are_named() {
    for bad in [
        "",
        "asha",
        "asha@",
        "@example.com",
        "asha@example",
        "a b@example.com",
        "asha@@example.com",
        "asha@example..com",
    ] {
        assert!(Email::parse(bad).is_err(), "{bad}");
    }
    assert_eq!(
        Email::parse("asha").unwrap_err(),
        "'asha' is not an e-mail address"
    );
}

#[test]
fn the_view_hides_hashes_and_secrets() {
    let mut a = Account::register(
        Email::parse("a@example.com").unwrap(),
        "A".into(),
        "$argon2id$secret".into(),
        OffsetDateTime::now_utc(),
    );
    a.two_factor.secret = Some("JBSWY3DPEHPK3PXP".into());
    let json = serde_json::to_string(&a.view()).unwrap();
    assert!(
        !json.contains("argon2") && !json.contains("JBSWY3"),
        "{json}"
    );
    assert!(json.contains("\"two_factor_enabled\":true"));
}

#[test]
fn only_enabled_admins_count_as_admins() {
    let now = OffsetDateTime::now_utc();
    let a = Account::register(
        Email::parse("a@example.com").unwrap(),
        "A".into(),
        "h".into(),
        now,
    );
    assert!(!a.is_active_admin());
    let admin = a.changed(now, |a| a.role = Role::Admin);
    assert!(admin.is_active_admin());
    assert_eq!(admin.version, 2);
    assert!(!admin.changed(now, |a| a.disabled = true).is_active_admin());
}
