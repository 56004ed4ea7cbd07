//! The catalogue's cases of a caller bound to tenants reaching into another
//! tenant, for every RPC: sent with the key of `other-portal`, bound to the
//! account "other" and holding every scope. An account outside its tenants
//! is refused `OUTSIDE_CALLER_TENANTS` whether it exists ("acme", the team
//! child "child-a") or not ("nowhere"); an invitation, its token or an
//! access request of another tenant is as unknown as a made-up one; a
//! listing shows nothing of other tenants. [`add`] gives each row its cases,
//! and `every_rpc_has_a_row` fails for a row without any.

use access_service::grpc::pb;
use access_service::grpc::pb::ResourceType::List;

use super::{Expect, Fixture, Row, answers, denied, missing};
use crate::support::{
    OTHER_TENANT_KEY, check, create_account, create_child, deactivate, leave, list_accounts,
    list_shared_templates, list_users, lookup_accounts, lookup_members, lookup_resources, person, reactivate,
    remove, resend, share, share_suppression_list, sign_in, transfer, unshare_suppression_list, update_role,
};

const KEY: &str = OTHER_TENANT_KEY;

/// The refusal of an account outside the caller's tenants.
fn outside() -> Expect {
    denied("OUTSIDE_CALLER_TENANTS")
}

/// Accounts outside `other`'s tenants: another team root, a child of another
/// team, and one that does not exist.
const FOREIGN: [(&str, &str); 3] = [
    ("another tenant's account", "acme"),
    ("a child of another team", "child-a"),
    ("an account that does not exist (refused alike)", "nowhere"),
];

/// The cases of an RPC naming one account: `request` names it.
fn naming<Req>(mut row: Row, request: impl Fn(&str) -> Req) -> Row
where
    Req: prost::Message + Clone + Send + Sync + 'static,
{
    for (what, account) in FOREIGN {
        row = row.outside(KEY, what, request(account), outside());
    }
    row
}

/// A request to `account` by its owner (or by the named actor for
/// "nowhere", which has none).
fn owner_of(account: &str) -> &'static str {
    match account {
        "acme" => "owner",
        "child-a" => "owner-a",
        "team" => "boss",
        _ => "owner",
    }
}

fn invite(account: &str) -> pb::InviteRequest {
    pb::InviteRequest {
        actor_user_id: owner_of(account).into(),
        account_id: account.into(),
        email: "tenant-probe@example.com".into(),
        role: "viewer".into(),
        ..Default::default()
    }
}

