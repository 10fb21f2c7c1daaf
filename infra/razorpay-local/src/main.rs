//! `razorpay-local`: serves the stand-in on `RAZORPAY_LOCAL_PORT` (default 9010) and delivers
//! its webhooks to `RAZORPAY_LOCAL_WEBHOOK_URL`. Keys come from `RAZORPAY_KEY_ID`,
//! `RAZORPAY_KEY_SECRET` and `RAZORPAY_WEBHOOK_SECRET` (the first secret signs).

use razorpay_local::{Settings, StandIn};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let var = |name: &str| {
        std::env::var(name).map_err(|_| format!("missing environment variable {name}"))
    };
    let port: u16 = std::env::var("RAZORPAY_LOCAL_PORT")
        .unwrap_or_else(|_| "9010".into())
        .parse()
        .map_err(|_| "RAZORPAY_LOCAL_PORT must be a port number")?;
    let settings = Settings {
        key_id: var("RAZORPAY_KEY_ID")?,
        key_secret: var("RAZORPAY_KEY_SECRET")?,
        webhook_secret: var("RAZORPAY_WEBHOOK_SECRET")?
            .split(',')
            .next()
            .unwrap_or_default()
            .trim()
            .to_owned(),
        webhook_url: std::env::var("RAZORPAY_LOCAL_WEBHOOK_URL").ok(),
    };
    let stand_in = StandIn::new(settings);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| format!("cannot listen on 127.0.0.1:{port} (set RAZORPAY_LOCAL_PORT): {e}"))?;
    eprintln!(
        "razorpay-local (a local development stand-in, not Razorpay) on http://127.0.0.1:{port}"
    );
    axum::serve(listener, stand_in.router())
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
