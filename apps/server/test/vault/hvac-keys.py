"""hvac (Debian python3-hvac, unmodified) makes a key without an issuer and a root from it: keys/generate/exported by
its generic write (this hvac has no key methods), the keys by its raw LIST verb and generic list, key/:ref by its
generic read and write, root/generate/existing by generate_root with key_ref, a leaf by generate_certificate, and the
refusals (kms, DELETE of the key in use). argv = url, admin token. Prints one JSON object of what hvac returned."""
import json
import sys

import hvac
from hvac import exceptions

url, token = sys.argv[1], sys.argv[2]
c = hvac.Client(url=url, token=token)
pki = c.secrets.pki
c.sys.enable_secrets_engine("pki", path="hkeys", config={"max_lease_ttl": "87600h"})
out = {"generated": c.write("hkeys/keys/generate/exported", key_name="hk", key_type="ec", key_bits=384)["data"]}
out["keys_verb"] = c.adapter.list("/v1/hkeys/keys")["data"]
out["keys_query"] = c.list("hkeys/keys")["data"]
out["key"] = c.read("hkeys/key/hk")["data"]
out["renamed"] = c.write("hkeys/key/hk", key_name="hk2")["data"]
try:
    c.write("hkeys/keys/generate/kms", external_key_ref="x")
    out["kms"] = "no error"
except exceptions.InvalidRequest as e:
    out["kms"] = str(e)
out["root"] = pki.generate_root(
    "existing", "Hvac Key Root", extra_params={"key_ref": "hk2", "ttl": "87600h"}, mount_point="hkeys"
)["data"]
pki.create_or_update_role("web", {"allowed_domains": "example.com", "allow_subdomains": True}, mount_point="hkeys")
out["leaf"] = pki.generate_certificate("web", "h.example.com", extra_params={"ttl": "1h"}, mount_point="hkeys")["data"]
try:
    c.delete("hkeys/key/hk2")
    out["delete"] = "no error"
except exceptions.InvalidRequest as e:
    out["delete"] = str(e)
print(json.dumps(out))
