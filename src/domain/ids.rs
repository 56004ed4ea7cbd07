//! Validated identifiers and strings, parsed once at the edge.

use std::fmt;

use crate::domain::error::{DomainError, ErrorReason, FieldViolation, echo};

/// Longest id accepted, in bytes: ids are stored in 128-byte columns.
pub const MAX_ID_LEN: usize = 128;

/// Ids are taken exactly as sent, never trimmed: they must match what the
/// platform stores byte for byte, and a silently trimmed `" u-lee"` would
/// answer for `u-lee` while the caller meant something else (docs/domain.md,
/// "The things it knows about": ids are never trimmed).
fn check_id(field: &str, raw: &str) -> Result<(), FieldViolation> {
    // Nearly every id is printable ASCII: one pass over its bytes passes it,
    // and only the others go through the checks that say what is wrong.
    if !raw.is_empty() && raw.len() <= MAX_ID_LEN && raw.bytes().all(|b| b.is_ascii_graphic()) {
        return Ok(());
    }
    if raw.trim().is_empty() {
        return Err(FieldViolation::new(field, "must not be empty"));
    }
    if raw.len() > MAX_ID_LEN {
        return Err(FieldViolation::new(
            field,
            format!("must be at most {MAX_ID_LEN} bytes long"),
        ));
    }
    if raw.trim() != raw {
        return Err(FieldViolation::new(
            field,
            format!(
                "'{}' begins or ends with spaces: ids are compared exactly, so send the id as the platform stores it",
                echo(raw)
            ),
        ));
    }
    if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(FieldViolation::new(
            field,
            "must not contain spaces or control characters",
        ));
    }
    Ok(())
}

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// Parses a caller-supplied id; `field` names it in the error.
            pub fn parse(field: &str, raw: &str) -> Result<Self, FieldViolation> {
                check_id(field, raw).map(|()| Self(raw.to_owned()))
            }

            /// Parses a caller-supplied id the caller gives up, keeping its
            /// string rather than copying it.
            pub fn parse_owned(field: &str, raw: String) -> Result<Self, FieldViolation> {
                check_id(field, &raw).map(|()| Self(raw))
            }

            /// Wraps a value read back from the store, already validated on the way in.
            pub fn from_trusted(value: String) -> Self {
                Self(value)
            }

            /// The id as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

string_id!(
    /// An account (tenant) id: the platform's own or one we generated.
    AccountId
);
string_id!(
    /// A user id issued by the identity provider.
    UserId
);
string_id!(
    /// The id of a resource owned by another service (a list, a template...).
    ResourceId
);
string_id!(
    /// An invitation id.
    InvitationId
);
string_id!(
    /// An access-request id.
    AccessRequestId
);
string_id!(
    /// An activity-log entry's id (and a change event's): opaque, so a
    /// caller cannot count an account's history from it (rule 12 of
    /// docs/domain.md: entries have opaque ids).
    ActivityId
);

impl AccountId {
    /// A fresh id for an account created without one.
    pub fn generate() -> Self {
        Self(uuid::Uuid::new_v4().simple().to_string())
    }
}

impl InvitationId {
    /// A fresh invitation id.
    pub fn generate() -> Self {
        Self(uuid::Uuid::new_v4().simple().to_string())
    }
}

impl AccessRequestId {
    /// A fresh access-request id.
    pub fn generate() -> Self {
        Self(uuid::Uuid::new_v4().simple().to_string())
    }
}

impl ActivityId {
    /// A fresh activity-entry id.
    pub fn generate() -> Self {
        Self(uuid::Uuid::new_v4().simple().to_string())
    }
}

/// A canonical email address: trimmed and lower-cased, so the same address
/// typed in another case is the same person.
///
/// Only a bare address is accepted, `local@domain` in ASCII: the local part
/// a dot-atom (RFC 5322: letters, digits and ``!#$%&'*+-/=?^_`{|}~``, in
/// runs joined by single dots), the domain a host name (two or more labels of
/// letters, digits and inner hyphens, the last not all digits). What is
/// stored is then exactly the mailbox the mail library sends to. Refused:
/// display names and angle brackets (`Vic <v@x.com>`), which it reads as
/// another mailbox (`v@x.com`) than the one stored and shown; comments
/// (`v(c)@x.com`), quoted local parts and address literals, which it reads
/// as another mailbox or none; and non-ASCII addresses, which it sends only
/// after its own normalisation, to servers that take them.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Email(String);

/// Longest email address accepted (RFC 5321 path limit).
pub const MAX_EMAIL_LEN: usize = 254;

