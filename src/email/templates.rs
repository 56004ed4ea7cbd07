//! The messages' templates (minijinja): for each kind of message a subject,
//! a plain-text body and an HTML body, in `src/email/templates/`, compiled
//! into the binary. One renderer serves the dispatcher and
//! PreviewInvitationEmail, so a preview is exactly what would be sent.

use lettre::Message;
use lettre::message::{Mailbox, MultiPart};
use minijinja::value::Serde;
use minijinja::{Environment, Value, context};

use crate::domain::model::{MessageKind, OutboxMessage, StoredFacts};

/// What the accept link carries in place of a token in a preview (no token
/// exists before the invitation is written).
pub const PREVIEW_TOKEN: &str = "PREVIEW-TOKEN";

/// What the accept link carries in place of the token when an email is
/// written to the log (no relay configured): the token is never logged.
pub const UNLOGGED_TOKEN: &str = "TOKEN-NOT-LOGGED";

/// Each kind's three templates, by name: `<kind>.subject.txt`, `<kind>.txt`,
/// `<kind>.html`. The `.html` ones are HTML-escaped (minijinja picks the
/// escaping from the name).
const TEMPLATES: &[(&str, &str)] = &[
    ("layout.html", include_str!("templates/layout.html")),
    (
        "invitation.subject.txt",
        include_str!("templates/invitation.subject.txt"),
    ),
    ("invitation.txt", include_str!("templates/invitation.txt")),
    ("invitation.html", include_str!("templates/invitation.html")),
    (
        "access_requested.subject.txt",
        include_str!("templates/access_requested.subject.txt"),
    ),
    (
        "access_requested.txt",
        include_str!("templates/access_requested.txt"),
    ),
    (
        "access_requested.html",
        include_str!("templates/access_requested.html"),
    ),
    (
        "access_decided.subject.txt",
        include_str!("templates/access_decided.subject.txt"),
    ),
    ("access_decided.txt", include_str!("templates/access_decided.txt")),
    (
        "access_decided.html",
        include_str!("templates/access_decided.html"),
    ),
    (
        "ownership_transferred.subject.txt",
        include_str!("templates/ownership_transferred.subject.txt"),
    ),
    (
        "ownership_transferred.txt",
        include_str!("templates/ownership_transferred.txt"),
    ),
    (
        "ownership_transferred.html",
        include_str!("templates/ownership_transferred.html"),
    ),
    (
        "member_removed.subject.txt",
        include_str!("templates/member_removed.subject.txt"),
    ),
    ("member_removed.txt", include_str!("templates/member_removed.txt")),
    (
        "member_removed.html",
        include_str!("templates/member_removed.html"),
    ),
];

/// A message ready to send: what PreviewInvitationEmail shows and the
/// dispatcher hands to the SMTP relay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenderedEmail {
    /// The sender (ACCESS_MAIL_FROM).
    pub from: String,
    /// The recipient's address.
    pub to: String,
    /// The Message-ID header: the same on every attempt of one outbox row.
    pub message_id: String,
    /// One line.
    pub subject: String,
    /// The plain-text part.
    pub text: String,
    /// The HTML part.
    pub html: String,
}

/// Renders outbox messages into emails.
pub struct EmailRenderer {
    env: Environment<'static>,
    from: Mailbox,
    invite_url_base: String,
}

impl EmailRenderer {
    /// Loads the templates; `from` is the sender ("Name <address>" or an
    /// address), `invite_url_base` the page the accept link opens.
    pub fn new(from: &str, invite_url_base: &str) -> anyhow::Result<Self> {
        let from: Mailbox = from
            .parse()
            .map_err(|err| anyhow::anyhow!("ACCESS_MAIL_FROM '{from}' is not an email address: {err}"))?;
        anyhow::ensure!(
            invite_url_base.starts_with("https://") || invite_url_base.starts_with("http://"),
            "ACCESS_INVITE_URL_BASE '{invite_url_base}' must be an http:// or https:// URL"
        );
        // The link goes into HTML unescaped (escaping would turn its slashes
        // into entities), so it must hold nothing HTML gives a meaning to.
        anyhow::ensure!(
            !invite_url_base.contains(|c: char| c.is_whitespace() || "\"'<>".contains(c)),
            "ACCESS_INVITE_URL_BASE '{invite_url_base}' must not contain spaces, quotes, < or >"
        );
        let mut env = Environment::new();
        // A variable a template names but the facts lack is a bug to report,
        // not a blank in someone's inbox.
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        for (name, source) in TEMPLATES {
            env.add_template(name, source)?;
        }
        Ok(Self {
            env,
            from,
            invite_url_base: invite_url_base.to_owned(),
        })
    }

    /// The accept link for `token`: the base URL with `token=` added to its query.
    pub fn accept_url(&self, token: &str) -> String {
        let separator = if self.invite_url_base.contains('?') {
            '&'
        } else {
            '?'
        };
        format!("{}{separator}token={token}", self.invite_url_base)
    }

    /// The Message-ID of an outbox row: stable across attempts and
    /// dispatchers, so a copy sent twice (a dispatcher that died after the
    /// relay accepted it) is recognisably the same message.
    pub fn message_id(&self, outbox_id: &str) -> String {
        format!("<{outbox_id}@{}>", self.from.email.domain())
    }

