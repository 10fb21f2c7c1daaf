//! `make bench`: the search index at 100,000 generated products, in process: build time and
//! size, loading from bytes in memory (what the search function does after downloading from
//! S3), query latency per kind and as a multiple of raw tantivy answering the same queries on
//! the same index, what one indexer batch costs, and the reader's peak memory (measured in a
//! child process that only loads and queries). Writes its section of docs/PERFORMANCE.md.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{RngExt, SeedableRng};
use shared::search::{Catalogue, Change, SearchDoc, SearchQuery};
use stockroom_tests::bench::{Stats, machine, micro, stats, table, time, write_section};
use tantivy::aggregation::agg_req::Aggregations;
use tantivy::aggregation::{AggContextParams, AggregationCollector, AggregationLimitsGuard};
use tantivy::collector::{Count, TopDocs};
use tantivy::directory::OwnedBytes;
use tantivy::query::{BooleanQuery, FuzzyTermQuery, Occur, Query, QueryParser, TermQuery};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::snippet::SnippetGenerator;
use tantivy::{DocAddress, Index, Searcher, TantivyDocument, Term};

const PRODUCTS: usize = 100_000;
const QUERIES: usize = 2_000;
const READER: &str = "STOCKROOM_SEARCH_BENCH_READER";

const ADJECTIVES: &[&str] = &[
    "waterproof",
    "lightweight",
    "compact",
    "classic",
    "vintage",
    "rugged",
    "insulated",
    "wireless",
    "ergonomic",
    "adjustable",
    "foldable",
    "portable",
    "premium",
    "organic",
    "stainless",
    "handmade",
    "breathable",
    "cordless",
    "reusable",
    "heavy-duty",
    "slim",
    "padded",
    "reflective",
    "magnetic",
    "ceramic",
    "bamboo",
    "leather",
    "woollen",
    "cotton",
    "carbon",
    "aluminium",
    "copper",
    "velvet",
    "linen",
    "recycled",
    "modular",
    "smart",
];
const NOUNS: &[&str] = &[
    "jacket",
    "backpack",
    "kettle",
    "lantern",
    "blender",
    "notebook",
    "headphones",
    "tent",
    "sleeping bag",
    "water bottle",
    "desk lamp",
    "keyboard",
    "mouse",
    "chair",
    "sofa",
    "mattress",
    "pillow",
    "blanket",
    "towel",
    "teapot",
    "frying pan",
    "saucepan",
    "knife set",
    "cutting board",
    "toaster",
    "speaker",
    "charger",
    "cable",
    "monitor",
    "tripod",
    "camera",
    "bicycle",
    "helmet",
    "gloves",
    "scarf",
    "sneakers",
    "boots",
    "sandals",
    "umbrella",
    "wallet",
    "watch",
    "sunglasses",
    "belt",
    "hoodie",
    "t-shirt",
    "jeans",
    "shorts",
    "socks",
    "yoga mat",
    "dumbbell",
    "skipping rope",
    "football",
    "racket",
    "drill",
    "hammer",
    "screwdriver",
    "wrench",
    "ladder",
    "planter",
    "watering can",
    "hose",
    "shovel",
    "rake",
];
const CATEGORIES: &[&str] = &[
    "Outdoor",
    "Kitchen",
    "Electronics",
    "Furniture",
    "Bedding",
    "Apparel",
    "Footwear",
    "Accessories",
    "Fitness",
    "Tools",
    "Garden",
    "Office",
    "Toys",
    "Beauty",
    "Grocery",
    "Books",
    "Music",
    "Pets",
    "Baby",
    "Automotive",
    "Lighting",
    "Bath",
    "Travel",
    "Sports",
];
const WORDS: &[&str] = &[
    "durable",
    "everyday",
    "design",
    "quality",
    "comfortable",
    "easy",
    "clean",
    "gift",
    "family",
    "home",
    "travel",
    "work",
    "weekend",
    "season",
    "warm",
    "cool",
    "fresh",
    "strong",
    "soft",
    "bright",
    "quiet",
    "fast",
    "safe",
    "simple",
    "elegant",
    "natural",
    "finish",
    "grip",
    "storage",
    "capacity",
    "battery",
    "warranty",
    "size",
    "fit",
    "colour",
    "pattern",
    "texture",
    "material",
    "frame",
    "handle",
    "lid",
    "strap",
    "pocket",
    "zip",
    "sole",
    "lining",
    "shell",
    "base",
    "cover",
    "edge",
    "blade",
    "motor",
    "screen",
    "sound",
];

