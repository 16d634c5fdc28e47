//! Persistence for everything the authority records. SQL lives only here. SQLite is the
//! embedded default and PostgreSQL the scale-out backend; both run the same SQL (numbered `$n`
//! parameters, integer timestamps and flags) through sqlx's `Any` driver, with one migration
//! folder per backend holding the same schema. On SQLite, issuance batches and OCSP's point
//! reads go through rusqlite connections of the store's own instead (`sqlite_writer`, `exec`).
//!
//! One module per record kind (tenants, keys, cas, certificates, crls, roles, profiles, csrs,
//! trust, audit, users), one per front door with records of its own (fastpki, mdl, est, acme), and the
//! issuance record that writes several kinds in one transaction (issuance, group_commit). All of
//! them build on `db` (SQL builder, transaction type) and `store` (the handle), which know no
//! record kind.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[macro_use]
mod db;
mod acme;
mod audit;
mod cas;
mod certificates;
mod checkpointer;
mod console;
mod crls;
mod csrs;
mod epochs;
mod error;
mod est;
mod exec;
mod fastpki;
mod gauges;
mod group_commit;
mod issuance;
mod keys;
mod maintenance;
mod mdl;
mod metadata;
mod migrate;
mod postgres_writer;
mod profiles;
mod rate_windows;
mod records;
mod roles;
mod sqlite_writer;
mod store;
mod tenants;
#[cfg(test)]
mod tests;
mod trust;
mod users;
mod webhooks;

pub use acme::{AcmeAccountRow, AcmeAuthzRow, AcmeDirectoryRow, AcmeEabKeyRow, AcmeOrderRow};
pub use audit::AuditCheck;
pub use console::{AuditPageRow, CaCounts, ConsoleSessionRow, EXPIRY_WINDOWS};
pub use crls::{CrlBuild, Revoked, RevokedList};
pub use db::Backend;
pub use error::{Error, Result};
pub use est::EstLabelRow;
pub use fastpki::accounts::{ServiceAccountRow, ServiceTokenRow};
pub use fastpki::{
    FastPkiAuditQuery, FastPkiAuditRow, FastPkiCa, FastPkiCaRow, FastPkiCert, FastPkiCertRow, FastPkiOrgRow,
};
pub use gauges::InventoryGauges;
pub use group_commit::BatchObserver;
pub use maintenance::Sealed;
pub use mdl::{ServiceRow, StoreEntryRow, VicalRow, VicalServiceRow};
pub use records::*;
pub use store::Store;
pub use users::UserRow;
pub use webhooks::{DeliveryRow, WebhookRow};
