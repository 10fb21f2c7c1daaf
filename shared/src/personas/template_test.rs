//! Unit tests of the template provider: determinism and schema validity over many seeds.

use super::*;
use crate::domain::FieldErrors;

fn request(brief: &str, count: u32, locale: &str) -> GenerationRequest {
    GenerationRequest {
        brief: brief.into(),
        products: vec![ProductContext {
            id: "p1".into(),
            name: "Trail running shoe".into(),
            category: "Sports".into(),
            brand: Some("Acme".into()),
            price_minor: 549_900,
            currency: "INR".into(),
        }],
        category: Some("Sports".into()),
        locale: locale.into(),
        count,
    }
}

#[test]
fn the_same_brief_gives_the_same_personas() {
    let a = template::generate(&request(
        "Weekend trail runners in their thirties",
        3,
        "en-IN",
    ));
    let b = template::generate(&request(
        "Weekend trail runners in their thirties",
        3,
        "en-IN",
    ));
    assert_eq!(a.personas, b.personas);
    let c = template::generate(&request(
        "Weekend trail runners in their forties",
        3,
        "en-IN",
    ));
    assert_ne!(a.personas, c.personas, "another brief, other personas");
    assert_eq!(a.model, template::MODEL);
}

#[test]
fn every_generated_persona_is_valid_over_many_seeds() {
    for i in 0..300 {
        let count = 1 + i % 5;
        let locale = ["en-IN", "en-US", "en-GB", "fr-FR"][(i % 4) as usize];
        let g = template::generate(&request(
            &format!("Shoppers of segment number {i}"),
            count,
            locale,
        ));
        assert_eq!(g.personas.len(), count as usize);
        let mut e = FieldErrors::new();
        for (j, p) in g.personas.iter().enumerate() {
            p.check(&mut e, &format!("personas[{j}]"), &["p1".into()]);
            assert_eq!(p.product_fit.len(), 1);
        }
        assert!(e.is_empty(), "seed {i}: {:?}", e.into_vec());
        let names: std::collections::BTreeSet<_> = g.personas.iter().map(|p| &p.name).collect();
        assert_eq!(names.len(), count as usize, "distinct names");
    }
}

#[test]
fn ages_follow_what_the_brief_says() {
    let young = template::generate(&request(
        "Young professionals refreshing an office wardrobe",
        5,
        "en-IN",
    ));
    assert!(
        young.personas.iter().all(|p| p.age_range == "25-34"),
        "young + professional: 25-34"
    );
    let retired = template::generate(&request(
        "Retired gardeners who buy tools online",
        4,
        "en-GB",
    ));
    assert!(
        retired
            .personas
            .iter()
            .all(|p| p.age_range == "55-64" || p.age_range == "65+")
    );
    let students = template::generate(&request(
        "University students furnishing a first flat",
        3,
        "en-US",
    ));
    assert!(students.personas.iter().all(|p| p.age_range == "18-24"));
}
