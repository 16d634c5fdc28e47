"""The one issuance pipeline: the pre-issuance lint refuses before anything is signed or recorded,
and every certificate, whichever front door made it, is in the one inventory."""
from conftest import BOOTSTRAP_TOKEN, Client, Server, assert_error, make_hierarchy, make_role
from test_audit import audit_entries


def test_the_lint_refuses_with_the_rule_and_records_nothing(tmp):
    data = tmp / "d"
    srv = Server(data, env={"CERTUS_BOOTSTRAP_TOKEN": BOOTSTRAP_TOKEN}).start()
    try:
        admin = Client(srv.url, BOOTSTRAP_TOKEN)
        _, inter = make_hierarchy(admin)
        role = make_role(admin, inter["id"], key_type="ec")
        before = admin.ok("get", "/v1/pki/certificates")
        # A valid DNS name (every label under 64 characters) but a commonName over ub-common-name (64).
        long_name = "a" * 60 + ".example.test"
        r = admin.post(f"/v1/pki/issue/{role['name']}", json={"common_name": long_name})
        assert_error(r, 400, "name_attribute_upper_bounds", "RFC 5280")
        # The same name as a SAN only is fine: the lint judges the certificate, not the request.
        admin.ok("post", f"/v1/pki/issue/{role['name']}", 201, json={"common_name": "ok.example.test",
                                                                     "alt_names": [long_name]})
        after = admin.ok("get", "/v1/pki/certificates")
        assert len(after["data"]) == len(before["data"]) + 1
    finally:
        srv.stop()
    # root, intermediate, role, the one issuance: the refusal left no audit entry.
    assert audit_entries(data) == 4


# ---- one inventory ----

import base64

import requests
from cryptography import x509 as cx509

from conftest import fresh_server, make_csr, openssl, write
from test_lint import lint

MDL = "/v1/default.default.x509-service-1/x509-service-api"


def serial_of(pem):
    return cx509.load_pem_x509_certificate(pem.encode()).serial_number


def native_serials(admin):
    """Every serial in /v1/pki/certificates, revoked included, following the cursor."""
    serials, cursor = set(), None
    while True:
        page = admin.ok("get", "/v1/pki/certificates?limit=500&include_revoked=true"
                        + (f"&cursor={cursor}" if cursor else ""))
        serials |= {int(c["serial_number"].replace(":", ""), 16) for c in page["data"]}
        cursor = page.get("cursor")
        if not cursor:
            return serials


def mdl_services(c):
    for name, kind in (("kms1", "kms"), ("x509-service-1", "x509-service")):
        c.ok("post", f"/v1/default.default.{name}/resource-api/services/create", 201, json={"type": kind})


def kms_key(c, name, key_type="secp256r1"):
    c.ok("post", f"/v1/default.default.kms1.{name}/kms-service-api/keys/generate", 201,
         json={"backend": "jwk", "keyType": key_type})
    return {"type": "kms-hosted-key-descriptor", "keyIdPath": f"default.default.kms1.{name}"}


def fastpki_superuser(url):
    r = requests.post(f"{url}/api/v1/users/", json={"username": "root", "email": "root@example.com",
                                                   "password": "securepassword", "role": "superuser"})
    assert r.status_code == 201, r.text
    token = requests.post(f"{url}/api/v1/auth/token", data={"username": "root", "password": "securepassword"})
    return Client(url + "/api/v1", token.json()["access_token"])


