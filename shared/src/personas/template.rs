//! The `template` provider: an offline, deterministic persona generator. **Not AI**: it builds
//! personas from curated attribute tables and the brief's products, seeded by the brief, so the
//! same brief always gives the same personas. It is the local default, so `make dev` works with
//! no API key, and every persona it makes is stored with `synthetic: true`.

use rand::seq::{IndexedRandom, SliceRandom};
use rand::{RngExt, SeedableRng};
use sha2::{Digest, Sha256};

use super::{Generation, GenerationRequest};
use crate::domain::persona::{PersonaProfile, ProductFit, TokenUsage};

/// The template generator's model name.
pub const MODEL: &str = "stockroom-template-v1";

struct Locale {
    first: &'static [&'static str],
    last: &'static [&'static str],
    cities: &'static [&'static str],
    currency: &'static str,
}

const INDIA: Locale = Locale {
    first: &[
        "Asha",
        "Rohan",
        "Meera",
        "Arjun",
        "Kavya",
        "Vikram",
        "Ananya",
        "Siddharth",
        "Priya",
        "Farhan",
        "Lakshmi",
        "Nikhil",
    ],
    last: &[
        "Rao", "Sharma", "Iyer", "Khan", "Menon", "Patel", "Das", "Reddy", "Kulkarni", "Singh",
    ],
    cities: &[
        "Bengaluru, IN",
        "Mumbai, IN",
        "Pune, IN",
        "Hyderabad, IN",
        "Chennai, IN",
        "Kochi, IN",
        "Jaipur, IN",
        "Delhi, IN",
    ],
    currency: "INR",
};
const US: Locale = Locale {
    first: &[
        "Emily", "Marcus", "Sofia", "Jordan", "Hannah", "Diego", "Ava", "Tyler", "Grace", "Malik",
        "Olivia", "Ethan",
    ],
    last: &[
        "Carter", "Nguyen", "Rivera", "Brooks", "Patel", "Johnson", "Kim", "Lopez", "Walker",
        "Reed",
    ],
    cities: &[
        "Austin, US",
        "Seattle, US",
        "Chicago, US",
        "Denver, US",
        "Atlanta, US",
        "Portland, US",
        "Boston, US",
        "Phoenix, US",
    ],
    currency: "USD",
};
const UK: Locale = Locale {
    first: &[
        "Amelia", "Oliver", "Isla", "Harry", "Freya", "Jack", "Poppy", "George", "Ruby", "Arjun",
        "Chloe", "Alfie",
    ],
    last: &[
        "Smith", "Evans", "Hughes", "Ahmed", "Wright", "Taylor", "Murphy", "Clarke", "Shah",
        "Walsh",
    ],
    cities: &[
        "Manchester, GB",
        "Leeds, GB",
        "Bristol, GB",
        "Glasgow, GB",
        "London, GB",
        "Cardiff, GB",
        "Brighton, GB",
        "Birmingham, GB",
    ],
    currency: "GBP",
};

fn locale(code: &str) -> &'static Locale {
    match code {
        "en-US" => &US,
        "en-GB" => &UK,
        _ => &INDIA,
    }
}

/// Age band, occupations that fit it, and channels people of that age use.
const BANDS: [(&str, &[&str], &[&str]); 6] = [
    (
        "18-24",
        &[
            "university student",
            "junior designer",
            "barista",
            "apprentice electrician",
        ],
        &[
            "Instagram",
            "YouTube",
            "TikTok-style short video",
            "campus word of mouth",
        ],
    ),
    (
        "25-34",
        &[
            "software engineer",
            "nurse",
            "marketing executive",
            "freelance photographer",
        ],
        &[
            "Instagram",
            "YouTube reviews",
            "email newsletters",
            "marketplace apps",
        ],
    ),
    (
        "35-44",
        &[
            "product manager",
            "secondary school teacher",
            "small-business owner",
            "physiotherapist",
        ],
        &[
            "email newsletters",
            "Facebook groups",
            "search",
            "WhatsApp updates",
        ],
    ),
    (
        "45-54",
        &[
            "operations manager",
            "pharmacist",
            "civil engineer",
            "restaurant owner",
        ],
        &["search", "email", "in-store staff", "Facebook"],
    ),
    (
        "55-64",
        &[
            "bank branch manager",
            "consultant doctor",
            "accountant",
            "school principal",
        ],
        &[
            "email",
            "in-store staff",
            "newspaper supplements",
            "phone support",
        ],
    ),
    (
        "65+",
        &[
            "retired teacher",
            "retired army officer",
            "retired engineer",
            "part-time volunteer",
        ],
        &[
            "in-store staff",
            "phone support",
            "family recommendations",
            "print catalogues",
        ],
    ),
];

