"""Rate limits as the official SDKs see them: OpenAI's `x-ratelimit-*` headers on
admitted requests, and a refused request surfacing as each SDK's own
`RateLimitError` with Morn's stable code and a `Retry-After` header."""

from __future__ import annotations

import re
import time

import anthropic
import httpx
import openai
import pytest

from helpers import CLIENT_TIMEOUT, MASTER_KEY


@pytest.fixture(scope="module")
def limited_key(servers, morn_url) -> str:
    """The bootstrap owner's key, limited to 2 requests per minute."""
    log = servers["morn"].log.read_text(encoding="utf-8", errors="replace")
    key = re.search(r"^api key\s+(\S+)", log, re.MULTILINE)
    workspace = re.search(r"^workspace\s+.*\((\S+)\)", log, re.MULTILINE)
    assert key and workspace, f"no bootstrap report in the log:\n{log[-2000:]}"
    reply = httpx.post(
        f"{morn_url}/api/v1/workspaces/{workspace.group(1)}/limits",
        headers={"authorization": f"Bearer {MASTER_KEY}"},
        json={"scope": "workspace", "scope_id": workspace.group(1), "rpm": 2},
        timeout=CLIENT_TIMEOUT,
    )
    assert reply.status_code == 201, reply.text
    # Three requests must land in one calendar minute.
    while time.gmtime().tm_sec > 50:
        time.sleep(1)
    return key.group(1)


def test_limits_show_in_headers_then_refuse_as_rate_limit_error(morn_url, limited_key):
    client = openai.OpenAI(base_url=f"{morn_url}/v1", api_key=limited_key, max_retries=0, timeout=CLIENT_TIMEOUT)
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "one"}], max_tokens=10
    )
    assert raw.headers["x-ratelimit-limit-requests"] == "2"
    assert raw.headers["x-ratelimit-remaining-requests"] == "1"
    assert re.fullmatch(r"\d+(ms|s|m\d+s)", raw.headers["x-ratelimit-reset-requests"])
    assert raw.parse().choices[0].message.content

    ant = anthropic.Anthropic(base_url=morn_url, api_key=limited_key, max_retries=0, timeout=CLIENT_TIMEOUT)
    message = ant.messages.create(
        model="claude-sonnet-4-5", max_tokens=10, messages=[{"role": "user", "content": "two"}]
    )
    assert message.content[0].text

    with pytest.raises(openai.RateLimitError) as refused:
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "three"}])
    assert refused.value.code == "rate_limit_exceeded"
    assert 1 <= int(refused.value.response.headers["retry-after"]) <= 60

    with pytest.raises(anthropic.RateLimitError) as refused_ant:
        ant.messages.create(model="claude-sonnet-4-5", max_tokens=10, messages=[{"role": "user", "content": "four"}])
    assert refused_ant.value.status_code == 429
    assert "rate limit" in str(refused_ant.value).lower()