fn brand(rng: &mut StdRng) -> String {
    const SYLLABLES: &[&str] = &[
        "ka", "lo", "mi", "ra", "ven", "tor", "sil", "nor", "ex", "qui", "dal", "mar", "zen",
        "bro", "fin", "gal", "hel", "jor", "kel", "lum", "nova", "oro", "pax", "rex", "sol",
    ];
    let n = rng.random_range(2..=3);
    let mut b: String = (0..n).map(|_| *SYLLABLES.choose(rng).unwrap()).collect();
    b[..1].make_ascii_uppercase();
    b
}

fn catalogue(n: usize) -> Vec<SearchDoc> {
    let mut rng = StdRng::seed_from_u64(42);
    let brands: Vec<String> = (0..400).map(|_| brand(&mut rng)).collect();
    (0..n)
        .map(|i| {
            let adjective = ADJECTIVES.choose(&mut rng).unwrap();
            let noun = NOUNS.choose(&mut rng).unwrap();
            let brand = brands.choose(&mut rng).unwrap().clone();
            let name = format!("{brand} {adjective} {noun} {}", rng.random_range(1..=60));
            let words: Vec<&str> = (0..rng.random_range(12..30))
                .map(|_| *WORDS.choose(&mut rng).unwrap())
                .collect();
            SearchDoc {
                id: format!("{i:08}"),
                name,
                description: format!("{} {noun} for {}", words.join(" "), adjective),
                brand: Some(brand),
                category: CATEGORIES.choose(&mut rng).unwrap().to_string(),
                sku: format!("SKU-{i:06}"),
                barcode: Some(format!("{:013}", 4_000_000_000_000u64 + i as u64)),
                price_minor: rng.random_range(100..2_000_000),
                available: if rng.random_bool(0.3) {
                    0
                } else {
                    rng.random_range(1..500)
                },
                created: 1_700_000_000 + i as i64,
            }
        })
        .collect()
}

/// One edit (swap, drop or change a letter) inside a word of at least five letters.
fn typo(word: &str, rng: &mut StdRng) -> String {
    let mut chars: Vec<char> = word.chars().collect();
    let i = rng.random_range(1..chars.len() - 1);
    match rng.random_range(0..3) {
        0 => chars.swap(i, i + 1),
        1 => {
            chars.remove(i);
        }
        _ => chars[i] = 'x',
    }
    chars.into_iter().collect()
}

fn query(text: String, skip_facets: bool) -> SearchQuery {
    SearchQuery {
        text,
        limit: 20,
        skip_facets,
        ..SearchQuery::default()
    }
}

/// The query mix: (name, queries or prefixes).
fn workload() -> Vec<(&'static str, Vec<String>)> {
    let mut rng = StdRng::seed_from_u64(7);
    let two_words = |rng: &mut StdRng| {
        format!(
            "{} {}",
            ADJECTIVES.choose(rng).unwrap(),
            NOUNS.choose(rng).unwrap()
        )
    };
    let full_text: Vec<String> = (0..QUERIES).map(|_| two_words(&mut rng)).collect();
    let typos: Vec<String> = (0..QUERIES)
        .map(|_| {
            let noun = loop {
                let n = NOUNS.choose(&mut rng).unwrap();
                if n.len() >= 5 && !n.contains(' ') && !n.contains('-') {
                    break *n;
                }
            };
            format!(
                "{} {}",
                ADJECTIVES.choose(&mut rng).unwrap(),
                typo(noun, &mut rng)
            )
        })
        .collect();
    let prefixes: Vec<String> = (0..QUERIES)
        .map(|_| {
            let text = two_words(&mut rng);
            let cut = rng.random_range(2..=text.len().min(12));
            text[..cut].trim_end().to_owned()
        })
        .collect();
    vec![
        ("full-text top 20", full_text.clone()),
        ("typo query top 20 (one edit)", typos),
        ("suggest (prefix, 8 names)", prefixes),
        ("full-text top 20 with facets", full_text),
    ]
}

