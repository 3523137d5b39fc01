"""Signs in as the bootstrapped owner, creates the resources the fuzzer needs real
identifiers for, and writes a schemathesis config binding the path parameters to
them. Destructive operations (DELETE) get their own throwaway resources so the rest
keep finding theirs.

    python setup.py BASE_URL EMAIL PASSWORD MASTER_KEY CONFIG_OUT  -> prints the access token
"""

from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.request

base, email, password, master_key, config_out = sys.argv[1:]
token = ""


def call(method: str, path: str, body: dict | None = None) -> dict:
    req = urllib.request.Request(
        f"{base}/api/v1{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})},
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        raw = resp.read()
    return json.loads(raw) if raw else {}


token = call("POST", "/auth/login", {"email": email, "password": password})["access_token"]
org = call("GET", "/orgs")["data"][0]["id"]
ws = call("GET", f"/orgs/{org}/workspaces")["data"][0]["id"]


def workspace(name: str) -> str:
    return call("POST", f"/orgs/{org}/workspaces", {"name": name})["id"]


def key(name: str) -> str:
    return call("POST", f"/workspaces/{ws}/keys", {"name": name})["id"]


def provider(name: str) -> str:
    return call("POST", f"/orgs/{org}/providers", {"name": name, "kind": "openai", "base_url": "http://127.0.0.1:9/v1"})["id"]


def model(name: str) -> str:
    return call("POST", f"/orgs/{org}/models", {"name": name, "spec": {"provider": "p0"}})["id"]


def member(name: str) -> str:
    user = call(
        "POST",
        f"/orgs/{org}/users",
        {"email": f"{name}@example.com", "password": "correct-horse-battery-staple-1", "name": name, "role": "member"},
    )
    uid = user.get("id") or user["user"]["id"]
    try:
        call("POST", f"/workspaces/{ws}/members", {"email": f"{name}@example.com", "role": "member"})
    except urllib.error.HTTPError as e:
        if e.code != 409:
            raise
    return uid


ids = {
    "key": key("fuzz"),
    "key_del": key("fuzz-del"),
    "provider": provider("p0"),
    "provider_del": provider("p-del"),
    "model": model("m0"),
    "model_del": model("m-del"),
    "user": member("fuzz-user"),
    "user_del": member("fuzz-del"),
    "ws_del": workspace("fuzz-del"),
}
# One request through the gateway with a workspace key, for its usage record (stored
# by the ledger within its flush interval); before the limits and budgets below,
# which are made to refuse.
secret = call("POST", f"/workspaces/{ws}/keys", {"name": "fuzz-traffic"})["key"]
chat = urllib.request.Request(
    f"{base}/v1/chat/completions",
    method="POST",
    data=json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}).encode(),
    headers={"Content-Type": "application/json", "Authorization": f"Bearer {secret}"},
)
with urllib.request.urlopen(chat, timeout=30) as resp:
    ids["record"] = resp.headers["x-request-id"]
for _ in range(200):
    try:
        call("GET", f"/workspaces/{ws}/usage/records/{ids['record']}")
        break
    except urllib.error.HTTPError:
        time.sleep(0.05)
else:
    sys.exit(f"setup.py: the usage record of {ids['record']} was never stored")

limits, budgets, prices = f"/workspaces/{ws}/limits", f"/workspaces/{ws}/budgets", f"/orgs/{org}/prices"
ids["limit"] = call("POST", limits, {"scope": "key", "scope_id": ids["key"], "rpm": 10})["id"]
ids["limit_del"] = call("POST", limits, {"scope": "workspace", "rpm": 10})["id"]
ids["budget"] = call("POST", budgets, {"scope": "workspace", "period": "month", "amount_micros": 10})["id"]
ids["budget_del"] = call("POST", budgets, {"scope": "workspace", "period": "day", "amount_micros": 10})["id"]
ids["price"] = call("POST", prices, {"model": "fuzz", "price": {"input": 1, "output": 2}})["id"]

ids["price_del"] = call("POST", prices, {"model": "fuzz-del", "price": {"input": 1, "output": 2}})["id"]


def op(name: str, **params: str) -> str:
    inner = ", ".join(f"{k} = {json.dumps(v)}" for k, v in params.items())
    return f'[[operations]]\ninclude-name = "{name}"\nparameters = {{ {inner} }}\n'


p = "/api/v1"
sections = [
    f"[parameters]\norg = {json.dumps(org)}\nws = {json.dumps(ws)}\n",
    op(f"DELETE {p}/workspaces/{{ws}}", ws=ids["ws_del"]),
]
for method in ("GET", "PATCH"):
    sections.append(op(f"{method} {p}/workspaces/{{ws}}/keys/{{id}}", id=ids["key"]))
sections.append(op(f"POST {p}/workspaces/{{ws}}/keys/{{id}}/rotate", id=ids["key"]))
sections.append(op(f"DELETE {p}/workspaces/{{ws}}/keys/{{id}}", id=ids["key_del"]))
sections.append(op(f"PATCH {p}/orgs/{{org}}/providers/{{id}}", id=ids["provider"]))
sections.append(op(f"DELETE {p}/orgs/{{org}}/providers/{{id}}", id=ids["provider_del"]))
sections.append(op(f"PATCH {p}/orgs/{{org}}/models/{{id}}", id=ids["model"]))
sections.append(op(f"DELETE {p}/orgs/{{org}}/models/{{id}}", id=ids["model_del"]))
sections.append(op(f"PATCH {p}/workspaces/{{ws}}/members/{{user_id}}", user_id=ids["user"]))
sections.append(op(f"DELETE {p}/workspaces/{{ws}}/members/{{user_id}}", user_id=ids["user_del"]))
sections.append(op(f"POST {p}/users/{{id}}/password", id=ids["user"]))
for path, name in ((f"{p}/workspaces/{{ws}}/limits", "limit"), (f"{p}/workspaces/{{ws}}/budgets", "budget"), (f"{p}/orgs/{{org}}/prices", "price")):
    for method in ("GET", "PATCH"):
        sections.append(op(f"{method} {path}/{{id}}", id=ids[name]))
    sections.append(op(f"DELETE {path}/{{id}}", id=ids[name + "_del"]))
sections.append(op(f"GET {p}/workspaces/{{ws}}/invoices/{{month}}", month="2025-01"))
sections.append(op(f"GET {p}/workspaces/{{ws}}/usage/records/{{id}}", id=ids["record"]))
# A second sign-in of the same user: a session the fuzzer may revoke without signing
# out the token it works with.
call("POST", "/auth/login", {"email": email, "password": password})
other = next(x["id"] for x in call("GET", "/auth/sessions")["data"] if not x["current"])
sections.append(op(f"DELETE {p}/auth/sessions/{{id}}", id=other))
# The gateway admin endpoints take the master key only.
for name in (f"GET {p}/admin/deployments", f"POST {p}/admin/reload"):
    sections.append(
        f'[[operations]]\ninclude-name = "{name}"\n'
        f'headers = {{ Authorization = {json.dumps("Bearer " + master_key)} }}\n'
    )

with open(config_out, "w") as f:
    f.write("# Written by tests/api/setup.py.\n" + "\n".join(sections))
print(token)
