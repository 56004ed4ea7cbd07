//! TLS on the listener, mTLS client identities standing for API keys, the
//! API key file read again when it changes, the plaintext health port for
//! probes, and OTLP export to an https:// collector. Every certificate is
//! made by the test (`support/pki.rs`, rcgen), in a directory of its own.

use std::time::Duration;

use access_service::grpc::pb;
use access_service::tls::ClientAuth;
use access_service::{Config, tls};
use rcgen::{ExtendedKeyUsagePurpose, SanType};
use tonic::Code;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_types::StatusExt;

use crate::support::{
    Db, TestApp, api_keys, create_account, error_reason, person,
    pki::{Ca, Files, Leaf, tls_channel},
};

/// A client over a new TLS connection presenting `client` (which must connect).
async fn client_with_cert(
    addr: std::net::SocketAddr,
    ca: &Ca,
    client: Option<&Leaf>,
) -> pb::access_service_client::AccessServiceClient<Channel> {
    let channel = tls_channel(addr, &ca.pem(), client).await.expect("connects");
    pb::access_service_client::AccessServiceClient::new(channel)
}

/// Health over `channel`: SERVING, or why not.
async fn health(channel: Channel) -> Result<ServingStatus, tonic::Status> {
    let answer = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await?;
    Ok(answer.into_inner().status())
}

/// Whether a health check over a new TLS connection (trusting `ca`, with
/// `client`) is answered: an error says where it failed.
async fn reachable(addr: std::net::SocketAddr, ca: &str, client: Option<&Leaf>) -> Result<(), String> {
    let channel = tls_channel(addr, ca, client).await?;
    match health(channel).await {
        Ok(ServingStatus::Serving) => Ok(()),
        other => Err(format!("{other:?}")),
    }
}

/// `request` with `authorization: Bearer <key>`.
fn keyed<T>(key: &str, message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    let value = format!("Bearer {key}").parse().expect("an ASCII key");
    request.metadata_mut().insert("authorization", value);
    request
}

/// The check every RPC of the service answers with a status (here: about an
/// account that does not exist, which is a plain deny or NOT_FOUND, never an
/// authentication failure).
fn some_check() -> pb::AuthorizeRequest {
    crate::support::check("nobody", "no-such-account", "campaigns.view", None)
}

/// The authentication layer let the call through (the caller holds `check`):
/// whatever the handler answered, it is not an authentication refusal.
fn assert_let_through<T: std::fmt::Debug>(decided: &Result<T, tonic::Status>) {
    assert!(
        !matches!(
            decided.as_ref().map_err(tonic::Status::code),
            Err(Code::Unauthenticated | Code::PermissionDenied)
        ),
        "{decided:?}"
    );
}

/// A TLS client is served (health and a business RPC), and a plaintext
/// client on the same port gets no answer at all.
async fn tls_clients_are_served_and_plaintext_ones_are_not(kind: Db) {
    let ca = Ca::new("server CA");
    let files = Files::new();
    let app = TestApp::spawn_with(kind, |config| files.serve_with(&ca.server(), config)).await;
    let channel = tls_channel(app.addr, &ca.pem(), None)
        .await
        .expect("a TLS client connects");
    assert_eq!(
        health(channel.clone()).await.expect("health answers"),
        ServingStatus::Serving
    );
    let mut client = pb::access_service_client::AccessServiceClient::new(channel);
    let account = client
        .create_account(create_account("acme", person("owner")))
        .await
        .expect("CreateAccount over TLS");
    assert_eq!(
        account.into_inner().account.map(|a| a.id).as_deref(),
        Some("acme")
    );

    let plaintext = Channel::from_shared(format!("http://{}", app.addr))
        .expect("a URI")
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(5))
        .connect_lazy();
    let refused = health(plaintext)
        .await
        .expect_err("plaintext gets no answer from a TLS port");
    assert!(
        matches!(
            refused.code(),
            Code::Unavailable | Code::Unknown | Code::Internal | Code::Cancelled
        ),
        "{refused:?}"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM accounts").await,
        1,
        "only the TLS call wrote"
    );
}

