//! Rows of the decision RPCs (the `check` scope). A check that names
//! nobody or nothing is answered, not refused: it denies with the reason.

use access_service::grpc::pb;
use access_service::grpc::pb::ResourceType::{Campaign, List};

use super::fixture::long;
use super::{Fixture, Row, answers, bad, precondition};
use crate::support::check;

fn effective(user: &str, account: &str) -> pb::GetEffectivePermissionsRequest {
    pb::GetEffectivePermissionsRequest {
        user_id: user.into(),
        account_id: account.into(),
        ..Default::default()
    }
}

fn batch(checks: Vec<pb::AuthorizeRequest>) -> pb::BatchAuthorizeRequest {
    pb::BatchAuthorizeRequest {
        checks,
        consistency: None,
    }
}

/// The wire form of a consistency token (private to the server; forged here).
#[derive(Clone, PartialEq, prost::Message)]
struct TokenPb {
    #[prost(message, repeated, tag = "1")]
    revisions: Vec<RevisionPb>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct RevisionPb {
    #[prost(string, tag = "1")]
    account_id: String,
    #[prost(uint64, tag = "2")]
    revision: u64,
}

/// A well-formed token naming a revision of acme it will not reach for ages.
pub(super) fn forged_ahead() -> String {
    use base64::Engine;
    use prost::Message;
    let token = TokenPb {
        revisions: vec![RevisionPb {
            account_id: "acme".into(),
            revision: 1 << 40,
        }],
    };
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(token.encode_to_vec())
}

pub(super) fn fresher_than(token: &str) -> Option<pb::Consistency> {
    Some(pb::Consistency {
        requirement: Some(pb::consistency::Requirement::AtLeastAsFresh(token.into())),
    })
}

pub(super) fn rows(_fx: &Fixture) -> Vec<Row> {
    let viewer = check("viewer", "acme", "campaigns.view", None);
    vec![
        Row::new("Authorize", viewer.clone())
            .case(
                "empty",
                pb::AuthorizeRequest::default(),
                bad(&["user_id", "account_id", "permission"]),
            )
            .case(
                "an unknown permission",
                check("viewer", "acme", "campaigns.fly", None),
                bad(&["permission"]),
            )
            .case(
                "an oversized permission",
                check("viewer", "acme", &long(100_000), None),
                bad(&["permission"]),
            )
            .case(
                "an oversized user id",
                check(&long(129), "acme", "campaigns.view", None),
                bad(&["user_id"]),
            )
            .case(
                "a permission of another area than the resource",
                check("lead", "acme", "lists.edit", Some((Campaign, "4"))),
                bad(&["resource.type"]),
            )
            .case(
                "a resource of an unknown type",
                pb::AuthorizeRequest {
                    resource: Some(pb::Resource {
                        r#type: 99,
                        id: "4".into(),
                    }),
                    ..viewer.clone()
                },
                bad(&["resource.type"]),
            )
            .case(
                "a resource without an id",
                check("lead", "acme", "lists.edit", Some((List, ""))),
                bad(&["resource.id"]),
            )
            .case(
                "a garbage consistency token",
                pb::AuthorizeRequest {
                    consistency: fresher_than("garbage"),
                    ..viewer.clone()
                },
                bad(&["consistency.at_least_as_fresh"]),
            )
            .case(
                "a forged consistency token ahead of the database",
                pb::AuthorizeRequest {
                    consistency: fresher_than(&forged_ahead()),
                    ..viewer.clone()
                },
                precondition("CONSISTENCY_TOKEN_AHEAD"),
            )
            .read::<_, pb::AuthorizeResponse>(
                "an unknown account",
                check("viewer", "nope", "campaigns.view", None),
                answers("reason: AccountNotFound"),
            )
            .read::<_, pb::AuthorizeResponse>(
                "another account's member",
                check("ostaff", "acme", "campaigns.view", None),
                answers("reason: NotAMember"),
            )
            .read::<_, pb::AuthorizeResponse>(
                "a scoped member outside the scope",
                check("lead", "acme", "lists.edit", Some((List, "5"))),
                answers("reason: OutOfScope"),
            ),
        Row::new("BatchAuthorize", batch(vec![viewer.clone()]))
            .case("empty", pb::BatchAuthorizeRequest::default(), bad(&["checks"]))
            .case(
                "more checks than allowed",
                batch(vec![viewer.clone(); 129]),
                bad(&["checks"]),
            )
            .case(
                "one malformed check among good ones",
                batch(vec![viewer.clone(), check("viewer", "acme", "nope", None)]),
                bad(&["checks[1].permission"]),
            )
            .case(
                "a consistency inside a check",
                batch(vec![pb::AuthorizeRequest {
                    consistency: fresher_than("garbage"),
                    ..viewer.clone()
                }]),
                bad(&["checks[0].consistency"]),
            )
            .read::<_, pb::BatchAuthorizeResponse>(
                "another account's member",
                batch(vec![check("ostaff", "acme", "campaigns.view", None)]),
                answers("reason: NotAMember"),
            ),
        Row::new("GetEffectivePermissions", effective("viewer", "acme"))
            .case(
                "empty",
                pb::GetEffectivePermissionsRequest::default(),
                bad(&["user_id", "account_id"]),
            )
            .case(
                "an oversized account id",
                effective("viewer", &long(129)),
                bad(&["account_id"]),
            )
            .read::<_, pb::GetEffectivePermissionsResponse>(
                "an unknown account",
                effective("viewer", "nope"),
                answers("reason: AccountNotFound"),
            )
            .case(
                "a garbage consistency token",
                pb::GetEffectivePermissionsRequest {
                    consistency: fresher_than("garbage"),
                    ..effective("viewer", "acme")
                },
                bad(&["consistency.at_least_as_fresh"]),
            )
            .read::<_, pb::GetEffectivePermissionsResponse>(
                "another account's member",
                effective("ostaff", "acme"),
                answers("reason: NotAMember"),
            ),
    ]
}