def test_every_door_issues_into_one_inventory_and_an_mdl_revocation_reaches_the_iaca_crl(tmp):
    for srv in fresh_server():
        admin = Client(srv.url, BOOTSTRAP_TOKEN)
        # walt.id door: an IACA and a Document Signer under it.
        mdl_services(admin)
        iaca_key, ds_key = kms_key(admin, "iaca"), kms_key(admin, "ds")
        iaca = admin.ok("post", f"{MDL}/iso/iacas", json={
            "certificateData": {"country": "US", "commonName": "Inventory IACA",
                                "issuerAlternativeNameConf": {"uri": "https://iaca.example.com"}},
            "iacaKeyDesc": iaca_key})
        ds = admin.ok("post", f"{MDL}/iso/document-signers", json={
            "iacaSigner": {"type": "iaca-pem-cert-descriptor", "iacaPemEncodedCertificate": iaca["certificatePEM"],
                           "iacaKeyDesc": iaca_key},
            "certificateData": {"country": "US", "commonName": "Inventory DS",
                                "crlDistributionPointUri": "https://crl.example.com/iaca.crl"},
            "dsKeyDescriptor": ds_key})
        # The IACA is a Certus CA, listed with every CA.
        cas = admin.ok("get", "/v1/pki/ca")
        cas = cas["data"] if isinstance(cas, dict) else cas
        iaca_ca = [c for c in cas if c["common_name"] == "Inventory IACA"]
        assert len(iaca_ca) == 1 and iaca_ca[0]["ca_type"] == "iaca", cas
        # A second DS under the same PEM is signed by that same CA, not a new one.
        admin.ok("post", f"{MDL}/iso/document-signers", json={
            "iacaSigner": {"type": "iaca-pem-cert-descriptor", "iacaPemEncodedCertificate": iaca["certificatePEM"],
                           "iacaKeyDesc": iaca_key},
            "certificateData": {"country": "US", "commonName": "Inventory DS 2",
                                "crlDistributionPointUri": "https://crl.example.com/iaca.crl"},
            "dsKeyDescriptor": ds_key})
        cas = admin.ok("get", "/v1/pki/ca")
        cas = cas["data"] if isinstance(cas, dict) else cas
        assert len([c for c in cas if c["ca_type"] == "iaca"]) == 1

        # FastPKI door: a certificate from an /api/v1 CA.
        su = fastpki_superuser(srv.url)
        v1_ca = su.ok("post", "/cas/", 201, json={"name": "Inventory CA", "subject_dn": "CN=Inventory CA",
                                                   "key_size": 2048})
        v1_cert = su.ok("post", f"/certificates/?ca_id={v1_ca['id']}", 201, json={
            "common_name": "v1.example.test", "subject_dn": "CN=v1.example.test", "certificate_type": "server"})

        # Lamassu door: a CSR signed under an issuance profile.
        profile = admin.ok("post", "/api/ca/v1/profiles", 201, json={
            "id": "inventory-profile", "name": "P", "validity": {"type": "Duration", "duration": "30d"},
            "key_usage": {"digital_signature": True}, "extended_key_usages": ["1.3.6.1.5.5.7.3.2"],
            "honor_subject": True})
        lamassu_ca = admin.ok("post", "/api/ca/v1/cas", 201, json={
            "subject": {"common_name": "Inventory Lamassu CA"}, "key_metadata": {"type": "ECDSA", "bits": 256},
            "ca_expiration": {"type": "Duration", "duration": "1y"}, "profile_id": profile["id"]})
        csr, _ = make_csr(tmp, cn="device-1")
        signed = admin.ok("post", f"/api/ca/v1/cas/{lamassu_ca['id']}/certificates/sign", 201,
                          json={"csr": base64.b64encode(csr.encode()).decode()})
        lamassu_pem = base64.b64decode(signed["certificate"]).decode()

        listed = native_serials(admin)
        for pem in (iaca["certificatePEM"], ds["certificatePEM"], v1_cert["certificate"], lamassu_pem):
            assert serial_of(pem) in listed

        # Revoking the DS through the native door puts it in the IACA's CRL.
        ds_serial = format(serial_of(ds["certificatePEM"]), "X")
        admin.ok("post", "/v1/pki/revoke", json={"serial_number": ds_serial, "reason": "key_compromise"})
        crl = tmp / "iaca.crl"
        crl.write_bytes(requests.get(f"{srv.url}/v1/pki/ca/{iaca_ca[0]['id']}/crl").content)
        iaca_pem = write(tmp / "iaca.pem", iaca["certificatePEM"])
        out = openssl("crl", "-inform", "DER", "-in", str(crl), "-CAfile", iaca_pem, "-noout", "-text")
        assert "verify OK" in out.stderr + out.stdout
        assert ds_serial.rjust(40, "0")[-len(ds_serial):] in out.stdout.replace(":", "").upper()
        assert "Key Compromise" in out.stdout
        lint("lint_crl", "-t", "CRL", "-p", "PKIX", str(crl))


