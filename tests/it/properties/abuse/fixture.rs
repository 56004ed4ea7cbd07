//! The state every row of the catalogue abuses: two unrelated accounts, a
//! team with a child, members of each kind, invitations in each state and
//! pending access requests.

use access_service::domain::model::MAX_SHARED_CHILDREN;
use access_service::grpc::pb;
use access_service::grpc::pb::ResourceType::{List, SuppressionList, Template};

use crate::support::{TestApp, scope, share};

/// Ids and tokens the rows name. People of "acme" (owner "owner"): "admin"
/// (admin), "viewer" (viewer, with a pending request for lists.edit),
/// "lead" (custom role list_lead, scoped to list 4, with a pending request
/// for reports.view), "deact" (a deactivated admin, whose invitation of
/// "orphan" is still pending); custom role "helper"
/// (campaigns.view) held by "helper"; custom role "lister" (campaigns.view
/// and lists.view, so a list scope narrows it: rule 6) held by "narrow"
/// scoped to list 4, within the lead's reach. "other" is owned by
/// "stranger", with viewer "ostaff". "team" (owner "boss", viewer "tviewer",
/// power user "tscoped" scoped to template "t2" and suppression list "s2",
/// unscoped power user "tpower")
/// has the child "child-a" (owner "owner-a") and shares template "t1" and
/// suppression list "s1" with every child.
/// "shut" (owner "shutter") is closed. "secure" (owner "sowner", admin
/// "sadmin") requires two-factor. "full" (owner "fowner") has a quota of one
/// member. "gone", once a helper of acme asking for lists.view, is
/// deactivated.
pub(crate) struct Fixture {
    /// A pending invitation of "pend@example.com" to acme as viewer.
    pub pending_id: String,
    pub pending_token: String,
    /// A pending invitation to acme as admin (the lead cannot grant it).
    pub admin_invitation_id: String,
    /// A pending invitation as lister scoped to list 4 (within the lead's reach).
    pub narrow_invitation_id: String,
    /// An invitation to acme revoked by the owner.
    pub revoked_id: String,
    pub revoked_token: String,
    /// An invitation accepted by "viewer": its token replayed.
    pub accepted_id: String,
    pub accepted_token: String,
    /// The first token of an invitation resent since: replaced.
    pub replaced_token: String,
    /// An invitation declined by its invitee.
    pub declined_id: String,
    pub declined_token: String,
    /// A pending invitation of the account "other".
    pub other_invitation_id: String,
    /// A pending invitation sent by "deact" before being deactivated.
    pub orphan_token: String,
    /// viewer's pending request for lists.edit in acme.
    pub request_id: String,
    /// ostaff's pending request in other.
    pub other_request_id: String,
    /// A request of acme the owner already rejected.
    pub decided_request_id: String,
    /// The lead's own pending request (for reports.view).
    pub lead_request_id: String,
    /// A pending request of a member since deactivated ("gone").
    pub gone_request_id: String,
}

impl Fixture {
    /// Ids for the rows' shape only (`every_rpc_has_a_row` sends nothing).
    pub(crate) fn placeholder() -> Self {
        let id = || "placeholder".to_owned();
        Self {
            pending_id: id(),
            pending_token: id(),
            admin_invitation_id: id(),
            narrow_invitation_id: id(),
            revoked_id: id(),
            revoked_token: id(),
            accepted_id: id(),
            accepted_token: id(),
            replaced_token: id(),
            declined_id: id(),
            declined_token: id(),
            other_invitation_id: id(),
            orphan_token: id(),
            request_id: id(),
            other_request_id: id(),
            decided_request_id: id(),
            lead_request_id: id(),
            gone_request_id: id(),
        }
    }