/// Raw tantivy over the same index, answering the same query lists the plain way: the query
/// parser's BM25 over the same fields with the same boosts (every word required, as ours), a
/// prefix query for suggestions, the aggregation collector for facets, and the same output work
/// (the page's stored documents and a highlighted name). What each Stockroom kind is compared
/// with.
struct Raw<'a> {
    index: &'a Index,
    searcher: Searcher,
    /// Plain BM25.
    parser: QueryParser,
    /// BM25 with one typo allowed in the name and brand (the query parser's fuzzy terms).
    typo_parser: QueryParser,
    name: Field,
    facets: Aggregations,
}

impl<'a> Raw<'a> {
    fn new(c: &'a Catalogue) -> Self {
        let (index, searcher) = c.raw();
        let schema = index.schema();
        let field = |n: &str| schema.get_field(n).unwrap();
        let parser = || {
            let fields = ["name", "description", "brand", "category"].map(field);
            let mut p = QueryParser::for_index(index, fields.to_vec());
            for (f, boost) in fields.into_iter().zip([4.0, 1.0, 2.0, 2.0]) {
                p.set_field_boost(f, boost);
            }
            p.set_conjunction_by_default();
            p
        };
        let mut typo_parser = parser();
        for f in ["name", "brand"] {
            typo_parser.set_field_fuzzy(field(f), false, 1, true);
        }
        let ranges: Vec<serde_json::Value> = std::iter::once(None)
            .chain(shared::search::PRICE_BUCKETS.iter().map(|b| Some(b * 100)))
            .zip(
                shared::search::PRICE_BUCKETS
                    .iter()
                    .map(|b| Some(b * 100))
                    .chain(std::iter::once(None)),
            )
            .map(|(from, to)| serde_json::json!({"from": from, "to": to}))
            .collect();
        let facets = serde_json::from_value(serde_json::json!({
            "categories": {"terms": {"field": "category_key", "size": 100}},
            "brands": {"terms": {"field": "brand_key", "size": 1000}},
            "prices": {"range": {"field": "price", "ranges": ranges}},
        }))
        .unwrap();
        Self {
            index,
            searcher,
            parser: parser(),
            typo_parser,
            name: field("name"),
            facets,
        }
    }

    /// The page's stored documents, each with its name highlighted.
    fn page(&self, query: &dyn Query, hits: &[(f32, DocAddress)]) {
        let snippets = SnippetGenerator::create(&self.searcher, query, self.name).unwrap();
        for (_, address) in hits {
            let d: TantivyDocument = self.searcher.doc(*address).unwrap();
            std::hint::black_box(snippets.snippet_from_doc(&d).to_html());
        }
    }

    fn search(&self, parser: &QueryParser, text: &str, facets: bool) {
        let (query, _) = parser.parse_query_lenient(text);
        let top = TopDocs::with_limit(20).order_by_score();
        let hits = if facets {
            let aggs = AggregationCollector::from_aggs(
                self.facets.clone(),
                AggContextParams::new(
                    AggregationLimitsGuard::default(),
                    self.index.tokenizers().clone(),
                ),
            );
            let (hits, total, counts) = self.searcher.search(&query, &(top, Count, aggs)).unwrap();
            std::hint::black_box((total, counts));
            hits
        } else {
            let (hits, total) = self.searcher.search(&query, &(top, Count)).unwrap();
            std::hint::black_box(total);
            hits
        };
        self.page(&*query, &hits);
    }

    fn suggest(&self, text: &str) {
        let mut tokens = self.index.tokenizer_for_field(self.name).unwrap();
        let mut stream = tokens.token_stream(text);
        let mut words = Vec::new();
        while stream.advance() {
            words.push(Term::from_field_text(self.name, &stream.token().text));
        }
        let Some(last) = words.pop() else {
            return;
        };
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = words
            .into_iter()
            .map(|t| {
                let q: Box<dyn Query> = Box::new(TermQuery::new(t, IndexRecordOption::Basic));
                (Occur::Must, q)
            })
            .collect();
        clauses.push((
            Occur::Must,
            Box::new(FuzzyTermQuery::new_prefix(last, 0, false)),
        ));
        let top = TopDocs::with_limit(8).order_by_score();
        let hits = self
            .searcher
            .search(&BooleanQuery::new(clauses), &top)
            .unwrap();
        for (_, address) in hits {
            let d: TantivyDocument = self.searcher.doc(address).unwrap();
            std::hint::black_box(d);
        }
    }
}

