//! The decision against its reference model (docs/domain.md rules 1-5), and
//! request validation, as properties through the real server on SQLite.
//!
//! - The decision: each case builds a fresh team through the API (accounts,
//!   custom role, invitation, grants, scopes, deactivation, shares,
//!   two-factor policy, closure) from a random scenario of the reference
//!   model (`decisions/model.rs`, written from docs/domain.md), then asks Authorize,
//!   so storage and the cache are covered too; the answer must be the
//!   model's (never an allow it denies) with a reason it gives.
//! - Request validation: random strings for ids, emails, roles and
//!   permissions never make the server fail: the answer is OK, or
//!   INVALID_ARGUMENT naming only fields that were sent random values, and
//!   always naming a field sent a value known to be bad.
//!
//! Each property runs on one server, with failures saved (and replayed
//! first) under `proptest-regressions/`. The same model judges the pure
//! decision function, over many more cases, in `decisions/pure.rs`.

mod lookups;
mod model;
mod pure;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};

use access_service::grpc::pb;
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, TestCaseError, TestRunner};
use tokio::runtime::Handle;
use tonic::{Code, Status};
use tonic_types::StatusExt;

use self::model::{DOCS, RoleSpec, Scenario};
use crate::support::{Db, TestApp, email, scope};

/// Cases per property: each builds its accounts through the API, so fewer
/// than the pure property's; together they stay well under a minute.
const CASES: u32 = 96;

/// Leaning on what storage and the cache carry (parents, shares, roles that
/// hold what sharing withholds): few cases must meet them often.
const STORAGE: model::Weights = model::Weights {
    parent: 0.8,
    rule_5: 3,
    broad_roles: 3,
};

fn config(file: &'static str) -> Config {
    Config {
        cases: CASES,
        max_shrink_iters: 64,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(file))),
        ..Config::default()
    }
}

/// Runs an async property body on the test's runtime from proptest's
/// synchronous runner.
fn block_on<T>(future: impl Future<Output = T>) -> T {
    tokio::task::block_in_place(|| Handle::current().block_on(future))
}

/// A fresh prefix per case (shrinking reruns cases on the same server).
fn case_prefix() -> String {
    static CASE: AtomicU64 = AtomicU64::new(0);
    format!("c{}", CASE.fetch_add(1, Ordering::Relaxed))
}

fn resource_type(name: &str) -> pb::ResourceType {
    match name {
        "list" => pb::ResourceType::List,
        "campaign" => pb::ResourceType::Campaign,
        "automation" => pb::ResourceType::Automation,
        "segment" => pb::ResourceType::Segment,
        "template" => pb::ResourceType::Template,
        "suppression list" => pb::ResourceType::SuppressionList,
        other => panic!("a type docs/domain.md does not list: {other}"),
    }
}

fn pb_scopes(scopes: &BTreeMap<String, BTreeSet<String>>) -> Vec<pb::Scope> {
    scopes
        .iter()
        .map(|(kind, ids)| {
            let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
            scope(resource_type(kind), &ids)
        })
        .collect()
}

fn fail(what: &str, status: Status) -> TestCaseError {
    TestCaseError::fail(format!("{what}: {status:?}"))
}

/// The users of one case.
struct Cast {
    /// The account checked.
    account: String,
    parent: String,
    /// The user checked.
    user: String,
    /// Owner of the account (the user, when the scenario says so).
    owner: String,
    /// Owner of the parent (the user, when the scenario says so).
    parent_owner: String,
}

