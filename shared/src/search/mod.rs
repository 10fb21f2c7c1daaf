//! Full-text product search on tantivy: the schema, building an index, and queries with
//! relevance ranking, typo tolerance that grows with word length, the last word as a prefix,
//! filters, facets and sorting.
//!
//! Ranking: every word must match (in any searchable field); an exact word in the name scores
//! above the same word as a prefix, which scores above a typo; the name counts four times the
//! description, brand and category twice. Typos and prefixes count in the name and brand only
//! (the description matches whole words). A query equal to a SKU or barcode finds that product
//! first. User text is tokenized, never parsed, so it cannot inject query syntax.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;

use tantivy::collector::{Count, TopDocs};
use tantivy::directory::{OwnedBytes, RamDirectory};
use tantivy::index::SegmentComponent;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, RangeQuery, TermQuery};
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing,
    TextOptions, Value,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, LowerCaser, RemoveLongFilter, SimpleTokenizer, TextAnalyzer,
};
use tantivy::{DocAddress, Index, IndexReader, Order, TantivyDocument, Term, doc};

use crate::domain::Product;

mod bytes_directory;
mod cache;
mod expand;
mod facets;
use expand::{Tolerance, any_of, expand};
use facets::FacetCounter;
mod indexer;
mod publish;
pub use bytes_directory::BytesDirectory;
pub use cache::{CHECK_EVERY, SearchCache};
pub use indexer::{Indexer, IndexerError, Report, Touched, touched};
pub use publish::{Fetched, IndexStore, Loaded, Manifest, PublishError, Published};

/// Most results one query may page through (offset + limit).
pub const MAX_WINDOW: usize = 1_000;
/// Price facet buckets, in major units of the price's currency: upper bounds (exclusive).
pub const PRICE_BUCKETS: [i64; 5] = [500, 1_000, 2_500, 5_000, 10_000];
const TOKENIZER: &str = "folded";

/// A product as the index sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchDoc {
    /// Product id.
    pub id: String,
    pub name: String,
    pub description: String,
    pub brand: Option<String>,
    pub category: String,
    pub sku: String,
    pub barcode: Option<String>,
    /// Price, minor units.
    pub price_minor: i64,
    /// Units available across warehouses.
    pub available: i64,
    /// Creation time (Unix seconds), for "newest".
    pub created: i64,
}

impl SearchDoc {
    /// The document of `product` with `available` units in stock.
    pub fn of(product: &Product, available: i64) -> Self {
        Self {
            id: product.id.to_string(),
            name: product.name.clone(),
            description: product.description.clone(),
            brand: product.brand.clone(),
            category: product.category.clone(),
            sku: product.sku.as_str().to_owned(),
            barcode: product.barcode.as_ref().map(|b| b.as_str().to_owned()),
            price_minor: product.price.amount_minor,
            available,
            created: product.created_at.unix_timestamp(),
        }
    }

    /// A fingerprint of everything indexed, so an unchanged product is not rewritten.
    pub fn digest(&self) -> u64 {
        let text = serde_json::json!([
            self.id,
            self.name,
            self.description,
            self.brand,
            self.category,
            self.sku,
            self.barcode,
            self.price_minor,
            self.available,
            self.created
        ])
        .to_string();
        let hash = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, text.as_bytes());
        let mut first = [0u8; 8];
        first.copy_from_slice(&hash.as_ref()[..8]);
        u64::from_be_bytes(first)
    }
}

/// A change to apply to the index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Add the product, or replace its document.
    Upsert(SearchDoc),
    /// Remove the product (archived or gone).
    Remove(String),
}

