//! ApiKey: created once with known scopes, revoked once.

use chrono::{TimeZone, Utc};
use cqrs_es::test::TestFramework;
use domain::{ApiKey, ApiKeyCommand, ErrorKind, Services};
use event_schemas::ApiKeyEvent;

fn keys() -> TestFramework<ApiKey> {
    TestFramework::with(Services::fixed_at(
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
    ))
}

fn create(scopes: &[&str]) -> ApiKeyCommand {
    ApiKeyCommand::Create {
        key_id: "k1".into(),
        name: "shop backend".into(),
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        key_sha256: "ab".repeat(32),
        expires_at: None,
    }
}

fn created(scopes: &[&str]) -> ApiKeyEvent {
    ApiKeyEvent::ApiKeyCreated {
        key_id: "k1".into(),
        name: "shop backend".into(),
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        key_sha256: "ab".repeat(32),
        expires_at: None,
    }
}

#[test]
fn a_key_is_created_with_its_scopes_sorted_and_unique() {
    keys()
        .given_no_previous_events()
        .when(create(&["stock:write", "read", "read"]))
        .then_expect_events(vec![created(&["read", "stock:write"])]);
}

#[test]
fn unknown_scopes_no_scopes_and_past_expiry_are_invalid() {
    for command in [
        create(&["root"]),
        create(&[]),
        ApiKeyCommand::Create {
            key_id: "k1".into(),
            name: "old".into(),
            scopes: vec!["read".into()],
            key_sha256: "ab".repeat(32),
            expires_at: Some(Utc.with_ymd_and_hms(2025, 12, 31, 0, 0, 0).unwrap()),
        },
    ] {
        let refusal = keys()
            .given_no_previous_events()
            .when(command)
            .inspect_result()
            .unwrap_err();
        assert_eq!(refusal.kind, ErrorKind::Invalid);
    }
}

#[test]
fn a_key_cannot_be_created_twice() {
    let refusal = keys()
        .given(vec![created(&["read"])])
        .when(create(&["read"]))
        .inspect_result()
        .unwrap_err();
    assert_eq!(refusal.code, "key_exists");
}

#[test]
fn revoking_records_once_and_then_changes_nothing() {
    let revoke = ApiKeyCommand::Revoke {
        key_id: "k1".into(),
    };
    keys()
        .given(vec![created(&["read"])])
        .when(revoke.clone())
        .then_expect_events(vec![ApiKeyEvent::ApiKeyRevoked {
            key_id: "k1".into(),
        }]);
    keys()
        .given(vec![
            created(&["read"]),
            ApiKeyEvent::ApiKeyRevoked {
                key_id: "k1".into(),
            },
        ])
        .when(revoke.clone())
        .then_expect_events(vec![]);
    let unknown = keys()
        .given_no_previous_events()
        .when(revoke)
        .inspect_result()
        .unwrap_err();
    assert_eq!(unknown.kind, ErrorKind::NotFound);
}
