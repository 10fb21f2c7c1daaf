//! Facet counts, collected in the same pass as the page: per segment, a counter per
//! dictionary ordinal of the category and brand columns and per price bucket; names are looked
//! up only for ordinals that were counted, once per segment.

use std::collections::BTreeMap;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Column, StrColumn};
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

use super::{PRICE_BUCKETS, bucket_index, bucket_label};

/// The counts per facet value over every match.
#[derive(Debug, Default)]
pub(super) struct Facets {
    pub categories: BTreeMap<String, u64>,
    pub brands: BTreeMap<String, u64>,
    pub prices: BTreeMap<String, u64>,
}

impl Facets {
    fn add(&mut self, other: Facets) {
        for (mine, theirs) in [
            (&mut self.categories, other.categories),
            (&mut self.brands, other.brands),
            (&mut self.prices, other.prices),
        ] {
            for (k, n) in theirs {
                *mine.entry(k).or_insert(0) += n;
            }
        }
    }
}

/// Counts every match's category, brand and price bucket.
pub(super) struct FacetCounter;

/// One column's counts by dictionary ordinal.
struct Tally {
    column: StrColumn,
    counts: Vec<u64>,
}

impl Tally {
    fn open(reader: &SegmentReader, name: &str) -> tantivy::Result<Option<Self>> {
        Ok(reader.fast_fields().str(name)?.map(|column| Self {
            counts: vec![0; column.num_terms()],
            column,
        }))
    }

    fn count(&mut self, doc: DocId) {
        if let Some(ord) = self.column.term_ords(doc).next()
            && let Some(n) = usize::try_from(ord)
                .ok()
                .and_then(|i| self.counts.get_mut(i))
        {
            *n += 1;
        }
    }

    fn names(self) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        let mut text = String::new();
        for (ord, n) in self.counts.into_iter().enumerate() {
            if n > 0
                && self
                    .column
                    .ord_to_str(ord as u64, &mut text)
                    .unwrap_or(false)
            {
                out.insert(text.clone(), n);
            }
        }
        out
    }
}

pub(super) struct SegmentFacets {
    category: Option<Tally>,
    brand: Option<Tally>,
    price: Column<i64>,
    prices: [u64; PRICE_BUCKETS.len() + 1],
}

impl Collector for FacetCounter {
    type Fruit = Facets;
    type Child = SegmentFacets;

    fn for_segment(
        &self,
        _segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<SegmentFacets> {
        Ok(SegmentFacets {
            category: Tally::open(reader, "category_key")?,
            brand: Tally::open(reader, "brand_key")?,
            price: reader.fast_fields().i64("price")?,
            prices: [0; PRICE_BUCKETS.len() + 1],
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Facets>) -> tantivy::Result<Facets> {
        let mut all = Facets::default();
        for f in fruits {
            all.add(f);
        }
        Ok(all)
    }
}

impl SegmentCollector for SegmentFacets {
    type Fruit = Facets;

    fn collect(&mut self, doc: DocId, _score: Score) {
        for tally in [&mut self.category, &mut self.brand].into_iter().flatten() {
            tally.count(doc);
        }
        if let Some(p) = self.price.first(doc) {
            self.prices[bucket_index(p)] += 1;
        }
    }

    fn harvest(self) -> Facets {
        Facets {
            categories: self.category.map(Tally::names).unwrap_or_default(),
            brands: self.brand.map(Tally::names).unwrap_or_default(),
            prices: self
                .prices
                .into_iter()
                .enumerate()
                .filter(|(_, n)| *n > 0)
                .map(|(i, n)| (bucket_label(i), n))
                .collect(),
        }
    }
}
