//! Unit tests of `search`: relevance order, typo limits, prefixes, filters and facets against a
//! brute-force count over the same data.

use super::*;

fn d(
    n: u32,
    name: &str,
    description: &str,
    brand: Option<&str>,
    category: &str,
    price: i64,
    available: i64,
) -> SearchDoc {
    SearchDoc {
        id: format!("p{n}"),
        name: name.into(),
        description: description.into(),
        brand: brand.map(str::to_owned),
        category: category.into(),
        sku: format!("SKU-{n:04}"),
        barcode: Some(format!("400638133{n:04}")),
        price_minor: price,
        available,
        created: i64::from(n),
    }
}

fn catalogue() -> Vec<SearchDoc> {
    vec![
        d(
            1,
            "Waterproof hiking jacket",
            "Breathable shell for rain",
            Some("Acme"),
            "Outdoor",
            549_900,
            5,
        ),
        d(
            2,
            "Hiking socks",
            "Merino wool, pairs well with a jacket",
            Some("Wooly"),
            "Outdoor",
            49_900,
            0,
        ),
        d(
            3,
            "Jackfruit chips",
            "Crunchy snack",
            Some("Acme"),
            "Grocery",
            19_900,
            10,
        ),
        d(
            4,
            "Rain jacket for kids",
            "Bright yellow",
            Some("Tiny"),
            "Kids",
            199_900,
            2,
        ),
        d(5, "Raincoat", "Classic trench", None, "Apparel", 899_900, 1),
        d(
            6,
            "Thermometer",
            "Digital kitchen thermometer",
            Some("Acme"),
            "Kitchen",
            99_900,
            3,
        ),
        d(
            7,
            "Jacker vest",
            "A vest",
            Some("Tiny"),
            "Apparel",
            150_000,
            4,
        ),
        d(
            8,
            "Jacketed kettle",
            "Keeps tea hot",
            Some("Acme"),
            "Kitchen",
            350_000,
            0,
        ),
    ]
}

fn ids(c: &Catalogue, text: &str) -> Vec<String> {
    let q = SearchQuery {
        text: text.into(),
        limit: 100,
        ..SearchQuery::default()
    };
    c.search(&q)
        .unwrap()
        .hits
        .into_iter()
        .map(|h| h.id)
        .collect()
}

fn pos(list: &[String], id: &str) -> usize {
    list.iter()
        .position(|x| x == id)
        .unwrap_or_else(|| panic!("{id} not in {list:?}"))
}

#[test]
fn exact_beats_prefix_beats_typo_and_name_beats_description() {
    let c = Catalogue::build(catalogue()).unwrap();
    let r = ids(&c, "jacket");
    for exact in ["p1", "p4"] {
        assert!(pos(&r, exact) < pos(&r, "p8"), "exact before prefix: {r:?}");
        assert!(
            pos(&r, exact) < pos(&r, "p2"),
            "name before description: {r:?}"
        );
    }
    assert!(pos(&r, "p8") < pos(&r, "p7"), "prefix before typo: {r:?}");
    assert!(!r.contains(&"p3".to_owned()), "jackfruit is neither: {r:?}");
}

#[test]
fn typos_allowed_grow_with_word_length() {
    assert_eq!(
        (
            typos_allowed(4),
            typos_allowed(5),
            typos_allowed(8),
            typos_allowed(9)
        ),
        (0, 1, 1, 2)
    );
    let c = Catalogue::build(catalogue()).unwrap();
    let mut hikng = ids(&c, "hikng");
    hikng.sort();
    assert_eq!(hikng, ["p1", "p2"], "5 letters: one typo");
    assert!(ids(&c, "hkng").is_empty(), "4 letters: no typo");
    assert_eq!(ids(&c, "raincot"), ["p5"], "7 letters: one typo");
    assert!(ids(&c, "rainct").is_empty(), "6 letters: not two typos");
    assert!(
        ids(&c, "termometr").contains(&"p6".to_owned()),
        "9 letters: two typos"
    );
}

#[test]
fn the_last_word_is_a_prefix_and_every_word_must_match() {
    let c = Catalogue::build(catalogue()).unwrap();
    assert_eq!(ids(&c, "waterpr")[0], "p1");
    assert_eq!(ids(&c, "hiking wa"), ["p1"], "hiking + water*");
    assert!(ids(&c, "hiking chips").is_empty());
}

#[test]
fn skus_and_barcodes_find_their_product_first() {
    let c = Catalogue::build(catalogue()).unwrap();
    assert_eq!(ids(&c, "sku-0003")[0], "p3");
    assert_eq!(ids(&c, "4006381330006")[0], "p6");
}

#[test]
fn query_syntax_is_just_text() {
    let c = Catalogue::build(catalogue()).unwrap();
    for q in [
        "jacket) OR name:*",
        "\"unclosed",
        "-jacket",
        "name:raincoat^9",
        "*",
        "a AND b",
    ] {
        c.search(&SearchQuery {
            text: q.into(),
            limit: 10,
            ..SearchQuery::default()
        })
        .unwrap();
    }
}

#[test]
fn sorting_by_price_and_newest() {
    let c = Catalogue::build(catalogue()).unwrap();
    let run = |sort| {
        c.search(&SearchQuery {
            sort,
            limit: 100,
            ..SearchQuery::default()
        })
        .unwrap()
        .hits
    };
    let asc: Vec<i64> = run(SortBy::PriceAsc)
        .iter()
        .map(|h| h.price_minor)
        .collect();
    assert!(asc.windows(2).all(|w| w[0] <= w[1]), "{asc:?}");
    let desc: Vec<i64> = run(SortBy::PriceDesc)
        .iter()
        .map(|h| h.price_minor)
        .collect();
    assert!(desc.windows(2).all(|w| w[0] >= w[1]), "{desc:?}");
    assert_eq!(run(SortBy::Newest)[0].id, "p8");
    let page = c
        .search(&SearchQuery {
            sort: SortBy::PriceAsc,
            offset: 2,
            limit: 2,
            ..SearchQuery::default()
        })
        .unwrap();
    assert_eq!(
        page.hits.iter().map(|h| h.price_minor).collect::<Vec<_>>(),
        asc[2..4].to_vec()
    );
    assert_eq!(page.total, 8);
}

