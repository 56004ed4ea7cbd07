//! The checks BatchAuthorize asks, grouped by (user, account) pair: several
//! permissions or resources per pair, alternating allowed and denied, as a
//! UI page asks about several members at once.

use access_service::domain::permissions::{Permission, PermissionSet};
use access_service::grpc::pb;

use crate::plan::Key;

/// Allowed (and as many denied) checks each (user, account) pair offers
/// BatchAuthorize: enough for a batch of 100 over 10 pairs without repeats.
pub const CHECKS_PER_PAIR: usize = 8;

/// The catalogue split into what `granted` allows and what it does not.
pub fn split(granted: PermissionSet) -> (Vec<Permission>, Vec<Permission>) {
    Permission::all().partition(|p| granted.contains(*p))
}

/// Up to [`CHECKS_PER_PAIR`] allowed and as many denied checks of one pair,
/// without a resource, interleaved; `rotate` varies which permissions each
/// pair asks about.
pub fn plain_checks(
    user: &str,
    account: &str,
    allowed: &[Permission],
    denied: &[Permission],
    rotate: usize,
) -> Vec<Key> {
    let pick = |permissions: &[Permission], answer: bool| -> Vec<Key> {
        let len = permissions.len();
        (0..len.min(CHECKS_PER_PAIR))
            .map(|c| Key {
                request: pb::AuthorizeRequest {
                    user_id: user.to_owned(),
                    account_id: account.to_owned(),
                    permission: permissions[(rotate + c) % len].name().to_owned(),
                    resource: None,
                    context: None,
                    consistency: None,
                },
                allowed: answer,
            })
            .collect()
    };
    interleave(pick(allowed, true), pick(denied, false))
}

/// The checks of a list manager scoped to lists `l{i}-1` and `l{i}-2` of
/// account i: list permissions on lists inside its scope (allowed) and
/// outside it (denied).
pub fn scoped_list_checks(user: &str, account: &str, i: usize) -> Vec<Key> {
    let check = |permission: &str, list: usize, allowed: bool| Key {
        request: pb::AuthorizeRequest {
            user_id: user.to_owned(),
            account_id: account.to_owned(),
            permission: permission.to_owned(),
            resource: Some(pb::Resource {
                r#type: pb::ResourceType::List as i32,
                id: format!("l{i}-{list}"),
            }),
            context: None,
            consistency: None,
        },
        allowed,
    };
    let mut checks = Vec::new();
    for permission in ["lists.view", "lists.edit", "lists.import", "lists.export"] {
        checks.push(check(permission, 1, true));
        checks.push(check(permission, 9, false));
        checks.push(check(permission, 2, true));
        checks.push(check(permission, 8, false));
    }
    checks
}

/// a0, d0, a1, d1, …, then whatever the longer list has left.
fn interleave(allowed: Vec<Key>, denied: Vec<Key>) -> Vec<Key> {
    let mut out = Vec::with_capacity(allowed.len() + denied.len());
    let mut allowed = allowed.into_iter();
    let mut denied = denied.into_iter();
    loop {
        match (allowed.next(), denied.next()) {
            (None, None) => return out,
            (a, d) => out.extend(a.into_iter().chain(d)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pair_alternates_allowed_and_denied_up_to_the_cap() {
        let (allowed, denied) = split(PermissionSet::of(&[Permission::REPORTS_VIEW]).with_implicit());
        let checks = plain_checks("u", "a", &allowed, &denied, 3);
        // Two allowed (reports.view and the implicit account.view), then denied ones.
        let answers: Vec<bool> = checks.iter().map(|key| key.allowed).collect();
        assert_eq!(answers[..4], [true, false, true, false]);
        assert_eq!(checks.len(), 2 + CHECKS_PER_PAIR);
        assert!(
            checks
                .iter()
                .all(|key| key.request.user_id == "u" && key.request.account_id == "a")
        );
        let scoped = scoped_list_checks("u", "a", 4);
        assert_eq!(scoped.iter().filter(|key| key.allowed).count(), scoped.len() / 2);
    }
}
