//! One page of an account's user list, in two statements whatever the
//! account's size: the page's rows, then the scopes and grants of those rows.
//!
//! The domain owns the rule (`domain::rules::member_list`: the bands owner, active,
//! invitations, deactivated, each by email, and what a status filter
//! selects); this file implements the same rule in SQL. Each band is one
//! index range scan that starts after the page key and stops after `limit`
//! rows (`idx_memberships_list` for members, `uq_invitations_pending` for
//! invitations); the bands are then merged, joined to users and roles for
//! their names (at most `limit` rows a band) and cut to `limit` again. Emails
//! compare byte-wise on both databases (`utf8mb4_bin`, SQLite's BINARY), as
//! `MemberRow::sort_key` compares them in memory.
//!
//! The page's rows carry the bytes of their scope ids and grants (summed by
//! the first statement, without reading them), so the page stops at its
//! byte budget before the second statement reads any scope.

use std::collections::HashMap;

use sea_orm::sea_query::{Asterisk, Condition, Expr, JoinType, Order, Query, SelectStatement, UnionType};
use sea_orm::{ConnectionTrait, DbBackend, ExprTrait, QueryResult};

use crate::domain::ids::{AccountId, Email, InvitationId, ResourceId, UserId};
use crate::domain::model::{AccessEnds, MemberRow, MemberRowStatus, MembershipStatus, Scopes};
use crate::domain::permissions::{Permission, PermissionSet};
use crate::domain::rules::member_list::{MemberBand, MemberPageQuery, MemberPageRows};
use crate::domain::{DomainError, DomainResult};
use crate::storage::entity::{
    invitation_scopes, invitations, membership_grants, membership_scopes, memberships, roles, users,
};
use crate::storage::error::from_db_err;

use super::codec::{ACTIVE, DEACTIVATED, membership_status, millis, resource_type, time};

// Column aliases shared by every band, so the bands can be merged.
const RANK: &str = "list_rank";
const EMAIL: &str = "list_email";
const USER_ID: &str = "user_id";
const NAME: &str = "name";
const ROLE_ID: &str = "role_id";
const INVITATION_ROLE: &str = "invitation_role";
const ROLE: &str = "role_name";
const STATUS: &str = "status";
const OWNER_SLOT: &str = "owner_slot";
const INVITED_BY: &str = "invited_by";
const JOINED_AT: &str = "joined_at";
const LAST_SIGN_IN_AT: &str = "last_sign_in_at";
const INVITATION_ID: &str = "invitation_id";
const EXPIRES_AT: &str = "expires_at";
const INVITEE_NAME: &str = "invitee_name";
const ENDS_AT: &str = "ends_at";
const DETAIL_BYTES: &str = "detail_bytes";

/// What a row costs beyond its text and details, in bytes: its times,
/// status and flags, and the framing of its fields in the response.
const ROW_OVERHEAD: usize = 64;
/// What each scope id or grant costs beyond its own bytes: its type or its
/// framing in the response, and its place in the row's sets.
const DETAIL_OVERHEAD: i64 = 8;

/// The stored invitation state of a pending invitation.
const PENDING: &str = "pending";
/// The merged bands.
const PAGE: &str = "page";

