//! `make bench`: request costs of the products API, in process and on the local stack.
//! Writes docs/PERFORMANCE.md.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use http::Method;
use serde_json::json;
use shared::auth::{Role, SigningKey, TokenVerifier};
use shared::domain::product::{NewProductInput, ProductDraft};
use stockroom_tests::bench::{machine, micro, stats, table, write_section};
use stockroom_tests::{TestApp, TestResponse, product_body, root};

/// Times one request and checks it succeeded.
async fn timed(
    samples: &mut Vec<Duration>,
    request: impl std::future::Future<Output = TestResponse>,
) -> TestResponse {
    let start = Instant::now();
    let response = request.await;
    samples.push(start.elapsed());
    assert!(
        response.status.is_success(),
        "{}: {}",
        response.status,
        response.text
    );
    response
}

#[tokio::main]
async fn main() {
    let mut rows = Vec::new();

    // Pure CPU: what every authenticated request pays before any I/O.
    let key = SigningKey::generate("bench").unwrap();
    let jwks = shared::auth::Jwks::parse(&json!({"keys": [key.public_jwk().unwrap()]}).to_string())
        .unwrap();
    let verifier = TokenVerifier::new(jwks, "stockroom", "stockroom-api");
    let token =
        devstack::mint_token(&key, "u", Role::Manager, "stockroom", "stockroom-api", 300).unwrap();
    rows.push(micro("verify access token (EdDSA)", 5_000, || {
        verifier.verify(&token).unwrap();
    }));
    let body = product_body(1).to_string();
    rows.push(micro("parse + validate a product body", 20_000, || {
        let input: NewProductInput = serde_json::from_str(&body).unwrap();
        ProductDraft::parse(input).unwrap();
    }));

    rows.push(micro(
        "hash a password (argon2id, m=19 MiB, t=2)",
        30,
        || {
            shared::auth::passwords::hash("velvet-otter-carries-17-lanterns").unwrap();
        },
    ));
    let stored = shared::auth::passwords::hash("velvet-otter-carries-17-lanterns").unwrap();
    rows.push(micro("verify a password (argon2id)", 30, || {
        shared::auth::passwords::verify("velvet-otter-carries-17-lanterns", Some(&stored)).unwrap();
    }));
    rows.push(micro("sign an access token (EdDSA)", 5_000, || {
        shared::auth::AccessClaims::issue(
            "u",
            Role::Staff,
            "stockroom",
            "stockroom-api",
            std::time::Duration::from_secs(900),
            0,
        )
        .sign(&key)
        .unwrap();
    }));

    let delivery_body = std::fs::read_to_string(root().join("events/razorpay/order.paid.json"))
        .unwrap()
        .replace("{{amount}}", "49900");
    let secrets = shared::payments::WebhookSecrets::new(vec!["bench-secret".into()]).unwrap();
    let signature = shared::payments::sign_hex("bench-secret", delivery_body.as_bytes());
    rows.push(micro(
        &format!(
            "verify a webhook signature (HMAC-SHA256, {} B body)",
            delivery_body.len()
        ),
        20_000,
        || {
            assert!(secrets.verify(delivery_body.as_bytes(), &signature));
        },
    ));
    rows.push(micro(
        "parse a webhook delivery (order.paid)",
        20_000,
        || {
            shared::payments::WebhookEvent::parse(delivery_body.as_bytes()).unwrap();
        },
    ));

    // Through the router and the real adapters, against DynamoDB Local and moto.
    let app = TestApp::spawn().await;
    let n = 300;
    let (mut create, mut read, mut list, mut patch, mut health) =
        (vec![], vec![], vec![], vec![], vec![]);
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let r = timed(&mut create, app.create_product(&product_body(i))).await;
        ids.push(r.body["id"].as_str().unwrap().to_owned());
    }
    for id in &ids {
        timed(
            &mut read,
            app.get(&format!("/v1/products/{id}"), Role::Customer),
        )
        .await;
    }
    for _ in 0..n {
        timed(&mut list, app.get("/v1/products?limit=20", Role::Customer)).await;
    }
    for (i, id) in ids.iter().enumerate() {
        let body = json!({"name": format!("renamed {i}")});
        timed(&mut patch, app.patch_product(id, "\"1\"", &body)).await;
    }
    for _ in 0..100 {
        let request = http::Request::builder()
            .method(Method::GET)
            .uri("/health")
            .body(lambda_http::Body::Empty)
            .unwrap();
        timed(&mut health, app.call(request)).await;
    }
    // A product at the image limit: every read presigns 20 download URLs.
    let pictured = ids[0].clone();
    for _ in 0..shared::domain::product::MAX_IMAGES {
        let r = app
            .add_image(&pictured, "image/png", stockroom_tests::png(64, 64))
            .await;
        assert!(r.status.is_success(), "{}", r.text);
    }
    let mut pictured_reads = vec![];
    for _ in 0..n {
        timed(
            &mut pictured_reads,
            app.get(&format!("/v1/products/{pictured}"), Role::Customer),
        )
        .await;
    }
    // Sign-in: lock checks, account lookup, argon2 verify, audit entry, new refresh family.
    let (mut logins, mut refreshes) = (vec![], vec![]);
    let tokens = app.register_and_login("bench@example.com").await;
    let mut refresh = tokens.body["refresh_token"].as_str().unwrap().to_owned();
    for _ in 0..100 {
        timed(
            &mut logins,
            app.login("bench@example.com", stockroom_tests::STRONG_PASSWORD),
        )
        .await;
    }
    for _ in 0..100 {
        let body = json!({"refresh_token": refresh});
        let r = timed(
            &mut refreshes,
            app.post_anonymous("/v1/auth/refresh", &body),
        )
        .await;
        refresh = r.body["refresh_token"].as_str().unwrap().to_owned();
    }
    // Stock: sequential receipts on one level, then 8 writers shipping from it at once.
    let product = ids[1].clone();
    let warehouse = app.create_warehouse("BENCH-1").await;
    let mut receipts = vec![];
    for _ in 0..200 {
        let body = json!({"type": "receive", "product_id": product, "warehouse_id": warehouse, "quantity": 1});
        timed(&mut receipts, app.move_stock(&body)).await;
    }
    let writers = 8;
    let per_writer = 25;
    let started = Instant::now();
    let outcomes = futures::future::join_all((0..writers).map(|_| {
        let (app, product, warehouse) = (&app, &product, &warehouse);
        async move {
            // Each writer retries a 503 with the same key, as a client should.
            let mut samples = vec![];
            for _ in 0..per_writer {
                let body = json!({"type": "ship", "product_id": product, "warehouse_id": warehouse, "quantity": 1});
                let key = uuid::Uuid::new_v4().to_string();
                let start = Instant::now();
                let mut tries = 0;
                loop {
                    tries += 1;
                    let r = app.move_stock_with_key(&body, &key).await;
                    if r.status.is_success() {
                        break;
                    }
                    assert_eq!(r.status.as_u16(), 503, "{}", r.text);
                }
                samples.push((start.elapsed(), tries));
            }
            samples
        }
    }))
    .await;
    let contended_wall = started.elapsed();
    let on_hand = app.on_hand(&product, &warehouse).await;
    let ledger = app.ledger_sum(&product, &warehouse).await;
    assert_eq!(
        (on_hand, ledger),
        (0, 0),
        "200 received, 200 shipped: the invariant holds"
    );
    let outcomes: Vec<(Duration, u32)> = outcomes.into_iter().flatten().collect();
    let client_retries: u32 = outcomes.iter().map(|(_, tries)| tries - 1).sum();
    let contended: Vec<Duration> = outcomes.into_iter().map(|(d, _)| d).collect();
    let throughput = contended.len() as f64 / contended_wall.as_secs_f64();
    // Orders: place (catalogue read, reservation transaction, Razorpay stand-in over local
    // HTTP, order transaction), then the webhooks that pay them.
    let sold = ids[2].clone();
    let shop = app.create_warehouse("BENCH-2").await;
    let body =
        json!({"type": "receive", "product_id": sold, "warehouse_id": shop, "quantity": 500});
    assert!(app.move_stock(&body).await.status.is_success());
    let (mut placed, mut captured, mut paid_again, mut duplicates) =
        (vec![], vec![], vec![], vec![]);
    for _ in 0..100 {
        let key = uuid::Uuid::new_v4().to_string();
        let body = json!({"lines": [{"product_id": sold, "quantity": 1, "warehouse_id": shop}]});
        let order = timed(
            &mut placed,
            app.send_json(
                Method::POST,
                "/v1/orders",
                Role::Customer,
                &body,
                &[("idempotency-key", &key)],
            ),
        )
        .await;
        let rzp = order.body["razorpay_order_id"].as_str().unwrap();
        let pay = app
            .razorpay
            .pay(rzp, razorpay_local::PayOutcome::Captured, None)
            .unwrap();
        let r = timed(&mut captured, app.deliver(&pay.deliveries[1])).await;
        assert_eq!(r.body["status"], "applied");
        let r = timed(&mut paid_again, app.deliver(&pay.deliveries[2])).await;
        assert_eq!(r.body["status"], "unchanged");
        let r = timed(&mut duplicates, app.deliver(&pay.deliveries[2])).await;
        assert_eq!(r.body["status"], "duplicate");
    }
    assert_eq!(
        app.on_hand(&sold, &shop).await,
        400,
        "100 orders shipped once each"
    );
    rows.push(stats("POST /v1/orders (1 line, Razorpay stand-in)", placed));
    rows.push(stats(
        "POST /v1/webhooks/razorpay (payment.captured: pays, ships)",
        captured,
    ));
    rows.push(stats(
        "POST /v1/webhooks/razorpay (order.paid after capture: unchanged)",
        paid_again,
    ));
    rows.push(stats(
        "POST /v1/webhooks/razorpay (redelivery: duplicate)",
        duplicates,
    ));
    // Personas: template generations, then search and stats over what they stored.
    let (mut generated, mut searched, mut counted) = (vec![], vec![], vec![]);
    let briefs = [
        "Office commuters who cycle",
        "Parents shopping for school uniforms",
        "Retired gardeners buying tools online",
        "Students furnishing a first flat",
        "Trail runners training for a race",
    ];
    for i in 0..100 {
        let body =
            json!({"brief": format!("{} (cohort {i})", briefs[i % briefs.len()]), "count": 5});
        let key = format!("bench-personas-{i}");
        timed(
            &mut generated,
            app.send_json(
                Method::POST,
                "/v1/personas",
                Role::Staff,
                &body,
                &[("idempotency-key", &key)],
            ),
        )
        .await;
    }
    for q in ["cycle", "school%20uniforms", "garden", "flat", "runn"]
        .iter()
        .cycle()
        .take(100)
    {
        let r = timed(
            &mut searched,
            app.get(&format!("/v1/personas/search?q={q}"), Role::Staff),
        )
        .await;
        assert!(r.body["total"].as_u64().unwrap() > 0, "{q}: {}", r.text);
    }
    for _ in 0..30 {
        timed(&mut counted, app.get("/v1/personas/stats", Role::Staff)).await;
    }
    rows.push(stats(
        "POST /v1/personas (template provider, 5 personas)",
        generated,
    ));
    rows.push(stats(
        "GET /v1/personas/search (500 personas stored)",
        searched,
    ));
    rows.push(stats(
        "GET /v1/personas/stats (500 personas stored)",
        counted,
    ));
    rows.push(stats(
        "POST /v1/stock/movements (receive, one writer)",
        receipts,
    ));
    rows.push(stats(
        &format!(
            "POST /v1/stock/movements (ship, {writers} writers on one level, {throughput:.0}/s overall, {client_retries} client retries after 503)"
        ),
        contended,
    ));
    rows.push(stats("POST /v1/auth/login", logins));
    rows.push(stats("POST /v1/auth/refresh", refreshes));
    rows.push(stats("POST /v1/products", create));
    rows.push(stats("GET /v1/products/{id}", read));
    rows.push(stats("GET /v1/products?limit=20", list));
    rows.push(stats("PATCH /v1/products/{id}", patch));
    rows.push(stats(
        "GET /v1/products/{id} with 20 images",
        pictured_reads,
    ));
    rows.push(stats("GET /health", health));

    let mut doc = String::new();
    writeln!(doc, "## Requests\n\nMachine: {}.\n", machine()).unwrap();
    doc.push_str(&table(&rows));
    writeln!(
        doc,
        "\nThe first rows are pure CPU: token verification is what every authenticated request \
         pays in the middleware; password hashing and verification are what registration and \
         sign-in pay by design (OWASP's argon2id parameters). The others go \
         through a function's full router (auth, validation, problem+json, metrics, security \
         headers) and the real DynamoDB/S3 adapters, sequentially, against DynamoDB Local (a Java \
         emulator, slower than DynamoDB) on the same 2-core machine: use them to spot \
         regressions, not to predict latency in AWS. A create is one `TransactWriteItems` \
         (product + SKU claim); a PATCH is a consistent read plus one transaction; a list page \
         is one GSI query (21 items) with no presigning since those products have no images; \
         the product with 20 images shows what presigning its download URLs adds to a read. \
         Stock movements read the level, then commit level + ledger entry + audit entry + \
         idempotency record in one transaction guarded by the level's version; the contended \
         row has 8 tasks shipping from one level at once (losers re-read and retry), and the \
         run asserts afterwards that on_hand and the ledger sum agree. An order is placed with a \
         consistent read of each product and warehouse, one reservation transaction, one \
         Razorpay call (the local stand-in, over HTTP on the same machine) and one order \
         transaction. A webhook that pays an order verifies the HMAC, reads the delivery record, \
         the order link, the order, its reservation and levels, then commits order + \
         reservation + levels + ship movements + delivery record + audit entry in one \
         transaction; a later event that changes nothing still records its delivery; a \
         redelivery stops after one read. Razorpay allows a webhook 5 s. Persona generation with the \
         template provider writes 5 documents to S3 and one transaction of 5 summaries; persona \
         search and stats read every summary (here 500, in pages of 100) and score or count them \
         in memory: the target for search is under 500 ms."
    )
    .unwrap();
    print!("{doc}");
    write_section("requests", doc.trim_end());
}
