//! Revision tokens (docs/domain.md rule 11): every write answers the
//! revisions it made as `consistency_token`, and a check that passes it back
//! as `at_least_as_fresh` is answered from state at least that new.
//!
//! The writes are sent with the raw client on purpose: the TestApp methods
//! return the payload alone, and these tests need the response's token.

use access_service::domain::ids::AccountId;
use access_service::grpc::convert::token_from_pb;
use access_service::grpc::pb;
use access_service::grpc::pb::access_service_client::AccessServiceClient;
use access_service::{App, Config};
use pb::DecisionReason as R;
use pb::ResourceType::Template;
use pb::consistency::Requirement;
use tokio::sync::oneshot;
use tonic::Code;
use tonic::transport::Channel;

use crate::support::{
    TestApp, bad_fields, check, connect, create_account, create_child, error_reason, expect_code, person,
    reason, share,
};

/// The revision a token names for `account` (decoded by the service's own
/// decoder: the format stays the service's business).
#[track_caller]
fn revision(token: &str, account: &str) -> Option<u64> {
    token_from_pb("token", token)
        .unwrap_or_else(|err| panic!("{token:?} is not a token: {err:?}"))
        .revision_of(&AccountId::from_trusted(account.to_owned()))
}

fn at_least_as_fresh(token: &str) -> Option<pb::Consistency> {
    Some(pb::Consistency {
        requirement: Some(Requirement::AtLeastAsFresh(token.to_owned())),
    })
}

fn fully_consistent() -> Option<pb::Consistency> {
    Some(pb::Consistency {
        requirement: Some(Requirement::FullyConsistent(true)),
    })
}

/// Authorize with a freshness requirement.
async fn check_with(
    app: &TestApp,
    user: &str,
    account: &str,
    permission: &str,
    consistency: Option<pb::Consistency>,
) -> pb::AuthorizeResponse {
    app.check_request(pb::AuthorizeRequest {
        consistency,
        ..check(user, account, permission, None)
    })
    .await
}

/// The account's current revisions, straight from the database.
async fn current(app: &TestApp, account: &str) -> String {
    check_with(app, "owner", account, "account.view", fully_consistent())
        .await
        .computed_at
}

/// Every write RPC, in an order in which each can run on account "acme".
#[derive(Clone, Copy, Debug)]
enum Write {
    CreateAccount,
    UpdateAccountPolicy,
    SetAccountLimits,
    Invite,
    ResendInvitation,
    UpdateInvitation,
    AcceptInvitation,
    RevokeInvitation,
    DeclineInvitation,
    UpdateMember,
    DeactivateMember,
    ReactivateMember,
    RecordSignIn,
    RequestAccess,
    DecideAccessRequest,
    CreateRole,
    UpdateRole,
    DeleteRole,
    RemoveMember,
    LeaveAccount,
    ShareTemplate,
    UnshareTemplate,
    TransferOwnership,
    CloseAccount,
}

const WRITES: &[Write] = &[
    Write::CreateAccount,
    Write::UpdateAccountPolicy,
    Write::SetAccountLimits,
    Write::Invite,
    Write::ResendInvitation,
    Write::UpdateInvitation,
    Write::AcceptInvitation,
    Write::RevokeInvitation,
    Write::DeclineInvitation,
    Write::UpdateMember,
    Write::DeactivateMember,
    Write::ReactivateMember,
    Write::RecordSignIn,
    Write::RequestAccess,
    Write::DecideAccessRequest,
    Write::CreateRole,
    Write::UpdateRole,
    Write::DeleteRole,
    Write::RemoveMember,
    Write::LeaveAccount,
    Write::ShareTemplate,
    Write::UnshareTemplate,
    Write::TransferOwnership,
    Write::CloseAccount,
];

/// What one write leaves for the next ones.
#[derive(Default)]
struct Scene {
    /// Ann's invitation and its current secret.
    ann_invitation: String,
    ann_secret: String,
    /// Dan's access request.
    request: String,
}