def test_a_native_certificate_is_in_its_organisations_fastpki_list(tmp):
    for srv in fresh_server():
        su = fastpki_superuser(srv.url)
        org = su.ok("post", "/organizations/", 201, json={"name": "Inventory Org"})
        su.ok("post", "/users/", 201, json={"username": "orgadmin", "email": "orgadmin@example.com",
                                            "password": "password1", "role": "admin", "organization_id": org["id"]})
        token = requests.post(f"{srv.url}/api/v1/auth/token", data={"username": "orgadmin", "password": "password1"})
        org_admin = Client(srv.url + "/api/v1", token.json()["access_token"])
        boot = Client(srv.url, BOOTSTRAP_TOKEN)
        native = Client(srv.url, boot.ok("post", "/v1/admin/tokens", 201, json={
            "tenant_id": org["tenant_id"], "name": "org", "scopes": ["pki:issue", "pki:admin"]})["token"])
        _, inter = make_hierarchy(native)
        role = make_role(native, inter["id"], key_type="ec")
        issued = native.ok("post", f"/v1/pki/issue/{role['name']}", 201, json={"common_name": "n.example.test"})
        # Another tenant's certificate stays out of this organisation's list.
        _, other = make_hierarchy(boot)
        other_role = make_role(boot, other["id"], key_type="ec")
        boot.ok("post", f"/v1/pki/issue/{other_role['name']}", 201, json={"common_name": "x.example.test"})

        certs = org_admin.ok("get", "/certificates/")
        mine = [c for c in certs if c["common_name"] == "n.example.test"]
        assert len(mine) == 1 and not [c for c in certs if c["common_name"] == "x.example.test"], certs
        assert int(mine[0]["serial_number"], 16) == serial_of(issued["certificate"])
        cas = {c["id"]: c for c in org_admin.ok("get", "/cas/")}
        assert cas[mine[0]["issuer_id"]]["name"] == inter["name"]
        # Its integer id is stable: the same record on a second read, and by id.
        assert org_admin.ok("get", f"/certificates/{mine[0]['id']}")["serial_number"] == mine[0]["serial_number"]
        assert [c["id"] for c in org_admin.ok("get", "/certificates/") if c["common_name"] == "n.example.test"] \
            == [mine[0]["id"]]
        # Revoking it through /api/v1 shows in the native view.
        org_admin.ok("post", f"/certificates/{mine[0]['id']}/revoke", json={"reason": "superseded"})
        assert native.ok("get", f"/v1/pki/certificates/{issued['certificate_id']}")["revoked_at"]


# ---- every door × key type × certificate kind, pkilint clean ----

from concurrent.futures import ThreadPoolExecutor

KEY_TYPES = {"rsa2048": ("rsa", 2048), "p256": ("ec", 256), "p384": ("ec", 384), "ed25519": ("ed25519", None)}
CSR_KEYS = {"rsa2048": 2048, "p256": "ec", "p384": "ec384", "ed25519": "ed25519"}


def lint_all(tmp, certs):
    """pkilint at ERROR on every (name, PEM), two at a time."""
    paths = [write(tmp / f"{name}.pem", pem) for name, pem in certs]
    with ThreadPoolExecutor(2) as pool:
        failures = [f for f in pool.map(_lint_one, paths) if f]
    assert not failures, "\n".join(failures)


def _lint_one(path):
    try:
        lint("lint_pkix_cert", path)
    except AssertionError as e:
        return f"{path}: {e}"
    return None


def cert_text(tmp, name, pem):
    return openssl("x509", "-in", write(tmp / f"{name}-text.pem", pem), "-noout", "-text").stdout


