//! What a request may carry: lengths both databases store whole, counts,
//! what a refusal echoes (docs/domain.md, "What a caller learns"), and which
//! resource a permission may name (rule 2).

use access_service::grpc::pb;
use access_service::grpc::pb::ResourceType::{Campaign, List, Template};
use pb::DecisionReason as R;
use tonic::Code;
use tonic_types::StatusExt;

use crate::support::{TestApp, bad_fields, create_child, expect_code, reason, scope, share};

/// The newest activity entry of `account` with `action`, as ListActivity answers it.
async fn newest_activity(app: &TestApp, account: &str, action: &str) -> pb::ActivityEntry {
    app.client
        .clone()
        .list_activity(pb::ListActivityRequest {
            actor_user_id: "owner".into(),
            account_id: account.into(),
            filter_action: action.into(),
            page_size: 1,
            ..Default::default()
        })
        .await
        .expect("list activity")
        .into_inner()
        .entries
        .into_iter()
        .next()
        .expect("an entry")
}

/// Limits: a role description is one line of at most 255 characters, as
/// its column holds on both databases (multi-byte characters included).
async fn role_descriptions_fit_their_column(app: TestApp) {
    app.account("acme", "owner").await;
    let mut client = app.client.clone();
    let longest = "é".repeat(255);
    let role = client
        .create_role(pb::CreateRoleRequest {
            actor_user_id: "owner".into(),
            account_id: "acme".into(),
            name: "long".into(),
            description: longest.clone(),
            permissions: vec!["campaigns.view".into()],
        })
        .await
        .expect("the longest description is stored")
        .into_inner()
        .role
        .expect("role");
    assert_eq!(role.description, longest);
    let before = app.table_counts().await;
    let status = expect_code(
        client
            .create_role(pb::CreateRoleRequest {
                actor_user_id: "owner".into(),
                account_id: "acme".into(),
                name: "longer".into(),
                description: "é".repeat(256),
                permissions: vec!["campaigns.view".into()],
            })
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(bad_fields(&status), vec!["description"]);
    let status = expect_code(
        client
            .update_role(pb::UpdateRoleRequest {
                description: "é".repeat(256),
                ..crate::support::update_role("owner", "acme", "long", &["campaigns.view"])
            })
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(bad_fields(&status), vec!["description"]);
    assert_eq!(app.table_counts().await, before, "refusals write nothing");
}

/// Limits: declining is logged with the invitee's email as the actor (they
/// may have no user id yet), so the actor column holds the longest email.
async fn a_decline_by_the_longest_email_is_logged(app: TestApp) {
    app.account("acme", "owner").await;
    let address = format!("{}@example.com", "d".repeat(254 - "@example.com".len()));
    assert_eq!(address.len(), 254);
    let invited = app
        .client
        .clone()
        .invite(pb::InviteRequest {
            actor_user_id: "owner".into(),
            account_id: "acme".into(),
            email: address.clone(),
            role: "viewer".into(),
            ..Default::default()
        })
        .await
        .expect("invite the longest address")
        .into_inner();
    app.client
        .clone()
        .decline_invitation(pb::DeclineInvitationRequest { token: invited.token })
        .await
        .expect("the invitee declines");
    let entry = newest_activity(&app, "acme", "invitation.decline").await;
    assert_eq!(entry.actor_user_id, address);
    assert_eq!(entry.target, address);
}

/// Shapes: an email is a bare `local@host` address, so the mailbox stored
/// and shown is the one mail goes to (`<v@x.com>` would be mailed to
/// `v@x.com`), and a name holds no control or format characters (a bidi
/// override shows "Olivia" for another name). Refused as INVALID_ARGUMENT
/// naming each field, writing nothing.
async fn emails_and_names_mean_what_they_show(app: TestApp) {
    app.account("acme", "owner").await;
    let mut client = app.client.clone();
    let before = app.table_counts().await;
    for (email, name) in [
        ("<v@x.com>", "Oli\u{202e}aivl"),
        ("Vic <v@x.com>", "a\u{2066}b\u{2069}"),
        ("v(c)@x.com", "Zo\u{ad}e"),
        ("\"a b\"@x.com", "Ann\u{200b}"),
    ] {
        let status = expect_code(
            client
                .invite(pb::InviteRequest {
                    actor_user_id: "owner".into(),
                    account_id: "acme".into(),
                    email: email.into(),
                    invitee_name: name.into(),
                    role: "viewer".into(),
                    ..Default::default()
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["email", "invitee_name"], "{email} {name:?}");
        assert!(
            status.message().contains("not a valid email address"),
            "{status:?}"
        );

        let mut owner = crate::support::person("newcomer");
        owner.email = email.into();
        owner.name = name.into();
        let status = expect_code(
            client
                .create_account(pb::CreateAccountRequest {
                    name: name.into(),
                    ..crate::support::create_account("beta", owner)
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(
            bad_fields(&status),
            ["name", "owner.email", "owner.name"],
            "{email} {name:?}"
        );
    }
    assert_eq!(app.table_counts().await, before, "refusals write nothing");
    // The plain forms of the same are fine.
    client
        .invite(pb::InviteRequest {
            actor_user_id: "owner".into(),
            account_id: "acme".into(),
            email: "v@x.com".into(),
            invitee_name: "Olivia \u{645}\u{62d}\u{645}\u{62f}".into(),
            role: "viewer".into(),
            ..Default::default()
        })
        .await
        .expect("a bare address and a name in two scripts");
}

/// Limits: ShareTemplate names at most 1,000 chosen children, and the
/// activity entry lists every one of them, longest ids included.
async fn sharing_with_many_children_is_logged_whole(app: TestApp) {
    app.account("team", "boss").await;
    let children: Vec<String> = (0..520).map(|i| format!("{i:03}-{}", "c".repeat(124))).collect();
    for child in &children {
        assert_eq!(child.len(), 128);
        app.client
            .clone()
            .create_account(create_child(child, "owner", "team", "boss"))
            .await
            .expect("child created");
    }
    let names: Vec<&str> = children.iter().map(String::as_str).collect();
    app.client
        .clone()
        .share_template(share("boss", "team", "tpl", &names))
        .await
        .expect("shared with 520 children");
    let entry = app
        .client
        .clone()
        .list_activity(pb::ListActivityRequest {
            actor_user_id: "boss".into(),
            account_id: "team".into(),
            filter_action: "template.share".into(),
            ..Default::default()
        })
        .await
        .expect("list activity")
        .into_inner()
        .entries
        .into_iter()
        .next()
        .expect("the share is logged");
    let details: serde_json::Value = serde_json::from_str(&entry.details_json).expect("json");
    assert_eq!(details["children"].as_array().map(Vec::len), Some(520));

    let before = app.table_counts().await;
    let too_many: Vec<String> = (0..1001).map(|i| format!("x{i}")).collect();
    let names: Vec<&str> = too_many.iter().map(String::as_str).collect();
    let status = expect_code(
        app.client
            .clone()
            .share_template(share("boss", "team", "tpl-2", &names))
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(bad_fields(&status), vec!["child_account_ids"]);
    assert_eq!(app.table_counts().await, before, "a refusal writes nothing");
}

/// Refusals echo a bounded part of what was sent: a permission string of
/// 200 KB (near the request size limit), or thousands of bad ones, answer a message of a few hundred bytes that
/// still says what was wrong.
async fn refusals_echo_a_bounded_part_of_the_input(app: TestApp) {
    app.account("acme", "owner").await;
    let huge = "x".repeat(200_000);
    let status = expect_code(
        app.client
            .clone()
            .authorize(crate::support::check("owner", "acme", &huge, None))
            .await,
        Code::InvalidArgument,
    );
    assert!(
        status.message().len() < 1024,
        "message of {} bytes",
        status.message().len()
    );
    assert!(
        status.message().contains("xxxxxxxx"),
        "still shows what was sent: {}",
        status.message()
    );
    let described: usize = status
        .get_details_bad_request()
        .expect("bad request details")
        .field_violations
        .iter()
        .map(|v| v.description.len())
        .sum();
    assert!(described < 1024, "details of {described} bytes");

    // 400 of 500 bytes: under the request size limit, far over what a refusal lists.
    let many: Vec<String> = (0..400)
        .map(|i| format!("bad.permission{i}{}", "y".repeat(500)))
        .collect();
    let status = expect_code(
        app.client
            .clone()
            .create_role(pb::CreateRoleRequest {
                actor_user_id: "owner".into(),
                account_id: "acme".into(),
                name: "many".into(),
                description: String::new(),
                permissions: many,
            })
            .await,
        Code::InvalidArgument,
    );
    assert!(
        status.message().len() < 8192,
        "message of {} bytes",
        status.message().len()
    );
    assert!(
        status.message().contains("more"),
        "says that more were refused: {}",
        &status.message()[..200.min(status.message().len())]
    );
    let violations = status
        .get_details_bad_request()
        .expect("bad request details")
        .field_violations;
    assert!(violations.len() <= 21, "{} violations", violations.len());
}

/// Rule 2: a scope narrows the permissions of its resource type's areas, so
/// a check pairing a permission with a resource of another type (lists.edit
/// on a campaign) would skip the scope: it is refused as INVALID_ARGUMENT.
async fn a_check_pairs_a_permission_with_a_resource_of_its_area(app: TestApp) {
    app.account("acme", "owner").await;
    app.member("owner", "acme", "lm", "list_manager", vec![scope(List, &["4"])])
        .await;
    let mut client = app.client.clone();
    let status = expect_code(
        client
            .authorize(crate::support::check(
                "lm",
                "acme",
                "lists.edit",
                Some((Campaign, "5")),
            ))
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(bad_fields(&status), vec!["resource.type"]);
    assert!(status.message().contains("lists.edit"), "{status:?}");
    let status = expect_code(
        client
            .batch_authorize(pb::BatchAuthorizeRequest {
                checks: vec![
                    crate::support::check("lm", "acme", "lists.edit", Some((List, "4"))),
                    crate::support::check("lm", "acme", "contacts.view", Some((Template, "t"))),
                ],
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(bad_fields(&status), vec!["checks[1].resource.type"]);

    assert_eq!(
        reason(&app.check_on("lm", "acme", "contacts.edit", (List, "5")).await),
        R::OutOfScope,
        "contacts live in lists: a list scope narrows them"
    );
    assert!(
        app.check_on("lm", "acme", "contacts.edit", (List, "4"))
            .await
            .allowed
    );
    assert!(
        app.check_on("owner", "acme", "campaigns.edit", (Template, "t"))
            .await
            .allowed
    );
    assert!(
        app.check_on("owner", "acme", "reports.view", (Campaign, "7"))
            .await
            .allowed
    );
}

crate::on_both_databases!(
    role_descriptions_fit_their_column,
    a_decline_by_the_longest_email_is_logged,
    emails_and_names_mean_what_they_show,
    sharing_with_many_children_is_logged_whole,
    refusals_echo_a_bounded_part_of_the_input,
    a_check_pairs_a_permission_with_a_resource_of_its_area,
);
