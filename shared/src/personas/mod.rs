//! Persona generation providers, chosen by configuration: `template` (offline, deterministic,
//! not AI; the local default) and `openai` (any OpenAI-compatible chat-completions endpoint).

mod openai;
pub mod template;

pub use openai::{OpenAiProvider, OpenAiSettings};

use crate::domain::persona::{PersonaProfile, TokenUsage};

/// What a product contributes to a brief.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ProductContext {
    /// Id (personas name it in `product_fit`).
    pub id: String,
    pub name: String,
    pub category: String,
    pub brand: Option<String>,
    /// Price, minor units.
    pub price_minor: i64,
    pub currency: String,
}

/// Everything a provider needs.
#[derive(Debug, Clone)]
pub struct GenerationRequest {
    /// The segment brief.
    pub brief: String,
    /// Products to consider.
    pub products: Vec<ProductContext>,
    /// Category focus.
    pub category: Option<String>,
    pub locale: String,
    /// How many personas.
    pub count: u32,
}

/// What a provider produced.
#[derive(Debug, Clone)]
pub struct Generation {
    /// Valid personas, exactly `count`.
    pub personas: Vec<PersonaProfile>,
    /// Tokens used (zero for the template provider).
    pub usage: TokenUsage,
    /// The model that answered.
    pub model: String,
    /// Time taken, all attempts included.
    pub generation_ms: u64,
    /// Calls made (repairs and retries included).
    pub attempts: u32,
}

/// Why generation failed.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// The provider kept failing (429/5xx/timeouts) after retries, or did not answer in time.
    #[error("the persona provider is unavailable: {0}")]
    Unavailable(String),
    /// The provider's output stayed invalid after the allowed repairs.
    #[error("the persona provider returned invalid personas: {0}")]
    InvalidOutput(String),
    /// The provider refused our request or credentials.
    #[error("the persona provider refused the request: {0}")]
    Refused(String),
}

/// The configured provider.
#[derive(Debug, Clone)]
pub enum Provider {
    /// Offline, deterministic, not AI.
    Template,
    /// An OpenAI-compatible endpoint.
    OpenAi(OpenAiProvider),
}

impl Provider {
    /// The provider's name as stored.
    pub fn name(&self) -> &'static str {
        match self {
            Provider::Template => "template",
            Provider::OpenAi(_) => "openai",
        }
    }

    /// Generates personas.
    pub async fn generate(&self, request: &GenerationRequest) -> Result<Generation, ProviderError> {
        match self {
            Provider::Template => Ok(template::generate(request)),
            Provider::OpenAi(p) => p.generate(request).await,
        }
    }
}

#[cfg(test)]
#[path = "template_test.rs"]
mod tests;