/// Runs one write on "acme" (with any setup it needs, whose tokens are not
/// looked at) and returns the write's consistency_token.
async fn perform(app: &TestApp, scene: &mut Scene, write: Write) -> String {
    let mut client = app.client.clone();
    let acme = || "acme".to_owned();
    let owner = || "owner".to_owned();
    match write {
        Write::CreateAccount => {
            let response = client
                .create_account(create_account("acme", person("owner")))
                .await
                .expect("account created")
                .into_inner();
            assert!(response.created);
            response.consistency_token
        }
        Write::UpdateAccountPolicy => {
            let policy = |on| pb::UpdateAccountPolicyRequest {
                actor_user_id: owner(),
                account_id: acme(),
                require_two_factor: on,
            };
            client
                .update_account_policy(policy(true))
                .await
                .expect("policy turned on");
            // The write looked at turns it off again, so the later writes'
            // actors need no two-factor session (rule 3): that takes one.
            let mut off = tonic::Request::new(policy(false));
            off.metadata_mut()
                .insert("x-actor-mfa-verified", "true".parse().expect("ascii"));
            client
                .update_account_policy(off)
                .await
                .expect("policy turned off by a two-factor session")
                .into_inner()
                .consistency_token
        }
        Write::SetAccountLimits => {
            client
                .set_account_limits(pb::SetAccountLimitsRequest {
                    account_id: acme(),
                    max_members: Some(50),
                    max_restricted_members: None,
                })
                .await
                .expect("limits set")
                .into_inner()
                .consistency_token
        }
        Write::Invite => {
            let response = app
                .invite("owner", "acme", "ann", "admin", vec![])
                .await
                .expect("ann invited");
            scene.ann_invitation = response.invitation.expect("invitation returned").id;
            scene.ann_secret = response.token;
            response.consistency_token
        }
        Write::ResendInvitation => {
            let response = client
                .resend_invitation(pb::ResendInvitationRequest {
                    actor_user_id: owner(),
                    invitation_id: scene.ann_invitation.clone(),
                })
                .await
                .expect("invitation resent")
                .into_inner();
            scene.ann_secret = response.token;
            response.consistency_token
        }
        Write::UpdateInvitation => {
            client
                .update_invitation(pb::UpdateInvitationRequest {
                    actor_user_id: owner(),
                    invitation_id: scene.ann_invitation.clone(),
                    role: "account_manager".into(),
                    scopes: None,
                })
                .await
                .expect("invitation updated")
                .into_inner()
                .consistency_token
        }
        Write::AcceptInvitation => {
            app.accept(&scene.ann_secret, "ann")
                .await
                .expect("ann accepts")
                .consistency_token
        }
        Write::RevokeInvitation => {
            let (invitation, _) = app.invited("acme", "bob", "viewer").await;
            client
                .revoke_invitation(pb::RevokeInvitationRequest {
                    actor_user_id: owner(),
                    invitation_id: invitation.id,
                })
                .await
                .expect("invitation revoked")
                .into_inner()
                .consistency_token
        }
        Write::DeclineInvitation => {
            let (_, secret) = app.invited("acme", "cat", "viewer").await;
            client
                .decline_invitation(pb::DeclineInvitationRequest { token: secret })
                .await
                .expect("invitation declined")
                .into_inner()
                .consistency_token
        }
        Write::UpdateMember => {
            app.member("owner", "acme", "dan", "viewer", vec![]).await;
            client
                .update_member(pb::UpdateMemberRequest {
                    actor_user_id: owner(),
                    account_id: acme(),
                    user_id: "dan".into(),
                    extra_permissions: Some(pb::PermissionList {
                        permissions: vec!["reports.export".into()],
                    }),
                    ..Default::default()
                })
                .await
                .expect("member updated")
                .into_inner()
                .consistency_token
        }
        Write::DeactivateMember => {
            client
                .deactivate_member(pb::DeactivateMemberRequest {
                    actor_user_id: owner(),
                    account_id: acme(),
                    user_id: "dan".into(),
                })
                .await
                .expect("dan deactivated")
                .into_inner()
                .consistency_token
        }
        Write::ReactivateMember => {
            client
                .reactivate_member(pb::ReactivateMemberRequest {
                    actor_user_id: owner(),
                    account_id: acme(),
                    user_id: "dan".into(),
                })
                .await
                .expect("dan reactivated")
                .into_inner()
                .consistency_token
        }
        Write::RecordSignIn => {
            client
                .record_sign_in(pb::RecordSignInRequest {
                    user_id: "dan".into(),
                    account_id: acme(),
                })
                .await
                .expect("sign-in recorded")
                .into_inner()
                .consistency_token
        }
        Write::RequestAccess => {
            let response = client
                .request_access(pb::RequestAccessRequest {
                    user_id: "dan".into(),
                    account_id: acme(),
                    permission: "campaigns.send".into(),
                    note: "launch day".into(),
                })
                .await
                .expect("access requested")
                .into_inner();
            scene.request = response.access_request.expect("request returned").id;
            response.consistency_token
        }
        Write::DecideAccessRequest => {
            client
                .decide_access_request(pb::DecideAccessRequestRequest {
                    actor_user_id: owner(),
                    access_request_id: scene.request.clone(),
                    approve: true,
                    grant_end: None,
                })
                .await
                .expect("request approved")
                .into_inner()
                .consistency_token
        }
        Write::CreateRole => {
            client
                .create_role(pb::CreateRoleRequest {
                    actor_user_id: owner(),
                    account_id: acme(),
                    name: "reporter".into(),
                    description: "Reads reports".into(),
                    permissions: vec!["reports.view".into()],
                })
                .await
                .expect("role created")
                .into_inner()
                .consistency_token
        }
        Write::UpdateRole => {
            client
                .update_role(pb::UpdateRoleRequest {
                    actor_user_id: owner(),
                    account_id: acme(),
                    name: "reporter".into(),
                    description: "Reads and exports reports".into(),
                    permissions: Some(pb::PermissionList {
                        permissions: vec!["reports.view".into(), "reports.export".into()],
                    }),
                })
                .await
                .expect("role updated")
                .into_inner()
                .consistency_token
        }
        Write::DeleteRole => {
            client
                .delete_role(pb::DeleteRoleRequest {
                    actor_user_id: owner(),
                    account_id: acme(),
                    name: "reporter".into(),
                })
                .await
                .expect("role deleted")
                .into_inner()
                .consistency_token
        }
        Write::RemoveMember => {
            app.remove("owner", "acme", "dan")
                .await
                .expect("dan removed")
                .consistency_token
        }
        Write::LeaveAccount => {
            app.member("owner", "acme", "eve", "viewer", vec![]).await;
            client
                .leave_account(pb::LeaveAccountRequest {
                    user_id: "eve".into(),
                    account_id: acme(),
                })
                .await
                .expect("eve leaves")
                .into_inner()
                .consistency_token
        }
        Write::ShareTemplate => {
            app.child_account("acme-eu", "eu-owner", "acme", "owner").await;
            client
                .share_template(share("owner", "acme", "tpl-1", &[]))
                .await
                .expect("template shared")
                .into_inner()
                .consistency_token
        }
        Write::UnshareTemplate => {
            client
                .unshare_template(pb::UnshareTemplateRequest {
                    actor_user_id: owner(),
                    account_id: acme(),
                    template_id: "tpl-1".into(),
                })
                .await
                .expect("template unshared")
                .into_inner()
                .consistency_token
        }
        Write::TransferOwnership => {
            client
                .transfer_ownership(pb::TransferOwnershipRequest {
                    actor_user_id: owner(),
                    account_id: acme(),
                    new_owner_user_id: "ann".into(),
                })
                .await
                .expect("ownership transferred")
                .into_inner()
                .consistency_token
        }
        Write::CloseAccount => {
            client
                .close_account(pb::CloseAccountRequest {
                    actor_user_id: "ann".into(),
                    account_id: acme(),
                })
                .await
                .expect("account closed")
                .into_inner()
                .consistency_token
        }
    }
}