/// The characters of an RFC 5322 `atext` besides ASCII letters and digits.
const ATEXT_SYMBOLS: &[u8] = b"!#$%&'*+-/=?^_`{|}~";

/// A dot-atom: runs of `atext`, each at least one long, joined by single dots.
fn is_dot_atom(local: &str) -> bool {
    local.split('.').all(|atom| {
        !atom.is_empty()
            && atom
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || ATEXT_SYMBOLS.contains(&b))
    })
}

/// A host name: two or more labels of 1 to 63 ASCII letters, digits and
/// hyphens, no label beginning or ending with a hyphen, the last not all
/// digits (so never an IP address).
fn is_host_name(domain: &str) -> bool {
    let label_ok = |label: &str| {
        (1..=63).contains(&label.len())
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    let mut labels = domain.split('.');
    let last = labels.next_back().unwrap_or_default();
    let mut count = 1;
    for label in labels {
        if !label_ok(label) {
            return false;
        }
        count += 1;
    }
    count >= 2 && label_ok(last) && !last.bytes().all(|b| b.is_ascii_digit())
}

impl Email {
    /// Parses and canonicalises an address; `field` names it in the error.
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldViolation> {
        let trimmed = raw.trim();
        let bad = || FieldViolation::new(field, format!("'{}' is not a valid email address", echo(trimmed)));
        if trimmed.is_empty() {
            return Err(FieldViolation::new(field, "must not be empty"));
        }
        if trimmed.len() > MAX_EMAIL_LEN {
            return Err(FieldViolation::new(
                field,
                format!("must be at most {MAX_EMAIL_LEN} characters long"),
            ));
        }
        // The grammar is checked on what was sent, before lower-casing, so
        // no character becomes ASCII on the way (the Kelvin sign becomes 'k').
        let (local, domain) = trimmed.split_once('@').ok_or_else(bad)?;
        if !is_dot_atom(local) || !is_host_name(domain) {
            return Err(bad());
        }
        let value = trimmed.to_ascii_lowercase();
        // `.invalid` never routes (RFC 2606): the store marks displaced
        // addresses with it (docs/domain.md rule 9), so nobody may claim one.
        if value.ends_with(".invalid") {
            return Err(bad());
        }
        Ok(Self(value))
    }

    /// Wraps a value read back from the store.
    pub fn from_trusted(value: String) -> Self {
        Self(value)
    }

    /// The canonical address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Longest display name or account name accepted.
pub const MAX_NAME_LEN: usize = 200;

/// Parses a human-readable name (account or person): trimmed, not empty.
pub fn parse_name(field: &str, raw: &str) -> Result<String, FieldViolation> {
    parse_bounded_name(field, raw, MAX_NAME_LEN)
}

/// A trimmed, non-empty name of at most `max` characters: one check, so a
/// name too long by one character and one too long by 10 KB hear the same limit.
fn parse_bounded_name(field: &str, raw: &str, max: usize) -> Result<String, FieldViolation> {
    let value = raw.trim();
    if value.is_empty() {
        return Err(FieldViolation::new(field, "must not be empty"));
    }
    if value.chars().count() > max {
        return Err(FieldViolation::new(
            field,
            format!("must be at most {max} characters long"),
        ));
    }
    if value.chars().any(is_invisible) {
        return Err(FieldViolation::new(
            field,
            "must not contain control or format characters (line breaks, bidi overrides, zero-width characters)",
        )
        .with_reason(ErrorReason::InvisibleCharacter));
    }
    Ok(value.to_owned())
}

/// Whether a character has no place in a one-line name: a control
/// character (general category Cc), a line or paragraph separator (Zl, Zp),
/// or a format character (Cf: bidi embeddings, overrides and isolates,
/// zero-width spaces, the soft hyphen...), which would let a name read
/// differently from what it holds ("Olivia" shown for "Oli\u{202e}aivl"),
/// or two different names look the same. The zero-width non-joiner and
/// joiner are format characters too, but names need them: Persian and
/// Indic spelling, and emoji sequences.
fn is_invisible(c: char) -> bool {
    use icu_properties::CodePointMapData;
    use icu_properties::props::GeneralCategory as Gc;
    if c.is_ascii() {
        return c.is_ascii_control();
    }
    if matches!(c, '\u{200c}' | '\u{200d}') {
        return false;
    }
    matches!(
        CodePointMapData::<Gc>::new().get(c),
        Gc::Control | Gc::Format | Gc::LineSeparator | Gc::ParagraphSeparator
    )
}

/// Longest role name accepted: the width of `roles.name` (64 characters),
/// the only limit a role name is held to.
pub const MAX_ROLE_NAME_LEN: usize = 64;

/// The name of a role, built-in (`admin`) or custom: what callers, invitations
/// and member updates name a role by. Trimmed, not empty, at most
/// [`MAX_ROLE_NAME_LEN`] characters.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RoleName(String);

impl RoleName {
    /// Parses a caller-supplied role name; `field` names it in the error.
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldViolation> {
        parse_bounded_name(field, raw, MAX_ROLE_NAME_LEN).map(Self)
    }

    /// Wraps a value read back from the store, or a built-in role's name.
    pub fn from_trusted(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The name as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RoleName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<str> for RoleName {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for RoleName {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

/// The secret of an invitation link. Only its hash is stored, so the token
/// itself is shown once (to the inviter) and never logged: it has no
/// `Display`, and its `Debug` hides the value.
#[derive(Clone, PartialEq, Eq)]
pub struct InvitationToken(String);

impl InvitationToken {
    /// Parses a caller-supplied token: trimmed, not empty.
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldViolation> {
        let token = raw.trim();
        if token.is_empty() {
            return Err(FieldViolation::new(
                field,
                "must not be empty: pass the token from the invitation link",
            ));
        }
        Ok(Self(token.to_owned()))
    }

    /// A fresh token: 32 random bytes, hex-encoded.
    pub fn generate() -> Result<Self, DomainError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)
            .map_err(|err| DomainError::Internal(format!("no randomness for a token: {err}")))?;
        Ok(Self(hex::encode(bytes)))
    }

    /// What the store keeps and looks invitations up by: the SHA-256 of the token, hex-encoded.
    pub fn hash(&self) -> String {
        use sha2::{Digest, Sha256};
        hex::encode(Sha256::digest(self.0.as_bytes()))
    }

    /// The secret itself, to hand to the inviter once.
    pub fn into_secret(self) -> String {
        self.0
    }
}

impl fmt::Debug for InvitationToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("InvitationToken(..)")
    }
}

/// Longest free-text note accepted (invitation message, request note).
pub const MAX_NOTE_LEN: usize = 2000;

/// Longest role description accepted: one line for role pickers, the
/// 255 characters its column holds.
pub const MAX_ROLE_DESCRIPTION_LEN: usize = 255;

/// Parses optional free text of at most `max` characters, trimmed.
fn parse_text(field: &str, raw: &str, max: usize) -> Result<String, FieldViolation> {
    let value = raw.trim();
    if value.chars().count() > max {
        return Err(FieldViolation::new(
            field,
            format!("must be at most {max} characters long"),
        ));
    }
    Ok(value.to_owned())
}

/// Parses an optional free-text note, which an email quotes (the
/// invitation's message, an access request's note): plain text over lines,
/// with none of the characters that would make it read otherwise than it
/// is ([`is_invisible`]: a bidi override turning a link around, a
/// zero-width space hiding one) in an email sent from the platform's domain.
pub fn parse_note(field: &str, raw: &str) -> Result<String, FieldViolation> {
    let value = parse_text(field, raw, MAX_NOTE_LEN)?;
    if value
        .chars()
        .any(|c| !matches!(c, '\n' | '\r' | '\t') && is_invisible(c))
    {
        return Err(FieldViolation::new(
            field,
            "must be plain text: line breaks and tabs are kept, but no other control character and no \
             format character (bidi overrides and isolates, zero-width spaces, the byte order mark, line \
             and paragraph separators)",
        )
        .with_reason(ErrorReason::InvisibleCharacter));
    }
    Ok(value)
}

/// Parses an optional role description.
pub fn parse_role_description(field: &str, raw: &str) -> Result<String, FieldViolation> {
    parse_text(field, raw, MAX_ROLE_DESCRIPTION_LEN)
}

/// Collects field violations so one response names every bad field at once.
#[derive(Default)]
pub struct Violations(Vec<FieldViolation>);

impl Violations {
    /// Keeps the value, or records why it was refused.
    pub fn check<T>(&mut self, result: Result<T, FieldViolation>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(violation) => {
                self.0.push(violation);
                None
            }
        }
    }

    /// Records a violation found by other means.
    pub fn push(&mut self, violation: FieldViolation) {
        self.0.push(violation);
    }

    /// Ok when nothing was refused, else one InvalidArgument naming every field.
    pub fn finish(self) -> Result<(), DomainError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(DomainError::InvalidArgument(self.0))
        }
    }
}

#[cfg(test)]
mod tests;