/// Members of one band, in email order from the key. Only `memberships`:
/// joined to users and roles here, MariaDB started from `roles` and sorted
/// the whole account; the page joins them after the cut.
fn member_band(account: &AccountId, band: MemberBand, query: &MemberPageQuery) -> SelectStatement {
    use memberships::Column as M;
    let m = memberships::Entity;
    let mut select = Query::select()
        .expr_as(Expr::val(i32::from(band.rank())), RANK)
        .expr_as(Expr::col((m, M::Email)), EMAIL)
        .expr_as(Expr::col((m, M::UserId)), USER_ID)
        .expr_as(Expr::col((m, M::RoleId)), ROLE_ID)
        .expr_as(Expr::cust("NULL"), INVITATION_ROLE)
        .expr_as(Expr::col((m, M::Status)), STATUS)
        .expr_as(Expr::col((m, M::OwnerSlot)), OWNER_SLOT)
        .expr_as(Expr::col((m, M::InvitedBy)), INVITED_BY)
        .expr_as(Expr::col((m, M::JoinedAt)), JOINED_AT)
        .expr_as(Expr::col((m, M::LastSignInAt)), LAST_SIGN_IN_AT)
        .expr_as(Expr::cust("NULL"), INVITATION_ID)
        .expr_as(Expr::cust("NULL"), EXPIRES_AT)
        .expr_as(Expr::cust("NULL"), INVITEE_NAME)
        .expr_as(Expr::col((m, M::EndsAt)), ENDS_AT)
        .from(m)
        .and_where(Expr::col((m, M::AccountId)).eq(account.as_str()))
        .order_by((m, M::Email), Order::Asc)
        .limit(limit(query))
        .to_owned();
    match band {
        // The owner slot is tied to an active membership by the database.
        MemberBand::Owner => select
            .and_where(Expr::col((m, M::OwnerSlot)).is_not_null())
            .and_where(Expr::col((m, M::Status)).eq(ACTIVE)),
        MemberBand::Active => select
            .and_where(Expr::col((m, M::Status)).eq(ACTIVE))
            .and_where(Expr::col((m, M::OwnerSlot)).is_null()),
        // Invitations are read by `invitation_band`, never asked of this one.
        MemberBand::Deactivated | MemberBand::Invitations => select
            .and_where(Expr::col((m, M::Status)).eq(DEACTIVATED))
            .and_where(Expr::col((m, M::OwnerSlot)).is_null()),
    };
    // Rule 17: past its end an active membership lists as expired.
    let now = millis(query.now);
    match (band, query.status) {
        (MemberBand::Active, Some(MemberRowStatus::Active)) => {
            select.and_where(
                Expr::col((m, M::EndsAt))
                    .is_null()
                    .or(Expr::col((m, M::EndsAt)).gt(now)),
            );
        }
        (MemberBand::Active, Some(MemberRowStatus::Expired)) => {
            select.and_where(Expr::col((m, M::EndsAt)).lte(now));
        }
        _ => {}
    }
    if let Some(before) = query.ends_before {
        select
            .and_where(Expr::col((m, M::EndsAt)).gt(now))
            .and_where(Expr::col((m, M::EndsAt)).lte(millis(before)));
    }
    if let Some(after) = query.after_email(band) {
        select.and_where(Expr::col((m, M::Email)).gt(after));
    }
    if let Some(role) = &query.role {
        select.and_where(
            Expr::col((m, M::RoleId)).in_subquery(
                Query::select()
                    .column(roles::Column::Id)
                    .from(roles::Entity)
                    .and_where(Expr::col(roles::Column::Name).eq(role.as_str()))
                    .to_owned(),
            ),
        );
    }
    select
}

/// Pending invitations (expired or not, as the status filter says), in
/// email order from the key.
fn invitation_band(account: &AccountId, query: &MemberPageQuery) -> SelectStatement {
    use invitations::Column as I;
    let band = MemberBand::Invitations;
    let mut select = Query::select()
        .expr_as(Expr::val(i32::from(band.rank())), RANK)
        .expr_as(Expr::col(I::PendingEmail), EMAIL)
        .expr_as(Expr::cust("NULL"), USER_ID)
        .expr_as(Expr::cust("NULL"), ROLE_ID)
        .expr_as(Expr::col(I::RoleName), INVITATION_ROLE)
        .expr_as(Expr::col(I::State), STATUS)
        .expr_as(Expr::cust("NULL"), OWNER_SLOT)
        .expr_as(Expr::col(I::InvitedBy), INVITED_BY)
        .expr_as(Expr::cust("NULL"), JOINED_AT)
        .expr_as(Expr::cust("NULL"), LAST_SIGN_IN_AT)
        .expr_as(Expr::col(I::Id), INVITATION_ID)
        .expr_as(Expr::col(I::ExpiresAt), EXPIRES_AT)
        .expr_as(Expr::col(I::InviteeName), INVITEE_NAME)
        .expr_as(Expr::cust("NULL"), ENDS_AT)
        .from(invitations::Entity)
        .and_where(Expr::col(I::AccountId).eq(account.as_str()))
        // Set exactly while pending: the unique index's range.
        .and_where(Expr::col(I::PendingEmail).is_not_null())
        .and_where(Expr::col(I::State).eq(PENDING))
        .order_by(I::PendingEmail, Order::Asc)
        .limit(limit(query))
        .to_owned();
    let now = millis(query.now);
    match query.status {
        Some(MemberRowStatus::Pending) => {
            select.and_where(Expr::col(I::ExpiresAt).gt(now));
        }
        Some(MemberRowStatus::InvitationExpired) => {
            select.and_where(Expr::col(I::ExpiresAt).lte(now));
        }
        _ => {}
    }
    if let Some(after) = query.after_email(band) {
        select.and_where(Expr::col(I::PendingEmail).gt(after));
    }
    if let Some(role) = &query.role {
        select.and_where(Expr::col(I::RoleName).eq(role.as_str()));
    }
    select
}

