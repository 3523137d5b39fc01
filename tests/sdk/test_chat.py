"""Chat Completions through the official `openai` SDK, over every upstream adapter:
what a user of `client.chat.completions.create` sees."""

from __future__ import annotations

import pytest

from helpers import (
    RED_PIXEL_PNG,
    assert_openai_usage,
    assert_valid,
    chat_models,
    collect_openai_stream,
    echo,
    mock,
    parse_json,
)

PROMPT = "Hello Morn, please tell me about gateways"


@chat_models
def test_text_answer(oai, model):
    r = oai.chat.completions.create(model=model, messages=[{"role": "user", "content": PROMPT}])
    assert r.object == "chat.completion"
    assert r.id
    assert r.model == model, "the response names the model the caller asked for"
    assert len(r.choices) == 1
    choice = r.choices[0]
    assert choice.index == 0
    assert choice.message.role == "assistant"
    assert choice.message.content.startswith(echo(PROMPT) + " "), choice.message.content
    # The simulator's default answer: the echo plus filler, 20 words in all.
    assert len(choice.message.content.split()) == 20
    assert choice.finish_reason == "stop"
    assert not choice.message.tool_calls
    assert_openai_usage(r.usage)
    assert r.usage.completion_tokens == 20


@chat_models
def test_stream_assembles_to_the_same_answer(oai, model):
    # `words` equal to the echo's length makes the answer exactly the echo, so the
    # streamed and the non-streamed answer must be identical, word for word.
    text = "Alpha beta gamma delta"
    messages = [{"role": "user", "content": f"{text} {mock(words=6)}"}]
    whole = oai.chat.completions.create(model=model, messages=messages)
    assert whole.choices[0].message.content.strip() == echo(text)

    stream = oai.chat.completions.create(
        model=model, messages=messages, stream=True, stream_options={"include_usage": True}
    )
    got = collect_openai_stream(stream)
    assert got["text"] == whole.choices[0].message.content
    assert got["finish"] == "stop"
    assert {c.model for c in got["chunks"]} == {model}
    assert len({c.id for c in got["chunks"]}) == 1, "every chunk of one completion shares its id"
    # include_usage: the last chunk carries usage and no choices; the others none.
    last = got["chunks"][-1]
    assert last.choices == []
    assert last.usage is not None
    assert all(c.usage is None for c in got["chunks"][:-1])
    assert_openai_usage(last.usage)
    assert last.usage.prompt_tokens == whole.usage.prompt_tokens
    assert last.usage.completion_tokens == whole.usage.completion_tokens


@chat_models
def test_stream_arrives_in_pieces(oai, model):
    stream = oai.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": PROMPT}],
        stream=True,
        stream_options={"include_usage": True},
    )
    got = collect_openai_stream(stream)
    content_chunks = [c for c in got["chunks"] if c.choices and c.choices[0].delta.content]
    assert len(content_chunks) > 1, "the answer must stream, not arrive as one blob"
    assert got["text"].startswith(echo(PROMPT) + " ")
    assert len(got["text"].split()) == 20
    assert got["finish"] == "stop"
    assert got["usage"].completion_tokens == 20


@chat_models
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_cached_and_reasoning_tokens_in_usage(oai, model, stream):
    messages = [{"role": "user", "content": f"Hi {mock(cached_tokens=10, reasoning_tokens=5)}"}]
    if stream:
        usage = collect_openai_stream(
            oai.chat.completions.create(model=model, messages=messages, stream=True, stream_options={"include_usage": True})
        )["usage"]
    else:
        usage = oai.chat.completions.create(model=model, messages=messages).usage
    assert_openai_usage(usage)
    # OpenAI semantics: prompt_tokens include the cached ones.
    assert usage.prompt_tokens_details.cached_tokens == 10
    assert usage.prompt_tokens > 10
    if model != "claude-sonnet-4-5":
        # Anthropic folds thinking into output_tokens without a separate count,
        # so only the OpenAI and Gemini upstreams can report reasoning tokens.
        assert usage.completion_tokens_details.reasoning_tokens == 5
        assert usage.completion_tokens > 5


@chat_models
def test_stream_without_usage_option_has_no_usage(oai, model):
    stream = oai.chat.completions.create(model=model, messages=[{"role": "user", "content": PROMPT}], stream=True)
    got = collect_openai_stream(stream)
    assert got["text"].startswith(echo(PROMPT))
    assert got["finish"] == "stop"
    assert all(c.usage is None for c in got["chunks"])


def test_n_choices_on_openai_upstream(oai):
    r = oai.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": PROMPT}], n=2)
    assert [c.index for c in r.choices] == [0, 1]
    for c in r.choices:
        assert c.message.content.startswith(echo(PROMPT))
        assert c.finish_reason == "stop"


