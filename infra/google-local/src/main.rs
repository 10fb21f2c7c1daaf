//! `google-local`: serves the Google sign-in stand-in on `GOOGLE_LOCAL_PORT` (default 9020),
//! issuing ID tokens to `GOOGLE_CLIENT_IDS`' first client id.

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = std::env::var("GOOGLE_LOCAL_PORT")
        .unwrap_or_else(|_| "9020".into())
        .parse()
        .map_err(|_| "GOOGLE_LOCAL_PORT must be a port number")?;
    let client_id = std::env::var("GOOGLE_CLIENT_IDS")
        .ok()
        .and_then(|ids| ids.split(',').next().map(|id| id.trim().to_owned()))
        .filter(|id| !id.is_empty())
        .ok_or("set GOOGLE_CLIENT_IDS (the client id tokens are issued to)")?;
    let stand_in = google_local::StandIn::new(&client_id)?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| format!("cannot listen on 127.0.0.1:{port} (set GOOGLE_PORT): {e}"))?;
    eprintln!("google-local (a local development stand-in, not Google) on http://127.0.0.1:{port}");
    axum::serve(listener, stand_in.router())
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
