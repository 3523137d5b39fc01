"""Tool calling through the official `openai` SDK, over every upstream adapter:
forced calls, streamed argument deltas, parallel calls and the tool-result
round trip."""

from __future__ import annotations

import pytest

from helpers import (
    TIME_SCHEMA,
    WEATHER_SCHEMA,
    assert_valid,
    chat_models,
    collect_openai_stream,
    mock,
    openai_tools,
    parse_json,
)

ASK = [{"role": "user", "content": "What's the weather in Paris this week?"}]
FORCE_WEATHER = {"type": "function", "function": {"name": "get_weather"}}


@chat_models
def test_forced_tool_call(oai, model):
    r = oai.chat.completions.create(model=model, messages=ASK, tools=openai_tools(), tool_choice=FORCE_WEATHER)
    choice = r.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls
    assert calls and len(calls) == 1
    call = calls[0]
    assert call.type == "function"
    assert call.id, "a tool call id is needed to send the result back"
    assert call.function.name == "get_weather"
    args = parse_json(call.function.arguments)
    assert_valid(args, WEATHER_SCHEMA)
    # The simulator picks the first enum value: the schema reached the upstream intact.
    assert args["unit"] == "celsius"
    assert r.usage.completion_tokens > 0


@chat_models
def test_tool_choice_required(oai, model):
    r = oai.chat.completions.create(model=model, messages=ASK, tools=openai_tools(), tool_choice="required")
    assert r.choices[0].finish_reason == "tool_calls"
    call = r.choices[0].message.tool_calls[0]
    assert call.function.name in {"get_weather", "get_time"}
    assert_valid(parse_json(call.function.arguments), WEATHER_SCHEMA if call.function.name == "get_weather" else TIME_SCHEMA)


@chat_models
def test_tool_choice_none_answers_in_text(oai, model):
    r = oai.chat.completions.create(model=model, messages=ASK, tools=openai_tools(), tool_choice="none")
    assert r.choices[0].finish_reason == "stop"
    assert not r.choices[0].message.tool_calls
    assert r.choices[0].message.content.startswith("You said: What's the weather in Paris this week?")


@chat_models
def test_forced_tool_call_streamed(oai, model):
    stream = oai.chat.completions.create(
        model=model,
        messages=ASK,
        tools=openai_tools(),
        tool_choice=FORCE_WEATHER,
        stream=True,
        stream_options={"include_usage": True},
    )
    got = collect_openai_stream(stream)
    assert got["finish"] == "tool_calls"
    assert list(got["tool_calls"]) == [0]
    call = got["tool_calls"][0]
    assert call["id"]
    assert call["name"] == "get_weather"
    assert call["deltas"] >= 1
    args = parse_json(call["arguments"])
    assert_valid(args, WEATHER_SCHEMA)
    assert got["usage"] is not None and got["usage"].completion_tokens > 0


@chat_models
def test_parallel_tool_calls(oai, model):
    messages = [{"role": "user", "content": f"Weather and time in Paris? {mock(tool_calls=2)}"}]
    r = oai.chat.completions.create(model=model, messages=messages, tools=openai_tools())
    choice = r.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls
    assert [c.function.name for c in calls] == ["get_weather", "get_time"]
    assert len({c.id for c in calls}) == 2, "each parallel call has its own id"
    assert_valid(parse_json(calls[0].function.arguments), WEATHER_SCHEMA)
    assert_valid(parse_json(calls[1].function.arguments), TIME_SCHEMA)


@chat_models
def test_parallel_tool_calls_streamed_by_index(oai, model):
    messages = [{"role": "user", "content": f"Weather and time in Paris? {mock(tool_calls=2)}"}]
    got = collect_openai_stream(oai.chat.completions.create(model=model, messages=messages, tools=openai_tools(), stream=True))
    assert got["finish"] == "tool_calls"
    assert sorted(got["tool_calls"]) == [0, 1]
    first, second = got["tool_calls"][0], got["tool_calls"][1]
    assert (first["name"], second["name"]) == ("get_weather", "get_time")
    assert first["id"] and second["id"] and first["id"] != second["id"]
    assert_valid(parse_json(first["arguments"]), WEATHER_SCHEMA)
    assert_valid(parse_json(second["arguments"]), TIME_SCHEMA)


@chat_models
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_tool_result_round_trip(oai, model, stream):
    # Turn 1: the model calls the tool.
    first = oai.chat.completions.create(model=model, messages=ASK, tools=openai_tools(), tool_choice=FORCE_WEATHER)
    call = first.choices[0].message.tool_calls[0]
    # Turn 2: the application runs it and sends the result back, as the SDK docs show.
    messages = [
        *ASK,
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": call.id, "type": "function", "function": {"name": call.function.name, "arguments": call.function.arguments}}
            ],
        },
        {"role": "tool", "tool_call_id": call.id, "content": "Sunny, 21 degrees"},
    ]
    if stream:
        got = collect_openai_stream(oai.chat.completions.create(model=model, messages=messages, tools=openai_tools(), stream=True))
        text, finish = got["text"], got["finish"]
    else:
        r = oai.chat.completions.create(model=model, messages=messages, tools=openai_tools())
        text, finish = r.choices[0].message.content, r.choices[0].finish_reason
    assert text.startswith("Tool result: Sunny, 21 degrees."), text
    assert finish == "stop"


@chat_models
def test_two_tool_results_in_one_turn(oai, model):
    messages = [{"role": "user", "content": f"Weather and time in Paris? {mock(tool_calls=2)}"}]
    first = oai.chat.completions.create(model=model, messages=messages, tools=openai_tools())
    calls = first.choices[0].message.tool_calls
    assert len(calls) == 2
    messages += [
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": calls[0].id, "content": "Sunny"},
        {"role": "tool", "tool_call_id": calls[1].id, "content": "Noon"},
    ]
    r = oai.chat.completions.create(model=model, messages=messages, tools=openai_tools())
    assert r.choices[0].finish_reason == "stop"
    assert r.choices[0].message.content.startswith("Tool result: Sunny Noon."), r.choices[0].message.content
