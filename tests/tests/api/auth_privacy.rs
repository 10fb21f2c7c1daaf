//! The account holder's data: the export holds what is stored about them; erasure leaves a
//! tombstone and nothing personal in the table, while orders keep their integrity.

use http::{Method, StatusCode};
use serde_json::{Value, json};
use shared::auth::Role;
use stockroom_tests::{STRONG_PASSWORD, TestApp, TestResponse};

use crate::orders_support::shop;

const IP: &str = "198.51.100.23";
const AGENT: &str = "ErasureTest/7.3 (a very particular phone)";

/// Someone with a distinctive name, address, phone, client address and user agent: registered,
/// verified, signed in, with an SMS second factor on. Their address, name, phone and tokens.
struct Person {
    email: String,
    name: String,
    phone: String,
    access: String,
    refresh: String,
}

async fn person(app: &TestApp) -> Person {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let email = format!("erin-{id}@example.com");
    let name = format!("Erin Quillfeather {}", &id[..8]);
    let phone = format!("+9197{:08}", uuid::Uuid::new_v4().as_u128() % 100_000_000);
    let registered = app
        .post_from_client(
            IP,
            AGENT,
            "/v1/auth/register",
            &json!({"email": email, "password": STRONG_PASSWORD, "display_name": name}),
        )
        .await;
    assert_eq!(
        registered.status,
        StatusCode::ACCEPTED,
        "{}",
        registered.text
    );
    let link = app
        .mailed_token(&email, "Verify your Stockroom e-mail address")
        .await;
    app.post_anonymous("/v1/auth/email/verify", &json!({ "token": link }))
        .await;
    let tokens = app
        .post_from_client(
            IP,
            AGENT,
            "/v1/auth/login",
            &json!({"email": email, "password": STRONG_PASSWORD}),
        )
        .await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.text);
    let access = tokens.body["access_token"].as_str().unwrap().to_owned();
    let post = |path: &'static str, body: Value| {
        let access = access.clone();
        async move {
            app.call_with_token(Method::POST, path, &access, Some(&body))
                .await
        }
    };
    let setup = post(
        "/v1/auth/2fa/sms/setup",
        json!({"phone": phone, "password": STRONG_PASSWORD}),
    )
    .await;
    assert_eq!(setup.status, StatusCode::ACCEPTED, "{}", setup.text);
    let code = app.outbox_for(&phone).await.last().unwrap().body[..6].to_owned();
    let on = post("/v1/auth/2fa/sms/enable", json!({ "code": code })).await;
    assert_eq!(on.status, StatusCode::OK, "{}", on.text);
    Person {
        email,
        name,
        phone,
        refresh: tokens.body["refresh_token"].as_str().unwrap().to_owned(),
        access,
    }
}

async fn place(app: &TestApp, access: &str, product: &str, notes: &str) -> TestResponse {
    let key = uuid::Uuid::new_v4().to_string();
    app.send_with_token(
        Method::POST,
        "/v1/orders",
        access,
        Some(&json!({"lines": [{"product_id": product, "quantity": 1}], "notes": notes})),
        &[("idempotency-key", &key)],
    )
    .await
}

#[tokio::test]
async fn the_export_holds_the_account_its_orders_sessions_and_audit_entries() {
    let app = TestApp::spawn().await;
    let shop = shop(&app).await;
    let who = person(&app).await;
    let order = place(&app, &who.access, &shop.p1, "leave it at the door").await;
    assert_eq!(order.status, StatusCode::CREATED, "{}", order.text);
    let id = app.account_id_of(&who.access).await;
    let granted = app
        .send_json(
            Method::PUT,
            &format!("/v1/users/{id}/grants/read_stock"),
            Role::Admin,
            &json!({}),
            &[],
        )
        .await;
    assert_eq!(granted.status, StatusCode::OK, "{}", granted.text);
    let export = app
        .call_with_token(Method::GET, "/v1/auth/me/export", &who.access, None)
        .await;
    assert_eq!(export.status, StatusCode::OK, "{}", export.text);
    assert!(
        export
            .header("content-disposition")
            .unwrap()
            .starts_with("attachment")
    );
    let doc = &export.body;
    assert_eq!(doc["account"]["email"], who.email.as_str());
    assert_eq!(doc["account"]["display_name"], who.name.as_str());
    assert_eq!(doc["phone"], who.phone.as_str());
    assert_eq!(doc["orders"].as_array().unwrap().len(), 1);
    assert_eq!(doc["orders"][0]["id"], order.body["id"]);
    assert_eq!(doc["sessions"][0]["ip"], IP);
    assert_eq!(doc["sessions"][0]["user_agent"], AGENT);
    let actions: Vec<&str> = doc["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for action in [
        "auth.register",
        "auth.email_verified",
        "auth.login",
        "auth.2fa_enabled",
        "order.create",
        // Done to the account by an admin: found by its target.
        "user.grant_added",
    ] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    assert_eq!(doc["truncated"], false);
}

