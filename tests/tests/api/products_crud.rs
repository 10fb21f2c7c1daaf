use base64::Engine;
use http::{Method, StatusCode};
use serde_json::json;
use shared::auth::Role;
use stockroom_tests::{TestApp, TestResponse, png, product_body};

#[tokio::test]
async fn a_created_product_can_be_read_back_by_id_and_barcode() {
    let app = TestApp::spawn().await;
    let mut body = product_body(1);
    body["barcode"] = json!("4006381333931");
    let created = app.create_product(&body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let id = created.body["id"].as_str().unwrap();
    assert_eq!(
        created.header("location").unwrap(),
        format!("/v1/products/{id}")
    );
    assert_eq!(created.etag(), "\"1\"");
    assert_eq!(created.body["sku"], "SKU-0001");
    assert_eq!(
        created.body["price"],
        json!({"amount_minor": 1001, "currency": "INR"})
    );

    let read = app.get(&format!("/v1/products/{id}"), Role::Staff).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.body, created.body);
    // A customer reads the same product without its purchasing fields.
    let mut public = created.body.clone();
    for field in ["reorder_level", "target_level", "preferred_supplier_id"] {
        public.as_object_mut().unwrap().remove(field);
    }
    let read = app.get(&format!("/v1/products/{id}"), Role::Customer).await;
    assert_eq!(read.body, public);

    let scanned = app
        .get("/v1/products/by-barcode/4006381333931", Role::Staff)
        .await;
    assert_eq!(scanned.status, StatusCode::OK);
    assert_eq!(scanned.body["id"], id);

    let unknown = app
        .get("/v1/products/by-barcode/036000291452", Role::Staff)
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_unknown_or_malformed_product_id_is_not_found() {
    let app = TestApp::spawn().await;
    let missing = app
        .get(
            "/v1/products/0190a0b0-0000-7000-8000-000000000000",
            Role::Manager,
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(
        missing.header("content-type"),
        Some("application/problem+json")
    );
    let malformed = app.get("/v1/products/not-an-id", Role::Manager).await;
    assert_eq!(malformed.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_duplicate_sku_is_a_conflict_regardless_of_case() {
    let app = TestApp::spawn().await;
    assert_eq!(
        app.create_product(&product_body(1)).await.status,
        StatusCode::CREATED
    );
    let items_before = app.table_item_count().await;
    let mut again = product_body(2);
    again["sku"] = json!("sku-0001");
    let response = app.create_product(&again).await;
    assert_eq!(response.status, StatusCode::CONFLICT);
    assert_eq!(
        response.body["detail"],
        "a product with SKU 'SKU-0001' already exists"
    );
    assert_eq!(
        app.table_item_count().await,
        items_before,
        "nothing may be written"
    );
}

#[tokio::test]
async fn a_barcode_belongs_to_one_product_only() {
    let app = TestApp::spawn().await;
    let mut first = product_body(1);
    first["barcode"] = json!("96385074");
    assert_eq!(app.create_product(&first).await.status, StatusCode::CREATED);
    let mut second = product_body(2);
    second["barcode"] = json!("96385074");
    let response = app.create_product(&second).await;
    assert_eq!(response.status, StatusCode::CONFLICT);
    assert_eq!(
        response.body["detail"],
        "another product already has this barcode"
    );
}

#[tokio::test]
async fn a_patch_with_the_current_etag_changes_the_product() {
    let app = TestApp::spawn().await;
    let created = app.create_product(&product_body(1)).await;
    let id = created.body["id"].as_str().unwrap();
    let patched = app
        .patch_product(
            id,
            &created.etag(),
            &json!({"name": "Renamed", "brand": null, "attributes": {"size": "L"}}),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text);
    assert_eq!(patched.etag(), "\"2\"");
    assert_eq!(patched.body["name"], "Renamed");
    assert_eq!(patched.body["brand"], json!(null));
    assert_eq!(
        patched.body["attributes"],
        json!({"colour": "black", "size": "L"})
    );
    let read = app.get(&format!("/v1/products/{id}"), Role::Staff).await;
    assert_eq!(read.body, patched.body);
}

#[tokio::test]
async fn a_stale_etag_is_refused_and_nothing_changes() {
    let app = TestApp::spawn().await;
    let created = app.create_product(&product_body(1)).await;
    let id = created.body["id"].as_str().unwrap();
    let first = app
        .patch_product(id, &created.etag(), &json!({"name": "First"}))
        .await;
    assert_eq!(first.status, StatusCode::OK);
    let stale = app
        .patch_product(id, &created.etag(), &json!({"name": "Second"}))
        .await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    let read = app.get(&format!("/v1/products/{id}"), Role::Staff).await;
    assert_eq!(read.body["name"], "First");
    assert_eq!(read.etag(), "\"2\"");
}

#[tokio::test]
async fn a_patch_without_if_match_is_precondition_required() {
    let app = TestApp::spawn().await;
    let created = app.create_product(&product_body(1)).await;
    let id = created.body["id"].as_str().unwrap();
    let response = app
        .send_json(
            Method::PATCH,
            &format!("/v1/products/{id}"),
            Role::Manager,
            &json!({"name": "x"}),
            &[],
        )
        .await;
    assert_eq!(response.status, StatusCode::PRECONDITION_REQUIRED);
    let read = app.get(&format!("/v1/products/{id}"), Role::Staff).await;
    assert_eq!(read.body["name"], "Product 1");
}

#[tokio::test]
async fn changing_the_sku_frees_the_old_one_and_claims_the_new_one() {
    let app = TestApp::spawn().await;
    let a = app.create_product(&product_body(1)).await;
    let b = app.create_product(&product_body(2)).await;
    let a_id = a.body["id"].as_str().unwrap();
    let taken = app
        .patch_product(a_id, &a.etag(), &json!({"sku": "SKU-0002"}))
        .await;
    assert_eq!(taken.status, StatusCode::CONFLICT);
    let moved = app
        .patch_product(a_id, &a.etag(), &json!({"sku": "SKU-NEW"}))
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.text);
    // The old SKU is free again for another product.
    let mut reuse = product_body(3);
    reuse["sku"] = json!("SKU-0001");
    assert_eq!(app.create_product(&reuse).await.status, StatusCode::CREATED);
    let mut dup = product_body(4);
    dup["sku"] = json!("SKU-NEW");
    assert_eq!(app.create_product(&dup).await.status, StatusCode::CONFLICT);
    assert_eq!(b.status, StatusCode::CREATED);
}

#[tokio::test]
async fn removing_a_barcode_releases_it() {
    let app = TestApp::spawn().await;
    let mut body = product_body(1);
    body["barcode"] = json!("WH-BIN-0042");
    let a = app.create_product(&body).await;
    let a_id = a.body["id"].as_str().unwrap();
    let cleared = app
        .patch_product(a_id, &a.etag(), &json!({"barcode": null}))
        .await;
    assert_eq!(cleared.status, StatusCode::OK);
    assert_eq!(
        app.get("/v1/products/by-barcode/WH-BIN-0042", Role::Staff)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let mut other = product_body(2);
    other["barcode"] = json!("WH-BIN-0042");
    assert_eq!(app.create_product(&other).await.status, StatusCode::CREATED);
}

#[tokio::test]
async fn an_archived_product_is_unlisted_but_readable_and_restorable() {
    let app = TestApp::spawn().await;
    let created = app.create_product(&product_body(1)).await;
    let id = created.body["id"].as_str().unwrap();
    let path = format!("/v1/products/{id}");

    let archived = app
        .call(
            app.request(Method::DELETE, &path, Some(Role::Manager))
                .body(lambda_http::Body::Empty)
                .unwrap(),
        )
        .await;
    assert_eq!(archived.status, StatusCode::OK);
    assert_eq!(archived.body["archived"], true);
    assert!(
        app.get("/v1/products", Role::Staff).await.body["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert!(
        app.get("/v1/products?category=apparel", Role::Staff)
            .await
            .body["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // Staff still read it; for customers (the storefront) it is unpublished.
    let read = app.get(&path, Role::Staff).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.body["archived"], true);
    assert_eq!(
        app.get(&path, Role::Customer).await.status,
        StatusCode::NOT_FOUND
    );

    // The SKU stays taken while archived: restoring must not find it stolen.
    assert_eq!(
        app.create_product(&product_body(1)).await.status,
        StatusCode::CONFLICT
    );

    let restored = app
        .call(
            app.request(
                Method::POST,
                &format!("{path}/restore"),
                Some(Role::Manager),
            )
            .body(lambda_http::Body::Empty)
            .unwrap(),
        )
        .await;
    assert_eq!(restored.status, StatusCode::OK);
    assert_eq!(restored.body["archived"], false);
    assert_eq!(restored.etag(), "\"3\"");
    let listed = app.get("/v1/products", Role::Staff).await;
    assert_eq!(listed.body["items"][0]["id"], id);
}

#[tokio::test]
async fn archiving_with_a_stale_etag_is_refused() {
    let app = TestApp::spawn().await;
    let created = app.create_product(&product_body(1)).await;
    let id = created.body["id"].as_str().unwrap();
    app.patch_product(id, &created.etag(), &json!({"name": "changed"}))
        .await;
    let response = app
        .call(
            app.request(
                Method::DELETE,
                &format!("/v1/products/{id}"),
                Some(Role::Manager),
            )
            .header("if-match", created.etag())
            .body(lambda_http::Body::Empty)
            .unwrap(),
        )
        .await;
    assert_eq!(response.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(
        app.get(&format!("/v1/products/{id}"), Role::Staff)
            .await
            .body["archived"],
        false
    );
}

async fn grant(app: &TestApp, id: &str, content_type: &str) -> TestResponse {
    app.image_grant(id, content_type).await
}

async fn confirm(app: &TestApp, grant: &TestResponse) -> TestResponse {
    app.send_json(
        Method::POST,
        grant.body["confirm"].as_str().unwrap(),
        Role::Manager,
        &json!({}),
        &[],
    )
    .await
}

async fn object_exists(app: &TestApp, key: &str) -> bool {
    app.clients
        .s3
        .head_object()
        .bucket(&app.config.media_bucket)
        .key(key)
        .send()
        .await
        .is_ok()
}

#[tokio::test]
async fn an_image_is_uploaded_under_a_one_object_grant_and_listed_only_after_its_bytes_are_checked()
{
    let app = TestApp::spawn().await;
    let created = app.create_product(&product_body(1)).await;
    let id = created.body["id"].as_str().unwrap();
    let granted = grant(&app, id, "image/png").await;
    assert_eq!(granted.status, StatusCode::CREATED, "{}", granted.text);
    let upload = &granted.body["upload"];
    assert_eq!(upload["method"], "POST");
    assert_eq!(upload["max_bytes"], 5 * 1024 * 1024);
    let fields = &upload["fields"];
    let key = fields["key"].as_str().unwrap();
    assert!(
        key.starts_with(&format!("uploads/products/{id}/images/")),
        "{key}"
    );
    // The signed policy binds this one key, the type and the size range.
    let policy: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::STANDARD
            .decode(fields["policy"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    let conditions = policy["conditions"].as_array().unwrap();
    for condition in [
        json!({"key": key}),
        json!({"Content-Type": "image/png"}),
        json!(["content-length-range", 1, 5 * 1024 * 1024]),
        json!({"bucket": app.config.media_bucket}),
    ] {
        assert!(
            conditions.contains(&condition),
            "{condition} not in {policy}"
        );
    }
    assert!(fields["x-amz-signature"].as_str().unwrap().len() == 64);
    // Granted, not yet uploaded: not listed, and confirming is too early.
    let before = app.get(&format!("/v1/products/{id}"), Role::Customer).await;
    assert_eq!(before.body["images"], json!([]), "{}", before.text);
    assert_eq!(confirm(&app, &granted).await.status, StatusCode::CONFLICT);

    let status = app.upload_with_grant(upload, png(640, 480)).await;
    assert!((200..300).contains(&status), "S3 answered {status}");
    let confirmed = confirm(&app, &granted).await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.text);
    let read = app.get(&format!("/v1/products/{id}"), Role::Customer).await;
    let image = &read.body["images"][0];
    assert_eq!(image["content_type"], "image/png");
    assert_eq!(
        (image["width"].as_u64(), image["height"].as_u64()),
        (Some(640), Some(480))
    );
    let url = image["url"].as_str().unwrap();
    assert!(
        url.contains(&format!("products/{id}/images/")) && !url.contains("uploads/"),
        "{url}"
    );
    assert!(
        image.get("key").is_none(),
        "storage keys are not part of the API"
    );
    assert!(
        !object_exists(&app, key).await,
        "the upload is moved, not served"
    );
    // Confirming again answers the same listing; nothing changes.
    let again = confirm(&app, &granted).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.etag(), confirmed.etag());
}

#[tokio::test]
async fn bytes_that_are_not_an_image_of_the_declared_type_are_refused_and_never_listed() {
    let app = TestApp::spawn().await;
    let created = app.create_product(&product_body(1)).await;
    let id = created.body["id"].as_str().unwrap();
    for (declared, bytes, says) in [
        (
            "image/jpeg",
            png(10, 10),
            "is image/png, not the image/jpeg",
        ),
        (
            "image/png",
            b"<svg onload=alert(1)>".to_vec(),
            "not a JPEG, PNG, WebP or AVIF",
        ),
        ("image/png", png(0, 10), "0 x 10 pixels"),
    ] {
        let granted = grant(&app, id, declared).await;
        let status = app.upload_with_grant(&granted.body["upload"], bytes).await;
        assert!((200..300).contains(&status), "S3 answered {status}");
        let refused = confirm(&app, &granted).await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            refused.text
        );
        assert_eq!(refused.body["errors"][0]["field"], "file");
        assert!(refused.text.contains(says), "{}", refused.text);
        assert!(
            !object_exists(
                &app,
                granted.body["upload"]["fields"]["key"].as_str().unwrap()
            )
            .await
        );
        // The grant's image is gone: confirming again finds nothing.
        assert_eq!(confirm(&app, &granted).await.status, StatusCode::NOT_FOUND);
    }
    let read = app.get(&format!("/v1/products/{id}"), Role::Staff).await;
    assert_eq!(read.body["images"], json!([]), "{}", read.text);
}

#[tokio::test]
async fn an_upload_over_the_size_limit_is_refused_before_it_is_listed() {
    let app = TestApp::spawn().await;
    let created = app.create_product(&product_body(1)).await;
    let id = created.body["id"].as_str().unwrap();
    let granted = grant(&app, id, "image/png").await;
    // S3 refuses this under the policy's content-length-range; the local emulator does not
    // check policies, so the bytes are put directly, as if it had been let through.
    let mut big = png(100, 100);
    big.resize(5 * 1024 * 1024 + 1, 0);
    app.clients
        .s3
        .put_object()
        .bucket(&app.config.media_bucket)
        .key(granted.body["upload"]["fields"]["key"].as_str().unwrap())
        .body(big.into())
        .send()
        .await
        .unwrap();
    let refused = confirm(&app, &granted).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.text
    );
    assert!(
        refused.text.contains("at most 5242880 bytes"),
        "{}",
        refused.text
    );
}

#[tokio::test]
async fn an_image_of_a_disallowed_type_is_refused() {
    let app = TestApp::spawn().await;
    let created = app.create_product(&product_body(1)).await;
    let id = created.body["id"].as_str().unwrap();
    let response = app
        .send_json(
            Method::POST,
            &format!("/v1/products/{id}/images"),
            Role::Manager,
            &json!({"content_type": "image/svg+xml"}),
            &[],
        )
        .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(response.body["errors"][0]["field"], "content_type");
    assert_eq!(
        app.get(&format!("/v1/products/{id}"), Role::Staff)
            .await
            .etag(),
        "\"1\""
    );
}

#[tokio::test]
async fn a_customer_sees_no_purchasing_fields_of_a_product() {
    let app = TestApp::spawn().await;
    let created = app.create_product(&product_body(1)).await;
    let id = created.body["id"].as_str().unwrap();
    let customer = app.get(&format!("/v1/products/{id}"), Role::Customer).await;
    assert_eq!(customer.status, StatusCode::OK, "{}", customer.text);
    let listed = app.get("/v1/products", Role::Customer).await;
    for shown in [&customer.body, &listed.body["items"][0]] {
        for field in ["reorder_level", "target_level", "preferred_supplier_id"] {
            assert!(shown.get(field).is_none(), "{field}: {shown}");
        }
        assert_eq!(shown["id"], id);
    }
    let staff = app.get(&format!("/v1/products/{id}"), Role::Staff).await;
    assert!(staff.body.get("reorder_level").is_some(), "{}", staff.text);
}
