//! What the local stack's functions sent: the local SES (a moto of its own) records every
//! request; the `SendEmail` calls among them are the outbox, oldest first, with the time each
//! was signed.

use anyhow::{Context, Result};
use base64::Engine;
use serde::Serialize;
use serde_json::Value;

/// One message the stack sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SentMessage {
    /// `email` (SMS joins when a function sends it).
    pub channel: &'static str,
    /// The recipient.
    pub to: String,
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub body: String,
    /// When it was sent (the request's signing time), RFC 3339.
    pub sent_at: String,
}

/// Makes `address` a verified sender of the SES at the SDK's endpoint (an existing one is fine).
pub async fn verify_sender(sdk: &aws_config::SdkConfig, address: &str) -> Result<()> {
    let ses = aws_sdk_sesv2::Client::new(sdk);
    match ses
        .create_email_identity()
        .email_identity(address)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_already_exists_exception()) =>
        {
            Ok(())
        }
        Err(e) => Err(e).context("verifying the local sender"),
    }
}

/// Every message sent through the local SES at `endpoint`, oldest first.
pub async fn outbox(endpoint: &str) -> Result<Vec<SentMessage>> {
    let url = format!(
        "{}/moto-api/recorder/download-recording",
        endpoint.trim_end_matches('/')
    );
    let recording = reqwest::get(&url)
        .await
        .and_then(reqwest::Response::error_for_status)
        .with_context(|| format!("reading {url}"))?
        .text()
        .await?;
    Ok(recording.lines().filter_map(sent_email).collect())
}

/// The message of one recorded request, if it was an SES v2 `SendEmail`.
fn sent_email(line: &str) -> Option<SentMessage> {
    let entry: Value = serde_json::from_str(line).ok()?;
    let path = entry["url"].as_str()?.split('?').next()?;
    if entry["method"] != "POST" || !path.ends_with("/v2/email/outbound-emails") {
        return None;
    }
    let raw = entry["body"].as_str()?;
    let body = if entry["body_encoded"] == true {
        base64::engine::general_purpose::STANDARD.decode(raw).ok()?
    } else {
        raw.as_bytes().to_vec()
    };
    let request: Value = serde_json::from_slice(&body).ok()?;
    let simple = &request["Content"]["Simple"];
    let headers = entry["headers"].as_object()?;
    let signed = headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("x-amz-date"))
        .and_then(|(_, v)| v.as_str())?;
    Some(SentMessage {
        channel: "email",
        to: request["Destination"]["ToAddresses"]
            .as_array()?
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(", "),
        subject: simple["Subject"]["Data"].as_str()?.to_owned(),
        body: simple["Body"]["Text"]["Data"].as_str()?.to_owned(),
        sent_at: rfc3339(signed)?,
    })
}

/// `20261202T044500Z` as `2026-12-02T04:45:00Z`.
fn rfc3339(amz_date: &str) -> Option<String> {
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    let at = time::PrimitiveDateTime::parse(amz_date, format).ok()?;
    at.assume_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recorded_send_email_reads_as_a_message_and_other_requests_do_not() {
        let body = serde_json::json!({
            "FromEmailAddress": "stockroom@localhost.example",
            "Destination": {"ToAddresses": ["ana@example.com"]},
            "Content": {"Simple": {"Subject": {"Data": "Hello"}, "Body": {"Text": {"Data": "Text"}}}}
        });
        let line = serde_json::json!({
            "method": "POST",
            "url": "http://127.0.0.1:4570/v2/email/outbound-emails",
            "headers": {"X-Amz-Date": "20261202T044500Z"},
            "body": base64::engine::general_purpose::STANDARD.encode(body.to_string()),
            "body_encoded": true,
        })
        .to_string();
        assert_eq!(
            sent_email(&line),
            Some(SentMessage {
                channel: "email",
                to: "ana@example.com".into(),
                subject: "Hello".into(),
                body: "Text".into(),
                sent_at: "2026-12-02T04:45:00Z".into(),
            })
        );
        let identity = line.replace("outbound-emails", "identities");
        assert_eq!(sent_email(&identity), None);
        assert_eq!(sent_email("not json"), None);
    }
}
