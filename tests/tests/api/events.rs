//! Replays every checked-in API Gateway event through the function that serves it: the Lambda
//! event -> request -> handler path, with the events users pass to `cargo lambda invoke`.

use std::collections::{BTreeSet, HashMap};

use http::StatusCode;
use shared::auth::{Role, two_factor};
use stockroom_tests::{TestApp, root, template};

/// The events in replay order, with the status each must produce.
const SCRIPT: [(&str, u16); 112] = [
    ("health.get", 200),
    ("docs.openapi", 200),
    ("docs.page", 200),
    ("docs.asset", 200),
    ("products.create", 201),
    ("products.list", 200),
    ("products.get", 200),
    // The public read: no token.
    ("products.get-anonymous", 200),
    ("products.get-by-barcode", 200),
    ("products.update", 200),
    ("products.add-image", 201),
    // Nothing was uploaded under the grant: the documented 409.
    ("products.confirm-image", 409),
    ("products.archive", 200),
    ("products.restore", 200),
    ("stock.create-warehouse", 201),
    ("stock.list-warehouses", 200),
    ("stock.get-warehouse", 200),
    ("stock.update-warehouse", 200),
    ("stock.record-movement", 201),
    ("stock.list-levels", 200),
    ("stock.list-movements", 200),
    ("stock.reserve", 201),
    ("stock.commit-reservation", 200),
    ("stock.release-reservation", 200),
    ("stock.scan", 201),
    ("stock.dashboard", 200),
    ("orders.create", 201),
    ("orders.list", 200),
    ("orders.get", 200),
    ("orders.verify", 200),
    ("payments-webhook.razorpay", 200),
    // The payment created the order's shipment.
    ("shipments.list-for-order", 200),
    ("shipments.get", 200),
    ("shipments.list-open", 200),
    ("shipments.pack", 200),
    ("shipments.ship", 200),
    ("shipments.carrier-update", 200),
    ("shipments.checkpoint", 200),
    ("orders.refund", 201),
    ("orders.cancel", 200),
    ("orders.cart-set-line-anonymous", 200),
    ("orders.cart-get-anonymous", 200),
    ("orders.cart-merge", 200),
    ("orders.cart-set-line", 200),
    ("orders.cart-get", 200),
    ("orders.cart-checkout", 201),
    // The checkout emptied the cart: the documented 404.
    ("orders.cart-remove-line", 404),
    ("orders.cart-clear", 200),
    ("orders.sync", 200),
    ("purchasing.create-supplier", 201),
    ("purchasing.list-suppliers", 200),
    ("purchasing.get-supplier", 200),
    ("purchasing.update-supplier", 200),
    ("purchasing.create-po", 201),
    ("purchasing.list-pos", 200),
    ("purchasing.get-po", 200),
    ("purchasing.update-po", 200),
    ("purchasing.submit-po", 200),
    ("purchasing.receive", 201),
    ("purchasing.cancel-po", 200),
    ("purchasing.suggestions", 200),
    ("purchasing.draft-suggestions", 201),
    ("search.query", 200),
    ("search.query-anonymous", 200),
    ("search.suggest", 200),
    ("personas.generate", 201),
    ("personas.list", 200),
    ("personas.get", 200),
    ("personas.search", 200),
    ("personas.stats", 200),
    ("personas.delete", 204),
    ("auth.register", 202),
    ("auth.login", 200),
    ("auth.refresh", 200),
    ("auth.me", 200),
    // The sample account never opened its verification link, and a payment link needs a
    // proven address: the documented 403. It has no saved method either: deleting one is
    // the documented 404.
    ("orders.link-payment-customer", 403),
    ("orders.list-payment-methods", 200),
    ("orders.delete-payment-method", 404),
    ("orders.loyalty", 200),
    ("orders.loyalty-preferences", 200),
    ("orders.achievements", 200),
    ("orders.leaderboard", 200),
    ("auth.export", 200),
    // Not the account's password: the documented 422 (the account stays).
    ("auth.erase", 422),
    ("auth.resend-verification", 202),
    // A token no verification mail carried: the documented 422.
    ("auth.verify-email", 422),
    ("auth.change-email", 202),
    ("auth.grant", 200),
    ("auth.revoke-grant", 200),
    ("auth.2fa-setup", 200),
    ("auth.2fa-enable", 200),
    ("auth.2fa-disable", 200),
    // The sample account never opened its verification link, and texts need a verified
    // address: the documented 403.
    ("auth.2fa-sms-setup", 403),
    // Not the code that was texted: the documented 422.
    ("auth.2fa-sms-enable", 422),
    // Text-message codes are not on for the sample account: the documented 409.
    ("auth.2fa-sms-send", 409),
    // An ID token from the Google stand-in for a new address: a new customer, signed in.
    ("auth.google", 200),
    // Not an ID token Google issued: the documented 401.
    ("auth.google-link", 401),
    // A token no link mail carried: the documented 422.
    ("auth.google-confirm", 422),
    // No Google account is linked to the sample account: the documented 409.
    ("auth.google-unlink", 409),
    ("auth.change-password", 200),
    ("auth.forgot-password", 202),
    // A token no reset mail carried: the documented 422.
    ("auth.reset-password", 422),
    ("auth.list-sessions", 200),
    ("auth.end-session", 204),
    ("auth.jwks", 200),
    ("auth.list-users", 200),
    // Before update-user, whose role change voids the sample's access token.
    ("auth.end-all-sessions", 204),
    ("auth.update-user", 200),
    ("auth.list-audit", 200),
    ("auth.end-user-sessions", 204),
    // The sample account turned two-factor off itself above: the documented 409.
    ("auth.reset-user-2fa", 409),
    ("auth.logout", 204),
];