/// Builds the scenario through the API. Returns the scenario as the service
/// now holds it: scopes on types the role cannot reach are refused (rule 6,
/// `SCOPE_WITHOUT_PERMISSION`) and so dropped, after checking that refusal.
async fn build(app: &TestApp, mut s: Scenario) -> Result<(Cast, Scenario), TestCaseError> {
    let prefix = case_prefix();
    let user = format!("{prefix}-u");
    let is_owner = s.member.as_ref().is_some_and(model::MemberSpec::is_owner);
    let owns_parent = s.parent.flatten().is_some();
    let cast = Cast {
        account: format!("{prefix}-a"),
        parent: format!("{prefix}-p"),
        owner: if is_owner {
            user.clone()
        } else {
            format!("{prefix}-o")
        },
        parent_owner: if owns_parent {
            user.clone()
        } else {
            format!("{prefix}-po")
        },
        user,
    };
    if !s.exists {
        return Ok((cast, s));
    }
    let mut client = app.client.clone();
    if s.parent.is_some() {
        app.account(&cast.parent, &cast.parent_owner).await;
        app.child_account(&cast.account, &cast.owner, &cast.parent, &cast.parent_owner)
            .await;
    } else {
        app.account(&cast.account, &cast.owner).await;
    }
    if let Some(member) = s.member.as_mut().filter(|member| !member.is_owner()) {
        let role = match &mut member.role {
            RoleSpec::Builtin(name) => name.clone(),
            RoleSpec::Custom(permissions) => {
                // A role grants something: an empty one stands for "viewer-like".
                if permissions.is_empty() {
                    permissions.insert("reports.view".to_owned());
                }
                let names: Vec<&str> = permissions.iter().map(String::as_str).collect();
                app.create_role(&cast.owner, &cast.account, "custom", &names)
                    .await
                    .map_err(|status| fail("CreateRole", status))?;
                "custom".to_owned()
            }
        };
        let invitation = app
            .invite(&cast.owner, &cast.account, &cast.user, &role, vec![])
            .await
            .map_err(|status| fail("Invite", status))?;
        app.accept(&invitation.token, &cast.user)
            .await
            .map_err(|status| fail("AcceptInvitation", status))?;
        let mut reached: BTreeSet<String> = match &member.role {
            RoleSpec::Builtin(name) => DOCS.roles[name].clone(),
            RoleSpec::Custom(permissions) => permissions.clone(),
        };
        reached.extend(member.grants.iter().cloned());
        let update = |scopes: &BTreeMap<String, BTreeSet<String>>| pb::UpdateMemberRequest {
            actor_user_id: cast.owner.clone(),
            account_id: cast.account.clone(),
            user_id: cast.user.clone(),
            scopes: Some(pb::ScopeList {
                scopes: pb_scopes(scopes),
            }),
            extra_permissions: Some(pb::PermissionList {
                permissions: member.grants.iter().cloned().collect(),
            }),
            ..Default::default()
        };
        let meaningful: BTreeMap<String, BTreeSet<String>> = member
            .scopes
            .iter()
            .filter(|(kind, _)| reached.iter().any(|p| model::admits(kind, p)))
            .map(|(kind, ids)| (kind.clone(), ids.clone()))
            .collect();
        if meaningful != member.scopes {
            let status = client
                .update_member(update(&member.scopes))
                .await
                .expect_err("a scope the role cannot use is refused");
            let violation = status
                .get_details_bad_request()
                .and_then(|bad| bad.field_violations.into_iter().next());
            prop_assert_eq!(
                (status.code(), violation.map(|v| v.reason)),
                (Code::InvalidArgument, Some("SCOPE_WITHOUT_PERMISSION".to_owned())),
                "{:?}",
                status
            );
            member.scopes = meaningful;
        }
        client
            .update_member(update(&member.scopes))
            .await
            .map_err(|status| fail("UpdateMember", status))?;
        if member.deactivated {
            app.deactivate(&cast.owner, &cast.account, &cast.user)
                .await
                .map_err(|status| fail("DeactivateMember", status))?;
        }
    }
    for id in &s.shared_templates {
        client
            .share_template(pb::ShareTemplateRequest {
                actor_user_id: cast.parent_owner.clone(),
                account_id: cast.parent.clone(),
                template_id: id.clone(),
                child_account_ids: vec![cast.account.clone()],
            })
            .await
            .map_err(|status| fail("ShareTemplate", status))?;
    }
    for id in &s.shared_suppression_lists {
        client
            .share_suppression_list(pb::ShareSuppressionListRequest {
                actor_user_id: cast.parent_owner.clone(),
                account_id: cast.parent.clone(),
                suppression_list_id: id.clone(),
                child_account_ids: vec![],
            })
            .await
            .map_err(|status| fail("ShareSuppressionList", status))?;
    }
    if s.parent == Some(Some(false)) {
        app.close(&cast.parent_owner, &cast.parent)
            .await
            .map_err(|status| fail("CloseAccount (parent)", status))?;
    }
    // Closing first: a closed account changes no more, and allows nothing
    // whatever its policy (rule 1 before rule 3), so it keeps none.
    if s.closed {
        s.two_factor = false;
        app.close(&cast.owner, &cast.account)
            .await
            .map_err(|status| fail("CloseAccount", status))?;
    } else if s.two_factor {
        client
            .update_account_policy(pb::UpdateAccountPolicyRequest {
                actor_user_id: cast.owner.clone(),
                account_id: cast.account.clone(),
                require_two_factor: true,
            })
            .await
            .map_err(|status| fail("UpdateAccountPolicy", status))?;
    }
    Ok((cast, s))
}