/// A certificate replaced on disk is what new connections get, without a
/// restart; connections already open keep working; a replacement that does
/// not parse (or whose key does not fit) keeps the one in force.
async fn a_replaced_certificate_reaches_new_connections(kind: Db) {
    let (old_ca, new_ca) = (Ca::new("old CA"), Ca::new("new CA"));
    let files = Files::new();
    let app = TestApp::spawn_with(kind, |config| files.serve_with(&old_ca.server(), config)).await;
    let open = tls_channel(app.addr, &old_ca.pem(), None)
        .await
        .expect("connects");
    health(open.clone())
        .await
        .expect("served with the old certificate");
    assert!(
        reachable(app.addr, &new_ca.pem(), None).await.is_err(),
        "the new CA's clients do not trust the old certificate"
    );

    // Rotation: key first, then the certificate (a moment with a pair that does not fit).
    let rotated = new_ca.server();
    files.put("server.key", &rotated.key);
    assert!(
        reachable(app.addr, &old_ca.pem(), None).await.is_ok(),
        "a key that does not fit the certificate is not used: the old pair stays in force"
    );
    files.put("server.pem", &rotated.cert);
    reachable(app.addr, &new_ca.pem(), None)
        .await
        .expect("new connections get the new certificate, without a restart");
    assert!(reachable(app.addr, &old_ca.pem(), None).await.is_err());
    health(open)
        .await
        .expect("a connection opened before the rotation still works");

    files.put(
        "server.pem",
        "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n",
    );
    reachable(app.addr, &new_ca.pem(), None)
        .await
        .expect("a certificate file that does not parse keeps the one in force");
}

/// The server of the mTLS tests: client certificates of `client_ca`
/// required (or optional), two identities mapped, one API key.
fn mtls(files: &Files, server_ca: &Ca, client_ca: &Ca, auth: ClientAuth) -> impl FnOnce(&mut Config) {
    let server = server_ca.server();
    let client_ca_file = files.put("client-ca.pem", &client_ca.pem());
    move |config: &mut Config| {
        files.serve_with(&server, config);
        config.tls_client_ca_file = Some(client_ca_file);
        config.tls_client_auth = auth;
        config.tls_client_identities = Some(
            "campaigns:check:uri:spiffe://corp.example/ns/mail/sa/campaigns\n\
             billing:platform:uri:spiffe://corp.example/ns/billing/sa/provisioner\n\
             console:check:cn:ops console"
                .to_owned(),
        );
        config.api_keys = Some(api_keys(&[(
            "web",
            "read+write+platform",
            "web-secret-long-enough-for-tests",
        )]));
    }
}

