//! The row of WatchChanges (server-streaming: a refusal ends the call before
//! any change is sent): scopes named twice or not at all, positions of no
//! change, watchers without users.view, a team watched by anyone but its
//! owner, every account watched without the platform scope.

use access_service::grpc::pb;

use super::fixture::long;
use super::{Fixture, Row, bad, denied, lacks, missing, precondition};

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
            ),
    ]
}
