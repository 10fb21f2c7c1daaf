//! Outgoing e-mail through Amazon SES (v2 `SendEmail`): short plain-text messages to one
//! address. Locally the stack's moto receives them (`make outbox` prints what was sent).

use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};

/// Why a message was not sent.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// SES refused it or did not answer; see the source.
    #[error("the e-mail could not be sent: {0:?}")]
    Failed(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Sends Stockroom's e-mail.
#[derive(Debug, Clone)]
pub struct Mailer {
    ses: aws_sdk_sesv2::Client,
    from: String,
    configuration_set: Option<String>,
    app_url: String,
}

impl Mailer {
    /// A mailer sending as `from` (an SES-verified identity), tracked under
    /// `configuration_set` when given; links in messages start with `app_url`.
    pub fn new(
        ses: aws_sdk_sesv2::Client,
        from: impl Into<String>,
        configuration_set: Option<String>,
        app_url: impl Into<String>,
    ) -> Self {
        Self {
            ses,
            from: from.into(),
            configuration_set,
            app_url: app_url.into().trim_end_matches('/').to_owned(),
        }
    }

    /// The app's base URL, for links in messages.
    pub fn app_url(&self) -> &str {
        &self.app_url
    }

    /// Sends a plain-text message to `to`.
    pub async fn send(&self, to: &str, subject: &str, body: &str) -> Result<(), MailError> {
        let text = |data: &str| {
            Content::builder()
                .data(data)
                .charset("UTF-8")
                .build()
                .map_err(|e| MailError::Failed(Box::new(e)))
        };
        let message = Message::builder()
            .subject(text(subject)?)
            .body(Body::builder().text(text(body)?).build())
            .build();
        self.ses
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(to).build())
            .content(EmailContent::builder().simple(message).build())
            .set_configuration_set_name(self.configuration_set.clone())
            .send()
            .await
            .map_err(|e| MailError::Failed(Box::new(e)))?;
        Ok(())
    }
}
