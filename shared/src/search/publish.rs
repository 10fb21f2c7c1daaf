//! The index in S3. Segment files never change once written, so each is uploaded once, under
//! `search/files/`, and shared by every version that uses it. A version is its `meta.json` and
//! its manifest under `search/v<version>/`; the current manifest is copied to
//! `search/manifest.json` last, so a reader never sees half a version. Readers download a
//! version's files into memory (reusing the bytes of files they already hold) and check the
//! manifest's ETag cheaply for a newer one.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tantivy::directory::OwnedBytes;

use super::{Catalogue, SearchError};
use crate::blob::MediaBucket;

const MANIFEST: &str = "search/manifest.json";
const FILES: &str = "search/files/";
const VERSIONS: &str = "search/v";

/// What a published version holds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    /// Increases with every publish (milliseconds since the epoch).
    pub version: u64,
    /// Its files: the index's relative path → the S3 key holding it.
    pub files: BTreeMap<String, String>,
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

fn now_ms() -> u64 {
    u64::try_from(time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
}

/// The published index in a bucket.
#[derive(Debug, Clone)]
pub struct IndexStore {
    bucket: MediaBucket,
}

/// A downloaded version: its manifest, the manifest's ETag and its files' bytes by S3 key.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// What was downloaded.
    pub manifest: Manifest,
    /// To ask S3 cheaply whether a newer version exists.
    pub etag: String,
    /// Bytes by S3 key.
    pub bytes: HashMap<String, OwnedBytes>,
}

impl Fetched {
    /// The files by the index's relative path, ready for [`Catalogue::from_files`] (shared,
    /// not copied).
    pub fn files(&self) -> HashMap<PathBuf, OwnedBytes> {
        self.manifest
            .files
            .iter()
            .filter_map(|(path, key)| Some((PathBuf::from(path), self.bytes.get(key)?.clone())))
            .collect()
    }
}

/// A loaded version: the catalogue and what it was opened from.
#[derive(Debug)]
pub struct Loaded {
    /// The searchable catalogue.
    pub catalogue: Catalogue,
    /// Its manifest, ETag and bytes.
    pub fetched: Fetched,
}

/// What a publish wrote.
#[derive(Debug, Clone)]
pub struct Published {
    /// The new version's manifest.
    pub manifest: Manifest,
    /// The ETag of `search/manifest.json` as written.
    pub etag: String,
    /// Files uploaded (the others were already in S3).
    pub uploaded: usize,
}