async fn every_write_returns_a_token_of_a_newer_revision(app: TestApp) {
    let mut scene = Scene::default();
    let mut previous: Option<(Write, String, u64)> = None;
    for &write in WRITES {
        let token = perform(&app, &mut scene, write).await;
        assert!(!token.is_empty(), "{write:?} returned no consistency_token");
        let now = revision(&token, "acme").unwrap_or_else(|| panic!("{write:?}: token names no acme"));
        if let Some((before, before_token, then)) = &previous {
            assert_ne!(&token, before_token, "{write:?} returned the token of {before:?}");
            assert!(
                now > *then,
                "{write:?} made revision {now} of acme, not newer than {before:?}'s {then}"
            );
        }
        previous = Some((write, token, now));
    }
    // The last write's token is the state the database is at now.
    let (_, last, _) = previous.expect("writes ran");
    assert_eq!(current(&app, "acme").await, last);
}

async fn calls_that_change_nothing_return_an_empty_token(app: TestApp) {
    let mut client = app.client.clone();
    let created = client
        .create_account(create_account("acme", person("owner")))
        .await
        .expect("account created")
        .into_inner();
    assert!(created.created);
    let born = revision(&created.consistency_token, "acme").expect("the token names acme");
    let retry = client
        .create_account(create_account("acme", person("owner")))
        .await
        .expect("the retry is idempotent")
        .into_inner();
    assert!(!retry.created);
    assert_eq!(retry.consistency_token, "", "a retry changes nothing");
    assert_eq!(current(&app, "acme").await, created.consistency_token);

    // A child account names its parent's revision too: creating it locked the parent.
    let child = client
        .create_account(create_child("acme-eu", "eu-owner", "acme", "owner"))
        .await
        .expect("child created")
        .into_inner();
    assert!(revision(&child.consistency_token, "acme-eu").is_some());
    assert_eq!(revision(&child.consistency_token, "acme"), Some(born + 1));
    let child_retry = client
        .create_account(create_child("acme-eu", "eu-owner", "acme", "owner"))
        .await
        .expect("the retry is idempotent")
        .into_inner();
    assert_eq!(child_retry.consistency_token, "");

    // Inviting an address with a live pending invitation returns it as it is.
    let invited = app
        .invite("owner", "acme", "ann", "viewer", vec![])
        .await
        .expect("invited");
    assert!(!invited.consistency_token.is_empty());
    let before = current(&app, "acme").await;
    let again = app
        .invite("owner", "acme", "ann", "viewer", vec![])
        .await
        .expect("invited again");
    assert_eq!(
        again.invitation.as_ref().map(|i| &i.id),
        invited.invitation.as_ref().map(|i| &i.id)
    );
    assert_eq!((again.token.as_str(), again.consistency_token.as_str()), ("", ""));
    assert_eq!(
        current(&app, "acme").await,
        before,
        "no revision for a call that changed nothing"
    );

    // Deactivating a deactivated member (which still reaches every replica),
    // asking again for a pending request (which changes nothing).
    app.member("owner", "acme", "dan", "viewer", vec![]).await;
    app.member("owner", "acme", "vic", "viewer", vec![]).await;
    let first = app.deactivate("owner", "acme", "dan").await.expect("deactivated");
    assert_eq!(first.status, pb::MemberStatus::Deactivated as i32);
    let deactivate_dan = || pb::DeactivateMemberRequest {
        actor_user_id: "owner".into(),
        account_id: "acme".into(),
        user_id: "dan".into(),
    };
    let vic_asks = || pb::RequestAccessRequest {
        user_id: "vic".into(),
        account_id: "acme".into(),
        permission: "campaigns.send".into(),
        note: String::new(),
    };
    let filed = client
        .request_access(vic_asks())
        .await
        .expect("filed")
        .into_inner();
    assert!(!filed.consistency_token.is_empty());
    let before = current(&app, "acme").await;
    let twice = client
        .deactivate_member(deactivate_dan())
        .await
        .expect("already deactivated")
        .into_inner();
    // A repeated deactivation changes nothing, but returns only once every
    // replica is at least as new as the first one: it carries a newer token.
    let twice_at = revision(&twice.consistency_token, "acme").expect("a repeat carries a token");
    assert!(twice_at > revision(&before, "acme").expect("acme's revision"));
    let before = current(&app, "acme").await;
    let refiled = client
        .request_access(vic_asks())
        .await
        .expect("the pending request")
        .into_inner();
    assert_eq!(refiled.access_request, filed.access_request);
    assert_eq!(refiled.consistency_token, "");
    assert_eq!(current(&app, "acme").await, before);
}

