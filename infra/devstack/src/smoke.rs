//! The post-deployment smoke test (`devstack smoke URL`, run by CI after every deployment to
//! staging): does the deployed API serve a real user end to end? It checks health, signs in as
//! the smoke user, reads the smoke user's paid order, replays a signed `payment.captured`
//! webhook for it, and reads the order again: still paid once, nothing double-counted.
//!
//! The smoke user and order come from a Secrets Manager secret (`{"email", "password",
//! "order_id"}`: a verified account without two-factor, and a paid order of theirs, made once
//! per stage as docs/DEPLOYMENT.md says); the webhook secret from the stage's Razorpay secret.

use anyhow::{Context, Result, bail, ensure};
use serde_json::{Value, json};

/// The smoke user, as its secret holds it.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct SmokeUser {
    /// The account's address.
    pub email: String,
    /// Its password.
    pub password: String,
    /// A paid order of theirs.
    pub order_id: String,
}

/// What a smoke run needs.
#[derive(Debug, Clone)]
pub struct Smoke {
    /// The API's base URL (no trailing slash).
    pub base_url: String,
    /// Who signs in.
    pub user: SmokeUser,
    /// A webhook secret the stage accepts.
    pub webhook_secret: String,
}

/// The sample delivery the smoke test replays (filled in with the smoke order).
const CAPTURED: &str = include_str!("../../../events/razorpay/payment.captured.json");

impl Smoke {
    /// Reads the smoke user from the secret `user_secret` and the first webhook secret from
    /// the Razorpay secret `razorpay_secret` (`{"webhook_secrets": [..], ..}`).
    pub async fn from_secrets(
        sdk: &aws_config::SdkConfig,
        base_url: &str,
        user_secret: &str,
        razorpay_secret: &str,
    ) -> Result<Self> {
        let secrets = aws_sdk_secretsmanager::Client::new(sdk);
        let read = async |id: &str| -> Result<String> {
            secrets
                .get_secret_value()
                .secret_id(id)
                .send()
                .await
                .with_context(|| format!("reading the secret {id}"))?
                .secret_string
                .with_context(|| format!("the secret {id} has no string value"))
        };
        let user: SmokeUser = serde_json::from_str(&read(user_secret).await?)
            .context("the smoke secret must be {\"email\", \"password\", \"order_id\"}")?;
        let razorpay: Value = serde_json::from_str(&read(razorpay_secret).await?)
            .context("the Razorpay secret is not JSON")?;
        let webhook_secret = razorpay["webhook_secrets"][0]
            .as_str()
            .context("the Razorpay secret has no webhook_secrets")?
            .to_owned();
        Ok(Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            user,
            webhook_secret,
        })
    }

    /// Runs every step; answers what each showed, or the first failure, naming its step.
    pub async fn run(&self, client: &reqwest::Client) -> Result<Vec<String>> {
        let mut done = Vec::new();
        let health = self.get(client, "/health", None).await.context("health")?;
        ensure!(
            health.0 == 200,
            "health: /health answered {}: {}",
            health.0,
            health.1
        );
        done.push(format!("health: {}", health.1["status"]));

        let login = client
            .post(self.url("/v1/auth/login"))
            .json(&json!({"email": self.user.email, "password": self.user.password}))
            .send()
            .await
            .context("sign in")?;
        let login = answer(login).await.context("sign in")?;
        let Some(token) = login.1["access_token"].as_str().map(str::to_owned) else {
            bail!("sign in: /v1/auth/login answered {}: {}", login.0, login.1);
        };
        done.push(format!("signed in as {}", self.user.email));

        let path = format!("/v1/orders/{}", self.user.order_id);
        let before = self.order(client, &path, &token).await.context("read")?;
        done.push(format!(
            "read order {} ({})",
            self.user.order_id, before["status"]
        ));

        let body = CAPTURED
            .replace("{{razorpay_order_id}}", text(&before, "razorpay_order_id")?)
            .replace("{{order_id}}", &self.user.order_id)
            .replace("{{payment_id}}", text(&before, "payment_id")?)
            .replace("{{amount}}", &before["amount"].to_string())
            .replace("\"INR\"", &before["currency"].to_string());
        let body: Value = serde_json::from_str(&body).context("the sample delivery")?;
        let raw = body.to_string();
        let signature = shared::payments::sign_hex(&self.webhook_secret, raw.as_bytes());
        let event_id = format!("evt_smoke_{}", uuid::Uuid::new_v4().simple());
        let delivered = client
            .post(self.url("/v1/webhooks/razorpay"))
            .header("content-type", "application/json")
            .header("x-razorpay-signature", signature)
            .header("x-razorpay-event-id", &event_id)
            .body(raw)
            .send()
            .await
            .context("webhook")?;
        let status = delivered.status().as_u16();
        ensure!(
            status == 200,
            "webhook: a signed payment.captured answered {status}: {}",
            delivered.text().await.unwrap_or_default()
        );
        done.push(format!("webhook {event_id} acknowledged"));

        let after = self.order(client, &path, &token).await.context("re-read")?;
        ensure!(
            after == before,
            "re-read: the replayed webhook changed the order: {before} -> {after}"
        );
        done.push("the replayed payment changed nothing".into());
        Ok(done)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    async fn get(
        &self,
        client: &reqwest::Client,
        path: &str,
        token: Option<&str>,
    ) -> Result<(u16, Value)> {
        let mut request = client.get(self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        answer(request.send().await?).await
    }

    /// The smoke order, which must be paid (a replayed capture of an unpaid order would pay it).
    async fn order(&self, client: &reqwest::Client, path: &str, token: &str) -> Result<Value> {
        let (status, order) = self.get(client, path, Some(token)).await?;
        ensure!(status == 200, "{path} answered {status}: {order}");
        ensure!(
            order["status"] == "paid",
            "the smoke order must be a paid order of the smoke user; {path} is {}",
            order["status"]
        );
        Ok(order)
    }
}

fn text<'a>(order: &'a Value, field: &str) -> Result<&'a str> {
    order[field]
        .as_str()
        .with_context(|| format!("the smoke order has no {field}: {order}"))
}

async fn answer(response: reqwest::Response) -> Result<(u16, Value)> {
    let status = response.status().as_u16();
    let text = response.text().await?;
    Ok((
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    ))
}
