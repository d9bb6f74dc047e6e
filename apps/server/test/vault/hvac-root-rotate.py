"""hvac (Debian python3-hvac, unmodified) rotates a mount's root: enable_secrets_engine, generate_root, then
root/rotate/internal by its generic write (this hvac has no rotate method), config/issuers read and written by its
generic read and write. argv = url, admin token. Prints one JSON object of what hvac returned."""
import json
import sys

import hvac

url, token = sys.argv[1], sys.argv[2]
c = hvac.Client(url=url, token=token)
pki = c.secrets.pki
c.sys.enable_secrets_engine("pki", path="hrot", config={"max_lease_ttl": "87600h"})
out = {"old": pki.generate_root("internal", "Hvac Rot", extra_params={"ttl": "8760h"}, mount_point="hrot")["data"]}
rotated = c.write("hrot/root/rotate/internal", common_name="Hvac Rot", ttl="17520h")
out["next"] = rotated["data"]
out["next_warnings"] = rotated["warnings"]
out["before"] = c.read("hrot/config/issuers")["data"]
out["switched"] = c.write("hrot/config/issuers", default=out["next"]["issuer_id"])["data"]
pki.create_or_update_role("web", {"allowed_domains": "example.com", "allow_subdomains": True}, mount_point="hrot")
out["leaf"] = pki.generate_certificate("web", "r.example.com", extra_params={"ttl": "1h"}, mount_point="hrot")["data"]
print(json.dumps(out))
