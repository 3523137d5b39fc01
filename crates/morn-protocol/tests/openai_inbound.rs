//! Inbound OpenAI Chat Completions: request parsing (every field, extras, bad input)
//! and response, error and model-list rendering.
#![expect(clippy::unwrap_used, reason = "tests")]

// One module named `openai` so that `cargo test -p morn-protocol openai` selects these.
mod openai {

    use morn_protocol::openai::{
        parse_chat_request, render_chat_response, render_error, render_model, render_model_list,
    };
    use morn_protocol::{
        ApiError, ChatResponse, Choice, ErrorKind, FinishReason, Message, ModelInfo, Part,
        Protocol, ResponseFormat, Role, ToolCall, ToolChoice, Usage,
    };
    use serde_json::{Value, json};

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!(
            "{}/tests/fixtures/openai/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(&path).unwrap()
    }

    fn text(t: &str) -> Part {
        Part::Text { text: t.into() }
    }

    #[test]
    fn parses_every_field_of_a_full_request() {
        let req = parse_chat_request(&fixture("chat_request_full.json")).unwrap();
        assert_eq!(req.model, "gpt-4o-mini");
        assert_eq!(req.messages.len(), 8);
        assert_eq!(
            req.messages[0],
            Message::text(Role::System, "You are a helpful assistant.")
        );
        assert_eq!(req.messages[1].role, Role::Developer);
        assert_eq!(
            req.messages[1].content,
            vec![text("Answer in French."), text(" Be brief.")]
        );

        let user = &req.messages[2];
        assert_eq!(user.role, Role::User);
        assert_eq!(user.name.as_deref(), Some("alice"));
        assert_eq!(user.content.len(), 3);
        assert_eq!(
            user.content[1],
            Part::Image {
                url: "https://upload.wikimedia.org/wikipedia/commons/a/a8/Tour_Eiffel.jpg".into(),
                detail: Some("high".into()),
            }
        );
        assert!(
            matches!(&user.content[2], Part::Image { url, detail: None } if url.starts_with("data:image/png;base64,"))
        );

        assert_eq!(
            req.messages[3].content,
            vec![
                Part::ToolCall(ToolCall {
                    id: "call_Qm8xK2".into(),
                    name: "get_weather".into(),
                    arguments: "{\"location\": \"Paris\"}".into(),
                }),
                Part::ToolCall(ToolCall {
                    id: "call_Zr4pW9".into(),
                    name: "get_time".into(),
                    arguments: "{\"timezone\": \"Europe/Paris\"}".into(),
                }),
            ]
        );
        // Each tool message is one ToolResult, with the tool's name found from the call.
        assert_eq!(req.messages[4].role, Role::Tool);
        assert_eq!(
            req.messages[4].content,
            vec![Part::ToolResult {
                tool_call_id: "call_Qm8xK2".into(),
                name: Some("get_weather".into()),
                content: vec![text("{\"temperature\": 18, \"unit\": \"celsius\"}")],
                is_error: false,
            }]
        );
        assert_eq!(
            req.messages[5].content,
            vec![Part::ToolResult {
                tool_call_id: "call_Zr4pW9".into(),
                name: Some("get_time".into()),
                content: vec![text("14:05")],
                is_error: false,
            }]
        );
        assert_eq!(req.messages[6].role, Role::Assistant);
        assert_eq!(req.messages[7], Message::text(Role::User, "Merci !"));

        assert_eq!(req.tools.len(), 2);
        assert_eq!(req.tools[0].name, "get_weather");
        assert_eq!(
            req.tools[0].description.as_deref(),
            Some("Get the current weather in a given location")
        );
        assert_eq!(req.tools[0].parameters["required"], json!(["location"]));
        assert_eq!(req.tools[0].strict, Some(true));
        // A function without parameters takes none.
        assert_eq!(
            req.tools[1].parameters,
            json!({"type": "object", "properties": {}})
        );
        assert_eq!(req.tools[1].strict, None);
        assert_eq!(
            req.tool_choice,
            Some(ToolChoice::Tool {
                name: "get_weather".into()
            })
        );
        assert_eq!(req.parallel_tool_calls, Some(false));
        match req.response_format.as_ref().unwrap() {
            ResponseFormat::JsonSchema {
                name,
                schema,
                strict,
            } => {
                assert_eq!(name, "answer");
                assert_eq!(schema["required"], json!(["text"]));
                assert_eq!(*strict, Some(true));
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(req.temperature, Some(0.7));
        assert_eq!(req.top_p, Some(0.9));
        assert_eq!(
            req.max_tokens,
            Some(256),
            "max_completion_tokens wins over max_tokens"
        );
        assert_eq!(req.stop, vec!["\n\n".to_owned(), "END".to_owned()]);
        assert_eq!(req.n, Some(1));
        assert_eq!(req.seed, Some(42));
        assert_eq!(req.user.as_deref(), Some("user-1234"));
        assert!(req.stream);
        assert!(req.include_usage);
        assert_eq!(req.reasoning_effort.as_deref(), Some("low"));
        assert_eq!(req.top_k, None);

        assert_eq!(req.extra_protocol, Some(Protocol::OpenAi));
        assert_eq!(
            Value::Object(req.extra),
            json!({
                "logprobs": true,
                "top_logprobs": 2,
                "frequency_penalty": 0.5,
                "presence_penalty": -0.25,
                "logit_bias": {"50256": -100},
                "metadata": {"team": "search"},
                "service_tier": "auto",
                "store": false
            })
        );
    }

    #[test]
    fn parses_the_short_forms() {
        let req = parse_chat_request(&fixture("chat_request_minimal.json")).unwrap();
        assert_eq!(
            req.messages,
            vec![Message::text(Role::User, "Say this is a test")]
        );
        assert_eq!(req.stop, vec!["END".to_owned()]);
        assert_eq!(req.tool_choice, Some(ToolChoice::Required));
        assert_eq!(req.response_format, Some(ResponseFormat::JsonObject));
        assert_eq!(req.temperature, None, "null is absent");
        assert!(!req.stream);
        assert!(!req.include_usage);
        assert!(req.extra.is_empty());
        assert_eq!(req.extra_protocol, None);
        assert_eq!(req.max_tokens, None);
    }

    #[test]
    fn parses_max_tokens_alone_and_legacy_function_calls() {
        let body = json!({
            "model": "gpt-3.5-turbo",
            "max_tokens": 50,
            "tool_choice": "none",
            "messages": [
                {"role": "user", "content": ""},
                {"role": "assistant", "content": null, "function_call": {"name": "lookup", "arguments": "{}"}},
                {"role": "function", "name": "lookup", "content": "42"},
                {"role": "assistant", "content": [{"type": "text", "text": "It is "}, {"type": "refusal", "refusal": "no"}]},
                {"role": "user", "content": [{"type": "image_url", "image_url": "https://example.com/a.png"}]}
            ]
        });
        let req = parse_chat_request(body.to_string().as_bytes()).unwrap();
        assert_eq!(req.max_tokens, Some(50));
        assert_eq!(req.tool_choice, Some(ToolChoice::None));
        assert_eq!(req.messages[0].content, vec![text("")]);
        let Part::ToolCall(call) = &req.messages[1].content[0] else {
            panic!()
        };
        let Part::ToolResult {
            tool_call_id, name, ..
        } = &req.messages[2].content[0]
        else {
            panic!()
        };
        assert_eq!(&call.id, tool_call_id, "legacy call and result are paired");
        assert_eq!(name.as_deref(), Some("lookup"));
        assert_eq!(req.messages[3].content, vec![text("It is "), text("no")]);
        assert_eq!(
            req.messages[4].content,
            vec![Part::Image {
                url: "https://example.com/a.png".into(),
                detail: None
            }]
        );
    }

    fn bad(body: &str) -> ApiError {
        parse_chat_request(body.as_bytes()).unwrap_err()
    }

    #[test]
    fn bad_input_names_the_field_with_a_stable_code() {
        let m = r#""model":"gpt-4o""#;
        let user = r#"{"role":"user","content":"hi"}"#;
        let cases: Vec<(String, Option<&str>, &str)> = vec![
            (
                "{\"model\": \"gpt-4o\", \"messages\": [".into(),
                None,
                "invalid_json",
            ),
            ("not json".into(), None, "invalid_json"),
            (
                format!("{{{m},\"messages\":[{user}]}} trailing"),
                None,
                "invalid_json",
            ),
            ("[]".into(), None, "invalid_type"),
            (
                format!("{{\"messages\":[{user}]}}"),
                Some("model"),
                "missing_field",
            ),
            (
                format!("{{\"model\":\"\",\"messages\":[{user}]}}"),
                Some("model"),
                "invalid_value",
            ),
            (
                format!("{{\"model\":7,\"messages\":[{user}]}}"),
                Some("model"),
                "invalid_type",
            ),
            (format!("{{{m}}}"), Some("messages"), "missing_field"),
            (
                format!("{{{m},\"messages\":[]}}"),
                Some("messages"),
                "invalid_value",
            ),
            (
                format!("{{{m},\"messages\":{{}}}}"),
                Some("messages"),
                "invalid_type",
            ),
            (
                format!(
                    "{{{m},\"messages\":[{user},{user},{{\"role\":\"robot\",\"content\":\"x\"}}]}}"
                ),
                Some("messages[2].role"),
                "invalid_value",
            ),
            (
                format!("{{{m},\"messages\":[{user},{{\"content\":\"x\"}}]}}"),
                Some("messages[1].role"),
                "missing_field",
            ),
            (
                format!("{{{m},\"messages\":[{{\"role\":\"user\",\"content\":5}}]}}"),
                Some("messages[0].content"),
                "invalid_type",
            ),
            (
                format!("{{{m},\"messages\":[{{\"role\":\"user\"}}]}}"),
                Some("messages[0].content"),
                "missing_field",
            ),
            (
                format!(
                    "{{{m},\"messages\":[{{\"role\":\"user\",\"content\":[{{\"type\":\"input_audio\",\"input_audio\":{{}}}}]}}]}}"
                ),
                Some("messages[0].content[0].type"),
                "invalid_value",
            ),
            (
                format!(
                    "{{{m},\"messages\":[{{\"role\":\"system\",\"content\":[{{\"type\":\"image_url\",\"image_url\":{{\"url\":\"https://x\"}}}}]}}]}}"
                ),
                Some("messages[0].content[0].type"),
                "invalid_value",
            ),
            (
                format!("{{{m},\"messages\":[{user},{{\"role\":\"tool\",\"content\":\"r\"}}]}}"),
                Some("messages[1].tool_call_id"),
                "missing_field",
            ),
            (
                format!("{{{m},\"messages\":[{{\"role\":\"assistant\",\"content\":null}}]}}"),
                Some("messages[0].content"),
                "missing_field",
            ),
            (
                format!(
                    "{{{m},\"messages\":[{{\"role\":\"assistant\",\"tool_calls\":[{{\"id\":\"c\",\"type\":\"function\",\"function\":{{\"arguments\":\"{{}}\"}}}}]}}]}}"
                ),
                Some("messages[0].tool_calls[0].function.name"),
                "missing_field",
            ),
            (
                format!("{{{m},\"messages\":[{user}],\"temperature\":\"hot\"}}"),
                Some("temperature"),
                "invalid_type",
            ),
            (
                format!("{{{m},\"messages\":[{user}],\"temperature\":2.5}}"),
                Some("temperature"),
                "invalid_value",
            ),
            (
                format!("{{{m},\"messages\":[{user}],\"top_p\":1.5}}"),
                Some("top_p"),
                "invalid_value",
            ),
            (
                format!("{{{m},\"messages\":[{user}],\"max_tokens\":-1}}"),
                Some("max_tokens"),
                "invalid_value",
            ),
            (
                format!("{{{m},\"messages\":[{user}],\"max_completion_tokens\":0}}"),
                Some("max_completion_tokens"),
                "invalid_value",
            ),
            (
                format!("{{{m},\"messages\":[{user}],\"n\":0}}"),
                Some("n"),
                "invalid_value",
            ),
            (
                format!("{{{m},\"messages\":[{user}],\"stop\":5}}"),
                Some("stop"),
                "invalid_type",
            ),
            (
                format!("{{{m},\"messages\":[{user}],\"stop\":[\"a\",1]}}"),
                Some("stop[1]"),
                "invalid_type",
            ),
            (
                format!("{{{m},\"messages\":[{user}],\"stream\":\"yes\"}}"),
                Some("stream"),
                "invalid_type",
            ),
            (
                format!("{{{m},\"messages\":[{user}],\"tool_choice\":\"always\"}}"),
                Some("tool_choice"),
                "invalid_value",
            ),
            (
                format!("{{{m},\"messages\":[{user}],\"tool_choice\":{{\"type\":\"function\"}}}}"),
                Some("tool_choice.function"),
                "missing_field",
            ),
            (
                format!(
                    "{{{m},\"messages\":[{user}],\"tools\":[{{\"type\":\"code_interpreter\"}}]}}"
                ),
                Some("tools[0].type"),
                "invalid_value",
            ),
            (
                format!(
                    "{{{m},\"messages\":[{user}],\"tools\":[{{\"type\":\"function\",\"function\":{{\"description\":\"d\"}}}}]}}"
                ),
                Some("tools[0].function.name"),
                "missing_field",
            ),
            (
                format!("{{{m},\"messages\":[{user}],\"response_format\":{{\"type\":\"xml\"}}}}"),
                Some("response_format.type"),
                "invalid_value",
            ),
            (
                format!("{{{m},\"messages\":[{user}],\"stream_options\":{{\"include_usage\":1}}}}"),
                Some("stream_options.include_usage"),
                "invalid_type",
            ),
        ];
        for (body, param, code) in cases {
            let err = bad(&body);
            assert_eq!(err.kind, ErrorKind::InvalidRequest, "{body}");
            assert_eq!(err.status(), 400, "{body}");
            assert_eq!(err.param.as_deref(), param, "{body}: {err:?}");
            assert_eq!(err.code, code, "{body}: {err:?}");
            assert!(!err.message.contains(" at line "), "{}", err.message);
        }
    }

    #[test]
    fn bad_input_messages_read_well() {
        let err = bad(r#"{"model":"m","messages":[{"role":"robot","content":"x"}]}"#);
        assert!(
            err.message
                .starts_with("Invalid value for 'messages[0].role': unknown variant `robot`"),
            "{}",
            err.message
        );
        let err = bad(r#"{"model":"m","messages":[{"role":"user"}]}"#);
        assert_eq!(
            err.message,
            "Missing required parameter: 'messages[0].content'."
        );
        let err =
            bad(r#"{"model":"m","messages":[{"role":"user","content":"x"}],"temperature":"hot"}"#);
        assert_eq!(
            err.message,
            "Invalid type for 'temperature': string \"hot\", expected f64."
        );
        let err = bad("{");
        assert!(
            err.message.starts_with("Invalid request body: EOF"),
            "{}",
            err.message
        );
    }

    fn response(content: Vec<Part>, finish_reason: FinishReason) -> ChatResponse {
        ChatResponse {
            id: "chatcmpl-abc123".into(),
            model: "gpt-4o-mini-2024-07-18".into(),
            created: 1_754_950_400,
            choices: vec![Choice {
                index: 0,
                message: Message {
                    role: Role::Assistant,
                    content,
                    name: None,
                },
                finish_reason,
                stop_sequence: None,
            }],
            usage: Usage {
                input_tokens: 1117,
                output_tokens: 346,
                cache_read_tokens: 1024,
                cache_write_tokens: 0,
                reasoning_tokens: 320,
            },
        }
    }

    fn rendered(resp: &ChatResponse) -> Value {
        serde_json::from_slice(&render_chat_response(resp)).unwrap()
    }

    #[test]
    fn renders_a_text_answer_exactly_like_openai() {
        let body = rendered(&response(
            vec![text("This is "), text("a test.")],
            FinishReason::Stop,
        ));
        assert_eq!(
            body,
            json!({
                "id": "chatcmpl-abc123",
                "object": "chat.completion",
                "created": 1_754_950_400,
                "model": "gpt-4o-mini-2024-07-18",
                "choices": [{
                    "index": 0,
                    "message": {"role": "assistant", "content": "This is a test.", "refusal": null, "annotations": []},
                    "logprobs": null,
                    "finish_reason": "stop"
                }],
                "usage": {
                    "prompt_tokens": 1117,
                    "completion_tokens": 346,
                    "total_tokens": 1463,
                    "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 0},
                    "completion_tokens_details": {
                        "reasoning_tokens": 320,
                        "audio_tokens": 0,
                        "accepted_prediction_tokens": 0,
                        "rejected_prediction_tokens": 0
                    }
                }
            })
        );
    }

    #[test]
    fn renders_tool_calls_with_null_content_and_thinking_as_reasoning_content() {
        let resp = response(
            vec![
                Part::Thinking {
                    text: "Need weather.".into(),
                    signature: Some("sig".into()),
                },
                Part::ToolCall(ToolCall {
                    id: "call_1".into(),
                    name: "get_weather".into(),
                    arguments: "{\"location\":\"Paris\"}".into(),
                }),
                Part::ToolCall(ToolCall {
                    id: "call_2".into(),
                    name: "get_time".into(),
                    arguments: "{}".into(),
                }),
            ],
            FinishReason::ToolCalls,
        );
        let body = rendered(&resp);
        let choice = &body["choices"][0];
        assert_eq!(choice["finish_reason"], "tool_calls");
        assert_eq!(
            choice["message"],
            json!({
                "role": "assistant",
                "content": null,
                "refusal": null,
                "reasoning_content": "Need weather.",
                "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"location\":\"Paris\"}"}},
                    {"id": "call_2", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}
                ],
                "annotations": []
            })
        );
        for (reason, wire) in [
            (FinishReason::Length, "length"),
            (FinishReason::ContentFilter, "content_filter"),
        ] {
            let body = rendered(&response(vec![text("x")], reason));
            assert_eq!(body["choices"][0]["finish_reason"], wire);
            assert!(body["choices"][0]["message"].get("tool_calls").is_none());
            assert!(
                body["choices"][0]["message"]
                    .get("reasoning_content")
                    .is_none()
            );
        }
    }

    #[test]
    fn renders_errors_in_openai_shape() {
        let err = ApiError::invalid("messages[2].role", "Invalid value for 'messages[2].role'.")
            .with_code("invalid_value");
        let body: Value = serde_json::from_slice(&render_error(&err)).unwrap();
        assert_eq!(
            body,
            json!({"error": {
                "message": "Invalid value for 'messages[2].role'.",
                "type": "invalid_request_error",
                "param": "messages[2].role",
                "code": "invalid_value"
            }})
        );
        let cases = [
            (
                ErrorKind::Authentication,
                "invalid_request_error",
                "invalid_api_key",
            ),
            (
                ErrorKind::PermissionDenied,
                "permission_error",
                "permission_denied",
            ),
            (ErrorKind::NotFound, "invalid_request_error", "not_found"),
            (
                ErrorKind::RateLimited,
                "rate_limit_error",
                "rate_limit_exceeded",
            ),
            (
                ErrorKind::GatewayTimeout,
                "timeout_error",
                "upstream_timeout",
            ),
            (
                ErrorKind::Unavailable,
                "server_error",
                "service_unavailable",
            ),
            (ErrorKind::BadGateway, "server_error", "upstream_error"),
        ];
        for (kind, ty, code) in cases {
            let body: Value =
                serde_json::from_slice(&render_error(&ApiError::new(kind, "m"))).unwrap();
            assert_eq!(
                body,
                json!({"error": {"message": "m", "type": ty, "param": null, "code": code}})
            );
        }
    }

    #[test]
    fn renders_models() {
        let models = vec![
            ModelInfo {
                id: "gpt-4o-mini".into(),
                created: 1_721_172_741,
                owned_by: "openai".into(),
            },
            ModelInfo {
                id: "local/llama".into(),
                created: 0,
                owned_by: "morn".into(),
            },
        ];
        let list: Value = serde_json::from_slice(&render_model_list(&models)).unwrap();
        assert_eq!(
            list,
            json!({"object": "list", "data": [
                {"id": "gpt-4o-mini", "object": "model", "created": 1_721_172_741, "owned_by": "openai"},
                {"id": "local/llama", "object": "model", "created": 0, "owned_by": "morn"}
            ]})
        );
        let one: Value = serde_json::from_slice(&render_model(&models[0])).unwrap();
        assert_eq!(one, list["data"][0]);
        let empty: Value = serde_json::from_slice(&render_model_list(&[])).unwrap();
        assert_eq!(empty, json!({"object": "list", "data": []}));
    }
}
