//! Outgoing text messages through Amazon SNS (`Publish` to a phone number): short one-time
//! codes, sent as transactional SMS. Locally the stack's moto receives them (`make outbox`
//! prints what was sent).

use aws_sdk_sns::types::MessageAttributeValue;

/// Why a text was not sent.
#[derive(Debug, thiserror::Error)]
pub enum SmsError {
    /// SNS refused it or did not answer; see the source.
    #[error("the text message could not be sent: {0:?}")]
    Failed(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Checks a phone number in E.164 form (`+` and 8 to 15 digits, no leading zero), the form SNS
/// sends to; spaces, dashes and brackets people type are dropped first.
pub fn parse_phone(raw: &str) -> Result<String, String> {
    let number: String = raw
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '.'))
        .collect();
    let digits = number.strip_prefix('+').unwrap_or_default();
    let valid = (8..=15).contains(&digits.len())
        && digits.chars().all(|c| c.is_ascii_digit())
        && !digits.starts_with('0');
    if valid {
        Ok(number)
    } else {
        Err("must be a phone number in international form, e.g. +919812345678".into())
    }
}

/// `+919812345678` shown as `+91••••••5678`, so an answer or a message does not repeat the
/// whole number.
pub fn masked(phone: &str) -> String {
    let keep_start = phone.len().min(3);
    let keep_end = phone.len().saturating_sub(4).max(keep_start);
    let hidden = keep_end - keep_start;
    format!(
        "{}{}{}",
        &phone[..keep_start],
        "•".repeat(hidden),
        &phone[keep_end..]
    )
}

/// Sends Stockroom's text messages.
#[derive(Debug, Clone)]
pub struct Texter {
    sns: aws_sdk_sns::Client,
    sender_id: Option<String>,
}

impl Texter {
    /// A texter publishing through `sns`, naming `sender_id` as the sender where the
    /// destination country supports it.
    pub fn new(sns: aws_sdk_sns::Client, sender_id: Option<String>) -> Self {
        Self { sns, sender_id }
    }

    /// Sends `text` to `phone` (E.164) as a transactional SMS (delivered ahead of promotional
    /// traffic, as one-time codes need).
    pub async fn send(&self, phone: &str, text: &str) -> Result<(), SmsError> {
        let attribute = |value: &str| {
            MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
                .map_err(|e| SmsError::Failed(Box::new(e)))
        };
        let mut publish = self
            .sns
            .publish()
            .phone_number(phone)
            .message(text)
            .message_attributes("AWS.SNS.SMS.SMSType", attribute("Transactional")?);
        if let Some(sender) = &self.sender_id {
            publish = publish.message_attributes("AWS.SNS.SMS.SenderID", attribute(sender)?);
        }
        publish
            .send()
            .await
            .map_err(|e| SmsError::Failed(Box::new(e)))?;
        Ok(())
    }
}

#[cfg(test)]
#[path = "sms_test.rs"]
mod tests;