fn load(name: &str) -> String {
    std::fs::read_to_string(root().join("events").join(format!("{name}.json"))).unwrap()
}

/// Replaces `{{name}}` placeholders with values learnt from earlier responses, and
/// `{{token:ROLE}}` with fresh tokens.
fn substitute(app: &TestApp, text: &str, values: &HashMap<&str, String>) -> String {
    let mut text = text.to_owned();
    for (name, value) in values {
        text = text.replace(&format!("{{{{{name}}}}}"), value);
    }
    for role in Role::ALL {
        text = text.replace(
            &format!("{{{{token:{}}}}}", role.as_str()),
            &app.token(role),
        );
    }
    text
}

/// Remembers what later events need from a response.
fn learn(name: &str, body: &serde_json::Value, values: &mut HashMap<&'static str, String>) {
    let mut keep = |key: &'static str, value: &serde_json::Value| {
        if let Some(v) = value.as_str() {
            values.insert(key, v.to_owned());
        } else if let Some(n) = value.as_i64() {
            values.insert(key, n.to_string());
        }
    };
    match name {
        "products.create" => keep("product_id", &body["id"]),
        "products.add-image" => keep("image_id", &body["image"]["id"]),
        "stock.create-warehouse" => keep("warehouse_id", &body["id"]),
        "stock.reserve" => keep("reservation_id", &body["id"]),
        "purchasing.create-supplier" => keep("supplier_id", &body["id"]),
        "personas.generate" => keep("persona_id", &body["personas"][0]["id"]),
        "purchasing.create-po" => keep("purchase_order_id", &body["id"]),
        "orders.create" => {
            keep("order_id", &body["id"]);
            keep("razorpay_order_id", &body["razorpay_order_id"]);
            keep("amount", &body["amount"]);
        }
        "auth.login" | "auth.refresh" | "auth.change-password" => {
            keep("access_token", &body["access_token"]);
            keep("refresh_token", &body["refresh_token"]);
        }
        "auth.me" => keep("user_id", &body["id"]),
        "orders.cart-set-line-anonymous" => keep("cart_token", &body["cart_token"]),
        "orders.cart-get" => keep("cart_total", &body["total"]),
        "shipments.list-for-order" => keep("shipment_id", &body["items"][0]["id"]),
        "auth.list-sessions" => keep("session_id", &body["items"][0]["id"]),
        "auth.2fa-setup" => {
            let secret = body["secret"].as_str().unwrap();
            let now = time::OffsetDateTime::now_utc()
                .unix_timestamp()
                .unsigned_abs();
            values.insert("totp_code", two_factor::code_at(secret, now).unwrap());
        }
        "auth.2fa-enable" => keep("recovery_code", &body["recovery_codes"][0]),
        _ => {}
    }
}

