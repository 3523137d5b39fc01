"""Embeddings through the official `openai` SDK over the OpenAI and Gemini adapters."""

from __future__ import annotations

import json

import openai
import pytest

from helpers import cosine, decode_base64_embedding, embed_models

CAT = "The cat sat on the mat"
CAT2 = "A cat sat on a mat"
TAX = "Quarterly revenue grew in Europe"


@embed_models
def test_default_call_returns_vectors(oai, model):
    # The SDK asks for base64 by default and decodes it: users just see floats.
    r = oai.embeddings.create(model=model, input=CAT)
    assert r.object == "list"
    assert r.model == model
    assert len(r.data) == 1
    item = r.data[0]
    assert item.object == "embedding"
    assert item.index == 0
    assert len(item.embedding) == 256
    assert all(isinstance(x, float) for x in item.embedding)
    assert abs(sum(x * x for x in item.embedding) - 1.0) < 1e-3, "the simulator's vectors are unit length"
    assert r.usage.prompt_tokens > 0
    assert r.usage.total_tokens == r.usage.prompt_tokens


@embed_models
def test_base64_and_float_encodings_agree(oai, model):
    raw = oai.embeddings.with_raw_response.create(model=model, input=CAT, encoding_format="base64")
    b64 = json.loads(raw.http_response.text)["data"][0]["embedding"]
    assert isinstance(b64, str), "encoding_format=base64 must return a base64 string on the wire"
    from_b64 = decode_base64_embedding(b64)

    r = oai.embeddings.create(model=model, input=CAT, encoding_format="float")
    floats = r.data[0].embedding
    assert isinstance(floats, list) and len(floats) == 256
    assert len(from_b64) == len(floats)
    assert max(abs(a - b) for a, b in zip(from_b64, floats)) < 1e-6


@embed_models
def test_float_encoding_on_the_wire(oai, model):
    raw = oai.embeddings.with_raw_response.create(model=model, input=CAT, encoding_format="float")
    body = json.loads(raw.http_response.text)
    assert isinstance(body["data"][0]["embedding"], list)


@embed_models
@pytest.mark.parametrize("encoding", ["base64", "float"])
def test_dimensions(oai, model, encoding):
    r = oai.embeddings.create(model=model, input=CAT, dimensions=64, encoding_format=encoding)
    vec = r.data[0].embedding
    # Asked for explicitly, base64 comes back as the string itself (the SDK only
    # decodes when it chose base64 on the caller's behalf).
    if encoding == "base64":
        assert isinstance(vec, str)
        vec = decode_base64_embedding(vec)
    assert len(vec) == 64
    assert abs(sum(x * x for x in vec) - 1.0) < 1e-3


@embed_models
def test_batch_keeps_order_and_similarity(oai, model):
    r = oai.embeddings.create(model=model, input=[CAT, CAT2, TAX], encoding_format="float")
    assert [d.index for d in r.data] == [0, 1, 2]
    cat, cat2, tax = (d.embedding for d in r.data)
    assert cosine(cat, cat2) > cosine(cat, tax) + 0.2, "similar texts are closer than unrelated ones"
    # Same text, same vector: the batch did not shuffle inputs.
    single = oai.embeddings.create(model=model, input=TAX, encoding_format="float").data[0].embedding
    assert max(abs(a - b) for a, b in zip(single, tax)) < 1e-6


def test_embeddings_on_a_chat_only_model_is_a_bad_request(oai):
    with pytest.raises(openai.BadRequestError) as exc:
        oai.embeddings.create(model="claude-sonnet-4-5", input=CAT)
    assert exc.value.status_code == 400
    assert exc.value.type == "invalid_request_error"


def test_embeddings_on_an_unknown_model_is_not_found(oai):
    with pytest.raises(openai.NotFoundError) as exc:
        oai.embeddings.create(model="no-such-embedder", input=CAT)
    assert exc.value.status_code == 404
