//! The search function's copy of the index: loaded from S3 on first use, kept across warm
//! invocations, and swapped for a newer version when the manifest's ETag changes (checked at
//! most every few seconds).

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::RwLock;

use super::{Catalogue, Fetched, IndexStore, PublishError};

/// How often a warm process asks S3 whether a newer index exists.
pub const CHECK_EVERY: Duration = Duration::from_secs(5);

struct Current {
    catalogue: Arc<Catalogue>,
    fetched: Fetched,
    checked: Instant,
}

impl Current {
    fn in_hand(&self) -> (Arc<Catalogue>, u64) {
        (self.catalogue.clone(), self.fetched.manifest.version)
    }
}

/// The loaded index, shared by a process's requests.
pub struct SearchCache {
    store: IndexStore,
    current: RwLock<Option<Current>>,
}

impl std::fmt::Debug for SearchCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchCache").finish_non_exhaustive()
    }
}

impl SearchCache {
    /// A cache over the index published in `store`.
    pub fn new(store: IndexStore) -> Self {
        Self {
            store,
            current: RwLock::new(None),
        }
    }

    /// The published index, or `None` when none was published yet.
    pub async fn get(&self) -> Result<Option<Arc<Catalogue>>, PublishError> {
        Ok(self.current().await?.map(|(catalogue, _)| catalogue))
    }

    /// [`Self::get`] with the version in hand (the manifest's, which grows with every
    /// publish): answers drawn from one version are the same while it is current.
    pub async fn current(&self) -> Result<Option<(Arc<Catalogue>, u64)>, PublishError> {
        {
            let current = self.current.read().await;
            if let Some(c) = current.as_ref()
                && c.checked.elapsed() < CHECK_EVERY
            {
                return Ok(Some(c.in_hand()));
            }
        }
        let mut current = self.current.write().await;
        if let Some(c) = current.as_mut() {
            if c.checked.elapsed() < CHECK_EVERY {
                return Ok(Some(c.in_hand()));
            }
            if !self.store.changed_since(&c.fetched.etag).await? {
                c.checked = Instant::now();
                return Ok(Some(c.in_hand()));
            }
        }
        // Segment files shared with the version in hand are not downloaded again.
        let Some(loaded) = self
            .store
            .load(current.as_ref().map(|c| &c.fetched))
            .await?
        else {
            return Ok(None);
        };
        tracing::info!(
            version = loaded.fetched.manifest.version,
            documents = loaded.fetched.manifest.documents,
            "loaded the search index"
        );
        let version = loaded.fetched.manifest.version;
        let catalogue = Arc::new(loaded.catalogue);
        *current = Some(Current {
            catalogue: catalogue.clone(),
            fetched: loaded.fetched,
            checked: Instant::now(),
        });
        Ok(Some((catalogue, version)))
    }

    /// Forgets when it last checked, so the next request looks for a newer version.
    pub async fn expire(&self) {
        if let Some(c) = self.current.write().await.as_mut() {
            c.checked = Instant::now()
                .checked_sub(CHECK_EVERY)
                .unwrap_or_else(Instant::now);
        }
    }
}
