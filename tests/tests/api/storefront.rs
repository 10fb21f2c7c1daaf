//! The storefront: what a shopper reads without signing in (the public catalogue and search,
//! cacheable and throttled per client address).

use http::StatusCode;
use serde_json::json;
use shared::auth::Role;
use stockroom_tests::{TestApp, product_body};

const STAFF_FIELDS: [&str; 3] = ["reorder_level", "target_level", "preferred_supplier_id"];

async fn product(app: &TestApp, n: usize, name: &str) -> String {
    let mut body = product_body(n);
    body["name"] = json!(name);
    let r = app.create_product(&body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body["id"].as_str().unwrap().to_owned()
}

/// Waits out the end of the current minute when fewer than `margin` seconds are left, so a
/// test that counts within one minute does not straddle two.
async fn within_one_minute(margin: i64) {
    let second = time::OffsetDateTime::now_utc()
        .unix_timestamp()
        .rem_euclid(60);
    if second > 60 - margin {
        tokio::time::sleep(std::time::Duration::from_secs((61 - second).unsigned_abs())).await;
    }
}

#[tokio::test]
async fn anonymous_readers_see_listed_products_without_staff_fields_and_never_archived_ones() {
    let app = TestApp::spawn().await;
    let id = product(&app, 1, "Trail shoe").await;
    let other = product(&app, 2, "Rain shell").await;

    let r = app
        .get_from("203.0.113.7", &format!("/v1/products/{id}"), &[])
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["name"], "Trail shoe");
    for field in STAFF_FIELDS {
        assert!(
            r.body.get(field).is_none(),
            "{field} shown to the public: {}",
            r.text
        );
    }
    assert!(r.header("etag").unwrap().starts_with("W/\""), "a weak tag");
    assert_eq!(
        r.header("cache-control"),
        Some("public, max-age=60, stale-while-revalidate=300")
    );
    assert_eq!(r.header("vary"), Some("Authorization"));

    let staff = app.get(&format!("/v1/products/{id}"), Role::Staff).await;
    assert_eq!(staff.body["reorder_level"], 3, "staff still see it");
    assert_eq!(
        staff.header("etag"),
        Some("\"1\""),
        "the tag If-Match takes"
    );
    assert_eq!(staff.header("cache-control"), Some("private, no-cache"));

    let list = app.get_from("203.0.113.7", "/v1/products", &[]).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    let items = list.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert!(
        items.iter().all(|p| p.get("reorder_level").is_none()),
        "{}",
        list.text
    );
    assert!(list.header("etag").unwrap().starts_with("W/\""));

    let r = app
        .send_json(
            http::Method::DELETE,
            &format!("/v1/products/{other}"),
            Role::Manager,
            &json!({}),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = app
        .get_from("203.0.113.7", &format!("/v1/products/{other}"), &[])
        .await;
    assert_eq!(
        r.status,
        StatusCode::NOT_FOUND,
        "archived is unpublished: {}",
        r.text
    );
    assert_eq!(r.header("content-type"), Some("application/problem+json"));
    let list = app.get_from("203.0.113.7", "/v1/products", &[]).await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
    let r = app
        .get(&format!("/v1/products/{other}"), Role::Manager)
        .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "staff still read archived products"
    );
}