/// The decision through the server agrees with the model.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorize_agrees_with_the_reference_model() {
    let app = TestApp::spawn_with(Db::Sqlite, |_| {}).await;
    let mut runner = TestRunner::new(config("proptest-regressions/it_authorize.txt"));
    let result = runner.run(&model::scenario(STORAGE), |scenario| {
        block_on(async {
            let (cast, s) = build(&app, scenario).await?;
            let answer = app
                .check_request(pb::AuthorizeRequest {
                    user_id: cast.user.clone(),
                    account_id: cast.account.clone(),
                    permission: s.permission.clone(),
                    resource: s.resource.as_ref().map(|(kind, id)| pb::Resource {
                        r#type: resource_type(kind).into(),
                        id: id.clone(),
                    }),
                    context: Some(pb::SessionContext {
                        mfa_verified: s.mfa_verified,
                    }),
                    ..Default::default()
                })
                .await;
            let expected = model::expect(&s);
            let reason = pb::DecisionReason::try_from(answer.reason)
                .map(|reason| {
                    reason
                        .as_str_name()
                        .trim_start_matches("DECISION_REASON_")
                        .to_owned()
                })
                .unwrap_or_default();
            prop_assert_eq!(answer.allowed, expected.allowed, "{:?}: {:?}", s, answer);
            prop_assert!(
                expected.reasons.contains(&reason.as_str()),
                "reason {}, the model accepts {:?}: {:?}",
                reason,
                expected.reasons,
                s
            );
            Ok(())
        })
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
}

/// A field's value: one known to be valid, one known to be bad, or random.
#[derive(Clone, Debug)]
enum Value {
    Good,
    Bad(String),
    Random(String),
}

impl Value {
    fn or(&self, good: &str) -> String {
        match self {
            Self::Good => good.to_owned(),
            Self::Bad(raw) | Self::Random(raw) => raw.clone(),
        }
    }
}

/// Values for an id field: empty, spaces around, too long, or random text.
fn id_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        2 => Just(Value::Good),
        1 => prop_oneof![
            Just(String::new()),
            "[a-z0-9]{1,8}".prop_map(|id| format!(" {id}")),
            "[a-z0-9]{1,8}".prop_map(|id| format!("{id}\t")),
            Just("x".repeat(129)),
        ]
        .prop_map(Value::Bad),
        2 => "\\PC{0,40}".prop_map(Value::Random),
    ]
}

fn permission_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        2 => Just(Value::Good),
        1 => prop_oneof![Just(String::new()), Just("campaigns.launch".to_owned()), Just("Campaigns.View".to_owned())]
            .prop_map(Value::Bad),
        2 => "\\PC{0,30}".prop_map(Value::Random),
    ]
}

fn email_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        2 => Just(Value::Good),
        1 => prop_oneof![
            Just(String::new()),
            Just("no-at-sign".to_owned()),
            Just(format!("{}@example.com", "x".repeat(260))),
            Just("someone@displaced.invalid".to_owned()),
        ]
        .prop_map(Value::Bad),
        2 => "\\PC{0,40}".prop_map(Value::Random),
    ]
}

