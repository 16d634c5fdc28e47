//! CA keys on a PKCS#11 token (an HSM, or SoftHSM2 in tests), through `cryptoki`. Keys are
//! generated on the token as sensitive and non-extractable, found again by their CKA_ID (the
//! Certus key id), and sign on the token; only the public half ever leaves it.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;
use rcgen::{PublicKeyData, SignatureAlgorithm, SigningKey};

use crate::{Error, KeySpec};

/// Where the PKCS#11 token is and how to log in.
#[derive(Debug, Clone)]
pub struct Pkcs11Config {
    /// The module's shared library (e.g. SoftHSM2's `libsofthsm2.so`).
    pub module: PathBuf,
    /// The label of the token to use.
    pub token_label: String,
    /// The user PIN.
    pub pin: String,
}

/// A logged-in session on one token. PKCS#11 sessions are not thread-safe, so use is serialised.
pub struct Hsm {
    session: Mutex<Session>,
    token_label: String,
    _context: Pkcs11,
}

impl std::fmt::Debug for Hsm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hsm").field("token_label", &self.token_label).finish_non_exhaustive()
    }
}

fn hsm_err(what: &str) -> impl Fn(cryptoki::error::Error) -> Error + '_ {
    move |e| Error::Hsm(format!("{what}: {e}"))
}

impl Hsm {
    /// Loads the module, finds the token and logs in.
    pub fn open(config: &Pkcs11Config) -> Result<Arc<Self>, Error> {
        let context = Pkcs11::new(&config.module).map_err(hsm_err("loading the PKCS#11 module"))?;
        context
            .initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
            .map_err(hsm_err("initialising the PKCS#11 module"))?;
        let slot = context
            .get_slots_with_token()
            .map_err(hsm_err("listing slots"))?
            .into_iter()
            .find(|slot| context.get_token_info(*slot).map(|t| t.label().trim() == config.token_label).unwrap_or(false))
            .ok_or_else(|| Error::Hsm(format!("no token labelled {:?}", config.token_label)))?;
        let session = context.open_rw_session(slot).map_err(hsm_err("opening a session"))?;
        session
            .login(UserType::User, Some(&AuthPin::from(config.pin.clone())))
            .map_err(hsm_err("logging in to the token"))?;
        Ok(Arc::new(Hsm { session: Mutex::new(session), token_label: config.token_label.clone(), _context: context }))
    }

    fn session(&self) -> std::sync::MutexGuard<'_, Session> {
        self.session.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Generates a key pair on the token under `id`.
    pub fn generate(self: &Arc<Self>, spec: KeySpec, id: &str) -> Result<HsmKey, Error> {
        let common = |private: bool| {
            vec![
                Attribute::Token(true),
                Attribute::Private(private),
                Attribute::Id(id.as_bytes().to_vec()),
                Attribute::Label(id.as_bytes().to_vec()),
            ]
        };
        let mut public = common(false);
        public.push(Attribute::Verify(true));
        let mut private = common(true);
        private.extend([Attribute::Sign(true), Attribute::Sensitive(true), Attribute::Extractable(false)]);
        let mechanism = match spec {
            KeySpec::Rsa2048 | KeySpec::Rsa3072 | KeySpec::Rsa4096 => {
                public.push(Attribute::ModulusBits(u64::from(spec.bits()).into()));
                public.push(Attribute::PublicExponent(vec![0x01, 0x00, 0x01]));
                Mechanism::RsaPkcsKeyPairGen
            }
            KeySpec::EcP256 | KeySpec::EcP384 | KeySpec::EcP521 => {
                public.push(Attribute::EcParams(curve_params(spec)));
                Mechanism::EccKeyPairGen
            }
            KeySpec::Ed25519 => return Err(Error::Unsupported("Ed25519 keys on PKCS#11 tokens".into())),
        };
        self.session()
            .generate_key_pair(&mechanism, &public, &private)
            .map_err(hsm_err("generating a key pair on the token"))?;
        self.find(spec, id)
    }