/// Required client certificates: none, or one from another CA, and the
/// handshake fails; a mapped identity gets its scopes (and only them); a
/// valid certificate whose identity is not mapped is UNAUTHENTICATED unless
/// the request carries an API key.
async fn client_certificates_stand_for_keys(kind: Db) {
    let (server_ca, client_ca, other_ca) = (Ca::new("server CA"), Ca::new("client CA"), Ca::new("other CA"));
    let files = Files::new();
    let app = TestApp::spawn_with(kind, mtls(&files, &server_ca, &client_ca, ClientAuth::Required)).await;
    let campaigns = client_ca.client_uri("spiffe://corp.example/ns/mail/sa/campaigns");

    let no_cert = reachable(app.addr, &server_ca.pem(), None).await;
    assert!(
        no_cert.is_err(),
        "no client certificate: refused in the handshake"
    );
    let forged = other_ca.client_uri("spiffe://corp.example/ns/mail/sa/campaigns");
    assert!(
        reachable(app.addr, &server_ca.pem(), Some(&forged))
            .await
            .is_err(),
        "the same identity signed by another CA: refused"
    );

    let mut client = client_with_cert(app.addr, &server_ca, Some(&campaigns)).await;
    assert_let_through(&client.authorize(some_check()).await);
    let admin = client
        .get_account(pb::GetAccountRequest {
            account_id: "acme".into(),
            ..Default::default()
        })
        .await
        .expect_err("GetAccount needs `read`");
    let platform = client
        .create_account(create_account("acme", person("owner")))
        .await
        .expect_err("CreateAccount needs `platform`");
    for (refused, scope) in [(admin, "read"), (platform, "platform")] {
        assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
        assert_eq!(error_reason(&refused), "SCOPE_MISSING");
        assert_eq!(
            refused
                .get_details_error_info()
                .map(|info| info.metadata["scope"].clone()),
            Some(scope.to_owned())
        );
        assert!(
            refused.message().contains(&format!("'{scope}'")) && refused.message().contains("campaigns"),
            "{refused:?}"
        );
    }

    // The billing identity holds `platform`: the activity log names it as the actor.
    let billing = client_ca.client_uri("spiffe://corp.example/ns/billing/sa/provisioner");
    let mut client = client_with_cert(app.addr, &server_ca, Some(&billing)).await;
    client
        .create_account(create_account("acme", person("owner")))
        .await
        .expect("the billing identity creates accounts");
    client
        .set_account_limits(pb::SetAccountLimitsRequest {
            account_id: "acme".into(),
            max_members: Some(5),
            max_restricted_members: None,
        })
        .await
        .expect("and sets their plan quotas");
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM activity_log WHERE actor = 'platform: billing'")
            .await,
        1,
        "the certificate's caller name reaches the handler"
    );

    // Valid, but mapped to nothing.
    let stranger = client_ca.client_uri("spiffe://corp.example/ns/mail/sa/stranger");
    let mut client = client_with_cert(app.addr, &server_ca, Some(&stranger)).await;
    let refused = client
        .authorize(some_check())
        .await
        .expect_err("an unmapped identity");
    assert_eq!(refused.code(), Code::Unauthenticated, "{refused:?}");
    assert_eq!(error_reason(&refused), "CLIENT_IDENTITY_UNKNOWN");
    // An API key still works on that connection, and decides alone.
    client
        .create_account(keyed(
            "web-secret-long-enough-for-tests",
            create_account("globex", person("owner")),
        ))
        .await
        .expect("an API key alongside the certificate");
    let refused = client
        .create_account(keyed(
            "wrong-secret-long-enough-for-tests",
            create_account("initech", person("owner")),
        ))
        .await
        .expect_err("a wrong key is not rescued by the certificate");
    assert_eq!(error_reason(&refused), "API_KEY_UNKNOWN");
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM accounts").await, 2);
}

