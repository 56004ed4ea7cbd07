//! Signed cache entries: each entry Redis holds carries an HMAC-SHA256 of
//! its account, its user and its bytes, under a key only the replicas hold
//! (ACCESS_REDIS_ENTRY_KEYS_FILE). An entry whose tag no key accepts (one
//! planted by whoever can write to Redis, or copied from another user's
//! field) is a miss, counted, and the check reads the database.
//!
//! The account and user are in the tag so that a genuine entry moved to
//! another key (the owner's facts under a stranger's name) fails too.
//!
//! The same keys sign the acknowledgements replicas send a writer: a
//! writer stops waiting for a replica on its acknowledgement, so one forged
//! by whoever can publish on Redis would let a write return while that
//! replica still holds older entries.

use std::path::Path;

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::hmac;

use crate::domain::ids::{AccountId, UserId};

/// Smallest key accepted: HMAC-SHA256's own output size.
const MIN_KEY_BYTES: usize = 32;
/// Bytes of the tag appended to each signed entry.
const TAG_BYTES: usize = 32;

/// The keys entries are signed and checked with; none: unsigned entries.
#[derive(Default)]
pub struct EntryKeys {
    keys: Vec<hmac::Key>,
}

impl EntryKeys {
    /// Entries neither signed nor checked.
    pub fn unsigned() -> Self {
        Self::default()
    }

    /// The keys of `path`: one base64 key a line (blank lines and `#`
    /// comments skipped); the first signs.
    pub fn from_file(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read ACCESS_REDIS_ENTRY_KEYS_FILE {}", path.display()))?;
        let mut keys = Vec::new();
        for (number, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bytes = STANDARD
                .decode(line)
                .with_context(|| format!("ACCESS_REDIS_ENTRY_KEYS_FILE line {}: not base64", number + 1))?;
            anyhow::ensure!(
                bytes.len() >= MIN_KEY_BYTES,
                "ACCESS_REDIS_ENTRY_KEYS_FILE line {}: a key needs at least {MIN_KEY_BYTES} bytes",
                number + 1
            );
            keys.push(hmac::Key::new(hmac::HMAC_SHA256, &bytes));
        }
        anyhow::ensure!(!keys.is_empty(), "ACCESS_REDIS_ENTRY_KEYS_FILE holds no key");
        Ok(Self { keys })
    }

    /// Whether entries are signed.
    pub fn signing(&self) -> bool {
        !self.keys.is_empty()
    }

    /// `entry` with its tag for (account, user) appended, when signing.
    pub fn sign(&self, account: &AccountId, user: &UserId, mut entry: Vec<u8>) -> Vec<u8> {
        if let Some(key) = self.keys.first() {
            let tag = hmac::sign(key, &message(account, user, &entry));
            entry.extend_from_slice(tag.as_ref());
        }
        entry
    }

    /// The entry's bytes when some key accepts its tag for (account, user);
    /// all of `stored` when not signing.
    pub fn check<'a>(&self, account: &AccountId, user: &UserId, stored: &'a [u8]) -> Option<&'a [u8]> {
        if self.keys.is_empty() {
            return Some(stored);
        }
        let split = stored.len().checked_sub(TAG_BYTES)?;
        let (entry, tag) = stored.split_at(split);
        let message = message(account, user, entry);
        self.keys
            .iter()
            .any(|key| hmac::verify(key, &message, tag).is_ok())
            .then_some(entry)
    }
}

/// What a tag covers: the account and user ids (neither holds a NUL), then
/// the entry.
/// The payload of an acknowledgement: `write_id replica`, then a space and
/// the base64 tag over both and the writer (`origin`) when keys sign.
pub(super) fn ack_payload(keys: &EntryKeys, origin: &str, write_id: u64, replica: &str) -> String {
    let mut payload = format!("{write_id} {replica}");
    if let Some(key) = keys.keys.first() {
        let tag = hmac::sign(key, &ack_message(origin, write_id, replica));
        payload.push(' ');
        payload.push_str(&STANDARD.encode(tag.as_ref()));
    }
    payload
}

