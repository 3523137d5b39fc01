"""Model listing through both SDKs, plus `x-request-id` and the health probes."""

from __future__ import annotations

import anthropic
import openai
import pytest
import urllib.request

from helpers import CHAT_MODELS, EMBED_MODELS, chat_models

CONFIGURED = set(CHAT_MODELS + EMBED_MODELS)


def test_openai_list_has_the_configured_models(oai):
    models = list(oai.models.list())
    ids = [m.id for m in models]
    assert CONFIGURED <= set(ids), ids
    assert len(ids) == len(set(ids)), "no duplicates"
    for m in models:
        assert m.object == "model"
        assert isinstance(m.created, int)
        assert m.owned_by


def test_openai_retrieve(oai):
    m = oai.models.retrieve("gpt-4o-mini")
    assert m.id == "gpt-4o-mini"
    assert m.object == "model"


def test_openai_retrieve_unknown_is_not_found(oai):
    with pytest.raises(openai.NotFoundError) as exc:
        oai.models.retrieve("no-such-model")
    assert exc.value.status_code == 404


def test_anthropic_list_has_the_configured_models(ant):
    page = ant.models.list()
    ids = [m.id for m in page]
    assert CONFIGURED <= set(ids), ids
    for m in page.data:
        assert m.type == "model"
        assert m.display_name
        assert m.created_at is not None
    # Anthropic's list shape: has_more, first_id, last_id.
    assert page.has_more is False
    assert page.first_id == page.data[0].id
    assert page.last_id == page.data[-1].id


def test_anthropic_retrieve(ant):
    m = ant.models.retrieve("claude-sonnet-4-5")
    assert m.id == "claude-sonnet-4-5"
    assert m.type == "model"


def test_anthropic_retrieve_unknown_is_not_found(ant):
    with pytest.raises(anthropic.NotFoundError) as exc:
        ant.models.retrieve("no-such-model")
    assert exc.value.status_code == 404


# --- x-request-id -----------------------------------------------------------------


@chat_models
def test_request_id_on_chat(oai, model):
    raw = oai.chat.completions.with_raw_response.create(model=model, messages=[{"role": "user", "content": "hi"}])
    assert raw.headers.get("x-request-id")
    assert raw.parse().choices[0].message.content


def test_request_ids_differ(oai):
    a = oai.models.with_raw_response.list().headers.get("x-request-id")
    b = oai.models.with_raw_response.list().headers.get("x-request-id")
    assert a and b and a != b


@chat_models
def test_request_id_on_messages(ant, model):
    raw = ant.messages.with_raw_response.create(model=model, max_tokens=64, messages=[{"role": "user", "content": "hi"}])
    assert raw.headers.get("x-request-id")
    assert raw.parse().content


def test_request_id_on_stream_and_embeddings(oai, ant):
    with oai.chat.completions.with_streaming_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True
    ) as r:
        assert r.headers.get("x-request-id")
        assert r.headers.get("content-type", "").startswith("text/event-stream")
    with ant.messages.with_streaming_response.create(
        model="claude-sonnet-4-5", max_tokens=64, messages=[{"role": "user", "content": "hi"}], stream=True
    ) as r:
        assert r.headers.get("x-request-id")
        assert r.headers.get("content-type", "").startswith("text/event-stream")
    raw = oai.embeddings.with_raw_response.create(model="text-embedding-3-small", input="hi")
    assert raw.headers.get("x-request-id")


def test_request_id_on_errors(oai):
    with pytest.raises(openai.NotFoundError) as exc:
        oai.chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "hi"}])
    assert exc.value.response.headers.get("x-request-id")


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_health_probes(morn_url, path):
    with urllib.request.urlopen(morn_url + path, timeout=10) as r:
        assert r.status == 200
