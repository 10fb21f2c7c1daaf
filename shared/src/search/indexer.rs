//! The search indexer: the only writer of the published index. It consumes the table's stream
//! (products created, changed or archived; stock levels changed), brings the affected products'
//! documents up to date and publishes a new version; it also rebuilds the whole index from the
//! table on request.
//!
//! A record only says *which* product changed. The document is rebuilt from the table as it is
//! now (the product read strongly consistently, its levels from the product's level index),
//! so records can arrive in any order, twice, or long after the fact and the index still ends
//! up matching the table. Because the level index is eventually consistent, the levels carried
//! by the batch's own records override what it returns when they are newer.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use aws_lambda_events::dynamodb::Event;
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use serde::Serialize;
use tokio::sync::Mutex;

use super::{
    Catalogue, Change, IndexStore, Manifest, PublishError, Published, SearchDoc, SearchError,
};
use crate::domain::ProductId;
use crate::domain::stock::StockLevel;
use crate::store::{LevelListing, ProductStore, StockStore, StoreError, all_pages};

/// Most products a rebuild reads.
const MAX_PRODUCTS: usize = 1_000_000;
/// Versions kept besides the current one, and how long an old version stays for readers that
/// are still downloading it.
const KEEP_VERSIONS: usize = 3;
const GRACE: Duration = Duration::from_secs(600);
/// How often the indexer deletes what no reader needs any more.
const CLEAN_EVERY: Duration = Duration::from_secs(60);

pub use crate::store::stream::{Touched, touched};

/// Why indexing failed.
#[derive(Debug, thiserror::Error)]
pub enum IndexerError {
    /// The table could not be read.
    #[error("reading the table failed: {0}")]
    Store(#[from] StoreError),
    /// S3 failed.
    #[error(transparent)]
    Publish(#[from] PublishError),
    /// The index could not be written.
    #[error(transparent)]
    Search(#[from] SearchError),
}

/// What one run did.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Report {
    /// Products whose documents were looked at.
    pub products: usize,
    /// Documents added, replaced or removed.
    pub changed: usize,
    /// The version published, if anything changed.
    pub version: Option<u64>,
    /// Products in the published index.
    pub documents: u64,
    /// Records reported back for the stream to retry.
    pub failed: usize,
}

struct Working {
    catalogue: Catalogue,
    manifest: Manifest,
    etag: String,
}

/// The single writer of the published index; keeps its writable copy across warm invocations.
pub struct Indexer {
    products: ProductStore,
    stock: StockStore,
    store: IndexStore,
    metrics_namespace: String,
    working: Mutex<Option<Working>>,
    cleaned: Mutex<Option<Instant>>,
}

impl std::fmt::Debug for Indexer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Indexer").finish_non_exhaustive()
    }
}

fn failures(sequence_numbers: impl IntoIterator<Item = String>) -> DynamoDbEventResponse {
    let mut response = DynamoDbEventResponse::default();
    response.batch_item_failures = sequence_numbers
        .into_iter()
        .map(|s| {
            let mut f = DynamoDbBatchItemFailure::default();
            f.item_identifier = Some(s);
            f
        })
        .collect();
    response
}

impl Indexer {
    /// An indexer reading `products` and `stock`, publishing to `store`, counting what it does
    /// in `metrics_namespace`.
    pub fn new(
        products: ProductStore,
        stock: StockStore,
        store: IndexStore,
        metrics_namespace: impl Into<String>,
    ) -> Self {
        Self {
            products,
            stock,
            store,
            metrics_namespace: metrics_namespace.into(),
            working: Mutex::new(None),
            cleaned: Mutex::new(None),
        }
    }

