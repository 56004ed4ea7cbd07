//! Each part's settings as app.rs makes them from the configuration, and
//! the routes the request metrics are labelled with.

use std::time::Duration;

use super::{routes, settings};
use crate::config::{Config, DEFAULT_CHANGE_STREAM};
use crate::grpc::middleware::ApiKeys;
use crate::tls::ClientAuth;

#[test]
fn a_sender_must_be_an_address() {
    let config = Config {
        mail_from: "not an address".into(),
        ..Config::default()
    };
    let Err(err) = settings::email_renderer(&config) else {
        panic!("a sender that is not an address was taken");
    };
    let err = err.to_string();
    assert!(err.contains("ACCESS_MAIL_FROM"), "{err}");
}

#[test]
fn emails_kept_forever_are_never_pruned() {
    let forever = Config {
        outbox_retention_days: 0,
        invitation_ttl_secs: 365 * 86_400,
        ..Config::default()
    };
    assert_eq!(settings::dispatch_settings(&forever).retention, None);
    assert_eq!(
        settings::dispatch_settings(&Config::default()).retention,
        Some(Duration::from_secs(30 * 86_400))
    );
}

#[test]
fn changes_are_published_with_redis_and_a_stream_name() {
    // Published only with Redis, and not when the name is empty.
    assert!(settings::change_publisher(&Config::default()).is_none());
    let with_redis = Config {
        redis_url: Some("redis://127.0.0.1:6379".to_owned()),
        ..Config::default()
    };
    assert_eq!(
        settings::change_publisher(&with_redis).map(|p| p.stream),
        Some(DEFAULT_CHANGE_STREAM.to_owned())
    );
    let unnamed = Config {
        change_stream: String::new(),
        ..with_redis
    };
    assert!(unnamed.validate().is_ok() && settings::change_publisher(&unnamed).is_none());
}

#[test]
fn served_methods_are_known_and_made_up_paths_share_one_route() {
    let routes = routes();
    assert_eq!(
        routes.of("/access.v1.AccessService/Authorize").names(),
        ("access.v1.AccessService", "Authorize")
    );
    assert_eq!(
        routes.of("/grpc.health.v1.Health/Check").names(),
        ("grpc.health.v1.Health", "Check")
    );
    assert_eq!(routes.of("/made.Up/Path"), routes.of("/another/one"));
    assert_eq!(routes.of("/made.Up/Path").names().1, "unknown");
}

#[test]
fn without_keys_only_loopback_may_listen() {
    for addr in ["127.0.0.1:0", "[::1]:50051"] {
        let config = Config {
            listen_addr: addr.parse().unwrap(),
            ..Config::default()
        };
        assert!(settings::credentials(&config).unwrap().is_open(), "{addr}");
    }
    for addr in ["0.0.0.0:50051", "[::]:50051", "10.1.2.3:50051"] {
        let config = Config {
            listen_addr: addr.parse().unwrap(),
            ..Config::default()
        };
        let err = settings::credentials(&config).unwrap_err().to_string();
        assert!(err.contains("no API key") && err.contains(addr), "{err}");
        let keyed = Config {
            api_keys: Some(format!("web:read+write:{}", ApiKeys::hash_of("k"))),
            ..config.clone()
        };
        assert_eq!(
            settings::credentials(&keyed).unwrap().keys.current().len(),
            1,
            "{addr} with a key"
        );
        // A client certificate identity is authentication too.
        let mapped = Config {
            tls_client_ca_file: Some("ca.pem".into()),
            tls_client_identities: Some("billing:platform:uri:spiffe://corp.example/billing".into()),
            ..config
        };
        assert!(
            !settings::credentials(&mapped).unwrap().is_open(),
            "{addr} with an identity"
        );
        let unverified = Config {
            tls_client_ca_file: None,
            ..mapped
        };
        let err = settings::credentials(&unverified).unwrap_err().to_string();
        assert!(err.contains("needs ACCESS_TLS_CLIENT_CA_FILE"), "{err}");
    }
}

#[test]
fn keys_come_from_one_place() {
    let line = format!("web:read+write:{}", ApiKeys::hash_of("k"));
    let path = std::env::temp_dir().join(format!("access-keys-{}", uuid::Uuid::new_v4().simple()));
    std::fs::write(&path, format!("# rotated 2026-11\n{line}\n")).unwrap();
    let from_file = Config {
        api_keys_file: Some(path.clone()),
        ..Config::default()
    };
    assert_eq!(settings::credentials(&from_file).unwrap().keys.current().len(), 1);
    let both = Config {
        api_keys: Some(line),
        ..from_file.clone()
    };
    assert!(
        settings::credentials(&both)
            .unwrap_err()
            .to_string()
            .contains("not both")
    );
    std::fs::write(&path, "# nothing yet\n").unwrap();
    let err = format!("{:#}", settings::credentials(&from_file).unwrap_err());
    assert!(err.contains("holds no key"), "{err}");
    let _ = std::fs::remove_file(&path);
}

#[test]
fn tls_needs_a_certificate_and_its_key() {
    assert!(settings::tls(&Config::default()).unwrap().is_none());
    let half = Config {
        tls_cert_file: Some("cert.pem".into()),
        ..Config::default()
    };
    assert!(settings::tls(&half).unwrap_err().to_string().contains("both"));
    let ca_only = Config {
        tls_client_ca_file: Some("ca.pem".into()),
        ..Config::default()
    };
    assert!(
        settings::tls(&ca_only)
            .unwrap_err()
            .to_string()
            .contains("needs TLS")
    );
    let full = Config {
        tls_key_file: Some("key.pem".into()),
        tls_client_ca_file: Some("ca.pem".into()),
        ..half
    };
    let tls = settings::tls(&full).unwrap().expect("TLS on");
    assert_eq!(tls.client_auth, ClientAuth::Required);
}
