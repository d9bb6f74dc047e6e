"""hvac (Debian python3-hvac, unmodified) against a PKI Manager server: argv = url, token, JSON list of operations.

Each operation is ["revoke", mount, serial] (hvac's revoke_certificate), ["write", path, params] or ["read", path]
(hvac's generic client calls). Prints one JSON list: per operation the response hvac returned, or {"errors": [...]}
for the error hvac raised (its `errors`), or {"status": …} and its body when hvac returned the HTTP response itself (202, 204).
"""
import json
import sys

import hvac
from hvac import exceptions

url, token, ops = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
c = hvac.Client(url=url, token=token)
out = []
for op in ops:
    try:
        if op[0] == "revoke":
            r = c.secrets.pki.revoke_certificate(op[2], mount_point=op[1])
        elif op[0] == "write":
            r = c.write(op[1], **op[2])
        else:
            r = c.read(op[1])
        if r is None:
            r = {"status": 204}
        elif hasattr(r, "status_code"):  # hvac hands back the response itself for a status other than 200 (202)
            r = {"status": r.status_code, **(r.json() if r.content else {})}
        out.append(r)
    except exceptions.VaultError as e:
        out.append({"errors": e.errors})
print(json.dumps(out))
