"""The `vault` commands a Vault/OpenBao quick start uses, played by hvac (Debian python3-hvac, unmodified; the `vault`
and `bao` CLIs are not packaged in Debian): `vault secrets enable [-path=P] [-max-lease-ttl=D] pki` and
`vault write [-field=F] PATH k=v … (v = @file reads the file)`, against VAULT_ADDR with VAULT_TOKEN, printing as the
CLI does (the field's value, or `key value` lines) and exiting 2 with hvac's error on stderr when the server refuses."""
import os
import sys

import hvac
from hvac import exceptions


def main(argv):
    client = hvac.Client(url=os.environ["VAULT_ADDR"], token=os.environ.get("VAULT_TOKEN"))
    flags = {}
    args = []
    for a in argv[1:]:
        if a.startswith("-") and "=" in a:
            k, v = a.lstrip("-").split("=", 1)
            flags[k] = v
        else:
            args.append(a)
    try:
        if argv[:1] == ["secrets"] and args[:1] == ["enable"]:
            config = {"max_lease_ttl": flags["max-lease-ttl"]} if "max-lease-ttl" in flags else None
            client.sys.enable_secrets_engine(args[1], path=flags.get("path"), config=config)
            print(f"Success! Enabled the {args[1]} secrets engine at: {flags.get('path', args[1])}/")
            return 0
        if argv[:1] == ["write"]:
            path, pairs = args[0], args[1:]
            params = {}
            for p in pairs:
                k, v = p.split("=", 1)
                if v.startswith("@"):
                    with open(v[1:], encoding="utf-8") as f:
                        v = f.read()
                params[k] = v
            # through hvac's adapter: its generic write() takes `path` as its own first argument
            r = client.adapter.post(f"/v1/{path}", json=params)
            data = (r or {}).get("data") or {}
            if "field" in flags:
                print(data[flags["field"]])
            else:
                for w in (r or {}).get("warnings") or []:
                    print(f"WARNING! {w}", file=sys.stderr)
                for k in sorted(data):
                    print(f"{k}    {data[k]}")
            return 0
    except exceptions.VaultError as e:
        print(f"Error: {e}", file=sys.stderr)
        return 2
    print(f"unsupported: vault {' '.join(argv)}", file=sys.stderr)
    return 1


sys.exit(main(sys.argv[1:]))
