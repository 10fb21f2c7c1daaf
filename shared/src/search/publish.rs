//! The index in S3: each version's files under `search/v<version>/`, then a small manifest
//! (`search/manifest.json`) written last, so a reader never sees half a version. Readers load
//! the manifest's files into memory and check the manifest's ETag cheaply for a newer one.

use std::collections::HashMap;

use aws_sdk_s3::primitives::ByteStream;
use serde::{Deserialize, Serialize};

use super::{Catalogue, SearchError};

const MANIFEST: &str = "search/manifest.json";

/// What a published version holds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    /// Increases with every publish (milliseconds since the epoch).
    pub version: u64,
    /// Where its files are.
    pub prefix: String,
    /// Its files (relative paths).
    pub files: Vec<String>,
    /// Products in it.
    pub documents: u64,
}

/// Why publishing or loading failed.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// S3 failed.
    #[error("s3 request failed: {0}")]
    S3(String),
    /// The index could not be read or opened.
    #[error(transparent)]
    Index(#[from] SearchError),
    /// The manifest is not a manifest.
    #[error("the search manifest is unreadable: {0}")]
    Manifest(String),
}

fn s3(e: impl std::fmt::Display) -> PublishError {
    PublishError::S3(e.to_string())
}

/// The published index in a bucket.
#[derive(Debug, Clone)]
pub struct IndexStore {
    client: aws_sdk_s3::Client,
    bucket: String,
}

/// A loaded version: the catalogue, its manifest and the manifest's ETag.
#[derive(Debug)]
pub struct Loaded {
    /// The searchable catalogue.
    pub catalogue: Catalogue,
    /// What was loaded.
    pub manifest: Manifest,
    /// To ask S3 cheaply whether a newer version exists.
    pub etag: String,
}

impl IndexStore {
    /// The index in `bucket`.
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
        }
    }

    /// Uploads `catalogue`'s files, then the manifest naming them; returns the manifest.
    pub async fn publish(&self, catalogue: &Catalogue) -> Result<Manifest, PublishError> {
        let version =
            u64::try_from(time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000)
                .unwrap_or(0);
        let prefix = format!("search/v{version}/");
        let files = catalogue.files()?;
        let uploads = files.iter().map(|(path, bytes)| {
            self.client
                .put_object()
                .bucket(&self.bucket)
                .key(format!("{prefix}{path}"))
                .body(ByteStream::from(bytes.clone()))
                .send()
        });
        for result in futures::future::join_all(uploads).await {
            result.map_err(s3)?;
        }
        let manifest = Manifest {
            version,
            prefix,
            files: files.iter().map(|(p, _)| p.clone()).collect(),
            documents: catalogue.len(),
        };
        let body =
            serde_json::to_vec(&manifest).map_err(|e| PublishError::Manifest(e.to_string()))?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(MANIFEST)
            .content_type("application/json")
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(s3)?;
        Ok(manifest)
    }

    /// The current version, or `None` when nothing was published yet.
    pub async fn load(&self) -> Result<Option<Loaded>, PublishError> {
        let got = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(MANIFEST)
            .send()
            .await
        {
            Ok(o) => o,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
            Err(e) => return Err(s3(e)),
        };
        let etag = got.e_tag().unwrap_or_default().to_owned();
        let bytes = got.body.collect().await.map_err(s3)?.into_bytes();
        let manifest: Manifest =
            serde_json::from_slice(&bytes).map_err(|e| PublishError::Manifest(e.to_string()))?;
        let prefix = manifest.prefix.as_str();
        let downloads = manifest.files.iter().map(|path| async move {
            let object = self
                .client
                .get_object()
                .bucket(&self.bucket)
                .key(format!("{prefix}{path}"))
                .send()
                .await
                .map_err(s3)?;
            let bytes = object.body.collect().await.map_err(s3)?.into_bytes();
            Ok::<_, PublishError>((std::path::PathBuf::from(path), bytes.to_vec()))
        });
        let files: HashMap<_, _> = futures::future::join_all(downloads)
            .await
            .into_iter()
            .collect::<Result<_, _>>()?;
        let catalogue = Catalogue::from_files(files)?;
        Ok(Some(Loaded {
            catalogue,
            manifest,
            etag,
        }))
    }

    /// Whether the published manifest differs from the one with `etag` (one HEAD request).
    pub async fn changed_since(&self, etag: &str) -> Result<bool, PublishError> {
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(MANIFEST)
            .send()
            .await
        {
            Ok(head) => Ok(head.e_tag().unwrap_or_default() != etag),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(false),
            Err(e) => Err(s3(e)),
        }
    }

    /// Deletes the files of versions other than the newest `keep`, once they are older than
    /// `grace` (readers that loaded them have moved on by then). Returns how many files went.
    pub async fn clean_up(
        &self,
        keep: usize,
        grace: std::time::Duration,
    ) -> Result<usize, PublishError> {
        let mut versions: Vec<u64> = Vec::new();
        let mut keys: Vec<(u64, String)> = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix("search/v")
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            for object in page.map_err(s3)?.contents() {
                let Some(key) = object.key() else { continue };
                let version = key
                    .strip_prefix("search/v")
                    .and_then(|rest| rest.split('/').next())
                    .and_then(|v| v.parse::<u64>().ok());
                if let Some(v) = version {
                    versions.push(v);
                    keys.push((v, key.to_owned()));
                }
            }
        }
        versions.sort_unstable();
        versions.dedup();
        let now_ms =
            u64::try_from(time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000)
                .unwrap_or(0);
        let grace_ms = u64::try_from(grace.as_millis()).unwrap_or(u64::MAX);
        let kept: Vec<u64> = versions.iter().rev().take(keep.max(1)).copied().collect();
        let mut deleted = 0;
        for (v, key) in keys {
            if kept.contains(&v) || now_ms.saturating_sub(v) < grace_ms {
                continue;
            }
            self.client
                .delete_object()
                .bucket(&self.bucket)
                .key(&key)
                .send()
                .await
                .map_err(s3)?;
            deleted += 1;
        }
        Ok(deleted)
    }
}
