//! What the local stack's functions sent: the local SES and SNS (a moto of their own) record
//! every request; the SES `SendEmail` calls and the SNS `Publish` calls to a phone number among
//! them are the outbox, oldest first, with the time each was signed.

use anyhow::{Context, Result};
use base64::Engine;
use serde::Serialize;
use serde_json::Value;

/// One message the stack sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SentMessage {
    /// `email` or `sms`.
    pub channel: &'static str,
    /// The recipient: an address, or a phone number.
    pub to: String,
    /// The subject line (empty for a text message).
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
    Ok(recording.lines().filter_map(sent).collect())
}

/// The message one recorded request sent, if it sent one.
fn sent(line: &str) -> Option<SentMessage> {
    let entry: Value = serde_json::from_str(line).ok()?;
    if entry["method"] != "POST" {
        return None;
    }
    let path = entry["url"].as_str()?.split('?').next()?;
    let raw = entry["body"].as_str()?;
    let body = if entry["body_encoded"] == true {
        base64::engine::general_purpose::STANDARD.decode(raw).ok()?
    } else {
        raw.as_bytes().to_vec()
    };
    let headers = entry["headers"].as_object()?;
    let signed = headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("x-amz-date"))
        .and_then(|(_, v)| v.as_str())?;
    let sent_at = rfc3339(signed)?;
    if path.ends_with("/v2/email/outbound-emails") {
        sent_email(&body, sent_at)
    } else {
        sent_text(&body, sent_at)
    }
}

/// An SNS `Publish` to a phone number (the query protocol: a form body).
fn sent_text(body: &[u8], sent_at: String) -> Option<SentMessage> {
    let mut action = None;
    let mut to = None;
    let mut text = None;
    for (name, value) in form_urlencoded::parse(body) {
        match name.as_ref() {
            "Action" => action = Some(value.into_owned()),
            "PhoneNumber" => to = Some(value.into_owned()),
            "Message" => text = Some(value.into_owned()),
            _ => {}
        }
    }
    (action.as_deref() == Some("Publish")).then_some(())?;
    Some(SentMessage {
        channel: "sms",
        to: to?,
        subject: String::new(),
        body: text?,
        sent_at,
    })
}

/// An SES v2 `SendEmail`.
fn sent_email(body: &[u8], sent_at: String) -> Option<SentMessage> {
    let request: Value = serde_json::from_slice(body).ok()?;
    let simple = &request["Content"]["Simple"];
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
        sent_at,
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
            sent(&line),
            Some(SentMessage {
                channel: "email",
                to: "ana@example.com".into(),
                subject: "Hello".into(),
                body: "Text".into(),
                sent_at: "2026-12-02T04:45:00Z".into(),
            })
        );
        let identity = line.replace("outbound-emails", "identities");
        assert_eq!(sent(&identity), None);
        assert_eq!(sent("not json"), None);
    }

    #[test]
    fn a_recorded_publish_to_a_phone_reads_as_a_text_and_other_sns_calls_do_not() {
        let form = "Action=Publish&Version=2010-03-31&PhoneNumber=%2B919812345678\
                    &Message=123456+is+your+code&MessageAttributes.entry.1.Name=AWS.SNS.SMS.SMSType";
        let line = |body: &str| {
            serde_json::json!({
                "method": "POST",
                "url": "http://127.0.0.1:4570/",
                "headers": {"X-Amz-Date": "20261202T044500Z"},
                "body": body,
                "body_encoded": false,
            })
            .to_string()
        };
        assert_eq!(
            sent(&line(form)),
            Some(SentMessage {
                channel: "sms",
                to: "+919812345678".into(),
                subject: String::new(),
                body: "123456 is your code".into(),
                sent_at: "2026-12-02T04:45:00Z".into(),
            })
        );
        assert_eq!(sent(&line("Action=ListTopics&Version=2010-03-31")), None);
    }
}