/// Each query kind over its list: Stockroom's times, and raw tantivy's for the same query taken
/// right after it (so both see the same caches) when `raw` is given.
fn run_queries(c: &Catalogue, raw: Option<&Raw<'_>>) -> (Vec<Stats>, Vec<Stats>) {
    let (mut rows, mut raw_rows) = (Vec::new(), Vec::new());
    for (name, texts) in workload() {
        let mut samples = Vec::with_capacity(texts.len());
        let mut raw_samples = Vec::with_capacity(texts.len());
        for text in texts {
            let (result, took) = match name {
                n if n.starts_with("suggest") => time(|| c.suggest(&text, 8).map(|_| ())),
                n if n.ends_with("facets") => {
                    time(|| c.search(&query(text.clone(), false)).map(|_| ()))
                }
                _ => time(|| c.search(&query(text.clone(), true)).map(|_| ())),
            };
            result.unwrap();
            samples.push(took);
            if let Some(r) = raw {
                let ((), took) = match name {
                    n if n.starts_with("suggest") => time(|| r.suggest(&text)),
                    n if n.ends_with("facets") => time(|| r.search(&r.parser, &text, true)),
                    n if n.starts_with("typo") => time(|| r.search(&r.typo_parser, &text, false)),
                    _ => time(|| r.search(&r.parser, &text, false)),
                };
                raw_samples.push(took);
            }
        }
        rows.push(stats(name, samples));
        if raw.is_some() {
            raw_rows.push(stats(name, raw_samples));
        }
    }
    (rows, raw_rows)
}

/// Stockroom's query kinds as multiples of raw tantivy's, at p50 and p99.
fn ratios(ours: &[Stats], raw: &[Stats]) -> String {
    let mut t = String::from(
        "| query kind | raw tantivy p50 ms | raw tantivy p99 ms | Stockroom / raw, p50 | Stockroom / raw, p99 |\n|---|---|---|---|---|\n",
    );
    for (o, r) in ours.iter().zip(raw) {
        let (rp50, rp99) = (r.percentile(0.5), r.percentile(0.99));
        writeln!(
            t,
            "| {} | {rp50:.3} | {rp99:.3} | {:.2}x | {:.2}x |",
            o.name,
            o.percentile(0.5) / rp50,
            o.percentile(0.99) / rp99
        )
        .unwrap();
    }
    t
}

fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

fn read_dir(dir: &PathBuf) -> HashMap<PathBuf, OwnedBytes> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            (
                PathBuf::from(path.file_name().unwrap()),
                OwnedBytes::new(bytes),
            )
        })
        .collect()
}

/// The reader process: load from bytes and query, nothing else; prints its peak memory.
fn reader(dir: &str) {
    let files = read_dir(&PathBuf::from(dir));
    let c = Catalogue::from_files(files).unwrap();
    run_queries(&c, None);
    println!("peak_rss_kb={}", peak_rss_kb());
}