@chat_models
@pytest.mark.parametrize("role", ["system", "developer"])
def test_system_and_developer_messages_reach_the_model(oai, model, role):
    # The directive lives only in the system/developer message: a 4-word answer
    # proves that message reached the upstream; the echo proves it was not
    # mistaken for user text.
    messages = [
        {"role": role, "content": f"You are terse. {mock(words=4)}"},
        {"role": "user", "content": "Hello there"},
    ]
    r = oai.chat.completions.create(model=model, messages=messages)
    assert r.choices[0].message.content.strip() == "You said: Hello there."
    assert r.choices[0].finish_reason == "stop"

    bare = oai.chat.completions.create(model=model, messages=[{"role": "user", "content": f"Hello there {mock(words=4)}"}])
    assert r.usage.prompt_tokens > bare.usage.prompt_tokens, "system text counts as input"


@chat_models
@pytest.mark.parametrize("param", ["max_tokens", "max_completion_tokens"])
def test_token_limit_finishes_with_length(oai, model, param):
    r = oai.chat.completions.create(model=model, messages=[{"role": "user", "content": PROMPT}], **{param: 5})
    assert r.choices[0].finish_reason == "length"
    assert r.choices[0].message.content.split() == echo(PROMPT).split()[:5]
    assert r.usage.completion_tokens == 5


@chat_models
def test_token_limit_streamed(oai, model):
    stream = oai.chat.completions.create(
        model=model, messages=[{"role": "user", "content": PROMPT}], max_tokens=5, stream=True
    )
    got = collect_openai_stream(stream)
    assert got["finish"] == "length"
    assert got["text"].split() == echo(PROMPT).split()[:5]


@chat_models
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_stop_sequence_truncates(oai, model, stream):
    messages = [{"role": "user", "content": "alpha banana gamma"}]
    if stream:
        got = collect_openai_stream(
            oai.chat.completions.create(model=model, messages=messages, stop=["banana"], stream=True)
        )
        text, finish = got["text"], got["finish"]
    else:
        r = oai.chat.completions.create(model=model, messages=messages, stop=["banana"])
        text, finish = r.choices[0].message.content, r.choices[0].finish_reason
    assert text.strip() == "You said: alpha", "the answer stops before the stop sequence, which is not included"
    assert finish == "stop"


@chat_models
def test_json_schema_response_format(oai, model):
    schema = {
        "type": "object",
        "properties": {
            "title": {"type": "string"},
            "rating": {"type": "integer", "minimum": 1, "maximum": 5},
            "tags": {"type": "array", "items": {"type": "string"}},
            "mood": {"type": "string", "enum": ["happy", "sad"]},
        },
        "required": ["title", "rating", "tags", "mood"],
        "additionalProperties": False,
    }
    r = oai.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "Review the film Arrival"}],
        response_format={"type": "json_schema", "json_schema": {"name": "review", "schema": schema, "strict": True}},
    )
    assert r.choices[0].finish_reason == "stop"
    assert_valid(parse_json(r.choices[0].message.content), schema)


@pytest.mark.parametrize("model", ["gpt-4o-mini", "gemini-2.5-flash"])
def test_json_object_response_format(oai, model):
    # OpenAI (`json_object`) and Gemini (`responseMimeType: application/json`)
    # have a native JSON mode: the content must parse as a JSON object.
    r = oai.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "Describe a cat in JSON"}],
        response_format={"type": "json_object"},
    )
    assert r.choices[0].finish_reason == "stop"
    assert isinstance(parse_json(r.choices[0].message.content), dict)


def test_json_object_on_anthropic_upstream_is_an_instruction(oai):
    # Anthropic has no JSON-object mode: Morn appends an instruction to the system
    # prompt (crates/morn-protocol/src/anthropic/upstream.rs). All that is honestly
    # guaranteed is that the request succeeds and the instruction reached the
    # model (more input tokens); whether the text is JSON is up to the model, and
    # the simulator ignores instructions. Use `json_schema` for guaranteed JSON.
    messages = [{"role": "user", "content": "Describe a cat in JSON"}]
    r = oai.chat.completions.create(model="claude-sonnet-4-5", messages=messages, response_format={"type": "json_object"})
    plain = oai.chat.completions.create(model="claude-sonnet-4-5", messages=messages)
    assert r.choices[0].finish_reason == "stop"
    assert r.choices[0].message.content
    assert r.usage.prompt_tokens > plain.usage.prompt_tokens


@chat_models
def test_image_input_as_data_uri(oai, model):
    r = oai.chat.completions.create(
        model=model,
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is in this image?"},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{RED_PIXEL_PNG}"}},
                ],
            }
        ],
    )
    # The simulator notes each image it received after the echoed text.
    assert r.choices[0].message.content.startswith("You said: What is in this image? [1 image]."), r.choices[0].message.content
    assert r.usage.prompt_tokens > 85, "an image is billed as input"


@chat_models
def test_unknown_extra_fields_do_not_break_the_request(oai, model):
    r = oai.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": PROMPT}],
        extra_body={"logprobs": False, "x_vendor_hint": {"a": 1}},
        temperature=0.2,
        top_p=0.9,
        seed=7,
        user="sdk-suite",
    )
    assert r.choices[0].message.content.startswith(echo(PROMPT))
    assert r.choices[0].finish_reason == "stop"