    /// The key pair stored under `id`.
    pub fn find(self: &Arc<Self>, spec: KeySpec, id: &str) -> Result<HsmKey, Error> {
        let session = self.session();
        let find = |class: ObjectClass| -> Result<ObjectHandle, Error> {
            session
                .find_objects(&[Attribute::Class(class), Attribute::Id(id.as_bytes().to_vec())])
                .map_err(hsm_err("finding a key"))?
                .into_iter()
                .next()
                .ok_or_else(|| Error::Hsm(format!("key {id} is not on token {:?}", self.token_label)))
        };
        let private = find(ObjectClass::PRIVATE_KEY)?;
        let public = find(ObjectClass::PUBLIC_KEY)?;
        let public_raw = match spec.key_type() {
            "rsa" => {
                let attrs = session
                    .get_attributes(public, &[AttributeType::Modulus, AttributeType::PublicExponent])
                    .map_err(hsm_err("reading the public key"))?;
                let (mut n, mut e) = (Vec::new(), Vec::new());
                for a in attrs {
                    match a {
                        Attribute::Modulus(v) => n = v,
                        Attribute::PublicExponent(v) => e = v,
                        _ => {}
                    }
                }
                // RSAPublicKey (RFC 8017 A.1.1), the subjectPublicKey of an RSA SPKI.
                yasna::construct_der(|w| {
                    w.write_sequence(|w| {
                        w.next().write_bigint_bytes(&n, true);
                        w.next().write_bigint_bytes(&e, true);
                    })
                })
            }
            _ => {
                let attrs = session
                    .get_attributes(public, &[AttributeType::EcPoint])
                    .map_err(hsm_err("reading the public key"))?;
                let point = attrs
                    .into_iter()
                    .find_map(|a| if let Attribute::EcPoint(v) = a { Some(v) } else { None })
                    .ok_or_else(|| Error::Hsm("token returned no EC point".into()))?;
                // CKA_EC_POINT is a DER OCTET STRING around the uncompressed point.
                yasna::parse_der(&point, |r| r.read_bytes()).unwrap_or(point)
            }
        };
        Ok(HsmKey { hsm: self.clone(), private, spec, public_raw })
    }

    fn sign(&self, key: ObjectHandle, mechanism: &Mechanism, data: &[u8]) -> Result<Vec<u8>, Error> {
        self.session().sign(mechanism, key, data).map_err(hsm_err("signing on the token"))
    }
}

/// DER ECParameters (a named curve OID) for CKA_EC_PARAMS.
fn curve_params(spec: KeySpec) -> Vec<u8> {
    let oid: &[u64] = match spec {
        KeySpec::EcP384 => &[1, 3, 132, 0, 34],
        KeySpec::EcP521 => &[1, 3, 132, 0, 35],
        _ => &[1, 2, 840, 10045, 3, 1, 7],
    };
    yasna::construct_der(|w| w.write_oid(&yasna::models::ObjectIdentifier::from_slice(oid)))
}

/// A key pair on the token; signs there.
pub struct HsmKey {
    hsm: Arc<Hsm>,
    private: ObjectHandle,
    spec: KeySpec,
    public_raw: Vec<u8>,
}

impl std::fmt::Debug for HsmKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HsmKey({:?})", self.spec)
    }
}

impl HsmKey {
    /// Its type and size.
    pub fn spec(&self) -> KeySpec {
        self.spec
    }
}

impl PublicKeyData for HsmKey {
    fn der_bytes(&self) -> &[u8] {
        &self.public_raw
    }

    fn algorithm(&self) -> &'static SignatureAlgorithm {
        self.spec.algorithm()
    }
}

impl SigningKey for HsmKey {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        let failed = |e: Error| {
            tracing::error!(error = %e, "PKCS#11 signing failed");
            rcgen::Error::RemoteKeyError
        };
        match self.spec.key_type() {
            "rsa" => self.hsm.sign(self.private, &Mechanism::Sha256RsaPkcs, msg).map_err(failed),
            _ => {
                // CKM_ECDSA signs a digest and returns r || s; X.509 wants ECDSA-Sig-Value DER.
                let digest = match self.spec {
                    KeySpec::EcP384 => aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA384, msg),
                    KeySpec::EcP521 => aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA512, msg),
                    _ => aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, msg),
                };
                let raw = self.hsm.sign(self.private, &Mechanism::Ecdsa, digest.as_ref()).map_err(failed)?;
                let (r, s) = raw.split_at(raw.len() / 2);
                Ok(yasna::construct_der(|w| {
                    w.write_sequence(|w| {
                        w.next().write_bigint_bytes(r, true);
                        w.next().write_bigint_bytes(s, true);
                    })
                }))
            }
        }
    }
}
