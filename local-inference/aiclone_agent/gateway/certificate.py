"""The direct listener's own TLS identity: a key pair and a self-signed certificate under the data dir.

No certificate authority vouches for it: the agent announces the certificate's SHA-256 fingerprint
over its relay link (authenticated by the agent token, over TLS), and the gateway pins it when it
dials the direct listener. Both files are written mode 0600 and reused across restarts, so the
fingerprint stays the same; a missing, unreadable or mismatched pair is made anew (the next hello
announces the new fingerprint).
"""

from __future__ import annotations

import datetime
import logging
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from aiclone_agent.core.config import atomic_write_text
from aiclone_wire.direct import certificate_fingerprint

log = logging.getLogger(__name__)
KEY_FILE, CERT_FILE = "direct_key.pem", "direct_cert.pem"
VALID_DAYS = 3650  # the pin, not the dates, is what the gateway trusts


@dataclass(frozen=True)
class DirectCertificate:
    key_path: Path
    cert_path: Path
    fingerprint: str

    def server_context(self) -> ssl.SSLContext:
        """TLS 1.2+ server context presenting this certificate (the gateway asks for no client cert)."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.cert_path, self.key_path)
        return context


def load_or_create_certificate(directory: Path) -> DirectCertificate:
    key_path, cert_path = directory / KEY_FILE, directory / CERT_FILE
    try:
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        if not isinstance(key, ec.EllipticCurvePrivateKey) or cert.public_key() != key.public_key():
            raise ValueError("the certificate is not the key's")
    except (OSError, ValueError) as exc:
        if key_path.exists() or cert_path.exists():
            log.warning("direct listener certificate unusable (%s): making a new one", exc)
        key, cert = _create()
        # mkstemp-backed writes: both files are created 0600
        atomic_write_text(
            key_path,
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ).decode(),
        )
        atomic_write_text(cert_path, cert.public_bytes(serialization.Encoding.PEM).decode())
    der = cert.public_bytes(serialization.Encoding.DER)
    return DirectCertificate(key_path, cert_path, certificate_fingerprint(der))


def _create() -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "aiclone agent direct listener")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, cert
