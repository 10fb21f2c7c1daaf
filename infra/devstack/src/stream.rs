//! Reads a table's DynamoDB stream the way Lambda's event source mapping does, for the local
//! stack: `make dev` feeds each batch to the search indexer's own handler, so a product created
//! with curl is searchable seconds later without AWS.
//!
//! It speaks the Streams JSON protocol itself (SigV4-signed with the SDK's signer) rather than
//! through the SDK client because DynamoDB Local 3.x writes an empty map in a stream image as
//! `{}`, without its `M` tag, which the SDK rightly refuses to parse
//! (awslabs/amazon-dynamodb-local-samples#37). Records are read as Lambda delivers them, and
//! such values are mended to `{"M": {}}` first.

use std::collections::{BTreeMap, BTreeSet};
use std::time::SystemTime;

use anyhow::{Context, Result, anyhow, bail};
use aws_credential_types::provider::ProvideCredentials;
use aws_lambda_events::dynamodb::{Event, EventRecord};
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use serde_json::{Value, json};

/// A reader of every shard of one table's stream.
#[derive(Debug)]
pub struct StreamPoller {
    http: reqwest::Client,
    endpoint: String,
    region: String,
    credentials: aws_credential_types::Credentials,
    arn: String,
    /// Open shards and the last sequence number read from each (`None`: nothing yet).
    positions: BTreeMap<String, Option<String>>,
    /// Shards read to their end.
    finished: BTreeSet<String>,
    /// Whether the first call returns what the stream held before it.
    from_start: bool,
    started: bool,
}

/// Gives an untagged empty attribute value (`{}`), here or nested, its `M` tag back.
fn mend_value(value: &mut Value) {
    if value.as_object().is_some_and(serde_json::Map::is_empty) {
        *value = json!({"M": {}});
    } else if let Some(map) = value.get_mut("M") {
        mend_map(map);
    } else if let Some(Value::Array(items)) = value.get_mut("L") {
        items.iter_mut().for_each(mend_value);
    }
}

/// Mends every attribute value of an item (name → value).
fn mend_map(item: &mut Value) {
    if let Value::Object(map) = item {
        map.values_mut().for_each(mend_value);
    }
}

fn convert(mut record: Value) -> Result<EventRecord> {
    if let Some(change) = record.get_mut("dynamodb") {
        for image in ["Keys", "NewImage", "OldImage"] {
            if let Some(i) = change.get_mut(image) {
                mend_map(i);
            }
        }
    }
    serde_json::from_value(record).context("a stream record Lambda could not deliver")
}

impl StreamPoller {
    /// A poller of `table`'s stream. `from_start` reads what the stream already holds (up to
    /// 24 hours); otherwise only changes made from now on.
    pub async fn new(
        sdk: &aws_config::SdkConfig,
        dynamodb: &aws_sdk_dynamodb::Client,
        table: &str,
        from_start: bool,
    ) -> Result<Self> {
        let described = dynamodb
            .describe_table()
            .table_name(table)
            .send()
            .await
            .with_context(|| format!("describing table {table}"))?;
        let arn = described
            .table()
            .and_then(|t| t.latest_stream_arn())
            .ok_or_else(|| anyhow!("table {table} has no stream"))?
            .to_owned();
        // DynamoDB Local serves streams on the DynamoDB endpoint.
        let endpoint = std::env::var("AWS_ENDPOINT_URL_DYNAMODB_STREAMS")
            .or_else(|_| std::env::var("AWS_ENDPOINT_URL_DYNAMODB"))
            .context("set AWS_ENDPOINT_URL_DYNAMODB to the local stack's DynamoDB")?;
        let credentials = sdk
            .credentials_provider()
            .ok_or_else(|| anyhow!("no AWS credentials configured"))?
            .provide_credentials()
            .await
            .context("loading AWS credentials")?;
        let region = sdk
            .region()
            .map_or_else(|| "us-east-1".to_owned(), ToString::to_string);
        Ok(Self {
            http: reqwest::Client::new(),
            endpoint,
            region,
            credentials,
            arn,
            positions: BTreeMap::new(),
            finished: BTreeSet::new(),
            from_start,
            started: false,
        })
    }

