//! The facts Authorize decisions need: one statement for up to
//! [`MAX_PAIRS`] (account, user) pairs, whose text is written once.
//!
//! This runs on every Authorize, so it avoids what a profile showed costing
//! time: the text is not rebuilt per call (one string per pair count, made on
//! first use, which also lets the driver reuse its prepared statement), and
//! the permissions of built-in roles are not read, since the code holds them
//! (`permissions::BUILTIN_ROLES`, mirrored into the tables at start-up).

use std::collections::HashMap;
use std::sync::LazyLock;
use std::sync::OnceLock;

use sea_orm::{ConnectionTrait, QueryResult, Statement, Value};

use crate::domain::ids::{AccountId, ResourceId, UserId};
use crate::domain::model::{
    AccessFacts, AccountFacts, AccountState, MemberAccess, MembershipStatus, ResourceType, Scopes,
};
use crate::domain::permissions::{BUILTIN_ROLES, Permission, PermissionSet};
use crate::domain::{DomainError, DomainResult};
use crate::storage::error::from_db_err;

use super::codec::{ACTIVE, account_state, membership_status, resource_type};

/// Most pairs one statement asks about: a full BatchAuthorize (100 checks by
/// default) fits in one, with 256 parameters, far below the limits of
/// SQLite (32,766) and MySQL (65,535).
/// app.rs checks that the largest BatchAuthorize fits in one.
pub const MAX_PAIRS: usize = 128;

/// Statement texts are made for pair counts that are powers of two (1, 2,
/// 4, ..., 128), the rest of the list padded with pairs that match nothing:
/// eight texts in all, so the drivers' prepared-statement caches (100
/// entries per connection) keep every one of them.
const SIZE_CLASSES: usize = MAX_PAIRS.trailing_zeros() as usize + 1;

/// A pair that matches no row (ids are never empty), to pad a list.
const NO_PAIR: (&str, &str) = ("", "");

/// Permissions of the built-in roles by role id (the id of a built-in role
/// is its name), computed once from the code that seeds them.
static BUILTIN_PERMISSIONS: LazyLock<HashMap<&'static str, PermissionSet>> = LazyLock::new(|| {
    BUILTIN_ROLES
        .iter()
        .map(|role| (role.name, role.permissions()))
        .collect()
});

/// The smallest size class holding `n` pairs (`n <= MAX_PAIRS`).
fn size_class(n: usize) -> usize {
    n.max(1).next_power_of_two()
}

/// The statement for `n` pairs. The pairs form a table `p` (a CTE of
/// `SELECT ?, ?` rows) that each part joins on the primary key: MariaDB
/// plans an OR of 128 pair equalities several times slower than this join
/// (measured: 23 ms against 6.5 ms a statement). One statement is one
/// consistent snapshot on both databases, so the facts never mix the state
/// before a write with the state after it. Rows are `(kind, account_id,
/// user_id, s1, s2, s3, flag, r1, r2)`:
/// - `a`: the account: parent id, state, -, require two-factor, its
///   revision, its parent's revision;
/// - `t`: a resource the account's parent shares into it: its id, its type
///   (rule 5);
/// - `m`: the membership: status, role name, role id, owner;
/// - `o`: the user owns the account's parent: the parent's state;
/// - `p`: a permission of a custom role (active memberships only);
/// - `g`: an extra grant; `s`: a scope (resource type, resource id).
///
/// Parameters: the `n` pairs, account then user (see [`bind`]).
fn facts_sql(n: usize) -> String {
    facts_sql_from(&vec!["SELECT ?, ?"; n].join(" UNION ALL "))
}

