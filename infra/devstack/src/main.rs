//! `devstack`: the local stack's helper, called by `infra/dev.sh` and `make token`.
//!
//! ```text
//! devstack resources <template> <prefix>   create tables and buckets; print NAME=value lines
//! devstack jwks <key-file>                 print the JWKS of the local signing key (created on first use)
//! devstack token <key-file> <role> [sub] [ttl-seconds]
//! ```

use std::path::Path;

use anyhow::{Result, anyhow, bail};
use aws_config::BehaviorVersion;
use shared::auth::Role;

const KID: &str = "local-dev-1";

const USAGE: &str = "\
devstack resources <template> <prefix>   create tables and buckets; print NAME=value lines
devstack jwks <key-file>                 print the JWKS of the local signing key (created on first use)
devstack token <key-file> <role> [sub] [ttl-seconds]
devstack admin <email>                   create or promote an admin in TABLE_NAME (password from $PASSWORD)
devstack keygen <kid>                    print a new signing key as secret JSON, and its JWKS
devstack reindex                         rebuild the search index from the table and publish it
                                         (reads the functions' environment: TABLE_NAME, MEDIA_BUCKET, ...)
devstack index-stream                    rebuild, then follow the table's stream and apply every batch
                                         with the search indexer's handler (what `make dev` runs)
devstack live <template> <ws-port>       serve the WebSocket API on ws://localhost:<ws-port> (a local gateway) and
                                         carry domain events to it: stream, forwarder, bus, queue, notifications
                                         (what `make dev` runs; reads the functions' environment)
devstack outbox                          print every message the stack sent (e-mail and SMS, through the
                                         moto at AWS_ENDPOINT_URL_SESV2) as JSON lines, oldest first
devstack migrate [<name> [--dry-run]]    run a data migration on TABLE_NAME to the end, resumably, printing
                                         progress as JSON lines (without a name: list them)
devstack sweep [every-seconds]           run the stock-sweeper's sweep now and then every few seconds
                                         (default 10): unpaid orders expire, ended holds are released
devstack restore-drill <table> [--at <RFC 3339 time>] [--keep]
                                         restore <table> to a point in time (default: the latest) into a new
                                         table, check its invariants, print the report as JSON, delete the copy;
                                         exits 1 when an invariant does not hold
devstack smoke <api-url> <smoke-secret-id> <razorpay-secret-id>
                                         the post-deployment smoke test: health, sign in as the smoke user, read
                                         their paid order, replay a signed payment.captured webhook for it, read
                                         it again (unchanged); exits 1 naming the step that failed";

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, what: &str| -> Result<&str> {
        args.get(i)
            .map(String::as_str)
            .ok_or_else(|| anyhow!("missing argument: {what} (see `devstack help`)"))
    };
    match args.first().map(String::as_str) {
        Some("resources") => resources(arg(1, "template")?, arg(2, "prefix")?).await,
        Some("jwks") => {
            let key = devstack::load_or_create_signing_key(Path::new(arg(1, "key file")?), KID)?;
            let jwk = key.public_jwk().map_err(|e| anyhow!(e))?;
            println!("{}", serde_json::json!({ "keys": [jwk] }));
            Ok(())
        }
        Some("token") => {
            let key = devstack::load_or_create_signing_key(Path::new(arg(1, "key file")?), KID)?;
            let role_name = arg(2, "role")?;
            let role: Role =
                serde_json::from_value(serde_json::json!(role_name)).map_err(|_| {
                    anyhow!("unknown role '{role_name}'; use admin, manager, staff or customer")
                })?;
            let default_sub = format!("dev-{role_name}");
            let sub = args.get(3).map_or(default_sub.as_str(), String::as_str);
            let ttl = match args.get(4) {
                Some(t) => t
                    .parse()
                    .map_err(|_| anyhow!("ttl must be whole seconds, got '{t}'"))?,
                None => 3600,
            };
            let env = |k: &str, d: &str| std::env::var(k).unwrap_or_else(|_| d.to_owned());
            let token = devstack::mint_token(
                &key,
                sub,
                role,
                &env("AUTH_ISSUER", "stockroom"),
                &env("AUTH_AUDIENCE", "stockroom-api"),
                ttl,
            )?;
            println!("{token}");
            Ok(())
        }
        Some("admin") => admin(arg(1, "email")?).await,
        Some("migrate") => migrate(&args[1..]).await,
        Some("restore-drill") => restore_drill(&args[1..]).await,
        Some("smoke") => {
            smoke(
                arg(1, "api url")?,
                arg(2, "smoke secret id")?,
                arg(3, "razorpay secret id")?,
            )
            .await
        }
        Some("reindex") => reindex().await,
        Some("index-stream") => index_stream().await,
        Some("live") => live(arg(1, "template")?, arg(2, "ws port")?).await,
        Some("outbox") => {
            let endpoint = std::env::var("AWS_ENDPOINT_URL_SESV2")
                .map_err(|_| anyhow!("AWS_ENDPOINT_URL_SESV2 is not set; run make dev first"))?;
            for message in devstack::outbox(&endpoint).await? {
                println!("{}", serde_json::to_string(&message)?);
            }
            Ok(())
        }
        Some("sweep") => {
            let every = match args.get(1) {
                Some(s) => s
                    .parse()
                    .map_err(|_| anyhow!("every-seconds must be whole seconds, got '{s}'"))?,
                None => 10,
            };
            sweep(every).await
        }
        Some("keygen") => {
            let key = shared::auth::SigningKey::generate(arg(1, "kid")?).map_err(|e| anyhow!(e))?;
            let jwk = key.public_jwk().map_err(|e| anyhow!(e))?;
            println!("secret (store in Secrets Manager, never in the repository):");
            println!("{}", key.to_secret_json());
            println!("AuthJwks parameter (public):");
            println!("{}", serde_json::json!({ "keys": [jwk] }));
            Ok(())
        }
        Some("help" | "--help" | "-h") | None => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => bail!("unknown command '{other}' (see `devstack help`)"),
    }
}

/// Creates the template's tables and buckets named `<prefix>-<logical id>` and prints the
/// function variables that name them, e.g. `TABLE_NAME=stockroom-dev-table`.
async fn resources(template: &str, prefix: &str) -> Result<()> {
    let template = devstack::Template::load(template)?;
    let sdk = aws_config::defaults(BehaviorVersion::latest()).load().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build(),
    );
    let name_of = |id: &str| format!("{prefix}-{}", id.to_ascii_lowercase());
    let mut names = template.create_tables(&dynamodb, name_of).await?;
    names.extend(template.create_buckets(&s3, name_of).await?);
    if let Ok(sender) = std::env::var("MAIL_FROM") {
        devstack::verify_sender(&sdk, &sender).await?;
    }
    for (id, var) in template.variables_naming_resources() {
        if let Some(name) = names.get(&id) {
            println!("{var}={name}");
        }
    }
    Ok(())
}

