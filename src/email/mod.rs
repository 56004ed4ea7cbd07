//! Email (docs/email.md): the messages the outbox holds are rendered from
//! templates ([`templates`]) and delivered by SMTP by a background
//! [`dispatcher`], started by the App and stopped by its shutdown.

pub mod dispatcher;
pub mod templates;

pub use dispatcher::{DispatchSettings, Dispatcher, DispatcherHandle, RelaySettings};
pub use templates::{EmailRenderer, PREVIEW_TOKEN, RenderedEmail};