/// The statement of [`facts_sql`] for the pairs a query selects (`pairs`,
/// two columns: account id, user id), whose parameters are its own: how
/// the lookups read the facts of every account of a user, or of every
/// member of an account, in one statement.
pub(super) fn facts_sql_from(pairs: &str) -> String {
    let builtins: Vec<String> = BUILTIN_ROLES
        .iter()
        .map(|role| format!("'{}'", role.name))
        .collect();
    let builtins = builtins.join(", ");
    let member = "JOIN memberships m ON m.account_id = p.account_id AND m.user_id = p.user_id";
    format!(
        "WITH p (account_id, user_id) AS ({pairs}) \
         SELECT 'a' AS kind, a.id AS account_id, '' AS user_id, a.parent_id AS s1, a.state AS s2, \
         '' AS s3, CASE WHEN a.require_two_factor THEN 1 ELSE 0 END AS flag, \
         a.revision AS r1, COALESCE(ap.revision, 0) AS r2 \
         FROM accounts a LEFT JOIN accounts ap ON ap.id = a.parent_id \
         WHERE a.id IN (SELECT account_id FROM p) \
         UNION ALL SELECT 't', c.id, '', sr.resource_id, sr.resource_type, '', 0, 0, 0 \
         FROM accounts c JOIN shared_resources sr ON sr.parent_account_id = c.parent_id \
         LEFT JOIN shared_resource_children sc ON sc.parent_account_id = sr.parent_account_id \
         AND sc.resource_type = sr.resource_type AND sc.resource_id = sr.resource_id \
         AND sc.child_account_id = c.id \
         WHERE c.id IN (SELECT account_id FROM p) \
         AND (sr.all_children <> 0 OR sc.child_account_id IS NOT NULL) \
         UNION ALL SELECT 'm', m.account_id, m.user_id, m.status, r.name, m.role_id, \
         CASE WHEN m.owner_slot IS NULL THEN 0 ELSE 1 END, 0, 0 \
         FROM p {member} JOIN roles r ON r.id = m.role_id \
         UNION ALL SELECT 'o', c.id, po.user_id, parent.state, '', '', 0, 0, 0 \
         FROM p JOIN accounts c ON c.id = p.account_id \
         JOIN memberships po ON po.account_id = c.parent_id AND po.user_id = p.user_id \
         AND po.owner_slot = 1 \
         JOIN accounts parent ON parent.id = po.account_id \
         UNION ALL SELECT 'p', m.account_id, m.user_id, rp.permission, '', '', 0, 0, 0 \
         FROM p {member} JOIN role_permissions rp ON rp.role_id = m.role_id \
         WHERE m.status = '{ACTIVE}' AND m.role_id NOT IN ({builtins}) \
         UNION ALL SELECT 'g', g.account_id, g.user_id, g.permission, '', '', 0, 0, 0 \
         FROM p JOIN membership_grants g ON g.account_id = p.account_id AND g.user_id = p.user_id \
         UNION ALL SELECT 's', s.account_id, s.user_id, s.resource_type, s.resource_id, '', 0, 0, 0 \
         FROM p JOIN membership_scopes s ON s.account_id = p.account_id AND s.user_id = p.user_id"
    )
}

/// The statement text for a size class, made on first use.
fn cached_facts_sql(class: usize) -> &'static str {
    static TEXTS: [OnceLock<String>; SIZE_CLASSES] = [const { OnceLock::new() }; SIZE_CLASSES];
    let index = class.trailing_zeros() as usize;
    TEXTS[index].get_or_init(|| facts_sql(class))
}

/// The parameters of [`facts_sql`] for `pairs`, padded to `class`.
fn bind(pairs: &[(&str, &str)], class: usize) -> Vec<Value> {
    pairs
        .iter()
        .copied()
        .chain(std::iter::repeat(NO_PAIR))
        .take(class)
        .flat_map(|(account, user)| [Value::from(account), Value::from(user)])
        .collect()
}

/// What the rows say about one membership.
#[derive(Default)]
pub(super) struct Found {
    /// Status, role name, role id and owner flag, from the `m` row.
    member: Option<(MembershipStatus, String, String, bool)>,
    /// Permissions of a custom role and extra grants.
    stored: PermissionSet,
    scopes: Scopes,
    owned_parent_state: Option<AccountState>,
}

