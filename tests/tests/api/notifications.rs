//! Live updates end to end: a real WebSocket client (tokio-tungstenite) connected to the local
//! gateway, events carried from the table's stream through the forwarder, moto's EventBridge
//! and SQS to the notifications function, and posted back through the gateway's management
//! endpoint with the real SDK.

use futures::{SinkExt, StreamExt};
use http::{Method, StatusCode};
use serde_json::{Value, json};
use shared::auth::Role;
use shared::domain::notification::Connection;
use shared::store::ConnectionStore;
use stockroom_tests::{CARRIER_WEBHOOK_SECRET, TestApp};
use tokio_tungstenite::tungstenite::{self, Message};

use crate::orders_support::{order, pay, shop};
use crate::shipments::{carrier, update};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(live: &devstack::live::Live, token: &str) -> Socket {
    tokio_tungstenite::connect_async(format!("{}/?token={token}", live.gateway.url()))
        .await
        .unwrap()
        .0
}

/// The HTTP status a connection attempt with `query` is refused with.
async fn refused(live: &devstack::live::Live, query: &str) -> StatusCode {
    match tokio_tungstenite::connect_async(format!("{}/{query}", live.gateway.url())).await {
        Err(tungstenite::Error::Http(response)) => response.status(),
        Err(e) => panic!("refused otherwise: {e}"),
        Ok(_) => panic!("a connection with {query:?} was accepted"),
    }
}

async fn say(socket: &mut Socket, message: &Value) {
    socket
        .send(Message::Text(message.to_string().into()))
        .await
        .unwrap();
}

/// Sends `message` and answers the reply.
async fn ask(live: &mut devstack::live::Live, socket: &mut Socket, message: Value) -> Value {
    say(socket, &message).await;
    next(live, socket).await
}

/// The next message on `socket`, moving events along the pipeline while waiting (bounded:
/// panics after about 15 s with nothing).
async fn next(live: &mut devstack::live::Live, socket: &mut Socket) -> Value {
    for _ in 0..60 {
        match tokio::time::timeout(std::time::Duration::from_millis(250), socket.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => return serde_json::from_str(&text).unwrap(),
            Ok(Some(Ok(_))) => continue,
            Ok(other) => panic!("the socket ended: {other:?}"),
            Err(_) => {
                live.pipeline.step().await.unwrap();
            }
        }
    }
    panic!("nothing arrived");
}

/// Everything waiting on `socket` once the pipeline has carried all that was written (every
/// post reaches the gateway before `step` returns, so nothing more is on its way).
async fn drain(live: &mut devstack::live::Live, socket: &mut Socket) -> Vec<Value> {
    while live.pipeline.step().await.unwrap() > 0 {}
    let mut got = Vec::new();
    while let Ok(Some(Ok(Message::Text(text)))) =
        tokio::time::timeout(std::time::Duration::from_millis(300), socket.next()).await
    {
        got.push(serde_json::from_str(&text).unwrap());
    }
    got
}

