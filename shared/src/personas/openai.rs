//! Any OpenAI-compatible chat-completions endpoint (`POST {base}/chat/completions`), asked for
//! JSON matching the persona schema. Output is validated; invalid output is sent back with the
//! validation error for a bounded number of repairs. 429 and 5xx are retried with backoff, and
//! every attempt fits inside a total budget below API Gateway's 30 s.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{Generation, GenerationRequest, ProviderError};
use crate::domain::persona::{PROMPT_VERSION, TokenUsage, parse_output};

/// How to reach the provider.
#[derive(Clone)]
pub struct OpenAiSettings {
    /// e.g. `https://api.openai.com/v1`.
    pub base_url: String,
    /// e.g. `gpt-4o-mini`.
    pub model: String,
    /// Bearer token.
    pub api_key: String,
    /// Time for everything (all attempts): keep it under API Gateway's 30 s.
    pub budget: Duration,
    /// Time for one HTTP attempt.
    pub attempt_timeout: Duration,
}

impl std::fmt::Debug for OpenAiSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiSettings")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api_key", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// Repairs of invalid output before giving up.
const REPAIRS: u32 = 2;
/// Attempts of one call on 429/5xx/timeouts.
const RETRIES: u32 = 3;

/// The provider.
#[derive(Debug, Clone)]
pub struct OpenAiProvider {
    http: reqwest::Client,
    settings: OpenAiSettings,
}

fn schema(count: u32) -> Value {
    let text = json!({"type": "string"});
    let list = json!({"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 6});
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["personas"],
        "properties": {"personas": {
            "type": "array", "minItems": count, "maxItems": count,
            "items": {
                "type": "object",
                "additionalProperties": false,
                "required": ["name", "age_range", "occupation", "location", "goals", "pain_points",
                             "buying_motivations", "objections", "preferred_channels", "quote", "product_fit"],
                "properties": {
                    "name": text, "age_range": {"type": "string", "pattern": "^[0-9]{2}(-[0-9]{2,3}|\\+)$"},
                    "occupation": text, "location": text, "goals": list, "pain_points": list,
                    "buying_motivations": list, "objections": list, "preferred_channels": list,
                    "quote": text,
                    "product_fit": {"type": "array", "items": {
                        "type": "object", "additionalProperties": false,
                        "required": ["product_id", "reason"],
                        "properties": {"product_id": text, "reason": text}}}
                }
            }
        }}
    })
}

fn messages(request: &GenerationRequest) -> Vec<Value> {
    let products = serde_json::to_string(&request.products).unwrap_or_default();
    vec![
        json!({"role": "system", "content": format!(
            "You write realistic customer personas for a retailer's marketing team ({PROMPT_VERSION}). \
             Answer with JSON only, matching the given schema exactly. Ground product_fit in the \
             listed products only (use their ids). Locale: {}.", request.locale)}),
        json!({"role": "user", "content": format!(
            "Segment brief: {}\nCategory: {}\nProducts: {products}\nWrite {} distinct personas.",
            request.brief, request.category.as_deref().unwrap_or("any"), request.count)}),
    ]
}