impl IndexStore {
    /// The index in `bucket`.
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        Self {
            bucket: MediaBucket::new(client, bucket),
        }
    }

    async fn put(
        &self,
        key: &str,
        bytes: Vec<u8>,
        content_type: Option<&str>,
    ) -> Result<Option<String>, PublishError> {
        self.bucket
            .put_as(key, bytes, content_type)
            .await
            .map_err(s3)
    }

    async fn get(&self, key: &str) -> Result<Option<(Vec<u8>, String)>, PublishError> {
        self.bucket.get_tagged(key).await.map_err(s3)
    }

    /// Uploads the files of `catalogue` that `previous` (the version it was changed from, if
    /// any) does not already hold, then its manifest, then points readers at it.
    pub async fn publish(
        &self,
        catalogue: &Catalogue,
        previous: Option<&Manifest>,
    ) -> Result<Published, PublishError> {
        let version = now_ms().max(previous.map_or(0, |p| p.version + 1));
        let prefix = format!("{VERSIONS}{version}/");
        let known: BTreeSet<&String> = previous
            .map(|p| p.files.values().collect())
            .unwrap_or_default();
        let mut files = BTreeMap::new();
        let mut uploads = Vec::new();
        for (path, bytes) in catalogue.files()? {
            let key = if path == "meta.json" {
                format!("{prefix}{path}")
            } else {
                format!("{FILES}{path}")
            };
            if !known.contains(&key) {
                uploads.push((key.clone(), bytes));
            }
            files.insert(path, key);
        }
        let uploaded = uploads.len();
        for chunk in uploads.chunks(16) {
            let sent = chunk
                .iter()
                .map(|(key, bytes)| self.put(key, bytes.clone(), None));
            for result in futures::future::join_all(sent).await {
                result?;
            }
        }
        let manifest = Manifest {
            version,
            files,
            documents: catalogue.len(),
        };
        let body =
            serde_json::to_vec(&manifest).map_err(|e| PublishError::Manifest(e.to_string()))?;
        let json = Some("application/json");
        self.put(&format!("{prefix}manifest.json"), body.clone(), json)
            .await?;
        let etag = self.put(MANIFEST, body, json).await?.unwrap_or_default();
        Ok(Published {
            manifest,
            etag,
            uploaded,
        })
    }

    /// The current version's manifest, files and ETag, or `None` when nothing was published
    /// yet. Files already in `reuse` (an earlier download) are not downloaded again.
    pub async fn fetch(&self, reuse: Option<&Fetched>) -> Result<Option<Fetched>, PublishError> {
        let Some((body, etag)) = self.get(MANIFEST).await? else {
            return Ok(None);
        };
        let manifest: Manifest =
            serde_json::from_slice(&body).map_err(|e| PublishError::Manifest(e.to_string()))?;
        let mut bytes = HashMap::with_capacity(manifest.files.len());
        let mut missing = Vec::new();
        for key in manifest.files.values() {
            match reuse.and_then(|r| r.bytes.get(key)) {
                Some(b) => {
                    bytes.insert(key.clone(), b.clone());
                }
                None => missing.push(key.clone()),
            }
        }
        for chunk in missing.chunks(16) {
            let downloads = chunk.iter().map(|key| async move {
                let (got, _) = self
                    .get(key)
                    .await?
                    .ok_or_else(|| PublishError::S3(format!("{key} is missing")))?;
                Ok::<_, PublishError>((key.clone(), OwnedBytes::new(got)))
            });
            for result in futures::future::join_all(downloads).await {
                let (key, b) = result?;
                bytes.insert(key, b);
            }
        }
        Ok(Some(Fetched {
            manifest,
            etag,
            bytes,
        }))
    }

    /// The current version, opened read-only, or `None` when nothing was published yet.
    pub async fn load(&self, reuse: Option<&Fetched>) -> Result<Option<Loaded>, PublishError> {
        let Some(fetched) = self.fetch(reuse).await? else {
            return Ok(None);
        };
        let catalogue = Catalogue::from_files(fetched.files())?;
        Ok(Some(Loaded { catalogue, fetched }))
    }

    /// Whether the published manifest differs from the one with `etag` (one HEAD request).
    pub async fn changed_since(&self, etag: &str) -> Result<bool, PublishError> {
        match self
            .bucket
            .client()
            .head_object()
            .bucket(self.bucket.name())
            .key(MANIFEST)
            .send()
            .await
        {
            Ok(head) => Ok(head.e_tag().unwrap_or_default() != etag),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(false),
            Err(e) => Err(s3(e)),
        }
    }

    /// Deletes what no reader can need any more: versions other than the current one, the
    /// newest `keep` and those published within `grace`; and segment files none of the kept
    /// versions uses that are older than `grace` (so a publish in flight keeps its uploads).
    /// Returns how many objects went.
    pub async fn clean_up(&self, keep: usize, grace: Duration) -> Result<usize, PublishError> {
        let grace_ms = u64::try_from(grace.as_millis()).unwrap_or(u64::MAX);
        let now = now_ms();
        let mut version_keys: Vec<(u64, String)> = Vec::new();
        let mut file_keys: Vec<(String, u64)> = Vec::new();
        let mut pages = self
            .bucket
            .client()
            .list_objects_v2()
            .bucket(self.bucket.name())
            .prefix("search/")
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            for object in page.map_err(s3)?.contents() {
                let Some(key) = object.key() else { continue };
                if key.starts_with(FILES) {
                    let modified = object
                        .last_modified()
                        .and_then(|t| t.to_millis().ok())
                        .and_then(|t| u64::try_from(t).ok())
                        .unwrap_or(now);
                    file_keys.push((key.to_owned(), modified));
                } else if let Some(v) = key
                    .strip_prefix(VERSIONS)
                    .and_then(|rest| rest.split('/').next())
                    .and_then(|v| v.parse::<u64>().ok())
                {
                    version_keys.push((v, key.to_owned()));
                }
            }
        }
        let current = match self.get(MANIFEST).await? {
            Some((body, _)) => serde_json::from_slice::<Manifest>(&body).ok(),
            None => None,
        };
        let mut versions: Vec<u64> = version_keys.iter().map(|(v, _)| *v).collect();
        versions.sort_unstable();
        versions.dedup();
        let kept: BTreeSet<u64> = versions
            .iter()
            .rev()
            .take(keep.max(1))
            .copied()
            .chain(
                versions
                    .iter()
                    .copied()
                    .filter(|v| now.saturating_sub(*v) < grace_ms),
            )
            .chain(current.as_ref().map(|m| m.version))
            .collect();
        // Files the kept versions use; if one of their manifests cannot be read, keep every file.
        let mut used: BTreeSet<String> = BTreeSet::new();
        let mut all_known = true;
        for v in &kept {
            match self.get(&format!("{VERSIONS}{v}/manifest.json")).await? {
                Some((body, _)) => match serde_json::from_slice::<Manifest>(&body) {
                    Ok(m) => used.extend(m.files.into_values()),
                    Err(_) => all_known = false,
                },
                None => all_known = false,
            }
        }
        if let Some(m) = &current {
            used.extend(m.files.values().cloned());
        }
        let mut doomed: Vec<String> = version_keys
            .into_iter()
            .filter(|(v, _)| !kept.contains(v))
            .map(|(_, k)| k)
            .collect();
        if all_known {
            doomed.extend(
                file_keys
                    .into_iter()
                    .filter(|(k, modified)| {
                        !used.contains(k) && now.saturating_sub(*modified) >= grace_ms
                    })
                    .map(|(k, _)| k),
            );
        }
        for chunk in doomed.chunks(16) {
            let deletes = chunk.iter().map(|key| self.bucket.delete(key));
            for result in futures::future::join_all(deletes).await {
                result.map_err(s3)?;
            }
        }
        Ok(doomed.len())
    }
}
