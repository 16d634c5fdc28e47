//! SQLite: the CAs' revocation epochs, kept in memory. OCSP reads a CA's epoch on every request
//! (a revocation must show at once), and on SQLite that read was a read transaction of its own,
//! a tenth of a signed response's cost. One process writes an SQLite file, so what this process
//! last read stays true until it bumps an epoch itself: every transaction that does forgets the
//! kept epochs once it has ended. PostgreSQL reads the database each time: a revocation may come
//! from any node.

use std::collections::HashMap;
use std::sync::Mutex;

/// Epochs by CA id, and a generation that every forget moves on.
#[derive(Default)]
pub(crate) struct Epochs {
    inner: Mutex<(u64, HashMap<String, i64>)>,
}

impl Epochs {
    /// The kept epoch, or on a miss the generation to hand back to [`Epochs::keep`].
    pub(crate) fn get(&self, ca_id: &str) -> Result<i64, u64> {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.1.get(ca_id).copied().ok_or(inner.0)
    }

    /// Keeps an epoch read from the database, unless a forget came after the read began: the
    /// value read may be older than that transaction's bump.
    pub(crate) fn keep(&self, generation: u64, ca_id: &str, epoch: i64) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if inner.0 == generation {
            inner.1.insert(ca_id.to_owned(), epoch);
        }
    }

    /// After a transaction that may have bumped an epoch, committed or not.
    pub(crate) fn forget(&self) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.0 += 1;
        inner.1.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::Epochs;

    #[test]
    fn a_read_that_began_before_a_forget_is_not_kept() {
        let epochs = Epochs::default();
        let generation = epochs.get("ca").unwrap_err();
        epochs.forget();
        epochs.keep(generation, "ca", 1);
        let generation = epochs.get("ca").unwrap_err();
        epochs.keep(generation, "ca", 2);
        assert_eq!(epochs.get("ca"), Ok(2));
        epochs.forget();
        assert!(epochs.get("ca").is_err());
    }
}