impl Change {
    fn id(&self) -> &str {
        match self {
            Change::Upsert(d) => &d.id,
            Change::Remove(id) => id,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Fields {
    id: Field,
    name: Field,
    description: Field,
    brand: Field,
    category: Field,
    brand_key: Field,
    category_key: Field,
    sku: Field,
    barcode: Field,
    price: Field,
    available: Field,
    created: Field,
    digest: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = |stored: bool| {
        let o = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(TOKENIZER)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        );
        if stored { o.set_stored() } else { o }
    };
    let fields = Fields {
        id: b.add_text_field("id", STRING | STORED),
        name: b.add_text_field("name", text(true)),
        description: b.add_text_field("description", text(false)),
        brand: b.add_text_field("brand", text(true)),
        category: b.add_text_field("category", text(true)),
        brand_key: b.add_text_field("brand_key", STRING | FAST),
        category_key: b.add_text_field("category_key", STRING | FAST),
        sku: b.add_text_field("sku", STRING | STORED),
        barcode: b.add_text_field("barcode", STRING),
        price: b.add_i64_field("price", INDEXED | FAST | STORED),
        available: b.add_i64_field("available", INDEXED | FAST | STORED),
        created: b.add_i64_field("created", FAST),
        digest: b.add_u64_field("digest", STORED),
    };
    (b.build(), fields)
}

fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

/// A filter or facet key: trimmed and lower-cased.
pub fn key(value: &str) -> String {
    value.trim().to_lowercase()
}

/// Why a search failed.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// The index could not be read or written.
    #[error("search index error")]
    Index(#[from] tantivy::TantivyError),
}

/// How results are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortBy {
    /// Best match first.
    #[default]
    Relevance,
    /// Cheapest first.
    PriceAsc,
    /// Dearest first.
    PriceDesc,
    /// Newest first.
    Newest,
}

/// A search.
#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    /// What the user typed (may be empty: browse with filters).
    pub text: String,
    /// Only this category (compared case-insensitively).
    pub category: Option<String>,
    /// Only this brand (compared case-insensitively).
    pub brand: Option<String>,
    /// Only prices at or above, minor units.
    pub min_price: Option<i64>,
    /// Only prices at or below, minor units.
    pub max_price: Option<i64>,
    /// Only products with units available.
    pub in_stock: bool,
    /// Leave the facet counts out (cheaper when the page alone is wanted).
    pub skip_facets: bool,
    /// Order.
    pub sort: SortBy,
    /// Results to skip.
    pub offset: usize,
    /// Results to return.
    pub limit: usize,
}

/// One result.
#[derive(Debug, Clone, serde::Serialize, PartialEq)]
pub struct Hit {
    /// Product id.
    pub id: String,
    pub name: String,
    pub sku: String,
    /// Price, minor units.
    pub price_minor: i64,
    /// Units available.
    pub available: i64,
    /// Relevance score (0 when sorted otherwise).
    pub score: f32,
    /// The name with matched words in `<b>`, HTML-escaped (empty when nothing matched exactly).
    pub highlight: String,
}

/// An autocomplete suggestion.
#[derive(Debug, Clone, serde::Serialize, PartialEq, Eq)]
pub struct Suggestion {
    /// Product id.
    pub id: String,
    /// Product name.
    pub name: String,
}

/// A page of results with facet counts over every match.
#[derive(Debug, Clone, serde::Serialize, PartialEq)]
pub struct SearchResults {
    /// Matches in all.
    pub total: usize,
    /// This page.
    pub hits: Vec<Hit>,
    /// Matches per category key.
    pub categories: BTreeMap<String, u64>,
    /// Matches per brand key.
    pub brands: BTreeMap<String, u64>,
    /// Matches per price bucket (`0-500`, ..., `10000+`, in major units).
    pub prices: BTreeMap<String, u64>,
}

/// The typos a word of `len` characters may have: none up to 4, one from 5, two from 9.
pub fn typos_allowed(len: usize) -> u8 {
    match len {
        0..=4 => 0,
        5..=8 => 1,
        _ => 2,
    }
}

/// A searchable catalogue.
pub struct Catalogue {
    index: Index,
    reader: IndexReader,
    fields: Fields,
}

impl std::fmt::Debug for Catalogue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalogue").finish_non_exhaustive()
    }
}

#[cfg(test)]
fn bucket(price_minor: i64) -> String {
    bucket_label(bucket_index(price_minor))
}

/// Which price bucket `price_minor` falls in: an index into [`PRICE_BUCKETS`], or its length for
/// the open-ended top bucket.
fn bucket_index(price_minor: i64) -> usize {
    let major = price_minor / 100;
    PRICE_BUCKETS
        .iter()
        .position(|upper| major < *upper)
        .unwrap_or(PRICE_BUCKETS.len())
}

