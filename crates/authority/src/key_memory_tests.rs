//! Which unsealed keys stay in memory: CA keys, which sign again and again, but not a
//! certificate's key read once to be exported.

use certus_kms::Kek;
use certus_store::Store;

use crate::{Authority, IssueRequest, NewCa, RolePatch};

#[tokio::test]
async fn an_exported_key_is_not_kept_in_memory_and_the_ca_key_is() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("t.db")).await.unwrap();
    let a = Authority::new(store, Kek::from_bytes(&[7; 32]), "http://certus.test");
    let token = a.bootstrap(Some("key-memory-test-bootstrap-token")).await.unwrap().unwrap();
    let caller = a.authenticate(Some(&token)).await.unwrap();
    let new_ca =
        NewCa { name: "root".into(), common_name: "Root".into(), ca_type: "root".into(), ..Default::default() };
    let ca = a.create_ca(&caller, new_ca).await.unwrap();
    let role = RolePatch {
        ca_id: Some(ca.row.id.clone()),
        allowed_domains: Some(vec!["keys.test".into()]),
        allow_subdomains: Some(true),
        store_private_keys: Some(true),
        ..Default::default()
    };
    a.create_role(&caller, "keep", role).await.unwrap();
    let request = IssueRequest { common_name: Some("a.keys.test".into()), ..Default::default() };
    let leaf = a.issue(&caller, "keep", request).await.unwrap();

    let exported = a.export_private_key(&caller, &leaf.certificate_id).await.unwrap();
    assert_eq!(Some(exported), leaf.private_key_pem, "the stored key is the one handed out at issue");
    let kept = a.keys.read().unwrap();
    let kept_ids: Vec<&str> = kept.keys().map(|(_, key_id)| key_id.as_str()).collect();
    assert_eq!(kept_ids, [ca.row.key_id.as_str()], "only the CA's signing key stays unsealed");
}
