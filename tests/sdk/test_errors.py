"""Errors as the SDKs' own exception classes, with the caller's own error shape:
OpenAI `{"error":{"message","type","param","code"}}` (the openai SDK exposes
`.type/.code/.param`), Anthropic `{"type":"error","error":{"type","message"}}`."""

from __future__ import annotations

import anthropic
import openai
import pytest
from anthropic.types import Message
from openai.types.chat import ChatCompletion

from helpers import CLIENT_TIMEOUT, chat_models, mock

WRONG_KEY = "sk-wrong-0123456789abcdef"
HI = [{"role": "user", "content": "hi"}]


def anthropic_error_type(exc: anthropic.APIStatusError) -> str:
    body = exc.body
    assert isinstance(body, dict) and body.get("type") == "error", body
    assert body["error"]["message"]
    return body["error"]["type"]


# --- authentication ----------------------------------------------------------------


def test_openai_wrong_key(morn_url):
    client = openai.OpenAI(base_url=f"{morn_url}/v1", api_key=WRONG_KEY, max_retries=0, timeout=CLIENT_TIMEOUT)
    with pytest.raises(openai.AuthenticationError) as exc:
        client.chat.completions.create(model="gpt-4o-mini", messages=HI)
    assert exc.value.status_code == 401
    assert exc.value.type == "invalid_request_error"
    assert exc.value.code == "invalid_api_key"
    assert WRONG_KEY not in exc.value.message, "the key is never echoed back"


def test_anthropic_wrong_key(morn_url):
    client = anthropic.Anthropic(base_url=morn_url, api_key=WRONG_KEY, max_retries=0, timeout=CLIENT_TIMEOUT)
    with pytest.raises(anthropic.AuthenticationError) as exc:
        client.messages.create(model="claude-sonnet-4-5", max_tokens=64, messages=HI)
    assert exc.value.status_code == 401
    assert anthropic_error_type(exc.value) == "authentication_error"


def test_openai_wrong_key_on_models(morn_url):
    client = openai.OpenAI(base_url=f"{morn_url}/v1", api_key=WRONG_KEY, max_retries=0, timeout=CLIENT_TIMEOUT)
    with pytest.raises(openai.AuthenticationError):
        client.models.list()


# --- malformed requests --------------------------------------------------------------


def test_openai_missing_messages(oai):
    with pytest.raises(openai.BadRequestError) as exc:
        oai.post("/chat/completions", body={"model": "gpt-4o-mini"}, cast_to=ChatCompletion)
    assert exc.value.status_code == 400
    assert exc.value.type == "invalid_request_error"
    assert exc.value.code == "missing_field"
    assert exc.value.param == "messages"


def test_openai_wrong_type(oai):
    with pytest.raises(openai.BadRequestError) as exc:
        oai.chat.completions.create(model="gpt-4o-mini", messages=HI, extra_body={"temperature": "hot"})
    assert exc.value.code == "invalid_type"
    assert exc.value.param == "temperature"


def test_anthropic_missing_max_tokens(ant):
    with pytest.raises(anthropic.BadRequestError) as exc:
        ant.post("/v1/messages", body={"model": "claude-sonnet-4-5", "messages": HI}, cast_to=Message)
    assert exc.value.status_code == 400
    assert anthropic_error_type(exc.value) == "invalid_request_error"
    assert "max_tokens" in exc.value.body["error"]["message"]


def test_anthropic_bad_role(ant):
    with pytest.raises(anthropic.BadRequestError) as exc:
        ant.messages.create(model="claude-sonnet-4-5", max_tokens=64, messages=[{"role": "robot", "content": "hi"}])
    assert anthropic_error_type(exc.value) == "invalid_request_error"


# --- unknown model ---------------------------------------------------------------------


def test_openai_unknown_model(oai):
    with pytest.raises(openai.NotFoundError) as exc:
        oai.chat.completions.create(model="no-such-model", messages=HI)
    assert exc.value.status_code == 404
    assert exc.value.type == "invalid_request_error"
    assert exc.value.code == "model_not_found"