impl Found {
    fn access(self) -> Option<MemberAccess> {
        let (status, role, role_id, is_owner) = self.member?;
        // A deactivated member is denied before permissions matter.
        let (permissions, scopes) = match status {
            MembershipStatus::Active => {
                let role_permissions = BUILTIN_PERMISSIONS.get(role_id.as_str()).copied();
                (
                    role_permissions.unwrap_or_default().union(self.stored),
                    self.scopes,
                )
            }
            MembershipStatus::Deactivated => (PermissionSet::EMPTY, Scopes::default()),
        };
        Some(MemberAccess {
            role,
            is_owner,
            status,
            permissions,
            scopes,
        })
    }
}

fn text(row: &QueryResult, index: usize) -> DomainResult<String> {
    row.try_get_by_index::<Option<String>>(index)
        .map(Option::unwrap_or_default)
        .map_err(from_db_err)
}

/// Where the rows about one (account, user) pair are gathered.
pub(super) trait Slots {
    /// The slot of the pair, or None when the rows are not wanted.
    fn slot(&mut self, account: &str, user: &str) -> Option<&mut Found>;
}

/// The slots of pairs asked by id, in the order asked.
struct Asked<'p> {
    slot_of: HashMap<(&'p str, &'p str), usize>,
    found: Vec<Found>,
}

impl Slots for Asked<'_> {
    fn slot(&mut self, account: &str, user: &str) -> Option<&mut Found> {
        self.slot_of
            .get(&(account, user))
            .and_then(|&i| self.found.get_mut(i))
    }
}

/// The account facts the rows name, by account id, with their revision.
pub(super) type AccountsRead = HashMap<String, (u64, AccountFacts)>;

/// Gathers the rows of a facts statement: account facts into `accounts`,
/// the rest into the pairs' slots.
pub(super) fn gather(
    rows: Vec<QueryResult>,
    accounts: &mut AccountsRead,
    slots: &mut impl Slots,
) -> DomainResult<()> {
    for row in rows {
        let kind = text(&row, 0)?;
        let account = text(&row, 1)?;
        match kind.as_str() {
            "a" => {
                let parent_id = row
                    .try_get_by_index::<Option<String>>(3)
                    .map_err(from_db_err)?
                    .map(AccountId::from_trusted);
                let revision = number(&row, 7)?;
                let parent_revision = parent_id.as_ref().map(|_| number(&row, 8)).transpose()?;
                let facts = AccountFacts {
                    parent_id,
                    parent_revision,
                    shared_templates: Vec::new(),
                    shared_suppression_lists: Vec::new(),
                    state: account_state(&text(&row, 4)?)?,
                    require_two_factor: number(&row, 6)? != 0,
                };
                // `t` rows may come first: keep the resources they added.
                let entry = accounts.entry(account).or_insert_with(placeholder_account);
                let shared_templates = std::mem::take(&mut entry.1.shared_templates);
                let shared_suppression_lists = std::mem::take(&mut entry.1.shared_suppression_lists);
                *entry = (
                    revision,
                    AccountFacts {
                        shared_templates,
                        shared_suppression_lists,
                        ..facts
                    },
                );
                continue;
            }
            "t" => {
                let id = ResourceId::from_trusted(text(&row, 3)?);
                let facts = &mut accounts.entry(account).or_insert_with(placeholder_account).1;
                match resource_type(&text(&row, 4)?)? {
                    ResourceType::Template => facts.shared_templates.push(id),
                    ResourceType::SuppressionList => facts.shared_suppression_lists.push(id),
                    // Only the two types above are shared (domain::service::sharing).
                    ResourceType::List
                    | ResourceType::Campaign
                    | ResourceType::Automation
                    | ResourceType::Segment => {}
                }
                continue;
            }
            _ => {}
        }
        let user = text(&row, 2)?;
        let Some(slot) = slots.slot(&account, &user) else {
            continue;
        };
        match kind.as_str() {
            "m" => {
                let status = membership_status(&text(&row, 3)?)?;
                let is_owner = number(&row, 6)? != 0;
                slot.member = Some((status, text(&row, 4)?, text(&row, 5)?, is_owner));
            }
            "o" => slot.owned_parent_state = Some(account_state(&text(&row, 3)?)?),
            "s" => slot.scopes.insert(
                resource_type(&text(&row, 3)?)?,
                ResourceId::from_trusted(text(&row, 4)?),
            ),
            // `p` and `g`: names a newer version may know are skipped.
            _ => {
                if let Some(permission) = Permission::lookup(&text(&row, 3)?) {
                    slot.stored.insert(permission);
                }
            }
        }
    }
    for (_, facts) in accounts.values_mut() {
        for shared in [&mut facts.shared_templates, &mut facts.shared_suppression_lists] {
            shared.sort();
            shared.dedup();
        }
    }
    Ok(())
}

