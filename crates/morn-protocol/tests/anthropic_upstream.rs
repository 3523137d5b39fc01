//! Upstream encoding: canonical requests → Anthropic Messages bodies, snapshotted, plus
//! the mappings and refusals that matter to callers (thinking budgets, tool choice,
//! structured output, extras, `n`, broken tool arguments).

#![expect(clippy::unwrap_used, reason = "tests")]

use morn_protocol::anthropic::{encode_messages_request, parse_messages_request};
use morn_protocol::{
    ChatRequest, Message, Part, Protocol, ResponseFormat, Role, Tool, ToolCall, ToolChoice,
};
use serde_json::{Map, Value, json};

fn encode(req: &ChatRequest) -> Value {
    serde_json::from_slice(&encode_messages_request(req, "claude-sonnet-4-5-20250929").unwrap())
        .unwrap()
}

fn user(text: &str) -> Message {
    Message::text(Role::User, text)
}

fn basic() -> ChatRequest {
    ChatRequest {
        model: "morn-sonnet".into(),
        messages: vec![user("Hi")],
        ..ChatRequest::default()
    }
}

fn weather_tool(parameters: Value) -> Tool {
    Tool {
        name: "get_weather".into(),
        description: Some("Get the weather".into()),
        parameters,
        strict: None,
    }
}