    /// Renders `message` from its facts as stored (a variable its templates
    /// name but the facts lack is an error); an invitation without a token
    /// (a preview) links with [`PREVIEW_TOKEN`].
    pub fn render(&self, message: &OutboxMessage<StoredFacts>) -> Result<RenderedEmail, minijinja::Error> {
        let kind = message.kind().as_str();
        let mut facts = Value::from(Serde(message.facts.json()));
        if message.kind() == MessageKind::Invitation {
            // Safe: a checked base URL and a hex token (see `new`).
            let url =
                Value::from_safe_string(self.accept_url(message.token.as_deref().unwrap_or(PREVIEW_TOKEN)));
            facts = context! { accept_url => url, ..facts };
        }
        let subject = self
            .env
            .get_template(&format!("{kind}.subject.txt"))?
            .render(&facts)?;
        Ok(RenderedEmail {
            from: self.from.to_string(),
            to: message.recipient.to_string(),
            message_id: self.message_id(&message.id),
            // One line: a header cannot hold a line break.
            subject: subject.split_whitespace().collect::<Vec<_>>().join(" "),
            text: self.env.get_template(&format!("{kind}.txt"))?.render(&facts)?,
            html: self.env.get_template(&format!("{kind}.html"))?.render(&facts)?,
        })
    }

    /// The MIME message of a rendered email (text and HTML alternatives).
    pub fn mime(&self, email: &RenderedEmail) -> anyhow::Result<Message> {
        let to: Mailbox = email
            .to
            .parse()
            .map_err(|err| anyhow::anyhow!("recipient '{}' is not an email address: {err}", email.to))?;
        Ok(Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(email.subject.clone())
            .message_id(Some(email.message_id.clone()))
            .multipart(MultiPart::alternative_plain_html(
                email.text.clone(),
                email.html.clone(),
            ))?)
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use serde_json::json;

    use super::*;
    use crate::domain::ids::{AccountId, Email};
    use crate::domain::model::{InvitationFacts, MessageFacts, OfferedAccount};

    fn renderer() -> EmailRenderer {
        EmailRenderer::new("Acme Access <access@mail.example>", "https://app.example/accept").unwrap()
    }

    fn invitation(message: &str) -> OutboxMessage<StoredFacts> {
        let facts = MessageFacts::Invitation(InvitationFacts {
            inviter_name: "Olivia <Owner>".into(),
            inviter_email: "olivia@example.com".into(),
            invitee_name: String::new(),
            email: "lee@example.com".into(),
            account_id: "acme".into(),
            account_name: "Acme & Co".into(),
            role: "manager".into(),
            accounts: vec![OfferedAccount {
                account_id: "acme".into(),
                account_name: "Acme & Co".into(),
                role: "manager".into(),
            }],
            message: message.into(),
            expires_at: "2026-12-03 10:00 UTC".into(),
            resend: false,
        });
        let mut m = OutboxMessage::new(
            &AccountId::from_trusted("acme".into()),
            &Email::from_trusted("lee@example.com".into()),
            facts,
            Utc::now(),
        );
        m.token = Some("abc123".into());
        m.into_stored()
    }

    #[test]
    fn html_is_escaped_and_text_is_not() {
        let email = renderer().render(&invitation("<b>welcome</b>")).unwrap();
        assert!(email.html.contains("Olivia &lt;Owner&gt;"), "{}", email.html);
        assert!(email.html.contains("&lt;b&gt;welcome"), "{}", email.html);
        assert!(email.text.contains("Olivia <Owner>"), "{}", email.text);
        assert!(email.text.contains("https://app.example/accept?token=abc123"));
        assert!(!email.subject.contains('\n'));
        let message = invitation("");
        let email2 = renderer().render(&message).unwrap();
        assert_eq!(email2.message_id, format!("<{}@mail.example>", message.id));
    }

    #[test]
    fn every_kind_renders_and_builds_a_mime_message() {
        let r = renderer();
        let account = AccountId::from_trusted("acme".into());
        let to = Email::from_trusted("x@example.com".into());
        let samples = MessageFacts::samples();
        for kind in MessageKind::ALL {
            assert!(samples.iter().any(|(facts, _)| facts.kind() == kind), "{kind:?}");
        }
        for (facts, _) in samples {
            let kind = facts.kind();
            let message = OutboxMessage::new(&account, &to, facts, Utc::now()).into_stored();
            let email = r.render(&message).unwrap_or_else(|e| panic!("{kind:?}: {e:#}"));
            assert!(!email.subject.is_empty() && !email.text.is_empty(), "{kind:?}");
            r.mime(&email).unwrap();
        }
    }

    #[test]
    fn facts_lacking_a_variable_fail_the_render() {
        let mut facts = invitation("").facts.json().clone();
        facts.as_object_mut().unwrap().remove("inviter_name");
        facts
            .as_object_mut()
            .unwrap()
            .insert("added_later".into(), json!("x"));
        let mut message = invitation("");
        message.facts = StoredFacts::new(MessageKind::Invitation, facts);
        let err = renderer().render(&message).unwrap_err();
        assert!(format!("{err:#}").contains("undefined"), "{err:#}");
    }

    #[test]
    fn a_base_url_that_html_would_read_is_refused() {
        for bad in [
            "https://app.example/a\"b",
            "https://app.example/<x>",
            "ftp://app.example",
            "https://a b",
        ] {
            assert!(EmailRenderer::new("a@b.example", bad).is_err(), "{bad}");
        }
        let email = renderer().render(&invitation("")).unwrap();
        assert!(
            email
                .html
                .contains("href=\"https://app.example/accept?token=abc123\""),
            "{}",
            email.html
        );
    }

    #[test]
    fn a_preview_links_with_the_placeholder() {
        let mut message = invitation("");
        message.token = None;
        let email = renderer().render(&message).unwrap();
        assert!(
            email
                .text
                .contains("https://app.example/accept?token=PREVIEW-TOKEN")
        );
    }
}