def test_every_door_key_type_and_kind_lints_clean(tmp):
    certs = []
    for srv in fresh_server():
        admin = Client(srv.url, BOOTSTRAP_TOKEN)
        # Native: root, intermediate and a server/client leaf, for each key type.
        for name, (key_type, bits) in KEY_TYPES.items():
            root, inter = make_hierarchy(admin, key_type, bits)
            role = make_role(admin, inter["id"], key_type=key_type, key_bits=bits)
            leaf = admin.ok("post", f"/v1/pki/issue/{role['name']}", 201, json={
                "common_name": f"{name}.example.test", "ip_sans": ["192.0.2.7"]})
            certs += [(f"native-root-{name}", leaf["ca_chain"][1]), (f"native-int-{name}", leaf["ca_chain"][0]),
                      (f"native-leaf-{name}", leaf["certificate"])]
            csr, _ = make_csr(tmp, cn=f"csr.{name}.example.test", key=CSR_KEYS[name])
            signed = admin.ok("post", f"/v1/pki/sign/{role['name']}", 201, json={"csr_pem": csr})
            certs.append((f"native-csr-{name}", signed["certificate"]))

        # FastPKI: RSA CAs; server, client and dual-purpose certificates; CSRs of each EC type.
        su = fastpki_superuser(srv.url)
        ca = su.ok("post", "/cas/", 201, json={"name": "Matrix CA", "subject_dn": "CN=Matrix CA,O=Matrix,C=NL",
                                                "key_size": 2048})
        certs.append(("fastpki-ca", ca["certificate"]))
        for kind in ("server", "client", "dual_purpose"):
            host = kind.replace("_", "-") + ".example.test"
            body = {"common_name": host, "subject_dn": f"CN={host}", "certificate_type": kind}
            if kind == "client":
                body = {**body, "common_name": "matrix-client", "subject_dn": "CN=matrix-client"}
            made = su.ok("post", f"/certificates/?ca_id={ca['id']}", 201, json=body)
            certs.append((f"fastpki-{kind}", made["certificate"]))
        for name in ("p256", "p384", "ed25519"):
            csr, _ = make_csr(tmp, cn=f"{name}.csr.example.test", key=CSR_KEYS[name])
            made = su.ok("post", "/certificates/sign-csr", 201, json={"csr": csr, "certificate_type": "server",
                                                                        "ca_id": ca["id"]})
            certs.append((f"fastpki-csr-{name}", made["certificate"]))
            assert "Key Encipherment" not in cert_text(tmp, f"fastpki-csr-{name}", made["certificate"])

        # Lamassu: the spec's iot-device-profile (keyEncipherment for every key) under EC and RSA
        # CAs, signing EC and RSA CSRs.
        iot = admin.ok("post", "/api/ca/v1/profiles", 201, json={
            "id": "iot-device-profile", "name": "IoT Device Certificate Profile",
            "validity": {"type": "Duration", "duration": "1y"}, "sign_as_ca": False, "honor_key_usage": False,
            "key_usage": {"digital_signature": True, "key_encipherment": True}, "honor_extended_key_usages": False,
            "extended_key_usages": ["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"], "honor_subject": True,
            "honor_extensions": False, "crypto_enforcement": {
                "enabled": True, "allow_rsa_keys": True, "allowed_rsa_key_sizes": [2048, 4096],
                "allow_ecdsa_keys": True, "allowed_ecdsa_key_sizes": [256, 384]}})
        for name, meta in (("p256", {"type": "ECDSA", "bits": 256}), ("p384", {"type": "ECDSA", "bits": 384}),
                           ("rsa2048", {"type": "RSA", "bits": 2048})):
            lca = admin.ok("post", "/api/ca/v1/cas", 201, json={
                "subject": {"common_name": f"Lamassu {name}", "country": "ES"}, "key_metadata": meta,
                "ca_expiration": {"type": "Duration", "duration": "5y"}, "profile_id": iot["id"]})
            certs.append((f"lamassu-ca-{name}", base64.b64decode(lca["certificate"]["certificate"]).decode()))
            csr, _ = make_csr(tmp, cn=f"device-{name}", key=CSR_KEYS[name])
            signed = admin.ok("post", f"/api/ca/v1/cas/{lca['id']}/certificates/sign", 201,
                              json={"csr": base64.b64encode(csr.encode()).decode()})
            pem = base64.b64decode(signed["certificate"]).decode()
            certs.append((f"lamassu-iot-{name}", pem))
            text = cert_text(tmp, f"lamassu-iot-{name}", pem)
            # keyEncipherment is kept for the RSA key and dropped for the EC keys.
            assert ("Key Encipherment" in text) == (name == "rsa2048"), text

        # walt.id mDL: IACAs, Document Signers and a generic certificate.
        mdl_services(admin)
        for curve in ("secp256r1", "secp384r1"):
            key = kms_key(admin, f"iaca-{curve}", curve)
            iaca = admin.ok("post", f"{MDL}/iso/iacas", json={
                "certificateData": {"country": "US", "commonName": f"IACA {curve}",
                                    "issuerAlternativeNameConf": {"uri": "https://iaca.example.com"}},
                "iacaKeyDesc": key})
            certs.append((f"mdl-iaca-{curve}", iaca["certificatePEM"]))
            for ds_type in ("secp256r1", "secp384r1", "ed25519"):
                ds_key = kms_key(admin, f"ds-{curve}-{ds_type}", ds_type)
                ds = admin.ok("post", f"{MDL}/iso/document-signers", json={
                    "iacaSigner": {"type": "iaca-pem-cert-descriptor",
                                   "iacaPemEncodedCertificate": iaca["certificatePEM"], "iacaKeyDesc": key},
                    "certificateData": {"country": "US", "commonName": f"DS {ds_type}",
                                        "crlDistributionPointUri": "https://crl.example.com/iaca.crl"},
                    "dsKeyDescriptor": ds_key})
                certs.append((f"mdl-ds-{curve}-{ds_type}", ds["certificatePEM"]))
        gen_key = kms_key(admin, "generic-subject")
        generic = admin.ok("post", f"{MDL}/certificate", json={
            "certificateData": {"subjectName": {"commonName": "generic.example.test", "country": "US"},
                                "issuerName": {"commonName": "IACA secp256r1", "country": "US"},
                                "keyUsage": ["DigitalSignature"], "extendedKeyUsageOids": ["1.3.6.1.5.5.7.3.2"],
                                "subjectAlternativeNames": {"dnsNames": ["generic.example.test"]}},
            "subjectPublicKeySource": {"type": "key-descriptor", "keyDescriptor": gen_key},
            "issuer": {"type": "ca-signed", "issuerKeyDescriptor": kms_key(admin, "generic-issuer")}})
        certs.append(("mdl-generic", generic["certificatePEM"]))
    lint_all(tmp, certs)
    assert len(certs) == 38  # 16 native, 7 FastPKI, 6 Lamassu, 9 mDL