struct Family {
    keywords: &'static [&'static str],
    goals: &'static [&'static str],
    pains: &'static [&'static str],
    motivations: &'static [&'static str],
    objections: &'static [&'static str],
}

const FAMILIES: [Family; 5] = [
    Family {
        keywords: &["apparel", "fashion", "clothing", "shoes", "tee", "wear"],
        goals: &[
            "build a small wardrobe that works for office and weekends",
            "buy fewer, better-made clothes",
            "find fits that flatter without tailoring",
            "look put-together with little effort",
        ],
        pains: &[
            "sizes that differ between brands",
            "fabric that fades after a few washes",
            "returns that take weeks",
            "too many choices that look alike",
        ],
        motivations: &[
            "honest size guides and real photos",
            "durable fabric",
            "free, quick exchanges",
            "a look they saw on someone they trust",
        ],
        objections: &[
            "cannot touch the fabric before buying",
            "worried the colour will differ from the photo",
            "price feels high for basics",
        ],
    },
    Family {
        keywords: &["electronics", "gadget", "phone", "audio", "laptop", "tech"],
        goals: &[
            "get reliable gear that lasts years",
            "stay productive while travelling",
            "set up a simple smart home",
            "get the best value per rupee or dollar",
        ],
        pains: &[
            "spec sheets that hide the real differences",
            "batteries that degrade quickly",
            "poor after-sales service",
            "chargers and cables that do not fit",
        ],
        motivations: &[
            "long warranty and easy service",
            "trusted reviews",
            "compatibility with what they own",
            "launch-day offers",
        ],
        objections: &[
            "afraid a newer model will launch soon",
            "doubts about warranty claims",
            "refurbished stock worries",
        ],
    },
    Family {
        keywords: &["home", "kitchen", "furniture", "decor", "garden"],
        goals: &[
            "make a small flat feel calm and organised",
            "cook more at home",
            "replace worn things once, properly",
            "host friends without stress",
        ],
        pains: &[
            "items that look different at home",
            "bulky deliveries and assembly",
            "cheap materials that break",
            "no room to store things",
        ],
        motivations: &[
            "easy-care materials",
            "space-saving design",
            "reviews with real homes",
            "delivery slots that fit their week",
        ],
        objections: &[
            "delivery and assembly costs",
            "unsure it will fit the space",
            "hard to return large items",
        ],
    },
    Family {
        keywords: &["beauty", "skin", "care", "wellness", "health"],
        goals: &[
            "a simple routine that actually works",
            "ingredients they understand",
            "feel confident on video calls",
            "avoid irritation",
        ],
        pains: &[
            "products that irritate sensitive skin",
            "too many steps",
            "marketing claims they cannot check",
            "half-used bottles piling up",
        ],
        motivations: &[
            "dermatologist advice",
            "small trial sizes",
            "clear ingredient lists",
            "recommendations from friends",
        ],
        objections: &[
            "worried about reactions",
            "cannot test before buying",
            "suspicious of discounts on beauty items",
        ],
    },
    Family {
        keywords: &["sport", "fitness", "outdoor", "running", "yoga", "cycling"],
        goals: &[
            "train consistently three times a week",
            "prepare for a first 10k or trek",
            "avoid injuries",
            "track progress",
        ],
        pains: &[
            "gear that chafes or breaks mid-season",
            "confusing sizing for technical kit",
            "expensive specialist shops",
            "little time to research",
        ],
        motivations: &[
            "performance tested by athletes",
            "comfort over long sessions",
            "community challenges",
            "bundles for beginners",
        ],
        objections: &[
            "doubts it is worth paying for premium gear",
            "not sure they will stick with the habit",
            "prefers trying on in store",
        ],
    },
];

const GENERAL: Family = Family {
    keywords: &[],
    goals: &[
        "spend wisely on things that last",
        "save time on everyday errands",
        "try something new with little risk",
        "support brands they trust",
    ],
    pains: &[
        "unclear delivery dates",
        "hidden charges at checkout",
        "poor customer support",
        "products that do not match descriptions",
    ],
    motivations: &[
        "clear prices and fast delivery",
        "good reviews",
        "easy returns",
        "loyalty rewards",
    ],
    objections: &[
        "worried about quality",
        "delivery fees",
        "has a cheaper habit already",
    ],
};

fn family(text: &str) -> &'static Family {
    let text = text.to_lowercase();
    FAMILIES
        .iter()
        .find(|f| f.keywords.iter().any(|k| text.contains(k)))
        .unwrap_or(&GENERAL)
}

