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

/// A browser-style upload (S3 `POST Object`): the client posts `fields` then the file as
/// multipart form data to `url`. The signed policy binds the key, the content type and the
/// size range, so the grant writes exactly one object of at most the allowed size.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PresignedPost {
    /// Always `POST`.
    pub method: &'static str,
    /// The bucket's URL.
    pub url: String,
    /// Form fields to send (in any order) before the `file` field.
    pub fields: std::collections::BTreeMap<String, String>,
    /// Largest body S3 accepts under this grant, in bytes.
    pub max_bytes: u64,
    /// When the grant stops working.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// The bucket holding product images.
#[derive(Debug, Clone)]
pub struct MediaBucket {
    client: aws_sdk_s3::Client,
    bucket: String,
    /// The function's credentials, for signing upload policies (the client does not expose
    /// its own).
    credentials: Option<aws_sdk_s3::config::SharedCredentialsProvider>,
}

impl MediaBucket {
    /// The bucket named `bucket`, reached through `client`.
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
            credentials: None,
        }
    }

    /// The same bucket, able to sign upload policies with `credentials` (the SDK
    /// configuration's provider).
    pub fn signing_with(
        mut self,
        credentials: Option<aws_sdk_s3::config::SharedCredentialsProvider>,
    ) -> Self {
        self.credentials = credentials;
        self
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

    /// A grant to upload one object of `content_type`, 1 to `max_bytes` long, at `key` within
    /// `ttl` (an S3 POST policy, signed with SigV4 by `aws-sigv4` with the function's
    /// credentials).
    pub async fn presign_post(
        &self,
        key: &str,
        content_type: &str,
        max_bytes: u64,
        ttl: Duration,
    ) -> Result<PresignedPost, BlobError> {
        use aws_sdk_s3::config::ProvideCredentials;
        use base64::Engine;
        let config = self.client.config();
        let credentials = self
            .credentials
            .as_ref()
            .ok_or_else(|| BlobError::Presign("the S3 client has no credentials".into()))?
            .provide_credentials()
            .await
            .map_err(|e| BlobError::Presign(Box::new(e)))?;
        let region = config
            .region()
            .map(ToString::to_string)
            .ok_or_else(|| BlobError::Presign("the S3 client has no region".into()))?;
        let now = OffsetDateTime::now_utc();
        let expires_at = now + ttl;
        let date = now
            .format(time::macros::format_description!(
                "[year][month][day]T[hour][minute][second]Z"
            ))
            .map_err(|e| BlobError::Presign(Box::new(e)))?;
        let scope = format!("{}/{region}/s3/aws4_request", &date[..8]);
        let credential = format!("{}/{scope}", credentials.access_key_id());
        let mut fields = std::collections::BTreeMap::from([
            ("key".to_owned(), key.to_owned()),
            ("Content-Type".to_owned(), content_type.to_owned()),
            ("x-amz-algorithm".to_owned(), "AWS4-HMAC-SHA256".to_owned()),
            ("x-amz-credential".to_owned(), credential),
            ("x-amz-date".to_owned(), date),
        ]);
        if let Some(token) = credentials.session_token() {
            fields.insert("x-amz-security-token".to_owned(), token.to_owned());
        }
        let mut conditions = vec![
            serde_json::json!({ "bucket": self.bucket }),
            serde_json::json!(["content-length-range", 1, max_bytes]),
        ];
        conditions.extend(fields.iter().map(|(k, v)| serde_json::json!({ k: v })));
        // Whole seconds, `Z`: the form S3's own SDKs send.
        let expiration = expires_at
            .format(time::macros::format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
            ))
            .map_err(|e| BlobError::Presign(Box::new(e)))?;
        let policy = base64::engine::general_purpose::STANDARD.encode(
            serde_json::json!({ "expiration": expiration, "conditions": conditions }).to_string(),
        );
        let signing_key = aws_sigv4::sign::v4::generate_signing_key(
            credentials.secret_access_key(),
            now.into(),
            &region,
            "s3",
        );
        let signature = aws_sigv4::sign::v4::calculate_signature(signing_key, policy.as_bytes());
        fields.insert("policy".to_owned(), policy);
        fields.insert("x-amz-signature".to_owned(), signature);
        Ok(PresignedPost {
            method: "POST",
            url: self.bucket_url(key).await?,
            fields,
            max_bytes,
            expires_at,
        })
    }

    /// The bucket's URL as the client addresses it (path-style or virtual-hosted, whatever the
    /// SDK is configured for), read off a presigned request for `key`.
    async fn bucket_url(&self, key: &str) -> Result<String, BlobError> {
        let request = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(presigning(Duration::from_secs(60))?)
            .await
            .map_err(|e| BlobError::Presign(Box::new(e)))?;
        let uri = request.uri();
        let path = uri.split_once('?').map_or(uri, |(path, _)| path);
        path.strip_suffix(key)
            .map(|url| url.trim_end_matches('/').to_owned())
            .ok_or_else(|| BlobError::Presign(format!("cannot find the bucket in {path}").into()))
    }

    /// The size of the object at `key`, `None` when there is none.
    pub async fn size(&self, key: &str) -> Result<Option<u64>, BlobError> {
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(o) => Ok(Some(
                o.content_length()
                    .and_then(|n| u64::try_from(n).ok())
                    .unwrap_or(0),
            )),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(None),
            Err(e) => Err(BlobError::Unavailable(Box::new(e))),
        }
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

fn presigning(ttl: Duration) -> Result<PresigningConfig, BlobError> {
    PresigningConfig::expires_in(ttl).map_err(|e| BlobError::Presign(Box::new(e)))
}
