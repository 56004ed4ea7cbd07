//! Parsing ids, addresses, names and notes: what passes and what is refused.

use super::*;

#[test]
fn reserved_invalid_domains_are_not_addresses() {
    assert!(Email::parse("email", "x1@displaced.invalid").is_err());
    assert!(Email::parse("email", "x1@example.com").is_ok());
}

#[test]
fn email_is_canonical_and_validated() {
    let email = Email::parse("email", "  Ann.Lee@Example.COM ").unwrap();
    assert_eq!(email.as_str(), "ann.lee@example.com");
    for bad in [
        "",
        "ann",
        "ann@",
        "@example.com",
        "ann@example",
        "a b@example.com",
        "a@b@c.com",
        "ann@.com",
    ] {
        assert!(Email::parse("email", bad).is_err(), "{bad:?} should be refused");
    }
}

/// What the mail library would send to: the mailbox it reads from `raw`.
fn mailbox_of(raw: &str) -> Option<String> {
    raw.parse::<lettre::message::Mailbox>()
        .ok()
        .map(|mailbox| mailbox.email.to_string())
}

#[test]
fn emails_the_mail_library_reads_as_another_mailbox_are_refused() {
    for other in [
        "<v@x.com>",
        "Vic <v@x.com>",
        "\"Vic\" <v@x.com>",
        "v(c)@x.com",
        "(c)v@x.com",
        "v@x.com (comment)",
        "\"a b\"@x.com",
        "\"v\"@x.com",
        "v@[127.0.0.1]",
    ] {
        let err = Email::parse("email", other).expect_err(other);
        assert_eq!(err.field, "email");
        assert!(err.description.contains("not a valid email address"), "{err:?}");
    }
    // The mail library reads these as another mailbox than the one
    // stored, or (comments, quoted local parts) as none it can send to.
    assert_eq!(mailbox_of("<v@x.com>").as_deref(), Some("v@x.com"));
    assert_eq!(mailbox_of("Vic <v@x.com>").as_deref(), Some("v@x.com"));
    assert_eq!(mailbox_of("v(c)@x.com"), None);
    assert_eq!(mailbox_of("\"a b\"@x.com"), None);
}

#[test]
fn accepted_emails_are_the_mailbox_the_mail_library_sends_to() {
    for good in [
        "ann@example.com",
        "Ann.Lee+news@Mail.Example.COM",
        "o'neil@example.co.uk",
        "x_y-z@sub-domain.example",
        "a!#$%&'*+-/=?^_`{|}~z@example.com",
        "1@2.example.com",
        "ann@xn--bcher-kva.example",
    ] {
        let email = Email::parse("email", good).expect(good);
        assert_eq!(
            mailbox_of(email.as_str()).as_deref(),
            Some(email.as_str()),
            "{good}"
        );
    }
    let longest = format!("{}@example.com", "d".repeat(MAX_EMAIL_LEN - "@example.com".len()));
    assert!(Email::parse("email", &longest).is_ok(), "the longest address");
    for bad in [
        ".ann@example.com",
        "ann.@example.com",
        "a..nn@example.com",
        "ann@-example.com",
        "ann@example-.com",
        "ann@example.com.",
        "ann@1.2.3.4",
        "ann@exa_mple.com",
        "jos\u{e9}@example.com",
        "ann@b\u{fc}cher.example",
        "\u{212a}@example.com",
        "a\u{200b}nn@example.com",
        "ann;bob@example.com",
        "ann,bob@example.com",
        "ann\\bob@example.com",
    ] {
        assert!(Email::parse("email", bad).is_err(), "{bad:?} should be refused");
    }
    let label = "l".repeat(63);
    assert!(Email::parse("email", &format!("a@{label}.com")).is_ok());
    assert!(Email::parse("email", &format!("a@{label}l.com")).is_err());
}