/// The label of bucket `i`: `"lower-upper"` in major units, `"lower+"` for the top one.
fn bucket_label(i: usize) -> String {
    let lower = i
        .checked_sub(1)
        .and_then(|j| PRICE_BUCKETS.get(j))
        .copied()
        .unwrap_or(0);
    match PRICE_BUCKETS.get(i) {
        Some(upper) => format!("{lower}-{upper}"),
        None => format!("{lower}+"),
    }
}

impl Catalogue {
    /// An in-memory index of `docs`.
    pub fn build(docs: impl IntoIterator<Item = SearchDoc>) -> Result<Self, SearchError> {
        let (schema, fields) = schema();
        let index = Index::create_in_ram(schema);
        index.tokenizers().register(TOKENIZER, analyzer());
        let mut writer = index.writer_with_num_threads::<TantivyDocument>(1, 50_000_000)?;
        for d in docs {
            writer.add_document(Self::document(&fields, &d))?;
        }
        writer.commit()?;
        writer.wait_merging_threads()?;
        Self::open(index, fields)
    }

    fn open(index: Index, fields: Fields) -> Result<Self, SearchError> {
        let reader = index
            .reader_builder()
            .reload_policy(tantivy::ReloadPolicy::Manual)
            .try_into()?;
        Ok(Self {
            index,
            reader,
            fields,
        })
    }

    /// The index's live files (relative path, bytes), to publish: `meta.json` and the files of
    /// every searchable segment (never files a merge made obsolete).
    pub fn files(&self) -> Result<Vec<(String, Vec<u8>)>, SearchError> {
        let dir = self.index.directory();
        let mut paths = vec![std::path::PathBuf::from("meta.json")];
        for meta in self.index.searchable_segment_metas()? {
            for component in [
                SegmentComponent::Postings,
                SegmentComponent::Positions,
                SegmentComponent::FastFields,
                SegmentComponent::FieldNorms,
                SegmentComponent::Terms,
                SegmentComponent::Store,
            ] {
                paths.push(meta.relative_path(component));
            }
            if meta.has_deletes() {
                paths.push(meta.relative_path(SegmentComponent::Delete));
            }
        }
        let mut files = Vec::with_capacity(paths.len());
        for path in paths {
            // A segment without, say, positions has no such file.
            let Ok(bytes) = tantivy::Directory::atomic_read(dir, &path) else {
                continue;
            };
            files.push((path.to_string_lossy().into_owned(), bytes));
        }
        Ok(files)
    }

    /// Opens a read-only index over its files, already in memory (e.g. downloaded from S3),
    /// without copying them.
    pub fn from_files(files: HashMap<std::path::PathBuf, OwnedBytes>) -> Result<Self, SearchError> {
        let index = Index::open(BytesDirectory::new(files))?;
        index.tokenizers().register(TOKENIZER, analyzer());
        let (_, fields) = schema();
        Self::open(index, fields)
    }

    /// Opens an index that [`Catalogue::apply`] can change, from a copy of its files.
    pub fn writable(files: HashMap<std::path::PathBuf, OwnedBytes>) -> Result<Self, SearchError> {
        let dir = RamDirectory::create();
        for (path, bytes) in files {
            tantivy::Directory::atomic_write(&dir, &path, bytes.as_slice()).map_err(|e| {
                SearchError::Index(tantivy::TantivyError::InternalError(e.to_string()))
            })?;
        }
        let index = Index::open(dir)?;
        index.tokenizers().register(TOKENIZER, analyzer());
        let (_, fields) = schema();
        Self::open(index, fields)
    }

