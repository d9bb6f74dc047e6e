"""hvac (Debian python3-hvac, unmodified) reads and writes a mount's config/auto-tidy with its generic read/write, as
hvac has no auto-tidy method: argv = url, admin token. Prints one JSON object of what hvac returned."""
import json
import sys

import hvac
from hvac import exceptions

url, token = sys.argv[1], sys.argv[2]
c = hvac.Client(url=url, token=token)
out = {"before": c.read("pki/config/auto-tidy")["data"]}
written = c.write(
    "pki/config/auto-tidy",
    enabled=True,
    tidy_cert_store=True,
    tidy_revoked_certs=True,
    interval_duration="2h",
    safety_buffer="1h",
    pause_duration="0s",
)
out["written"] = written["data"]
out["after"] = c.read("pki/config/auto-tidy")["data"]
out["refused"] = {}
for name, params in {"unknown": {"tidy_everything": True}, "acme": {"tidy_acme": True}}.items():
    try:
        c.write("pki/config/auto-tidy", **params)
        out["refused"][name] = None
    except exceptions.InvalidRequest as e:
        out["refused"][name] = str(e)
print(json.dumps(out))