#[test]
fn names_refuse_control_and_format_characters() {
    assert_eq!(parse_name("name", "  Ann Lee ").unwrap(), "Ann Lee");
    for good in [
        "Jos\u{e9} \u{4e2d}\u{6587}",
        "\u{645}\u{62d}\u{645}\u{62f}",
        "O'Neil-Smith",
        "Zo\u{eb} \u{1f600}",
        "\u{645}\u{6cc}\u{200c}\u{62e}\u{648}\u{627}\u{647}\u{645}",
        "Ada \u{1f469}\u{200d}\u{1f4bb}",
    ] {
        assert_eq!(parse_name("name", good).as_deref(), Ok(good), "{good:?}");
    }
    for bad in [
        "Oli\u{202e}aivl",
        "a\u{202a}b",
        "a\u{2066}b\u{2069}",
        "a\u{200b}b",
        "a\u{200e}b",
        "a\u{feff}b",
        "a\u{ad}b",
        "a\u{e0041}b",
        "a\nb",
        "a\u{7f}b",
        "a\u{85}b",
        "a\u{2028}b",
    ] {
        let err = parse_name("invitee_name", bad).expect_err(bad);
        assert_eq!(err.field, "invitee_name");
        assert!(err.description.contains("format characters"), "{err:?}");
        assert!(RoleName::parse("role", bad).is_err(), "{bad:?}");
        assert_eq!(err.reason, Some(ErrorReason::InvisibleCharacter));
    }
}

#[test]
fn notes_keep_lines_and_refuse_what_reads_otherwise() {
    let kept = "Welcome!\n\n\tThe lists team \u{1f469}\u{200d}\u{1f4bb}\r\nhttps://example.com";
    assert_eq!(parse_note("message", kept).as_deref(), Ok(kept));
    assert_eq!(parse_note("message", "  hi  ").as_deref(), Ok("hi"));
    for bad in [
        "see moc.elgoog\u{202e}//:sptth",
        "a\u{2066}b\u{2069}",
        "click\u{200b}here",
        "a\u{feff}b",
        "a\u{ad}b",
        "a\u{2028}b",
        "a\u{2029}b",
        "bell\u{7}",
        "a\u{1b}[31mred",
        "a\u{85}b",
    ] {
        let err = parse_note("message", bad).expect_err(bad);
        assert_eq!(
            (err.field.as_str(), err.reason),
            ("message", Some(ErrorReason::InvisibleCharacter)),
            "{bad:?}"
        );
    }
}

#[test]
fn role_names_are_trimmed_and_bounded() {
    assert_eq!(RoleName::parse("role", "  editor ").unwrap(), "editor");
    assert!(RoleName::parse("role", " ").is_err());
    assert!(RoleName::parse("role", &"r".repeat(MAX_ROLE_NAME_LEN)).is_ok());
    assert!(RoleName::parse("role", &"r".repeat(MAX_ROLE_NAME_LEN + 1)).is_err());
}

#[test]
fn tokens_are_trimmed_hashed_and_never_shown() {
    let token = InvitationToken::parse("token", " abc ").unwrap();
    assert_eq!(token, InvitationToken::parse("token", "abc").unwrap());
    assert_eq!(token.hash().len(), 64);
    assert_eq!(format!("{token:?}"), "InvitationToken(..)");
    assert!(InvitationToken::parse("token", "  ").is_err());
}

#[test]
fn ids_refuse_empty_long_and_spaced_values() {
    assert!(UserId::parse("user_id", "auth0|abc-123").is_ok());
    assert!(UserId::parse("user_id", "  ").is_err());
    assert!(UserId::parse("user_id", "a b").is_err());
    // Never trimmed: an id must match the stored one exactly.
    for spaced in [" u-lee", "u-lee ", "\tu-lee", "u-lee\n"] {
        let err = UserId::parse("user_id", spaced).expect_err(spaced);
        assert_eq!(err.field, "user_id");
    }
    assert!(UserId::parse("user_id", &"x".repeat(MAX_ID_LEN + 1)).is_err());
    assert!(UserId::parse("user_id", &"x".repeat(MAX_ID_LEN)).is_ok());
    // Past the ASCII fast path: other letters pass, other spaces and
    // control characters do not, and the owned parse agrees.
    assert!(UserId::parse("user_id", "jos\u{e9}-\u{4e2d}").is_ok());
    for bad in ["a\u{a0}b", "a\u{2003}b", "a\u{7f}b", "", "\u{3000}"] {
        assert!(UserId::parse("user_id", bad).is_err(), "{bad:?}");
        assert!(UserId::parse_owned("user_id", bad.to_owned()).is_err(), "{bad:?}");
    }
    let kept = UserId::parse_owned("user_id", "auth0|abc-123".to_owned()).expect("valid");
    assert_eq!(kept.as_str(), "auth0|abc-123");
}
