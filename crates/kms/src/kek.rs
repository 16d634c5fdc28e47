//! The key-encryption key: 32 random bytes in a 0600 file, used to seal every software key.

use std::io::Write;
use std::path::Path;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use zeroize::Zeroizing;

use crate::{Error, random_bytes};

const SEALED_VERSION: u8 = 1;

/// The key-encryption key: AES-256-GCM seals software keys at rest; an HMAC key derived from it
/// tags tokens Certus must recognise.
pub struct Kek {
    aead: LessSafeKey,
    /// HMAC-SHA256 key derived from the KEK, for tamper-evident tokens (list bookmarks).
    mac: aws_lc_rs::hmac::Key,
    /// During a rotation, the KEK keys are being re-sealed under: opening tries it too, so a
    /// server started halfway through reads every key.
    next: Option<Box<Kek>>,
}

impl std::fmt::Debug for Kek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Kek(..)")
    }
}

impl Kek {
    /// A KEK from its 32 bytes.
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        let key = UnboundKey::new(&AES_256_GCM, bytes).expect("AES-256 accepts a 32-byte key");
        // A separate key for MACs: never the encryption key itself.
        let mut derived = b"certus mac key v1".to_vec();
        derived.extend_from_slice(bytes);
        let mac = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &crate::sha256(&derived));
        Kek { aead: LessSafeKey::new(key), mac, next: None }
    }

    /// The file a rotation writes its new KEK to, beside `path`, until it is done.
    pub fn next_path(path: &Path) -> std::path::PathBuf {
        let mut name = path.as_os_str().to_owned();
        name.push(".next");
        name.into()
    }

    /// [`Kek::load_or_create`], plus the next KEK of an unfinished rotation (see
    /// [`Kek::next_path`]), which then opens keys too.
    pub fn load_with_next(path: &Path) -> Result<Self, Error> {
        let mut kek = Self::load_or_create(path)?;
        if let Some(next) = Self::load_existing(&Self::next_path(path))? {
            kek.next = Some(Box::new(next));
        }
        Ok(kek)
    }

    /// The KEK in `path`, if the file exists.
    pub fn load_existing(path: &Path) -> Result<Option<Self>, Error> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(text.trim()).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::KekFile(format!("{}: {e}", path.display()))),
        }
    }

    /// A fresh random KEK written to `path` (0600; fails if the file exists).
    pub fn create(path: &Path) -> Result<Self, Error> {
        let bytes: [u8; 32] = random_bytes();
        write_private_file(path, hex::encode(bytes).as_bytes())
            .map_err(|e| Error::KekFile(format!("{}: {e}", path.display())))?;
        Ok(Self::from_bytes(&bytes))
    }

    /// Reads the hex KEK from `path`, creating it (mode 0600) with fresh random bytes if absent.
    pub fn load_or_create(path: &Path) -> Result<Self, Error> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(text.trim()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Self::create(path),
            Err(e) => Err(Error::KekFile(format!("{}: {e}", path.display()))),
        }
    }

    fn parse(hex_text: &str) -> Result<Self, Error> {
        let bytes = hex::decode(hex_text)
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .ok_or_else(|| Error::KekFile("expected 64 hex characters (32 bytes)".into()))?;
        Ok(Self::from_bytes(&bytes))
    }

    /// `version || nonce || ciphertext || tag`. `aad` binds the ciphertext to its record id,
    /// so a sealed key copied onto another row does not open.
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
        let nonce_bytes: [u8; NONCE_LEN] = random_bytes();
        let mut buf = plaintext.to_vec();
        self.aead
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce_bytes), Aad::from(aad), &mut buf)
            .expect("AES-GCM sealing of an in-memory buffer cannot fail");
        let mut out = Vec::with_capacity(1 + NONCE_LEN + buf.len());
        out.push(SEALED_VERSION);
        out.extend_from_slice(&nonce_bytes);
        out.extend_from_slice(&buf);
        out
    }

    /// Opens what [`Kek::seal`] sealed under the same `aad`; any change is [`Error::Unseal`].
    /// The plaintext is wiped from memory when dropped.
    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, Error> {
        match (self.open_own(aad, sealed), &self.next) {
            (Err(_), Some(next)) => next.open_own(aad, sealed),
            (own, _) => own,
        }
    }

    /// Opens with this KEK alone (not the next one of a rotation).
    pub fn open_own(&self, aad: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, Error> {
        if sealed.len() < 1 + NONCE_LEN || sealed[0] != SEALED_VERSION {
            return Err(Error::Unseal);
        }
        let nonce = Nonce::try_assume_unique_for_key(&sealed[1..1 + NONCE_LEN]).map_err(|_| Error::Unseal)?;
        // Decrypted in place, in the buffer that is returned: no other copy of the plaintext.
        let mut buf = Zeroizing::new(sealed[1 + NONCE_LEN..].to_vec());
        let len = self.aead.open_in_place(nonce, Aad::from(aad), &mut buf).map_err(|_| Error::Unseal)?.len();
        buf.truncate(len);
        Ok(buf)
    }
}

impl Kek {
    /// HMAC-SHA256 of `data` under the KEK-derived MAC key.
    pub fn mac(&self, data: &[u8]) -> Vec<u8> {
        aws_lc_rs::hmac::sign(&self.mac, data).as_ref().to_vec()
    }

    /// Constant-time check of a tag made by [`Kek::mac`].
    pub fn verify_mac(&self, data: &[u8], tag: &[u8]) -> bool {
        aws_lc_rs::hmac::verify(&self.mac, data, tag).is_ok()
    }
}

/// Creates `path` readable by the owner only; fails rather than overwrite an existing file.
pub fn write_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_tamper_detection() {
        let kek = Kek::from_bytes(&[7u8; 32]);
        let sealed = kek.seal(b"key_1", b"secret");
        assert!(!sealed.windows(6).any(|w| w == b"secret"));
        assert_eq!(kek.open(b"key_1", &sealed).unwrap().as_slice(), b"secret");
        assert!(kek.open(b"key_2", &sealed).is_err(), "aad must bind the record id");
        let mut flipped = sealed.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert!(kek.open(b"key_1", &flipped).is_err());
        assert!(Kek::from_bytes(&[8u8; 32]).open(b"key_1", &sealed).is_err());
    }

    #[test]
    fn kek_file_is_created_private_and_reloaded() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kek");
        let sealed = Kek::load_or_create(&path).unwrap().seal(b"a", b"b");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(Kek::load_or_create(&path).unwrap().open(b"a", &sealed).unwrap().as_slice(), b"b");
    }
}
