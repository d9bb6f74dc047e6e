"""hvac (Debian python3-hvac, unmodified) against a PKI Manager server: argv = url, admin token, path of a CSR.

Prints one JSON object with what each hvac call returned; the vitest file checks it field by field and verifies
every certificate with openssl. hvac sends the LIST verb for list_* and POST for writes.
"""
import json
import sys

import hvac
from hvac import exceptions

url, token, csr_path = sys.argv[1], sys.argv[2], sys.argv[3]
with open(csr_path, encoding="utf-8") as f:
    csr = f.read()
out = {}

out["bad_token_authenticated"] = hvac.Client(url=url, token="not-a-token").is_authenticated()
c = hvac.Client(url=url, token=token)
out["authenticated"] = c.is_authenticated()
out["health"] = c.sys.read_health_status(method="GET")

pki = c.secrets.pki
pki.create_or_update_role(
    "web",
    {"allowed_domains": "example.com", "allow_subdomains": True, "max_ttl": "72h", "key_type": "ec"},
)
out["roles"] = pki.list_roles()["data"]["keys"]
out["role"] = pki.read_role("web")["data"]
issued = pki.generate_certificate("web", "h.example.com", extra_params={"ttl": "24h", "alt_names": "h2.example.com"})
out["issued"] = issued["data"]
out["signed"] = pki.sign_certificate("web", csr, "s.example.com")["data"]
out["verbatim"] = pki.sign_verbatim(csr)["data"]
out["certs"] = pki.list_certificates()["data"]["keys"]
out["read"] = pki.read_certificate(issued["data"]["serial_number"])["data"]
out["ca_pem"] = pki.read_ca_certificate()
out["ca_chain"] = pki.read_ca_certificate_chain()
out["revoked"] = pki.revoke_certificate(issued["data"]["serial_number"])["data"]
out["read_after_revoke"] = pki.read_certificate(issued["data"]["serial_number"])["data"]
out["crl_pem"] = pki.read_crl()

try:
    pki.read_role("missing")
    out["missing_role"] = "no error"
except exceptions.InvalidPath:
    out["missing_role"] = "InvalidPath"
try:
    pki.generate_certificate("web", "evil.org")
    out["refused"] = "no error"
except exceptions.InvalidRequest as e:
    out["refused"] = str(e)

# AppRole: the admin sets up a role, a CI job logs in with role_id + secret_id and issues with the minted token
c.write("auth/approle/role/ci", token_policies="pki-issue", token_ttl="20m")
role_id = c.read("auth/approle/role/ci/role-id")["data"]["role_id"]
secret_id = c.write("auth/approle/role/ci/secret-id")["data"]["secret_id"]
ci = hvac.Client(url=url)
login = ci.auth.approle.login(role_id, secret_id)
out["approle_lease"] = login["auth"]["lease_duration"]
out["approle_issued"] = ci.secrets.pki.generate_certificate("web", "ci.example.com")["data"]["certificate"]

# Vault 1.11+ issuers: this hvac (0.11) has no list_issuers/read_issuer, so its adapter's LIST verb and its generic
# read, without a token as OpenBao allows (read answers None on a 404), and its generic write
anon = hvac.Client(url=url)
out["issuers"] = anon.adapter.list("/v1/pki/issuers")["data"]
out["issuer_json"] = anon.read("pki/issuer/default/json")["data"]
out["issuer_missing"] = anon.read("pki/issuer/nope/json")
out["issued_via_issuer"] = c.write("pki/issuer/default/issue/web", common_name="iss.example.com")["data"]
# what newer hvac's read_issuer / list_issuers send (GET issuer/<ref>, LIST issuers), through this hvac's adapter with
# a token; this hvac's generic list (GET ?list=True) for issuers and keys; key/:ref and config/keys (token only)
out["read_issuer"] = c.adapter.get("/v1/pki/issuer/default")["data"]
out["list_issuers"] = c.adapter.list("/v1/pki/issuers")["data"]
out["issuers_query"] = c.list("pki/issuers")["data"]
out["keys_verb"] = c.adapter.list("/v1/pki/keys")["data"]
out["keys_query"] = c.list("pki/keys")["data"]
key_id = out["keys_verb"]["keys"][0]
out["key"] = c.read("pki/key/" + key_id)["data"]
out["key_default"] = c.read("pki/key/default")["data"]
out["key_missing"] = c.read("pki/key/nope")
out["config_keys"] = c.read("pki/config/keys")["data"]
out["config_keys_written"] = c.write("pki/config/keys", default=key_id)["data"]
try:
    c.write("pki/config/keys", default="nope")
    out["config_keys_refused"] = "no error"
