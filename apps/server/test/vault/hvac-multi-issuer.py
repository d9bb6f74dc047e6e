"""hvac (Debian python3-hvac, unmodified) with two roots in one mount: enable_secrets_engine, generate_root twice
(the second an issuer beside the first, not the default), LIST issuers by its generic list, a leaf through the default
(generate_certificate) and one through issuer/:ref/issue/:role by its generic write, config/issuers switched by its
generic write, then a leaf through the new default. argv = url, admin token. Prints one JSON object."""
import json
import sys

import hvac

url, token = sys.argv[1], sys.argv[2]
c = hvac.Client(url=url, token=token)
pki = c.secrets.pki
m = "hmulti"
c.sys.enable_secrets_engine("pki", path=m, config={"max_lease_ttl": "87600h"})
root = {"key_type": "ec", "ttl": "8760h"}
out = {"first": pki.generate_root("internal", "Hvac First", extra_params=root, mount_point=m)["data"]}
out["second"] = pki.generate_root("internal", "Hvac Second", extra_params=root, mount_point=m)["data"]
out["issuers"] = c.list(f"{m}/issuers")["data"]
pki.create_or_update_role("web", {"allowed_domains": "example.com", "allow_subdomains": True}, mount_point=m)
out["leaf_default"] = pki.generate_certificate("web", "a.example.com", mount_point=m)["data"]
second = out["second"]["issuer_id"]
out["leaf_second"] = c.write(f"{m}/issuer/{second}/issue/web", common_name="b.example.com")["data"]
out["switched"] = c.write(f"{m}/config/issuers", default=second)["data"]
out["leaf_switched"] = pki.generate_certificate("web", "c.example.com", mount_point=m)["data"]
print(json.dumps(out))