#[test]
fn filters_and_facets_match_a_brute_force_count() {
    let docs = catalogue();
    let c = Catalogue::build(docs.clone()).unwrap();
    for text in ["", "jacket", "acme"] {
        let matched: Vec<String> = if text.is_empty() {
            docs.iter().map(|d| d.id.clone()).collect()
        } else {
            ids(&c, text)
        };
        for category in [None, Some("OUTDOOR"), Some("kitchen")] {
            for brand in [None, Some("acme"), Some("Tiny")] {
                for (min_price, max_price) in
                    [(None, None), (Some(100_000), None), (None, Some(300_000))]
                {
                    for in_stock in [false, true] {
                        let q = SearchQuery {
                            text: text.into(),
                            category: category.map(str::to_owned),
                            brand: brand.map(str::to_owned),
                            min_price,
                            max_price,
                            in_stock,
                            limit: 100,
                            ..SearchQuery::default()
                        };
                        let got = c.search(&q).unwrap();
                        let expected: Vec<&SearchDoc> = docs
                            .iter()
                            .filter(|d| matched.contains(&d.id))
                            .filter(|d| category.is_none_or(|x| key(x) == key(&d.category)))
                            .filter(|d| {
                                brand.is_none_or(|x| {
                                    d.brand.as_deref().is_some_and(|b| key(b) == key(x))
                                })
                            })
                            .filter(|d| min_price.is_none_or(|m| d.price_minor >= m))
                            .filter(|d| max_price.is_none_or(|m| d.price_minor <= m))
                            .filter(|d| !in_stock || d.available > 0)
                            .collect();
                        let label = format!(
                            "{text:?} {category:?} {brand:?} {min_price:?} {max_price:?} {in_stock}"
                        );
                        assert_eq!(got.total, expected.len(), "{label}");
                        let mut cats = BTreeMap::new();
                        let mut brands = BTreeMap::new();
                        let mut prices = BTreeMap::new();
                        for d in &expected {
                            *cats.entry(key(&d.category)).or_insert(0u64) += 1;
                            if let Some(b) = &d.brand {
                                *brands.entry(key(b)).or_insert(0u64) += 1;
                            }
                            *prices.entry(bucket(d.price_minor)).or_insert(0u64) += 1;
                        }
                        assert_eq!(
                            (&got.categories, &got.brands, &got.prices),
                            (&cats, &brands, &prices),
                            "{label}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn an_index_round_trips_through_its_files() {
    let built = Catalogue::build(catalogue()).unwrap();
    let files = built.files().unwrap();
    assert!(
        files.iter().any(|(p, _)| p == "meta.json"),
        "{:?}",
        files.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    let loaded = Catalogue::from_files(
        files
            .into_iter()
            .map(|(p, b)| (p.into(), tantivy::directory::OwnedBytes::new(b)))
            .collect(),
    )
    .unwrap();
    assert_eq!(loaded.len(), 8);
    assert_eq!(ids(&loaded, "jacket"), ids(&built, "jacket"));
    let q = SearchQuery {
        brand: Some("acme".into()),
        limit: 10,
        ..SearchQuery::default()
    };
    assert_eq!(loaded.search(&q).unwrap(), built.search(&q).unwrap());
}

#[test]
fn suggestions_complete_names_as_the_user_types() {
    let c = Catalogue::build(catalogue()).unwrap();
    let names = |q: &str| {
        c.suggest(q, 5)
            .unwrap()
            .into_iter()
            .map(|s| s.name)
            .collect::<Vec<_>>()
    };
    assert_eq!(names("therm"), ["Thermometer"]);
    assert!(names("jack").contains(&"Jackfruit chips".to_owned()));
    assert_eq!(names("hiking so"), ["Hiking socks"]);
    assert_eq!(names("rainc")[0], "Raincoat");
    assert!(
        names("thremo").contains(&"Thermometer".to_owned()),
        "a typo from five letters"
    );
    assert!(names("").is_empty());
}

#[test]
fn hits_carry_escaped_highlights() {
    let docs = vec![d(1, "Kids <b>rain</b> jacket", "", None, "Kids", 100, 1)];
    let c = Catalogue::build(docs).unwrap();
    let r = c
        .search(&SearchQuery {
            text: "jacket".into(),
            limit: 5,
            ..SearchQuery::default()
        })
        .unwrap();
    assert_eq!(
        r.hits[0].highlight,
        "Kids &lt;b&gt;rain&lt;/b&gt; <b>jacket</b>"
    );
}

#[test]
fn a_typo_or_a_prefix_is_highlighted_like_an_exact_word() {
    let docs = vec![d(1, "Kids rain jacket", "", None, "Kids", 100, 1)];
    let c = Catalogue::build(docs).unwrap();
    let highlight = |text: &str| {
        c.search(&SearchQuery {
            text: text.into(),
            limit: 5,
            ..SearchQuery::default()
        })
        .unwrap()
        .hits[0]
            .highlight
            .clone()
    };
    assert_eq!(highlight("jackte"), "Kids rain <b>jacket</b>", "one swap");
    assert_eq!(highlight("rain jac"), "Kids <b>rain</b> <b>jacket</b>");
}