/// A configured identity is matched through its type only: a certificate
/// whose DNS SAN, or CN, reads like a mapped URI is not that caller; the
/// right URI SAN among other names is; a CN stands for a caller only under
/// a `cn:` entry.
async fn a_name_of_another_type_does_not_stand_for_a_mapped_uri(kind: Db) {
    let (server_ca, client_ca) = (Ca::new("server CA"), Ca::new("client CA"));
    let files = Files::new();
    let app = TestApp::spawn_with(kind, mtls(&files, &server_ca, &client_ca, ClientAuth::Required)).await;
    let billing_uri = "spiffe://corp.example/ns/billing/sa/provisioner";
    let dns_impostor = client_ca.issue(
        "impostor",
        vec![SanType::DnsName(billing_uri.try_into().expect("IA5"))],
        ExtendedKeyUsagePurpose::ClientAuth,
    );
    let cn_impostor = client_ca.issue(billing_uri, Vec::new(), ExtendedKeyUsagePurpose::ClientAuth);
    for (impostor, names) in [
        (&dns_impostor, format!("dns:{billing_uri}, cn:impostor")),
        (&cn_impostor, format!("cn:{billing_uri}")),
    ] {
        let refused = client_with_cert(app.addr, &server_ca, Some(impostor))
            .await
            .create_account(create_account("acme", person("owner")))
            .await
            .expect_err("a name of another type is not the mapped URI");
        assert_eq!(refused.code(), Code::Unauthenticated, "{refused:?}");
        assert_eq!(error_reason(&refused), "CLIENT_IDENTITY_UNKNOWN");
        assert_eq!(
            refused
                .get_details_error_info()
                .map(|info| info.metadata["identity"].clone()),
            Some(names)
        );
    }
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM accounts").await, 0);

    // The URI SAN itself, second among the certificate's URIs and beside a
    // DNS name: billing.
    let billing = client_ca.issue(
        "billing",
        vec![
            SanType::DnsName("billing.corp.example".try_into().expect("IA5")),
            SanType::URI("spiffe://corp.example/ns/other".try_into().expect("IA5")),
            SanType::URI(billing_uri.try_into().expect("IA5")),
        ],
        ExtendedKeyUsagePurpose::ClientAuth,
    );
    client_with_cert(app.addr, &server_ca, Some(&billing))
        .await
        .create_account(create_account("acme", person("owner")))
        .await
        .expect("the mapped URI SAN stands for billing");
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM accounts").await, 1);

    // A `cn:` entry: the CN stands for its caller, a DNS SAN of that text does not.
    let console = client_ca.issue("ops console", Vec::new(), ExtendedKeyUsagePurpose::ClientAuth);
    let decided = client_with_cert(app.addr, &server_ca, Some(&console))
        .await
        .authorize(some_check())
        .await;
    assert_let_through(&decided);
    let console_dns = client_ca.issue(
        "someone",
        vec![SanType::DnsName("ops console".try_into().expect("IA5"))],
        ExtendedKeyUsagePurpose::ClientAuth,
    );
    let refused = client_with_cert(app.addr, &server_ca, Some(&console_dns))
        .await
        .authorize(some_check())
        .await
        .expect_err("a DNS name is not a CN");
    assert_eq!(error_reason(&refused), "CLIENT_IDENTITY_UNKNOWN");
}

/// Optional client certificates: a client without one connects and
/// authenticates with an API key; with neither it is UNAUTHENTICATED.
async fn optional_client_certificates_leave_keys_to_the_others(kind: Db) {
    let (server_ca, client_ca) = (Ca::new("server CA"), Ca::new("client CA"));
    let files = Files::new();
    let app = TestApp::spawn_with(kind, mtls(&files, &server_ca, &client_ca, ClientAuth::Optional)).await;
    let mut client = client_with_cert(app.addr, &server_ca, None).await;
    let refused = client
        .authorize(some_check())
        .await
        .expect_err("neither key nor certificate");
    assert_eq!(refused.code(), Code::Unauthenticated);
    assert_eq!(error_reason(&refused), "API_KEY_MISSING");
    client
        .create_account(keyed(
            "web-secret-long-enough-for-tests",
            create_account("acme", person("owner")),
        ))
        .await
        .expect("an API key without a certificate");
    let campaigns = client_ca.client_uri("spiffe://corp.example/ns/mail/sa/campaigns");
    let decided = client_with_cert(app.addr, &server_ca, Some(&campaigns))
        .await
        .authorize(some_check())
        .await;
    assert_let_through(&decided);
}

/// A client CA replaced on disk (a rotated Secret) is what new handshakes
/// check client certificates against, without a restart: the new CA's
/// clients are served, the old one's refused; a replacement that does not
/// parse keeps the CA in force.
async fn a_replaced_client_ca_reaches_new_connections(kind: Db) {
    let (server_ca, old_ca, new_ca) = (
        Ca::new("server CA"),
        Ca::new("old client CA"),
        Ca::new("new client CA"),
    );
    let files = Files::new();
    let app = TestApp::spawn_with(kind, mtls(&files, &server_ca, &old_ca, ClientAuth::Required)).await;
    let identity = "spiffe://corp.example/ns/mail/sa/campaigns";
    let (old_client, new_client) = (old_ca.client_uri(identity), new_ca.client_uri(identity));
    let trust = server_ca.pem();
    let served = |client| reachable(app.addr, &trust, Some(client));
    served(&old_client).await.expect("the old CA's client is served");
    assert!(
        served(&new_client).await.is_err(),
        "a certificate from a CA not (yet) configured: refused"
    );

    files.put("client-ca.pem", &new_ca.pem());
    served(&new_client)
        .await
        .expect("after the rotation the new CA's client is served, without a restart");
    assert!(
        served(&old_client).await.is_err(),
        "and the old CA's client is refused"
    );
    let decided = client_with_cert(app.addr, &server_ca, Some(&new_client))
        .await
        .authorize(some_check())
        .await;
    assert_let_through(&decided);

    for garbage in [
        "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n",
        "no PEM here at all",
    ] {
        files.put("client-ca.pem", garbage);
        served(&new_client)
            .await
            .unwrap_or_else(|err| panic!("a CA file {garbage:?} keeps the CA in force: {err}"));
        assert!(served(&old_client).await.is_err(), "{garbage:?}");
    }
}

