use http::StatusCode;
use serde_json::json;
use shared::auth::SigningKey;
use shared::config::{Config, SigningKeySource};
use stockroom_tests::{STRONG_PASSWORD, TestApp};

fn config_with(app: &TestApp, source: SigningKeySource, jwks: &str) -> Config {
    let mut config = app.config.clone();
    config.jwks = shared::auth::Jwks::parse(jwks).unwrap();
    config.signing_key = Some(source);
    config
}

#[tokio::test]
async fn the_auth_function_loads_its_key_from_secrets_manager_and_checks_it_is_published() {
    let app = TestApp::spawn().await;
    let key = SigningKey::generate("prod-1").unwrap();
    let arn = app.secret(&key.to_secret_json()).await;
    let published = json!({"keys": [key.public_jwk().unwrap()]}).to_string();

    let config = config_with(
        &app,
        SigningKeySource::SecretsManager { arn: arn.clone() },
        &published,
    );
    let loaded = shared::lambda::load_signing_key(&config, &app.clients)
        .await
        .unwrap();
    assert_eq!(loaded.kid(), "prod-1");
    assert_eq!(loaded.pkcs8(), key.pkcs8());

    // A key the JWKS does not publish would issue tokens nobody can verify: refuse to start.
    let other = SigningKey::generate("other").unwrap();
    let unpublished = json!({"keys": [other.public_jwk().unwrap()]}).to_string();
    let config = config_with(&app, SigningKeySource::SecretsManager { arn }, &unpublished);
    let err = shared::lambda::load_signing_key(&config, &app.clients)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("does not publish the signing key 'prod-1'"),
        "{err}"
    );

    let missing = config_with(
        &app,
        SigningKeySource::SecretsManager {
            arn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:nope".into(),
        },
        &published,
    );
    assert!(
        shared::lambda::load_signing_key(&missing, &app.clients)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_password_hashed_with_old_parameters_is_rehashed_at_sign_in() {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let app = TestApp::spawn().await;
    app.register_and_login("old@example.com").await;
    let weak = argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        argon2::Params::new(8192, 1, 1, None).unwrap(),
    );
    let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
    let old = weak
        .hash_password(STRONG_PASSWORD.as_bytes(), &salt)
        .unwrap()
        .to_string();
    let table =
        shared::store::Table::new(app.clients.dynamodb.clone(), app.config.table_name.as_str());
    let accounts = shared::store::AccountStore::new(table);
    let account = accounts
        .find_by_email(&shared::domain::Email::parse("old@example.com").unwrap())
        .await
        .unwrap()
        .unwrap();
    let legacy = account.changed(time::OffsetDateTime::now_utc(), |a| {
        a.password_hash = old.clone()
    });
    accounts.replace(&account, &legacy, None).await.unwrap();

    assert_eq!(
        app.login("old@example.com", STRONG_PASSWORD).await.status,
        StatusCode::OK
    );
    let upgraded = accounts.get(&account.id).await.unwrap();
    assert!(
        upgraded
            .password_hash
            .starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{}",
        upgraded.password_hash
    );
    assert_eq!(
        app.login("old@example.com", STRONG_PASSWORD).await.status,
        StatusCode::OK
    );
}