def test_revoking_a_roots_own_certificate_stops_the_root(admin):
    """A self-signed root is in the inventory; revoking its certificate revokes the CA, as
    revoking an intermediate's does, so nothing keeps signing under a revoked root."""
    root, inter = make_hierarchy(admin)
    certs = admin.ok("get", "/v1/pki/certificates?limit=500")["data"]
    own = [c for c in certs if c["serial_number"] == root["serial_number"]]
    assert len(own) == 1, (root, certs[:3])
    admin.ok("post", "/v1/pki/revoke", json={"serial_number": root["serial_number"], "reason": "ca_compromise"})
    r = admin.post("/v1/pki/ca", json={"name": "after-revoke", "common_name": "After", "ca_type": "intermediate",
                                       "parent_ca_id": root["id"], "key_type": "ec", "key_size": 256})
    assert_error(r, 400, "revoked")


def b64url(n, size):
    return base64.urlsafe_b64encode(n.to_bytes(size, "big")).rstrip(b"=").decode()


def test_an_iaca_given_as_data_is_one_ca_whatever_its_key_descriptor(tmp):
    """DS requests that describe their IACA by data (with a KMS key or an inline private JWK) are
    signed by one IACA CA per key and subject, registered on first use, not one per request."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding
    for srv in fresh_server():
        admin = Client(srv.url, BOOTSTRAP_TOKEN)
        mdl_services(admin)
        private = ec.generate_private_key(ec.SECP256R1()).private_numbers()
        jwk = {"kty": "EC", "crv": "P-256", "x": b64url(private.public_numbers.x, 32),
               "y": b64url(private.public_numbers.y, 32), "d": b64url(private.private_value, 32)}
        descriptors = {"jwk": {"type": "jwk-encoded-key-descriptor", "jwk": jwk}, "kms": kms_key(admin, "iaca-data")}
        for name, key in descriptors.items():
            signers = []
            for i in range(2):
                ds = admin.ok("post", f"{MDL}/iso/document-signers", json={
                    "iacaSigner": {"type": "iaca-cert-data-descriptor", "iacaKeyDesc": key,
                                   "certificateData": {"country": "US", "commonName": f"Data IACA {name}",
                                                       "issuerAlternativeNameConf": {"uri": "https://iaca.example"}}},
                    "certificateData": {"country": "US", "commonName": f"DS {name} {i}",
                                        "crlDistributionPointUri": "https://crl.example.com/iaca.crl"},
                    "dsKeyDescriptor": kms_key(admin, f"ds-{name}-{i}")})
                signers.append(cx509.load_pem_x509_certificate(ds["certificatePEM"].encode()))
            cas = admin.ok("get", "/v1/pki/ca")
            cas = cas["data"] if isinstance(cas, dict) else cas
            iacas = [c for c in cas if c["common_name"] == f"Data IACA {name}"]
            assert len(iacas) == 1 and iacas[0]["ca_type"] == "iaca", cas
            iaca_pem = admin.ok("get", f"/v1/pki/ca/{iacas[0]['id']}/certificate")["certificate_pem"]
            for n, ds in enumerate(signers):
                ds_pem = write(tmp / f"ds-{name}-{n}.pem", ds.public_bytes(Encoding.PEM).decode())
                openssl("verify", "-CAfile", write(tmp / f"iaca-{name}.pem", iaca_pem), ds_pem)