async fn checks_at_least_as_fresh_as_a_write_see_it(app: TestApp) {
    app.account("acme", "owner").await;
    app.member("owner", "acme", "dan", "viewer", vec![]).await;
    app.member("owner", "acme", "eve", "manager", vec![]).await;
    // Answered before the writes, so the cache holds the old answers.
    assert!(app.check("dan", "acme", "reports.view").await.allowed);
    assert!(app.check("eve", "acme", "campaigns.send").await.allowed);

    let removed = app
        .remove("owner", "acme", "dan")
        .await
        .expect("dan removed")
        .consistency_token;
    assert!(!removed.is_empty());
    for (how, consistency) in [
        ("at_least_as_fresh", at_least_as_fresh(&removed)),
        ("fully_consistent", fully_consistent()),
    ] {
        let answer = check_with(&app, "dan", "acme", "reports.view", consistency).await;
        assert_eq!((answer.allowed, reason(&answer)), (false, R::NotAMember), "{how}");
        assert_eq!(answer.computed_at, removed, "{how}: answered as of the removal");
    }

    let demoted = app
        .client
        .clone()
        .update_member(pb::UpdateMemberRequest {
            actor_user_id: "owner".into(),
            account_id: "acme".into(),
            user_id: "eve".into(),
            role: "viewer".into(),
            ..Default::default()
        })
        .await
        .expect("eve demoted")
        .into_inner()
        .consistency_token;
    assert!(revision(&demoted, "acme") > revision(&removed, "acme"));
    for (how, consistency) in [
        ("at_least_as_fresh", at_least_as_fresh(&demoted)),
        ("fully_consistent", fully_consistent()),
    ] {
        let answer = check_with(&app, "eve", "acme", "campaigns.send", consistency.clone()).await;
        assert_eq!(
            (answer.allowed, reason(&answer), answer.role.as_str()),
            (false, R::PermissionNotGranted, "viewer"),
            "{how}"
        );
        assert_eq!(answer.computed_at, demoted, "{how}");
        // An older token is satisfied by newer state: still the demoted answer.
        let effective = app
            .client
            .clone()
            .get_effective_permissions(pb::GetEffectivePermissionsRequest {
                user_id: "eve".into(),
                account_id: "acme".into(),
                context: None,
                consistency,
            })
            .await
            .expect("effective permissions")
            .into_inner();
        assert_eq!(effective.role, "viewer", "{how}");
        assert!(
            !effective.permissions.contains(&"campaigns.send".to_owned()),
            "{how}"
        );
        assert_eq!(effective.computed_at, demoted, "{how}");
    }
    let older = check_with(&app, "eve", "acme", "campaigns.send", at_least_as_fresh(&removed)).await;
    assert_eq!((older.allowed, older.computed_at), (false, demoted.clone()));

    let batch = app
        .client
        .clone()
        .batch_authorize(pb::BatchAuthorizeRequest {
            checks: vec![
                check("dan", "acme", "reports.view", None),
                check("eve", "acme", "campaigns.send", None),
                check("eve", "acme", "reports.view", None),
            ],
            consistency: at_least_as_fresh(&demoted),
        })
        .await
        .expect("batch answers")
        .into_inner()
        .results;
    let got: Vec<_> = batch
        .iter()
        .map(|a| (a.allowed, reason(a), a.computed_at.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (false, R::NotAMember, demoted.as_str()),
            (false, R::PermissionNotGranted, demoted.as_str()),
            (true, R::Allowed, demoted.as_str()),
        ]
    );
}

