//! Customer personas: the request (a segment brief), the persona schema every provider must
//! produce, and its validation.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::validation::{FieldErrors, bounded_text};

/// Most personas one request generates.
pub const MAX_PERSONAS: u32 = 5;
/// Version of the prompt and schema; stored with every persona.
pub const PROMPT_VERSION: &str = "personas-v1";
/// Locales the template provider has tables for (others fall back to `en-IN`).
pub const LOCALES: [&str; 3] = ["en-IN", "en-US", "en-GB"];

/// The body of `POST /v1/personas`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PersonaBrief {
    /// Who the segment is, in free text (10 to 2,000 characters).
    pub brief: String,
    /// Products the personas should be considered for (at most 10).
    #[serde(default)]
    pub product_ids: Vec<String>,
    /// A catalogue category to focus on.
    #[serde(default)]
    pub category: Option<String>,
    /// BCP 47 locale, e.g. `en-IN` (default).
    #[serde(default)]
    pub locale: Option<String>,
    /// How many personas, 1 to 5 (default 3).
    #[serde(default)]
    pub count: Option<u32>,
    /// A tag to file the personas under (lower-case letters, digits, dashes); default: made
    /// from the brief's first words.
    #[serde(default)]
    pub segment: Option<String>,
}

impl PersonaBrief {
    /// Checks every field, naming each bad one.
    pub fn validate(&self) -> Result<(), FieldErrors> {
        let mut e = FieldErrors::new();
        e.check("brief", bounded_text(&self.brief, 10, 2000));
        if self.product_ids.len() > 10 {
            e.add("product_ids", "at most 10 products");
        }
        if let Some(c) = &self.category {
            e.check("category", bounded_text(c, 1, 100));
        }
        if let Some(l) = &self.locale {
            let ok = (2..=20).contains(&l.len())
                && l.split('-')
                    .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric()));
            if !ok {
                e.add("locale", format!("'{l}' is not a locale such as en-IN"));
            }
        }
        if let Some(n) = self.count
            && !(1..=MAX_PERSONAS).contains(&n)
        {
            e.add(
                "count",
                format!("must be between 1 and {MAX_PERSONAS}, got {n}"),
            );
        }
        if let Some(s) = &self.segment
            && !is_tag(s)
        {
            e.add(
                "segment",
                "must be 1 to 50 lower-case letters, digits and dashes",
            );
        }
        e.finish(|| Some(()))
    }

    /// The number of personas asked for.
    pub fn count(&self) -> u32 {
        self.count.unwrap_or(3)
    }

    /// The locale, defaulted.
    pub fn locale(&self) -> &str {
        self.locale.as_deref().unwrap_or("en-IN")
    }

    /// The segment tag: given, or the brief's first three words.
    pub fn segment(&self) -> String {
        if let Some(s) = &self.segment {
            return s.clone();
        }
        let words: Vec<String> = self
            .brief
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| w.len() > 2)
            .take(3)
            .map(|w| w.to_lowercase())
            .collect();
        let tag: String = words.join("-").chars().take(50).collect();
        if tag.is_empty() {
            "general".into()
        } else {
            tag
        }
    }
}

fn is_tag(s: &str) -> bool {
    (1..=50).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Why a product suits a persona.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ProductFit {
    /// One of the brief's products.
    pub product_id: String,
    /// Why it fits.
    pub reason: String,
}

/// One persona, exactly as providers must produce it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PersonaProfile {
    /// A plausible full name.
    pub name: String,
    /// e.g. `25-34`.
    pub age_range: String,
    pub occupation: String,
    /// City and country.
    pub location: String,
    /// 1 to 6 each.
    pub goals: Vec<String>,
    /// What frustrates them.
    pub pain_points: Vec<String>,
    /// Why they buy.
    pub buying_motivations: Vec<String>,
    /// Why they hesitate.
    pub objections: Vec<String>,
    /// Where to reach them.
    pub preferred_channels: Vec<String>,
    /// Something they would say.
    pub quote: String,
    /// Which of the brief's products fit, and why.
    pub product_fit: Vec<ProductFit>,
}

