//! The way tests call the server: TestApp methods for the flows most tests
//! need, and one method per RPC (plain arguments in; the answer's payload or
//! the refusal out).

use access_service::grpc::pb;
use access_service::grpc::pb::ResourceType::List;
use tonic::Status;

use super::TestApp;
use super::requests::{
    ask, check, create_child, create_role, deactivate, decide, email, list_shared_templates, person,
    reactivate, remove, scope, transfer,
};

impl TestApp {
    // === Shortcuts for the flows most tests need ===

    /// Creates a top-level account owned by `owner` (email `<owner>@example.com`).
    pub async fn account(&self, id: &str, owner: &str) -> pb::Account {
        self.child_account(id, owner, "", "").await
    }

    /// Creates an account; with a parent, `actor` creates it.
    pub async fn child_account(&self, id: &str, owner: &str, parent: &str, actor: &str) -> pb::Account {
        self.client
            .clone()
            .create_account(create_child(id, owner, parent, actor))
            .await
            .expect("account created")
            .into_inner()
            .account
            .expect("account returned")
    }

    /// Invites `user` (as `<user>@example.com`), returning the invitation and token.
    pub async fn invite(
        &self,
        actor: &str,
        account: &str,
        user: &str,
        role: &str,
        scopes: Vec<pb::Scope>,
    ) -> Result<pb::InviteResponse, Status> {
        self.client
            .clone()
            .invite(pb::InviteRequest {
                actor_user_id: actor.into(),
                account_id: account.into(),
                email: email(user),
                role: role.into(),
                scopes,
                ..Default::default()
            })
            .await
            .map(tonic::Response::into_inner)
    }

    /// Accepts as `user`.
    pub async fn accept(&self, token: &str, user: &str) -> Result<pb::AcceptInvitationResponse, Status> {
        self.client
            .clone()
            .accept_invitation(pb::AcceptInvitationRequest {
                token: token.into(),
                user: Some(person(user)),
            })
            .await
            .map(tonic::Response::into_inner)
    }

    /// Invites and accepts: `user` becomes an active member with `role`.
    pub async fn member(&self, actor: &str, account: &str, user: &str, role: &str, scopes: Vec<pb::Scope>) {
        let invitation = self
            .invite(actor, account, user, role, scopes)
            .await
            .unwrap_or_else(|status| panic!("invite {user} as {role}: {status:?}"));
        self.accept(&invitation.token, user)
            .await
            .unwrap_or_else(|status| panic!("{user} accepts: {status:?}"));
    }

    /// Authorize with no resource and no two-factor.
    pub async fn check(&self, user: &str, account: &str, permission: &str) -> pb::AuthorizeResponse {
        self.check_request(check(user, account, permission, None)).await
    }

    /// Authorize on a resource.
    pub async fn check_on(
        &self,
        user: &str,
        account: &str,
        permission: &str,
        resource: (pb::ResourceType, &str),
    ) -> pb::AuthorizeResponse {
        self.check_request(check(user, account, permission, Some(resource)))
            .await
    }

    pub async fn check_request(&self, request: pb::AuthorizeRequest) -> pb::AuthorizeResponse {
        self.client
            .clone()
            .authorize(request)
            .await
            .expect("authorize answers")
            .into_inner()
    }

    /// A team: parent "team" owned by "boss", and for each suffix `s` a child "child-s" owned by "owner-s".
    pub async fn team(&self, suffixes: &[&str]) {
        self.account("team", "boss").await;
        for suffix in suffixes {
            self.child_account(
                &format!("child-{suffix}"),
                &format!("owner-{suffix}"),
                "team",
                "boss",
            )
            .await;
        }
    }

    /// Invites `user` as "owner", returning the invitation and its token.
    pub async fn invited(&self, account: &str, user: &str, role: &str) -> (pb::Invitation, String) {
        let response = self
            .invite("owner", account, user, role, vec![])
            .await
            .unwrap_or_else(|status| panic!("invite {user} as {role}: {status:?}"));
        (response.invitation.expect("invitation returned"), response.token)
    }

    // === One call per RPC: the way tests call the server ===

    /// GetAccount, which must succeed.
    pub async fn get_account(&self, account: &str) -> pb::Account {
        self.client
            .clone()
            .get_account(pb::GetAccountRequest {
                account_id: account.into(),
                ..Default::default()
            })
            .await
            .expect("get account")
            .into_inner()
            .account
            .expect("account returned")
    }

    /// SetAccountLimits (`None` clears a quota), as the platform: the
    /// default server has no API key, so every caller holds every scope.
    pub async fn set_limits(
        &self,
        account: &str,
        max_members: Option<i32>,
        max_restricted_members: Option<i32>,
    ) -> Result<pb::Account, Status> {
        self.client
            .clone()
            .set_account_limits(pb::SetAccountLimitsRequest {
                account_id: account.into(),
                max_members,
                max_restricted_members,
            })
            .await
            .map(|response| response.into_inner().account.expect("account returned"))
    }

