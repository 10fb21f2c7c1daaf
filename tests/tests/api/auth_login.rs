use http::StatusCode;
use serde_json::json;
use shared::auth::Role;
use stockroom_tests::{STRONG_PASSWORD, TestApp};

#[tokio::test]
async fn registration_validates_every_field_and_writes_nothing_on_failure() {
    let app = TestApp::spawn().await;
    let r = app
        .post_anonymous(
            "/v1/auth/register",
            &json!({"email": "not-an-email", "password": "password123", "display_name": ""}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let fields: Vec<&str> = r.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, vec!["email", "display_name", "password"]);
    let password_message = r.body["errors"][2]["message"].as_str().unwrap();
    assert!(
        password_message.starts_with("is too easy to guess"),
        "{password_message}"
    );
    let short = app
        .post_anonymous(
            "/v1/auth/register",
            &json!({"email": "a@example.com", "password": "short", "display_name": "A"}),
        )
        .await;
    assert_eq!(
        short.body["errors"][0]["message"],
        "must be at least 10 characters, got 5"
    );
    for body in [
        json!({"email": "a@example.com"}),
        json!({"email": "a@example.com", "password": STRONG_PASSWORD, "display_name": "A", "role": "admin"}),
    ] {
        let r = app.post_anonymous("/v1/auth/register", &body).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    }
    assert_eq!(app.table_item_count().await, 0);
}

#[tokio::test]
async fn registering_a_taken_address_answers_like_a_new_one_and_tells_its_owner_instead() {
    let app = TestApp::spawn().await;
    let id = uuid::Uuid::new_v4().simple();
    let owner = format!("dup-{id}@example.com");
    let body = |email: &str, password: &str| json!({"email": email, "password": password, "display_name": "A"});
    let first = app
        .post_anonymous("/v1/auth/register", &body(&owner, STRONG_PASSWORD))
        .await;
    assert_eq!(first.status, StatusCode::ACCEPTED, "{}", first.text);
    let again = app
        .post_anonymous(
            "/v1/auth/register",
            &body(
                &format!(" DUP-{id}@Example.com "),
                "another-fine-passphrase-99",
            ),
        )
        .await;
    assert_eq!((again.status, &again.body), (first.status, &first.body));
    assert_eq!(
        app.subjects_for(&owner).await,
        [
            "Verify your Stockroom e-mail address",
            "Your address already has a Stockroom account"
        ]
    );
    // The account and its password are the first registration's.
    assert_eq!(
        app.login(&owner, "another-fine-passphrase-99").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login(&owner, STRONG_PASSWORD).await.status,
        StatusCode::OK
    );
    let users = app.get("/v1/users?limit=100", Role::Admin).await;
    let holders = users.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["email"] == owner.as_str())
        .count();
    assert_eq!(holders, 1);
}

#[tokio::test]
async fn a_failed_sign_in_looks_the_same_for_unknown_and_known_addresses() {
    let app = TestApp::spawn().await;
    app.register_and_login("known@example.com").await;
    let wrong_password = app
        .login("known@example.com", "not-the-password-at-all")
        .await;
    let unknown = app
        .login("nobody@example.com", "not-the-password-at-all")
        .await;
    let malformed = app.login("nobody", "x").await;
    for r in [&wrong_password, &unknown, &malformed] {
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert_eq!(r.body["detail"], "invalid e-mail or password");
        assert_eq!(r.body["type"], "urn:stockroom:problem:invalid-credentials");
    }
    assert!(
        app.audit_actions()
            .await
            .contains(&"auth.login_failed".to_owned())
    );
}