async fn a_parents_token_reaches_its_children(app: TestApp) {
    app.team(&["a"]).await;
    let edit_in_child = |consistency| {
        app.check_request(pb::AuthorizeRequest {
            resource: Some(pb::Resource {
                r#type: Template.into(),
                id: "tpl-1".into(),
            }),
            consistency,
            ..check("owner-a", "child-a", "templates.edit", None)
        })
    };
    let before = edit_in_child(None).await;
    assert!(
        before.allowed,
        "the child's own template until the parent shares one"
    );
    let shared = app
        .client
        .clone()
        .share_template(share("boss", "team", "tpl-1", &[]))
        .await
        .expect("shared")
        .into_inner()
        .consistency_token;
    assert!(revision(&shared, "team").is_some());
    assert_eq!(
        revision(&shared, "child-a"),
        None,
        "the write locked the parent alone"
    );
    let after = edit_in_child(at_least_as_fresh(&shared)).await;
    assert_eq!(
        (after.allowed, reason(&after)),
        (false, R::SharedTemplateReadOnly)
    );
    assert_eq!(revision(&after.computed_at, "team"), revision(&shared, "team"));
    assert_eq!(
        revision(&after.computed_at, "child-a"),
        revision(&before.computed_at, "child-a"),
        "the child itself did not change"
    );
}

/// A second server on the same database and without Redis: nothing tells
/// its in-process cache about the first server's writes (a setup the service
/// does not support for serving, used here to show what a token adds).
struct Replica {
    client: AccessServiceClient<Channel>,
    _stop: oneshot::Sender<()>,
}