/// ACCESS_API_KEYS_FILE is read again when it changes: a rotated-in key
/// works and a removed one stops working, without a restart; a bad file
/// keeps the keys in force.
async fn the_api_key_file_is_read_again_when_it_changes(kind: Db) {
    let files = Files::new();
    let path = files.put(
        "keys",
        &api_keys(&[("web-1", "platform", "first-secret-long-enough-for-tests")]),
    );
    let app = TestApp::spawn_with(kind, |config| {
        config.api_keys_file = Some(path.clone());
        config.reload_interval_ms = 0;
    })
    .await;
    let mut client = app.client.clone();
    client
        .create_account(keyed(
            "first-secret-long-enough-for-tests",
            create_account("a1", person("owner")),
        ))
        .await
        .expect("the first key works");

    files.put(
        "keys",
        &api_keys(&[("web-2", "platform", "second-secret-long-enough-for-tests")]),
    );
    let refused = client
        .create_account(keyed(
            "first-secret-long-enough-for-tests",
            create_account("a2", person("owner")),
        ))
        .await
        .expect_err("the rotated-out key");
    assert_eq!(error_reason(&refused), "API_KEY_UNKNOWN");
    client
        .create_account(keyed(
            "second-secret-long-enough-for-tests",
            create_account("a3", person("owner")),
        ))
        .await
        .expect("the rotated-in key works without a restart");

    for bad in ["web-3:platform:not-a-hash", "# emptied by mistake\n"] {
        files.put("keys", bad);
        client
            .create_account(keyed(
                "second-secret-long-enough-for-tests",
                create_account(&format!("a{}", bad.len()), person("owner")),
            ))
            .await
            .unwrap_or_else(|err| panic!("a bad file ({bad:?}) keeps the keys in force: {err:?}"));
    }
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM accounts").await, 4);
}

/// With TLS on, probes that cannot speak TLS use the plaintext health port,
/// which serves the same health status and nothing else.
async fn probes_use_the_plaintext_health_port(kind: Db) {
    let ca = Ca::new("server CA");
    let files = Files::new();
    let app = TestApp::spawn_with(kind, |config| {
        files.serve_with(&ca.server(), config);
        config.health_addr = Some("127.0.0.1:0".parse().expect("an address"));
    })
    .await;
    let health_addr = app.health_addr.expect("the health port is bound");
    let plaintext = crate::support::connect(health_addr).await;
    assert_eq!(
        health(plaintext.clone()).await.expect("answers"),
        ServingStatus::Serving
    );
    let refused = pb::access_service_client::AccessServiceClient::new(plaintext)
        .authorize(some_check())
        .await
        .expect_err("the health port serves health only");
    assert_eq!(refused.code(), Code::Unimplemented, "{refused:?}");
}

