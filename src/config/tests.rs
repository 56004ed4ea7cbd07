//! The settings' defaults, overrides and refusals.

use std::time::Duration;

use clap::Parser;

use super::*;

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
}

#[test]
fn the_ack_timeout_is_at_most_half_a_lease_term() {
    let half = Config {
        cache_lease_ms: 1000,
        cache_ack_timeout_ms: 500,
        ..Config::default()
    };
    half.validate().expect("half a term is allowed");
    for ack in [501, 1000, 2000] {
        let config = Config {
            cache_ack_timeout_ms: ack,
            ..half.clone()
        };
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("ACCESS_CACHE_ACK_TIMEOUT_MS"), "{ack}: {err}");
    }
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
    let unnamed = Config {
        change_stream: String::new(),
        ..Config::default()
    };
    assert!(unnamed.validate().is_ok(), "an empty name publishes nothing");
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
fn passwords_never_reach_logs() {
    assert_eq!(
        redact_url("mysql://app:s3cret@db:3306/access"),
        "mysql://app:***@db:3306/access"
    );
    assert_eq!(redact_url("sqlite://x.db?mode=rwc"), "sqlite://x.db?mode=rwc");
}

fn with_actors(adjust: impl FnOnce(&mut ActorConfig)) -> Config {
    let mut config = Config::default();
    adjust(&mut config.actors);
    config
}

fn issuer(actors: &mut ActorConfig) {
    actors.actor_token_issuers = vec!["https://id.example.com/".into()];
    actors.actor_token_audiences = vec!["access-service".into()];
    actors.actor_token_jwks_url = Some("https://id.example.com/jwks".into());
}

#[test]
fn the_actor_mode_follows_what_is_configured() {
    assert_eq!(Config::default().actors.mode(), ActorProofMode::CallersWord);
    assert_eq!(with_actors(issuer).actors.mode(), ActorProofMode::Token);
    let gateway = with_actors(|a| {
        issuer(a);
        a.actor_proof = Some(ActorProofMode::CallersWord);
    });
    assert_eq!(gateway.actors.mode(), ActorProofMode::CallersWord);
}

#[test]
fn the_callers_word_off_loopback_must_be_asked_for() {
    let open = Config {
        listen_addr: "0.0.0.0:50051".parse().expect("addr"),
        // Settled: the emails are not what this judges.
        email: EmailBounds {
            development_without_smtp: true,
            ..EmailBounds::default()
        },
        ..Config::default()
    };
    let err = open.validate().unwrap_err().to_string();
    assert!(err.contains("ACCESS_ACTOR_PROOF=callers-word"), "{err}");
    let mut asked = open.clone();
    asked.actors.actor_proof = Some(ActorProofMode::CallersWord);
    assert!(asked.validate().is_ok());
    let mut tokens = open;
    issuer(&mut tokens.actors);
    assert!(tokens.validate().is_ok());
}

#[test]
fn actor_token_settings_are_complete_or_refused() {
    let token_without_issuer = with_actors(|a| a.actor_proof = Some(ActorProofMode::Token));
    assert!(token_without_issuer.validate().is_err());
    let no_audience = with_actors(|a| {
        issuer(a);
        a.actor_token_audiences.clear();
    });
    let err = no_audience.validate().unwrap_err().to_string();
    assert!(err.contains("ACCESS_ACTOR_TOKEN_AUDIENCES"), "{err}");
    let wide_leeway = with_actors(|a| {
        issuer(a);
        a.actor_token_leeway_secs = 3600;
    });
    assert!(wide_leeway.validate().is_err());
    let empty_issuer = with_actors(|a| {
        issuer(a);
        a.actor_token_issuers.push(String::new());
    });
    assert!(empty_issuer.validate().is_err());
    assert!(with_actors(issuer).validate().is_ok());
}

#[test]
fn bounds_are_validated_and_the_per_caller_limit_follows_the_process_wide_one() {
    for (config, setting) in [
        (
            Config {
                max_scope_ids: MAX_SCOPE_IDS_LIMIT + 1,
                ..Config::default()
            },
            "ACCESS_MAX_SCOPE_IDS",
        ),
        (
            Config {
                max_request_bytes: MIN_MAX_REQUEST_BYTES - 1,
                ..Config::default()
            },
            "ACCESS_MAX_REQUEST_BYTES",
        ),
        (
            Config {
                max_response_bytes: DEFAULT_MAX_PAGE_BYTES,
                ..Config::default()
            },
            "ACCESS_MAX_RESPONSE_BYTES",
        ),
        (
            Config {
                max_connection_age_grace_secs: 0,
                ..Config::default()
            },
            "ACCESS_MAX_CONNECTION_AGE_GRACE_SECS",
        ),
        (
            Config {
                tls_max_concurrent_handshakes: 0,
                ..Config::default()
            },
            "ACCESS_TLS_MAX_CONCURRENT_HANDSHAKES",
        ),
    ] {
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains(setting), "{err}");
    }
    let lowered = Config {
        max_concurrent_requests: 10,
        ..Config::default()
    };
    lowered
        .validate()
        .expect("a lower process-wide limit is no error");
    assert_eq!(lowered.max_concurrent_requests_per_caller(), 10);
    assert_eq!(
        Config::default().max_concurrent_requests_per_caller(),
        DEFAULT_MAX_CONCURRENT_REQUESTS_PER_CALLER
    );
}