    /// The document of `product_id` as the table has it now, with `seen` (levels carried by
    /// the records being applied) overriding older copies from the level index.
    async fn change_for(
        &self,
        product_id: &str,
        seen: &[StockLevel],
    ) -> Result<Change, IndexerError> {
        let Ok(id) = ProductId::parse(product_id) else {
            return Ok(Change::Remove(product_id.to_owned()));
        };
        let product = match self.products.get(&id).await {
            Ok(p) if !p.archived => p,
            Ok(_) | Err(StoreError::NotFound) => return Ok(Change::Remove(product_id.to_owned())),
            Err(e) => return Err(e.into()),
        };
        let listing = LevelListing::Product(product_id.to_owned());
        let listing = &listing;
        let (listed, _) = all_pages(10_000, |c| async move {
            self.stock.list_levels(listing, 100, c.as_ref()).await
        })
        .await?;
        let mut levels: BTreeMap<String, StockLevel> = listed
            .into_iter()
            .map(|l| (l.warehouse_id.clone(), l))
            .collect();
        for l in seen {
            if levels
                .get(&l.warehouse_id)
                .is_none_or(|known| known.version < l.version)
            {
                levels.insert(l.warehouse_id.clone(), l.clone());
            }
        }
        let available = levels.values().map(|l| l.available().max(0)).sum();
        Ok(Change::Upsert(SearchDoc::of(&product, available)))
    }

    /// Brings the products `touched` names up to date and publishes; answers with the records
    /// to retry (by sequence number). Records for other items are ignored.
    pub async fn handle(&self, event: &Event) -> (Report, DynamoDbEventResponse) {
        let (report, response) = self.handle_batch(event).await;
        self.count("SearchDocumentsChanged", report.changed);
        self.count("SearchRecordsFailed", report.failed);
        (report, response)
    }

    fn count(&self, name: &str, value: usize) {
        crate::telemetry::metrics::emit_count(
            &self.metrics_namespace,
            "search-indexer",
            name,
            value,
        );
    }

    async fn handle_batch(&self, event: &Event) -> (Report, DynamoDbEventResponse) {
        let mut by_product: BTreeMap<String, (Vec<String>, Vec<StockLevel>)> = BTreeMap::new();
        let mut all_sequences = Vec::new();
        for record in &event.records {
            let Some(t) = touched(record) else { continue };
            let sequence = record.change.sequence_number.clone().unwrap_or_default();
            all_sequences.push(sequence.clone());
            let entry = by_product.entry(t.product_id().to_owned()).or_default();
            entry.0.push(sequence);
            if let Touched::Level { level: Some(l), .. } = t {
                entry.1.push(l);
            }
        }
        if by_product.is_empty() {
            return (Report::default(), DynamoDbEventResponse::default());
        }
        let mut working = self.working.lock().await;
        let retry_all = |e: &dyn std::fmt::Display, report: Report| {
            tracing::error!(error = %e, "the search index could not be updated; the stream will retry the batch");
            let mut report = report;
            report.failed = all_sequences.len();
            (report, failures(all_sequences.clone()))
        };
        if let Err(e) = self.ensure_loaded(&mut working).await {
            *working = None;
            return retry_all(&e, Report::default());
        }
        let Some(current) = working.as_mut() else {
            // Nothing was published yet: a full rebuild covers every record of the batch.
            drop(working);
            return match self.rebuild().await {
                Ok(report) => (report, DynamoDbEventResponse::default()),
                Err(e) => retry_all(&e, Report::default()),
            };
        };
        let reads = by_product
            .iter()
            .map(|(id, (_, seen))| async move { (id, self.change_for(id, seen).await) });
        let mut changes = Vec::new();
        let mut failed = Vec::new();
        for (id, result) in futures::future::join_all(reads).await {
            match result {
                Ok(c) => changes.push(c),
                Err(e) => {
                    tracing::warn!(product_id = %id, error = %e, "could not read a product to index; the stream will retry it");
                    failed.extend(by_product[id].0.iter().cloned());
                }
            }
        }
        let mut report = Report {
            products: by_product.len(),
            documents: current.manifest.documents,
            ..Report::default()
        };
        match self.apply_and_publish(current, &changes).await {
            Ok((changed, published)) => {
                report.changed = changed;
                if let Some(p) = published {
                    report.version = Some(p.manifest.version);
                    report.documents = p.manifest.documents;
                }
            }
            Err(e) => {
                // The copy in memory is now ahead of S3: start again from S3 next time.
                *working = None;
                return retry_all(&e, report);
            }
        }
        drop(working);
        self.clean_up_now_and_then().await;
        report.failed = failed.len();
        (report, failures(failed))
    }

