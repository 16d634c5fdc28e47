//! Store behaviour the authority relies on: atomic multi-row writes, conflicts, monotonic CRLs.
//! One suite, mounted once per backend (as rustls mounts its tests once per provider): on
//! SQLite always, on PostgreSQL when `CERTUS_TEST_PG_URL` names a server (`scripts/test.sh`
//! starts one and sets `CERTUS_REQUIRE_PG`, which makes a missing server a failure).

use crate::*;

/// A store on a fresh database of one backend; `None` when PostgreSQL is not available here.
async fn store_on(backend: Backend) -> Option<Store> {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            let store = Store::open(&dir.path().join("t.db")).await.unwrap();
            // The directory lives as long as the test process; tests are short.
            std::mem::forget(dir);
            Some(store)
        }
        Backend::Postgres => {
            let Ok(base) = std::env::var("CERTUS_TEST_PG_URL") else {
                assert!(std::env::var_os("CERTUS_REQUIRE_PG").is_none(), "CERTUS_TEST_PG_URL is not set");
                eprintln!("skipped: no PostgreSQL (set CERTUS_TEST_PG_URL)");
                return None;
            };
            sqlx::any::install_default_drivers();
            let admin = sqlx::AnyPool::connect(&format!("{base}/postgres")).await.unwrap();
            let name = format!("certus_unit_{}", hex_id());
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&admin).await.unwrap();
            admin.close().await;
            Some(Store::connect(&format!("{base}/{name}")).await.unwrap())
        }
    }
}

fn hex_id() -> String {
    let bytes: [u8; 8] = certus_kms::random_bytes();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Mounts each test of the suite once per backend.
macro_rules! suite {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test] async fn $name() { super::$name(crate::Backend::Sqlite).await })*
        }
        mod postgres {
            $(#[tokio::test] async fn $name() { super::$name(crate::Backend::Postgres).await })*
        }
    };
}

suite!(
    bootstrap_happens_once,
    duplicate_ca_name_is_a_conflict_and_writes_nothing,
    revocation_is_recorded_once,
    every_revocation_moves_the_epoch_a_reader_sees,
    crl_never_goes_backwards,
    keyset_pagination_is_newest_first_and_complete,
    signing_an_unapproved_csr_writes_no_certificate,
    group_commit_fails_only_the_bad_item,
    audit_chain_detects_an_edited_entry,
    expired_sessions_are_swept_and_live_ones_kept,
    acme_nonces_orders_and_authorizations,
    issuances_and_pool_writes_interleave_with_the_chain_intact,
    deleting_an_imported_certificate_removes_its_names,
    delivered_webhooks_are_swept_and_pending_ones_kept,
);

#[tokio::test]
async fn an_in_memory_sqlite_database_is_refused() {
    // The issuance writer opens the file again; each connection to :memory: has its own database.
    match Store::connect("sqlite::memory:").await {
        Err(Error::Config(m)) => assert!(m.contains("database file"), "{m}"),
        other => panic!("expected a configuration error, got {:?}", other.map(|_| ())),
    }
}

