//! Data migrations on the local stack: the audit-target backfill finds entries written before
//! the index existed, runs in resumable pages, changes nothing on a dry run, and is idempotent.

use aws_sdk_dynamodb::types::AttributeValue;
use http::{Method, StatusCode};
use serde_json::json;
use shared::auth::Role;
use shared::store::{Migrations, Table};
use stockroom_tests::TestApp;

/// Removes the GSI3 keys from every audit entry, as entries written before the index existed.
async fn forget_target_index(app: &TestApp) -> usize {
    let db = &app.clients.dynamodb;
    let table = &app.config.table_name;
    let items = db
        .scan()
        .table_name(table)
        .filter_expression("attribute_exists(GSI3PK)")
        .send()
        .await
        .unwrap()
        .items
        .unwrap_or_default();
    for item in &items {
        db.update_item()
            .table_name(table)
            .key("PK", item["PK"].clone())
            .key("SK", item["SK"].clone())
            .update_expression("REMOVE GSI3PK, GSI3SK")
            .send()
            .await
            .unwrap();
    }
    items.len()
}

/// The actions of the audit entries in `email`'s export.
async fn exported_actions(app: &TestApp, access: &str) -> Vec<String> {
    let export = app
        .call_with_token(Method::GET, "/v1/auth/me/export", access, None)
        .await;
    assert_eq!(export.status, StatusCode::OK, "{}", export.text);
    export.body["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_audit_target_backfill_resumes_in_pages_is_dry_run_safe_and_idempotent() {
    let app = TestApp::spawn().await;
    let email = format!("old-{}@example.com", uuid::Uuid::new_v4().simple());
    let tokens = app.register_and_login(&email).await;
    let access = tokens.body["access_token"].as_str().unwrap().to_owned();
    let id = app.account_id_of(&access).await;
    // Admin actions on the account: entries by someone else, about it.
    for permission in ["read_stock", "move_stock", "read_personas"] {
        let r = app
            .send_json(
                Method::PUT,
                &format!("/v1/users/{id}/grants/{permission}"),
                Role::Admin,
                &json!({}),
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    let legacy = forget_target_index(&app).await;
    assert!(legacy >= 3, "{legacy}");
    assert!(
        !exported_actions(&app, &access)
            .await
            .contains(&"user.grant_added".to_owned()),
        "without the index the export misses what others did to the account"
    );
    let migrations = Migrations::new(Table::new(
        app.clients.dynamodb.clone(),
        app.config.table_name.as_str(),
    ));
    let name = "audit-target-index";
    let dry = migrations.run(name, true, 4, None).await.unwrap();
    assert_eq!((dry.changed as usize, dry.done), (legacy, true));
    assert!(
        !exported_actions(&app, &access)
            .await
            .contains(&"user.grant_added".to_owned()),
        "a dry run writes nothing"
    );
    // One small page, as a run cut short would leave it; then the rest, from where it was.
    let first = migrations.run(name, false, 2, Some(1)).await.unwrap();
    assert!(!first.done, "{first:?}");
    let rest = migrations.run(name, false, 2, None).await.unwrap();
    assert!(rest.done, "{rest:?}");
    assert_eq!(first.changed + rest.changed, legacy as u64);
    assert_eq!(rest.changed_in_all, legacy as u64);
    let grants = exported_actions(&app, &access)
        .await
        .iter()
        .filter(|a| *a == "user.grant_added")
        .count();
    assert_eq!(grants, 3);
    // Done is done: running again reads nothing and changes nothing.
    let again = migrations.run(name, false, 2, None).await.unwrap();
    assert_eq!((again.scanned, again.changed, again.done), (0, 0, true));
    assert!(matches!(
        migrations.run("no-such-migration", false, 2, None).await,
        Err(shared::store::StoreError::NotFound)
    ));
    let progress = app
        .clients
        .dynamodb
        .get_item()
        .table_name(&app.config.table_name)
        .key("PK", AttributeValue::S(format!("MIGRATION#{name}")))
        .key("SK", AttributeValue::S("MIGRATION".into()))
        .send()
        .await
        .unwrap()
        .item
        .expect("progress is recorded in the table");
    assert_eq!(progress["done"], AttributeValue::Bool(true));
}