/// Rebuilds the search index from the table and publishes it to the media bucket.
async fn reindex() -> Result<()> {
    let config = shared::config::Config::from_env().map_err(|e| anyhow!(e))?;
    let clients = shared::aws::AwsClients::from_env(&config).await;
    let app = shared::services::AppState::new(&config, &clients);
    let state =
        <search::SearchState as shared::lambda::FunctionState>::load(&config, &clients, app)
            .await?;
    let report = search::rebuild(&state).await.map_err(|e| anyhow!("{e}"))?;
    println!(
        "published search index version {} ({} products)",
        report.version.unwrap_or_default(),
        report.documents
    );
    Ok(())
}

/// Runs the stock-sweeper's sweep every `every` seconds, as its schedule does in AWS (there
/// every minute; more often here, so an expired hold shows within seconds).
async fn sweep(every: u64) -> Result<()> {
    shared::telemetry::init_logging();
    let config = shared::config::Config::from_env().map_err(|e| anyhow!(e))?;
    let clients = shared::aws::AwsClients::from_env(&config).await;
    let state = shared::services::AppState::new(&config, &clients);
    println!("sweeping expired holds every {every} s");
    loop {
        match shared::services::sweep::sweep(&state, time::OffsetDateTime::now_utc()).await {
            Ok(swept) if swept == Default::default() => {}
            Ok(swept) => println!(
                "expired {} unpaid orders, released {} reservations, {} left for the next sweep",
                swept.expired_orders, swept.released, swept.failed
            ),
            Err(e) => eprintln!("the sweep failed (trying again): {e}"),
        }
        tokio::time::sleep(std::time::Duration::from_secs(every.max(1))).await;
    }
}