#[tokio::test]
async fn sqlite_checkpoints_in_the_background() {
    // No connection checkpoints on commit; the store's own thread copies committed pages into
    // the database file, so the file alone (without its WAL) soon holds what was written.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let s = Store::open(&path).await.unwrap();
    assert!(s.bootstrap("default", &tenant("t1"), &token("tok1", "t1")).await.unwrap());
    s.record_issuance(ca_issuance("ca1", "root", "k1")).await.unwrap();
    for i in 0..50 {
        s.record_issuance(issuance(cert(&format!("w{i}"), &format!("{i:04x}"), 2))).await.unwrap();
    }
    let alone = dir.path().join("alone.db");
    let in_file_alone = || -> rusqlite::Result<i64> {
        std::fs::copy(&path, &alone).map_err(|_| rusqlite::Error::InvalidQuery)?;
        let conn = rusqlite::Connection::open(&alone)?;
        conn.query_row("SELECT COUNT(*) FROM certificates WHERE id LIKE 'w%'", [], |r| r.get(0))
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while in_file_alone().unwrap_or(0) != 50 {
        // A copy taken mid-checkpoint may be torn: try again.
        assert!(std::time::Instant::now() < deadline, "the WAL was not checkpointed into the database file");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn sqlite_wal_stays_bounded_under_back_to_back_writes() {
    // Issuance batches follow each other with no pause, so a background checkpoint never finds
    // the WAL fully copied and SQLite never rewinds it: it grew by the size of every write until
    // the disk filled. 100 MB of certificates written back to back must leave it near 64 MiB.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let s = Store::open(&path).await.unwrap();
    assert!(s.bootstrap("default", &tenant("t1"), &token("tok1", "t1")).await.unwrap());
    s.record_issuance(ca_issuance("ca1", "root", "k1")).await.unwrap();
    let wal = dir.path().join("t.db-wal");
    let mut largest = 0;
    for round in 0..100 {
        let writes: Vec<_> = (0..16)
            .map(|i| {
                let (s, mut c) = (s.clone(), cert(&format!("b{round}-{i}"), &format!("{round:04x}{i:04x}"), 2));
                c.cert_der = vec![0x30; 64 * 1024];
                tokio::spawn(async move { s.record_issuance(issuance(c)).await })
            })
            .collect();
        for written in writes {
            written.await.unwrap().unwrap();
        }
        largest = largest.max(std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0));
    }
    assert!(largest < 80 << 20, "the WAL grew to {} MiB", largest >> 20);
}

fn tenant(id: &str) -> TenantRow {
    TenantRow { id: id.into(), org_id: "org_default".into(), name: id.into(), created_at: 1 }
}

fn token(id: &str, tenant: &str) -> TokenRow {
    TokenRow {
        id: id.into(),
        tenant_id: tenant.into(),
        name: "t".into(),
        secret_hash: vec![1; 32],
        scopes: "pki:admin".into(),
        superuser: true,
        created_at: 1,
        revoked_at: None,
    }
}

fn key(id: &str) -> KeyRow {
    KeyRow {
        id: id.into(),
        tenant_id: "t1".into(),
        spec: "ec:256".into(),
        backend: "software".into(),
        sealed: vec![9; 40],
        created_at: 1,
    }
}

fn ca(id: &str, name: &str, key_id: &str) -> CaRow {
    CaRow {
        id: id.into(),
        tenant_id: "t1".into(),
        name: name.into(),
        common_name: "CA".into(),
        ca_type: "root".into(),
        parent_ca_id: None,
        key_id: key_id.into(),
        key_type: "ec".into(),
        key_size: 256,
        cert_der: vec![0x30],
        serial: "01".into(),
        valid_from: 1,
        valid_until: i64::MAX / 2,
        is_active: true,
        created_at: 1,
        revoked: false,
        key_store: "software".into(),
        profile_id: None,
    }
}

fn cert(id: &str, serial: &str, created_at: i64) -> CertRow {
    CertRow {
        id: id.into(),
        tenant_id: "t1".into(),
        issuer_ca_id: Some("ca1".into()),
        serial: serial.into(),
        common_name: Some("x".into()),
        sans: vec!["x".into(), "10.0.0.1".into()],
        not_before: 1,
        not_after: 4_000_000_000,
        cert_der: vec![0x30],
        chain_pem: None,
        key_id: None,
        role_name: None,
        source: "issued".into(),
        revoked_at: None,
        revocation_reason: None,
        created_at,
    }
}

async fn audit_entries(s: &Store) -> i64 {
    match s.verify_audit_chain().await.unwrap() {
        AuditCheck::Intact { entries } => entries,
        broken => panic!("{broken:?}"),
    }
}

fn audit(id: &str) -> AuditRow {
    AuditRow {
        at: 1,
        tenant_id: Some("t1".into()),
        actor: "tok1".into(),
        action: "certificate.issue".into(),
        resource: id.into(),
        detail: String::new(),
    }
}

/// An issuance of `cert` with nothing else recorded beside it.
fn issuance(cert: CertRow) -> IssuanceRecord {
    let audit = audit(&cert.id);
    IssuanceRecord { cert, key: None, ca: None, door: DoorRecord::None, audit }
}

/// A new root CA with its key and its own certificate, as the pipeline records one.
fn ca_issuance(id: &str, name: &str, key_id: &str) -> IssuanceRecord {
    let mut cert = cert(&format!("{id}-cert"), &format!("{id}-serial"), 1);
    cert.issuer_ca_id = None;
    IssuanceRecord { key: Some(key(key_id)), ca: Some(ca(id, name, key_id)), ..issuance(cert) }
}

async fn with_ca(backend: Backend) -> Option<Store> {
    let s = store_on(backend).await?;
    assert!(s.bootstrap("default", &tenant("t1"), &token("tok1", "t1")).await.unwrap());
    s.record_issuance(ca_issuance("ca1", "root", "k1")).await.unwrap();
    Some(s)
}

async fn bootstrap_happens_once(backend: Backend) {
    let Some(s) = store_on(backend).await else { return };
    assert!(s.bootstrap("default", &tenant("t1"), &token("tok1", "t1")).await.unwrap());
    assert!(!s.bootstrap("default", &tenant("t2"), &token("tok2", "t2")).await.unwrap());
    assert_eq!(s.list_tenants().await.unwrap().len(), 1);
    assert!(matches!(s.get_token("tok2").await, Err(Error::NotFound)));
}

async fn duplicate_ca_name_is_a_conflict_and_writes_nothing(backend: Backend) {
    let Some(s) = with_ca(backend).await else { return };
    let err = s.record_issuance(ca_issuance("ca2", "root", "k2")).await.unwrap_err();
    assert!(matches!(err, Error::Conflict(_)));
    assert!(matches!(s.get_key("t1", "k2").await, Err(Error::NotFound)), "the key row was rolled back");
    assert_eq!(s.list_cas("t1").await.unwrap().len(), 1);
}

async fn revocation_is_recorded_once(backend: Backend) {
    let Some(s) = with_ca(backend).await else { return };
    s.insert_certificate(&cert("c1", "0a", 5), None, &audit("import")).await.unwrap();
    let before = audit_entries(&s).await;
    assert!(s.revoke_certificate("t1", "c1", 10, "key_compromise", &audit("rev1")).await.unwrap());
    assert!(!s.revoke_certificate("t1", "c1", 11, "superseded", &audit("rev2")).await.unwrap());
    assert_eq!(audit_entries(&s).await, before + 1, "the revocation and its audit entry commit together, once");
    let revoked = s.revoked_for_ca("ca1", 0, 100).await.unwrap();
    let expected = Revoked { serial: "0a", revoked_at: 10, reason: "key_compromise" };
    assert_eq!(revoked.entries().unwrap(), vec![expected]);
    let expired = s.revoked_for_ca("ca1", 0, 4_000_000_001).await.unwrap();
    assert!(expired.entries().unwrap().is_empty(), "expired entries drop off");
    assert!(
        s.revoked_for_ca("ca1", 11, 100).await.unwrap().entries().unwrap().is_empty(),
        "a delta starts at its base"
    );
    assert_eq!(s.revocation_epoch("ca1").await.unwrap(), 1);
    assert_eq!(s.revocation_of("ca1", "0a").await.unwrap(), Some(Some(10)));
    assert_eq!(s.revocation_of("ca1", "0b").await.unwrap(), None);
    assert!(!s.revoke_certificate("other-tenant", "c1", 12, "x", &audit("rev3")).await.unwrap());
}

/// OCSP and the CRLs read the epoch to see a revocation at once; on SQLite it is kept in memory
/// between bumps, so each kind of bump must show in the next read.
async fn every_revocation_moves_the_epoch_a_reader_sees(backend: Backend) {
    let Some(s) = with_ca(backend).await else { return };
    s.insert_certificate(&cert("c1", "0a", 5), None, &audit("import")).await.unwrap();
    assert_eq!(s.revocation_epoch("ca1").await.unwrap(), 0);
    assert_eq!(s.revocation_epoch("ca1").await.unwrap(), 0, "read again (kept, on SQLite)");
    assert!(s.revoke_certificate("t1", "c1", 10, "certificate_hold", &audit("hold")).await.unwrap());
    assert_eq!(s.revocation_epoch("ca1").await.unwrap(), 1);
    assert!(s.release_hold("t1", "c1", &audit("release")).await.unwrap());
    assert_eq!(s.revocation_epoch("ca1").await.unwrap(), 2);
    assert!(s.revoke_ca("t1", "ca1", "ca1-cert", 11, "key_compromise", &audit("ca")).await.unwrap().0);
    assert_eq!(s.revocation_epoch("ca1").await.unwrap(), 3);
    assert!(!s.revoke_certificate("t1", "c1", 12, "superseded", &audit("again")).await.unwrap());
    assert_eq!(s.revocation_epoch("ca1").await.unwrap(), 3, "nothing revoked, nothing moved");
}

async fn crl_never_goes_backwards(backend: Backend) {
    let Some(s) = with_ca(backend).await else { return };
    let crl = |n: i64, base: Option<i64>| CrlRow {
        ca_id: "ca1".into(),
        crl_number: n,
        der: vec![n as u8],
        this_update: n,
        next_update: n + 1,
        epoch: 0,
        base_number: base,
    };
    // An abandoned build stores nothing; its number may be skipped (SQLite) or reused
    // (PostgreSQL rolls it back), but a finished build is numbered above every earlier one.
    let abandoned = s.begin_crl_build("ca1").await.unwrap().number();
    let build = s.begin_crl_build("ca1").await.unwrap();
    let n1 = build.number();
    assert!(n1 >= abandoned);
    build.finish(&crl(n1, None), None).await.unwrap();
    let mut build = s.begin_crl_build("ca1").await.unwrap();
    let n2 = build.number();
    assert!(n2 > n1);
    assert!(build.revoked(0, 0).await.unwrap().entries().unwrap().is_empty());
    build.finish(&crl(n2, None), None).await.unwrap();
    // A late, lower-numbered CRL never replaces a higher one; deltas likewise.
    s.store_crl(&crl(n1, None)).await.unwrap();
    assert_eq!(s.get_crl("ca1", false).await.unwrap().unwrap().crl_number, n2);
    s.store_crl(&crl(n2 + 2, Some(n2))).await.unwrap();
    s.store_crl(&crl(n2 + 1, Some(n2))).await.unwrap();
    let delta = s.get_crl("ca1", true).await.unwrap().unwrap();
    assert_eq!((delta.crl_number, delta.base_number), (n2 + 2, Some(n2)));
    assert!(matches!(s.begin_crl_build("nope").await, Err(Error::NotFound)));
}

async fn keyset_pagination_is_newest_first_and_complete(backend: Backend) {
    let Some(s) = with_ca(backend).await else { return };
    for i in 0..5 {
        s.insert_certificate(&cert(&format!("c{i}"), &format!("0{i}"), 100 + i / 2), None, &audit("import"))
            .await
            .unwrap();
    }
    let mut q = CertQuery { now: 0, limit: 2, include_revoked: true, ..Default::default() };
    let mut seen = vec![];
    loop {
        let page = s.list_certificates("t1", &q).await.unwrap();
        if page.is_empty() {
            break;
        }
        let last = page.last().unwrap();
        q.after = Some((last.created_at, last.id.clone()));
        seen.extend(page.into_iter().map(|c| c.id));
    }
    assert_eq!(seen, ["c4", "c3", "c2", "c1", "c0", "ca1-cert"], "the CA's own certificate is in the inventory too");
    assert_eq!(s.get_certificate("t1", "c1").await.unwrap().sans, vec!["x", "10.0.0.1"]);
    assert!(matches!(s.get_certificate("t2", "c1").await, Err(Error::NotFound)));
}

async fn signing_an_unapproved_csr_writes_no_certificate(backend: Backend) {
    let Some(s) = with_ca(backend).await else { return };
    let csr = CsrRow {
        id: "csr1".into(),
        tenant_id: "t1".into(),
        csr_der: vec![0x30],
        common_name: None,
        sans: vec![],
        key_type: "ec".into(),
        key_bits: 256,
        status: "pending".into(),
        reject_reason: None,
        key_id: None,
        certificate_id: None,
        created_at: 1,
        updated_at: 1,
    };
    s.insert_csr(&csr, None, &audit("csr1")).await.unwrap();
    let signed = || IssuanceRecord {
        door: DoorRecord::CsrSigned { tenant_id: "t1".into(), csr_id: "csr1".into() },
        ..issuance(cert("c9", "09", 1))
    };
    assert!(matches!(s.record_issuance(signed()).await, Err(Error::Changed(_))));
    assert!(matches!(s.get_certificate("t1", "c9").await, Err(Error::NotFound)));
    assert!(s.transition_csr("t1", "csr1", "pending", "approved", None, &audit("a")).await.unwrap());
    assert!(!s.transition_csr("t1", "csr1", "pending", "rejected", Some("late"), &audit("r")).await.unwrap());
    s.record_issuance(signed()).await.unwrap();
    let done = s.get_csr("t1", "csr1").await.unwrap();
    assert_eq!((done.status.as_str(), done.certificate_id.as_deref()), ("signed", Some("c9")));
}

async fn group_commit_fails_only_the_bad_item(backend: Backend) {
    let Some(s) = with_ca(backend).await else { return };
    s.insert_certificate(&cert("dup", "ff", 1), None, &audit("import")).await.unwrap();
    let mut jobs = Vec::new();
    for i in 0..50 {
        let s = s.clone();
        let (id, serial) =
            if i == 25 { ("c-dup".to_string(), "ff".to_string()) } else { (format!("g{i}"), format!("{i:04x}")) };
        jobs.push(tokio::spawn(async move { s.record_issuance(issuance(cert(&id, &serial, 2))).await }));
    }
    let mut failures = 0;
    for (i, job) in jobs.into_iter().enumerate() {
        match job.await.unwrap() {
            Ok(_) => assert!(s.get_certificate("t1", &format!("g{i}")).await.is_ok()),
            Err(Error::Conflict(_)) => failures += 1,
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(failures, 1, "only the duplicate serial fails");
    assert!(matches!(s.get_certificate("t1", "c-dup").await, Err(Error::NotFound)));
}

/// On SQLite, issuances commit on the writer's own connection and other writes on the pool's:
/// both extend one audit chain, none is lost, and the chain verifies.
async fn issuances_and_pool_writes_interleave_with_the_chain_intact(backend: Backend) {
    let Some(s) = with_ca(backend).await else { return };
    let before = match s.verify_audit_chain().await.unwrap() {
        AuditCheck::Intact { entries } => entries,
        broken => panic!("{broken:?}"),
    };
    let mut jobs = Vec::new();
    for i in 0..120 {
        let s = s.clone();
        jobs.push(tokio::spawn(async move {
            if i % 3 == 0 {
                s.append_audit(&audit(&format!("pool{i}"))).await
            } else {
                s.record_issuance(issuance(cert(&format!("w{i}"), &format!("{i:04x}"), 2))).await.map(|_| ())
            }
        }));
    }
    for job in jobs {
        job.await.unwrap().unwrap();
    }
    assert_eq!(s.verify_audit_chain().await.unwrap(), AuditCheck::Intact { entries: before + 120 });
    for i in (0..120).filter(|i| i % 3 != 0) {
        s.get_certificate("t1", &format!("w{i}")).await.unwrap();
    }
}

async fn deleting_an_imported_certificate_removes_its_names(backend: Backend) {
    let Some(s) = with_ca(backend).await else { return };
    let imported = |id: &str| {
        let mut c = cert(id, &format!("{id}-serial"), 2);
        (c.issuer_ca_id, c.common_name, c.sans) =
            (None, Some("Shared.Example".into()), vec!["shared.example".into(), format!("{id}.example")]);
        issuance(c)
    };
    for id in ["imp1", "imp2"] {
        s.record_issuance(imported(id)).await.unwrap();
    }
    s.record_issuance(issuance(cert("issued1", "0a", 2))).await.unwrap();
    let names_of = |id: &'static str| {
        let pool = s.pool().clone();
        async move {
            let sql = "SELECT name FROM certificate_names WHERE certificate_id = $1 ORDER BY name";
            sqlx::query_scalar::<_, String>(sql).bind(id).fetch_all(&pool).await.unwrap()
        }
    };
    assert_eq!(names_of("imp1").await, ["imp1.example", "shared.example"]);

    s.delete_orphan_certificate("t1", "imp1", &audit("imp1")).await.unwrap();
    assert!(names_of("imp1").await.is_empty(), "the deleted certificate's names are gone");
    assert_eq!(names_of("imp2").await, ["imp2.example", "shared.example"], "another's same name stays");
    assert!(matches!(s.get_certificate("t1", "imp1").await, Err(Error::NotFound)));
    // Once only; never a certificate a CA here issued, nor another tenant's.
    assert!(matches!(s.delete_orphan_certificate("t1", "imp1", &audit("imp1")).await, Err(Error::NotFound)));
    assert!(matches!(s.delete_orphan_certificate("t1", "issued1", &audit("x")).await, Err(Error::NotFound)));
    assert!(matches!(s.delete_orphan_certificate("t2", "imp2", &audit("x")).await, Err(Error::NotFound)));
    assert_eq!(names_of("issued1").await, ["10.0.0.1", "x"]);
}

async fn audit_chain_detects_an_edited_entry(backend: Backend) {
    let Some(s) = store_on(backend).await else { return };
    let entry = |i: i64| AuditRow {
        at: 100 + i,
        tenant_id: Some("t1".into()),
        actor: "tok1".into(),
        action: "certificate.issue".into(),
        resource: format!("cert_{i}"),
        detail: format!("serial={i}\nwith a newline"),
    };
    for i in 0..5 {
        s.append_audit(&entry(i)).await.unwrap();
    }
    assert_eq!(s.verify_audit_chain().await.unwrap(), AuditCheck::Intact { entries: 5 });

    // Edit the third entry behind the store's back.
    let raw = s.pool().clone();
    sqlx::query("UPDATE audit_log SET detail = 'serial=999' WHERE seq = 3").execute(&raw).await.unwrap();
    match s.verify_audit_chain().await.unwrap() {
        AuditCheck::Broken { seq, reason, .. } => {
            assert_eq!(seq, 3);
            assert!(reason.contains("hash"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    // Deleting the last entry is caught by the head.
    sqlx::query("UPDATE audit_log SET detail = 'serial=2\nwith a newline' WHERE seq = 3").execute(&raw).await.unwrap();
    assert_eq!(s.verify_audit_chain().await.unwrap(), AuditCheck::Intact { entries: 5 });
    sqlx::query("DELETE FROM audit_log WHERE seq = 5").execute(&raw).await.unwrap();
    assert!(matches!(s.verify_audit_chain().await.unwrap(), AuditCheck::Broken { .. }));
}

async fn expired_sessions_are_swept_and_live_ones_kept(backend: Backend) {
    let Some(s) = store_on(backend).await else { return };
    let user =
        UserRow { username: "u".into(), email: "u@example.com".into(), role: "user".into(), ..Default::default() };
    let audit = AuditRow {
        at: 1,
        tenant_id: None,
        actor: "test".into(),
        action: "user_create".into(),
        resource: "user".into(),
        detail: String::new(),
    };
    let id = s.insert_user(&user, &audit, true).await.unwrap();
    // The anonymous first-user bootstrap happens once, even for requests that raced past the
    // empty-table check.
    let second = UserRow { username: "second".into(), email: "second@example.com".into(), ..user.clone() };
    assert!(matches!(s.insert_user(&second, &audit, true).await, Err(Error::Conflict(_))));
    s.insert_refresh_token("old", id, 100).await.unwrap();
    s.insert_refresh_token("live", id, 300).await.unwrap();
    s.end_session("jti-old", 100, "old").await.unwrap();
    s.end_session("jti-live", 300, "none").await.unwrap();
    assert_eq!(s.sweep_expired_sessions(200).await.unwrap(), 2);
    assert!(matches!(s.refresh_token_owner("old").await, Err(Error::NotFound)));
    assert_eq!(s.take_refresh_token("live", 200).await.unwrap(), id);
    assert!(!s.is_access_token_blocked("jti-old").await.unwrap());
    assert!(s.is_access_token_blocked("jti-live").await.unwrap());
}

async fn acme_nonces_orders_and_authorizations(backend: Backend) {
    use crate::{AcmeAccountRow, AcmeAuthzRow, AcmeDirectoryRow, AcmeOrderRow};
    let Some(s) = with_ca(backend).await else { return };
    let dir = AcmeDirectoryRow {
        name: "web".into(),
        tenant_id: "t1".into(),
        role_name: Some("r".into()),
        ca_id: None,
        profile_id: None,
        profiles_json: "[]".into(),
        require_eab: false,
        terms_of_service: None,
        created_at: 1,
    };
    s.insert_acme_directory(&dir, &audit("dir")).await.unwrap();
    // A nonce is used once, whichever node asks; expired uses are swept.
    assert!(s.use_acme_nonce("n1", 100).await.unwrap());
    assert!(!s.use_acme_nonce("n1", 100).await.unwrap());
    assert_eq!(s.sweep_acme_nonces(100).await.unwrap(), 1);
    let account = AcmeAccountRow {
        id: "a1".into(),
        directory: "web".into(),
        thumbprint: "tp".into(),
        jwk: "{}".into(),
        status: "valid".into(),
        contact_json: "[]".into(),
        eab_kid: None,
        created_at: 1,
    };
    s.insert_acme_account(&account, &audit("acct")).await.unwrap();
    assert!(matches!(
        s.insert_acme_account(&AcmeAccountRow { id: "a2".into(), ..account.clone() }, &audit("acct2")).await,
        Err(Error::Conflict(_))
    ));
    // An EAB key binds one account.
    let bound = AcmeAccountRow { id: "a3".into(), thumbprint: "tp3".into(), eab_kid: Some("k1".into()), ..account };
    assert!(matches!(s.insert_acme_account(&bound, &audit("acct3")).await, Err(Error::Conflict(_))));
    let order = |id: &str, replaces: Option<&str>| AcmeOrderRow {
        id: id.into(),
        account_id: "a1".into(),
        status: "pending".into(),
        identifiers_json: "[]".into(),
        profile: None,
        replaces: replaces.map(Into::into),
        expires_at: 1000,
        error_json: None,
        certificate_id: None,
        created_at: 1,
    };
    let authz = |id: &str, order_id: &str| AcmeAuthzRow {
        id: id.into(),
        order_id: order_id.into(),
        id_type: "dns".into(),
        id_value: "a.example".into(),
        wildcard: false,
        status: "pending".into(),
        token: "t".into(),
        chall_type: None,
        validated_at: None,
        error_json: None,
        expires_at: 1000,
    };
    s.insert_acme_order(&order("o1", Some("ari")), &[authz("o1-0", "o1"), authz("o1-1", "o1")]).await.unwrap();
    assert!(matches!(s.insert_acme_order(&order("o2", Some("ari")), &[]).await, Err(Error::Conflict(_))));
    assert!(matches!(s.acme_order("o2").await, Err(Error::NotFound)), "a refused order writes nothing");
    // One validation at a time; the order is ready when every authorization is valid.
    assert!(s.start_acme_authz("o1-0", "http-01").await.unwrap());
    assert!(!s.start_acme_authz("o1-0", "dns-01").await.unwrap());
    assert!(s.finish_acme_authz("o1-0", &["processing"], "valid", 5, None).await.unwrap());
    assert_eq!(s.acme_order("o1").await.unwrap().status, "pending");
    assert!(s.start_acme_authz("o1-1", "http-01").await.unwrap());
    assert!(s.finish_acme_authz("o1-1", &["processing"], "valid", 6, None).await.unwrap());
    assert_eq!(s.acme_order("o1").await.unwrap().status, "ready");
    assert!(s.set_acme_order_status("o1", "ready", "processing", None).await.unwrap());
    assert!(!s.set_acme_order_status("o1", "ready", "processing", None).await.unwrap(), "finalized once");
    // A failed authorization fails its order, with the problem.
    s.insert_acme_order(&order("o3", None), &[authz("o3-0", "o3")]).await.unwrap();
    assert!(s.start_acme_authz("o3-0", "http-01").await.unwrap());
    assert!(s.finish_acme_authz("o3-0", &["processing"], "invalid", 7, Some("{}")).await.unwrap());
    let failed = s.acme_order("o3").await.unwrap();
    assert_eq!((failed.status.as_str(), failed.error_json.as_deref()), ("invalid", Some("{}")));
    assert_eq!(s.acme_order_ids("a1", 0, 10).await.unwrap(), ["o1", "o3"]);
    assert_eq!(s.count_unfinished_acme_orders("a1", 0).await.unwrap(), 1, "o1 is processing, o3 invalid");
    assert_eq!(s.count_unfinished_acme_orders("a1", 1).await.unwrap(), 0, "only orders created after the bound");

    // A replacement that failed, or expired unfinished, gives up its claim; an open one keeps it,
    // a finalized one for good.
    s.insert_acme_order(&order("o4", Some("ari2")), &[authz("o4-0", "o4")]).await.unwrap();
    assert!(s.finish_acme_authz("o4-0", &["pending"], "deactivated", 8, None).await.unwrap());
    s.insert_acme_order(&order("o5", Some("ari2")), &[]).await.unwrap();
    assert_eq!(s.acme_order("o4").await.unwrap().replaces, None);
    let at = |id: &str, replaces: &str, created_at| AcmeOrderRow {
        created_at,
        expires_at: 2000,
        ..order(id, Some(replaces))
    };
    let conflict = |r: Result<()>| matches!(r, Err(Error::Conflict(_)));
    assert!(conflict(s.insert_acme_order(&at("o6", "ari", 999), &[]).await), "o1 processes until 1000");
    s.insert_acme_order(&at("o6", "ari", 1000), &[]).await.unwrap();
    s.insert_acme_order(&at("o7", "ari2", 1000), &[]).await.unwrap();
    assert_eq!(s.acme_order("o5").await.unwrap().replaces, None, "o5 expired pending at 1000");
    assert!(conflict(s.insert_acme_order(&at("o8", "ari2", 1000), &[]).await), "o7 is open");
    let finalized = AcmeOrderRow { status: "valid".into(), ..order("o10", Some("ari3")) };
    s.insert_acme_order(&finalized, &[]).await.unwrap();
    assert!(conflict(s.insert_acme_order(&at("o11", "ari3", 1000), &[]).await), "o10 replaced it");

    // Orders that expired without a certificate are swept with their authorizations; valid ones stay.
    s.insert_acme_order(&AcmeOrderRow { status: "valid".into(), ..order("o9", None) }, &[]).await.unwrap();
    assert_eq!(s.sweep_acme_orders(1500, 2).await.unwrap(), 2);
    assert_eq!(s.sweep_acme_orders(1500, 1000).await.unwrap(), 2, "o1, o3, o4 and o5 in all");
    assert_eq!(s.acme_order_ids("a1", 0, 10).await.unwrap(), ["o10", "o9", "o6", "o7"]);
    assert!(matches!(s.acme_authz("o3-0").await, Err(Error::NotFound)));
}

/// An endpoint of tenant t1 for one event (nothing listens at its URL).
fn webhook(id: &str, event: &str) -> WebhookRow {
    WebhookRow {
        id: id.into(),
        tenant_id: "t1".into(),
        url: "http://127.0.0.1:9/hook".into(),
        events_json: format!("[\"{event}\"]"),
        secret_sealed: vec![1],
        created_at: 1,
    }
}

async fn delivered_webhooks_are_swept_and_pending_ones_kept(backend: Backend) {
    let Some(s) = with_ca(backend).await else { return };
    s.insert_webhook(&webhook("wh1", "webhook.test"), &audit("wh1")).await.unwrap();
    let mut ids = Vec::new();
    for at in [1, 2, 3, 4] {
        ids.push(s.enqueue_webhook_test("t1", "wh1", at).await.unwrap());
    }
    assert_eq!(s.lease_due_deliveries(10, 70, 10).await.unwrap().len(), 4);
    s.finish_delivery(&ids[0], 100, None).await.unwrap();
    s.finish_delivery(&ids[1], 200, None).await.unwrap();
    s.finish_delivery(&ids[2], 5000, None).await.unwrap();
    s.finish_delivery(&ids[3], 20, Some(("connection refused", 40))).await.unwrap();

    // Delivered before 1000: two, taken one statement at a time.
    assert_eq!(s.sweep_delivered_webhooks(1000, 1).await.unwrap(), 1);
    assert_eq!(s.sweep_delivered_webhooks(1000, 1).await.unwrap(), 1);
    assert_eq!(s.sweep_delivered_webhooks(1000, 1).await.unwrap(), 0);
    let mut left: Vec<String> = s.list_deliveries("wh1", 10).await.unwrap().into_iter().map(|d| d.id).collect();
    left.sort();
    let mut expected = vec![ids[2].clone(), ids[3].clone()];
    expected.sort();
    assert_eq!(left, expected);
    // However old, a delivery still being retried stays.
    assert_eq!(s.sweep_delivered_webhooks(i64::MAX / 2, 100).await.unwrap(), 1);
    let left = s.list_deliveries("wh1", 10).await.unwrap();
    assert_eq!((left.len(), left[0].status.as_str()), (1, "pending"));
}

/// An endpoint being deleted (its cascade holding its deliveries) does not make the outbox's
/// lease wait: the lease skips those rows, so the two can never deadlock. PostgreSQL only:
/// SQLite's writers never overlap.
#[tokio::test]
async fn leasing_deliveries_skips_those_a_deletion_holds() {
    let Some(s) = with_ca(Backend::Postgres).await else { return };
    for id in ["wh1", "wh2"] {
        s.insert_webhook(&webhook(id, "webhook.test"), &audit(id)).await.unwrap();
        s.enqueue_webhook_test("t1", id, 1).await.unwrap();
        s.enqueue_webhook_test("t1", id, 2).await.unwrap();
    }
    let mut deleting = s.pool().begin().await.unwrap();
    sqlx::query("DELETE FROM webhooks WHERE id = 'wh1'").execute(&mut *deleting).await.unwrap();
    let leased = tokio::time::timeout(std::time::Duration::from_secs(5), s.lease_due_deliveries(10, 70, 10))
        .await
        .expect("the lease waited for the deletion")
        .unwrap();
    let hooks: Vec<&str> = leased.iter().map(|(_, w)| w.id.as_str()).collect();
    assert_eq!(hooks, ["wh2", "wh2"]);
    deleting.commit().await.unwrap();
}

/// An issuance holding the audit head while it announces to an endpoint, and that endpoint's
/// deletion, take their locks in one order (the head first): the announcement is not blocked by
/// the deletion, which then goes ahead. PostgreSQL only, as above.
#[tokio::test]
async fn deleting_an_endpoint_waits_for_an_issuance_announcing_to_it() {
    let Some(s) = with_ca(Backend::Postgres).await else { return };
    s.insert_webhook(&webhook("wh1", "certificate.issued"), &audit("wh1")).await.unwrap();
    let mut issuing = s.pool().acquire().await.unwrap().detach();
    crate::exec::Exec::run(&mut issuing, crate::db::Sql::new("BEGIN")).await.unwrap();
    crate::audit::append(&mut issuing, &[&audit("c1")]).await.unwrap();
    let deleting = tokio::spawn({
        let s = s.clone();
        async move { s.delete_webhook("t1", "wh1", &audit("wh1")).await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let announced = crate::webhooks::enqueue(&mut issuing, "t1", "certificate.issued", serde_json::json!({}), 2);
    tokio::time::timeout(std::time::Duration::from_secs(5), announced)
        .await
        .expect("the announcement waited for the deletion")
        .unwrap();
    crate::exec::Exec::run(&mut issuing, crate::db::Sql::new("COMMIT")).await.unwrap();
    deleting.await.unwrap().unwrap();
    assert!(s.list_webhooks("t1").await.unwrap().is_empty());
    audit_entries(&s).await;
}
