use http::{Method, StatusCode};
use serde_json::json;
use shared::auth::Role;
use stockroom_tests::TestApp;

#[tokio::test]
async fn warehouses_are_created_listed_and_changed_with_if_match() {
    let app = TestApp::spawn().await;
    let id = app.create_warehouse("blr-1").await;
    let dup = app
        .send_json(
            Method::POST,
            "/v1/warehouses",
            Role::Manager,
            &json!({"code": "BLR-1", "name": "Again"}),
            &[],
        )
        .await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    let bad = app
        .send_json(
            Method::POST,
            "/v1/warehouses",
            Role::Manager,
            &json!({"code": "x", "name": ""}),
            &[],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.body["errors"].as_array().unwrap().len(), 2);

    let read = app.get(&format!("/v1/warehouses/{id}"), Role::Staff).await;
    assert_eq!(read.body["code"], "BLR-1");
    assert!(read.body["active"].as_bool().unwrap());
    let path = format!("/v1/warehouses/{id}");
    let missing = app
        .send_json(
            Method::PATCH,
            &path,
            Role::Manager,
            &json!({"name": "Bengaluru"}),
            &[],
        )
        .await;
    assert_eq!(missing.status, StatusCode::PRECONDITION_REQUIRED);
    let ok = app
        .send_json(
            Method::PATCH,
            &path,
            Role::Manager,
            &json!({"name": "Bengaluru"}),
            &[("if-match", &read.etag())],
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    let stale = app
        .send_json(
            Method::PATCH,
            &path,
            Role::Manager,
            &json!({"name": "Old"}),
            &[("if-match", &read.etag())],
        )
        .await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    let code = app
        .send_json(
            Method::PATCH,
            &path,
            Role::Manager,
            &json!({"code": "NEW"}),
            &[("if-match", "*")],
        )
        .await;
    assert_eq!(
        code.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "codes cannot change"
    );

    app.create_warehouse("DEL-1").await;
    let list = app.get("/v1/warehouses?limit=1", Role::Staff).await;
    assert_eq!(list.body["items"][0]["name"], "Bengaluru");
    assert!(list.body["next_cursor"].is_string());
}

#[tokio::test]
async fn stock_roles_follow_the_matrix() {
    let app = TestApp::spawn().await;
    let id = app.create_warehouse("BLR-1").await;
    for role in Role::ALL {
        let read = app.get("/v1/warehouses", role).await.status;
        let levels = app
            .get(&format!("/v1/stock?warehouse_id={id}"), role)
            .await
            .status;
        let ledger = app
            .get(&format!("/v1/stock/movements?warehouse_id={id}"), role)
            .await
            .status;
        let create = app
            .send_json(
                Method::POST,
                "/v1/warehouses",
                role,
                &json!({"code": format!("W-{}", role.as_str()), "name": "W"}),
                &[],
            )
            .await
            .status;
        let movement = app
            .send_json(
                Method::POST,
                "/v1/stock/movements",
                role,
                &json!({"type": "count", "product_id": "x", "warehouse_id": id, "counted": 1}),
                &[("idempotency-key", role.as_str())],
            )
            .await
            .status;
        let reads_stock = role != Role::Customer;
        let manages = matches!(role, Role::Admin | Role::Manager);
        for (status, allowed) in [
            (read, reads_stock),
            (levels, reads_stock),
            (ledger, reads_stock),
            (create, manages),
            (movement, reads_stock),
        ] {
            assert_eq!(
                status == StatusCode::FORBIDDEN,
                !allowed,
                "{role:?}: {status}"
            );
        }
    }
}

#[tokio::test]
async fn a_warehouse_patched_with_a_null_active_flag_is_refused() {
    let app = TestApp::spawn().await;
    let id = app.create_warehouse("NUL-1").await;
    for body in [json!({"active": null}), json!({"name": null})] {
        let r = app
            .send_json(
                Method::PATCH,
                &format!("/v1/warehouses/{id}"),
                Role::Manager,
                &body,
                &[("if-match", "*")],
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            r.text
        );
    }
    let created = app
        .send_json(
            Method::POST,
            "/v1/warehouses",
            Role::Manager,
            &json!({"code": "NUL-2", "name": "Null", "active": null}),
            &[],
        )
        .await;
    assert_eq!(
        created.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        created.text
    );
    let read = app.get(&format!("/v1/warehouses/{id}"), Role::Staff).await;
    assert_eq!(read.body["active"], true);
}
