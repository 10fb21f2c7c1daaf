//! The S3 adapter: the media bucket and presigned URLs for uploading and viewing images.

use std::time::Duration;

use aws_sdk_s3::presigning::PresigningConfig;
use time::OffsetDateTime;

/// Why an S3 operation failed.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// S3 did not answer or refused; see the source.
    #[error("s3 request failed")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The request could not be built or signed.
    #[error("could not presign the request")]
    Presign(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// A URL the client may use directly, with what it must send.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PresignedUrl {
    /// The HTTP method to use.
    pub method: String,
    pub url: String,
    /// Headers the request must carry (they are part of the signature).
    pub headers: std::collections::BTreeMap<String, String>,
    /// When the URL stops working.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// The bucket holding product images.
#[derive(Debug, Clone)]
pub struct MediaBucket {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl MediaBucket {
    /// The bucket named `bucket`, reached through `client`.
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
        }
    }

    /// The S3 client.
    pub fn client(&self) -> &aws_sdk_s3::Client {
        &self.client
    }

    /// The bucket's name.
    pub fn name(&self) -> &str {
        &self.bucket
    }

    /// Checks the bucket exists and answers (for health checks).
    pub async fn ping(&self) -> Result<(), BlobError> {
        self.client
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .map_err(|e| BlobError::Unavailable(Box::new(e)))?;
        Ok(())
    }

    /// Stores a JSON document at `key`.
    pub async fn put_json(&self, key: &str, body: Vec<u8>) -> Result<(), BlobError> {
        self.put_as(key, body, Some("application/json"))
            .await
            .map(|_| ())
    }

    /// Stores `body` at `key` with `content_type` (S3's default when `None`); answers with the
    /// object's ETag.
    pub async fn put_as(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: Option<&str>,
    ) -> Result<Option<String>, BlobError> {
        let output = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .set_content_type(content_type.map(str::to_owned))
            .body(body.into())
            .send()
            .await
            .map_err(|e| BlobError::Unavailable(Box::new(e)))?;
        Ok(output.e_tag().map(str::to_owned))
    }

    /// The object at `key`, `None` when there is none.
    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, BlobError> {
        Ok(self.get_tagged(key).await?.map(|(bytes, _)| bytes))
    }

    /// The object at `key` and its ETag, `None` when there is none.
    pub async fn get_tagged(&self, key: &str) -> Result<Option<(Vec<u8>, String)>, BlobError> {
        let output = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(o) => o,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
            Err(e) => return Err(BlobError::Unavailable(Box::new(e))),
        };
        let etag = output.e_tag().unwrap_or_default().to_owned();
        let bytes = output
            .body
            .collect()
            .await
            .map_err(|e| BlobError::Unavailable(Box::new(e)))?;
        Ok(Some((bytes.into_bytes().to_vec(), etag)))
    }

    /// Deletes the object at `key` (no error if there is none).
    pub async fn delete(&self, key: &str) -> Result<(), BlobError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| BlobError::Unavailable(Box::new(e)))?;
        Ok(())
    }

    /// A URL to `PUT` an object of `content_type` at `key` within `ttl`.
    pub async fn presign_upload(
        &self,
        key: &str,
        content_type: &str,
        ttl: Duration,
    ) -> Result<PresignedUrl, BlobError> {
        let request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .presigned(presigning(ttl)?)
            .await
            .map_err(|e| BlobError::Presign(Box::new(e)))?;
        // Only the signed headers bind the client; others (e.g. a trace id) are not its business.
        let signed = signed_headers(request.uri());
        Ok(PresignedUrl {
            method: request.method().to_owned(),
            url: request.uri().to_owned(),
            headers: request
                .headers()
                .filter(|(name, _)| {
                    !name.eq_ignore_ascii_case("host")
                        && signed.iter().any(|s| s.eq_ignore_ascii_case(name))
                })
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            expires_at: OffsetDateTime::now_utc() + ttl,
        })
    }

    /// A URL to `GET` the object at `key` within `ttl`.
    pub async fn presign_download(&self, key: &str, ttl: Duration) -> Result<String, BlobError> {
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(presigning(ttl)?)
            .await
            .map_err(|e| BlobError::Presign(Box::new(e)))?;
        Ok(request.uri().to_owned())
    }
}

/// The `X-Amz-SignedHeaders` of a presigned URL.
fn signed_headers(url: &str) -> Vec<String> {
    url.split_once('?')
        .map(|(_, query)| query)
        .unwrap_or("")
        .split('&')
        .find_map(|pair| pair.strip_prefix("X-Amz-SignedHeaders="))
        .map(|list| {
            list.split("%3B")
                .flat_map(|h| h.split(';'))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn presigning(ttl: Duration) -> Result<PresigningConfig, BlobError> {
    PresigningConfig::expires_in(ttl).map_err(|e| BlobError::Presign(Box::new(e)))
}
