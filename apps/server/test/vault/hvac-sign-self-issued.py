"""hvac (Debian python3-hvac, unmodified): sign_self_issued (POST <mount>/root/sign-self-issued) of a self-signed CA
certificate on the mount `rot`, and of a self-signed certificate that is not a CA (refused). argv = url, admin token,
the CA PEM, the other PEM. Prints one JSON object of what hvac returned."""
import json
import sys

import hvac
from hvac import exceptions

url, token, pem, not_ca = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
c = hvac.Client(url=url, token=token)
pki = c.secrets.pki
out = {"signed": pki.sign_self_issued(pem, mount_point="rot")["data"]}
try:
    pki.sign_self_issued(not_ca, mount_point="rot")
    out["refused"] = "no error"
except exceptions.InvalidRequest as e:
    out["refused"] = str(e)
print(json.dumps(out))