#[tokio::test]
async fn erasure_leaves_a_tombstone_and_no_personal_data_in_the_table() {
    let app = TestApp::spawn().await;
    let shop = shop(&app).await;
    let who = person(&app).await;
    let notes = format!("call {} at the gate", who.phone);
    let order = place(&app, &who.access, &shop.p1, &notes).await;
    assert_eq!(order.status, StatusCode::CREATED, "{}", order.text);
    let id = app.account_id_of(&who.access).await;
    // A failed sign-in records the address in the audit log.
    app.login(&who.email, "not-the-password-at-all").await;
    let personal = [
        who.email.as_str(),
        who.name.as_str(),
        who.phone.as_str(),
        IP,
        AGENT,
    ];
    let before = app.table_dump().await;
    for value in personal {
        assert!(
            before.iter().any(|item| item.contains(value)),
            "{value} is stored before erasure (else this test proves nothing)"
        );
    }
    let erase = |body: Value| {
        let access = who.access.clone();
        let app = &app;
        async move {
            app.call_with_token(Method::DELETE, "/v1/auth/me", &access, Some(&body))
                .await
        }
    };
    let wrong = erase(json!({"password": "not-the-password-at-all"})).await;
    assert_eq!(
        wrong.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        wrong.text
    );
    assert_eq!(
        app.table_dump().await.len(),
        before.len() + 1,
        "only the audit entry of the wrong password"
    );
    let erased = erase(json!({ "password": STRONG_PASSWORD })).await;
    assert_eq!(erased.status, StatusCode::NO_CONTENT, "{}", erased.text);

    let after = app.table_dump().await;
    for value in personal {
        let found: Vec<&String> = after.iter().filter(|item| item.contains(value)).collect();
        assert!(found.is_empty(), "{value} is still stored: {found:#?}");
    }
    // The order keeps its lines and amount, under the tombstone's id.
    let kept = app
        .get(
            &format!("/v1/orders/{}", order.body["id"].as_str().unwrap()),
            Role::Manager,
        )
        .await;
    assert_eq!(kept.status, StatusCode::OK, "{}", kept.text);
    assert_eq!(kept.body["customer_id"], id.as_str());
    assert_eq!(kept.body["amount"], order.body["amount"]);
    assert!(kept.body["notes"].is_null());
    let users = app.get("/v1/users?limit=100", Role::Admin).await;
    let tombstone = users.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == id.as_str())
        .expect("the account is kept as a tombstone");
    assert_eq!(tombstone["display_name"], "Deleted account");
    assert_eq!(tombstone["disabled"], true);
    // Nothing of the person works any more (a write checks the token at once; a read may
    // trust an instance's copy of the account for a few seconds).
    let again = erase(json!({ "password": STRONG_PASSWORD })).await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED, "{}", again.text);
    let refreshed = app
        .post_anonymous("/v1/auth/refresh", &json!({ "refresh_token": who.refresh }))
        .await;
    assert_eq!(refreshed.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.login(&who.email, STRONG_PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    // The address is free for a new account.
    let again = app.register_and_login(&who.email).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_ne!(
        app.account_id_of(again.body["access_token"].as_str().unwrap())
            .await,
        id
    );
    // The audit log keeps the entries, under a pseudonym.
    let log = app.get("/v1/audit?limit=100", Role::Admin).await;
    let erased_entry = log.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "auth.account_erased")
        .expect("the erasure is audited");
    let pseudonym = erased_entry["actor"].as_str().unwrap();
    assert!(pseudonym.starts_with("erased-"), "{pseudonym}");
    let logins = log.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "auth.login" && e["actor"] == pseudonym)
        .count();
    assert_eq!(
        logins, 1,
        "the sign-in is still counted, under the pseudonym"
    );
}

#[tokio::test]
async fn an_account_made_with_google_erases_itself_with_a_fresh_google_token() {
    let app = TestApp::spawn().await;
    let email = format!("g-erase-{}@example.com", uuid::Uuid::new_v4().simple());
    let tokens = app
        .post_anonymous(
            "/v1/auth/google",
            &json!({"id_token": app.google.id_token(&email)}),
        )
        .await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.text);
    let access = tokens.body["access_token"].as_str().unwrap();
    let app = &app;
    let erase = |body: Value| async move {
        app.call_with_token(Method::DELETE, "/v1/auth/me", access, Some(&body))
            .await
    };
    let someone_else = erase(json!({"id_token": app.google.id_token("other@example.com")})).await;
    assert_eq!(someone_else.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(someone_else.body["errors"][0]["field"], "id_token");
    let done = erase(json!({"id_token": app.google.id_token(&email)})).await;
    assert_eq!(done.status, StatusCode::NO_CONTENT, "{}", done.text);
    assert!(app.table_dump().await.iter().all(|i| !i.contains(&email)));
    // The Google account is free again: signing in makes a new account.
    let fresh = app
        .post_anonymous(
            "/v1/auth/google",
            &json!({"id_token": app.google.id_token(&email)}),
        )
        .await;
    assert_eq!(fresh.status, StatusCode::OK, "{}", fresh.text);
}

#[tokio::test]
async fn an_admin_cannot_erase_itself() {
    let app = TestApp::spawn().await;
    let email = format!("boss-{}@example.com", uuid::Uuid::new_v4().simple());
    app.bootstrap_admin(&email).await;
    let tokens = app.login(&email, STRONG_PASSWORD).await;
    let r = app
        .call_with_token(
            Method::DELETE,
            "/v1/auth/me",
            tokens.body["access_token"].as_str().unwrap(),
            Some(&json!({ "password": STRONG_PASSWORD })),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert_eq!(
        app.login(&email, STRONG_PASSWORD).await.status,
        StatusCode::OK
    );
}