fn main() {
    if let Ok(dir) = std::env::var(READER) {
        return reader(&dir);
    }
    let docs = catalogue(PRODUCTS);
    let (built, build_time) = time(|| Catalogue::build(docs.clone()).unwrap());
    let files = built.files().unwrap();
    let size: usize = files.iter().map(|(_, b)| b.len()).sum();
    let by_path: HashMap<PathBuf, OwnedBytes> = files
        .iter()
        .map(|(p, b)| (PathBuf::from(p), OwnedBytes::new(b.clone())))
        .collect();

    let mut rows = vec![micro(
        "open the index from bytes in memory (cold load)",
        50,
        || {
            Catalogue::from_files(by_path.clone()).unwrap();
        },
    )];
    let loaded = Catalogue::from_files(by_path.clone()).unwrap();
    assert_eq!(loaded.len(), PRODUCTS as u64);
    let raw = Raw::new(&loaded);
    let (query_rows, raw_rows) = run_queries(&loaded, Some(&raw));
    let against_raw = ratios(&query_rows, &raw_rows);
    rows.extend(query_rows);

    // One indexer batch: 100 changed products applied to a writable copy, and what it uploads.
    let mut rng = StdRng::seed_from_u64(9);
    let mut batches = Vec::new();
    let mut uploaded = Vec::new();
    for round in 0..10 {
        let writable = Catalogue::writable(by_path.clone()).unwrap();
        let before: std::collections::BTreeSet<String> =
            files.iter().map(|(p, _)| p.clone()).collect();
        let changes: Vec<Change> = (0..100)
            .map(|_| {
                let mut d = docs.choose(&mut rng).unwrap().clone();
                d.available += 1 + round;
                Change::Upsert(d)
            })
            .collect();
        let (changed, took) = time(|| writable.apply(&changes).unwrap());
        assert!(changed > 90);
        batches.push(took);
        let new_bytes: usize = writable
            .files()
            .unwrap()
            .iter()
            .filter(|(p, _)| p == "meta.json" || !before.contains(p))
            .map(|(_, b)| b.len())
            .sum();
        uploaded.push(new_bytes);
    }
    rows.push(stats(
        "indexer: apply 100 changed products to a writable copy",
        batches,
    ));
    let upload_kb = uploaded.iter().sum::<usize>() / uploaded.len() / 1024;
    let writable_copy = micro(
        "indexer: copy the index into a writable directory (cold start)",
        10,
        || {
            Catalogue::writable(by_path.clone()).unwrap();
        },
    );
    rows.push(writable_copy);

    // The reader's memory, alone in its own process.
    let dir = std::env::temp_dir().join(format!("stockroom-search-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (p, b) in &files {
        std::fs::write(dir.join(p), b).unwrap();
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .env(READER, &dir)
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).ok();
    let reader_kb: u64 = String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("peak_rss_kb=")?.parse().ok())
        .expect("the reader process reports its peak memory");

    let mut doc = String::new();
    writeln!(doc, "## Search ({PRODUCTS} generated products)\n").unwrap();
    writeln!(doc, "Machine: {}. Reproduce with `make bench` (or `cargo bench -p stockroom-tests --bench search`).\n", machine()).unwrap();
    writeln!(doc, "| figure | value |\n|---|---|").unwrap();
    writeln!(
        doc,
        "| index build (one writer thread, 50 MB arena, as in Lambda) | {:.2} s |",
        build_time.as_secs_f64()
    )
    .unwrap();
    writeln!(
        doc,
        "| index size | {:.1} MB in {} files |",
        size as f64 / 1_048_576.0,
        files.len()
    )
    .unwrap();
    writeln!(doc, "| what one indexer batch of 100 changes uploads (new segment, deletes, meta) | {upload_kb} KB on average |").unwrap();
    writeln!(
        doc,
        "| peak memory of a reader process (load + {} queries) | {:.0} MB |",
        QUERIES * 4,
        reader_kb as f64 / 1024.0
    )
    .unwrap();
    writeln!(
        doc,
        "| peak memory of this process (generate, build, load, index batches) | {:.0} MB |\n",
        peak_rss_kb() as f64 / 1024.0
    )
    .unwrap();
    doc.push_str(&table(&rows));
    writeln!(
        doc,
        "\nAgainst raw tantivy on the same index and the same query lists (each raw query timed \
         right after Stockroom's): the query parser's BM25 over name, description, brand and \
         category with the same boosts and every word required (for the typo list, with the \
         parser's one-edit fuzzy terms on name and brand), a prefix query on the name for \
         suggestions, and the aggregation collector (category and brand terms, price ranges) \
         for facets; both load the page's stored documents and highlight the name. Target: \
         every kind within 1.5x at p50 and p99.\n"
    )
    .unwrap();
    doc.push_str(&against_raw);
    writeln!(
        doc,
        "\nTargets: every query kind under 5 ms at p99 in process; opening the index from bytes \
         in memory under 300 ms. Queries are generated from the same vocabulary as the products: \
         two words (an adjective and a noun), the same with one edit in a noun of five letters or \
         more, and 2–12 character prefixes for suggestions. Results include highlighting; \
         facets (category, brand, price buckets) are counted over every match. The cold load \
         wraps the downloaded bytes without copying them; the search function then checks the \
         manifest's ETag at most every 5 s and downloads only files it does not hold. The \
         indexer keeps its writable copy across warm invocations, so the copy row is paid once \
         per cold start."
    )
    .unwrap();
    print!("{doc}");
    write_section("search", doc.trim_end());
}