fn list(e: &mut FieldErrors, path: &str, items: &[String]) {
    if items.is_empty() || items.len() > 6 {
        e.add(
            path,
            format!("must have 1 to 6 entries, got {}", items.len()),
        );
    }
    for (i, item) in items.iter().enumerate() {
        e.check(&format!("{path}[{i}]"), bounded_text(item, 2, 300));
    }
}

fn age_range_valid(r: &str) -> bool {
    let parts: Vec<&str> = r.split('-').collect();
    match parts.as_slice() {
        [lo, hi] => match (lo.parse::<u32>(), hi.parse::<u32>()) {
            (Ok(lo), Ok(hi)) => (13..=100).contains(&lo) && lo < hi && hi <= 110,
            _ => false,
        },
        [lo] => lo
            .strip_suffix('+')
            .and_then(|n| n.parse::<u32>().ok())
            .is_some_and(|n| (13..=100).contains(&n)),
        _ => false,
    }
}

impl PersonaProfile {
    /// Checks the persona against the schema; `at` prefixes field paths (e.g. `personas[0]`);
    /// `products` are the ids the brief allowed.
    pub fn check(&self, e: &mut FieldErrors, at: &str, products: &[String]) {
        e.check(&format!("{at}.name"), bounded_text(&self.name, 2, 100));
        if !age_range_valid(&self.age_range) {
            e.add(
                format!("{at}.age_range"),
                format!("'{}' is not a range such as 25-34 or 65+", self.age_range),
            );
        }
        e.check(
            &format!("{at}.occupation"),
            bounded_text(&self.occupation, 2, 100),
        );
        e.check(
            &format!("{at}.location"),
            bounded_text(&self.location, 2, 100),
        );
        list(e, &format!("{at}.goals"), &self.goals);
        list(e, &format!("{at}.pain_points"), &self.pain_points);
        list(
            e,
            &format!("{at}.buying_motivations"),
            &self.buying_motivations,
        );
        list(e, &format!("{at}.objections"), &self.objections);
        list(
            e,
            &format!("{at}.preferred_channels"),
            &self.preferred_channels,
        );
        e.check(&format!("{at}.quote"), bounded_text(&self.quote, 5, 400));
        for (i, fit) in self.product_fit.iter().enumerate() {
            if !products.contains(&fit.product_id) {
                e.add(
                    format!("{at}.product_fit[{i}].product_id"),
                    format!("'{}' is not one of the brief's products", fit.product_id),
                );
            }
            e.check(
                &format!("{at}.product_fit[{i}].reason"),
                bounded_text(&fit.reason, 2, 300),
            );
        }
    }

    /// The words search looks at.
    pub fn search_text(&self) -> String {
        [
            vec![
                self.name.clone(),
                self.occupation.clone(),
                self.location.clone(),
                self.quote.clone(),
            ],
            self.goals.clone(),
            self.pain_points.clone(),
            self.buying_motivations.clone(),
            self.objections.clone(),
            self.preferred_channels.clone(),
        ]
        .concat()
        .join(" ")
    }
}

/// Parses and checks a provider's output: `{"personas": [...]}` with exactly `count` personas.
pub fn parse_output(
    text: &str,
    count: u32,
    products: &[String],
) -> Result<Vec<PersonaProfile>, String> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Output {
        personas: Vec<PersonaProfile>,
    }
    let text = text.trim();
    // Some models wrap JSON in a Markdown fence.
    let text = text
        .strip_prefix("```json")
        .or_else(|| text.strip_prefix("```"))
        .and_then(|t| t.strip_suffix("```"))
        .unwrap_or(text);
    let de = &mut serde_json::Deserializer::from_str(text);
    let output: Output = serde_path_to_error::deserialize(de).map_err(|e| {
        format!(
            "the output is not the persona JSON: {} at {}",
            e.inner(),
            e.path()
        )
    })?;
    if output.personas.len() != count as usize {
        return Err(format!(
            "expected exactly {count} personas, got {}",
            output.personas.len()
        ));
    }
    let mut e = FieldErrors::new();
    for (i, p) in output.personas.iter().enumerate() {
        p.check(&mut e, &format!("personas[{i}]"), products);
    }
    if e.is_empty() {
        return Ok(output.personas);
    }
    Err(e
        .into_vec()
        .iter()
        .map(|f| format!("{}: {}", f.field, f.message))
        .collect::<Vec<_>>()
        .join("; "))
}