    /// CloseAccount.
    pub async fn close(&self, actor: &str, account: &str) -> Result<pb::Account, Status> {
        self.client
            .clone()
            .close_account(pb::CloseAccountRequest {
                actor_user_id: actor.into(),
                account_id: account.into(),
            })
            .await
            .map(|response| response.into_inner().account.expect("account returned"))
    }

    /// TransferOwnership.
    pub async fn transfer(&self, actor: &str, account: &str, new_owner: &str) -> Result<pb::Account, Status> {
        self.client
            .clone()
            .transfer_ownership(transfer(actor, account, new_owner))
            .await
            .map(|response| response.into_inner().account.expect("account returned"))
    }

    /// UpdateMember, changing only the role.
    pub async fn update_member_role(
        &self,
        actor: &str,
        account: &str,
        user: &str,
        role: &str,
    ) -> Result<pb::Member, Status> {
        self.client
            .clone()
            .update_member(pb::UpdateMemberRequest {
                actor_user_id: actor.into(),
                account_id: account.into(),
                user_id: user.into(),
                role: role.into(),
                ..Default::default()
            })
            .await
            .map(|response| response.into_inner().member.expect("member returned"))
    }

    /// DeactivateMember.
    pub async fn deactivate(&self, actor: &str, account: &str, user: &str) -> Result<pb::Member, Status> {
        self.client
            .clone()
            .deactivate_member(deactivate(actor, account, user))
            .await
            .map(|response| response.into_inner().member.expect("member returned"))
    }

    /// ReactivateMember.
    pub async fn reactivate(&self, actor: &str, account: &str, user: &str) -> Result<pb::Member, Status> {
        self.client
            .clone()
            .reactivate_member(reactivate(actor, account, user))
            .await
            .map(|response| response.into_inner().member.expect("member returned"))
    }

    /// RemoveMember.
    pub async fn remove(
        &self,
        actor: &str,
        account: &str,
        user: &str,
    ) -> Result<pb::RemoveMemberResponse, Status> {
        self.client
            .clone()
            .remove_member(remove(actor, account, user))
            .await
            .map(tonic::Response::into_inner)
    }

    /// ListUsers: the rows of one page, asserting that it is the only page.
    pub async fn users(&self, request: pb::ListUsersRequest) -> Vec<pb::Member> {
        let response = self
            .client
            .clone()
            .list_users(request)
            .await
            .expect("list users")
            .into_inner();
        assert_eq!(response.next_page_token, "", "one page holds them all");
        response.users
    }

    /// RevokeInvitation.
    pub async fn revoke(&self, actor: &str, id: &str) -> Result<pb::Invitation, Status> {
        self.client
            .clone()
            .revoke_invitation(pb::RevokeInvitationRequest {
                actor_user_id: actor.into(),
                invitation_id: id.into(),
            })
            .await
            .map(|response| response.into_inner().invitation.expect("invitation returned"))
    }

    /// CreateRole, as built by [`create_role`].
    pub async fn create_role(
        &self,
        actor: &str,
        account: &str,
        name: &str,
        permissions: &[&str],
    ) -> Result<pb::Role, Status> {
        self.client
            .clone()
            .create_role(create_role(actor, account, name, permissions))
            .await
            .map(|response| response.into_inner().role.expect("role returned"))
    }

    /// RequestAccess.
    pub async fn request_access(
        &self,
        user: &str,
        account: &str,
        permission: &str,
        note: &str,
    ) -> Result<pb::AccessRequest, Status> {
        self.client
            .clone()
            .request_access(ask(user, account, permission, note))
            .await
            .map(|response| {
                response
                    .into_inner()
                    .access_request
                    .expect("access request returned")
            })
    }

    /// DecideAccessRequest.
    pub async fn decide(&self, actor: &str, id: &str, approve: bool) -> Result<pb::AccessRequest, Status> {
        self.client
            .clone()
            .decide_access_request(decide(actor, id, approve))
            .await
            .map(|response| {
                response
                    .into_inner()
                    .access_request
                    .expect("access request returned")
            })
    }

    /// ListSharedTemplates: what `actor` sees in `account`, asserting that one page holds it all.
    pub async fn shared_templates(&self, actor: &str, account: &str) -> Vec<pb::SharedTemplate> {
        let response = self
            .client
            .clone()
            .list_shared_templates(list_shared_templates(actor, account))
            .await
            .expect("list shared templates")
            .into_inner();
        assert_eq!(response.next_page_token, "", "one page holds them all");
        response.shared_templates
    }
}

/// A custom role "list_lead" that manages users and lists, and "lead" holding it
/// scoped to list 4: the scoped actor of the escalation tests and the abuse catalogue.
pub async fn scoped_lead(app: &TestApp) {
    app.create_role(
        "owner",
        "acme",
        "list_lead",
        &[
            "users.view",
            "users.invite",
            "users.edit",
            "users.remove",
            "lists.view",
            "lists.edit",
            "campaigns.view",
        ],
    )
    .await
    .expect("owner creates the lead role");
    app.member("owner", "acme", "lead", "list_lead", vec![scope(List, &["4"])])
        .await;
}