    async fn apply_and_publish(
        &self,
        current: &mut Working,
        changes: &[Change],
    ) -> Result<(usize, Option<Published>), IndexerError> {
        let changed = current.catalogue.apply(changes)?;
        if changed == 0 {
            return Ok((0, None));
        }
        let published = self
            .store
            .publish(&current.catalogue, Some(&current.manifest))
            .await?;
        tracing::info!(
            version = published.manifest.version,
            changed,
            uploaded = published.uploaded,
            documents = published.manifest.documents,
            "published the search index"
        );
        current.manifest = published.manifest.clone();
        current.etag = published.etag.clone();
        Ok((changed, Some(published)))
    }

    /// Loads the published index into a writable copy, unless the copy in hand is current.
    async fn ensure_loaded(&self, working: &mut Option<Working>) -> Result<(), IndexerError> {
        if let Some(w) = working.as_ref()
            && !self.store.changed_since(&w.etag).await?
        {
            return Ok(());
        }
        *working = match self.store.fetch(None).await? {
            Some(fetched) => Some(Working {
                catalogue: Catalogue::writable(fetched.files())?,
                manifest: fetched.manifest,
                etag: fetched.etag,
            }),
            None => None,
        };
        Ok(())
    }

    async fn clean_up_now_and_then(&self) {
        let mut cleaned = self.cleaned.lock().await;
        if cleaned.is_some_and(|at| at.elapsed() < CLEAN_EVERY) {
            return;
        }
        *cleaned = Some(Instant::now());
        match self.store.clean_up(KEEP_VERSIONS, GRACE).await {
            Ok(0) => {}
            Ok(deleted) => tracing::info!(deleted, "cleaned up old search index files"),
            Err(e) => tracing::warn!(error = %e, "could not clean up old search index files"),
        }
    }

    /// Rebuilds the index from the table (every active product, with its units available
    /// across warehouses) and publishes it as a new version.
    pub async fn rebuild(&self) -> Result<Report, IndexerError> {
        let mut working = self.working.lock().await;
        let (products, _) = self.products.all(MAX_PRODUCTS).await?;
        // Levels are read warehouse by warehouse: far fewer queries than one per product.
        let (warehouses, _) = all_pages(10_000, |c| async move {
            self.stock.list_warehouses(100, c.as_ref()).await
        })
        .await?;
        let mut available: HashMap<String, i64> = HashMap::new();
        for w in &warehouses {
            let listing = LevelListing::Warehouse(w.id.clone());
            let listing = &listing;
            let (levels, _) = all_pages(MAX_PRODUCTS, |c| async move {
                self.stock.list_levels(listing, 1_000, c.as_ref()).await
            })
            .await?;
            for l in levels {
                *available.entry(l.product_id.clone()).or_insert(0) += l.available().max(0);
            }
        }
        let docs = products
            .iter()
            .filter(|p| !p.archived)
            .map(|p| SearchDoc::of(p, available.get(p.id.as_str()).copied().unwrap_or(0)));
        let catalogue = Catalogue::build(docs)?;
        let published = self.store.publish(&catalogue, None).await?;
        tracing::info!(
            version = published.manifest.version,
            documents = published.manifest.documents,
            "rebuilt the search index"
        );
        self.count("SearchRebuilds", 1);
        let report = Report {
            products: products.len(),
            changed: products.len(),
            version: Some(published.manifest.version),
            documents: published.manifest.documents,
            failed: 0,
        };
        *working = Some(Working {
            catalogue,
            manifest: published.manifest,
            etag: published.etag,
        });
        drop(working);
        self.clean_up_now_and_then().await;
        Ok(report)
    }
}