#[tokio::test]
async fn a_disabled_account_cannot_sign_in() {
    let app = TestApp::spawn().await;
    let tokens = app.register_and_login("gone@example.com").await;
    let me = app
        .call_with_token(
            http::Method::GET,
            "/v1/auth/me",
            tokens.body["access_token"].as_str().unwrap(),
            None,
        )
        .await;
    let id = me.body["id"].as_str().unwrap();
    let r = app
        .send_json(
            http::Method::PATCH,
            &format!("/v1/users/{id}"),
            shared::auth::Role::Admin,
            &json!({"disabled": true}),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let login = app.login("gone@example.com", STRONG_PASSWORD).await;
    assert_eq!(login.status, StatusCode::UNAUTHORIZED);
    assert_eq!(login.body["detail"], "invalid e-mail or password");
    let refresh = app
        .post_anonymous(
            "/v1/auth/refresh",
            &json!({"refresh_token": tokens.body["refresh_token"]}),
        )
        .await;
    assert_eq!(
        refresh.status,
        StatusCode::UNAUTHORIZED,
        "disabling revokes refresh tokens"
    );
}

async fn lock_of(app: &TestApp, key: &str) -> Option<i64> {
    let item = app
        .clients
        .dynamodb
        .get_item()
        .table_name(&app.config.table_name)
        .key("PK", aws_sdk_dynamodb::types::AttributeValue::S(key.into()))
        .key(
            "SK",
            aws_sdk_dynamodb::types::AttributeValue::S("LOCK".into()),
        )
        .send()
        .await
        .unwrap()
        .item?;
    item.get("locked_until")
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
}

/// Moves a lock's end into the past, as waiting it out would.
async fn expire_lock(app: &TestApp, key: &str) {
    app.clients
        .dynamodb
        .update_item()
        .table_name(&app.config.table_name)
        .key("PK", aws_sdk_dynamodb::types::AttributeValue::S(key.into()))
        .key(
            "SK",
            aws_sdk_dynamodb::types::AttributeValue::S("LOCK".into()),
        )
        .update_expression("SET locked_until = :past")
        .expression_attribute_values(
            ":past",
            aws_sdk_dynamodb::types::AttributeValue::N("1".into()),
        )
        .send()
        .await
        .unwrap();
}

/// The table key of an address's sign-in lock (a keyed hash, never the address).
fn account_lock(app: &TestApp, email: &str) -> String {
    let email = shared::domain::Email::parse(email).unwrap();
    format!("LOCK#ACCOUNT#{}", auth::account_lock(&app.key, &email))
}

#[tokio::test]
async fn repeated_failures_lock_the_account_for_a_growing_interval_then_release() {
    let app = TestApp::spawn().await;
    let lock = account_lock(&app, "target@example.com");
    app.register_and_login("target@example.com").await;
    for i in 0..4 {
        let r = app
            .login("target@example.com", "wrong-password-guess")
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    // The fifth failure starts the lock; from then on even the right password waits.
    app.login("target@example.com", "wrong-password-guess")
        .await;
    let locked = app.login("target@example.com", STRONG_PASSWORD).await;
    assert_eq!(
        locked.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        locked.text
    );
    let wait: u64 = locked.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=30).contains(&wait), "{wait}");
    assert!(lock_of(&app, &lock).await.is_some());

    expire_lock(&app, &lock).await;
    // One more failure after the lock: the next lock is twice as long.
    app.login("target@example.com", "wrong-password-guess")
        .await;
    let relocked = app.login("target@example.com", STRONG_PASSWORD).await;
    let wait: u64 = relocked.header("retry-after").unwrap().parse().unwrap();
    assert!((31..=60).contains(&wait), "{wait}");

    expire_lock(&app, &lock).await;
    let ok = app.login("target@example.com", STRONG_PASSWORD).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    assert!(
        lock_of(&app, &lock).await.is_none(),
        "success clears the count"
    );
    assert!(
        app.audit_actions()
            .await
            .contains(&"auth.lockout".to_owned())
    );
}

#[tokio::test]
async fn one_client_guessing_across_many_accounts_is_locked_out() {
    let app = TestApp::spawn().await;
    app.register_and_login("real@example.com").await;
    for n in 0..20 {
        let body =
            json!({"email": format!("guess{n}@example.com"), "password": "wrong-password-guess"});
        let r = app.post_from("198.51.100.7", "/v1/auth/login", &body).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "attempt {n}");
    }
    let body = json!({"email": "real@example.com", "password": STRONG_PASSWORD});
    let blocked = app.post_from("198.51.100.7", "/v1/auth/login", &body).await;
    assert_eq!(blocked.status, StatusCode::TOO_MANY_REQUESTS);
    let elsewhere = app.post_from("203.0.113.9", "/v1/auth/login", &body).await;
    assert_eq!(
        elsewhere.status,
        StatusCode::OK,
        "other clients are unaffected"
    );
}

