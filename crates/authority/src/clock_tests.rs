//! The authority reads time only from its clock: a test moves it and sees issuance, CRLs, CA
//! expiry and OCSP responder renewal follow.

use std::sync::Arc;

use certus_kms::Kek;
use certus_store::Store;
use time::{Duration, OffsetDateTime, macros::datetime};

use crate::{Authority, Caller, IssueRequest, ManualClock, NewCa, RolePatch};

const START: OffsetDateTime = datetime!(2031-03-04 05:06:07 UTC);

async fn authority(clock: Arc<ManualClock>) -> (Authority, Caller, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("t.db")).await.unwrap();
    let authority = Authority::new(store, Kek::from_bytes(&[9; 32]), "http://certus.test").with_clock(clock);
    let token = authority.bootstrap(Some("clock-test-bootstrap-token")).await.unwrap().unwrap();
    let caller = authority.authenticate(Some(&token)).await.unwrap();
    (authority, caller, dir)
}

async fn ca_and_role(a: &Authority, caller: &Caller) -> String {
    let ca = a
        .create_ca(
            caller,
            NewCa {
                name: "clock-root".into(),
                common_name: "Clock Root".into(),
                ca_type: "root".into(),
                key_type: Some("ec".into()),
                key_size: Some(256),
                validity_days: Some(30),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let role = RolePatch {
        ca_id: Some(ca.row.id.clone()),
        allowed_domains: Some(vec!["clock.test".into()]),
        allow_subdomains: Some(true),
        key_type: Some(Some("ec".into())),
        ..Default::default()
    };
    a.create_role(caller, "clock", role).await.unwrap();
    ca.row.id
}

#[tokio::test]
async fn issuance_crls_and_ca_expiry_follow_the_clock() {
    let clock = Arc::new(ManualClock::new(START));
    let (a, caller, _dir) = authority(clock.clone()).await;
    let ca_id = ca_and_role(&a, &caller).await;
    let leaf =
        a.issue(&caller, "clock", IssueRequest { common_name: Some("a.clock.test".into()), ..Default::default() });
    let leaf = leaf.await.unwrap();
    let info = certus_x509::parse_certificate(&certus_x509::certs_from_pem(&leaf.certificate_pem).unwrap()[0]).unwrap();
    assert_eq!(info.not_before, START);

    let crl = a.public_crl(&ca_id).await.unwrap();
    assert_eq!(crl.this_update, START.unix_timestamp());
    assert!(crl.next_update > crl.this_update);
    // An hour later the CRL is rebuilt with the new time.
    clock.advance(Duration::hours(2));
    let later = a.public_crl(&ca_id).await.unwrap();
    assert_eq!(later.this_update, (START + Duration::hours(2)).unix_timestamp());
    assert!(later.crl_number > crl.crl_number);

    // Past the CA's 30 days, it signs nothing.
    clock.advance(Duration::days(31));
    let err = a
        .issue(&caller, "clock", IssueRequest { common_name: Some("b.clock.test".into()), ..Default::default() })
        .await
        .unwrap_err();
    assert!(err.message.contains("expired"), "{}", err.message);
}

#[tokio::test]
async fn the_ocsp_responder_is_renewed_a_week_before_it_expires() {
    let clock = Arc::new(ManualClock::new(START));
    let (a, caller, _dir) = authority(clock.clone()).await;
    let ca_id = ca_and_role(&a, &caller).await;
    let first = a.ocsp_signer(&ca_id).await.unwrap();
    let first_info = certus_x509::parse_certificate(first.responder.cert_der()).unwrap();
    // Backdated a minute, but not before the CA.
    assert_eq!(first_info.not_before, START);
    clock.advance(Duration::days(10));
    assert_eq!(
        a.ocsp_signer(&ca_id).await.unwrap().responder.cert_der(),
        first.responder.cert_der(),
        "still valid for weeks"
    );
    clock.advance(Duration::days(14));
    let renewed = a.ocsp_signer(&ca_id).await.unwrap();
    assert_ne!(renewed.responder.cert_der(), first.responder.cert_der());
    let renewed_info = certus_x509::parse_certificate(renewed.responder.cert_der()).unwrap();
    assert_eq!(renewed_info.not_before, START + Duration::days(24) - Duration::minutes(1));
}

#[tokio::test]
async fn console_sessions_end_when_idle_and_at_their_age_limit() {
    let clock = Arc::new(ManualClock::new(START));
    let (a, _caller, _dir) = authority(clock.clone()).await;
    let token = "clock-test-bootstrap-token";
    let gone = |r: crate::Result<crate::ConsoleViewer>| matches!(r, Err(e) if e.kind == crate::ErrorKind::Unauthorized);

    // Idle: 29 minutes between requests keep it alive, 31 end it.
    let cookie = a.console_login_with_token(token).await.unwrap();
    for _ in 0..3 {
        clock.advance(Duration::minutes(29));
        a.console_viewer(&cookie, None).await.unwrap();
    }
    clock.advance(Duration::minutes(31));
    assert!(gone(a.console_viewer(&cookie, None).await), "idle for 31 minutes");

    // Age: even a busy session ends after 12 hours.
    let cookie = a.console_login_with_token(token).await.unwrap();
    for _ in 0..35 {
        clock.advance(Duration::minutes(20));
        a.console_viewer(&cookie, None).await.unwrap();
    }
    clock.advance(Duration::minutes(21));
    assert!(gone(a.console_viewer(&cookie, None).await), "older than 12 hours");

    // Logout ends it at once; a wrong cookie never opened anything.
    let cookie = a.console_login_with_token(token).await.unwrap();
    let viewer = a.console_viewer(&cookie, None).await.unwrap();
    a.console_logout(&viewer).await.unwrap();
    assert!(gone(a.console_viewer(&cookie, None).await));
    assert!(gone(a.console_viewer("not-a-session", None).await));
    assert!(a.console_login_with_token("wrong-token-of-enough-length").await.is_err());
}