/// The facts of one pair once every row is gathered.
pub(super) fn built(accounts: &AccountsRead, account: &str, slot: Found) -> AccessFacts {
    match accounts.get(account) {
        // A `t` row without its `a` row cannot happen in one snapshot;
        // revision 0 would be "no account" anyway.
        Some((revision, account)) if *revision > 0 => AccessFacts {
            revision: *revision,
            account: Some(account.clone()),
            owned_parent_state: slot.owned_parent_state,
            membership: slot.access(),
        },
        Some(_) | None => AccessFacts::no_account(),
    }
}

/// The facts of each (account, user) pair, in the order asked; one
/// statement per [`MAX_PAIRS`] distinct pairs.
pub(super) async fn access_facts_of<C: ConnectionTrait>(
    c: &C,
    pairs: &[(&AccountId, &UserId)],
) -> DomainResult<Vec<AccessFacts>> {
    let mut distinct: Vec<(&str, &str)> = Vec::with_capacity(pairs.len());
    let mut asked = Asked {
        slot_of: HashMap::with_capacity(pairs.len()),
        found: Vec::new(),
    };
    for (account, user) in pairs {
        let key = (account.as_str(), user.as_str());
        asked.slot_of.entry(key).or_insert_with(|| {
            distinct.push(key);
            distinct.len() - 1
        });
    }
    asked.found = distinct.iter().map(|_| Found::default()).collect();
    let mut accounts: AccountsRead = HashMap::new();
    for chunk in distinct.chunks(MAX_PAIRS) {
        let class = size_class(chunk.len());
        let statement = Statement::from_sql_and_values(
            c.get_database_backend(),
            cached_facts_sql(class),
            bind(chunk, class),
        );
        let rows = c.query_all_raw(statement).await.map_err(from_db_err)?;
        gather(rows, &mut accounts, &mut asked)?;
    }
    let Asked { slot_of, found } = asked;
    let built: Vec<AccessFacts> = distinct
        .iter()
        .zip(found)
        .map(|((account, _), slot)| built(&accounts, account, slot))
        .collect();
    if built.len() == pairs.len() {
        // No pair was asked twice: the facts are already in the order asked.
        return Ok(built);
    }
    Ok(pairs
        .iter()
        .map(|(account, user)| {
            slot_of
                .get(&(account.as_str(), user.as_str()))
                .and_then(|&i| built.get(i).cloned())
                .unwrap_or_else(AccessFacts::no_account)
        })
        .collect())
}

/// Account facts for `t` rows read before their `a` row, replaced by it.
fn placeholder_account() -> (u64, AccountFacts) {
    (
        0,
        AccountFacts {
            parent_id: None,
            parent_revision: None,
            shared_templates: Vec::new(),
            shared_suppression_lists: Vec::new(),
            state: AccountState::Closed,
            require_two_factor: true,
        },
    )
}

/// A whole-number column (flags and revisions).
fn number(row: &QueryResult, index: usize) -> DomainResult<u64> {
    let value = row.try_get_by_index::<i64>(index).map_err(from_db_err)?;
    u64::try_from(value).map_err(|_| DomainError::Internal(format!("negative number in column {index}")))
}

/// The facts of one (account, user) pair: one statement.
pub(super) async fn access_facts<C: ConnectionTrait>(
    c: &C,
    account: &AccountId,
    user: &UserId,
) -> DomainResult<AccessFacts> {
    let mut facts = access_facts_of(c, &[(account, user)]).await?;
    Ok(facts.pop().unwrap_or_else(AccessFacts::no_account))
}
