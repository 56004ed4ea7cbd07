//! The paths of nested and repeated fields are formatted only when a
//! violation names them: these tests pin the paths clients see.

use super::*;
use crate::domain::service::{CreateAccount, CreateRole, Invite};

fn bad_fields(err: DomainError) -> Vec<String> {
    let DomainError::InvalidArgument(violations) = err else {
        panic!("expected InvalidArgument, got {err:?}");
    };
    violations.into_iter().map(|v| v.field).collect()
}

fn valid_check() -> pb::AuthorizeRequest {
    pb::AuthorizeRequest {
        user_id: "u".into(),
        account_id: "a".into(),
        permission: "campaigns.send".into(),
        ..Default::default()
    }
}

#[test]
fn batch_violations_name_the_check_and_its_resource() {
    let bad = pb::AuthorizeRequest {
        user_id: " ".into(),
        resource: Some(pb::Resource {
            r#type: 0,
            id: String::new(),
        }),
        ..valid_check()
    };
    let raw = pb::BatchAuthorizeRequest {
        checks: vec![valid_check(), bad],
        consistency: None,
    };
    let err = batch(raw, 10).err().unwrap();
    assert_eq!(
        bad_fields(err),
        [
            "checks[1].user_id",
            "checks[1].resource.type",
            "checks[1].resource.id"
        ]
    );
}

#[test]
fn a_single_check_names_bare_fields() {
    let raw = pb::AuthorizeRequest {
        permission: "no.such".into(),
        ..valid_check()
    };
    let err = crate::domain::model::Check::try_from(raw).err().unwrap();
    assert_eq!(bad_fields(err), ["permission"]);
}

#[test]
fn invite_violations_name_the_additional_account_and_scope() {
    let raw = pb::InviteRequest {
        actor_user_id: "actor".into(),
        account_id: "a".into(),
        email: "ann@example.com".into(),
        role: "viewer".into(),
        scopes: vec![pb::Scope {
            resource_type: pb::ResourceType::List.into(),
            resource_ids: vec![],
        }],
        additional_accounts: vec![pb::InviteTarget {
            account_id: " ".into(),
            role: "x".repeat(65),
            scopes: vec![pb::Scope {
                resource_type: 0,
                resource_ids: vec!["ok".into(), " ".into()],
            }],
        }],
        ..Default::default()
    };
    let err = Invite::try_from(raw).err().unwrap();
    assert_eq!(
        bad_fields(err),
        [
            "scopes",
            "additional_accounts[0].account_id",
            "additional_accounts[0].role",
            "additional_accounts[0].scopes[0].resource_type",
            "additional_accounts[0].scopes[0].resource_ids[1]",
        ]
    );
}

#[test]
fn person_and_permission_violations_name_their_path() {
    let raw = pb::CreateAccountRequest {
        name: "Acme".into(),
        owner: Some(pb::Person {
            user_id: "u".into(),
            email: "not-an-address".into(),
            name: String::new(),
        }),
        ..Default::default()
    };
    let err = CreateAccount::try_from(raw).err().unwrap();
    assert_eq!(bad_fields(err), ["owner.email", "owner.name"]);

    let raw = pb::CreateRoleRequest {
        actor_user_id: "actor".into(),
        account_id: "a".into(),
        name: "editor".into(),
        permissions: vec!["campaigns.send".into(), "no.such".into()],
        ..Default::default()
    };
    let err = CreateRole::try_from(raw).err().unwrap();
    assert_eq!(bad_fields(err), ["permissions[1]"]);
}