def test_anthropic_unknown_model(ant):
    with pytest.raises(anthropic.NotFoundError) as exc:
        ant.messages.create(model="no-such-model", max_tokens=64, messages=HI)
    assert exc.value.status_code == 404
    assert anthropic_error_type(exc.value) == "not_found_error"


# --- upstream failures, in the caller's shape ----------------------------------------------


@chat_models
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_openai_upstream_rate_limit(oai, model, stream):
    with pytest.raises(openai.RateLimitError) as exc:
        r = oai.chat.completions.create(
            model=model, messages=[{"role": "user", "content": f"hi {mock(status=429, retry_after=2)}"}], stream=stream
        )
        if stream:
            list(r)
    assert exc.value.status_code == 429
    assert exc.value.response.headers.get("retry-after") == "2"
    assert exc.value.code == "rate_limit_exceeded"


@chat_models
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_anthropic_upstream_rate_limit(ant, model, stream):
    with pytest.raises(anthropic.RateLimitError) as exc:
        r = ant.messages.create(
            model=model, max_tokens=64, messages=[{"role": "user", "content": f"hi {mock(status=429, retry_after=2)}"}], stream=stream
        )
        if stream:
            list(r)
    assert exc.value.status_code == 429
    assert exc.value.response.headers.get("retry-after") == "2"
    assert anthropic_error_type(exc.value) == "rate_limit_error"


@chat_models
@pytest.mark.parametrize("status", [500, 503])
def test_openai_upstream_server_error(oai, model, status):
    with pytest.raises(openai.InternalServerError) as exc:
        oai.chat.completions.create(model=model, messages=[{"role": "user", "content": f"hi {mock(status=status)}"}])
    assert exc.value.status_code == status
    assert exc.value.type == "server_error"


@chat_models
@pytest.mark.parametrize("status, kind", [(500, "api_error"), (503, "overloaded_error")])
def test_anthropic_upstream_server_error(ant, model, status, kind):
    with pytest.raises(anthropic.InternalServerError) as exc:
        ant.messages.create(model=model, max_tokens=64, messages=[{"role": "user", "content": f"hi {mock(status=status)}"}])
    assert exc.value.status_code == status
    assert anthropic_error_type(exc.value) == kind


def test_upstream_error_message_is_not_an_internal_dump(oai):
    with pytest.raises(openai.InternalServerError) as exc:
        oai.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": f"hi {mock(status=500)}"}])
    msg = exc.value.message
    assert "mock-key" not in msg and "127.0.0.1" not in msg, f"internal details leaked: {msg}"


# --- a stream cut mid-answer ends in an error, never a clean finish ---------------------------
# `cut_after=6`: the simulator drops the connection after six upstream events,
# which on every upstream is after some text (Anthropic spends three on
# message_start, ping and content_block_start) and well before the end.


@chat_models
def test_openai_stream_cut_raises(oai, model):
    stream = oai.chat.completions.create(
        model=model, messages=[{"role": "user", "content": f"Tell me a story {mock(cut_after=6)}"}], stream=True
    )
    text, finishes = [], []
    with pytest.raises(openai.APIError) as exc:
        for chunk in stream:
            for c in chunk.choices:
                text.append(c.delta.content or "")
                if c.finish_reason:
                    finishes.append(c.finish_reason)
    assert "".join(text), "some text arrived before the cut"
    assert finishes == [], "a cut stream must not report a finish_reason"
    assert isinstance(exc.value.body, dict) and exc.value.body.get("message"), exc.value.body


@chat_models
def test_anthropic_stream_cut_raises(ant, model):
    seen, text = [], []
    with pytest.raises(anthropic.APIError) as exc:
        with ant.messages.stream(
            model=model, max_tokens=256, messages=[{"role": "user", "content": f"Tell me a story {mock(cut_after=6)}"}]
        ) as s:
            for event in s:
                seen.append(event.type)
                if event.type == "text":
                    text.append(event.text)
    assert "".join(text), "some text arrived before the cut"
    assert "message_stop" not in seen and "message_delta" not in seen, seen
    assert isinstance(exc.value.body, dict) and exc.value.body.get("type") == "error", exc.value.body