impl Replica {
    async fn start(app: &TestApp) -> Self {
        let config = Config {
            listen_addr: "127.0.0.1:0".parse().expect("loopback address"),
            database_url: app.database_url().to_owned(),
            db_max_connections: 4,
            ..Config::default()
        };
        let replica = App::build(config).await.expect("replica builds");
        let addr = replica.local_addr().expect("bound address");
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(replica.run_until_stopped(async {
            let _ = stopped.await;
        }));
        Self {
            client: AccessServiceClient::new(connect(addr).await),
            _stop: stop,
        }
    }

    async fn check(&self, user: &str, consistency: Option<pb::Consistency>) -> pb::AuthorizeResponse {
        self.client
            .clone()
            .authorize(pb::AuthorizeRequest {
                consistency,
                ..check(user, "acme", "reports.view", None)
            })
            .await
            .expect("the replica answers")
            .into_inner()
    }
}

async fn a_token_is_honoured_where_the_cache_was_not_told(app: TestApp) {
    app.account("acme", "owner").await;
    app.member("owner", "acme", "dan", "viewer", vec![]).await;
    let replica = Replica::start(&app).await;
    assert!(replica.check("dan", None).await.allowed, "cached by the replica");
    let removed = app
        .remove("owner", "acme", "dan")
        .await
        .expect("dan removed")
        .consistency_token;
    // The premise: the replica's cache still holds the answer from before.
    assert!(
        replica.check("dan", None).await.allowed,
        "the replica was not told"
    );
    let fresh = replica.check("dan", at_least_as_fresh(&removed)).await;
    assert_eq!(
        (fresh.allowed, reason(&fresh), fresh.computed_at.as_str()),
        (false, R::NotAMember, removed.as_str())
    );
    // The fresh read replaced the stale entry.
    assert!(!replica.check("dan", None).await.allowed);
}

