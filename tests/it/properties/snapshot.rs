//! One snapshot per decision: the facts of a check are read
//! in one consistent read, so a check racing a change sees the state before
//! it or after it, never a mix. The mix this guards against: the old role
//! (list manager) with the new scopes (none), which would allow editing a
//! list the member was never scoped to.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use access_service::grpc::pb;
use pb::ResourceType::List;

use crate::support::{TestApp, check, scope};

/// Role changes made while the checks run.
const TOGGLES: usize = 30;
/// Tasks asking at once.
const CHECKERS: usize = 4;

fn member_change(role: &str, scopes: Vec<pb::Scope>) -> pb::UpdateMemberRequest {
    pb::UpdateMemberRequest {
        actor_user_id: "olivia".into(),
        account_id: "acme".into(),
        user_id: "lee".into(),
        role: role.into(),
        scopes: Some(pb::ScopeList { scopes }),
        ..Default::default()
    }
}

fn requirement(n: u64) -> Option<pb::Consistency> {
    use pb::consistency::Requirement;
    // Half straight from the database, half through the cache.
    let requirement = if n.is_multiple_of(2) {
        Requirement::FullyConsistent(true)
    } else {
        Requirement::MinimizeLatency(true)
    };
    Some(pb::Consistency {
        requirement: Some(requirement),
    })
}

async fn a_check_racing_a_role_change_never_mixes_two_states(app: TestApp) {
    app.account("acme", "olivia").await;
    app.member(
        "olivia",
        "acme",
        "lee",
        "list_manager",
        vec![scope(List, &["4", "9"])],
    )
    .await;
    let done = Arc::new(AtomicBool::new(false));
    let impossible = Arc::new(AtomicU64::new(0));
    let scoped_allowed = Arc::new(AtomicU64::new(0));
    let scoped_denied = Arc::new(AtomicU64::new(0));
    let mut checkers = Vec::new();
    for _ in 0..CHECKERS {
        let mut client = app.client.clone();
        let (done, impossible) = (Arc::clone(&done), Arc::clone(&impossible));
        let (scoped_allowed, scoped_denied) = (Arc::clone(&scoped_allowed), Arc::clone(&scoped_denied));
        checkers.push(tokio::spawn(async move {
            let mut n = 0;
            while !done.load(Ordering::Acquire) {
                n += 1;
                // List 5 is in no state's scope: allowed only from torn facts.
                let mut outside = check("lee", "acme", "lists.edit", Some((List, "5")));
                outside.consistency = requirement(n);
                if client
                    .authorize(outside)
                    .await
                    .expect("answers")
                    .into_inner()
                    .allowed
                {
                    impossible.fetch_add(1, Ordering::Relaxed);
                }
                let mut inside = check("lee", "acme", "lists.edit", Some((List, "4")));
                inside.consistency = requirement(n);
                let counter = if client
                    .authorize(inside)
                    .await
                    .expect("answers")
                    .into_inner()
                    .allowed
                {
                    &scoped_allowed
                } else {
                    &scoped_denied
                };
                counter.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let mut client = app.client.clone();
    for _ in 0..TOGGLES {
        client
            .update_member(member_change("viewer", vec![]))
            .await
            .expect("to viewer, unscoped");
        client
            .update_member(member_change("list_manager", vec![scope(List, &["4", "9"])]))
            .await
            .expect("back to a scoped list manager");
    }
    done.store(true, Ordering::Release);
    for checker in checkers {
        checker.await.expect("checker finishes");
    }
    let (allowed, denied) = (
        scoped_allowed.load(Ordering::Relaxed),
        scoped_denied.load(Ordering::Relaxed),
    );
    // Both states were seen, so the race was really run.
    assert!(
        allowed > 0 && denied > 0,
        "list 4: {allowed} allowed, {denied} denied"
    );
    assert_eq!(
        impossible.load(Ordering::Relaxed),
        0,
        "list 5 was allowed: facts mixed two states ({} checks)",
        allowed + denied
    );
}

crate::on_both_databases!(workers = 4; a_check_racing_a_role_change_never_mixes_two_states);