/// Age bands the brief points at ("students", "young", "parents", "retired", ...); every band
/// when it names none.
fn bands_for(brief: &str) -> Vec<usize> {
    const HINTS: [(&[&str], &[usize]); 5] = [
        (&["student", "college", "gen z", "teen", "university"], &[0]),
        (&["young", "millennial", "first job", "first flat"], &[0, 1]),
        (
            &["professional", "parent", "mum", "mom", "dad", "family"],
            &[1, 2, 3],
        ),
        (&["middle-aged", "mid-career"], &[2, 3]),
        (
            &["retired", "retiree", "senior", "pensioner", "grandparent"],
            &[4, 5],
        ),
    ];
    let brief = brief.to_lowercase();
    let mut bands: Vec<usize> = Vec::new();
    for (words, hinted) in HINTS {
        if words.iter().any(|w| brief.contains(w)) {
            bands.retain(|b| hinted.contains(b));
            if bands.is_empty() {
                bands = hinted.to_vec();
            }
        }
    }
    if bands.is_empty() {
        (0..BANDS.len()).collect()
    } else {
        bands
    }
}

fn seed(request: &GenerationRequest) -> u64 {
    let canonical = serde_json::json!({
        "brief": request.brief.trim(),
        "products": request.products.iter().map(|p| &p.id).collect::<Vec<_>>(),
        "category": request.category,
        "locale": request.locale,
        "count": request.count,
    })
    .to_string();
    let digest = Sha256::digest(canonical.as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(bytes)
}

fn pick(rng: &mut rand::rngs::StdRng, pool: &[&'static str], n: usize) -> Vec<String> {
    pool.sample(rng, n.min(pool.len()))
        .map(|s| (*s).to_owned())
        .collect()
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// Generates `request.count` personas deterministically.
pub fn generate(request: &GenerationRequest) -> Generation {
    let started = std::time::Instant::now();
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed(request));
    let place = locale(&request.locale);
    let context = format!(
        "{} {} {}",
        request.brief,
        request.category.as_deref().unwrap_or(""),
        request
            .products
            .iter()
            .map(|p| format!("{} {}", p.category, p.name))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let fam = family(&context);
    let mut firsts: Vec<&str> = place.first.to_vec();
    firsts.shuffle(&mut rng);
    let mut bands = bands_for(&request.brief);
    bands.shuffle(&mut rng);
    let mut personas = Vec::with_capacity(request.count as usize);
    for i in 0..request.count as usize {
        let (age, jobs, channels) = BANDS[bands[i % bands.len()]];
        let name = format!(
            "{} {}",
            firsts[i % firsts.len()],
            place.last.choose(&mut rng).copied().unwrap_or("Kumar")
        );
        let goals = pick(&mut rng, fam.goals, 2);
        let pains = pick(&mut rng, fam.pains, 2);
        let budget_conscious = rng.random_range(0..2) == 0;
        let product_fit = request
            .products
            .iter()
            .map(|p| ProductFit {
                product_id: p.id.clone(),
                reason: format!(
                    "{} ({} {:.2}) {} and helps them {}",
                    p.name,
                    if p.currency.is_empty() {
                        place.currency
                    } else {
                        &p.currency
                    },
                    p.price_minor as f64 / 100.0,
                    if budget_conscious {
                        "is a considered purchase they would wait for a deal on"
                    } else {
                        "fits how they already shop"
                    },
                    goals.first().map_or("shop well", String::as_str)
                ),
            })
            .collect();
        personas.push(PersonaProfile {
            quote: format!(
                "\"I want to {}, but I'm tired of {}.\"",
                goals.first().map_or("shop well", String::as_str),
                pains.first().map_or("bad surprises", String::as_str)
            ),
            name,
            age_range: age.to_owned(),
            occupation: capitalised(jobs.choose(&mut rng).copied().unwrap_or("professional")),
            location: place
                .cities
                .choose(&mut rng)
                .copied()
                .unwrap_or("Bengaluru, IN")
                .to_owned(),
            goals: goals.iter().map(|g| capitalised(g)).collect(),
            pain_points: pains.iter().map(|p| capitalised(p)).collect(),
            buying_motivations: pick(&mut rng, fam.motivations, 2)
                .iter()
                .map(|m| capitalised(m))
                .collect(),
            objections: pick(&mut rng, fam.objections, 2)
                .iter()
                .map(|o| capitalised(o))
                .collect(),
            preferred_channels: pick(&mut rng, channels, 2),
            product_fit,
        });
    }
    Generation {
        personas,
        usage: TokenUsage::default(),
        model: MODEL.to_owned(),
        generation_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        attempts: 1,
    }
}
