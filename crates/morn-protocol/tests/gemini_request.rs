//! Canonical requests → Gemini `generateContent` bodies: snapshots of the wire shape
//! plus assertions on what the upstream would reject or misread.
#![expect(clippy::unwrap_used, reason = "tests")]

use morn_protocol::gemini::{decode_generate_response, encode_generate_request};
use morn_protocol::{
    ChatRequest, ErrorKind, Message, Part, ResponseFormat, Role, Tool, ToolCall, ToolChoice,
};
use serde_json::{Value, json};

fn encode(req: &ChatRequest) -> Value {
    serde_json::from_slice(&encode_generate_request(req).unwrap()).unwrap()
}

fn request(messages: Vec<Message>) -> ChatRequest {
    ChatRequest {
        model: "gemini-flash".into(),
        messages,
        ..ChatRequest::default()
    }
}

fn weather_tool() -> Tool {
    Tool {
        name: "get_weather".into(),
        description: Some("Current weather for a city".into()),
        parameters: json!({
            "type": "object",
            "properties": {
                "location": {"type": "string", "description": "City name"},
                "unit": {"type": ["string", "null"], "enum": ["celsius", "fahrenheit", null]}
            },
            "required": ["location", "unit"],
            "additionalProperties": false
        }),
        strict: Some(true),
    }
}

#[test]
fn plain_text_with_sampling_parameters() {
    let mut req = request(vec![Message::text(
        Role::User,
        "What is the capital of France?",
    )]);
    req.temperature = Some(0.2);
    req.top_p = Some(0.9);
    req.top_k = Some(40);
    req.max_tokens = Some(256);
    req.stop = vec!["\n\n".into(), "END".into()];
    req.n = Some(2);
    req.seed = Some(42);
    req.user = Some("user-123".into());
    req.extra
        .insert("logit_bias".into(), json!({"50256": -100}));
    let body = encode(&req);
    assert_eq!(body["contents"][0]["role"], "user");
    assert!(body.get("systemInstruction").is_none());
    let text = serde_json::to_string(&body).unwrap();
    assert!(
        !text.contains("user-123") && !text.contains("logit_bias"),
        "{text}"
    );
    insta::assert_json_snapshot!(body);
}