/// Follows the table's stream and keeps the search index fresh, as the search-indexer function
/// does in AWS: batches go to the same handler, and records it reports failed are retried.
/// Serves the WebSocket API locally and carries domain events to it, until stopped.
async fn live(template: &str, port: &str) -> Result<()> {
    shared::telemetry::init_logging();
    let port: u16 = port
        .parse()
        .map_err(|_| anyhow!("ws port must be a port number, got '{port}'"))?;
    let template = devstack::Template::load(template)?;
    let config = shared::config::Config::from_env().map_err(|e| anyhow!(e))?;
    let clients = shared::aws::AwsClients::from_env(&config).await;
    let state = shared::services::AppState::new(&config, &clients);
    let mut live = devstack::live::Live::start(
        &state,
        &clients.sdk,
        &template,
        "stockroom-dev",
        std::net::SocketAddr::from(([127, 0, 0, 1], port)),
    )
    .await?;
    println!(
        "WebSocket API on {} (management endpoint {}); carrying domain events",
        live.gateway.url(),
        live.gateway.endpoint()
    );
    loop {
        if let Err(e) = live.pipeline.step().await {
            eprintln!("carrying events failed (retrying): {e:#}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}

async fn index_stream() -> Result<()> {
    shared::telemetry::init_logging();
    let config = shared::config::Config::from_env().map_err(|e| anyhow!(e))?;
    let clients = shared::aws::AwsClients::from_env(&config).await;
    let indexer = shared::services::AppState::new(&config, &clients).indexer();
    let mut poller = devstack::StreamPoller::new(
        &clients.sdk,
        &clients.dynamodb,
        config.table_name.as_str(),
        false,
    )
    .await?;
    // Take the stream's current position first, so nothing written during the rebuild is missed.
    poller.poll().await?;
    let report = indexer.rebuild().await.map_err(|e| anyhow!("{e}"))?;
    println!(
        "search index rebuilt: {} products; following the table's stream",
        report.documents
    );
    let mut pending = Vec::new();
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        match poller.poll().await {
            Ok(mut records) => pending.append(&mut records),
            Err(e) => {
                eprintln!("reading the stream failed (retrying): {e:#}");
                continue;
            }
        }
        if pending.is_empty() {
            continue;
        }
        let (report, retry) = devstack::index_batch(&indexer, std::mem::take(&mut pending)).await;
        if report.changed > 0 || report.failed > 0 {
            println!(
                "indexed {} products: {} changed, version {:?}, {} records to retry",
                report.products, report.changed, report.version, report.failed
            );
        }
        pending = retry;
    }
}

/// Creates the account `email` as an admin, or promotes it, in the table named by
/// `TABLE_NAME` (the local stack's, or a deployed one with AWS credentials).
/// `devstack migrate [<name> [--dry-run]]`: runs a data migration on `TABLE_NAME` to the end,
/// page by page, printing progress; without a name, lists them.
async fn migrate(args: &[String]) -> Result<()> {
    let Some(name) = args.first() else {
        for (name, what) in shared::store::MIGRATIONS {
            println!("{name:<22} {what}");
        }
        return Ok(());
    };
    let dry_run = match args.get(1).map(String::as_str) {
        None => false,
        Some("--dry-run") => true,
        Some(other) => bail!("unknown option '{other}' (only --dry-run)"),
    };
    if !shared::store::MIGRATIONS.iter().any(|(n, _)| n == name) {
        bail!("no migration '{name}' (`devstack migrate` lists them)");
    }
    let table = std::env::var("TABLE_NAME").map_err(|_| anyhow!("set TABLE_NAME"))?;
    let sdk = aws_config::defaults(BehaviorVersion::latest()).load().await;
    let migrations = shared::store::Migrations::new(shared::store::Table::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        table,
    ));
    if dry_run {
        // A dry run records nothing, so it reads the table in one go.
        let report = migrations
            .run(name, true, 500, None)
            .await
            .map_err(|e| anyhow!("{name}: {e}"))?;
        println!("{}", serde_json::to_string(&report)?);
        return Ok(());
    }
    loop {
        // A page at a time, so progress shows (and is recorded) as it goes.
        let report = migrations
            .run(name, false, 500, Some(1))
            .await
            .map_err(|e| anyhow!("{name}: {e}"))?;
        println!("{}", serde_json::to_string(&report)?);
        if report.done {
            return Ok(());
        }
    }
}

/// `devstack restore-drill <table> [--at <time>] [--keep]`.
async fn restore_drill(args: &[String]) -> Result<()> {
    let Some(source) = args.first() else {
        bail!("missing argument: table (see `devstack help`)");
    };
    let mut drill = devstack::Drill {
        source: source.clone(),
        at: None,
        keep: false,
        wait: std::time::Duration::from_secs(4 * 3600),
        poll: std::time::Duration::from_secs(15),
    };
    let mut rest = args[1..].iter();
    while let Some(option) = rest.next() {
        match option.as_str() {
            "--keep" => drill.keep = true,
            "--at" => {
                let at = rest.next().ok_or_else(|| anyhow!("--at needs a time"))?;
                drill.at = Some(
                    time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339)
                        .map_err(|e| anyhow!("--at {at}: not an RFC 3339 time: {e}"))?,
                );
            }
            other => bail!("unknown option '{other}' (--at <time>, --keep)"),
        }
    }
    let sdk = aws_config::defaults(BehaviorVersion::latest()).load().await;
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    let stamp = time::OffsetDateTime::now_utc().unix_timestamp();
    // Interrupted, it still deletes its copy: it holds the table's data.
    let report = tokio::select! {
        report = drill.run(&client, stamp) => report?,
        _ = tokio::signal::ctrl_c() => {
            let target = drill.target(stamp);
            eprintln!("interrupted: deleting {target} (it may still be restoring; waiting for that)");
            devstack::delete_copy(&client, &target, drill.poll).await;
            bail!("interrupted");
        }
    };
    println!("{}", serde_json::to_string_pretty(&report)?);
    if !report.invariants.holds() {
        bail!(
            "{} invariant violations in the restored copy of {source}",
            report.invariants.violation_count
        );
    }
    Ok(())
}

/// `devstack smoke <api-url> <smoke-secret-id> <razorpay-secret-id>`.
async fn smoke(url: &str, user_secret: &str, razorpay_secret: &str) -> Result<()> {
    let sdk = aws_config::defaults(BehaviorVersion::latest()).load().await;
    let smoke = devstack::Smoke::from_secrets(&sdk, url, user_secret, razorpay_secret).await?;
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()?;
    for step in smoke.run(&client).await? {
        println!("ok: {step}");
    }
    Ok(())
}

async fn admin(email: &str) -> Result<()> {
    let password = std::env::var("PASSWORD").unwrap_or_default();
    let table = std::env::var("TABLE_NAME").map_err(|_| anyhow!("set TABLE_NAME"))?;
    let sdk = aws_config::defaults(BehaviorVersion::latest()).load().await;
    let table = shared::store::Table::new(aws_sdk_dynamodb::Client::new(&sdk), table);
    let outcome = auth::bootstrap_admin(&table, email, &password)
        .await
        .map_err(|e| anyhow!(e))?;
    println!("{outcome}");
    Ok(())
}
