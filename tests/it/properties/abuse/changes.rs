//! The row of WatchChanges (server-streaming: a refusal ends the call before
//! any change is sent): scopes named twice or not at all, positions of no
//! change, watchers without users.view, a team watched by anyone but its
//! owner, every account watched without the platform scope, a watch past
//! the caps on open watches.

use access_service::grpc::pb;

use super::fixture::long;
use super::{Fixture, Row, bad, denied, exhausted, lacks, missing, precondition};
use crate::support::{OLD_WEB_KEY, WEB_KEY};

/// The catalogue's server holds at most this many watches open...
pub(super) const MAX_OPEN: usize = 4;
/// ...and this many of one caller.
pub(super) const MAX_OPEN_PER_CALLER: usize = 2;

// The two callers the server-wide case holds fill it.
const _: () = assert!(MAX_OPEN == 2 * MAX_OPEN_PER_CALLER);

/// A third caller holding the read scope (and check and platform).
const THIRD_READER: &str = "no-write-secret-long-enough-for-tests";

fn watch(actor: &str, account: &str) -> pb::WatchChangesRequest {
    pb::WatchChangesRequest {
        actor_user_id: actor.into(),
        account_id: account.into(),
        ..Default::default()
    }
}

fn watch_team(actor: &str, parent: &str) -> pb::WatchChangesRequest {
    pb::WatchChangesRequest {
        actor_user_id: actor.into(),
        team_account_id: parent.into(),
        ..Default::default()
    }
}

fn watch_all(actor: &str) -> pb::WatchChangesRequest {
    pb::WatchChangesRequest {
        actor_user_id: actor.into(),
        all_accounts: true,
        ..Default::default()
    }
}

pub(super) fn rows(_fx: &Fixture) -> Vec<Row> {
    vec![
        Row::streaming("WatchChanges", watch("owner", "acme"))
            .case(
                "empty",
                pb::WatchChangesRequest::default(),
                bad(&["account_id", "actor_user_id"]),
            )
            .case(
                "two scopes",
                pb::WatchChangesRequest {
                    team_account_id: "team".into(),
                    ..watch("owner", "acme")
                },
                bad(&["account_id"]),
            )
            .case(
                "a revision to resume a team from",
                pb::WatchChangesRequest {
                    after_revision: 3,
                    ..watch_team("boss", "team")
                },
                bad(&["after_revision"]),
            )
            .case(
                "an oversized account id",
                watch("owner", &long(129)),
                bad(&["account_id"]),
            )
            .case(
                "an actor with spaces around it",
                watch(" owner", "acme"),
                bad(&["actor_user_id"]),
            )
            .case(
                "a position that is no change",
                pb::WatchChangesRequest {
                    after_id: "nope".into(),
                    ..watch("owner", "acme")
                },
                bad(&["after_id"]),
            )
            .case("an unknown account", watch("owner", "nope"), missing("account"))
            .case(
                "another account's",
                watch("owner", "other"),
                denied("NOT_A_MEMBER"),
            )
            .case(
                "escalation: a viewer (no users.view)",
                watch("viewer", "acme"),
                lacks(),
            )
            .case(
                "as a deactivated member",
                watch("deact", "acme"),
                denied("MEMBERSHIP_INACTIVE"),
            )
            .case(
                "a closed account",
                watch("shutter", "shut"),
                precondition("ACCOUNT_CLOSED"),
            )
            .case(
                "a team by an admin, not its owner",
                watch_team("admin", "acme"),
                denied("TEAM_OWNER_ONLY"),
            )
            .case(
                "a team by a stranger",
                watch_team("owner", "team"),
                denied("NOT_A_MEMBER"),
            )
            // The catalogue's key for an admin RPC holds no platform scope.
            .case(
                "every account, as a member",
                watch_all("owner"),
                denied("SCOPE_MISSING"),
            )
            .case(
                "every account, no actor, without the platform scope",
                watch_all(""),
                denied("SCOPE_MISSING"),
            )
            .holding(
                WEB_KEY,
                "a watch past its caller's cap on open watches",
                &[(WEB_KEY, MAX_OPEN_PER_CALLER)],
                watch("owner", "acme"),
                exhausted("CALLER_WATCH_LIMIT"),
            )
            .holding(
                THIRD_READER,
                "a watch past the server's cap on open watches",
                &[(WEB_KEY, MAX_OPEN_PER_CALLER), (OLD_WEB_KEY, MAX_OPEN_PER_CALLER)],
                watch("owner", "acme"),
                exhausted("WATCH_LIMIT_REACHED"),
            ),
    ]
}
