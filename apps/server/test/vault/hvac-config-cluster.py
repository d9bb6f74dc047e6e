"""hvac (Debian python3-hvac, unmodified) writes and reads a mount's config/cluster (hvac has no method for it; its
generic write() takes `path` as its own first argument, so the write goes through hvac's adapter, as a client setting
`path` must): argv = url, admin token, mount. Prints one JSON object of what hvac returned."""
import json
import sys

import hvac
from hvac import exceptions

url, token, mount = sys.argv[1], sys.argv[2], sys.argv[3]
c = hvac.Client(url=url, token=token)
out = {
    "written": c.adapter.post(
        f"/v1/{mount}/config/cluster",
        json={"path": "https://pr2.bao.example.com:8200/v1/" + mount, "aia_path": "http://cdn.example.com/pr2/" + mount},
    )["data"],
    "read": c.read(f"{mount}/config/cluster")["data"],
}
try:
    c.write(f"{mount}/config/cluster", aia_path="cdn.example.com")
    out["refused"] = None
except exceptions.InvalidRequest as e:
    out["refused"] = str(e)
print(json.dumps(out))
