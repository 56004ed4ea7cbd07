//! The settings' defaults, overrides and refusals.

use std::time::Duration;

use super::*;
use crate::grpc::middleware::ApiKeys;

#[test]
fn defaults_come_from_code() {
    let config = Config::default();
    assert_eq!(config.listen_addr.to_string(), DEFAULT_LISTEN_ADDR);
    assert_eq!(config.invitation_ttl(), Duration::from_secs(72 * 3600));
    assert!(config.auto_migrate);
}

#[test]
fn zero_limits_are_refused_at_start_up() {
    assert!(Config::default().validate().is_ok());
    let config = Config {
        max_concurrent_requests: 0,
        ..Config::default()
    };
    let err = config.validate().unwrap_err().to_string();
    assert!(err.contains("ACCESS_MAX_CONCURRENT_REQUESTS"), "{err}");
}

#[test]
fn an_email_lease_must_outlast_an_smtp_attempt() {
    let config = Config {
        outbox_lease_ms: 30_000,
        smtp_timeout_ms: 30_000,
        ..Config::default()
    };
    let err = config.validate().unwrap_err().to_string();
    assert!(err.contains("ACCESS_OUTBOX_LEASE_MS"), "{err}");
    let config = Config {
        mail_from: "not an address".into(),
        ..Config::default()
    };
    let err = config.validate().unwrap_err().to_string();
    assert!(err.contains("ACCESS_MAIL_FROM"), "{err}");
}

#[test]
fn emails_are_kept_longer_than_an_invitation_lives() {
    let config = Config::default();
    assert_eq!(config.outbox_retention(), Some(Duration::from_secs(30 * 86_400)));
    let config = Config {
        outbox_retention_days: 3,
        invitation_ttl_secs: 3 * 86_400,
        ..Config::default()
    };
    let err = config.validate().unwrap_err().to_string();
    assert!(err.contains("ACCESS_OUTBOX_RETENTION_DAYS"), "{err}");
    let forever = Config {
        outbox_retention_days: 0,
        invitation_ttl_secs: 365 * 86_400,
        ..Config::default()
    };
    forever.validate().expect("0 keeps emails forever");
    assert_eq!(forever.outbox_retention(), None);
    assert_eq!(forever.dispatch_settings().retention, None);
}

#[test]
fn the_change_stream_name_keeps_its_hash_tag_whole() {
    for bad in ["a}b", "{x", "two words"] {
        let config = Config {
            change_stream: bad.to_owned(),
            ..Config::default()
        };
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("ACCESS_CHANGE_STREAM"), "{bad}: {err}");
    }
    // Published only with Redis, and not when the name is empty.
    assert!(Config::default().change_publisher().is_none());
    let with_redis = Config {
        redis_url: Some("redis://127.0.0.1:6379".to_owned()),
        ..Config::default()
    };
    assert_eq!(
        with_redis.change_publisher().map(|p| p.stream),
        Some(DEFAULT_CHANGE_STREAM.to_owned())
    );
    let unnamed = Config {
        change_stream: String::new(),
        ..with_redis
    };
    assert!(unnamed.validate().is_ok() && unnamed.change_publisher().is_none());
}

#[test]
fn log_format_is_text_unless_json_is_asked_for() {
    let parse = |args: &[&str]| Cli::try_parse_from(args).map(|cli| cli.config.log_format);
    assert_eq!(Config::default().log_format, LogFormat::Text);
    assert_eq!(
        parse(&["access-service", "--log-format", "json"]).ok(),
        Some(LogFormat::Json)
    );
    assert!(parse(&["access-service", "--log-format", "yaml"]).is_err());
}

#[test]
fn without_keys_only_loopback_may_listen() {
    for addr in ["127.0.0.1:0", "[::1]:50051"] {
        let config = Config {
            listen_addr: addr.parse().unwrap(),
            ..Config::default()
        };
        assert!(config.credentials().unwrap().is_open(), "{addr}");
    }
    for addr in ["0.0.0.0:50051", "[::]:50051", "10.1.2.3:50051"] {
        let config = Config {
            listen_addr: addr.parse().unwrap(),
            ..Config::default()
        };
        let err = config.credentials().unwrap_err().to_string();
        assert!(err.contains("no API key") && err.contains(addr), "{err}");
        let keyed = Config {
            api_keys: Some(format!("web:admin:{}", ApiKeys::hash_of("k"))),
            ..config.clone()
        };
        assert_eq!(
            keyed.credentials().unwrap().keys.current().len(),
            1,
            "{addr} with a key"
        );
        // A client certificate identity is authentication too.
        let mapped = Config {
            tls_client_ca_file: Some("ca.pem".into()),
            tls_client_identities: Some("billing:platform:spiffe://corp.example/billing".into()),
            ..config
        };
        assert!(
            !mapped.credentials().unwrap().is_open(),
            "{addr} with an identity"
        );
        let unverified = Config {
            tls_client_ca_file: None,
            ..mapped
        };
        let err = unverified.credentials().unwrap_err().to_string();
        assert!(err.contains("needs ACCESS_TLS_CLIENT_CA_FILE"), "{err}");
    }
}

#[test]
fn keys_come_from_one_place() {
    let line = format!("web:admin:{}", ApiKeys::hash_of("k"));
    let path = std::env::temp_dir().join(format!("access-keys-{}", uuid::Uuid::new_v4().simple()));
    std::fs::write(&path, format!("# rotated 2026-11\n{line}\n")).unwrap();
    let from_file = Config {
        api_keys_file: Some(path.clone()),
        ..Config::default()
    };
    assert_eq!(from_file.credentials().unwrap().keys.current().len(), 1);
    let both = Config {
        api_keys: Some(line),
        ..from_file.clone()
    };
    assert!(both.credentials().unwrap_err().to_string().contains("not both"));
    std::fs::write(&path, "# nothing yet\n").unwrap();
    let err = format!("{:#}", from_file.credentials().unwrap_err());
    assert!(err.contains("holds no key"), "{err}");
    let _ = std::fs::remove_file(&path);
}

#[test]
fn tls_needs_a_certificate_and_its_key() {
    assert!(Config::default().tls().unwrap().is_none());
    let half = Config {
        tls_cert_file: Some("cert.pem".into()),
        ..Config::default()
    };
    assert!(half.tls().unwrap_err().to_string().contains("both"));
    let ca_only = Config {
        tls_client_ca_file: Some("ca.pem".into()),
        ..Config::default()
    };
    assert!(ca_only.tls().unwrap_err().to_string().contains("needs TLS"));
    let full = Config {
        tls_key_file: Some("key.pem".into()),
        tls_client_ca_file: Some("ca.pem".into()),
        ..half
    };
    let tls = full.tls().unwrap().expect("TLS on");
    assert_eq!(tls.client_auth, ClientAuth::Required);
}

#[test]
fn passwords_never_reach_logs() {
    assert_eq!(
        redact_url("mysql://app:s3cret@db:3306/access"),
        "mysql://app:***@db:3306/access"
    );
    assert_eq!(redact_url("sqlite://x.db?mode=rwc"), "sqlite://x.db?mode=rwc");
}