impl OpenAiProvider {
    /// A provider for `settings`.
    pub fn new(settings: OpenAiSettings) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .timeout(settings.attempt_timeout)
            .connect_timeout(Duration::from_secs(3))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self { http, settings })
    }

    /// Generates and validates, repairing invalid output a bounded number of times.
    pub async fn generate(&self, request: &GenerationRequest) -> Result<Generation, ProviderError> {
        let started = Instant::now();
        let deadline = started + self.settings.budget;
        let products: Vec<String> = request.products.iter().map(|p| p.id.clone()).collect();
        let mut conversation = messages(request);
        let mut usage = TokenUsage::default();
        let mut attempts = 0;
        let mut last_error = String::new();
        for _ in 0..=REPAIRS {
            let (content, model, used, calls) =
                self.call(&conversation, request.count, deadline).await?;
            attempts += calls;
            usage.prompt_tokens += used.prompt_tokens;
            usage.completion_tokens += used.completion_tokens;
            match parse_output(&content, request.count, &products) {
                Ok(personas) => {
                    return Ok(Generation {
                        personas,
                        usage,
                        model,
                        generation_ms: u64::try_from(started.elapsed().as_millis())
                            .unwrap_or(u64::MAX),
                        attempts,
                    });
                }
                Err(problem) => {
                    tracing::warn!(%problem, "persona provider output was invalid; asking for a repair");
                    conversation.push(json!({"role": "assistant", "content": content}));
                    conversation.push(json!({"role": "user", "content": format!(
                        "That output is invalid: {problem}. Answer again with corrected JSON only.")}));
                    last_error = problem;
                }
            }
        }
        Err(ProviderError::InvalidOutput(last_error))
    }

    /// One chat completion, retried on 429, 5xx and timeouts while the budget lasts.
    async fn call(
        &self,
        conversation: &[Value],
        count: u32,
        deadline: Instant,
    ) -> Result<(String, String, TokenUsage, u32), ProviderError> {
        let url = format!(
            "{}/chat/completions",
            self.settings.base_url.trim_end_matches('/')
        );
        let body = json!({
            "model": self.settings.model,
            "messages": conversation,
            "temperature": 0.8,
            "response_format": {"type": "json_schema", "json_schema": {
                "name": "personas", "strict": true, "schema": schema(count)}},
        });
        let mut calls = 0;
        loop {
            calls += 1;
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(ProviderError::Unavailable(
                    "no answer within the time budget".into(),
                ));
            }
            let sent = self
                .http
                .post(&url)
                .bearer_auth(&self.settings.api_key)
                .timeout(left.min(self.settings.attempt_timeout))
                .json(&body)
                .send()
                .await;
            let retry = match sent {
                Ok(r) if r.status().is_success() => {
                    let v: Value = r.json().await.map_err(|e| {
                        ProviderError::InvalidOutput(format!(
                            "the answer is not JSON: {}",
                            e.without_url()
                        ))
                    })?;
                    let content = v
                        .pointer("/choices/0/message/content")
                        .and_then(Value::as_str)
                        .ok_or_else(|| {
                            ProviderError::InvalidOutput(
                                "the answer has no choices[0].message.content".into(),
                            )
                        })?;
                    let usage = TokenUsage {
                        prompt_tokens: v
                            .pointer("/usage/prompt_tokens")
                            .and_then(Value::as_u64)
                            .unwrap_or(0),
                        completion_tokens: v
                            .pointer("/usage/completion_tokens")
                            .and_then(Value::as_u64)
                            .unwrap_or(0),
                    };
                    let model = v["model"]
                        .as_str()
                        .unwrap_or(&self.settings.model)
                        .to_owned();
                    return Ok((content.to_owned(), model, usage, calls));
                }
                Ok(r) if r.status().as_u16() == 429 || r.status().is_server_error() => {
                    format!("HTTP {}", r.status())
                }
                Ok(r) => {
                    let status = r.status();
                    let text = r.text().await.unwrap_or_default();
                    let detail: String = text.chars().take(300).collect();
                    return Err(ProviderError::Refused(format!("HTTP {status}: {detail}")));
                }
                Err(e) => e.without_url().to_string(),
            };
            tracing::warn!(problem = %retry, attempt = calls, "persona provider call failed");
            if calls >= RETRIES {
                return Err(ProviderError::Unavailable(format!(
                    "{retry} after {calls} attempts"
                )));
            }
            let pause = Duration::from_millis(250 * 2u64.pow(calls - 1));
            if Instant::now() + pause >= deadline {
                return Err(ProviderError::Unavailable(format!(
                    "{retry}; no time left to retry"
                )));
            }
            tokio::time::sleep(pause).await;
        }
    }
}