fn limit(query: &MemberPageQuery) -> u64 {
    u64::try_from(query.limit).unwrap_or(u64::MAX)
}

/// The page's rows in list order, without scopes and grants.
async fn page_rows<C: ConnectionTrait>(
    c: &C,
    account: &AccountId,
    query: &MemberPageQuery,
) -> DomainResult<Vec<QueryResult>> {
    let mut bands = MemberBand::ALL
        .into_iter()
        .filter(|&band| query.reads(band))
        .map(|band| {
            let select = match band {
                MemberBand::Invitations => invitation_band(account, query),
                band @ (MemberBand::Owner | MemberBand::Active | MemberBand::Deactivated) => {
                    member_band(account, band, query)
                }
            };
            // Wrapped, since ORDER BY and LIMIT inside a UNION member need a
            // subquery on SQLite.
            Query::select()
                .column(Asterisk)
                .from_subquery(select, format!("band{}", band.rank()))
                .to_owned()
        });
    let Some(mut merged) = bands.next() else {
        return Ok(Vec::new());
    };
    for band in bands {
        merged.union(UnionType::All, band);
    }
    // The names of the page's members and roles, joined on at most one page
    // per band, and the bytes of each row's scopes and grants.
    let page = Query::select()
        .column((PAGE, Asterisk))
        .expr_as(detail_bytes(c.get_database_backend(), account), DETAIL_BYTES)
        .expr_as(Expr::col((users::Entity, users::Column::Name)), NAME)
        .expr_as(
            Expr::col((PAGE, INVITATION_ROLE)).if_null(Expr::col((roles::Entity, roles::Column::Name))),
            ROLE,
        )
        .from_subquery(merged, PAGE)
        .join(
            JoinType::LeftJoin,
            users::Entity,
            Expr::col((users::Entity, users::Column::Id)).equals((PAGE, USER_ID)),
        )
        .join(
            JoinType::LeftJoin,
            roles::Entity,
            Expr::col((roles::Entity, roles::Column::Id)).equals((PAGE, ROLE_ID)),
        )
        .order_by(RANK, Order::Asc)
        .order_by(EMAIL, Order::Asc)
        .limit(limit(query))
        .to_owned();
    c.query_all_raw(c.get_database_backend().build(&page))
        .await
        .map_err(from_db_err)
}

/// The bytes of a page row's scope ids and grants (a member's) or scope ids
/// (an invitation's), summed where they are stored: three correlated
/// subqueries on the primary keys, one row's worth each.
fn detail_bytes(backend: DbBackend, account: &AccountId) -> Expr {
    // MySQL sums integers to DECIMAL; both read back an integer.
    let integer = if backend == DbBackend::MySql {
        "SIGNED"
    } else {
        "INTEGER"
    };
    let sum = |table: &str, column: &str, owner: &str, outer: &str, by_account: bool| {
        let account = if by_account { " AND d.account_id = ?" } else { "" };
        format!(
            "COALESCE((SELECT SUM(LENGTH(d.{column}) + {DETAIL_OVERHEAD}) FROM {table} d \
             WHERE d.{owner} = {PAGE}.{outer}{account}), 0)"
        )
    };
    Expr::cust_with_values(
        format!(
            "CAST({} + {} + {} AS {integer})",
            sum("membership_scopes", "resource_id", "user_id", USER_ID, true),
            sum("membership_grants", "permission", "user_id", USER_ID, true),
            sum(
                "invitation_scopes",
                "resource_id",
                "invitation_id",
                INVITATION_ID,
                false
            ),
        ),
        [account.as_str(), account.as_str()],
    )
}

/// The bytes a page row will carry: its text, its details, its overhead.
fn row_bytes(row: &QueryResult) -> DomainResult<usize> {
    let mut bytes = ROW_OVERHEAD;
    for column in [EMAIL, NAME, ROLE, USER_ID, INVITED_BY, INVITATION_ID] {
        let text = row.try_get::<Option<String>>("", column).map_err(from_db_err)?;
        bytes += text.map_or(0, |text| text.len());
    }
    let details = row
        .try_get::<Option<i64>>("", DETAIL_BYTES)
        .map_err(from_db_err)?;
    Ok(bytes.saturating_add(details.and_then(|d| usize::try_from(d).ok()).unwrap_or(0)))
}

