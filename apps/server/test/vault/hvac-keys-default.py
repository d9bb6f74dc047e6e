"""hvac (Debian python3-hvac, unmodified): a root made by generate_root, revoked and deleted by its generic write and
delete (DELETE issuer/default), its key still listed by the raw LIST verb and config/keys read by the generic read,
then generate_root "existing" without key_ref (the default key), a leaf by generate_certificate, and a config/keys
write naming no key refused. argv = url, admin token. Prints one JSON object of what hvac returned."""
import json
import sys

import hvac
from hvac import exceptions

url, token = sys.argv[1], sys.argv[2]
c = hvac.Client(url=url, token=token)
pki = c.secrets.pki
c.sys.enable_secrets_engine("pki", path="hdef", config={"max_lease_ttl": "87600h"})
out = {"first": pki.generate_root("internal", "Hvac Kept", extra_params={"ttl": "8760h"}, mount_point="hdef")["data"]}
c.write("hdef/issuer/default/revoke")
c.delete("hdef/issuer/default")
out["keys_after_delete"] = c.adapter.list("/v1/hdef/keys")["data"]
out["config_keys"] = c.read("hdef/config/keys")["data"]
out["again"] = pki.generate_root("existing", "Hvac Kept 2", extra_params={"ttl": "8760h"}, mount_point="hdef")["data"]
pki.create_or_update_role("web", {"allowed_domains": "example.com", "allow_subdomains": True}, mount_point="hdef")
out["leaf"] = pki.generate_certificate("web", "k.example.com", extra_params={"ttl": "1h"}, mount_point="hdef")["data"]
try:
    c.write("hdef/config/keys", default="nope")
    out["bad_default"] = "no error"
except exceptions.InvalidRequest as e:
    out["bad_default"] = str(e)
print(json.dumps(out))
