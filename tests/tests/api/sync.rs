//! Delta sync for offline apps: a client that applies what `GET /v1/sync` tells it ends up
//! with the server's state, tombstones included, and a retried call is answered the same.

use std::collections::BTreeMap;

use base64::Engine;
use http::{Method, StatusCode};
use serde_json::{Value, json};
use shared::auth::Role;
use stockroom_tests::{TestApp, product_body};

use crate::orders_support::{order, pay, shop};

/// The app's local copy: `(type, id)` → the thing as last told.
type Local = BTreeMap<(String, String), Value>;

async fn call(app: &TestApp, token: Option<&str>, since: Option<&str>, limit: usize) -> Value {
    let path = match since {
        Some(c) => format!("/v1/sync?since={c}&limit={limit}"),
        None => format!("/v1/sync?limit={limit}"),
    };
    let r = match token {
        Some(t) => app.call_with_token(Method::GET, &path, t, None).await,
        None => app.get_from("198.51.100.99", &path, &[]).await,
    };
    assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
    r.body
}

/// The client algorithm of the README: apply each page, follow `cursor` while `more`.
async fn sync(
    app: &TestApp,
    token: Option<&str>,
    local: &mut Local,
    since: Option<String>,
) -> (String, Vec<Value>) {
    let mut since = since;
    let mut told = Vec::new();
    loop {
        let page = call(app, token, since.as_deref(), 3).await;
        for change in page["changes"].as_array().unwrap() {
            let key = (
                change["type"].as_str().unwrap().to_owned(),
                change["id"].as_str().unwrap().to_owned(),
            );
            if change["deleted"] == true {
                local.remove(&key);
            } else {
                local.insert(key, change["data"].clone());
            }
            told.push(change.clone());
        }
        since = Some(page["cursor"].as_str().unwrap().to_owned());
        if page["more"] == false {
            return (since.unwrap(), told);
        }
    }
}

/// Images carry download links signed afresh on every read: compare everything else.
fn comparable(local: &Local) -> Local {
    local
        .iter()
        .map(|(k, v)| {
            let mut v = v.clone();
            if let Some(o) = v.as_object_mut() {
                o.remove("images");
            }
            (k.clone(), v)
        })
        .collect()
}

#[tokio::test]
async fn a_sync_loop_converges_to_the_server_state_after_offline_changes_with_tombstones() {
    let app = TestApp::spawn().await;
    let shop = shop(&app).await;
    let placed = order(&app, &shop).await;
    let token = app.token(Role::Customer);

    let mut local = Local::new();
    let (cursor, _) = sync(&app, Some(&token), &mut local, None).await;
    let kinds: Vec<&str> = local.keys().map(|(t, _)| t.as_str()).collect();
    assert_eq!(kinds, ["order", "product", "product"]);
    assert_eq!(
        local[&("product".into(), shop.p1.clone())]["in_stock"],
        true
    );
    assert!(
        local[&("product".into(), shop.p1.clone())]
            .get("reorder_level")
            .is_none(),
        "the customer view"
    );

    // While the app is offline: a product renamed, one archived, a new one without stock
    // that then arrives, and the order paid (its shipment made).
    let r = app
        .patch_product(&shop.p1, "\"1\"", &json!({"name": "Renamed"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = app.archive_product(&shop.p2).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let p3 = app.create_product(&product_body(3)).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.move_stock(
        &json!({"type": "receive", "product_id": p3, "warehouse_id": shop.w, "quantity": 5}),
    )
    .await;
    pay(&app, &placed).await;
    // Changes younger than a few seconds wait for the next call (commits in flight).
    tokio::time::sleep(std::time::Duration::from_millis(5_500)).await;

    let (next, told) = sync(&app, Some(&token), &mut local, Some(cursor.clone())).await;
    assert!(
        told.iter()
            .any(|c| c["id"] == shop.p2.as_str() && c["deleted"] == true),
        "the archived product is a tombstone: {told:?}"
    );
    assert_eq!(
        local[&("product".into(), shop.p1.clone())]["name"],
        "Renamed"
    );
    assert_eq!(local[&("product".into(), p3.clone())]["in_stock"], true);
    assert_eq!(
        local[&("order".into(), placed["id"].as_str().unwrap().to_owned())]["status"],
        "paid"
    );
    assert_eq!(
        local.keys().filter(|(t, _)| t == "shipment").count(),
        1,
        "the paid order's shipment"
    );

    // The same as syncing from nothing now.
    let mut fresh = Local::new();
    sync(&app, Some(&token), &mut fresh, None).await;
    assert_eq!(comparable(&local), comparable(&fresh));

    // A retried call with the same cursor is answered the same; the latest cursor has nothing new.
    let again = call(&app, Some(&token), Some(&cursor), 3).await;
    let first = call(&app, Some(&token), Some(&cursor), 3).await;
    let ids = |page: &Value| {
        page["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&again), ids(&first));
    assert_eq!(again["cursor"], first["cursor"]);
    let done = call(&app, Some(&token), Some(&next), 3).await;
    assert_eq!(done["changes"], json!([]));
    assert_eq!(done["more"], false);
    assert_eq!(done["cursor"], next.as_str());
}

#[tokio::test]
async fn anonymous_sync_tells_the_catalogue_only_and_cursors_stay_with_their_reader() {
    let app = TestApp::spawn().await;
    let shop = shop(&app).await;
    order(&app, &shop).await;
    let mut local = Local::new();
    let (cursor, _) = sync(&app, None, &mut local, None).await;
    assert!(local.keys().all(|(t, _)| t == "product"), "{local:?}");
    assert_eq!(local.len(), 2);
    // An anonymous cursor is not a customer's, and the other way round.
    let r = app
        .call_with_token(
            Method::GET,
            &format!("/v1/sync?since={cursor}"),
            &app.token(Role::Customer),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    for bad in ["nope", "e30", &"A".repeat(3000)] {
        let r = app
            .get_from("198.51.100.99", &format!("/v1/sync?since={bad}"), &[])
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}: {}",
            r.text
        );
    }
}

#[tokio::test]
async fn a_cursor_older_than_the_kept_changes_is_gone_and_says_to_start_over() {
    let app = TestApp::spawn().await;
    let old = shared::domain::notification::first_id_at(
        time::OffsetDateTime::now_utc() - time::Duration::days(8),
    );
    let cursor = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(json!({"s": "changes", "a": old.to_string()}).to_string());
    let r = app
        .get_from("198.51.100.99", &format!("/v1/sync?since={cursor}"), &[])
        .await;
    assert_eq!(r.status, StatusCode::GONE, "{}", r.text);
    assert_eq!(r.header("content-type"), Some("application/problem+json"));
}