    /// The stored digest of each of `ids` that is in the index.
    fn digests<'a>(
        &self,
        ids: impl Iterator<Item = &'a str>,
    ) -> Result<HashMap<String, u64>, SearchError> {
        let searcher = self.reader.searcher();
        let mut found = HashMap::new();
        for id in ids {
            let term = TermQuery::new(
                Term::from_field_text(self.fields.id, id),
                IndexRecordOption::Basic,
            );
            if let Some((_, address)) = searcher
                .search(&term, &TopDocs::with_limit(1).order_by_score())?
                .first()
            {
                let d: TantivyDocument = searcher.doc(*address)?;
                if let Some(digest) = d.get_first(self.fields.digest).and_then(|v| v.as_u64()) {
                    found.insert(id.to_owned(), digest);
                }
            }
        }
        Ok(found)
    }

    /// Applies `changes` (later ones win for the same product), skipping products whose
    /// document is already exactly as given; returns how many documents changed. Only an index
    /// from [`Catalogue::build`] or [`Catalogue::writable`] can be changed.
    pub fn apply(&self, changes: &[Change]) -> Result<usize, SearchError> {
        let mut last: HashMap<&str, &Change> = HashMap::new();
        for c in changes {
            last.insert(c.id(), c);
        }
        let current = self.digests(last.keys().copied())?;
        let due: Vec<&Change> = last
            .into_values()
            .filter(|c| match c {
                Change::Upsert(d) => current.get(&d.id) != Some(&d.digest()),
                Change::Remove(id) => current.contains_key(id.as_str()),
            })
            .collect();
        if due.is_empty() {
            return Ok(0);
        }
        let mut writer = self
            .index
            .writer_with_num_threads::<TantivyDocument>(1, 50_000_000)?;
        for c in &due {
            writer.delete_term(Term::from_field_text(self.fields.id, c.id()));
            if let Change::Upsert(d) = c {
                writer.add_document(Self::document(&self.fields, d))?;
            }
        }
        writer.commit()?;
        writer.wait_merging_threads()?;
        self.reader.reload()?;
        Ok(due.len())
    }

    /// Product names for what the user is typing: every word but the last must match a name
    /// word (with the usual typo tolerance), the last is a prefix (a typo allowed from five
    /// letters); exact prefixes rank first.
    pub fn suggest(&self, text: &str, limit: usize) -> Result<Vec<Suggestion>, SearchError> {
        let f = self.fields;
        let words = self.words(text);
        let Some((last, rest)) = words.split_last() else {
            return Ok(Vec::new());
        };
        let searcher = self.reader.searcher();
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for w in rest {
            let exact: Box<dyn Query> = Box::new(TermQuery::new(
                Term::from_field_text(f.name, w),
                IndexRecordOption::WithFreqs,
            ));
            let mut either = vec![(Occur::Should, Box::new(BoostQuery::new(exact, 2.0)) as _)];
            let typos = typos_allowed(w.chars().count());
            if typos > 0 {
                let near = in_names(&searcher, f, w, tolerance(typos, false), &[])?;
                either.extend(any_of(f.name, &near, 1.0).map(|q| (Occur::Should, q)));
            }
            clauses.push((Occur::Must, Box::new(BooleanQuery::new(either))));
        }
        // Completions of the last word score 4; with five letters or more, completions of the
        // word with one typo also match, scoring 1.
        let completions = in_names(&searcher, f, last, tolerance(0, true), &[])?;
        let mut either: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        either.extend(any_of(f.name, &completions, 4.0).map(|q| (Occur::Should, q)));
        if last.chars().count() >= 5 {
            let loose = in_names(&searcher, f, last, tolerance(1, true), &completions)?;
            either.extend(any_of(f.name, &loose, 1.0).map(|q| (Occur::Should, q)));
        }
        if either.is_empty() {
            return Ok(Vec::new());
        }
        clauses.push((Occur::Must, Box::new(BooleanQuery::new(either))));
        let top: Vec<(f32, DocAddress)> = searcher.search(
            &BooleanQuery::new(clauses),
            &TopDocs::with_limit(limit.clamp(1, 20)).order_by_score(),
        )?;
        let mut out: Vec<Suggestion> = Vec::with_capacity(top.len());
        for (_, address) in top {
            let d: TantivyDocument = searcher.doc(address)?;
            let text = |field| {
                d.get_first(field)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_owned()
            };
            let name = text(f.name);
            if !out.iter().any(|s| s.name == name) {
                out.push(Suggestion {
                    id: text(f.id),
                    name,
                });
            }
        }
        Ok(out)
    }

    /// How many products the index holds.
    pub fn len(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn document(f: &Fields, d: &SearchDoc) -> TantivyDocument {
        let mut doc = doc!(
            f.id => d.id.clone(),
            f.name => d.name.clone(),
            f.description => d.description.clone(),
            f.category => d.category.clone(),
            f.category_key => key(&d.category),
            f.sku => d.sku.to_uppercase(),
            f.price => d.price_minor,
            f.available => d.available,
            f.created => d.created,
            f.digest => d.digest(),
        );
        if let Some(b) = &d.brand {
            doc.add_text(f.brand, b);
            doc.add_text(f.brand_key, key(b));
        }
        if let Some(code) = &d.barcode {
            doc.add_text(f.barcode, code);
        }
        doc
    }

    fn words(&self, text: &str) -> Vec<String> {
        let mut analyzer = analyzer();
        let mut stream = analyzer.token_stream(text);
        let mut words = Vec::new();
        while stream.advance() {
            words.push(stream.token().text.clone());
        }
        words.truncate(10);
        words
    }

    fn text_query(
        &self,
        searcher: &tantivy::Searcher,
        text: &str,
    ) -> Result<Option<Box<dyn Query>>, SearchError> {
        let f = &self.fields;
        let words = self.words(text);
        let Some((last, rest)) = words.split_last() else {
            return Ok(None);
        };
        let boosted = |q: Box<dyn Query>, boost: f32| -> (Occur, Box<dyn Query>) {
            (Occur::Should, Box::new(BoostQuery::new(q, boost)))
        };
        let term_q = |field: Field, w: &str| -> Box<dyn Query> {
            Box::new(TermQuery::new(
                Term::from_field_text(field, w),
                IndexRecordOption::WithFreqs,
            ))
        };
        // A word matches exactly in any field (scored by BM25), or, in the name and brand, as
        // a word within its typo allowance (a constant 0.8 and 0.4) or, for the last word, as
        // the start of a longer word (1.5 and 0.6).
        let word_query = |w: &String, is_last: bool| -> Result<Box<dyn Query>, SearchError> {
            let mut clauses = vec![
                boosted(term_q(f.name, w), 4.0),
                boosted(term_q(f.description, w), 1.0),
                boosted(term_q(f.brand, w), 2.0),
                boosted(term_q(f.category, w), 2.0),
            ];
            let exact = std::slice::from_ref(w);
            let fields = [f.name, f.brand];
            let typos = typos_allowed(w.chars().count());
            if typos > 0 {
                let near = expand(searcher, &fields, w, tolerance(typos, false), exact)?;
                for ((field, words), score) in fields.iter().zip(&near).zip([0.8, 0.4]) {
                    clauses.extend(any_of(*field, words, score).map(|q| (Occur::Should, q)));
                }
            }
            if is_last {
                let longer = expand(searcher, &fields, w, tolerance(0, true), exact)?;
                for ((field, words), score) in fields.iter().zip(&longer).zip([1.5, 0.6]) {
                    clauses.extend(any_of(*field, words, score).map(|q| (Occur::Should, q)));
                }
            }
            Ok(Box::new(BooleanQuery::new(clauses)))
        };
        let mut all_words: Vec<(Occur, Box<dyn Query>)> = Vec::with_capacity(words.len());
        for w in rest {
            all_words.push((Occur::Must, word_query(w, false)?));
        }
        all_words.push((Occur::Must, word_query(last, true)?));
        let raw = text.trim();
        let exact_codes: Vec<(Occur, Box<dyn Query>)> = vec![
            (Occur::Should, Box::new(BooleanQuery::new(all_words))),
            boosted(term_q(f.sku, &raw.to_uppercase()), 20.0),
            boosted(term_q(f.barcode, raw), 20.0),
        ];
        Ok(Some(Box::new(BooleanQuery::new(exact_codes))))
    }

    fn query(
        &self,
        searcher: &tantivy::Searcher,
        q: &SearchQuery,
    ) -> Result<Box<dyn Query>, SearchError> {
        let f = &self.fields;
        let mut must: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        if let Some(text) = self.text_query(searcher, &q.text)? {
            must.push((Occur::Must, text));
        }
        let exact = |field: Field, value: &str| -> Box<dyn Query> {
            Box::new(TermQuery::new(
                Term::from_field_text(field, &key(value)),
                IndexRecordOption::Basic,
            ))
        };
        if let Some(c) = &q.category {
            must.push((Occur::Must, exact(f.category_key, c)));
        }
        if let Some(b) = &q.brand {
            must.push((Occur::Must, exact(f.brand_key, b)));
        }
        if q.min_price.is_some() || q.max_price.is_some() {
            let bound = |v: Option<i64>| {
                v.map_or(Bound::Unbounded, |v| {
                    Bound::Included(Term::from_field_i64(f.price, v))
                })
            };
            must.push((
                Occur::Must,
                Box::new(RangeQuery::new(bound(q.min_price), bound(q.max_price))),
            ));
        }
        if q.in_stock {
            let from = Bound::Included(Term::from_field_i64(f.available, 1));
            must.push((
                Occur::Must,
                Box::new(RangeQuery::new(from, Bound::Unbounded)),
            ));
        }
        if must.iter().all(|(o, _)| *o != Occur::Must) || must.is_empty() {
            must.push((Occur::Must, Box::new(tantivy::query::AllQuery)));
        }
        Ok(Box::new(BooleanQuery::new(must)))
    }

    /// Runs `q`: a page of hits and facet counts over every match.
    pub fn search(&self, q: &SearchQuery) -> Result<SearchResults, SearchError> {
        let searcher = self.reader.searcher();
        let query = self.query(&searcher, q)?;
        let limit = q.limit.clamp(1, MAX_WINDOW);
        let top = TopDocs::with_limit(limit).and_offset(q.offset.min(MAX_WINDOW));
        // One pass over the matches: the page, the total and (unless left out) the facets.
        let counts = (Count, (!q.skip_facets).then_some(FacetCounter));
        let (page, (total, facets)): (Vec<(f32, DocAddress)>, _) = match q.sort {
            SortBy::Relevance => searcher.search(&query, &(top.order_by_score(), counts))?,
            SortBy::PriceAsc | SortBy::PriceDesc | SortBy::Newest => {
                let (field, order) = match q.sort {
                    SortBy::PriceAsc => ("price", Order::Asc),
                    SortBy::PriceDesc => ("price", Order::Desc),
                    _ => ("created", Order::Desc),
                };
                let by_field = top.order_by_fast_field::<i64>(field, order);
                let (sorted, counts): (Vec<(Option<i64>, DocAddress)>, _) =
                    searcher.search(&query, &(by_field, counts))?;
                (sorted.into_iter().map(|(_, a)| (0.0, a)).collect(), counts)
            }
        };
        let mut hits = Vec::with_capacity(page.len());
        let snippets =
            tantivy::snippet::SnippetGenerator::create(&searcher, &*query, self.fields.name)?;
        for (score, address) in page {
            let d: TantivyDocument = searcher.doc(address)?;
            let snippet = snippets.snippet_from_doc(&d);
            let highlight = if snippet.is_empty() {
                String::new()
            } else {
                snippet.to_html()
            };
            let text = |field| {
                d.get_first(field)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_owned()
            };
            let int = |field| {
                d.get_first(field)
                    .and_then(|v| v.as_i64())
                    .unwrap_or_default()
            };
            hits.push(Hit {
                id: text(self.fields.id),
                name: text(self.fields.name),
                sku: text(self.fields.sku),
                price_minor: int(self.fields.price),
                available: int(self.fields.available),
                score,
                highlight,
            });
        }
        let facets = facets.unwrap_or_default();
        Ok(SearchResults {
            total,
            hits,
            categories: facets.categories,
            brands: facets.brands,
            prices: facets.prices,
        })
    }

    /// The tantivy index and a searcher over it, for benchmarks that compare with raw tantivy.
    #[doc(hidden)]
    pub fn raw(&self) -> (&Index, tantivy::Searcher) {
        (&self.index, self.reader.searcher())
    }
}

/// The product-name words within `tolerance` of `word` (see [`expand`]); `word` itself only for
/// a prefix.
fn in_names(
    searcher: &tantivy::Searcher,
    f: Fields,
    word: &str,
    tolerance: Tolerance,
    except: &[String],
) -> Result<Vec<String>, SearchError> {
    let mut except = except.to_vec();
    if !tolerance.prefix {
        except.push(word.to_owned());
    }
    Ok(expand(searcher, &[f.name], word, tolerance, &except)?
        .pop()
        .unwrap_or_default())
}

/// A [`Tolerance`] of `typos` edits, as a prefix or as a whole word.
fn tolerance(typos: u8, prefix: bool) -> Tolerance {
    Tolerance { typos, prefix }
}

#[cfg(test)]
#[path = "search_test.rs"]
mod tests;
