"""The `vault` commands a Vault/OpenBao walk-through uses, played by hvac (Debian python3-hvac, unmodified; the `vault`
and `bao` CLIs are not packaged in Debian): `vault secrets enable [-path=P] [-max-lease-ttl=D] pki`,
`vault write [-f] [-field=F|-format=json] PATH k=v … (v = @file reads the file)`, `vault read [-field=F] PATH`,
`vault token lookup` (auth/token/lookup-self), `vault token revoke -self`, `vault auth enable [-path=P] M`,
`vault auth disable P` and `vault auth list` (its table: path, type, accessor, description, version — `n/a` for
none), against VAULT_ADDR with VAULT_TOKEN, printing as the CLI does (the field's value — a login's `token`,
`token_accessor`, `token_duration`, `token_policies` from its `auth` as the CLI's RawField reads them — or `key value`
lines) and exiting 2 with hvac's error on stderr when the server refuses. Like the CLI, `write` without data needs
`-f`."""
import json
import os
import sys

import hvac
from hvac import exceptions

AUTH_FIELDS = {
    "token": "client_token",
    "token_accessor": "accessor",
    "token_duration": "lease_duration",
    "token_renewable": "renewable",
    "token_policies": "token_policies",
    "policies": "policies",
}


def show(r, field, path, fmt=None):
    """prints a response as the CLI does: one field's value, the whole response (`-format=json`), or the `key value`
    table"""
    if not isinstance(r, dict):  # 204: hvac hands back the bare response
        print(f"Success! Data written to: {path}")
        return
    if fmt == "json" and field is None:
        print(json.dumps(r, indent=2))
        return
    auth = r.get("auth")
    data = r.get("data") or {}
    if field is not None:
        if auth and field in AUTH_FIELDS:
            value = auth.get(AUTH_FIELDS[field])
        else:
            value = data[field]
        print(go(value))
        return
    for w in r.get("warnings") or []:
        print(f"WARNING! {w}", file=sys.stderr)
    rows = {f: auth.get(k) for f, k in AUTH_FIELDS.items()} if auth else data
    for k in sorted(rows):
        print(f"{k}    {go(rows[k])}")


def go(v):
    """a value as the CLI's table prints it (Go's %v): [a b], map[k:v], true"""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list):
        return "[" + " ".join(go(x) for x in v) + "]"
    if isinstance(v, dict):
        return "map[" + " ".join(f"{k}:{go(v[k])}" for k in sorted(v)) + "]"
    return "<nil>" if v is None else v


def main(argv):
    client = hvac.Client(url=os.environ["VAULT_ADDR"], token=os.environ.get("VAULT_TOKEN"))
    flags = {}
    args = []
    for a in argv[1:]:
        if a.startswith("-") and "=" in a:
            k, v = a.lstrip("-").split("=", 1)
            flags[k] = v
        elif a.startswith("-"):
            flags[a.lstrip("-")] = True
        else:
            args.append(a)
    try:
        if argv[:1] == ["secrets"] and args[:1] == ["enable"]:
            config = {"max_lease_ttl": flags["max-lease-ttl"]} if "max-lease-ttl" in flags else None
            client.sys.enable_secrets_engine(args[1], path=flags.get("path"), config=config)
            print(f"Success! Enabled the {args[1]} secrets engine at: {flags.get('path', args[1])}/")
            return 0
        if argv[:1] == ["auth"] and args[:1] == ["enable"]:
            client.sys.enable_auth_method(args[1], path=flags.get("path"))
            print(f"Success! Enabled {args[1]} auth method at: {flags.get('path', args[1])}/")
            return 0
        if argv[:1] == ["auth"] and args[:1] == ["disable"]:
            client.sys.disable_auth_method(args[1])
            print(f"Success! Disabled the auth method (if it existed) at: {args[1]}/")
            return 0
        if argv[:1] == ["auth"] and args[:1] == ["list"]:
            r = client.sys.list_auth_methods()
            methods = r.get("data") or r
            print("Path    Type    Accessor    Description    Version")
            for path in sorted(methods):
                m = methods[path]
                cells = [path, m["type"], m["accessor"], m["description"] or "n/a", m["plugin_version"] or "n/a"]
                print("    ".join(cells))
            return 0
        if argv[:1] == ["write"]:
            path, pairs = args[0], args[1:]
            if not pairs and not (flags.get("f") or flags.get("force")):
                print("Must supply data or use -force", file=sys.stderr)
                return 1
            params = {}
            for p in pairs:
                k, v = p.split("=", 1)
                if v.startswith("@"):
                    with open(v[1:], encoding="utf-8") as f:
                        v = f.read()
                params[k] = v
            # through hvac's adapter: its generic write() takes `path` as its own first argument
            show(client.adapter.post(f"/v1/{path}", json=params), flags.get("field"), path, flags.get("format"))
            return 0
        if argv[:1] == ["read"]:
            r = client.adapter.get(f"/v1/{args[0]}")
            if r is None:
                print(f"No value found at {args[0]}", file=sys.stderr)
                return 2
            show(r, flags.get("field"), args[0], flags.get("format"))
            return 0
        if argv[:1] == ["token"] and args[:1] == ["lookup"]:
            show(client.auth.token.lookup_self(), flags.get("field"), "auth/token/lookup-self")
            return 0
        if argv[:1] == ["token"] and args[:1] == ["revoke"] and flags.get("self"):
            client.auth.token.revoke_self()
            print("Success! Revoked token (if it existed)")
            return 0
    except exceptions.VaultError as e:
        print(f"Error: {e}", file=sys.stderr)
        return 2
    print(f"unsupported: vault {' '.join(argv)}", file=sys.stderr)
    return 1


sys.exit(main(sys.argv[1:]))