/// Tokens a generation used.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct TokenUsage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

/// Where a persona came from: shared by the stored document and its summary.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Provenance {
    /// The request that generated it (personas of one request share it).
    pub generation_id: String,
    /// Segment tag.
    pub segment: String,
    /// Category of the brief.
    pub category: Option<String>,
    /// Products of the brief.
    pub product_ids: Vec<String>,
    pub locale: String,
    /// `template` or `openai`.
    pub provider: String,
    /// The model (`stockroom-template-v1` for the template generator).
    pub model: String,
    /// True only for the template provider: these personas are not AI-generated.
    pub synthetic: bool,
    /// [`PROMPT_VERSION`].
    pub prompt_version: String,
    /// Tokens of the whole generation (shared by its personas).
    pub usage: TokenUsage,
    /// Time the provider took for the whole generation.
    pub generation_ms: u64,
    /// Who asked.
    pub created_by: String,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A stored persona: the profile, the brief and where it came from.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Persona {
    /// Id (UUIDv7).
    pub id: String,
    #[serde(flatten)]
    pub profile: PersonaProfile,
    pub brief: String,
    /// Where it came from.
    #[serde(flatten)]
    pub provenance: Provenance,
}

/// What DynamoDB keeps of a persona (the full document is in S3): enough to list, filter,
/// search and count without reading S3.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PersonaSummary {
    pub id: String,
    pub name: String,
    pub age_range: String,
    pub occupation: String,
    pub location: String,
    pub quote: String,
    /// Where it came from.
    #[serde(flatten)]
    pub provenance: Provenance,
    /// Lower-case words search matches (profile and brief).
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub search_text: String,
}

impl PersonaSummary {
    /// The summary of `p`.
    pub fn of(p: &Persona) -> Self {
        Self {
            id: p.id.clone(),
            name: p.profile.name.clone(),
            age_range: p.profile.age_range.clone(),
            occupation: p.profile.occupation.clone(),
            location: p.profile.location.clone(),
            quote: p.profile.quote.clone(),
            provenance: p.provenance.clone(),
            search_text: format!(
                "{} {} {}",
                p.profile.search_text(),
                p.provenance.segment,
                p.brief
            )
            .to_lowercase(),
        }
    }

    /// How well it matches `terms` (lower-case words; the last may be a prefix): 0 when some
    /// term is missing, more for matches in the name and occupation.
    pub fn score(&self, terms: &[String]) -> u32 {
        let words: Vec<&str> = self
            .search_text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect();
        let name = self.name.to_lowercase();
        let occupation = self.occupation.to_lowercase();
        let mut score = 0;
        for (i, term) in terms.iter().enumerate() {
            let last = i + 1 == terms.len();
            let hits = words
                .iter()
                .filter(|w| **w == term || (last && w.starts_with(term.as_str())))
                .count();
            if hits == 0 {
                return 0;
            }
            score += u32::try_from(hits.min(5)).unwrap_or(5);
            if name.contains(term.as_str()) {
                score += 6;
            }
            if occupation.contains(term.as_str()) {
                score += 3;
            }
        }
        score
    }
}

/// The words of a search query: lower-case, letters and digits, at most 10.
pub fn search_terms(q: &str) -> Vec<String> {
    q.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(10)
        .map(str::to_lowercase)
        .collect()
}

#[cfg(test)]
#[path = "persona_test.rs"]
mod tests;