except exceptions.InvalidRequest as e:
    out["config_keys_refused"] = str(e)
try:
    anon.adapter.list("/v1/pki/keys")
    out["keys_anon"] = "no error"
except exceptions.Forbidden:
    out["keys_anon"] = "Forbidden"

# a mount bootstrapped the Vault way (hvac's own calls): enable without a CA, generate a root; enable another,
# generate an intermediate, sign it with the root mount, set it signed, issue from it
c.sys.enable_secrets_engine("pki", path="hroot", config={"max_lease_ttl": "87600h"})
# the root mount's URLs written first: the generated root carries them, as OpenBao's does, and so does what it signs
pki.set_urls(
    {
        "issuing_certificates": ["http://ca.example.org/hroot.crt"],
        "crl_distribution_points": ["http://crl.example.org/hroot.crl"],
    },
    mount_point="hroot",
)
out["boot_root"] = pki.generate_root(
    "internal", "Hvac Root", extra_params={"key_type": "ec", "ttl": "87600h"}, mount_point="hroot"
)["data"]
c.sys.enable_secrets_engine("pki", path="hint", config={"max_lease_ttl": "8760h"})
# its URLs written before it has a CA (as some Terraform does): kept, then the new CA's at generate_intermediate
pki.set_urls({"crl_distribution_points": ["http://crl.example.org/hint.crl"]}, mount_point="hint")
inter = pki.generate_intermediate("internal", "Hvac Intermediate", mount_point="hint")["data"]
out["boot_csr"] = inter["csr"]
signed = pki.sign_intermediate(inter["csr"], "Hvac Intermediate", extra_params={"ttl": "8760h"}, mount_point="hroot")
out["boot_signed"] = signed["data"]
set_signed = pki.set_signed_intermediate(signed["data"]["certificate"], mount_point="hint")
out["boot_set_signed"] = set_signed["data"] if isinstance(set_signed, dict) else set_signed.status_code
pki.create_or_update_role("web", {"allowed_domains": "example.com", "allow_subdomains": True}, mount_point="hint")
out["boot_urls"] = pki.read_urls(mount_point="hint")["data"]
out["boot_leaf"] = pki.generate_certificate("web", "b.example.com", mount_point="hint")["data"]

# the issuer's leaf_not_after_behavior (OpenBao's; this hvac has no update_issuer: its generic write and read): a leaf
# asked past the one-year intermediate of `hint` is refused (err), cut at its notAfter (truncate), or kept (permit)
pki.create_or_update_role(
    "long", {"allowed_domains": "example.com", "allow_subdomains": True, "max_ttl": "87600h"}, mount_point="hint"
)
out["lnab_default"] = c.adapter.get("/v1/hint/issuer/default")["data"]["leaf_not_after_behavior"]
try:
    pki.generate_certificate("long", "e.example.com", extra_params={"ttl": "17520h"}, mount_point="hint")
    out["lnab_err"] = "no error"
except exceptions.InvalidRequest as e:
    out["lnab_err"] = str(e)
out["lnab_truncate"] = c.write("hint/issuer/default", leaf_not_after_behavior="truncate")["data"]
out["lnab_truncate_read"] = c.read("hint/issuer/default")["data"]["leaf_not_after_behavior"]
out["lnab_truncated"] = pki.generate_certificate(
    "long", "t.example.com", extra_params={"ttl": "17520h"}, mount_point="hint"
)["data"]
c.write("hint/issuer/default", leaf_not_after_behavior="permit")
out["lnab_permit_read"] = c.read("hint/issuer/default")["data"]["leaf_not_after_behavior"]
out["lnab_permitted"] = pki.generate_certificate(
    "long", "p.example.com", extra_params={"ttl": "17520h"}, mount_point="hint"
)["data"]
try:
    c.write("hint/issuer/default", leaf_not_after_behavior="sometimes")
    out["lnab_unknown"] = "no error"
except exceptions.InvalidRequest as e:
    out["lnab_unknown"] = str(e)

# key/:ref write and delete on hint (its one key is its CA's): key_name renames the CA, a delete is refused (in use)
out["key_renamed"] = c.write("hint/key/default", key_name="hint-key")["data"]
out["key_renamed_issuer"] = c.read("hint/issuer/default")["data"]["issuer_name"]
try:
    c.delete("hint/key/default")
    out["key_delete"] = "no error"
except exceptions.InvalidRequest as e:
    out["key_delete"] = str(e)

print(json.dumps(out))