#[tokio::test]
async fn fifty_parallel_wrong_sign_ins_check_the_password_at_most_five_times() {
    let app = TestApp::spawn().await;
    app.register_and_login("burst@example.com").await;
    let answers = futures::future::join_all(
        (0..50).map(|_| app.login("burst@example.com", "wrong-password-guess")),
    )
    .await;
    let statuses: Vec<_> = answers.iter().map(|r| r.status).collect();
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::UNAUTHORIZED || *s == StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    assert!((1..=5).contains(&checked), "{checked} guesses were checked");
    let failures = app
        .audit_actions()
        .await
        .into_iter()
        .filter(|a| a == "auth.login_failed")
        .count();
    assert_eq!(failures, checked, "each checked guess is audited once");
}

#[tokio::test]
async fn a_password_typed_into_the_email_field_is_never_stored() {
    let app = TestApp::spawn().await;
    app.bootstrap_admin("root@example.com").await;
    let typed = "Velvet-Otter-Carries-17";
    for _ in 0..3 {
        let r = app.login(typed, STRONG_PASSWORD).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
        assert_eq!(r.body["detail"], "invalid e-mail or password");
    }
    let items = app
        .clients
        .dynamodb
        .scan()
        .table_name(&app.config.table_name)
        .send()
        .await
        .unwrap();
    let everything = format!("{:?}", items.items());
    assert!(
        !everything.to_lowercase().contains("velvet"),
        "the typed text reached the table: {everything}"
    );
    assert!(
        app.audit_actions()
            .await
            .contains(&"auth.login_failed".to_owned()),
        "the failure is still audited"
    );
}

/// Lets `seconds` pass for the lock item `key`: its lock ends and its window moves that far
/// into the past.
async fn let_time_pass(app: &TestApp, key: &str, seconds: i64) {
    use aws_sdk_dynamodb::types::AttributeValue;
    app.clients
        .dynamodb
        .update_item()
        .table_name(&app.config.table_name)
        .key("PK", AttributeValue::S(key.into()))
        .key("SK", AttributeValue::S("LOCK".into()))
        .update_expression("SET locked_until = :past, window_ends = window_ends - :passed")
        .expression_attribute_values(":past", AttributeValue::N("1".into()))
        .expression_attribute_values(":passed", AttributeValue::N(seconds.to_string()))
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn locks_keep_doubling_after_the_first_window_ends_instead_of_starting_over() {
    let app = TestApp::spawn().await;
    app.register_and_login("slow@example.com").await;
    let lock = account_lock(&app, "slow@example.com");
    let mut waits = Vec::new();
    for _ in 0..4 {
        app.login("slow@example.com", "wrong-password-guess").await;
    }
    for _ in 0..4 {
        // The guess that starts the next lock, then how long that lock is.
        app.login("slow@example.com", "wrong-password-guess").await;
        let locked = app.login("slow@example.com", STRONG_PASSWORD).await;
        assert_eq!(
            locked.status,
            StatusCode::TOO_MANY_REQUESTS,
            "{}",
            locked.text
        );
        waits.push(
            locked
                .header("retry-after")
                .unwrap()
                .parse::<u64>()
                .unwrap(),
        );
        // Each lock is waited out, and a full window (15 minutes) goes by meanwhile.
        let_time_pass(&app, &lock, 15 * 60).await;
    }
    assert!(
        waits[0] <= 30 && waits[1] > 30 && waits[2] > 60 && waits[3] > 120,
        "{waits:?}"
    );
}

#[tokio::test]
async fn failed_sign_in_entries_expire_after_90_days_and_others_are_kept() {
    let app = TestApp::spawn().await;
    let email = format!("ttl-{}@example.com", uuid::Uuid::new_v4().simple());
    app.register_and_login(&email).await;
    assert_eq!(
        app.login(&email, "not-the-password-at-all").await.status,
        StatusCode::UNAUTHORIZED
    );
    let items = app
        .clients
        .dynamodb
        .scan()
        .table_name(&app.config.table_name)
        .send()
        .await
        .unwrap()
        .items
        .unwrap_or_default();
    let expiry_of = |action: &str| {
        items
            .iter()
            .find(|i| {
                i.get("action")
                    .and_then(|v| v.as_s().ok())
                    .map(String::as_str)
                    == Some(action)
            })
            .map(|i| {
                i.get("expires_at")
                    .and_then(|v| v.as_n().ok())
                    .and_then(|n| n.parse::<i64>().ok())
            })
            .expect("the entry exists")
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let failed = expiry_of("auth.login_failed").expect("a failed sign-in expires");
    assert!(
        (failed - now - 90 * 86_400).abs() < 120,
        "{failed} vs {now}"
    );
    assert_eq!(expiry_of("auth.login"), None, "other entries are kept");
}