#[tokio::test]
async fn a_matching_if_none_match_is_answered_304_until_the_product_changes() {
    let app = TestApp::spawn().await;
    let id = product(&app, 1, "Trail shoe").await;
    let path = format!("/v1/products/{id}");
    let first = app.get_from("203.0.113.8", &path, &[]).await;
    let tag = first.header("etag").unwrap().to_owned();

    let again = app
        .get_from("203.0.113.8", &path, &[("if-none-match", &tag)])
        .await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert!(again.text.is_empty(), "a 304 has no body");
    assert_eq!(again.header("etag"), Some(tag.as_str()));
    assert!(again.header("cache-control").unwrap().starts_with("public"));

    let list = app.get_from("203.0.113.8", "/v1/products", &[]).await;
    let list_tag = list.header("etag").unwrap().to_owned();
    let r = app
        .get_from(
            "203.0.113.8",
            "/v1/products",
            &[("if-none-match", &list_tag)],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_MODIFIED);

    let r = app
        .patch_product(&id, "\"1\"", &json!({"name": "Trail shoe 2"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let changed = app
        .get_from("203.0.113.8", &path, &[("if-none-match", &tag)])
        .await;
    assert_eq!(
        changed.status,
        StatusCode::OK,
        "a changed product is sent again"
    );
    assert_eq!(changed.body["name"], "Trail shoe 2");
    assert_ne!(changed.header("etag"), Some(tag.as_str()));
    let r = app
        .get_from(
            "203.0.113.8",
            "/v1/products",
            &[("if-none-match", &list_tag)],
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "a page whose product changed is sent again"
    );

    // Staff revalidate against the strong version tag.
    let r = app
        .call(
            app.request(http::Method::GET, &path, Some(Role::Staff))
                .header("if-none-match", "\"2\"")
                .body(lambda_http::Body::Empty)
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_MODIFIED);
    assert_eq!(r.header("cache-control"), Some("private, no-cache"));
}

#[tokio::test]
async fn anonymous_search_and_suggest_answer_without_a_token_and_hide_exact_stock() {
    let app = TestApp::spawn().await;
    let id = product(&app, 1, "Waterproof hiking jacket").await;
    let w = app.create_warehouse("W-1").await;
    app.move_stock(&json!({"type": "receive", "product_id": id, "warehouse_id": w, "quantity": 4}))
        .await;
    search::rebuild(&app.search).await.unwrap();

    let r = app
        .get_from("198.51.100.4", "/v1/search?q=jacket", &[])
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let hit = &r.body["hits"][0];
    assert_eq!(hit["id"], id.as_str());
    assert_eq!(hit["in_stock"], true);
    assert!(
        hit.get("available").is_none(),
        "exact stock is for staff: {}",
        r.text
    );
    let tag = r.header("etag").unwrap().to_owned();
    assert!(
        r.header("cache-control")
            .unwrap()
            .starts_with("public, max-age=")
    );
    let again = app
        .get_from(
            "198.51.100.4",
            "/v1/search?q=jacket",
            &[("if-none-match", &tag)],
        )
        .await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    let other = app
        .get_from(
            "198.51.100.4",
            "/v1/search?q=hiking",
            &[("if-none-match", &tag)],
        )
        .await;
    assert_eq!(
        other.status,
        StatusCode::OK,
        "another query is another answer"
    );

    let staff = app.get("/v1/search?q=jacket", Role::Staff).await;
    assert_eq!(staff.body["hits"][0]["available"], 4);
    assert_ne!(
        staff.header("etag"),
        Some(tag.as_str()),
        "staff answers are their own"
    );
    assert_eq!(staff.header("cache-control"), Some("private, no-cache"));

    let s = app
        .get_from("198.51.100.4", "/v1/search/suggest?q=wat", &[])
        .await;
    assert_eq!(s.status, StatusCode::OK, "{}", s.text);
    assert!(s.text.contains("Waterproof"), "{}", s.text);

    // A new version of the index is a new answer.
    app.move_stock(&json!({"type": "receive", "product_id": id, "warehouse_id": w, "quantity": 1}))
        .await;
    search::rebuild(&app.search).await.unwrap();
    let r = app
        .get_from(
            "198.51.100.4",
            "/v1/search?q=jacket",
            &[("if-none-match", &tag)],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn a_bad_token_on_a_public_read_is_401_not_an_anonymous_read() {
    let app = TestApp::spawn().await;
    let id = product(&app, 1, "Trail shoe").await;
    let expired = app.token_for("someone", Role::Staff, -3600);
    for auth in [
        "Bearer not.a.jwt".to_owned(),
        format!("Bearer {expired}"),
        "Basic eDp5".into(),
    ] {
        for path in [
            format!("/v1/products/{id}"),
            "/v1/products".into(),
            "/v1/search?q=shoe".into(),
        ] {
            let r = app
                .get_from("203.0.113.9", &path, &[("authorization", &auth)])
                .await;
            assert_eq!(
                r.status,
                StatusCode::UNAUTHORIZED,
                "{path} with {auth}: {}",
                r.text
            );
        }
    }
}

#[tokio::test]
async fn anonymous_reads_past_the_allowance_are_429_for_that_address_only() {
    let app = TestApp::spawn_with(|env| {
        env.insert("PUBLIC_READS_PER_MINUTE".into(), "3".into());
    })
    .await;
    let id = product(&app, 1, "Trail shoe").await;
    let path = format!("/v1/products/{id}");
    within_one_minute(15).await;
    for n in 1..=3 {
        let r = app.get_from("192.0.2.1", &path, &[]).await;
        assert_eq!(r.status, StatusCode::OK, "read {n}");
    }
    let r = app.get_from("192.0.2.1", "/v1/search?q=shoe", &[]).await;
    assert_eq!(
        r.status,
        StatusCode::TOO_MANY_REQUESTS,
        "the allowance spans routes"
    );
    assert_eq!(r.header("content-type"), Some("application/problem+json"));
    let wait: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert_eq!(
        app.get_from("192.0.2.1", &path, &[]).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );

    assert_eq!(
        app.get_from("192.0.2.2", &path, &[]).await.status,
        StatusCode::OK,
        "another address"
    );
    let signed_in = app.get(&path, Role::Customer).await;
    assert_eq!(
        signed_in.status,
        StatusCode::OK,
        "signed-in readers are not counted by address"
    );
}

#[tokio::test]
async fn a_burst_from_one_address_gets_exactly_the_allowance_not_one_per_instance() {
    let app = TestApp::spawn_with(|env| {
        env.insert("PUBLIC_READS_PER_MINUTE".into(), "5".into());
    })
    .await;
    let id = product(&app, 1, "Trail shoe").await;
    let path = format!("/v1/products/{id}");
    within_one_minute(15).await;
    let answers =
        futures::future::join_all((0..20).map(|_| app.get_from("192.0.2.50", &path, &[]))).await;
    let served = answers
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .count();
    let refused = answers
        .iter()
        .filter(|r| r.status == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((served, refused), (5, 15));
}
