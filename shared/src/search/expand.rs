//! Typo and prefix tolerance as plain terms: the indexed words a typed word may stand for are
//! looked up once per query in each segment's term dictionary (a Levenshtein automaton over
//! the dictionary's FST), then searched as ordinary term clauses. tantivy's own
//! `FuzzyTermQuery` does the same lookup again for every search pass and fills a bitset the
//! size of the segment per clause, reading every matched posting list in full; term clauses
//! read only the postings the query's intersection reaches. Expanded terms also reach the
//! highlighter, so a typo's match is highlighted like an exact one.

use std::collections::HashMap;

use tantivy::query::{
    ConstScoreQuery, DfaWrapper, DisjunctionMaxQuery, FuzzyTermQuery, Query, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{Searcher, Term};

/// Most indexed words one typed word stands for; the most frequent are kept.
pub(super) const MAX_EXPANSIONS: usize = 32;

/// How far a typed word may be from the indexed words it stands for.
#[derive(Debug, Clone, Copy)]
pub(super) struct Tolerance {
    /// Edits allowed (0–2); a swap of neighbours counts as one.
    pub typos: u8,
    /// Whether the typed word may be the start of a longer word.
    pub prefix: bool,
}

/// For each of `fields`, the indexed words within `tolerance` of `word`, except those in
/// `except`, the most frequent first, at most [`MAX_EXPANSIONS`]. The automaton is built once
/// for all the fields (for two typos it is the dearest part).
pub(super) fn expand(
    searcher: &Searcher,
    fields: &[Field],
    word: &str,
    tolerance: Tolerance,
    except: &[String],
) -> tantivy::Result<Vec<Vec<String>>> {
    let Some(first) = fields.first() else {
        return Ok(Vec::new());
    };
    let term = Term::from_field_text(*first, word);
    let fuzzy = if tolerance.prefix {
        FuzzyTermQuery::new_prefix(term, tolerance.typos, true)
    } else {
        FuzzyTermQuery::new(term, tolerance.typos, true)
    };
    let automaton = fuzzy.automaton()?;
    fields
        .iter()
        .map(|field| in_field(searcher, *field, &automaton, except))
        .collect()
}

fn in_field(
    searcher: &Searcher,
    field: Field,
    automaton: &DfaWrapper,
    except: &[String],
) -> tantivy::Result<Vec<String>> {
    let mut found: HashMap<String, u64> = HashMap::new();
    for segment in searcher.segment_readers() {
        let inverted = segment.inverted_index(field)?;
        let mut stream = inverted.terms().search(automaton).into_stream()?;
        while stream.advance() {
            let Ok(text) = std::str::from_utf8(stream.key()) else {
                continue;
            };
            if except.iter().any(|e| e == text) {
                continue;
            }
            let docs = u64::from(stream.value().doc_freq);
            match found.get_mut(text) {
                Some(n) => *n += docs,
                None => {
                    found.insert(text.to_owned(), docs);
                }
            }
        }
    }
    let mut words: Vec<(String, u64)> = found.into_iter().collect();
    words.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    words.truncate(MAX_EXPANSIONS);
    Ok(words.into_iter().map(|(w, _)| w).collect())
}

/// One clause matching a document that holds any of `words` in `field`, scoring `score` however
/// many of them it holds; `None` for no words.
pub(super) fn any_of(field: Field, words: &[String], score: f32) -> Option<Box<dyn Query>> {
    if words.is_empty() {
        return None;
    }
    let disjuncts: Vec<Box<dyn Query>> = words
        .iter()
        .map(|w| {
            let term = TermQuery::new(Term::from_field_text(field, w), IndexRecordOption::Basic);
            Box::new(ConstScoreQuery::new(Box::new(term), score)) as Box<dyn Query>
        })
        .collect();
    Some(Box::new(DisjunctionMaxQuery::new(disjuncts)))
}
