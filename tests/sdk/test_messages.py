"""The Messages API through the official `anthropic` SDK, over every upstream
adapter (an Anthropic client calling `gpt-4o-mini` goes through the OpenAI
adapter, and so on): what a user of `client.messages` sees."""

from __future__ import annotations

import pytest

from helpers import RED_PIXEL_PNG, chat_models, echo, mock

PROMPT = "Hello Morn, please tell me about gateways"
RAW_EVENTS = {"message_start", "content_block_start", "content_block_delta", "content_block_stop", "message_delta", "message_stop"}


def text_of(message) -> str:
    return "".join(b.text for b in message.content if b.type == "text")


@chat_models
def test_text_answer(ant, model):
    m = ant.messages.create(model=model, max_tokens=256, messages=[{"role": "user", "content": PROMPT}])
    assert m.type == "message"
    assert m.role == "assistant"
    assert m.id
    assert m.model == model, "the response names the model the caller asked for"
    assert [b.type for b in m.content] == ["text"]
    assert m.content[0].text.startswith(echo(PROMPT) + " "), m.content[0].text
    assert len(m.content[0].text.split()) == 20
    assert m.stop_reason == "end_turn"
    assert m.stop_sequence is None
    assert m.usage.input_tokens > 0
    assert m.usage.output_tokens == 20


@chat_models
def test_content_as_blocks(ant, model):
    m = ant.messages.create(
        model=model,
        max_tokens=256,
        messages=[{"role": "user", "content": [{"type": "text", "text": "First part."}, {"type": "text", "text": "Second part."}]}],
    )
    assert text_of(m).startswith("You said: First part. Second part.."), text_of(m)


@chat_models
@pytest.mark.parametrize("form", ["string", "blocks"])
def test_system_prompt_reaches_the_model(ant, model, form):
    # The directive lives only in the system prompt: a 4-word answer proves the
    # system prompt reached the upstream; the echo shows it was not taken as user text.
    system_text = f"You are terse. {mock(words=4)}"
    system = system_text if form == "string" else [{"type": "text", "text": "You are terse."}, {"type": "text", "text": mock(words=4)}]
    m = ant.messages.create(model=model, max_tokens=256, system=system, messages=[{"role": "user", "content": "Hello there"}])
    assert text_of(m).strip() == "You said: Hello there."
    assert m.stop_reason == "end_turn"


@chat_models
def test_multi_turn_echoes_the_last_user_message(ant, model):
    m = ant.messages.create(
        model=model,
        max_tokens=256,
        messages=[
            {"role": "user", "content": "My name is Ada"},
            {"role": "assistant", "content": "Nice to meet you, Ada."},
            {"role": "user", "content": "What is my name?"},
        ],
    )
    assert text_of(m).startswith("You said: What is my name?."), text_of(m)


@chat_models
def test_stream_events_and_final_message(ant, model):
    # `words` equal to the echo's length makes the answer exactly the echo, so the
    # streamed and the non-streamed message must agree word for word.
    text = "Alpha beta gamma delta"
    messages = [{"role": "user", "content": f"{text} {mock(words=6)}"}]
    whole = ant.messages.create(model=model, max_tokens=256, messages=messages)

    with ant.messages.stream(model=model, max_tokens=256, messages=messages) as s:
        events = [e for e in s if e.type in RAW_EVENTS]
        final = s.get_final_message()
    types = [e.type for e in events]
    assert types[0] == "message_start"
    assert types[1] == "content_block_start"
    assert types[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    deltas = [e for e in events if e.type == "content_block_delta"]
    assert len(deltas) > 1 and all(e.delta.type == "text_delta" for e in deltas)
    assert "".join(e.delta.text for e in deltas) == text_of(whole)
    assert events[0].message.model == model

    message_delta = events[-2]
    assert message_delta.delta.stop_reason == "end_turn"
    assert message_delta.usage.output_tokens == whole.usage.output_tokens

    assert text_of(final).strip() == echo(text)
    assert final.stop_reason == "end_turn"
    assert final.usage.input_tokens == whole.usage.input_tokens
    assert final.usage.output_tokens == whole.usage.output_tokens


@chat_models
def test_stream_text_stream_helper(ant, model):
    with ant.messages.stream(model=model, max_tokens=256, messages=[{"role": "user", "content": PROMPT}]) as s:
        pieces = list(s.text_stream)
        final = s.get_final_message()
    assert len(pieces) > 1
    assert "".join(pieces) == text_of(final)
    assert text_of(final).startswith(echo(PROMPT) + " ")
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens == 20


@chat_models
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_max_tokens_stop_reason(ant, model, stream):
    kwargs = dict(model=model, max_tokens=5, messages=[{"role": "user", "content": PROMPT}])
    if stream:
        with ant.messages.stream(**kwargs) as s:
            m = s.get_final_message()
    else:
        m = ant.messages.create(**kwargs)
    assert m.stop_reason == "max_tokens"
    assert text_of(m).split() == echo(PROMPT).split()[:5]
    assert m.usage.output_tokens == 5


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_stop_sequence_reports_the_match(ant, stream):
    # Over the Anthropic upstream the matched sequence is known and must be reported.
    kwargs = dict(
        model="claude-sonnet-4-5",
        max_tokens=256,
        stop_sequences=["zebra", "banana"],
        messages=[{"role": "user", "content": "alpha banana gamma"}],
    )
    if stream:
        with ant.messages.stream(**kwargs) as s:
            m = s.get_final_message()
    else:
        m = ant.messages.create(**kwargs)
    assert text_of(m).strip() == "You said: alpha"
    assert m.stop_reason == "stop_sequence"
    assert m.stop_sequence == "banana"


@pytest.mark.parametrize("model", ["gpt-4o-mini", "gemini-2.5-flash"])
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_stop_sequence_over_other_upstreams(ant, model, stream):
    # OpenAI's `finish_reason: stop` and Gemini's `STOP` do not say whether (or
    # which) stop sequence ended the answer. Honestly guaranteed: the text stops
    # before the sequence, and the stop reason is either `end_turn` or
    # `stop_sequence` naming a sequence that was asked for.
    kwargs = dict(
        model=model,
        max_tokens=256,
        stop_sequences=["zebra", "banana"],
        messages=[{"role": "user", "content": "alpha banana gamma"}],
    )
    if stream:
        with ant.messages.stream(**kwargs) as s:
            m = s.get_final_message()
    else:
        m = ant.messages.create(**kwargs)
    assert text_of(m).strip() == "You said: alpha"
    if m.stop_reason == "stop_sequence":
        assert m.stop_sequence == "banana"
    else:
        assert m.stop_reason == "end_turn"
        assert m.stop_sequence is None


@chat_models
def test_image_input(ant, model):
    m = ant.messages.create(
        model=model,
        max_tokens=256,
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": RED_PIXEL_PNG}},
                    {"type": "text", "text": "What is in this image?"},
                ],
            }
        ],
    )
    assert text_of(m).startswith("You said: What is in this image? [1 image]."), text_of(m)
    assert m.usage.input_tokens > 85


@chat_models
def test_cached_tokens_in_usage(ant, model):
    # Cached input tokens survive translation into Anthropic's usage fields.
    m = ant.messages.create(
        model=model, max_tokens=256, messages=[{"role": "user", "content": f"Hi {mock(cached_tokens=10)}"}]
    )
    assert m.usage.cache_read_input_tokens == 10
    assert m.usage.input_tokens > 0