    /// One Streams API call.
    async fn call(&self, operation: &str, body: Value) -> Result<Value> {
        let body = body.to_string();
        let target = format!("DynamoDBStreams_20120810.{operation}");
        let headers = [
            ("content-type", "application/x-amz-json-1.0"),
            ("x-amz-target", target.as_str()),
        ];
        let identity = self.credentials.clone().into();
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("dynamodb")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()?
            .into();
        let signable = SignableRequest::new(
            "POST",
            &self.endpoint,
            headers.iter().copied(),
            SignableBody::Bytes(body.as_bytes()),
        )?;
        let (instructions, _) = sign(signable, &params)?.into_parts();
        let mut request = http::Request::post(&self.endpoint);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let mut request = request.body(body)?;
        instructions.apply_to_request_http1x(&mut request);
        let response = self
            .http
            .execute(reqwest::Request::try_from(request)?)
            .await
            .with_context(|| format!("calling {operation}"))?;
        let status = response.status();
        let answer: Value = response
            .json()
            .await
            .with_context(|| format!("reading {operation}"))?;
        if !status.is_success() {
            bail!("{operation} failed ({status}): {answer}");
        }
        Ok(answer)
    }

    /// Finds shards not seen before (new shards are read from their start).
    async fn discover(&mut self) -> Result<()> {
        let mut after: Option<String> = None;
        loop {
            let mut request = json!({"StreamArn": self.arn});
            if let Some(a) = &after {
                request["ExclusiveStartShardId"] = json!(a);
            }
            let out = self.call("DescribeStream", request).await?;
            let description = &out["StreamDescription"];
            for shard in description["Shards"].as_array().into_iter().flatten() {
                let Some(id) = shard["ShardId"].as_str() else {
                    continue;
                };
                if !self.finished.contains(id) && !self.positions.contains_key(id) {
                    self.positions.insert(id.to_owned(), None);
                }
            }
            match description["LastEvaluatedShardId"].as_str() {
                Some(last) => after = Some(last.to_owned()),
                None => break,
            }
        }
        Ok(())
    }

    /// Everything written to the stream since the last call, oldest first per shard. Each call
    /// asks for a fresh iterator after the last record seen, so none ever goes stale.
    pub async fn poll(&mut self) -> Result<Vec<EventRecord>> {
        self.discover().await?;
        let mut records = Vec::new();
        let shards: Vec<(String, Option<String>)> = self
            .positions
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (shard, last) in shards {
            let mut request = json!({"StreamArn": self.arn, "ShardId": shard});
            match &last {
                Some(sequence) => {
                    request["ShardIteratorType"] = json!("AFTER_SEQUENCE_NUMBER");
                    request["SequenceNumber"] = json!(sequence);
                }
                None => request["ShardIteratorType"] = json!("TRIM_HORIZON"),
            }
            let out = self.call("GetShardIterator", request).await?;
            let mut iterator = out["ShardIterator"].as_str().map(str::to_owned);
            let mut read = Vec::new();
            let mut closed = iterator.is_none();
            while let Some(it) = iterator.take() {
                let mut out = self
                    .call("GetRecords", json!({"ShardIterator": it, "Limit": 1000}))
                    .await?;
                let got = match out["Records"].take() {
                    Value::Array(records) => records,
                    _ => Vec::new(),
                };
                let empty = got.is_empty();
                for record in got {
                    read.push(convert(record)?);
                }
                match out["NextShardIterator"].as_str() {
                    Some(next) if !empty => iterator = Some(next.to_owned()),
                    Some(_) => {}
                    None => closed = true,
                }
            }
            if let Some(seq) = read.last().and_then(|r| r.change.sequence_number.clone()) {
                self.positions.insert(shard.clone(), Some(seq));
            }
            if closed {
                self.positions.remove(&shard);
                self.finished.insert(shard);
            }
            // Before the first call, the stream's history is skipped unless asked for.
            if self.started || self.from_start {
                records.append(&mut read);
            }
        }
        self.started = true;
        Ok(records)
    }
}

/// Feeds `records` to the search indexer as one batch; answers with the records it asked to
/// have retried (as Lambda would redeliver them).
pub async fn index(
    indexer: &shared::search::Indexer,
    records: Vec<EventRecord>,
) -> (shared::search::Report, Vec<EventRecord>) {
    let mut event = Event::default();
    event.records = records;
    let (report, response) = indexer.handle(&event).await;
    (report, to_retry(event, response))
}

/// The records of `batch` its consumer's `response` asked to have again (as Lambda would
/// redeliver them).
pub(crate) fn to_retry(
    batch: Event,
    response: aws_lambda_events::streams::DynamoDbEventResponse,
) -> Vec<EventRecord> {
    let failed: BTreeSet<String> = response
        .batch_item_failures
        .into_iter()
        .filter_map(|f| f.item_identifier)
        .collect();
    batch
        .records
        .into_iter()
        .filter(|r| {
            r.change
                .sequence_number
                .as_ref()
                .is_some_and(|s| failed.contains(s))
        })
        .collect()
}

#[cfg(test)]
#[path = "stream_test.rs"]
mod tests;
