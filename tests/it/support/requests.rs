//! Requests, built: the pieces tests put in a call (an email, a person, a
//! scope) and the builders of whole requests.
//!
//! Where TestApp has a method for an RPC, tests call that method (plain
//! arguments in; the answer's payload or the refusal out), never the raw client
//! with a builder. The public builders here serve RPCs without a method and
//! requests a test must shape itself (a batch of checks, a page token, a child
//! account), sent with `app.client`; the `pub(super)` ones are what the methods send.

use access_service::grpc::pb;

pub fn email(user: &str) -> String {
    format!("{user}@example.com")
}

pub fn person(user: &str) -> pb::Person {
    pb::Person {
        user_id: user.into(),
        email: email(user),
        name: format!("Name of {user}"),
    }
}

pub fn check(
    user: &str,
    account: &str,
    permission: &str,
    resource: Option<(pb::ResourceType, &str)>,
) -> pb::AuthorizeRequest {
    pb::AuthorizeRequest {
        user_id: user.into(),
        account_id: account.into(),
        permission: permission.into(),
        resource: resource.map(|(resource_type, id)| pb::Resource {
            r#type: resource_type.into(),
            id: id.into(),
        }),
        context: None,
        ..Default::default()
    }
}
/// CreateAccount of a top-level account.
pub fn create_account(id: &str, owner: pb::Person) -> pb::CreateAccountRequest {
    pb::CreateAccountRequest {
        account_id: id.into(),
        name: format!("Account {id}"),
        owner: Some(owner),
        parent_account_id: String::new(),
        actor_user_id: String::new(),
    }
}

/// CreateAccount under `parent`, by `actor`.
pub fn create_child(id: &str, owner: &str, parent: &str, actor: &str) -> pb::CreateAccountRequest {
    pb::CreateAccountRequest {
        parent_account_id: parent.into(),
        actor_user_id: actor.into(),
        ..create_account(id, person(owner))
    }
}

/// ListAccounts.
pub fn list_accounts(user: &str, page_size: i32, page_token: &str) -> pb::ListAccountsRequest {
    pb::ListAccountsRequest {
        user_id: user.into(),
        page_size,
        page_token: page_token.into(),
    }
}

/// ListUsers with no filter and the default page.
pub fn list_users(actor: &str, account: &str) -> pb::ListUsersRequest {
    pb::ListUsersRequest {
        actor_user_id: actor.into(),
        account_id: account.into(),
        ..Default::default()
    }
}

/// TransferOwnership.
pub fn transfer(actor: &str, account: &str, new_owner: &str) -> pb::TransferOwnershipRequest {
    pb::TransferOwnershipRequest {
        actor_user_id: actor.into(),
        account_id: account.into(),
        new_owner_user_id: new_owner.into(),
    }
}

/// DeactivateMember.
pub fn deactivate(actor: &str, account: &str, user: &str) -> pb::DeactivateMemberRequest {
    pb::DeactivateMemberRequest {
        actor_user_id: actor.into(),
        account_id: account.into(),
        user_id: user.into(),
    }
}

/// ReactivateMember.
pub fn reactivate(actor: &str, account: &str, user: &str) -> pb::ReactivateMemberRequest {
    pb::ReactivateMemberRequest {
        actor_user_id: actor.into(),
        account_id: account.into(),
        user_id: user.into(),
    }
}

/// RemoveMember.
pub fn remove(actor: &str, account: &str, user: &str) -> pb::RemoveMemberRequest {
    pb::RemoveMemberRequest {
        actor_user_id: actor.into(),
        account_id: account.into(),
        user_id: user.into(),
    }
}

/// CreateRole, described as "The <name> role".
pub(super) fn create_role(
    actor: &str,
    account: &str,
    name: &str,
    permissions: &[&str],
) -> pb::CreateRoleRequest {
    pb::CreateRoleRequest {
        actor_user_id: actor.into(),
        account_id: account.into(),
        name: name.into(),
        description: format!("The {name} role"),
        permissions: permissions.iter().map(|p| (*p).to_owned()).collect(),
    }
}

/// RequestAccess.
pub(super) fn ask(user: &str, account: &str, permission: &str, note: &str) -> pb::RequestAccessRequest {
    pb::RequestAccessRequest {
        user_id: user.into(),
        account_id: account.into(),
        permission: permission.into(),
        note: note.into(),
    }
}

/// DecideAccessRequest.
pub(super) fn decide(actor: &str, id: &str, approve: bool) -> pb::DecideAccessRequestRequest {
    pb::DecideAccessRequestRequest {
        actor_user_id: actor.into(),
        access_request_id: id.into(),
        approve,
        grant_end: None,
    }
}

/// ShareTemplate (no children: every child).
pub fn share(actor: &str, account: &str, template: &str, children: &[&str]) -> pb::ShareTemplateRequest {
    pb::ShareTemplateRequest {
        actor_user_id: actor.into(),
        account_id: account.into(),
        template_id: template.into(),
        child_account_ids: children.iter().map(|id| (*id).to_owned()).collect(),
    }
}