/// What an answer may be: OK, or INVALID_ARGUMENT whose fields were all
/// sent random or bad values, naming each bad one. `also` are fields a
/// refusal may name because of another field's value (a permission that
/// cannot be checked on the resource's type names `resource.type`).
fn judge(
    result: Result<(), Status>,
    fields: &[(&str, &Value)],
    also: &[(&str, &Value)],
) -> Result<(), TestCaseError> {
    let bad: Vec<&str> = fields
        .iter()
        .filter(|(_, value)| matches!(value, Value::Bad(_)))
        .map(|(field, _)| *field)
        .collect();
    let status = match result {
        Ok(()) => {
            prop_assert!(bad.is_empty(), "OK although {:?} were bad", bad);
            return Ok(());
        }
        Err(status) => status,
    };
    prop_assert_eq!(status.code(), Code::InvalidArgument, "{:?}", status);
    let named: Vec<String> = status
        .get_details_bad_request()
        .map(|details| details.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default();
    prop_assert!(!named.is_empty(), "INVALID_ARGUMENT names no field: {:?}", status);
    for field in &named {
        prop_assert!(
            fields
                .iter()
                .chain(also)
                .any(|(name, value)| name == field && !matches!(value, Value::Good)),
            "{} was named though it was valid: {:?}",
            field,
            status
        );
    }
    for field in bad {
        prop_assert!(
            named.iter().any(|n| n == field),
            "{} not named: {:?}",
            field,
            status
        );
    }
    Ok(())
}

/// Authorize, Invite and ShareSuppressionList with random values: never a
/// failure of the server, only OK or INVALID_ARGUMENT naming exactly what
/// was wrong (or, for a random but well-formed name of something that does
/// not exist, the refusal that says so).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_requests_are_answered_ok_or_invalid_argument_naming_the_field() {
    let app = TestApp::spawn_with(Db::Sqlite, |_| {}).await;
    app.account("acme", "owner").await;
    let strategy = (
        (id_value(), id_value(), permission_value(), id_value()),
        (
            email_value(),
            prop_oneof![Just(Value::Good), "\\PC{0,20}".prop_map(Value::Random)],
        ),
        (id_value(), id_value()),
    );
    let mut runner = TestRunner::new(Config {
        cases: CASES * 4,
        ..config("proptest-regressions/it_validation.txt")
    });
    let result = runner.run(
        &strategy,
        |((user, account, permission, resource), (address, role), (list, child))| {
            block_on(async {
                let mut client = app.client.clone();
                let answer = client
                    .authorize(pb::AuthorizeRequest {
                        user_id: user.or("owner"),
                        account_id: account.or("acme"),
                        permission: permission.or("lists.edit"),
                        resource: Some(pb::Resource {
                            r#type: pb::ResourceType::List.into(),
                            id: resource.or("4"),
                        }),
                        ..Default::default()
                    })
                    .await
                    .map(drop);
                judge(
                    answer,
                    &[
                        ("user_id", &user),
                        ("account_id", &account),
                        ("permission", &permission),
                        ("resource.id", &resource),
                    ],
                    &[("resource.type", &permission)],
                )?;
                // A fresh address per case: repeats would meet the pending invitation.
                let answer = client
                    .invite(pb::InviteRequest {
                        actor_user_id: "owner".into(),
                        account_id: "acme".into(),
                        email: address.or(&email(&case_prefix())),
                        role: role.or("viewer"),
                        ..Default::default()
                    })
                    .await;
                let answer = match answer {
                    // A random address may repeat one already invited.
                    Err(status)
                        if status.code() == Code::AlreadyExists
                            || status.code() == Code::FailedPrecondition =>
                    {
                        prop_assert!(matches!(address, Value::Random(_)), "{:?}", status);
                        Ok(())
                    }
                    // A random role name is unknown (or names a role that exists).
                    other => other.map(drop),
                };
                judge(answer, &[("email", &address), ("role", &role)], &[])?;
                let answer = client
                    .share_suppression_list(pb::ShareSuppressionListRequest {
                        actor_user_id: "owner".into(),
                        account_id: "acme".into(),
                        suppression_list_id: list.or("sup-1"),
                        child_account_ids: match &child {
                            Value::Good => vec![],
                            Value::Bad(raw) | Value::Random(raw) => vec![raw.clone()],
                        },
                    })
                    .await;
                let answer = match answer {
                    // A well-formed child id names no account here.
                    Err(status) if status.code() == Code::NotFound => {
                        prop_assert!(matches!(child, Value::Random(_)), "{:?}", status);
                        Ok(())
                    }
                    other => other.map(drop),
                };
                judge(
                    answer,
                    &[("suppression_list_id", &list), ("child_account_ids[0]", &child)],
                    &[],
                )
            })
        },
    );
    if let Err(failure) = result {
        panic!("{failure}");
    }
}
