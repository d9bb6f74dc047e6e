"""hvac (Debian python3-hvac, unmodified) writes roles with ext_key_usage_oids and policy_identifiers (OpenBao's list
and JSON forms) and issues through them: argv = url, admin token. Prints one JSON object of what hvac returned."""
import json
import sys

import hvac
from hvac import exceptions

url, token = sys.argv[1], sys.argv[2]
c = hvac.Client(url=url, token=token)
pki = c.secrets.pki
out = {}

policies = json.dumps(
    [
        {"oid": "1.3.6.1.4.1.32473.1.2.4", "cps": "https://pki.example.com/cps"},
        {"oid": "1.3.6.1.4.1.32473.1.2.5", "notice": "I am a user Notice"},
    ]
)
pki.create_or_update_role(
    "custom",
    {
        "allowed_domains": "example.com",
        "allow_subdomains": True,
        "key_type": "ec",
        "server_flag": False,
        "client_flag": True,
        "ext_key_usage_oids": ["1.3.6.1.4.1.32473.9.1", "1.3.6.1.5.5.7.3.1"],
        "policy_identifiers": policies,
    },
)
out["role"] = pki.read_role("custom")["data"]
out["issued"] = pki.generate_certificate("custom", "o.example.com")["data"]["certificate"]
# the comma-separated form of plain OIDs
pki.create_or_update_role(
    "plain",
    {"allowed_domains": "example.com", "allow_subdomains": True, "policy_identifiers": "1.2.3.4,1.2.3.5"},
)
out["plain_role"] = pki.read_role("plain")["data"]["policy_identifiers"]
out["plain_issued"] = pki.generate_certificate("plain", "p.example.com")["data"]["certificate"]

refusals = {
    "bad_eku": {"ext_key_usage_oids": "1.3.6.x"},
    "bad_policy": {"policy_identifiers": "not-an-oid"},
    "any_policy": {"policy_identifiers": "2.5.29.32.0"},
    "twice": {"policy_identifiers": "1.2.3.4,1.2.3.4"},
}
out["refused"] = {}
for name, params in refusals.items():
    try:
        pki.create_or_update_role("bad-" + name.replace("_", "-"), {"allowed_domains": "example.com", **params})
        out["refused"][name] = "no error"
    except exceptions.InvalidRequest as e:
        out["refused"][name] = str(e)
out["roles"] = pki.list_roles()["data"]["keys"]
print(json.dumps(out))
