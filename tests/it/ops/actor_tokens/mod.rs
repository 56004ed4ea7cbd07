//! Actor tokens (docs/domain.md rule 15): the acting person is the subject
//! of a token from the platform's identity provider, verified against a
//! real issuer of the test's own (its keys served over HTTP from a port of
//! its own, or from a file); two-factor, the sign-in time and the proof of
//! an address come from the token.

mod acts;
mod keys;
mod verification;

use access_service::grpc::ACTOR_TOKEN_HEADER;
use access_service::grpc::pb;
use serde_json::json;

use crate::support::issuer::TestIssuer;
use crate::support::{Db, TestApp, create_account, person};

/// `message` sent for the person `token` proves.
pub fn as_actor<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert(ACTOR_TOKEN_HEADER, token.parse().expect("an ASCII token"));
    request
}

/// A server in the token mode for `issuer`, with account `acme` owned by
/// `owner` (created by the platform: no person acts, so no token).
pub async fn token_server(kind: Db, issuer: &TestIssuer) -> TestApp {
    let app = TestApp::spawn_with(kind, |config| issuer.configure(config)).await;
    app.client
        .clone()
        .create_account(create_account("acme", person("owner")))
        .await
        .expect("the platform creates an account without a token");
    app
}

/// ListUsers of `acme` for whoever `token` proves, the actor left for the token to fill.
pub async fn list_users_as(app: &TestApp, token: &str) -> Result<pb::ListUsersResponse, tonic::Status> {
    app.client
        .clone()
        .list_users(as_actor(
            pb::ListUsersRequest {
                account_id: "acme".into(),
                ..Default::default()
            },
            token,
        ))
        .await
        .map(tonic::Response::into_inner)
}

/// The usual claims with a second factor.
pub fn with_mfa() -> serde_json::Value {
    json!({ "amr": ["pwd", "mfa"] })
}

/// The RPCs no person acts in: checks and lookups (the person is their
/// subject, not their actor), the platform's own calls, and DeclineInvitation
/// (its token is the only name it carries).
const NAMING_NO_ONE: &[&str] = &[
    "Authorize",
    "BatchAuthorize",
    "GetEffectivePermissions",
    "LookupAccounts",
    "LookupResources",
    "LookupMembers",
    "SetAccountLimits",
    "CloseAccountAsPlatform",
    "DeclineInvitation",
];

/// Every RPC of the API is either one the test channel mints a token for
/// (it reads the person from the request, through the server's own
/// `ActsFor`) or one named here as acting for no one: a new RPC that names
/// a person, left out of the channel's table, would run every test in the
/// token mode without a token.
#[test]
fn every_rpc_is_placed_as_acting_for_a_person_or_for_no_one() {
    use prost::Message;
    let set = prost_types::FileDescriptorSet::decode(access_service::grpc::pb::FILE_DESCRIPTOR_SET)
        .expect("the API's descriptors");
    let methods: Vec<String> = set
        .file
        .iter()
        .flat_map(|file| &file.service)
        .filter(|service| service.name() == "AccessService")
        .flat_map(|service| &service.method)
        .map(|method| method.name().to_owned())
        .collect();
    assert!(methods.len() > 40, "the service's methods: {methods:?}");
    for method in &methods {
        let named = crate::support::NAMING_A_PERSON.contains(&method.as_str());
        let no_one = NAMING_NO_ONE.contains(&method.as_str());
        assert!(
            named != no_one,
            "{method}: in the test channel's table {named}, acting for no one {no_one}: place it in exactly one"
        );
    }
    for listed in crate::support::NAMING_A_PERSON.iter().chain(NAMING_NO_ONE) {
        assert!(
            methods.iter().any(|m| m == listed),
            "{listed} is no RPC of the API"
        );
    }
}