#[test]
fn full_conversation_from_an_openai_client() {
    let req = ChatRequest {
        model: "morn-sonnet".into(),
        messages: vec![
            Message::text(Role::System, "You are helpful."),
            user("Weather in Paris and Tokyo?"),
            Message {
                role: Role::User,
                content: vec![
                    Part::Image {
                        url: "data:image/png;base64,iVBORw0KGgo=".into(),
                        detail: Some("high".into()),
                    },
                    Part::Image {
                        url: "https://example.com/sky.jpg".into(),
                        detail: None,
                    },
                ],
                name: None,
            },
            Message::text(Role::Developer, "Use celsius."),
            Message {
                role: Role::Assistant,
                content: vec![
                    Part::Thinking {
                        text: "Signed reasoning.".into(),
                        signature: Some("EqQBsig".into()),
                    },
                    Part::Thinking {
                        text: "Unsigned reasoning from another provider.".into(),
                        signature: None,
                    },
                    Part::Text {
                        text: String::new(),
                    },
                    Part::Text {
                        text: "Checking both.".into(),
                    },
                    Part::ToolCall(ToolCall {
                        id: "call_1".into(),
                        name: "get_weather".into(),
                        arguments: r#"{"location": "Paris"}"#.into(),
                    }),
                    Part::ToolCall(ToolCall {
                        id: "call_2".into(),
                        name: "get_time".into(),
                        arguments: String::new(),
                    }),
                ],
                name: None,
            },
            Message {
                role: Role::Tool,
                content: vec![Part::ToolResult {
                    tool_call_id: "call_1".into(),
                    name: Some("get_weather".into()),
                    content: vec![Part::Text {
                        text: "18°C".into(),
                    }],
                    is_error: false,
                }],
                name: None,
            },
            Message {
                role: Role::Tool,
                content: vec![Part::ToolResult {
                    tool_call_id: "call_2".into(),
                    name: None,
                    content: vec![
                        Part::Text {
                            text: "timeout; radar:".into(),
                        },
                        Part::Image {
                            url: "data:image/gif;base64,R0lGOD".into(),
                            detail: None,
                        },
                    ],
                    is_error: true,
                }],
                name: None,
            },
            user("And tomorrow?"),
            // Only unsigned thinking: nothing Anthropic can take, so the turn disappears.
            Message {
                role: Role::Assistant,
                content: vec![Part::Thinking {
                    text: "hm".into(),
                    signature: None,
                }],
                name: None,
            },
            user("Also in Rome."),
        ],
        tools: vec![
            weather_tool(
                json!({"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}),
            ),
            Tool {
                name: "get_time".into(),
                description: None,
                parameters: Value::Null,
                strict: Some(true),
            },
        ],
        tool_choice: Some(ToolChoice::Required),
        parallel_tool_calls: Some(false),
        temperature: Some(0.2),
        top_p: Some(0.95),
        top_k: Some(50),
        stop: vec!["END".into()],
        seed: Some(7),
        user: Some("user-123".into()),
        stream: true,
        include_usage: true,
        ..ChatRequest::default()
    };
    insta::assert_json_snapshot!(encode(&req));
}

#[test]
fn anthropic_client_round_trip_keeps_its_extras() {
    let path = format!(
        "{}/tests/fixtures/anthropic/request_full.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let req = parse_messages_request(&std::fs::read(path).unwrap()).unwrap();
    insta::assert_json_snapshot!(encode(&req));
}

#[test]
fn json_object_adds_a_system_instruction() {
    let mut req = basic();
    req.response_format = Some(ResponseFormat::JsonObject);
    let body = encode(&req);
    assert_eq!(
        body["system"],
        "Respond with a single JSON object and nothing else."
    );
    assert!(body.get("output_config").is_none());

    req.messages
        .insert(0, Message::text(Role::System, "Extract the names."));
    let body = encode(&req);
    assert_eq!(
        body["system"],
        "Extract the names.\n\nRespond with a single JSON object and nothing else."
    );
}

#[test]
fn json_schema_uses_native_structured_outputs() {
    let mut req = basic();
    let schema = json!({"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"],
                        "additionalProperties": false});
    req.response_format = Some(ResponseFormat::JsonSchema {
        name: "person".into(),
        schema,
        strict: Some(true),
    });
    insta::assert_json_snapshot!(encode(&req));
}

#[test]
fn defaults_and_dropped_fields() {
    let mut req = basic();
    req.seed = Some(42);
    req.n = Some(1);
    req.response_format = Some(ResponseFormat::Text);
    let body = encode(&req);
    assert_eq!(
        body,
        json!({
            "model": "claude-sonnet-4-5-20250929",
            "max_tokens": 4096,
            "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}]
        })
    );
}

#[test]
fn thinking_budget_and_reasoning_effort() {
    let thinking = |budget: Option<u32>, effort: Option<&str>, max: Option<u32>| {
        let mut req = basic();
        req.thinking_budget = budget;
        req.reasoning_effort = effort.map(str::to_owned);
        req.max_tokens = max;
        let body = encode(&req);
        (body.get("thinking").cloned(), body["max_tokens"].clone())
    };
    let enabled = |n: u32| Some(json!({"type": "enabled", "budget_tokens": n}));
    assert_eq!(
        thinking(Some(2000), None, Some(8000)),
        (enabled(2000), json!(8000))
    );
    // An explicit budget wins over the effort.
    assert_eq!(
        thinking(Some(2000), Some("high"), Some(8000)),
        (enabled(2000), json!(8000))
    );
    assert_eq!(
        thinking(None, Some("minimal"), Some(8000)),
        (enabled(1024), json!(8000))
    );
    assert_eq!(
        thinking(None, Some("low"), Some(8000)),
        (enabled(1024), json!(8000))
    );
    assert_eq!(
        thinking(None, Some("medium"), Some(8000)),
        (enabled(4096), json!(8000))
    );
    assert_eq!(
        thinking(None, Some("high"), Some(32000)),
        (enabled(16384), json!(32000))
    );
    // Without max_tokens, room for the answer is left on top of the budget.
    assert_eq!(
        thinking(None, Some("high"), None),
        (enabled(16384), json!(20480))
    );
    // A derived budget stays below max_tokens, or thinking stays off.
    assert_eq!(
        thinking(None, Some("high"), Some(2000)),
        (enabled(1999), json!(2000))
    );
    assert_eq!(
        thinking(None, Some("medium"), Some(1024)),
        (None, json!(1024))
    );
    assert_eq!(thinking(None, Some("none"), None), (None, json!(4096)));

    let mut req = basic();
    req.reasoning_effort = Some("extreme".into());
    let err = encode_messages_request(&req, "m").unwrap_err();
    assert_eq!(
        (err.status(), err.param.as_deref()),
        (400, Some("reasoning_effort"))
    );
}

#[test]
fn tool_choice_mapping() {
    let choice = |tc: Option<ToolChoice>, parallel: Option<bool>| {
        let mut req = basic();
        req.tools = vec![weather_tool(json!({"type": "object"}))];
        req.tool_choice = tc;
        req.parallel_tool_calls = parallel;
        encode(&req).get("tool_choice").cloned()
    };
    assert_eq!(choice(None, None), None);
    assert_eq!(choice(None, Some(true)), None);
    assert_eq!(
        choice(Some(ToolChoice::Auto), None),
        Some(json!({"type": "auto"}))
    );
    assert_eq!(
        choice(Some(ToolChoice::Required), Some(true)),
        Some(json!({"type": "any"}))
    );
    assert_eq!(
        choice(Some(ToolChoice::None), Some(false)),
        Some(json!({"type": "none"}))
    );
    assert_eq!(
        choice(
            Some(ToolChoice::Tool {
                name: "get_weather".into()
            }),
            Some(false)
        ),
        Some(json!({"type": "tool", "name": "get_weather", "disable_parallel_tool_use": true}))
    );
    assert_eq!(
        choice(None, Some(false)),
        Some(json!({"type": "auto", "disable_parallel_tool_use": true}))
    );
}

#[test]
fn extras_are_merged_only_for_anthropic_clients_and_never_override() {
    let mut req = basic();
    req.temperature = Some(0.5);
    req.response_format = Some(ResponseFormat::JsonSchema {
        name: "r".into(),
        schema: json!({"type": "object"}),
        strict: None,
    });
    let mut extra = Map::new();
    extra.insert("service_tier".into(), json!("standard_only"));
    extra.insert("temperature".into(), json!(1.0));
    extra.insert("model".into(), json!("someone-elses-model"));
    extra.insert("output_config".into(), json!({"effort": "low"}));
    extra.insert("thinking".into(), json!({"type": "adaptive"}));
    req.extra = extra;

    req.extra_protocol = Some(Protocol::OpenAi);
    let body = encode(&req);
    assert!(body.get("service_tier").is_none());
    assert!(body.get("thinking").is_none());
    assert_eq!(
        body["output_config"],
        json!({"format": {"type": "json_schema", "schema": {"type": "object"}}})
    );

    req.extra_protocol = Some(Protocol::Anthropic);
    let body = encode(&req);
    assert_eq!(body["service_tier"], "standard_only");
    assert_eq!(body["temperature"], 0.5);
    assert_eq!(body["model"], "claude-sonnet-4-5-20250929");
    assert_eq!(body["thinking"], json!({"type": "adaptive"}));
    assert_eq!(
        body["output_config"],
        json!({"effort": "low", "format": {"type": "json_schema", "schema": {"type": "object"}}})
    );
    // No key is written twice.
    let text = String::from_utf8(encode_messages_request(&req, "m").unwrap()).unwrap();
    assert_eq!(text.matches("\"temperature\"").count(), 1);
    assert_eq!(text.matches("\"model\"").count(), 1);
}

#[test]
fn refuses_what_anthropic_cannot_do() {
    let mut req = basic();
    req.n = Some(2);
    let err = encode_messages_request(&req, "m").unwrap_err();
    assert_eq!(err.status(), 400);
    assert_eq!(err.param.as_deref(), Some("n"));
    assert_eq!(
        err.message,
        "n > 1 is not supported by this model's provider"
    );

    let mut req = basic();
    req.messages.push(Message {
        role: Role::Assistant,
        content: vec![Part::ToolCall(ToolCall {
            id: "call_9".into(),
            name: "f".into(),
            arguments: "{\"a\":".into(),
        })],
        name: None,
    });
    let err = encode_messages_request(&req, "m").unwrap_err();
    assert_eq!(err.status(), 400);
    assert_eq!(err.code, "invalid_tool_arguments");
    assert_eq!(err.param.as_deref(), Some("messages.1"));
    assert!(err.message.contains("call_9"), "{}", err.message);

    let mut req = basic();
    req.messages[0].content.push(Part::Image {
        url: "ftp://example.com/a.png".into(),
        detail: None,
    });
    let err = encode_messages_request(&req, "m").unwrap_err();
    assert_eq!(
        (err.code.as_str(), err.param.as_deref()),
        ("invalid_value", Some("messages.0"))
    );
}

#[test]
fn tool_results_come_first_in_a_merged_user_turn() {
    let mut req = basic();
    req.messages = vec![
        user("Please call it."),
        Message {
            role: Role::Assistant,
            content: vec![Part::ToolCall(ToolCall {
                id: "t1".into(),
                name: "f".into(),
                arguments: "{}".into(),
            })],
            name: None,
        },
        user("Here is the result:"),
        Message {
            role: Role::Tool,
            content: vec![Part::ToolResult {
                tool_call_id: "t1".into(),
                name: None,
                content: vec![],
                is_error: false,
            }],
            name: None,
        },
    ];
    let body = encode(&req);
    assert_eq!(
        body["messages"][2],
        json!({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "t1"},
            {"type": "text", "text": "Here is the result:"}
        ]})
    );
}