#[tokio::test]
async fn every_sample_event_replays_through_its_handler() {
    let app = TestApp::spawn().await;
    let mut values: HashMap<&'static str, String> = HashMap::new();
    values.insert(
        "carrier_occurred_at",
        time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap(),
    );
    for (name, expected) in SCRIPT {
        if name == "search.query" {
            // The index is built from the table, as the rebuild does after deployment.
            search::rebuild(&app.search).await.unwrap();
        }
        let mut event = substitute(&app, &load(name), &values);
        if name == "payments-webhook.razorpay" {
            // Signed the way Razorpay signs: HMAC-SHA256 of the raw body.
            let raw: serde_json::Value = serde_json::from_str(&event).unwrap();
            let signature = shared::payments::sign_hex(
                stockroom_tests::RAZORPAY_WEBHOOK_SECRET,
                raw["body"].as_str().unwrap().as_bytes(),
            );
            event = event.replace("{{webhook_signature}}", &signature);
        }
        if name == "shipments.carrier-update" {
            // Signed the way a carrier signs: HMAC-SHA256 of the raw body.
            let raw: serde_json::Value = serde_json::from_str(&event).unwrap();
            let signature = shared::auth::sign_hex(
                stockroom_tests::CARRIER_WEBHOOK_SECRET,
                raw["body"].as_str().unwrap().as_bytes(),
            );
            event = event.replace("{{carrier_signature}}", &signature);
        }
        // What `make google-token EMAIL=...` prints on the local stack.
        event = event.replace(
            "{{google_id_token}}",
            &app.google.id_token("events-google@example.com"),
        );
        assert!(
            !event.contains("{{"),
            "{name}.json has an unknown placeholder"
        );
        let request = lambda_http::request::from_str(&event)
            .unwrap_or_else(|e| panic!("{name}.json is not an API Gateway event: {e}"));
        let raw: serde_json::Value = serde_json::from_str(&event).unwrap();
        let response = app.call(request).await;
        assert_eq!(
            response.status,
            StatusCode::from_u16(expected).unwrap(),
            "{name}: {}",
            response.text
        );
        assert_eq!(
            response.header("x-request-id"),
            raw["requestContext"]["requestId"].as_str(),
            "{name}: the API Gateway request id is the response's request id"
        );
        learn(name, &response.body, &mut values);
        if name == "purchasing.create-po" {
            // A second draft, for the cancel event.
            let second = event.replace("Restock before Diwali", "Spare order");
            let placed = app
                .call(lambda_http::request::from_str(&second).unwrap())
                .await;
            assert_eq!(placed.status, StatusCode::CREATED, "{}", placed.text);
            values.insert(
                "cancel_purchase_order_id",
                placed.body["id"].as_str().unwrap().to_owned(),
            );
        }
        if name == "orders.create" {
            // The customer pays at the (stand-in) checkout ...
            let paid = app
                .razorpay
                .pay(
                    &values["razorpay_order_id"],
                    razorpay_local::PayOutcome::Captured,
                    None,
                )
                .unwrap();
            values.insert("payment_id", paid.payment_id);
            values.insert("checkout_signature", paid.signature);
            values.insert("event_id", "evt_SampleDelivery01".into());
            values.insert(
                "created_at",
                time::OffsetDateTime::now_utc().unix_timestamp().to_string(),
            );
            // ... and places a second order, which the cancel event cancels.
            let second = event.replace("checkout-7f3a-0001", "checkout-7f3a-0002");
            let placed = app
                .call(lambda_http::request::from_str(&second).unwrap())
                .await;
            assert_eq!(placed.status, StatusCode::CREATED, "{}", placed.text);
            values.insert(
                "cancel_order_id",
                placed.body["id"].as_str().unwrap().to_owned(),
            );
        }
        if name == "stock.reserve" {
            // A second hold, for the release event (the first one gets committed).
            let second = event.replace("order-1001-reserve", "order-1002-reserve");
            let held = app
                .call(lambda_http::request::from_str(&second).unwrap())
                .await;
            assert_eq!(held.status, StatusCode::CREATED, "{}", held.text);
            values.insert(
                "released_reservation_id",
                held.body["id"].as_str().unwrap().to_owned(),
            );
        }
    }
}

#[tokio::test]
async fn there_is_a_sample_event_for_every_route() {
    let declared: BTreeSet<String> = template()
        .routes()
        .unwrap()
        .into_iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    let sampled: BTreeSet<String> = SCRIPT
        .iter()
        .map(|(name, _)| {
            let raw: serde_json::Value = serde_json::from_str(&load(name)).unwrap();
            raw["routeKey"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(sampled, declared);
    let files = std::fs::read_dir(root().join("events"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "json")
        })
        .count();
    assert_eq!(files, SCRIPT.len(), "every event file is replayed");
}