fn types(messages: &[Value]) -> Vec<&str> {
    messages
        .iter()
        .map(|m| m["type"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn a_customer_hears_their_order_paid_then_its_shipment_created_in_order() {
    let app = TestApp::spawn().await;
    let mut live = app.live().await;
    let shop = shop(&app).await;
    let mut socket = connect(&live, &app.token(Role::Customer)).await;
    let placed = order(&app, &shop).await;
    assert_eq!(next(&mut live, &mut socket).await["type"], "order.placed");
    pay(&app, &placed).await;
    let paid = next(&mut live, &mut socket).await;
    let shipment = next(&mut live, &mut socket).await;
    assert_eq!(paid["type"], "order.paid", "{paid}");
    assert_eq!(shipment["type"], "shipment.created", "{shipment}");
    // The documented shape, nothing more: id, type, occurred_at, data.
    let keys: Vec<&String> = paid.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["data", "id", "occurred_at", "type"]);
    assert_eq!(paid["data"]["order_id"], placed["id"]);
    assert!(paid["id"].as_str() < shipment["id"].as_str());
    // The same events the outbox holds, sent as published.
    let stored = app.domain_events(Some("order.paid")).await;
    assert_eq!(paid["id"], stored[0]["id"]);
    assert_eq!(paid["data"], stored[0]["data"]);
}

#[tokio::test]
async fn a_connection_without_a_valid_token_is_refused() {
    let app = TestApp::spawn().await;
    let live = app.live().await;
    assert_eq!(refused(&live, "").await, StatusCode::UNAUTHORIZED);
    assert_eq!(refused(&live, "?token=").await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        refused(&live, "?token=not.a.token").await,
        StatusCode::UNAUTHORIZED
    );
    let expired = app.token_for("user-customer", Role::Customer, -60);
    assert_eq!(
        refused(&live, &format!("?token={expired}")).await,
        StatusCode::UNAUTHORIZED
    );
    // A token of another issuer's key.
    let stranger = shared::auth::SigningKey::generate("local-dev-1").unwrap();
    let forged = devstack::mint_token(
        &stranger,
        "user-admin",
        Role::Admin,
        &app.config.token_issuer,
        &app.config.token_audience,
        300,
    )
    .unwrap();
    assert_eq!(
        refused(&live, &format!("?token={forged}")).await,
        StatusCode::UNAUTHORIZED
    );
    // A revoked token (the account signed out everywhere since).
    let r = app.register_and_login("revoked@example.com").await;
    let access = r.body["access_token"].as_str().unwrap().to_owned();
    let r = app
        .send_with_token(Method::DELETE, "/v1/auth/sessions", &access, None, &[])
        .await;
    assert!(r.status.is_success(), "{}", r.text);
    assert_eq!(
        refused(&live, &format!("?token={access}")).await,
        StatusCode::UNAUTHORIZED
    );
    // Nothing was stored for any of them.
    assert!(
        !app.table_dump()
            .await
            .iter()
            .any(|i| i.contains("CONNECTION#"))
    );
}

#[tokio::test]
async fn a_second_customer_never_hears_the_first_ones_events() {
    let app = TestApp::spawn().await;
    let mut live = app.live().await;
    let shop = shop(&app).await;
    let mut first = connect(&live, &app.token(Role::Customer)).await;
    let mut second = connect(
        &live,
        &app.token_for("user-someone-else", Role::Customer, 300),
    )
    .await;
    let placed = order(&app, &shop).await;
    pay(&app, &placed).await;
    let heard = drain(&mut live, &mut first).await;
    // The loyalty function settled the paid order: the customer's first badge, heard too.
    assert_eq!(
        types(&heard),
        [
            "order.placed",
            "order.paid",
            "shipment.created",
            "achievement.awarded"
        ]
    );
    assert_eq!(drain(&mut live, &mut second).await, Vec::<Value>::new());
    // Nor by subscribing to the business of others.
    let reply = ask(
        &mut live,
        &mut second,
        json!({"action": "subscribe", "topics": ["orders"]}),
    )
    .await;
    assert_eq!(reply["type"], "error");
    assert_eq!(reply["status"], 403);
}

#[tokio::test]
async fn a_staff_subscription_to_a_topic_its_role_may_not_see_is_refused() {
    let app = TestApp::spawn().await;
    let mut live = app.live().await;
    let mut staff = connect(&live, &app.token(Role::Staff)).await;
    let reply = ask(
        &mut live,
        &mut staff,
        json!({"action": "subscribe", "topics": ["stock", "purchasing"]}),
    )
    .await;
    assert_eq!(reply["type"], "error", "{reply}");
    assert_eq!(reply["status"], 403);
    assert!(reply["detail"].as_str().unwrap().contains("purchasing"));
    // All or nothing: stock was not subscribed either.
    let mut body = stockroom_tests::product_body(1);
    body["reorder_level"] = json!(5);
    let p = app.create_product(&body).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let w = app.create_warehouse("BLR-1").await;
    let movement = |q: i64, kind: &str| json!({"type": kind, "product_id": p, "warehouse_id": w, "quantity": q});
    app.move_stock(&movement(6, "receive")).await;
    app.move_stock(&movement(2, "ship")).await; // 4: low
    assert_eq!(drain(&mut live, &mut staff).await, Vec::<Value>::new());

    let reply = ask(
        &mut live,
        &mut staff,
        json!({"action": "subscribe", "topics": ["stock", "orders"]}),
    )
    .await;
    assert_eq!(
        reply,
        json!({"type": "subscribed", "topics": ["orders", "stock"]})
    );
    app.move_stock(&movement(4, "ship")).await; // 0: out
    let heard = drain(&mut live, &mut staff).await;
    assert_eq!(types(&heard), ["stock.out"]);
    // A manager may hear of purchasing.
    let mut manager = connect(&live, &app.token(Role::Manager)).await;
    assert_eq!(
        ask(
            &mut live,
            &mut manager,
            json!({"action": "subscribe", "topics": ["purchasing", "stock"]})
        )
        .await["type"],
        "subscribed"
    );
    // Unsubscribing stops it.
    assert_eq!(
        ask(
            &mut live,
            &mut staff,
            json!({"action": "unsubscribe", "topics": ["stock"]})
        )
        .await,
        json!({"type": "unsubscribed", "topics": ["orders"]})
    );
    app.move_stock(&movement(10, "receive")).await; // available again, restocked
    assert_eq!(drain(&mut live, &mut staff).await, Vec::<Value>::new());
    // ... while a subscriber still hears of it.
    assert_eq!(
        types(&drain(&mut live, &mut manager).await),
        ["stock.available", "stock.restocked"]
    );
}

#[tokio::test]
async fn a_connection_stops_hearing_once_its_account_is_signed_out_or_its_grant_taken_back() {
    let app = TestApp::spawn().await;
    let mut live = app.live().await;
    let shop = shop(&app).await;
    let login =
        |r: stockroom_tests::TestResponse| r.body["access_token"].as_str().unwrap().to_owned();
    // A customer who signs out everywhere while connected.
    let leaver = format!("leaver-{}@example.com", uuid::Uuid::new_v4().simple());
    let leaving = login(app.register_verified(&leaver).await);
    let mut leaving_socket = connect(&live, &leaving).await;
    // A customer granted reading every order, subscribed to them, whose grant is taken back.
    let clerk = format!("clerk-{}@example.com", uuid::Uuid::new_v4().simple());
    let clerk_token = login(app.register_verified(&clerk).await);
    let clerk_id = app.account_id(&clerk).await;
    let grant = format!("/v1/users/{clerk_id}/grants/read_all_orders");
    let r = app
        .send_json(Method::PUT, &grant, Role::Admin, &json!({}), &[])
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let mut clerk_socket = connect(&live, &clerk_token).await;
    say(
        &mut clerk_socket,
        &json!({"action": "subscribe", "topics": ["orders"]}),
    )
    .await;
    assert_eq!(
        next(&mut live, &mut clerk_socket).await["type"],
        "subscribed"
    );
    order(&app, &shop).await;
    assert_eq!(
        types(&drain(&mut live, &mut clerk_socket).await),
        ["order.placed"]
    );

    let r = app
        .send_with_token(Method::DELETE, "/v1/auth/sessions", &leaving, None, &[])
        .await;
    assert!(r.status.is_success(), "{}", r.text);
    let r = app
        .send_json(Method::DELETE, &grant, Role::Admin, &json!({}), &[])
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // Deliveries read an account's standing from a copy at most 10 s old, as HTTP reads do.
    tokio::time::sleep(std::time::Duration::from_millis(10_500)).await;

    // The leaver orders again from a new sign-in: the old connection is closed, not told.
    let fresh = login(app.login(&leaver, stockroom_tests::STRONG_PASSWORD).await);
    let key = uuid::Uuid::new_v4().to_string();
    let r = app
        .send_with_token(
            Method::POST,
            "/v1/orders",
            &fresh,
            Some(&json!({"lines": [{"product_id": shop.p1, "quantity": 1}]})),
            &[("idempotency-key", &key)],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    order(&app, &shop).await;
    while live.pipeline.step().await.unwrap() > 0 {}
    loop {
        match tokio::time::timeout(std::time::Duration::from_secs(5), leaving_socket.next())
            .await
            .unwrap()
        {
            Some(Ok(Message::Close(_))) | None => break,
            Some(Ok(Message::Text(text))) => panic!("a revoked connection was sent {text}"),
            Some(_) => {}
        }
    }
    // The clerk hears no more orders, and the topic is gone at their next message.
    assert_eq!(
        drain(&mut live, &mut clerk_socket).await,
        Vec::<Value>::new()
    );
    assert_eq!(
        ask(
            &mut live,
            &mut clerk_socket,
            json!({"action": "unsubscribe", "topics": ["stock"]})
        )
        .await,
        json!({"type": "unsubscribed", "topics": []})
    );
}

#[tokio::test]
async fn resume_after_a_disconnect_delivers_the_missed_events_exactly_once_each() {
    let app = TestApp::spawn().await;
    let mut live = app.live().await;
    let shop = shop(&app).await;
    let token = app.token(Role::Customer);
    let mut socket = connect(&live, &token).await;
    let first = order(&app, &shop).await;
    let seen = next(&mut live, &mut socket).await;
    assert_eq!(seen["type"], "order.placed");
    socket.close(None).await.unwrap();
    drop(socket);
    // While away: the first order is paid, a second is placed and cancelled.
    pay(&app, &first).await;
    let second = order(&app, &shop).await;
    let r = app
        .send_json(
            Method::POST,
            &format!("/v1/orders/{}/cancel", second["id"].as_str().unwrap()),
            Role::Customer,
            &json!({}),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    while live.pipeline.step().await.unwrap() > 0 {}

    let mut socket = connect(&live, &token).await;
    assert_eq!(drain(&mut live, &mut socket).await, Vec::<Value>::new());
    say(
        &mut socket,
        &json!({"action": "resume", "after": seen["id"]}),
    )
    .await;
    let mut replayed = Vec::new();
    let reply = loop {
        let m = next(&mut live, &mut socket).await;
        if m["type"] == "resumed" {
            break m;
        }
        replayed.push(m);
    };
    let missed: Vec<Value> = app
        .domain_events(None)
        .await
        .into_iter()
        .filter(|e| e["data"]["customer_id"] == "user-customer" && e["type"] != "order.flagged")
        .filter(|e| e["id"].as_str() > seen["id"].as_str())
        .collect();
    assert_eq!(
        types(&missed),
        [
            "order.paid",
            "shipment.created",
            "order.placed",
            "order.cancelled",
            // The loyalty function's, for the paid order (it ran when the pipeline moved).
            "achievement.awarded"
        ]
    );
    let ids = |m: &[Value]| m.iter().map(|e| e["id"].clone()).collect::<Vec<_>>();
    assert_eq!(ids(&replayed), ids(&missed));
    assert_eq!(reply["count"], 5);
    assert_eq!(reply["more"], false);
    assert_eq!(reply["last"], missed[4]["id"]);
    // Resuming again from the last one sends nothing twice.
    assert_eq!(
        ask(
            &mut live,
            &mut socket,
            json!({"action": "resume", "after": reply["last"]})
        )
        .await,
        json!({"type": "resumed", "count": 0, "more": false, "last": null})
    );
}

#[tokio::test]
async fn hostile_messages_get_precise_errors_and_change_nothing() {
    let app = TestApp::spawn().await;
    let mut live = app.live().await;
    let mut socket = connect(&live, &app.token(Role::Staff)).await;
    let cases = [
        ("not json".to_owned(), 400),
        (json!({"no": "action"}).to_string(), 400),
        (json!({"action": "dance"}).to_string(), 400),
        (json!({"action": "subscribe"}).to_string(), 422),
        (
            json!({"action": "subscribe", "topics": []}).to_string(),
            422,
        ),
        (
            json!({"action": "subscribe", "topics": ["gossip"]}).to_string(),
            422,
        ),
        (
            json!({"action": "subscribe", "topics": [7]}).to_string(),
            422,
        ),
        (json!({"action": "resume"}).to_string(), 422),
        (
            json!({"action": "resume", "after": "x'; DROP"}).to_string(),
            422,
        ),
        // A v4 id is not an event id.
        (
            json!({"action": "resume", "after": uuid::Uuid::new_v4()}).to_string(),
            422,
        ),
        // An event older than the resume window.
        (
            json!({"action": "resume", "after": shared::domain::notification::first_id_at(
                time::OffsetDateTime::now_utc() - time::Duration::days(2)
            )})
            .to_string(),
            410,
        ),
    ];
    for (message, status) in cases {
        socket
            .send(Message::Text(message.clone().into()))
            .await
            .unwrap();
        let reply = next(&mut live, &mut socket).await;
        assert_eq!(reply["type"], "error", "{message}: {reply}");
        assert_eq!(reply["status"], status, "{message}: {reply}");
    }
    // The connection still works and subscribed to nothing.
    assert_eq!(
        ask(
            &mut live,
            &mut socket,
            json!({"action": "unsubscribe", "topics": ["stock"]})
        )
        .await,
        json!({"type": "unsubscribed", "topics": []})
    );
}

#[tokio::test]
async fn a_connection_that_is_gone_is_forgotten_and_one_whose_token_expired_is_closed() {
    let app = TestApp::spawn().await;
    let mut live = app.live().await;
    let shop = shop(&app).await;
    let connections = ConnectionStore::new(app.state.table.clone());
    // A connection API Gateway no longer has (its $disconnect never came).
    let now = time::OffsetDateTime::now_utc();
    let ghost = Connection::opened(
        "ghost",
        "user-customer",
        Role::Customer,
        0,
        now + time::Duration::minutes(5),
        now,
    );
    connections.open(&ghost).await.unwrap();
    // A token that expires in a moment.
    let mut fading = connect(&live, &app.token_for("user-customer", Role::Customer, 2)).await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    order(&app, &shop).await;
    while live.pipeline.step().await.unwrap() > 0 {}
    assert!(connections.get("ghost").await.unwrap().is_none());
    // The expired connection is closed by the server, not sent the event.
    loop {
        match tokio::time::timeout(std::time::Duration::from_secs(5), fading.next())
            .await
            .unwrap()
        {
            Some(Ok(Message::Close(_))) | None => break,
            Some(Ok(Message::Text(text))) => panic!("an expired connection was sent {text}"),
            Some(_) => {}
        }
    }
    assert!(
        !app.table_dump()
            .await
            .iter()
            .any(|i| i.contains("CONNECTION#"))
    );
}

#[tokio::test]
async fn a_replayed_or_forged_carrier_update_is_not_announced() {
    let app = TestApp::spawn().await;
    let mut live = app.live().await;
    let shop = shop(&app).await;
    let mut socket = connect(&live, &app.token(Role::Customer)).await;
    let placed = order(&app, &shop).await;
    pay(&app, &placed).await;
    drain(&mut live, &mut socket).await;
    let shipment = app
        .get(
            &format!("/v1/orders/{}/shipments", placed["id"].as_str().unwrap()),
            Role::Customer,
        )
        .await
        .body["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for action in ["pack", "ship"] {
        let body = if action == "ship" {
            json!({"carrier": "delhivery", "tracking_number": "TRK-1"})
        } else {
            json!({})
        };
        let r = app
            .send_json(
                Method::POST,
                &format!("/v1/shipments/{shipment}/{action}"),
                Role::Staff,
                &body,
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    assert_eq!(
        types(&drain(&mut live, &mut socket).await),
        ["shipment.updated", "shipment.shipped"]
    );
    let update = update("evt-1", "TRK-1", "delivered", 1);
    // Forged: signed with another secret.
    let forged = carrier(&app, &update, Some("not-the-secret")).await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);
    assert_eq!(drain(&mut live, &mut socket).await, Vec::<Value>::new());
    let applied = carrier(&app, &update, Some(CARRIER_WEBHOOK_SECRET)).await;
    assert_eq!(applied.status, StatusCode::OK, "{}", applied.text);
    assert_eq!(
        types(&drain(&mut live, &mut socket).await),
        ["shipment.delivered"]
    );
    // Replayed: applied once, announced once.
    let replayed = carrier(&app, &update, Some(CARRIER_WEBHOOK_SECRET)).await;
    assert_eq!(replayed.body["status"], "duplicate");
    assert_eq!(drain(&mut live, &mut socket).await, Vec::<Value>::new());
}

/// `events/notifications/<name>.json` with its placeholders filled in.
fn sample(name: &str, values: &[(&str, &str)]) -> Value {
    let mut text = std::fs::read_to_string(
        stockroom_tests::root().join(format!("events/notifications/{name}.json")),
    )
    .unwrap();
    for (key, value) in values {
        text = text.replace(&format!("{{{{{key}}}}}"), value);
    }
    assert!(!text.contains("{{"), "{name}: a placeholder left in {text}");
    serde_json::from_str(&text).unwrap()
}

#[tokio::test]
async fn the_sample_events_drive_the_function_as_api_gateway_and_the_queue_send_them() {
    let app = TestApp::spawn().await;
    let live = app.live().await;
    let token = app.token(Role::Staff);
    let now = time::OffsetDateTime::now_utc();
    let recent = shared::domain::notification::first_id_at(now - time::Duration::minutes(1));
    let event_id = uuid::Uuid::now_v7().to_string();
    let values = [
        ("token:staff", token.as_str()),
        ("connection_id", "sample-connection"),
        ("event_id", &event_id),
        ("product_id", "0193a5c2-0000-7000-8000-00000000000p"),
        ("warehouse_id", "0193a5c2-0000-7000-8000-00000000000w"),
    ];
    let call = |name: &str, values: &[(&str, &str)]| {
        let event = sample(name, values);
        let live = &live;
        async move { live.notifications.handle(event).await.unwrap() }
    };
    assert_eq!(call("connect", &values).await["statusCode"], 200);
    let reply = call("subscribe", &values).await;
    assert_eq!(
        serde_json::from_str::<Value>(reply["body"].as_str().unwrap()).unwrap(),
        json!({"type": "subscribed", "topics": ["orders", "stock"]})
    );
    let recent = recent.to_string();
    let resumed = call("resume", &[("event_id", recent.as_str()), values[1]]).await;
    assert_eq!(
        serde_json::from_str::<Value>(resumed["body"].as_str().unwrap()).unwrap()["type"],
        "resumed"
    );
    // The gateway has no such connection: posting is answered 410, and it is forgotten.
    let connections = ConnectionStore::new(app.state.table.clone());
    assert!(
        connections
            .get("sample-connection")
            .await
            .unwrap()
            .is_some()
    );
    let answer = call("queue", &values).await;
    assert_eq!(answer, json!({"batchItemFailures": []}));
    assert!(
        connections
            .get("sample-connection")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(call("disconnect", &values).await["statusCode"], 200);
    // Neither a route nor a batch: an error, not a guess.
    assert!(
        live.notifications
            .handle(json!({"hello": 1}))
            .await
            .is_err()
    );
}

#[test]
fn the_asyncapi_document_describes_every_event_type() {
    let text = std::fs::read_to_string(stockroom_tests::root().join("docs/asyncapi.yaml")).unwrap();
    let doc: Value = serde_norway::from_str(&text).unwrap();
    let described: std::collections::BTreeSet<&str> = doc["components"]["messages"]
        .as_object()
        .unwrap()
        .values()
        .filter_map(|m| m["name"].as_str())
        .collect();
    let emitted: std::collections::BTreeSet<&str> =
        shared::domain::event::TYPES.iter().copied().collect();
    assert_eq!(described, emitted);
    for kind in emitted {
        assert!(
            stockroom_tests::root()
                .join(format!("events/schemas/{kind}.v1.json"))
                .exists()
        );
    }
}