#[test]
fn watch_bounds_are_checked_against_each_other() {
    let with_watch = |adjust: fn(&mut WatchConfig)| {
        let mut config = Config::default();
        adjust(&mut config.watch);
        config.validate().map_err(|err| err.to_string())
    };
    assert!(with_watch(|_| {}).is_ok());
    let err = with_watch(|watch| watch.watch_max_open = 0).unwrap_err();
    assert!(err.contains("ACCESS_WATCH_MAX_OPEN"), "{err}");
    // A feed's page must not overrun a watch that keeps up.
    let err = with_watch(|watch| {
        watch.watch_page_size = 100;
        watch.watch_buffer = 199;
    })
    .unwrap_err();
    assert!(err.contains("ACCESS_WATCH_BUFFER"), "{err}");
    let err = with_watch(|watch| watch.watch_page_size = 1001).unwrap_err();
    assert!(err.contains("ACCESS_WATCH_PAGE_SIZE"), "{err}");
    // A watch ends itself before its connection's grace runs out.
    let err = with_watch(|watch| watch.watch_max_age_secs = 11).unwrap_err();
    assert!(err.contains("ACCESS_MAX_CONNECTION_AGE_GRACE_SECS"), "{err}");
    let config = Config {
        max_connection_age_grace_secs: 30,
        watch: WatchConfig {
            watch_max_age_secs: 30,
            ..WatchConfig::default()
        },
        ..Config::default()
    };
    assert!(config.validate().is_ok());
    // Connections without a maximum age close no watch.
    let config = Config {
        max_connection_age_secs: 0,
        watch: WatchConfig {
            watch_max_age_secs: 3600,
            ..WatchConfig::default()
        },
        ..Config::default()
    };
    assert!(config.validate().is_ok());
    // A caller's cap is never above the replica's.
    let config = WatchConfig {
        watch_max_open: 10,
        watch_max_open_per_caller: 50,
        ..WatchConfig::default()
    };
    assert_eq!(config.max_open_per_caller(), 10);
}

/// Off loopback the emails must leave by a relay, with https links, unless
/// the install says it is a development one (and then has no relay).
#[test]
fn off_loopback_emails_need_a_relay_and_https_links_or_a_development_install() {
    let mut off = Config {
        listen_addr: "0.0.0.0:50051".parse().expect("addr"),
        ..Config::default()
    };
    off.actors.actor_proof = Some(ActorProofMode::CallersWord);
    let err = off.validate().unwrap_err().to_string();
    assert!(
        err.contains("ACCESS_SMTP_URL") && err.contains("ACCESS_DEVELOPMENT_WITHOUT_SMTP=true"),
        "{err}"
    );
    let mut development = off.clone();
    development.email.development_without_smtp = true;
    development.validate().expect("a development install, said so");
    let mut relayed = off.clone();
    relayed.smtp_url = Some("smtp://relay.example:587?tls=required".into());
    let err = relayed.validate().unwrap_err().to_string();
    assert!(
        err.contains("ACCESS_INVITE_URL_BASE") && err.contains("https://"),
        "{err}"
    );
    relayed.invite_url_base = "https://app.example/invitations/accept".into();
    relayed.validate().expect("a relay and https links");
    let mut both = relayed.clone();
    both.email.development_without_smtp = true;
    let err = both.validate().unwrap_err().to_string();
    assert!(err.contains("unset one of the two"), "{err}");
    // On loopback the defaults stand: nothing leaves the machine.
    Config::default()
        .validate()
        .expect("loopback, no relay, http link");
}

#[test]
fn email_limits_are_bounded_by_what_the_outbox_keeps() {
    let mut config = Config::default();
    config.email.email_limit_per_recipient_window_secs = 31 * 86_400;
    let err = config.validate().unwrap_err().to_string();
    assert!(
        err.contains("ACCESS_EMAIL_LIMIT_PER_RECIPIENT_WINDOW_SECS") && err.contains("RETENTION"),
        "{err}"
    );
    config.email.email_limit_per_recipient = 0;
    config.validate().expect("no limit, no window to judge");
    let mut config = Config::default();
    config.email.email_limit_per_actor_window_secs = 0;
    let err = config.validate().unwrap_err().to_string();
    assert!(err.contains("ACCESS_EMAIL_LIMIT_PER_ACTOR_WINDOW_SECS"), "{err}");
    let mut config = Config::default();
    config.email.invitation_resend_cooldown_secs = config.invitation_ttl_secs;
    let err = config.validate().unwrap_err().to_string();
    assert!(err.contains("ACCESS_INVITATION_RESEND_COOLDOWN_SECS"), "{err}");
}
