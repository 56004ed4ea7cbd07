//! The change stream's queries (WatchChanges and the Redis publisher): the
//! changes of the activity log (rule 12 of docs/domain.md), read in commit
//! order, and what a watch is owed of the changes every watch shares.

use super::ActivityRecord;
use crate::domain::ids::AccountId;

/// Whose changes a change query or a watch reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChangeScope {
    /// One account.
    Account(AccountId),
    /// A team: the parent account and its children (those it has when each
    /// read runs, so a child created later joins).
    Team(AccountId),
    /// Every account (the platform).
    All,
}

impl ChangeScope {
    /// Whether a change of `account`, whose team parent is `parent`, is in
    /// this scope.
    pub fn covers(&self, account: &AccountId, parent: Option<&AccountId>) -> bool {
        match self {
            Self::Account(watched) => watched == account,
            Self::Team(team) => team == account || parent == Some(team),
            Self::All => true,
        }
    }
}

/// Which changes to read: those of a scope after a point, in commit order.
#[derive(Clone, Debug)]
pub struct ChangeQuery {
    /// Whose.
    pub scope: ChangeScope,
    /// Only changes whose revision is above this one (meaningful for one account).
    pub after_revision: Option<u64>,
    /// Only changes after this internal position ([`ActivityRecord::seq`](super::ActivityRecord::seq)).
    pub after_seq: Option<i64>,
}

impl ChangeQuery {
    /// Whether `change` is one this query reads: in its scope, above its
    /// revision, after its position. The same test the store's query
    /// applies, for changes read once for every watch.
    pub fn admits(&self, change: &FedChange) -> bool {
        let record = &change.record;
        self.after_seq.is_none_or(|after| record.seq > after)
            && self.after_revision.is_none_or(|after| record.revision > after)
            && self
                .scope
                .covers(&record.entry.account_id, change.parent.as_ref())
    }
}

/// A committed change as a replica's feed reads it once for every watch:
/// the record, and the team parent of its account (a team watch's scope
/// is the parent and its children, so the child's parent says whether the
/// change is the team's).
#[derive(Clone, Debug)]
pub struct FedChange {
    /// The change.
    pub record: ActivityRecord,
    /// The parent of the change's account, when it is a team child.
    pub parent: Option<AccountId>,
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::domain::ids::{ActivityId, UserId};
    use crate::domain::model::{ActivityAction, ActivityEntry, StoredDetails, Via, ViaKind};

    fn change(seq: i64, account: &str, revision: u64, parent: Option<&str>) -> FedChange {
        FedChange {
            record: ActivityRecord {
                id: ActivityId::from_trusted(format!("{seq:032x}")),
                seq,
                revision,
                entry: ActivityEntry {
                    at: Utc::now(),
                    account_id: AccountId::from_trusted(account.to_owned()),
                    actor: UserId::from_trusted("u".to_owned()),
                    via: Via::new(ViaKind::Local, "local"),
                    target: String::new(),
                    details: StoredDetails::new(ActivityAction::AccountCreate, serde_json::json!({})),
                },
            },
            parent: parent.map(|p| AccountId::from_trusted(p.to_owned())),
        }
    }

    fn query(scope: ChangeScope, after_revision: Option<u64>, after_seq: Option<i64>) -> ChangeQuery {
        ChangeQuery {
            scope,
            after_revision,
            after_seq,
        }
    }

    fn account(id: &str) -> AccountId {
        AccountId::from_trusted(id.to_owned())
    }

    #[test]
    fn a_scope_covers_its_account_its_team_or_everything() {
        let (team, child, other) = (account("team"), account("child"), account("other"));
        assert!(ChangeScope::Account(child.clone()).covers(&child, Some(&team)));
        assert!(!ChangeScope::Account(team.clone()).covers(&child, Some(&team)));
        assert!(ChangeScope::Team(team.clone()).covers(&team, None));
        assert!(ChangeScope::Team(team.clone()).covers(&child, Some(&team)));
        assert!(!ChangeScope::Team(team.clone()).covers(&other, None));
        assert!(!ChangeScope::Team(child.clone()).covers(&team, None));
        assert!(ChangeScope::All.covers(&other, None));
    }

    #[test]
    fn a_query_admits_what_the_store_would_read() {
        let fed = change(10, "acme", 5, None);
        assert!(query(ChangeScope::All, None, None).admits(&fed));
        assert!(query(ChangeScope::All, None, Some(9)).admits(&fed));
        assert!(
            !query(ChangeScope::All, None, Some(10)).admits(&fed),
            "at the position: had already"
        );
        assert!(query(ChangeScope::Account(account("acme")), Some(4), None).admits(&fed));
        assert!(!query(ChangeScope::Account(account("acme")), Some(5), None).admits(&fed));
        assert!(!query(ChangeScope::Account(account("globex")), None, None).admits(&fed));
        let child = change(11, "acme-eu", 1, Some("acme"));
        assert!(query(ChangeScope::Team(account("acme")), None, Some(10)).admits(&child));
    }
}