/// Adds the tenant cases of `row`'s RPC.
pub(super) fn add(row: Row, fx: &Fixture) -> Row {
    match row.method {
        "CreateAccount" => row
            .outside(
                KEY,
                "a new team root",
                create_account("fresh", person("fresh-owner")),
                outside(),
            )
            .outside(
                KEY,
                "a child of another team",
                create_child("fresh", "fo", "acme", "owner"),
                outside(),
            )
            .outside(
                KEY,
                "a child of no account",
                create_child("fresh", "fo", "nowhere", "owner"),
                outside(),
            )
            .outside(
                KEY,
                "another tenant's id, under its own account",
                create_child("acme", "owner", "other", "stranger"),
                outside(),
            ),
        "GetAccount" => naming(row, |account| pb::GetAccountRequest {
            account_id: account.into(),
            actor_user_id: owner_of(account).into(),
        })
        .outside(
            KEY,
            "another tenant's account, no actor",
            pb::GetAccountRequest {
                account_id: "acme".into(),
                actor_user_id: String::new(),
            },
            outside(),
        ),
        "UpdateAccountPolicy" => naming(row, |account| pb::UpdateAccountPolicyRequest {
            actor_user_id: owner_of(account).into(),
            account_id: account.into(),
            require_two_factor: true,
        }),
        "SetAccountLimits" => naming(row, |account| pb::SetAccountLimitsRequest {
            account_id: account.into(),
            max_members: Some(50),
            max_restricted_members: None,
        }),
        "CloseAccount" => naming(row, |account| pb::CloseAccountRequest {
            actor_user_id: owner_of(account).into(),
            account_id: account.into(),
        }),
        "CloseAccountAsPlatform" => naming(row, |account| pb::CloseAccountAsPlatformRequest {
            account_id: account.into(),
            reason: "probe".into(),
        }),
        "ListAccounts" => row.outside_read::<_, pb::ListAccountsResponse>(
            KEY,
            "a member of other tenants only: none shown",
            list_accounts("owner", 0, ""),
            answers("accounts: []"),
        ),
        "Authorize" => naming(row, |account| {
            check(owner_of(account), account, "campaigns.view", None)
        }),
        "BatchAuthorize" => naming(row, |account| pb::BatchAuthorizeRequest {
            checks: vec![
                check("stranger", "other", "campaigns.view", None),
                check(owner_of(account), account, "campaigns.view", None),
            ],
            consistency: None,
        }),
        "GetEffectivePermissions" => naming(row, |account| pb::GetEffectivePermissionsRequest {
            user_id: owner_of(account).into(),
            account_id: account.into(),
            ..Default::default()
        }),
        "LookupAccounts" => row.outside_read::<_, pb::LookupAccountsResponse>(
            KEY,
            "a member of other tenants only: none shown",
            lookup_accounts("owner", "account.view", 0, ""),
            answers("accounts: []"),
        ),
        "LookupResources" => naming(row, |account| {
            lookup_resources(owner_of(account), account, "lists.edit", List)
        }),
        "LookupMembers" => naming(row, |account| {
            lookup_members(account, "account.view", None, 0, "")
        }),
        "Invite" => naming(row, invite),
        "PreviewInvitationEmail" => naming(row, |account| pb::PreviewInvitationEmailRequest {
            invite: Some(invite(account)),
        }),
        "AcceptInvitation" => row.outside(
            KEY,
            "another tenant's pending token",
            pb::AcceptInvitationRequest {
                token: fx.pending_token.clone(),
                user: Some(person("pend")),
            },
            Expect::Refused(tonic::Code::NotFound, "INVITATION_TOKEN_UNKNOWN"),
        ),
        "DeclineInvitation" => row.outside(
            KEY,
            "another tenant's pending token",
            pb::DeclineInvitationRequest {
                token: fx.pending_token.clone(),
            },
            Expect::Refused(tonic::Code::NotFound, "INVITATION_TOKEN_UNKNOWN"),
        ),
        "ResendInvitation" => row.outside(
            KEY,
            "another tenant's invitation",
            resend("owner", &fx.pending_id),
            missing("invitation"),
        ),
        "RevokeInvitation" => row.outside(
            KEY,
            "another tenant's invitation",
            pb::RevokeInvitationRequest {
                actor_user_id: "owner".into(),
                invitation_id: fx.pending_id.clone(),
            },
            missing("invitation"),
        ),
        "UpdateInvitation" => row.outside(
            KEY,
            "another tenant's invitation",
            pb::UpdateInvitationRequest {
                actor_user_id: "owner".into(),
                invitation_id: fx.pending_id.clone(),
                role: "admin".into(),
                scopes: None,
            },
            missing("invitation"),
        ),
        "ListInvitations" => naming(row, |account| pb::ListInvitationsRequest {
            actor_user_id: owner_of(account).into(),
            account_id: account.into(),
            ..Default::default()
        }),
        "ListUsers" => naming(row, |account| list_users(owner_of(account), account)),
        "UpdateMember" => naming(row, |account| pb::UpdateMemberRequest {
            actor_user_id: owner_of(account).into(),
            account_id: account.into(),
            user_id: "viewer".into(),
            role: "admin".into(),
            ..Default::default()
        }),
        "DeactivateMember" => naming(row, |account| deactivate(owner_of(account), account, "viewer")),
        "ReactivateMember" => naming(row, |account| reactivate(owner_of(account), account, "deact")),
        "RemoveMember" => naming(row, |account| remove(owner_of(account), account, "viewer")),
        "LeaveAccount" => naming(row, |account| leave("viewer", account)),
        "TransferOwnership" => naming(row, |account| transfer(owner_of(account), account, "admin")),
        "RecordSignIn" => naming(row, |account| sign_in("viewer", account)),
        "ListRoles" => naming(row, |account| pb::ListRolesRequest {
            actor_user_id: owner_of(account).into(),
            account_id: account.into(),
        }),
        "CreateRole" => naming(row, |account| pb::CreateRoleRequest {
            actor_user_id: owner_of(account).into(),
            account_id: account.into(),
            name: "probe".into(),
            description: String::new(),
            permissions: vec!["campaigns.view".into()],
        }),
        "UpdateRole" => naming(row, |account| {
            update_role(
                owner_of(account),
                account,
                "helper",
                &["campaigns.view", "lists.view"],
            )
        }),
        "DeleteRole" => naming(row, |account| pb::DeleteRoleRequest {
            actor_user_id: owner_of(account).into(),
            account_id: account.into(),
            name: "helper".into(),
        }),
        "RequestAccess" => naming(row, |account| pb::RequestAccessRequest {
            user_id: "viewer".into(),
            account_id: account.into(),
            permission: "lists.import".into(),
            note: String::new(),
        }),
        "DecideAccessRequest" => row.outside(
            KEY,
            "another tenant's access request",
            pb::DecideAccessRequestRequest {
                actor_user_id: "owner".into(),
                access_request_id: fx.request_id.clone(),
                approve: true,
            },
            missing("access request"),
        ),
        "ListAccessRequests" => naming(row, |account| pb::ListAccessRequestsRequest {
            actor_user_id: owner_of(account).into(),
            account_id: account.into(),
            ..Default::default()
        }),
        "ListActivity" => naming(row, |account| pb::ListActivityRequest {
            actor_user_id: owner_of(account).into(),
            account_id: account.into(),
            ..Default::default()
        }),
        "WatchChanges" => naming(row, |account| pb::WatchChangesRequest {
            actor_user_id: owner_of(account).into(),
            account_id: account.into(),
            ..Default::default()
        })
        .outside(
            KEY,
            "another team",
            pb::WatchChangesRequest {
                actor_user_id: "boss".into(),
                team_account_id: "team".into(),
                ..Default::default()
            },
            outside(),
        )
        .outside(
            KEY,
            "every account",
            pb::WatchChangesRequest {
                all_accounts: true,
                ..Default::default()
            },
            outside(),
        ),
        "ShareTemplate" => naming(row, |account| share(owner_of(account), account, "t9", &[]))
            .outside(
                KEY,
                "to another team's child",
                share("stranger", "other", "t9", &["child-a"]),
                outside(),
            )
            .outside(
                KEY,
                "to no account",
                share("stranger", "other", "t9", &["nowhere"]),
                outside(),
            ),
        "UnshareTemplate" => naming(row, |account| pb::UnshareTemplateRequest {
            actor_user_id: owner_of(account).into(),
            account_id: account.into(),
            template_id: "t1".into(),
        }),
        "ListSharedTemplates" => naming(row, |account| list_shared_templates(owner_of(account), account)),
        "ShareSuppressionList" => naming(row, |account| {
            share_suppression_list(owner_of(account), account, "s9", &[])
        })
        .outside(
            KEY,
            "to another team's child",
            share_suppression_list("stranger", "other", "s9", &["child-a"]),
            outside(),
        ),
        "UnshareSuppressionList" => naming(row, |account| {
            unshare_suppression_list(owner_of(account), account, "s1")
        }),
        "ListSharedSuppressionLists" => naming(row, |account| pb::ListSharedSuppressionListsRequest {
            actor_user_id: owner_of(account).into(),
            account_id: account.into(),
            ..Default::default()
        }),
        // A new RPC gets its cases here; `every_rpc_has_a_row` fails until it does.
        _ => row,
    }
}
