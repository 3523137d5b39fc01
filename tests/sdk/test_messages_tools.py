"""Tool use through the official `anthropic` SDK, over every upstream adapter:
forced tool_use, streamed `input_json_delta`, parallel tool_use blocks and the
tool_result round trip."""

from __future__ import annotations

import pytest

from helpers import TIME_SCHEMA, WEATHER_SCHEMA, anthropic_tools, assert_valid, chat_models, mock, parse_json

ASK = [{"role": "user", "content": "What's the weather in Paris this week?"}]
FORCE_WEATHER = {"type": "tool", "name": "get_weather"}


def tool_uses(message):
    return [b for b in message.content if b.type == "tool_use"]


@chat_models
def test_forced_tool_use(ant, model):
    m = ant.messages.create(model=model, max_tokens=512, messages=ASK, tools=anthropic_tools(), tool_choice=FORCE_WEATHER)
    assert m.stop_reason == "tool_use"
    uses = tool_uses(m)
    assert len(uses) == 1
    use = uses[0]
    assert use.id, "a tool_use id is needed to send the result back"
    assert use.name == "get_weather"
    assert isinstance(use.input, dict)
    assert_valid(use.input, WEATHER_SCHEMA)
    assert use.input["unit"] == "celsius", "the simulator picks the first enum value: the schema arrived intact"
    assert m.usage.output_tokens > 0


@chat_models
def test_tool_choice_any(ant, model):
    m = ant.messages.create(model=model, max_tokens=512, messages=ASK, tools=anthropic_tools(), tool_choice={"type": "any"})
    assert m.stop_reason == "tool_use"
    use = tool_uses(m)[0]
    assert use.name in {"get_weather", "get_time"}
    assert_valid(use.input, WEATHER_SCHEMA if use.name == "get_weather" else TIME_SCHEMA)


@chat_models
def test_forced_tool_use_streamed(ant, model):
    with ant.messages.stream(
        model=model, max_tokens=512, messages=ASK, tools=anthropic_tools(), tool_choice=FORCE_WEATHER
    ) as s:
        events = list(s)
        final = s.get_final_message()
    starts = [e for e in events if e.type == "content_block_start" and e.content_block.type == "tool_use"]
    assert len(starts) == 1
    assert starts[0].content_block.name == "get_weather"
    assert starts[0].content_block.id
    index = starts[0].index
    partial = [
        e.delta.partial_json
        for e in events
        if e.type == "content_block_delta" and e.index == index and e.delta.type == "input_json_delta"
    ]
    assert partial, "tool input arrives as input_json_delta events"
    streamed_input = parse_json("".join(partial))
    assert_valid(streamed_input, WEATHER_SCHEMA)

    assert final.stop_reason == "tool_use"
    use = tool_uses(final)[0]
    assert use.input == streamed_input
    assert use.id == starts[0].content_block.id


@chat_models
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_parallel_tool_use(ant, model, stream):
    kwargs = dict(
        model=model,
        max_tokens=512,
        messages=[{"role": "user", "content": f"Weather and time in Paris? {mock(tool_calls=2)}"}],
        tools=anthropic_tools(),
    )
    if stream:
        with ant.messages.stream(**kwargs) as s:
            m = s.get_final_message()
    else:
        m = ant.messages.create(**kwargs)
    assert m.stop_reason == "tool_use"
    uses = tool_uses(m)
    assert [u.name for u in uses] == ["get_weather", "get_time"]
    assert len({u.id for u in uses}) == 2, "each tool_use has its own id"
    assert_valid(uses[0].input, WEATHER_SCHEMA)
    assert_valid(uses[1].input, TIME_SCHEMA)


@chat_models
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_tool_result_round_trip(ant, model, stream):
    # Turn 1: the model asks for the tool.
    first = ant.messages.create(model=model, max_tokens=512, messages=ASK, tools=anthropic_tools(), tool_choice=FORCE_WEATHER)
    use = tool_uses(first)[0]
    # Turn 2: the application runs it and answers with a tool_result, as the SDK docs show.
    messages = [
        *ASK,
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "Sunny, 21 degrees"}]},
    ]
    kwargs = dict(model=model, max_tokens=512, messages=messages, tools=anthropic_tools())
    if stream:
        with ant.messages.stream(**kwargs) as s:
            m = s.get_final_message()
    else:
        m = ant.messages.create(**kwargs)
    text = "".join(b.text for b in m.content if b.type == "text")
    assert text.startswith("Tool result: Sunny, 21 degrees."), text
    assert m.stop_reason == "end_turn"


@chat_models
def test_tool_result_with_block_content(ant, model):
    first = ant.messages.create(model=model, max_tokens=512, messages=ASK, tools=anthropic_tools(), tool_choice=FORCE_WEATHER)
    use = tool_uses(first)[0]
    messages = [
        *ASK,
        {"role": "assistant", "content": [{"type": "tool_use", "id": use.id, "name": use.name, "input": use.input}]},
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": use.id, "content": [{"type": "text", "text": "Rain expected"}]},
            ],
        },
    ]
    m = ant.messages.create(model=model, max_tokens=512, messages=messages, tools=anthropic_tools())
    text = "".join(b.text for b in m.content if b.type == "text")
    assert text.startswith("Tool result: Rain expected."), text