/// The names of a client certificate, each typed: every URI SAN, every DNS
/// SAN, the common name.
#[test]
fn a_certificate_names_its_uris_dns_names_and_cn() {
    let ca = Ca::new("CA");
    let der = |leaf: &Leaf| der_of(&leaf.cert);
    let uri = |uri: &str| SanType::URI(uri.try_into().expect("IA5"));
    let dns = |dns: &str| SanType::DnsName(dns.try_into().expect("IA5"));
    let all = ca.issue(
        "cn-a",
        vec![
            dns("a.corp.example"),
            uri("spiffe://corp.example/a"),
            dns("b.corp.example"),
            uri("spiffe://corp.example/b"),
        ],
        ExtendedKeyUsagePurpose::ClientAuth,
    );
    let names = tls::names_of(&der(&all)).expect("names");
    assert_eq!(
        names.to_string(),
        "uri:spiffe://corp.example/a, uri:spiffe://corp.example/b, \
         dns:a.corp.example, dns:b.corp.example, cn:cn-a"
    );
    let cn_only = ca.issue("cn-a", Vec::new(), ExtendedKeyUsagePurpose::ClientAuth);
    assert_eq!(
        tls::names_of(&der(&cn_only)).map(|names| names.to_string()),
        Some("cn:cn-a".to_owned())
    );
}

/// The DER of the first certificate of a PEM text.
fn der_of(pem: &str) -> Vec<u8> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    CertificateDer::from_pem_slice(pem.as_bytes())
        .expect("a PEM certificate")
        .to_vec()
}

/// Start-up refuses a key that does not fit its certificate, naming both files.
#[tokio::test]
async fn a_key_that_does_not_fit_its_certificate_fails_start_up() {
    let ca = Ca::new("CA");
    let files = Files::new();
    let (one, other) = (ca.server(), ca.server());
    let config = Config {
        listen_addr: "127.0.0.1:0".parse().expect("an address"),
        database_url: "sqlite::memory:".to_owned(),
        tls_cert_file: Some(files.put("server.pem", &one.cert)),
        tls_key_file: Some(files.put("server.key", &other.key)),
        ..Config::default()
    };
    let err = access_service::App::build(config).await.err().expect("refused");
    let message = format!("{err:#}");
    assert!(
        message.contains("does not fit") && message.contains("server.pem"),
        "{message}"
    );
}

/// Start-up refuses a client CA file that holds no usable certificate (a
/// running server keeps its CA instead: `a_replaced_client_ca_reaches_new_connections`).
#[tokio::test]
async fn a_client_ca_that_does_not_parse_fails_start_up() {
    let files = Files::new();
    let mut config = Config {
        listen_addr: "127.0.0.1:0".parse().expect("an address"),
        database_url: "sqlite::memory:".to_owned(),
        tls_client_ca_file: Some(files.put("client-ca.pem", "no PEM here at all")),
        ..Config::default()
    };
    files.serve_with(&Ca::new("CA").server(), &mut config);
    let err = access_service::App::build(config).await.err().expect("refused");
    let message = format!("{err:#}");
    assert!(
        message.contains("ACCESS_TLS_CLIENT_CA_FILE") && message.contains("client-ca.pem"),
        "{message}"
    );
}

/// A mapped client certificate identity is authentication: a server with
/// identities and no API key may listen on a non-loopback address (without
/// either it may not: `auth::without_keys_only_loopback_is_served`).
#[tokio::test]
async fn client_identities_alone_allow_a_non_loopback_listener() {
    let (server_ca, client_ca) = (Ca::new("server CA"), Ca::new("client CA"));
    let files = Files::new();
    let mut config = Config {
        listen_addr: "0.0.0.0:0".parse().expect("an address"),
        database_url: "sqlite::memory:".to_owned(),
        tls_client_ca_file: Some(files.put("client-ca.pem", &client_ca.pem())),
        tls_client_identities: Some(
            "campaigns:check:uri:spiffe://corp.example/ns/mail/sa/campaigns".to_owned(),
        ),
        ..Config::default()
    };
    // Who is acting is settled (a gateway's word), and the emails (a
    // development install): authentication is what is judged.
    config.actors.actor_proof = Some(access_service::config::ActorProofMode::CallersWord);
    config.email.development_without_smtp = true;
    files.serve_with(&server_ca.server(), &mut config);
    let app = access_service::App::build(config.clone())
        .await
        .unwrap_or_else(|err| panic!("identities count as authentication: {err:#}"));
    assert!(!app.local_addr().expect("bound").ip().is_loopback());
    drop(app);
    let unauthenticated = Config {
        tls_client_identities: None,
        ..config
    };
    let err = access_service::App::build(unauthenticated)
        .await
        .err()
        .expect("refused");
    assert!(format!("{err:#}").contains("not a loopback address"), "{err:#}");
}