    /// Writes the state through `app` (which requires no key).
    pub(crate) async fn seed(app: &TestApp) -> Self {
        app.account("acme", "owner").await;
        app.account("other", "stranger").await;
        app.team(&["a"]).await;
        app.account("shut", "shutter").await;
        app.close("shutter", "shut").await.expect("shut is closed");
        app.account("secure", "sowner").await;
        app.member("sowner", "secure", "sadmin", "admin", vec![]).await;
        app.client
            .clone()
            .update_account_policy(pb::UpdateAccountPolicyRequest {
                actor_user_id: "sowner".into(),
                account_id: "secure".into(),
                require_two_factor: true,
            })
            .await
            .expect("secure requires two-factor");
        app.account("full", "fowner").await;
        app.set_limits("full", Some(1), None).await.expect("full's quota");

        app.member("owner", "acme", "admin", "admin", vec![]).await;
        let accepted = app
            .invite("owner", "acme", "viewer", "viewer", vec![])
            .await
            .expect("viewer invited");
        app.accept(&accepted.token, "viewer")
            .await
            .expect("viewer accepts");
        crate::support::scoped_lead(app).await;
        app.create_role("owner", "acme", "helper", &["campaigns.view"])
            .await
            .expect("helper created");
        app.member("owner", "acme", "helper", "helper", vec![]).await;
        app.create_role("owner", "acme", "lister", &["campaigns.view", "lists.view"])
            .await
            .expect("lister created");
        app.member("owner", "acme", "narrow", "lister", vec![scope(List, &["4"])])
            .await;
        app.member("owner", "acme", "deact", "admin", vec![]).await;
        let orphan = app
            .invite("deact", "acme", "orphan", "viewer", vec![])
            .await
            .expect("orphan invited");
        app.deactivate("owner", "acme", "deact")
            .await
            .expect("deact deactivated");

        let pending = app
            .invite("owner", "acme", "pend", "viewer", vec![])
            .await
            .expect("pend invited");
        let admin_invitation = app
            .invite("owner", "acme", "boss-to-be", "admin", vec![])
            .await
            .expect("admin invited");
        let narrow_invitation = app
            .invite("owner", "acme", "np", "lister", vec![scope(List, &["4"])])
            .await
            .expect("np invited");
        let revoked = app
            .invite("owner", "acme", "rev", "viewer", vec![])
            .await
            .expect("rev invited");
        let revoked_id = id_of(&revoked);
        app.revoke("owner", &revoked_id).await.expect("revoked");
        let resent = app
            .invite("owner", "acme", "re", "viewer", vec![])
            .await
            .expect("re invited");
        app.client
            .clone()
            .resend_invitation(crate::support::resend("owner", &id_of(&resent)))
            .await
            .expect("re's invitation resent");
        let declined = app
            .invite("owner", "acme", "dec", "viewer", vec![])
            .await
            .expect("dec invited");
        app.client
            .clone()
            .decline_invitation(pb::DeclineInvitationRequest {
                token: declined.token.clone(),
            })
            .await
            .expect("declined");

        app.member("stranger", "other", "ostaff", "viewer", vec![]).await;
        let other_invitation = app
            .invite("stranger", "other", "ox", "viewer", vec![])
            .await
            .expect("ox invited");

        app.member("boss", "team", "tviewer", "viewer", vec![]).await;
        app.member("boss", "team", "tpower", "power_user", vec![]).await;
        app.member(
            "boss",
            "team",
            "tscoped",
            "power_user",
            vec![scope(SuppressionList, &["s2"]), scope(Template, &["t2"])],
        )
        .await;
        app.client
            .clone()
            .share_template(share("boss", "team", "t1", &[]))
            .await
            .expect("t1 shared");
        app.client
            .clone()
            .share_suppression_list(crate::support::share_suppression_list("boss", "team", "s1", &[]))
            .await
            .expect("s1 shared");

        let request = app
            .request_access("viewer", "acme", "lists.edit", "")
            .await
            .expect("viewer asks");
        let other_request = app
            .request_access("ostaff", "other", "lists.edit", "")
            .await
            .expect("ostaff asks");
        let decided = app
            .request_access("helper", "acme", "lists.view", "")
            .await
            .expect("helper asks");
        app.decide("owner", &decided.id, false).await.expect("rejected");
        app.member("owner", "acme", "gone", "helper", vec![]).await;
        let gone_request = app
            .request_access("gone", "acme", "lists.view", "")
            .await
            .expect("gone asks");
        app.deactivate("owner", "acme", "gone")
            .await
            .expect("gone deactivated");
        let lead_request = app
            .request_access("lead", "acme", "reports.view", "")
            .await
            .expect("lead asks");

        Self {
            pending_id: id_of(&pending),
            pending_token: pending.token,
            admin_invitation_id: id_of(&admin_invitation),
            narrow_invitation_id: id_of(&narrow_invitation),
            revoked_id,
            revoked_token: revoked.token,
            accepted_id: id_of(&accepted),
            accepted_token: accepted.token,
            replaced_token: resent.token,
            declined_id: id_of(&declined),
            declined_token: declined.token,
            other_invitation_id: id_of(&other_invitation),
            orphan_token: orphan.token,
            request_id: request.id,
            other_request_id: other_request.id,
            decided_request_id: decided.id,
            lead_request_id: lead_request.id,
            gone_request_id: gone_request.id,
        }
    }
}

fn id_of(response: &pb::InviteResponse) -> String {
    response
        .invitation
        .as_ref()
        .expect("invitation returned")
        .id
        .clone()
}

/// One child id more than a share may name.
pub(crate) fn too_many_children() -> Vec<String> {
    (0..=MAX_SHARED_CHILDREN).map(|n| format!("c{n}")).collect()
}

/// A string of `n` copies of `c`: an oversized field.
pub(crate) fn long(n: usize) -> String {
    "x".repeat(n)
}
