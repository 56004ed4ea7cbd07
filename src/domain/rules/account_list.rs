//! The account list (ListAccounts): the accounts a user can switch to, by
//! rules 1, 4 and 17 of docs/domain.md.

use chrono::{DateTime, Utc};

use super::decision::acts_as_parent_owner;
use crate::domain::model::{AccountAccess, AccountState, AccountTie, MembershipStatus};
use crate::domain::permissions::OWNER_ROLE;

/// The accounts a user can switch to, by account id: open accounts where
/// they are an active member, or whose open parent they own (rule 4, which
/// outranks their own membership there).
pub fn accessible_accounts(ties: Vec<AccountTie>, now: DateTime<Utc>) -> Vec<AccountAccess> {
    let mut accounts: Vec<AccountAccess> = ties
        .into_iter()
        .filter_map(|tie| {
            if tie.account.state == AccountState::Closed {
                return None;
            }
            let owns_account = tie.membership.as_ref().is_some_and(|member| member.is_owner);
            if acts_as_parent_owner(owns_account, tie.owned_parent_state) {
                return Some(AccountAccess {
                    via_parent: tie.account.parent_id.clone(),
                    account: tie.account,
                    role: OWNER_ROLE.to_owned(),
                });
            }
            // Rule 17: a membership that has ended gives nothing to switch to.
            let member = tie.membership.filter(|m| {
                m.status == MembershipStatus::Active && (m.is_owner || m.ends_at.is_none_or(|end| now < end))
            })?;
            Some(AccountAccess {
                account: tie.account,
                role: member.role,
                via_parent: None,
            })
        })
        .collect();
    accounts.sort_by(|a, b| a.account.id.cmp(&b.account.id));
    accounts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::{AccountId, Email, UserId};
    use crate::domain::model::{Account, AccountLimits, OwnMembership, Person};

    fn tie(id: &str, parent: Option<&str>, state: AccountState) -> AccountTie {
        AccountTie {
            account: Account {
                id: AccountId::from_trusted(id.into()),
                name: id.into(),
                parent_id: parent.map(|p| AccountId::from_trusted(p.into())),
                state,
                owner: Person {
                    user_id: UserId::from_trusted("o".into()),
                    email: Email::from_trusted("o@example.com".into()),
                    name: String::new(),
                },
                require_two_factor: false,
                limits: AccountLimits::default(),
                created_at: chrono::DateTime::UNIX_EPOCH,
                closed_at: None,
            },
            membership: None,
            owned_parent_state: None,
        }
    }

    fn own(role: &str, status: MembershipStatus) -> Option<OwnMembership> {
        Some(OwnMembership {
            role: role.into(),
            status,
            is_owner: role == OWNER_ROLE,
            ends_at: None,
        })
    }

    #[test]
    fn account_list_applies_rules_one_and_four() {
        let mut team = tie("team", None, AccountState::Open);
        team.membership = own(OWNER_ROLE, MembershipStatus::Active);
        let mut child = tie("child", Some("team"), AccountState::Open);
        child.membership = own("viewer", MembershipStatus::Active);
        child.owned_parent_state = Some(AccountState::Open);
        let mut closed = tie("closed", None, AccountState::Closed);
        closed.membership = own("admin", MembershipStatus::Active);
        let mut inactive = tie("inactive", None, AccountState::Open);
        inactive.membership = own("admin", MembershipStatus::Deactivated);
        let mut orphan = tie("orphan", Some("gone"), AccountState::Open);
        orphan.owned_parent_state = Some(AccountState::Closed);
        let now = chrono::DateTime::UNIX_EPOCH + chrono::Duration::days(1);
        let mut ended = tie("ended", None, AccountState::Open);
        ended.membership = own("admin", MembershipStatus::Active);
        if let Some(m) = ended.membership.as_mut() {
            m.ends_at = Some(now);
        }
        let mut ending = tie("ending", None, AccountState::Open);
        ending.membership = own("viewer", MembershipStatus::Active);
        if let Some(m) = ending.membership.as_mut() {
            m.ends_at = Some(now + chrono::Duration::milliseconds(1));
        }
        let listed: Vec<(String, String, Option<String>)> =
            accessible_accounts(vec![team, child, closed, inactive, orphan, ended, ending], now)
                .into_iter()
                .map(|a| {
                    (
                        a.account.id.as_str().to_owned(),
                        a.role,
                        a.via_parent.map(|p| p.as_str().to_owned()),
                    )
                })
                .collect();
        assert_eq!(
            listed,
            vec![
                ("child".into(), OWNER_ROLE.into(), Some("team".into())),
                ("ending".into(), "viewer".into(), None),
                ("team".into(), OWNER_ROLE.into(), None),
            ],
            "rules 1, 4 and 17: not closed, deactivated, orphaned or ended"
        );
    }
}
