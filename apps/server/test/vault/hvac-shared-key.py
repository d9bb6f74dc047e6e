"""hvac (Debian python3-hvac, unmodified) makes two roots on one key (OpenBao's key_ref): keys/generate/internal by its
generic write, generate_root "existing" twice with the same key_ref, the keys by its raw LIST verb, and a leaf of each
root by its generic write of issuer/:ref/issue/:role. argv = url, admin token. Prints one JSON object of what hvac
returned."""
import json
import sys

import hvac

url, token = sys.argv[1], sys.argv[2]
c = hvac.Client(url=url, token=token)
pki = c.secrets.pki
c.sys.enable_secrets_engine("pki", path="hshare", config={"max_lease_ttl": "87600h"})
out = {"key": c.write("hshare/keys/generate/internal", key_name="hs", key_type="ec")["data"]}
for n in ("first", "second"):
    out[n] = pki.generate_root(
        "existing", "Hvac Shared " + n, extra_params={"key_ref": "hs", "ttl": "8760h"}, mount_point="hshare"
    )["data"]
out["keys"] = c.adapter.list("/v1/hshare/keys")["data"]
pki.create_or_update_role("web", {"allowed_domains": "example.com", "allow_subdomains": True}, mount_point="hshare")
for n in ("first", "second"):
    issuer = out[n]["issuer_id"]
    out["leaf_" + n] = c.write("hshare/issuer/" + issuer + "/issue/web", common_name=n + ".example.com", ttl="1h")[
        "data"
    ]
print(json.dumps(out))
