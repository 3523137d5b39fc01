"""Shared constants and small helpers for the SDK suite.

What the simulator (morn-mock) answers, which the assertions rely on:
- text answers begin `You said: <the last user message's words>.` followed by
  filler words (20 tokens in all by default; `#mock{"words":N}` makes it N);
- `#mock{...}` directives are stripped from the echo, and a directive in a
  system prompt is honoured too (so it proves the system prompt reached it);
- system text is counted as input tokens but never echoed;
- a tool result ends the conversation with `Tool result: <the result>.`;
- forced tool calls carry arguments generated from the tool's JSON schema
  (the first `enum` value, every property present).
"""

from __future__ import annotations

import base64
import json
import struct
from typing import Any

import pytest

MASTER_KEY = "sk-morn-sdk-suite-master"
# Per-call timeout for the SDK clients: generous, but a hang fails the test
# instead of stalling the whole run.
CLIENT_TIMEOUT = 30.0

# One chat model per upstream adapter; the id says which protocol Morn spoke upstream.
CHAT_MODELS = ["gpt-4o-mini", "claude-sonnet-4-5", "gemini-2.5-flash"]
EMBED_MODELS = ["text-embedding-3-small", "gemini-embedding-001"]

chat_models = pytest.mark.parametrize("model", CHAT_MODELS)
embed_models = pytest.mark.parametrize("model", EMBED_MODELS)


def echo(text: str) -> str:
    """The sentence the simulator opens its answer with for user text `text`
    (directives removed, whitespace collapsed, 30 words at most)."""
    words = strip_directives(text).split()[:30]
    return "You said: " + " ".join(words) + "."


def strip_directives(text: str) -> str:
    out, rest = [], text
    while "#mock{" in rest:
        pos = rest.index("#mock{")
        out.append(rest[:pos])
        depth, end = 0, None
        for i, ch in enumerate(rest[pos + 5 :], start=pos + 5):
            depth += ch == "{"
            depth -= ch == "}"
            if depth == 0:
                end = i + 1
                break
        rest = rest[end:] if end else ""
    out.append(rest)
    return "".join(out)


def mock(**directives: Any) -> str:
    """A `#mock{...}` directive to embed in message text."""
    return "#mock" + json.dumps(directives, separators=(",", ":"))


# --- tools ---------------------------------------------------------------------

WEATHER_SCHEMA = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "description": "City name"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        "days": {"type": "integer", "minimum": 1, "maximum": 7},
    },
    "required": ["city", "unit", "days"],
}
TIME_SCHEMA = {
    "type": "object",
    "properties": {"timezone": {"type": "string"}},
    "required": ["timezone"],
}


def openai_tools() -> list[dict]:
    return [
        {"type": "function", "function": {"name": "get_weather", "description": "Weather forecast", "parameters": WEATHER_SCHEMA}},
        {"type": "function", "function": {"name": "get_time", "description": "Current time", "parameters": TIME_SCHEMA}},
    ]


def anthropic_tools() -> list[dict]:
    return [
        {"name": "get_weather", "description": "Weather forecast", "input_schema": WEATHER_SCHEMA},
        {"name": "get_time", "description": "Current time", "input_schema": TIME_SCHEMA},
    ]


def schema_errors(value: Any, schema: dict, path: str = "$") -> list[str]:
    """A small JSON Schema check (type, enum, properties, required, items,
    minimum/maximum): enough for the schemas this suite sends."""
    errs: list[str] = []
    types = {
        "object": dict,
        "array": list,
        "string": str,
        "boolean": bool,
        "null": type(None),
    }
    t = schema.get("type")
    if t == "integer":
        if not (isinstance(value, int) and not isinstance(value, bool)):
            return [f"{path}: expected integer, got {value!r}"]
    elif t == "number":
        if not (isinstance(value, (int, float)) and not isinstance(value, bool)):
            return [f"{path}: expected number, got {value!r}"]
    elif t in types and not isinstance(value, types[t]):
        return [f"{path}: expected {t}, got {value!r}"]
    if "enum" in schema and value not in schema["enum"]:
        errs.append(f"{path}: {value!r} not in {schema['enum']}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            errs.append(f"{path}: {value} < minimum {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            errs.append(f"{path}: {value} > maximum {schema['maximum']}")
    if isinstance(value, dict):
        for name in schema.get("required", []):
            if name not in value:
                errs.append(f"{path}: missing required {name!r}")
        for name, sub in schema.get("properties", {}).items():
            if name in value:
                errs.extend(schema_errors(value[name], sub, f"{path}.{name}"))
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            errs.extend(schema_errors(item, schema["items"], f"{path}[{i}]"))
    return errs


def parse_json(text: str) -> Any:
    """`json.loads`, failing the test with the text it could not parse."""
    try:
        return json.loads(text)
    except (TypeError, json.JSONDecodeError) as e:
        pytest.fail(f"not JSON ({e}): {text!r}")


def assert_valid(value: Any, schema: dict) -> None:
    errs = schema_errors(value, schema)
    assert not errs, f"{value!r} does not match the schema: {errs}"


# --- OpenAI streaming ------------------------------------------------------------


def collect_openai_stream(stream) -> dict:
    """Consumes a chat.completions stream the way a client application does:
    text by concatenation, tool calls assembled by `index`."""
    text, finish, usage, chunks = [], None, None, []
    calls: dict[int, dict] = {}
    for chunk in stream:
        chunks.append(chunk)
        if chunk.usage is not None:
            usage = chunk.usage
        for choice in chunk.choices:
            d = choice.delta
            if d.content:
                text.append(d.content)
            for tc in d.tool_calls or []:
                slot = calls.setdefault(tc.index, {"id": None, "name": "", "arguments": "", "deltas": 0})
                if tc.id:
                    slot["id"] = tc.id
                if tc.function and tc.function.name:
                    slot["name"] += tc.function.name
                if tc.function and tc.function.arguments:
                    slot["arguments"] += tc.function.arguments
                    slot["deltas"] += 1
            if choice.finish_reason:
                finish = choice.finish_reason
    return {"text": "".join(text), "finish": finish, "usage": usage, "tool_calls": calls, "chunks": chunks}


def assert_openai_usage(usage) -> None:
    assert usage is not None, "no usage reported"
    assert usage.prompt_tokens > 0
    assert usage.completion_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


# --- embeddings ------------------------------------------------------------------


def decode_base64_embedding(s: str) -> list[float]:
    raw = base64.b64decode(s)
    return list(struct.unpack(f"<{len(raw) // 4}f", raw))


def cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b))
    na = sum(x * x for x in a) ** 0.5
    nb = sum(y * y for y in b) ** 0.5
    return dot / (na * nb)


# A 1x1 red PNG, as an image a user would attach.
RED_PIXEL_PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)
