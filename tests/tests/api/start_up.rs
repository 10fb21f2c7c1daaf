//! A function that cannot have what it holds refuses to start, naming the setting at fault.

use shared::config::{PaymentCredentials, PaymentsConfig};
use shared::lambda::{Resource, StartError};
use shared::payments::Payments;
use stockroom_tests::TestApp;

fn with_credentials(app: &TestApp, credentials: PaymentCredentials) -> shared::config::Config {
    let mut config = app.config.clone();
    let base = config
        .payments
        .clone()
        .expect("the test stack takes payments");
    config.payments = Some(PaymentsConfig {
        credentials,
        ..base
    });
    config
}

fn setting(err: StartError) -> &'static str {
    match err {
        StartError::Invalid { setting, .. } => setting,
        other => panic!("expected an invalid setting, got {other}"),
    }
}

#[tokio::test]
async fn payments_refuse_to_start_without_keys_or_with_a_bad_secret_naming_the_setting() {
    let app = TestApp::spawn().await;
    let mut none = app.config.clone();
    none.payments = None;
    let missing = Payments::load(&none, &app.clients).await.unwrap_err();
    assert!(matches!(missing, StartError::Missing { .. }), "{missing}");
    assert!(
        missing.to_string().contains("RAZORPAY_SECRET_ARN"),
        "{missing}"
    );

    let not_json = app.secret("rzp_live_key").await;
    let config = with_credentials(&app, PaymentCredentials::SecretsManager { arn: not_json });
    let err = Payments::load(&config, &app.clients).await.unwrap_err();
    assert_eq!(setting(err), "RAZORPAY_SECRET_ARN");

    let no_webhook_secret = app
        .secret(r#"{"key_id":"k","key_secret":"s","webhook_secrets":[]}"#)
        .await;
    let config = with_credentials(
        &app,
        PaymentCredentials::SecretsManager {
            arn: no_webhook_secret,
        },
    );
    let err = Payments::load(&config, &app.clients).await.unwrap_err();
    assert_eq!(setting(err), "RAZORPAY_SECRET_ARN");

    let blank = with_credentials(
        &app,
        PaymentCredentials::Environment {
            key_id: "k".into(),
            key_secret: "s".into(),
            webhook_secrets: vec![" ".into()],
        },
    );
    let err = Payments::load(&blank, &app.clients).await.unwrap_err();
    assert_eq!(setting(err), "RAZORPAY_WEBHOOK_SECRET");

    let good = app
        .secret(r#"{"key_id":"k","key_secret":"s","webhook_secrets":["w"]}"#)
        .await;
    let config = with_credentials(&app, PaymentCredentials::SecretsManager { arn: good });
    let loaded = Payments::load(&config, &app.clients).await.unwrap();
    assert_eq!(loaded.razorpay.key_id(), "k");
}
