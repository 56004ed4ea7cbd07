//! Rule 10 of docs/domain.md: a pending invitation grants only what its
//! inviter could still grant when it is accepted; resending or changing it
//! makes the one who did so its inviter.

use access_service::grpc::pb;
use access_service::grpc::pb::ResourceType::List;
use pb::DecisionReason as R;
use tonic::{Code, Status};

use crate::support::{TestApp, assert_refused, reason, resend, scope};

/// Invites `user` as `actor`, returning the invitation's id and token.
async fn invited_by(app: &TestApp, actor: &str, user: &str, role: &str) -> (String, String) {
    let response = app
        .invite(actor, "acme", user, role, vec![])
        .await
        .unwrap_or_else(|status| panic!("{actor} invites {user}: {status:?}"));
    (response.invitation.expect("invitation").id, response.token)
}

/// The member row an acceptance made.
fn joined(accepted: Result<pb::AcceptInvitationResponse, Status>) -> pb::Member {
    accepted.expect("accepted").member.expect("member returned")
}

/// Four admins each invite someone, then lose the reach they invited with
/// (demoted, deactivated, removed, narrowed to one list): none of the
/// invitations can be accepted, and the refusal writes nothing. Getting the
/// reach back, or someone who holds it resending, changing or inviting
/// again, makes the invitation acceptable, now as theirs.
async fn an_invitation_grants_only_what_its_inviter_still_holds(app: TestApp) {
    app.account("acme", "owner").await;
    for admin in ["demoted", "deactivated", "removed", "narrowed"] {
        app.member("owner", "acme", admin, "admin", vec![]).await;
    }
    let (demoted_id, demoted_token) = invited_by(&app, "demoted", "bob", "viewer").await;
    let (_, deactivated_token) = invited_by(&app, "deactivated", "carol", "viewer").await;
    let (_, removed_token) = invited_by(&app, "removed", "dan", "viewer").await;
    let (narrowed_id, narrowed_token) = invited_by(&app, "narrowed", "erin", "list_manager").await;

    app.update_member_role("owner", "acme", "demoted", "viewer")
        .await
        .expect("demoted");
    app.deactivate("owner", "acme", "deactivated")
        .await
        .expect("deactivated");
    app.remove("owner", "acme", "removed").await.expect("removed");
    app.client
        .clone()
        .update_member(pb::UpdateMemberRequest {
            actor_user_id: "owner".into(),
            account_id: "acme".into(),
            user_id: "narrowed".into(),
            scopes: Some(pb::ScopeList {
                scopes: vec![scope(List, &["4"])],
            }),
            ..Default::default()
        })
        .await
        .expect("narrowed to list 4");

    let before = app.table_counts().await;
    for (token, user) in [
        (&demoted_token, "bob"),
        (&deactivated_token, "carol"),
        (&removed_token, "dan"),
        (&narrowed_token, "erin"),
    ] {
        let status = assert_refused(
            app.accept(token, user).await,
            Code::FailedPrecondition,
            "INVITER_LACKS_REACH",
        );
        assert!(status.message().contains("send it again"), "{status:?}");
        assert_eq!(
            reason(&app.check(user, "acme", "account.view").await),
            R::NotAMember
        );
    }
    assert_eq!(app.table_counts().await, before, "refusals write nothing");

    // The deactivated admin's standing comes back, and with it their invitation.
    app.reactivate("owner", "acme", "deactivated")
        .await
        .expect("reactivated");
    assert_eq!(
        joined(app.accept(&deactivated_token, "carol").await).invited_by,
        "deactivated"
    );

    // The owner resends the demoted admin's invitation: it is the owner's now.
    let resent = app
        .client
        .clone()
        .resend_invitation(resend("owner", &demoted_id))
        .await
        .expect("resent")
        .into_inner();
    assert_eq!(resent.invitation.expect("invitation").invited_by, "owner");
    assert_eq!(joined(app.accept(&resent.token, "bob").await).invited_by, "owner");

    // Inviting the removed admin's invitee again with the same terms does
    // not hand back the dead invitation: it is sent again, as the owner's.
    let again = app
        .invite("owner", "acme", "dan", "viewer", vec![])
        .await
        .expect("invited again");
    assert!(
        !again.token.is_empty(),
        "a new token, since the old one opens nothing"
    );
    assert_eq!(again.invitation.expect("invitation").invited_by, "owner");
    assert_eq!(joined(app.accept(&again.token, "dan").await).invited_by, "owner");

    // The owner narrows the narrowed admin's invitation: the owner offers it now.
    let updated = app
        .client
        .clone()
        .update_invitation(pb::UpdateInvitationRequest {
            actor_user_id: "owner".into(),
            invitation_id: narrowed_id,
            scopes: Some(pb::ScopeList {
                scopes: vec![scope(List, &["4"])],
            }),
            ..Default::default()
        })
        .await
        .expect("updated")
        .into_inner();
    assert_eq!(updated.invitation.expect("invitation").invited_by, "owner");
    assert_eq!(
        joined(app.accept(&narrowed_token, "erin").await).invited_by,
        "owner"
    );
}

/// The owner never loses the reach to invite: their invitations hold after
/// they hand ownership on (they are an admin then, holding every role), and
/// so do the parent owner's in a child, whatever the account's two-factor
/// policy says of sessions (the inviter is not acting when it is accepted).
async fn owners_invitations_hold(app: TestApp) {
    app.account("acme", "owner").await;
    app.member("owner", "acme", "heir", "admin", vec![]).await;
    let (_, admin_token) = invited_by(&app, "owner", "olive", "admin").await;
    app.transfer("owner", "acme", "heir").await.expect("transferred");
    assert_eq!(joined(app.accept(&admin_token, "olive").await).role, "admin");

    app.team(&["a"]).await;
    let response = app
        .invite("boss", "child-a", "pat", "manager", vec![])
        .await
        .expect("the parent owner invites into the child");
    app.client
        .clone()
        .update_account_policy(pb::UpdateAccountPolicyRequest {
            actor_user_id: "owner-a".into(),
            account_id: "child-a".into(),
            require_two_factor: true,
        })
        .await
        .expect("two-factor required");
    assert_eq!(
        joined(app.accept(&response.token, "pat").await).invited_by,
        "boss"
    );
}

crate::on_both_databases!(
    an_invitation_grants_only_what_its_inviter_still_holds,
    owners_invitations_hold,
);