/// Scopes and grants of the page's members and scopes of its invitations,
/// in one statement: rows of (kind, owner, a, b, e) with kind `s` (member
/// scope), `g` (member grant a) or `i` (invitation scope), type a, id b,
/// and the end e of a member's grant or scope entry (rule 17).
async fn details<C: ConnectionTrait>(
    c: &C,
    account: &AccountId,
    users: &[String],
    invitations: &[String],
) -> DomainResult<(
    HashMap<String, Scopes>,
    HashMap<String, PermissionSet>,
    HashMap<String, Scopes>,
    HashMap<String, AccessEnds>,
)> {
    let mut parts = Vec::new();
    if !users.is_empty() {
        use membership_grants::Column as G;
        use membership_scopes::Column as S;
        parts.push(
            Query::select()
                .expr_as(Expr::val("s"), "kind")
                .expr_as(Expr::col(S::UserId), "owner")
                .expr_as(Expr::col(S::ResourceType), "a")
                .expr_as(Expr::col(S::ResourceId), "b")
                .expr_as(Expr::col(S::EndsAt), "e")
                .from(membership_scopes::Entity)
                .cond_where(
                    Condition::all()
                        .add(Expr::col(S::AccountId).eq(account.as_str()))
                        .add(Expr::col(S::UserId).is_in(users.iter().map(String::as_str))),
                )
                .to_owned(),
        );
        parts.push(
            Query::select()
                .expr_as(Expr::val("g"), "kind")
                .expr_as(Expr::col(G::UserId), "owner")
                .expr_as(Expr::col(G::Permission), "a")
                .expr_as(Expr::val(""), "b")
                .expr_as(Expr::col(G::EndsAt), "e")
                .from(membership_grants::Entity)
                .cond_where(
                    Condition::all()
                        .add(Expr::col(G::AccountId).eq(account.as_str()))
                        .add(Expr::col(G::UserId).is_in(users.iter().map(String::as_str))),
                )
                .to_owned(),
        );
    }
    if !invitations.is_empty() {
        use invitation_scopes::Column as IS;
        parts.push(
            Query::select()
                .expr_as(Expr::val("i"), "kind")
                .expr_as(Expr::col(IS::InvitationId), "owner")
                .expr_as(Expr::col(IS::ResourceType), "a")
                .expr_as(Expr::col(IS::ResourceId), "b")
                .expr_as(Expr::cust("NULL"), "e")
                .from(invitation_scopes::Entity)
                .and_where(Expr::col(IS::InvitationId).is_in(invitations.iter().map(String::as_str)))
                .to_owned(),
        );
    }
    let mut member_scopes: HashMap<String, Scopes> = HashMap::new();
    let mut grants: HashMap<String, PermissionSet> = HashMap::new();
    let mut invitation_scopes: HashMap<String, Scopes> = HashMap::new();
    let mut ends: HashMap<String, AccessEnds> = HashMap::new();
    let mut parts = parts.into_iter();
    let Some(mut query) = parts.next() else {
        return Ok((member_scopes, grants, invitation_scopes, ends));
    };
    for part in parts {
        query.union(UnionType::All, part);
    }
    for row in c
        .query_all_raw(c.get_database_backend().build(&query))
        .await
        .map_err(from_db_err)?
    {
        let get = |column: &str| row.try_get::<String>("", column).map_err(from_db_err);
        let (kind, owner, a) = (get("kind")?, get("owner")?, get("a")?);
        let end = row
            .try_get::<Option<i64>>("", "e")
            .map_err(from_db_err)?
            .map(time)
            .transpose()?;
        match kind.as_str() {
            "g" => {
                if let Some(permission) = Permission::lookup(&a) {
                    if let Some(end) = end {
                        ends.entry(owner.clone())
                            .or_default()
                            .grants
                            .push((permission, end));
                    }
                    grants.entry(owner).or_default().insert(permission);
                }
            }
            kind => {
                let scopes = if kind == "s" {
                    &mut member_scopes
                } else {
                    &mut invitation_scopes
                };
                let (resource_type, id) = (resource_type(&a)?, ResourceId::from_trusted(get("b")?));
                if let Some(end) = end {
                    let entry = (resource_type, id.clone(), end);
                    ends.entry(owner.clone()).or_default().scopes.push(entry);
                }
                scopes.entry(owner).or_default().insert(resource_type, id);
            }
        }
    }
    for ends in ends.values_mut() {
        ends.grants.sort();
        ends.scopes.sort();
    }
    Ok((member_scopes, grants, invitation_scopes, ends))
}

