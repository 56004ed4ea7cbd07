//! BatchAuthorize reads the facts of all its (user, account) pairs together;
//! whatever it reads, each answer must be the one Authorize gives alone.

use access_service::grpc::pb;
use pb::ResourceType::{List, Template};

use crate::support::{Client, TestApp, check, scope, share};

/// A team with two children and every kind of membership a decision tells
/// apart: built-in and custom roles, extra grants, scopes, a deactivated
/// member, the parent's owner, templates shared with every child or one.
async fn varied_team(app: &TestApp) {
    app.team(&["a", "b"]).await;
    app.create_role(
        "owner-a",
        "child-a",
        "reporter",
        &["reports.view", "reports.export"],
    )
    .await
    .expect("custom role created");
    app.member("owner-a", "child-a", "rita", "reporter", vec![]).await;
    app.member(
        "owner-a",
        "child-a",
        "lee",
        "list_manager",
        vec![scope(List, &["4"])],
    )
    .await;
    app.member("owner-a", "child-a", "dee", "admin", vec![]).await;
    app.deactivate("owner-a", "child-a", "dee")
        .await
        .expect("deactivated");
    app.member("owner-b", "child-b", "val", "viewer", vec![]).await;
    app.client
        .clone()
        .update_member(pb::UpdateMemberRequest {
            actor_user_id: "owner-b".into(),
            account_id: "child-b".into(),
            user_id: "val".into(),
            extra_permissions: Some(pb::PermissionList {
                permissions: vec!["campaigns.send".into()],
            }),
            ..Default::default()
        })
        .await
        .expect("grant given");
    app.member("owner-b", "child-b", "des", "designer", vec![]).await;
    let mut client = app.client.clone();
    client
        .share_template(share("boss", "team", "tpl-all", &[]))
        .await
        .expect("shared with every child");
    client
        .share_template(share("boss", "team", "tpl-a", &["child-a"]))
        .await
        .expect("shared with child-a");
}

/// Every user × account × a few permissions and resources: well over a
/// batch, with pairs that exist, pairs that do not, and repeats.
fn varied_checks() -> Vec<pb::AuthorizeRequest> {
    let users = ["boss", "owner-a", "rita", "lee", "dee", "val", "des", "nobody"];
    let accounts = ["team", "child-a", "child-b", "missing"];
    let asks: [(&str, Option<(pb::ResourceType, &str)>); 7] = [
        ("reports.export", None),
        ("campaigns.send", None),
        ("lists.edit", Some((List, "4"))),
        ("lists.edit", Some((List, "5"))),
        ("templates.edit", Some((Template, "tpl-all"))),
        ("templates.edit", Some((Template, "tpl-a"))),
        ("templates.view", Some((Template, "tpl-a"))),
    ];
    let mut checks = Vec::new();
    for user in users {
        for account in accounts {
            for (permission, resource) in asks {
                checks.push(check(user, account, permission, resource));
            }
        }
    }
    checks
}

/// The answer Authorize gives each check alone, in order.
async fn alone(client: &mut Client, checks: &[pb::AuthorizeRequest]) -> Vec<pb::AuthorizeResponse> {
    let mut answers = Vec::with_capacity(checks.len());
    for request in checks {
        answers.push(
            client
                .authorize(request.clone())
                .await
                .expect("authorize answers")
                .into_inner(),
        );
    }
    answers
}

async fn batch_answers_each_check_as_authorize_does(app: TestApp) {
    varied_team(&app).await;
    let checks = varied_checks();
    let mut client = app.client.clone();
    let alone = alone(&mut client, &checks).await;
    assert!(alone.iter().any(|a| a.allowed) && alone.iter().any(|a| !a.allowed));
    let mut together = Vec::new();
    // Batches in a scrambled order, so each holds many distinct pairs.
    let mut order: Vec<usize> = (0..checks.len()).collect();
    order.sort_by_key(|&i| (i * 37) % checks.len());
    for batch in order.chunks(100) {
        let request = pb::BatchAuthorizeRequest {
            checks: batch.iter().map(|&i| checks[i].clone()).collect(),
            ..Default::default()
        };
        let answers = client
            .batch_authorize(request)
            .await
            .expect("batch answers")
            .into_inner();
        together.extend(batch.iter().copied().zip(answers.results));
    }
    together.sort_by_key(|(i, _)| *i);
    for ((i, batched), single) in together.iter().zip(&alone) {
        assert_eq!(batched, single, "check {i}: {:?}", checks[*i]);
    }
    assert_eq!(together.len(), checks.len());
}

/// A batch judges each (user, account) pair once for each two-factor state
/// its checks come with: checks of one pair with and without a verified
/// session, interleaved with other pairs and repeated out of order, are each
/// answered as Authorize answers them alone (reason, role, parent, token).
async fn batch_tells_two_factor_states_of_one_pair_apart(app: TestApp) {
    varied_team(&app).await;
    app.client
        .clone()
        .update_account_policy(pb::UpdateAccountPolicyRequest {
            actor_user_id: "owner-a".into(),
            account_id: "child-a".into(),
            require_two_factor: true,
        })
        .await
        .expect("two-factor required in child-a");
    let verified = |mut request: pb::AuthorizeRequest, on: bool| {
        request.context = Some(pb::SessionContext { mfa_verified: on });
        request
    };
    let mut checks = Vec::new();
    for round in 0..3 {
        for (user, account) in [
            ("rita", "child-a"),
            ("boss", "child-a"),
            ("val", "child-b"),
            ("nobody", "child-a"),
            ("dee", "child-a"),
        ] {
            for (permission, resource) in [
                ("reports.view", None),
                ("lists.edit", Some((List, "4"))),
                ("templates.edit", Some((Template, "tpl-a"))),
            ] {
                let ask = check(user, account, permission, resource);
                // The same pair asks verified, then not, then unset, by round.
                checks.push(match round {
                    0 => verified(ask, true),
                    1 => verified(ask, false),
                    _ => ask,
                });
            }
        }
    }
    let mut client = app.client.clone();
    let alone = alone(&mut client, &checks).await;
    let reasons: Vec<pb::DecisionReason> = alone.iter().map(|a| a.reason()).collect();
    assert!(reasons.contains(&pb::DecisionReason::MfaRequired));
    assert!(
        alone
            .iter()
            .any(|a| a.allowed && a.via_parent_account_id == "team")
    );
    let together = client
        .batch_authorize(pb::BatchAuthorizeRequest {
            checks: checks.clone(),
            ..Default::default()
        })
        .await
        .expect("batch answers")
        .into_inner()
        .results;
    assert_eq!(together.len(), checks.len());
    for (i, (batched, single)) in together.iter().zip(&alone).enumerate() {
        assert_eq!(batched, single, "check {i}: {:?}", checks[i]);
    }
}

crate::on_both_databases!(
    batch_answers_each_check_as_authorize_does,
    batch_tells_two_factor_states_of_one_pair_apart,
);