/// The write and replica an acknowledgement sent to `origin` names, when
/// it is well formed and, with keys, its tag verifies under one of them.
pub(super) fn read_ack(keys: &EntryKeys, origin: &str, payload: &str) -> Option<(u64, String)> {
    let mut parts = payload.split(' ');
    let write_id = parts.next()?.parse::<u64>().ok()?;
    let replica = parts.next()?;
    let tag = parts.next();
    if parts.next().is_some() {
        return None;
    }
    if keys.signing() {
        let tag = STANDARD.decode(tag?).ok()?;
        let message = ack_message(origin, write_id, replica);
        if !keys
            .keys
            .iter()
            .any(|key| hmac::verify(key, &message, &tag).is_ok())
        {
            return None;
        }
    }
    Some((write_id, replica.to_owned()))
}

fn ack_message(origin: &str, write_id: u64, replica: &str) -> Vec<u8> {
    format!("ack\0{origin}\0{write_id}\0{replica}").into_bytes()
}

fn message(account: &AccountId, user: &UserId, entry: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(account.as_str().len() + user.as_str().len() + 2 + entry.len());
    message.extend_from_slice(account.as_str().as_bytes());
    message.push(0);
    message.extend_from_slice(user.as_str().as_bytes());
    message.push(0);
    message.extend_from_slice(entry);
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(lines: &[&[u8]]) -> EntryKeys {
        EntryKeys {
            keys: lines
                .iter()
                .map(|k| hmac::Key::new(hmac::HMAC_SHA256, k))
                .collect(),
        }
    }

    #[test]
    fn an_entry_is_accepted_only_for_its_own_account_and_user_and_any_listed_key() {
        let (acme, olivia, mallory) = (
            AccountId::from_trusted("acme".into()),
            UserId::from_trusted("olivia".into()),
            UserId::from_trusted("mallory".into()),
        );
        let old = keys(&[&[1; 32]]);
        let rotated = keys(&[&[2; 32], &[1; 32]]);
        let signed = old.sign(&acme, &olivia, b"facts".to_vec());
        assert_eq!(old.check(&acme, &olivia, &signed), Some(&b"facts"[..]));
        assert_eq!(rotated.check(&acme, &olivia, &signed), Some(&b"facts"[..]));
        assert_eq!(old.check(&acme, &mallory, &signed), None, "moved to another user");
        assert_eq!(
            keys(&[&[2; 32]]).check(&acme, &olivia, &signed),
            None,
            "a key not listed"
        );
        assert_eq!(old.check(&acme, &olivia, b"facts"), None, "unsigned");
        assert_eq!(EntryKeys::unsigned().check(&acme, &olivia, b"x"), Some(&b"x"[..]));
    }

    #[test]
    fn an_acknowledgement_is_believed_only_with_a_tag_for_its_writer_write_and_replica() {
        let signed = keys(&[b"an-entry-key-of-at-least-32-bytes-long"]);
        let other = keys(&[b"another-key-of-at-least-32-bytes-long!"]);
        let rotating = keys(&[
            b"another-key-of-at-least-32-bytes-long!",
            b"an-entry-key-of-at-least-32-bytes-long",
        ]);
        let payload = ack_payload(&signed, "writer", 7, "b");
        assert_eq!(read_ack(&signed, "writer", &payload), Some((7, "b".to_owned())));
        assert_eq!(
            read_ack(&rotating, "writer", &payload),
            Some((7, "b".to_owned())),
            "an older key still verifies"
        );
        assert_eq!(read_ack(&other, "writer", &payload), None, "another key");
        assert_eq!(
            read_ack(&signed, "another-writer", &payload),
            None,
            "sent to another writer"
        );
        let tag = payload.rsplit(' ').next().unwrap();
        assert_eq!(
            read_ack(&signed, "writer", &format!("8 b {tag}")),
            None,
            "another write"
        );
        assert_eq!(
            read_ack(&signed, "writer", &format!("7 c {tag}")),
            None,
            "another replica"
        );
        assert_eq!(read_ack(&signed, "writer", "7 b"), None, "unsigned");
        let unsigned = EntryKeys::unsigned();
        assert_eq!(ack_payload(&unsigned, "writer", 7, "b"), "7 b");
        assert_eq!(read_ack(&unsigned, "writer", "7 b"), Some((7, "b".to_owned())));
        assert_eq!(read_ack(&unsigned, "writer", "seven b"), None);
    }
}