/// One page of the user list (see the module comment).
pub(super) async fn member_page<C: ConnectionTrait>(
    c: &C,
    account: &AccountId,
    query: &MemberPageQuery,
) -> DomainResult<MemberPageRows> {
    let mut rows = page_rows(c, account, query).await?;
    // The rows that fit the budget, the first whatever it holds (a row is
    // bounded by ACCESS_MAX_SCOPE_IDS).
    let mut bytes = 0_usize;
    let mut fit = 0;
    for row in &rows {
        bytes = bytes.saturating_add(row_bytes(row)?);
        if fit > 0 && bytes > query.max_bytes {
            break;
        }
        fit += 1;
    }
    let cut_at_budget = fit < rows.len();
    rows.truncate(fit);
    let mut user_ids = Vec::new();
    let mut invitation_ids = Vec::new();
    for row in &rows {
        let get = |column: &str| row.try_get::<Option<String>>("", column).map_err(from_db_err);
        if let Some(id) = get(INVITATION_ID)? {
            invitation_ids.push(id);
        } else if let Some(id) = get(USER_ID)? {
            user_ids.push(id);
        }
    }
    let (mut member_scopes, mut grants, mut invitation_scopes, mut member_ends) =
        details(c, account, &user_ids, &invitation_ids).await?;
    let rows = rows
        .into_iter()
        .map(|row| {
            let text = |column: &str| row.try_get::<Option<String>>("", column).map_err(from_db_err);
            let number = |column: &str| row.try_get::<Option<i64>>("", column).map_err(from_db_err);
            let email = Email::from_trusted(text(EMAIL)?.unwrap_or_default());
            let role = text(ROLE)?.unwrap_or_default();
            let invited_by = text(INVITED_BY)?.map(UserId::from_trusted);
            if let Some(invitation_id) = text(INVITATION_ID)? {
                let expires_at = number(EXPIRES_AT)?
                    .ok_or_else(|| DomainError::Internal("invitation without expiry".to_owned()))?;
                return Ok(MemberRow {
                    user_id: None,
                    // Until they accept, the name the inviter gave.
                    name: text(INVITEE_NAME)?.unwrap_or_default(),
                    email,
                    role,
                    status: if time(expires_at)? <= query.now {
                        MemberRowStatus::InvitationExpired
                    } else {
                        MemberRowStatus::Pending
                    },
                    is_owner: false,
                    scopes: invitation_scopes.remove(&invitation_id).unwrap_or_default(),
                    invited_by,
                    joined_at: None,
                    last_sign_in_at: None,
                    invitation_id: Some(InvitationId::from_trusted(invitation_id)),
                    grants: PermissionSet::EMPTY,
                    ends: AccessEnds::default(),
                });
            }
            let user_id = text(USER_ID)?.ok_or_else(|| {
                DomainError::Internal("user list row without user or invitation".to_owned())
            })?;
            let is_owner = number(OWNER_SLOT)?.is_some();
            let ends = AccessEnds {
                membership: number(ENDS_AT)?.map(time).transpose()?,
                ..member_ends.remove(&user_id).unwrap_or_default()
            };
            let status = match membership_status(&text(STATUS)?.unwrap_or_default())? {
                // Rule 17: listed as expired, not dropped, once its end has passed.
                MembershipStatus::Active if ends.membership_ended(is_owner, query.now) => {
                    MemberRowStatus::Expired
                }
                MembershipStatus::Active => MemberRowStatus::Active,
                MembershipStatus::Deactivated => MemberRowStatus::Deactivated,
            };
            let joined_at = number(JOINED_AT)?
                .ok_or_else(|| DomainError::Internal(format!("member '{user_id}' without join time")))?;
            Ok(MemberRow {
                name: text(NAME)?.unwrap_or_default(),
                email,
                role,
                status,
                is_owner,
                scopes: member_scopes.remove(&user_id).unwrap_or_default(),
                invited_by,
                joined_at: Some(time(joined_at)?),
                last_sign_in_at: number(LAST_SIGN_IN_AT)?.map(time).transpose()?,
                invitation_id: None,
                grants: grants.remove(&user_id).unwrap_or_default(),
                ends,
                user_id: Some(UserId::from_trusted(user_id)),
            })
        })
        .collect::<DomainResult<Vec<MemberRow>>>()?;
    Ok(MemberPageRows { rows, cut_at_budget })
}