/// Start-up refuses an identity entry that does not name its type (the
/// old `name:scopes:identity` form), and says how to write it.
#[tokio::test]
async fn an_untyped_client_identity_fails_start_up() {
    let (server_ca, client_ca) = (Ca::new("server CA"), Ca::new("client CA"));
    let files = Files::new();
    let mut config = Config {
        listen_addr: "127.0.0.1:0".parse().expect("an address"),
        database_url: "sqlite::memory:".to_owned(),
        tls_client_ca_file: Some(files.put("client-ca.pem", &client_ca.pem())),
        tls_client_identities: Some("campaigns:check:spiffe://corp.example/ns/mail/sa/campaigns".to_owned()),
        ..Config::default()
    };
    files.serve_with(&server_ca.server(), &mut config);
    let err = access_service::App::build(config).await.err().expect("refused");
    let message = format!("{err:#}");
    assert!(
        message.contains("ACCESS_TLS_CLIENT_IDENTITIES")
            && message.contains("must name its type")
            && message.contains("campaigns:check:uri:"),
        "{message}"
    );
}

/// Traces go to an https:// collector: the exporter built from
/// OTEL_EXPORTER_OTLP_CERTIFICATE's CA (the code `telemetry::init` runs for
/// an https endpoint) delivers a span to a collector served over TLS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traces_reach_an_https_collector() {
    use opentelemetry::trace::{Tracer as _, TracerProvider as _};
    use opentelemetry_otlp::{WithExportConfig, WithTonicConfig};

    let ca = Ca::new("collector CA");
    let files = Files::new();
    let server = ca.server();
    let settings = tls::TlsSettings {
        cert_file: files.put("collector.pem", &server.cert),
        key_file: files.put("collector.key", &server.key),
        client_ca_file: None,
        client_auth: ClientAuth::Required,
        reload_interval: Duration::from_secs(60),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let addr = listener.local_addr().expect("the collector's address");
    let connections = tls::incoming(
        access_service::app::incoming(listener, None),
        tls::acceptor(&settings).expect("the collector's TLS"),
        Duration::from_secs(5),
        16,
    );
    let received = crate::ops::telemetry::Received::default();
    let collector = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(
                opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::TraceServiceServer::new(
                    received.clone(),
                ),
            )
            .serve_with_incoming(connections),
    );

    let files_env = access_service::telemetry::OtlpTlsFiles {
        ca: Some(files.put("otlp-ca.pem", &ca.pem())),
        ..Default::default()
    };
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(format!("https://localhost:{}", addr.port()))
        .with_tls_config(access_service::telemetry::otlp_tls_config(&files_env).expect("TLS settings"))
        .build()
        .expect("the exporter");
    let provider = access_service::telemetry::tracer_provider(exporter);
    provider.tracer("tls-test").in_span("over-tls", |_cx| {});
    let flushing = provider.clone();
    let flushed = tokio::task::spawn_blocking(move || flushing.force_flush())
        .await
        .expect("flush ran");
    assert!(flushed.is_ok(), "{flushed:?}");
    let names = received.names().await;
    assert_eq!(names, vec!["over-tls".to_owned()], "the span arrived over TLS");
    let _ = tokio::task::spawn_blocking(move || provider.shutdown()).await;
    collector.abort();
}

crate::on_both_databases!(
    db;
    tls_clients_are_served_and_plaintext_ones_are_not,
    a_replaced_certificate_reaches_new_connections,
    client_certificates_stand_for_keys,
    a_name_of_another_type_does_not_stand_for_a_mapped_uri,
    optional_client_certificates_leave_keys_to_the_others,
    a_replaced_client_ca_reaches_new_connections,
    the_api_key_file_is_read_again_when_it_changes,
    probes_use_the_plaintext_health_port,
);
