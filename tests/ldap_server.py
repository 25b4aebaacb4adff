"""A private OpenLDAP server for tests: Debian's slapd on free loopback ports (plain LDAP with
StartTLS, and LDAPS), a generated slapd.conf and a self-made CA, seeded with ldapadd.

    server = start_slapd(tmp_path)      # skips (or fails in CI) without slapd/ldapadd
    ...
    server.stop()
"""

from __future__ import annotations

import datetime
import ipaddress
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.conftest import port_open, require
from tests.helpers import free_port

SUFFIX = "dc=example,dc=org"
ROOT_DN = f"cn=admin,{SUFFIX}"
ROOT_PASSWORD = "slapd-root-secret"
#: A read-only account the identity service binds as to search (Keystone's [ldap] user).
READER_DN = f"cn=keystone,{SUFFIX}"
READER_PASSWORD = "reader-secret"

SCHEMAS = ("core", "cosine", "inetorgperson", "nis")

#: The seed: three people (carol disabled through employeeType), two groups.
SEED = f"""dn: {SUFFIX}
objectClass: top
objectClass: dcObject
objectClass: organization
o: Example
dc: example

dn: {READER_DN}
objectClass: simpleSecurityObject
objectClass: organizationalRole
cn: keystone
userPassword: {READER_PASSWORD}

dn: ou=Users,{SUFFIX}
objectClass: organizationalUnit
ou: Users

dn: ou=UserGroups,{SUFFIX}
objectClass: organizationalUnit
ou: UserGroups

dn: uid=alice,ou=Users,{SUFFIX}
objectClass: inetOrgPerson
uid: alice
cn: Alice Liddell
sn: Liddell
mail: alice@example.org
description: the first user
employeeType: TRUE
userPassword: alice-pass

dn: uid=bob,ou=Users,{SUFFIX}
objectClass: inetOrgPerson
uid: bob
cn: Bob Builder
sn: Builder
mail: bob@example.org
userPassword: bob-pass

dn: uid=carol,ou=Users,{SUFFIX}
objectClass: inetOrgPerson
uid: carol
cn: Carol Danvers
sn: Danvers
employeeType: FALSE
userPassword: carol-pass

dn: cn=devs,ou=UserGroups,{SUFFIX}
objectClass: groupOfNames
cn: devs
description: developers
member: uid=alice,ou=Users,{SUFFIX}
member: uid=carol,ou=Users,{SUFFIX}

dn: cn=ops,ou=UserGroups,{SUFFIX}
objectClass: groupOfNames
cn: ops
member: uid=bob,ou=Users,{SUFFIX}
"""


@dataclass
class Slapd:
    """A running slapd and how to reach it."""

    dir: Path
    port: int
    ldaps_port: int
    ca_file: Path
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def ldaps_url(self) -> str:
        return f"ldaps://127.0.0.1:{self.ldaps_port}"

    def domain_config(self, **overrides: object) -> dict[str, dict[str, object]]:
        """A domain configuration (Keystone's option names) reading this server."""
        ldap: dict[str, object] = {
            "url": self.url, "user": READER_DN, "password": READER_PASSWORD, "suffix": SUFFIX,
            "user_tree_dn": f"ou=Users,{SUFFIX}", "user_objectclass": "inetOrgPerson",
            "user_id_attribute": "uid", "user_name_attribute": "uid",
            "user_mail_attribute": "mail", "user_enabled_attribute": "employeeType",
            "group_tree_dn": f"ou=UserGroups,{SUFFIX}", "group_objectclass": "groupOfNames",
            "group_id_attribute": "cn", "group_name_attribute": "cn",
            "group_member_attribute": "member", "query_scope": "one",
        }
        ldap.update(overrides)
        return {"identity": {"driver": "ldap"}, "ldap": ldap}

    def ldapmodify(self, ldif: str) -> None:
        subprocess.run(["ldapmodify", "-x", "-H", self.url, "-D", ROOT_DN, "-w", ROOT_PASSWORD],
                       input=ldif.encode(), check=True, capture_output=True, timeout=30)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def certificates(d: Path) -> Path:
    """A CA, and a server certificate it signed for 127.0.0.1 and localhost; the CA's path."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Overcast test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False,
                                       encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([
                x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
                critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    (d / "ca.pem").write_bytes(ca.public_bytes(pem))
    (d / "server.pem").write_bytes(cert.public_bytes(pem))
    (d / "server.key").write_bytes(key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return d / "ca.pem"


def start_slapd(tmp: Path) -> Slapd:
    slapd = shutil.which("slapd") or ("/usr/sbin/slapd" if Path("/usr/sbin/slapd").exists()
                                      else None)
    require("slapd", slapd is not None, "apt-get install slapd (scripts/apt-packages.txt)")
    require("ldapadd", shutil.which("ldapadd") is not None, "apt-get install ldap-utils")
    assert slapd is not None
    d = tmp / "slapd"
    (d / "db").mkdir(parents=True)
    ca = certificates(d)
    schema = "\n".join(f"include /etc/ldap/schema/{name}.schema" for name in SCHEMAS)
    (d / "slapd.conf").write_text(f"""{schema}
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile {d}/slapd.pid
TLSCACertificateFile {ca}
TLSCertificateFile {d}/server.pem
TLSCertificateKeyFile {d}/server.key
sizelimit unlimited

database mdb
maxsize 16777216
suffix "{SUFFIX}"
rootdn "{ROOT_DN}"
rootpw {ROOT_PASSWORD}
directory {d}/db
index objectClass eq
index uid,cn,member eq
access to attrs=userPassword
    by anonymous auth
    by * none
access to * by * read
""")
    port, ldaps_port = free_port(), free_port()
    log = (d / "slapd.log").open("wb")
    proc = subprocess.Popen(
        [slapd, "-f", str(d / "slapd.conf"), "-d", "0",
         "-h", f"ldap://127.0.0.1:{port}/ ldaps://127.0.0.1:{ldaps_port}/"],
        stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 20
    while not (port_open("127.0.0.1", port) and port_open("127.0.0.1", ldaps_port)):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("slapd did not start:\n" + (d / "slapd.log").read_text())
        time.sleep(0.05)
    server = Slapd(d, port, ldaps_port, ca, proc)
    try:
        subprocess.run(["ldapadd", "-x", "-H", server.url, "-D", ROOT_DN, "-w", ROOT_PASSWORD],
                       input=SEED.encode(), check=True, capture_output=True, timeout=30)
    except subprocess.CalledProcessError as e:
        server.stop()
        raise RuntimeError(f"ldapadd failed: {e.stderr.decode()}") from e
    return server