async fn bad_requirements_name_their_fields(app: TestApp) {
    app.account("acme", "owner").await;
    let mut client = app.client.clone();
    // A token this service never issued, one that names no account, one of another encoding.
    for garbage in ["not a token!", "Zm9vYmFy", "%%%"] {
        let status = expect_code(
            client
                .authorize(pb::AuthorizeRequest {
                    consistency: at_least_as_fresh(garbage),
                    ..check("owner", "acme", "account.view", None)
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(
            bad_fields(&status),
            ["consistency.at_least_as_fresh"],
            "{garbage:?}"
        );
        let status = expect_code(
            client
                .get_effective_permissions(pb::GetEffectivePermissionsRequest {
                    user_id: "owner".into(),
                    account_id: "acme".into(),
                    context: None,
                    consistency: at_least_as_fresh(garbage),
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(
            bad_fields(&status),
            ["consistency.at_least_as_fresh"],
            "{garbage:?}"
        );
        let status = expect_code(
            client
                .batch_authorize(pb::BatchAuthorizeRequest {
                    checks: vec![check("owner", "acme", "account.view", None)],
                    consistency: at_least_as_fresh(garbage),
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(
            bad_fields(&status),
            ["consistency.at_least_as_fresh"],
            "{garbage:?}"
        );
    }
    // A real token is accepted where the garbage was not, and so is the
    // empty token of a write that changed nothing (it requires nothing).
    let token = current(&app, "acme").await;
    let fine = check_with(&app, "owner", "acme", "account.view", at_least_as_fresh(&token)).await;
    assert!(fine.allowed);
    let relayed = check_with(&app, "owner", "acme", "account.view", at_least_as_fresh("")).await;
    assert!(relayed.allowed);

    // A well-formed token ahead of the database (forged, or another
    // deployment's) is refused rather than answered from older state.
    let ahead =
        access_service::grpc::convert::token_to_pb(&access_service::domain::model::ConsistencyToken(vec![
            access_service::domain::model::AccountRevision {
                account: AccountId::from_trusted("acme".into()),
                revision: 1_000_000,
            },
        ]));
    let status = client
        .authorize(pb::AuthorizeRequest {
            consistency: at_least_as_fresh(&ahead),
            ..check("owner", "acme", "account.view", None)
        })
        .await
        .expect_err("a token from the future is refused");
    assert_eq!(
        (status.code(), error_reason(&status).as_str()),
        (Code::FailedPrecondition, "CONSISTENCY_TOKEN_AHEAD")
    );

    // In a batch the requirement is the batch's, never one check's.
    let status = expect_code(
        client
            .batch_authorize(pb::BatchAuthorizeRequest {
                checks: vec![
                    pb::AuthorizeRequest {
                        consistency: fully_consistent(),
                        ..check("owner", "acme", "account.view", None)
                    },
                    check("owner", "acme", "account.view", None),
                ],
                consistency: None,
            })
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(bad_fields(&status), ["checks[0].consistency"]);
}

async fn computed_at_follows_the_accounts_writes(app: TestApp) {
    app.account("acme", "owner").await;
    app.account("other", "owner").await;
    let first = app.check("owner", "acme", "billing.edit").await;
    assert!(first.allowed);
    let at_first = revision(&first.computed_at, "acme").expect("computed_at names acme");
    let other_first = app.check("owner", "other", "billing.edit").await.computed_at;

    let limited = app
        .client
        .clone()
        .set_account_limits(pb::SetAccountLimitsRequest {
            account_id: "acme".into(),
            max_members: Some(5),
            max_restricted_members: None,
        })
        .await
        .expect("limits set")
        .into_inner()
        .consistency_token;
    let second = app.check("owner", "acme", "billing.edit").await;
    assert_ne!(
        second.computed_at, first.computed_at,
        "a write to acme moves its answers on"
    );
    assert_eq!(second.computed_at, limited);
    assert_eq!(revision(&second.computed_at, "acme"), Some(at_first + 1));
    assert_eq!(
        app.check("owner", "other", "billing.edit").await.computed_at,
        other_first,
        "another account's answers stay where they were"
    );

    let unknown = app.check("owner", "nowhere", "account.view").await;
    assert_eq!(
        (unknown.allowed, reason(&unknown), unknown.computed_at.as_str()),
        (false, R::AccountNotFound, "")
    );
    let unknown = app
        .client
        .clone()
        .get_effective_permissions(pb::GetEffectivePermissionsRequest {
            user_id: "owner".into(),
            account_id: "nowhere".into(),
            context: None,
            consistency: fully_consistent(),
        })
        .await
        .expect("effective permissions")
        .into_inner();
    assert_eq!(
        (reason_of(unknown.reason), unknown.computed_at.as_str()),
        (R::AccountNotFound, "")
    );
}

/// A bad token does not hide the other bad fields: the three checks name
/// every bad field of the request at once, the requirement's with the ids.
async fn a_bad_token_is_named_with_the_other_bad_fields(app: TestApp) {
    let mut client = app.client.clone();
    let status = expect_code(
        client
            .authorize(pb::AuthorizeRequest {
                consistency: at_least_as_fresh("not a token!"),
                ..check(" u", "acme", "account.view", None)
            })
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(bad_fields(&status), ["user_id", "consistency.at_least_as_fresh"]);
    let status = expect_code(
        client
            .get_effective_permissions(pb::GetEffectivePermissionsRequest {
                user_id: "owner".into(),
                account_id: String::new(),
                context: None,
                consistency: at_least_as_fresh("not a token!"),
            })
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(
        bad_fields(&status),
        ["account_id", "consistency.at_least_as_fresh"]
    );
    let status = expect_code(
        client
            .batch_authorize(pb::BatchAuthorizeRequest {
                checks: vec![
                    check("owner", "acme", "account.view", None),
                    check("owner", " acme", "account.view", None),
                ],
                consistency: at_least_as_fresh("not a token!"),
            })
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(
        bad_fields(&status),
        ["checks[1].account_id", "consistency.at_least_as_fresh"]
    );
    let status = expect_code(
        client
            .batch_authorize(pb::BatchAuthorizeRequest {
                checks: Vec::new(),
                consistency: at_least_as_fresh("not a token!"),
            })
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(bad_fields(&status), ["checks", "consistency.at_least_as_fresh"]);
}

fn reason_of(raw: i32) -> R {
    R::try_from(raw).expect("known reason")
}

crate::on_both_databases!(
    every_write_returns_a_token_of_a_newer_revision,
    calls_that_change_nothing_return_an_empty_token,
    checks_at_least_as_fresh_as_a_write_see_it,
    a_parents_token_reaches_its_children,
    a_token_is_honoured_where_the_cache_was_not_told,
    bad_requirements_name_their_fields,
    a_bad_token_is_named_with_the_other_bad_fields,
    computed_at_follows_the_accounts_writes,
);
