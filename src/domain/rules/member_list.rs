//! The order and the filters of an account's user list (rule 13 of docs/domain.md), as
//! the domain states them for the store to read one page at a time.
//!
//! The rule lives here: which band each row belongs to, in which order the
//! bands come, what a status filter selects and how a page key is spelled.
//! The store implements the same rule in SQL (`storage::repository::
//! member_list`) so that a page is read with an index range scan after the
//! key, whatever the account's size; `MemberRow::sort_key` is the in-memory
//! statement of the same order, and the tests hold the two together.

use chrono::{DateTime, Utc};

use crate::domain::error::DomainError;
use crate::domain::model::{MemberRow, MemberRowStatus};

/// The bands of the user list, in list order: the owner, then active
/// members, then invitations (pending and expired alike), then deactivated
/// members; each band is ordered by email (byte order).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum MemberBand {
    /// The owner's membership (always active).
    Owner,
    /// Active members other than the owner.
    Active,
    /// Pending invitations, expired or not.
    Invitations,
    /// Deactivated members.
    Deactivated,
}

impl MemberBand {
    /// Every band, in list order.
    pub const ALL: [Self; 4] = [Self::Owner, Self::Active, Self::Invitations, Self::Deactivated];

    /// The band's position in the list, as spelled in page keys.
    pub const fn rank(self) -> u8 {
        match self {
            Self::Owner => 0,
            Self::Active => 1,
            Self::Invitations => 2,
            Self::Deactivated => 3,
        }
    }

    /// The band of a rank, if it names one.
    pub fn from_rank(rank: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|band| band.rank() == rank)
    }

    /// The band a row belongs to (the rank of [`MemberRow::sort_key`]).
    pub fn of(row: &MemberRow) -> Option<Self> {
        Self::from_rank(row.sort_key().0)
    }

    /// The statuses a row of this band can have: the status filter reads only
    /// the bands that can hold the status asked for.
    pub fn statuses(self) -> &'static [MemberRowStatus] {
        match self {
            // The database ties the owner slot to an active membership.
            Self::Owner => &[MemberRowStatus::Active],
            // A membership past its end stays in its band (rule 17).
            Self::Active => &[MemberRowStatus::Active, MemberRowStatus::Expired],
            Self::Invitations => &[MemberRowStatus::Pending, MemberRowStatus::InvitationExpired],
            Self::Deactivated => &[MemberRowStatus::Deactivated],
        }
    }
}

/// Where a page starts: the band and email of the last row already seen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberListKey {
    /// The last row's band.
    pub band: MemberBand,
    /// The last row's email.
    pub email: String,
}

impl MemberListKey {
    /// The key of a row.
    pub fn of(row: &MemberRow) -> Option<Self> {
        Some(Self {
            band: MemberBand::of(row)?,
            email: row.email.as_str().to_owned(),
        })
    }

    /// The key as carried (hex-encoded by the page) in a page token.
    pub fn encode(&self) -> String {
        format!("{}:{}", self.band.rank(), self.email)
    }

    /// Reads a key written by [`Self::encode`]; a token this service did not
    /// issue is the caller's error.
    pub fn decode(key: &str) -> Result<Self, DomainError> {
        key.split_once(':')
            .and_then(|(rank, email)| {
                Some(Self {
                    band: MemberBand::from_rank(rank.parse().ok()?)?,
                    email: email.to_owned(),
                })
            })
            .ok_or_else(|| {
                DomainError::invalid(
                    "page_token",
                    "is not a token this service issued: pass next_page_token from the previous response unchanged",
                )
            })
    }
}

/// One page of the user list, as the store reads it.
#[derive(Clone, Debug)]
pub struct MemberPageQuery {
    /// Only rows with this status.
    pub status: Option<MemberRowStatus>,
    /// Only rows with this role name.
    pub role: Option<String>,
    /// Rows strictly after this key; None from the start.
    pub after: Option<MemberListKey>,
    /// Rows wanted; the store returns at most this many, in list order.
    pub limit: usize,
    /// Most bytes the page's rows may carry (their text, scope ids and
    /// grants, as the store estimates them): the store stops before the
    /// row that would pass it, though never before the first.
    pub max_bytes: usize,
    /// Invitations whose expiry is at or before this instant are expired,
    /// and so are memberships whose end is (rule 17).
    pub now: DateTime<Utc>,
    /// Only members whose membership ends after `now` and at or before
    /// this instant (rule 17: who is about to lose access).
    pub ends_before: Option<DateTime<Utc>>,
}

/// The rows a store read for one page.
#[derive(Clone, Debug, Default)]
pub struct MemberPageRows {
    /// At most the query's limit, in list order.
    pub rows: Vec<MemberRow>,
    /// The store stopped at the query's byte budget: rows follow the last one.
    pub cut_at_budget: bool,
}

impl MemberPageQuery {
    /// Whether a band can hold rows of this page: it matches the status
    /// filter and does not lie before the key.
    pub fn reads(&self, band: MemberBand) -> bool {
        self.status.is_none_or(|status| band.statuses().contains(&status))
            // Only a non-owner membership ends.
            && (self.ends_before.is_none() || band == MemberBand::Active)
            && self.after.as_ref().is_none_or(|after| band >= after.band)
    }

    /// The email a band's rows must follow, when the key lies in that band.
    pub fn after_email(&self, band: MemberBand) -> Option<&str> {
        self.after
            .as_ref()
            .filter(|after| after.band == band)
            .map(|after| after.email.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::Email;
    use crate::domain::permissions::PermissionSet;

    fn row(is_owner: bool, status: MemberRowStatus) -> MemberRow {
        MemberRow {
            user_id: None,
            name: String::new(),
            email: Email::from_trusted("a@example.com".to_owned()),
            role: "viewer".to_owned(),
            status,
            is_owner,
            scopes: Default::default(),
            invited_by: None,
            joined_at: None,
            last_sign_in_at: None,
            invitation_id: None,
            grants: PermissionSet::EMPTY,
            ends: Default::default(),
        }
    }

    #[test]
    fn bands_follow_the_sort_key() {
        use MemberRowStatus::*;
        assert_eq!(MemberBand::of(&row(true, Active)), Some(MemberBand::Owner));
        for (band, statuses) in MemberBand::ALL.map(|b| (b, b.statuses())) {
            for &status in statuses {
                if band != MemberBand::Owner {
                    assert_eq!(MemberBand::of(&row(false, status)), Some(band));
                }
            }
        }
    }

    #[test]
    fn keys_round_trip_and_garbage_is_refused() {
        let key = MemberListKey {
            band: MemberBand::Invitations,
            email: "x:y@example.com".to_owned(),
        };
        assert_eq!(MemberListKey::decode(&key.encode()).ok(), Some(key));
        for garbage in ["", "k0", "9:a@b", "x:a@b"] {
            assert!(MemberListKey::decode(garbage).is_err(), "{garbage}");
        }
    }
}