/// ListSharedTemplates with the default page.
pub fn list_shared_templates(actor: &str, account: &str) -> pb::ListSharedTemplatesRequest {
    pb::ListSharedTemplatesRequest {
        actor_user_id: actor.into(),
        account_id: account.into(),
        ..Default::default()
    }
}

pub fn scope(resource_type: pb::ResourceType, ids: &[&str]) -> pb::Scope {
    pb::Scope {
        resource_type: resource_type.into(),
        resource_ids: ids.iter().map(|id| (*id).to_owned()).collect(),
    }
}

/// UpdateRole, replacing the permissions and clearing the description.
pub fn update_role(actor: &str, account: &str, name: &str, permissions: &[&str]) -> pb::UpdateRoleRequest {
    pb::UpdateRoleRequest {
        actor_user_id: actor.into(),
        account_id: account.into(),
        name: name.into(),
        description: String::new(),
        permissions: Some(pb::PermissionList {
            permissions: permissions.iter().map(|p| (*p).to_owned()).collect(),
        }),
    }
}

/// ResendInvitation.
pub fn resend(actor: &str, invitation: &str) -> pb::ResendInvitationRequest {
    pb::ResendInvitationRequest {
        actor_user_id: actor.into(),
        invitation_id: invitation.into(),
    }
}

/// LeaveAccount.
pub fn leave(user: &str, account: &str) -> pb::LeaveAccountRequest {
    pb::LeaveAccountRequest {
        user_id: user.into(),
        account_id: account.into(),
    }
}

/// RecordSignIn.
pub fn sign_in(user: &str, account: &str) -> pb::RecordSignInRequest {
    pb::RecordSignInRequest {
        user_id: user.into(),
        account_id: account.into(),
    }
}

/// ShareSuppressionList (no children: every child).
pub fn share_suppression_list(
    actor: &str,
    account: &str,
    list: &str,
    children: &[&str],
) -> pb::ShareSuppressionListRequest {
    pb::ShareSuppressionListRequest {
        actor_user_id: actor.into(),
        account_id: account.into(),
        suppression_list_id: list.into(),
        child_account_ids: children.iter().map(|id| (*id).to_owned()).collect(),
    }
}

/// UnshareSuppressionList.
pub fn unshare_suppression_list(actor: &str, account: &str, list: &str) -> pb::UnshareSuppressionListRequest {
    pb::UnshareSuppressionListRequest {
        actor_user_id: actor.into(),
        account_id: account.into(),
        suppression_list_id: list.into(),
    }
}

/// A protobuf timestamp of `at`.
pub fn stamp(at: chrono::DateTime<chrono::Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: i32::try_from(at.timestamp_subsec_nanos()).expect("nanos fit"),
    }
}

/// UpdateMember setting the membership's end.
pub fn ending(
    actor: &str,
    account: &str,
    user: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> pb::UpdateMemberRequest {
    pb::UpdateMemberRequest {
        actor_user_id: actor.into(),
        account_id: account.into(),
        user_id: user.into(),
        access_end: Some(pb::AccessEndChange {
            change: Some(pb::access_end_change::Change::EndTime(stamp(at))),
        }),
        ..Default::default()
    }
}

/// An end of a grant or scope entry, as UpdateMember's entry_ends takes it.
pub fn entry_end(kind: pb::EndedKind, subject: &str, at: chrono::DateTime<chrono::Utc>) -> pb::AccessEnd {
    pb::AccessEnd {
        kind: kind.into(),
        subject: subject.into(),
        end_time: Some(stamp(at)),
    }
}

/// UpdateMember giving `user` of `account` the extra grant reports.view
/// and ending it and the scope entry list:4 at `entries_end`, the
/// membership at `membership_end` (rule 17's three ends at once).
pub fn three_ends(
    actor: &str,
    account: &str,
    user: &str,
    entries_end: chrono::DateTime<chrono::Utc>,
    membership_end: chrono::DateTime<chrono::Utc>,
) -> pb::UpdateMemberRequest {
    pb::UpdateMemberRequest {
        extra_permissions: Some(pb::PermissionList {
            permissions: vec!["reports.view".into()],
        }),
        entry_ends: Some(pb::AccessEndList {
            ends: vec![
                entry_end(pb::EndedKind::Grant, "reports.view", entries_end),
                entry_end(pb::EndedKind::Scope, "list:4", entries_end),
            ],
        }),
        ..ending(actor, account, user, membership_end)
    }
}

/// Sleeps until this machine's clock (the servers' too) has passed `at`.
pub async fn pass(at: chrono::DateTime<chrono::Utc>) {
    let left = (at - chrono::Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(left).await;
    while chrono::Utc::now() <= at {
        tokio::task::yield_now().await;
    }
}