#[test]
fn system_and_developer_messages_become_the_system_instruction() {
    let req = request(vec![
        Message::text(Role::System, "You are a terse assistant."),
        Message::text(Role::Developer, "Answer in French."),
        Message::text(Role::User, "Hello"),
        Message::text(Role::Assistant, "Bonjour."),
        Message::text(Role::User, "How are you?"),
        Message::text(Role::User, "And the weather?"),
    ]);
    let body = encode(&req);
    assert_eq!(
        body["systemInstruction"],
        json!({"parts": [{"text": "You are a terse assistant."}, {"text": "Answer in French."}]})
    );
    let roles: Vec<&str> = body["contents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["role"].as_str().unwrap())
        .collect();
    assert_eq!(
        roles,
        ["user", "model", "user"],
        "consecutive user turns merge"
    );
    assert_eq!(body["contents"][2]["parts"].as_array().unwrap().len(), 2);
    insta::assert_json_snapshot!(body);
}

#[test]
fn images_become_inline_data_or_file_data() {
    let req = request(vec![Message {
        role: Role::User,
        content: vec![
            Part::Text {
                text: "Compare these.".into(),
            },
            Part::Image {
                url: "data:image/png;base64,iVBORw0KGgo=".into(),
                detail: None,
            },
            Part::Image {
                url: "https://example.com/photos/cat.WEBP?size=large#top".into(),
                detail: Some("high".into()),
            },
            Part::Image {
                url: "https://example.com/render?id=7".into(),
                detail: None,
            },
        ],
        name: None,
    }]);
    let body = encode(&req);
    let parts = &body["contents"][0]["parts"];
    assert_eq!(
        parts[1],
        json!({"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}})
    );
    assert_eq!(parts[2]["fileData"]["mimeType"], "image/webp");
    assert_eq!(parts[3]["fileData"]["mimeType"], "image/jpeg");
    insta::assert_json_snapshot!(body);

    let bad = request(vec![Message {
        role: Role::User,
        content: vec![Part::Image {
            url: "gs://bucket/cat.png".into(),
            detail: None,
        }],
        name: None,
    }]);
    let err = encode_generate_request(&bad).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidRequest);
    assert_eq!(err.param.as_deref(), Some("messages"));
}

#[test]
fn tools_with_a_forced_tool_choice() {
    let mut req = request(vec![Message::text(Role::User, "Weather in Paris?")]);
    req.tools = vec![
        weather_tool(),
        Tool {
            name: "get_time".into(),
            description: None,
            parameters: json!({"type": "object", "properties": {}}),
            strict: None,
        },
    ];
    req.tool_choice = Some(ToolChoice::Tool {
        name: "get_weather".into(),
    });
    req.parallel_tool_calls = Some(false);
    let body = encode(&req);
    let declarations = &body["tools"][0]["functionDeclarations"];
    // Full JSON Schema passes through untouched (nullable type arrays, additionalProperties).
    assert_eq!(
        declarations[0]["parametersJsonSchema"],
        weather_tool().parameters
    );
    assert!(declarations[0].get("parameters").is_none());
    // A function without parameters leaves the schema unset.
    assert_eq!(declarations[1], json!({"name": "get_time"}));
    assert_eq!(
        body["toolConfig"],
        json!({"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}})
    );
    insta::assert_json_snapshot!(body);
}

#[test]
fn tool_choice_modes() {
    for (choice, mode) in [
        (ToolChoice::Auto, "AUTO"),
        (ToolChoice::None, "NONE"),
        (ToolChoice::Required, "ANY"),
    ] {
        let mut req = request(vec![Message::text(Role::User, "hi")]);
        req.tools = vec![weather_tool()];
        req.tool_choice = Some(choice);
        let body = encode(&req);
        assert_eq!(
            body["toolConfig"],
            json!({"functionCallingConfig": {"mode": mode}})
        );
    }
    // No tools: no tool config, whatever the choice.
    let mut req = request(vec![Message::text(Role::User, "hi")]);
    req.tool_choice = Some(ToolChoice::Required);
    let body = encode(&req);
    assert!(body.get("toolConfig").is_none() && body.get("tools").is_none());
}

fn tool_result(id: &str, name: Option<&str>, text: &str, is_error: bool) -> Message {
    Message {
        role: Role::Tool,
        content: vec![Part::ToolResult {
            tool_call_id: id.into(),
            name: name.map(Into::into),
            content: vec![Part::Text { text: text.into() }],
            is_error,
        }],
        name: None,
    }
}

#[test]
fn tool_results_round_trip_with_names_and_signatures() {
    let answer = decode_generate_response(include_bytes!(
        "fixtures/gemini/generate_parallel_calls.json"
    ))
    .unwrap();
    let assistant = answer.choices[0].message.clone();
    let ids: Vec<String> = assistant
        .content
        .iter()
        .filter_map(|p| match p {
            Part::ToolCall(c) => Some(c.id.clone()),
            _ => None,
        })
        .collect();
    let mut req = request(vec![
        Message::text(Role::User, "Weather in Paris and Tokyo?"),
        assistant,
        tool_result(&ids[0], None, r#"{"temp": 18, "sky": "cloudy"}"#, false),
        tool_result(&ids[1], None, "31 degrees and sunny", false),
    ]);
    req.tools = vec![weather_tool()];
    let body = encode(&req);
    let contents = body["contents"].as_array().unwrap();
    assert_eq!(contents.len(), 3, "both results share one user turn");
    let model = &contents[1];
    assert_eq!(model["role"], "model");
    assert_eq!(
        model["parts"][0]["functionCall"]["args"],
        json!({"location": "Paris", "unit": "celsius"})
    );
    // The signature Gemini sent comes back exactly, on the call that carried it.
    assert_eq!(
        model["parts"][0]["thoughtSignature"],
        "CqUCAdHtim9+1Ej4mDGz3xJ/bL0kXy2pQ0oR5m8aJt7h/2vPp1Q9lB6sN3k4w+YfZc0="
    );
    assert!(model["parts"][1].get("thoughtSignature").is_none());
    let results = &contents[2];
    assert_eq!(results["role"], "user");
    assert_eq!(
        results["parts"][0],
        json!({"functionResponse": {"name": "get_weather", "response": {"temp": 18, "sky": "cloudy"}}})
    );
    assert_eq!(
        results["parts"][1],
        json!({"functionResponse": {"name": "get_weather", "response": {"result": "31 degrees and sunny"}}})
    );
    insta::assert_json_snapshot!(body);
}

#[test]
fn foreign_tool_history_gets_the_validator_skip_signature() {
    let call = |id: &str, args: &str| {
        Part::ToolCall(ToolCall {
            id: id.into(),
            name: "get_weather".into(),
            arguments: args.into(),
        })
    };
    let req = request(vec![
        Message::text(Role::User, "Weather in Oslo and Rome?"),
        Message {
            role: Role::Assistant,
            content: vec![
                Part::Thinking {
                    text: "Two lookups.".into(),
                    signature: Some("sig".into()),
                },
                Part::Text {
                    text: "Checking.".into(),
                },
                call("call_abc", r#"{"location":"Oslo"}"#),
                call("call_def", ""),
            ],
            name: None,
        },
        tool_result("call_abc", Some("get_weather"), "[1, 2]", false),
        tool_result("call_def", None, "upstream timeout", true),
    ]);
    let body = encode(&req);
    let model = &body["contents"][1]["parts"];
    assert_eq!(
        model.as_array().unwrap().len(),
        3,
        "thinking is not replayed"
    );
    assert_eq!(model[0], json!({"text": "Checking."}));
    assert_eq!(
        model[1]["thoughtSignature"],
        "skip_thought_signature_validator"
    );
    assert!(model[2].get("thoughtSignature").is_none());
    assert_eq!(model[2]["functionCall"]["args"], json!({}));
    let results = &body["contents"][2]["parts"];
    assert_eq!(
        results[0]["functionResponse"]["response"],
        json!({"result": "[1, 2]"})
    );
    assert_eq!(
        results[1]["functionResponse"],
        json!({"name": "get_weather", "response": {"error": "upstream timeout"}})
    );
    insta::assert_json_snapshot!(body);
}

#[test]
fn bad_tool_history_is_a_400() {
    let orphan = request(vec![
        Message::text(Role::User, "hi"),
        tool_result("call_missing", None, "42", false),
    ]);
    let err = encode_generate_request(&orphan).unwrap_err();
    assert_eq!(
        (err.kind, err.param.as_deref()),
        (ErrorKind::InvalidRequest, Some("messages"))
    );
    assert!(err.message.contains("call_missing"), "{}", err.message);

    for args in [r#"{"location": "Par"#, "[1]", "\"text\""] {
        let req = request(vec![Message {
            role: Role::Assistant,
            content: vec![Part::ToolCall(ToolCall {
                id: "call_1".into(),
                name: "get_weather".into(),
                arguments: args.into(),
            })],
            name: None,
        }]);
        let err = encode_generate_request(&req).unwrap_err();
        assert_eq!(err.status(), 400, "{args}");
        assert!(err.message.contains("get_weather"), "{}", err.message);
    }
}

#[test]
fn json_mode_with_a_schema() {
    let schema = json!({
        "type": "object",
        "properties": {
            "recipes": {"type": "array", "items": {"$ref": "#/$defs/recipe"}}
        },
        "required": ["recipes"],
        "additionalProperties": false,
        "$defs": {
            "recipe": {
                "type": "object",
                "properties": {"name": {"type": "string"}, "minutes": {"type": "integer"}},
                "required": ["name", "minutes"]
            }
        }
    });
    let mut req = request(vec![Message::text(Role::User, "Two cookie recipes.")]);
    req.response_format = Some(ResponseFormat::JsonSchema {
        name: "recipes".into(),
        schema: schema.clone(),
        strict: Some(true),
    });
    let body = encode(&req);
    assert_eq!(
        body["generationConfig"]["responseMimeType"],
        "application/json"
    );
    assert_eq!(body["generationConfig"]["responseJsonSchema"], schema);
    assert!(body["generationConfig"].get("responseSchema").is_none());
    insta::assert_json_snapshot!(body);

    req.response_format = Some(ResponseFormat::JsonObject);
    assert_eq!(
        encode(&req)["generationConfig"],
        json!({"responseMimeType": "application/json"})
    );
    req.response_format = Some(ResponseFormat::Text);
    assert!(encode(&req).get("generationConfig").is_none());
}

#[test]
fn thinking_budget_and_reasoning_effort() {
    let mut req = request(vec![Message::text(Role::User, "Prove it.")]);
    req.thinking_budget = Some(2048);
    req.reasoning_effort = Some("high".into());
    req.max_tokens = Some(8192);
    let body = encode(&req);
    assert_eq!(
        body["generationConfig"]["thinkingConfig"],
        json!({"thinkingBudget": 2048, "includeThoughts": true}),
        "an explicit budget wins over the effort"
    );
    insta::assert_json_snapshot!(body);

    req.thinking_budget = None;
    for (effort, expected) in [
        (
            "low",
            json!({"thinkingBudget": 1024, "includeThoughts": true}),
        ),
        (
            "medium",
            json!({"thinkingBudget": 8192, "includeThoughts": true}),
        ),
        (
            "high",
            json!({"thinkingBudget": 24576, "includeThoughts": true}),
        ),
        ("minimal", json!({"thinkingBudget": 0})),
    ] {
        req.reasoning_effort = Some(effort.into());
        assert_eq!(
            encode(&req)["generationConfig"]["thinkingConfig"],
            expected,
            "{effort}"
        );
    }
    req.reasoning_effort = Some("bogus".into());
    assert!(
        encode(&req)["generationConfig"]
            .get("thinkingConfig")
            .is_none()
    );
}
