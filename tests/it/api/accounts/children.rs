//! Rule 16 of docs/domain.md: who creates a child account, who may own it,
//! and the plan it starts on.

use access_service::grpc::pb;
use access_service::grpc::pb::ResourceType::List;
use tonic::Code;

use crate::support::{TestApp, assert_refused, create_child, scope};

/// A team whose parent "team" (owned by "boss") has an unscoped power user
/// "pu" (who holds subaccounts.manage but may invite nobody), a power user
/// "narrow" scoped to list 4, an active viewer "colleague" and a
/// deactivated viewer "gone".
async fn team_with_creators(app: &TestApp) {
    app.account("team", "boss").await;
    app.member("boss", "team", "pu", "power_user", vec![]).await;
    app.member("boss", "team", "narrow", "power_user", vec![scope(List, &["4"])])
        .await;
    app.member("boss", "team", "colleague", "viewer", vec![]).await;
    app.member("boss", "team", "gone", "viewer", vec![]).await;
    app.deactivate("boss", "team", "gone")
        .await
        .expect("gone deactivated");
}

async fn create(app: &TestApp, request: pb::CreateAccountRequest) -> Result<pb::Account, tonic::Status> {
    app.client
        .clone()
        .create_account(request)
        .await
        .map(|response| response.into_inner().account.expect("account returned"))
}

/// Rule 16: a creator other than the parent's owner makes a child only for
/// themselves or an active member of the parent: naming anyone else would
/// bring a person into the team without an invitation. The parent's owner
/// names anyone. Refusals write nothing.
async fn a_child_is_owned_by_its_creator_or_a_member_of_the_parent(app: TestApp) {
    team_with_creators(&app).await;
    let before = app.table_counts().await;
    for owner in ["outsider", "gone"] {
        let status = assert_refused(
            create(&app, create_child("kid", owner, "team", "pu")).await,
            Code::FailedPrecondition,
            "CHILD_OWNER_NOT_IN_TEAM",
        );
        assert!(status.message().contains("invite"), "{status:?}");
    }
    assert_eq!(app.table_counts().await, before, "refusals write nothing");
    assert!(
        app.check("outsider", "kid", "account.view").await.reason() == pb::DecisionReason::AccountNotFound,
        "no child was made"
    );

    let own = create(&app, create_child("kid-pu", "pu", "team", "pu"))
        .await
        .unwrap();
    assert_eq!(own.owner.unwrap().user_id, "pu");
    let colleagues = create(&app, create_child("kid-colleague", "colleague", "team", "pu"))
        .await
        .unwrap();
    assert_eq!(colleagues.owner.unwrap().user_id, "colleague");
    let outsiders = create(&app, create_child("kid-outsider", "outsider", "team", "boss"))
        .await
        .unwrap();
    assert_eq!(
        outsiders.owner.unwrap().user_id,
        "outsider",
        "the parent's owner names anyone"
    );
}

/// Rule 16: a child's owner holds everything in it, so a creator narrowed
/// to some resources of the parent creates none, not even for themselves.
async fn a_scoped_creator_makes_no_child(app: TestApp) {
    team_with_creators(&app).await;
    let before = app.table_counts().await;
    for owner in ["narrow", "colleague"] {
        assert_refused(
            create(&app, create_child("kid", owner, "team", "narrow")).await,
            Code::PermissionDenied,
            "PRIVILEGE_ESCALATION",
        );
    }
    assert_eq!(app.table_counts().await, before, "refusals write nothing");
}

/// Rule 16: a child starts on its parent's plan quotas (rule 14), which then
/// hold in it; the platform changes them for the child alone.
async fn a_child_starts_on_its_parents_plan(app: TestApp) {
    app.account("team", "boss").await;
    app.set_limits("team", Some(2), Some(0))
        .await
        .expect("team limits");
    let child = app.child_account("kid", "boss", "team", "boss").await;
    assert_eq!(
        (child.max_members, child.max_restricted_members),
        (Some(2), Some(0))
    );
    let fetched = app.get_account("kid").await;
    assert_eq!(
        (fetched.max_members, fetched.max_restricted_members),
        (Some(2), Some(0)),
        "stored, not only answered"
    );
    assert_refused(
        app.invite("boss", "kid", "dev", "developer", vec![]).await,
        Code::ResourceExhausted,
        "RESTRICTED_ROLE_LIMIT_REACHED",
    );
    app.invite("boss", "kid", "bob", "viewer", vec![])
        .await
        .expect("the second seat");
    assert_refused(
        app.invite("boss", "kid", "carol", "viewer", vec![]).await,
        Code::ResourceExhausted,
        "MEMBER_LIMIT_REACHED",
    );

    let lifted = app
        .set_limits("kid", None, None)
        .await
        .expect("the platform lifts them");
    assert_eq!((lifted.max_members, lifted.max_restricted_members), (None, None));
    app.invite("boss", "kid", "carol", "viewer", vec![])
        .await
        .expect("no quota now");
    let parent = app.get_account("team").await;
    assert_eq!(
        (parent.max_members, parent.max_restricted_members),
        (Some(2), Some(0)),
        "the parent keeps its own"
    );
}

crate::on_both_databases!(
    a_child_is_owned_by_its_creator_or_a_member_of_the_parent,
    a_scoped_creator_makes_no_child,
    a_child_starts_on_its_parents_plan,
);
