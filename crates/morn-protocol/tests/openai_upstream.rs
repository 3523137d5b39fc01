//! Upstream OpenAI-compatible adapter: request bodies (snapshotted), non-streamed
//! answers from real-world servers, and error bodies per status.
#![expect(clippy::unwrap_used, reason = "tests")]

// One module named `openai` so that `cargo test -p morn-protocol openai` selects these.
mod openai {

    use morn_protocol::openai::{
        decode_chat_response, decode_error, encode_chat_request, parse_chat_request,
        uses_max_completion_tokens,
    };
    use morn_protocol::{
        ChatRequest, ErrorKind, FinishReason, Message, Part, Protocol, ResponseFormat, Role, Tool,
        ToolCall, ToolChoice, Usage,
    };
    use serde_json::{Value, json};

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!(
            "{}/tests/fixtures/openai/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(&path).unwrap()
    }

    fn encoded(req: &ChatRequest, model: &str) -> Value {
        serde_json::from_slice(&encode_chat_request(req, model).unwrap()).unwrap()
    }

    #[test]
    fn round_trips_a_full_openai_request_with_its_extras() {
        let req = parse_chat_request(&fixture("chat_request_full.json")).unwrap();
        insta::assert_json_snapshot!(
            "encode_full_openai_request",
            encoded(&req, "gpt-4o-mini-2024-07-18")
        );
    }

    /// A request as the Anthropic inbound side would produce it: tool results and text in
    /// one turn, thinking in the history, `top_k`, extras from another protocol.
    fn cross_protocol_request() -> ChatRequest {
        let mut extra = serde_json::Map::new();
        extra.insert("metadata".into(), json!({"user_id": "u-1"}));
        ChatRequest {
            model: "morn-default".into(),
            messages: vec![
                Message::text(Role::System, "You are terse."),
                Message::text(Role::User, "Weather in Paris?"),
                Message {
                    role: Role::Assistant,
                    content: vec![
                        Part::Thinking {
                            text: "Call the tool.".into(),
                            signature: Some("sig".into()),
                        },
                        Part::Text {
                            text: "Let me check.".into(),
                        },
                        Part::ToolCall(ToolCall {
                            id: "toolu_01".into(),
                            name: "get_weather".into(),
                            arguments: "{\"location\":\"Paris\"}".into(),
                        }),
                    ],
                    name: None,
                },
                Message {
                    role: Role::Tool,
                    content: vec![
                        Part::ToolResult {
                            tool_call_id: "toolu_01".into(),
                            name: Some("get_weather".into()),
                            content: vec![Part::Text { text: "18C".into() }],
                            is_error: false,
                        },
                        Part::Text {
                            text: "And in Rome?".into(),
                        },
                    ],
                    name: None,
                },
            ],
            tools: vec![Tool {
                name: "get_weather".into(),
                description: None,
                parameters: json!({"type": "object", "properties": {"location": {"type": "string"}}}),
                strict: None,
            }],
            tool_choice: Some(ToolChoice::Auto),
            response_format: Some(ResponseFormat::Text),
            temperature: Some(0.2),
            top_k: Some(40),
            max_tokens: Some(1024),
            stream: true,
            include_usage: false,
            thinking_budget: Some(2048),
            extra,
            extra_protocol: Some(Protocol::Anthropic),
            ..ChatRequest::default()
        }
    }

    #[test]
    fn encodes_a_cross_protocol_streaming_request_for_a_local_server() {
        let body = encoded(&cross_protocol_request(), "llama3.1:8b");
        assert_eq!(
            body["stream_options"],
            json!({"include_usage": true}),
            "always metered"
        );
        assert_eq!(body["max_tokens"], 1024);
        assert!(body.get("max_completion_tokens").is_none());
        assert!(body.get("top_k").is_none());
        assert!(
            body.get("metadata").is_none(),
            "extras from another protocol are dropped"
        );
        insta::assert_json_snapshot!("encode_cross_protocol_request", body);
    }

    #[test]
    fn chooses_the_token_limit_field_per_model() {
        for (model, effort, expected) in [
            ("o1-mini", None, true),
            ("o3", None, true),
            ("o4-mini-2025-04-16", None, true),
            ("gpt-5-nano", None, true),
            ("gpt-4o", None, false),
            ("Qwen/Qwen2.5-7B-Instruct", None, false),
            ("gpt-4.1", Some("low"), true),
        ] {
            assert_eq!(
                uses_max_completion_tokens(model, effort),
                expected,
                "{model}"
            );
        }
        let mut req = cross_protocol_request();
        req.stream = false;
        let body = encoded(&req, "o3-mini");
        assert_eq!(body["max_completion_tokens"], 1024);
        assert!(body.get("max_tokens").is_none());
        assert_eq!(body["stream"], false);
        assert!(body.get("stream_options").is_none());
    }

    #[test]
    fn extras_never_override_modeled_fields_and_tool_options_need_tools() {
        let mut req = parse_chat_request(
        br#"{"model":"m","messages":[{"role":"user","content":"hi"}],"parallel_tool_calls":true,
            "tool_choice":"none","logprobs":true,"prediction":{"type":"content","content":"x"}}"#,
    )
    .unwrap();
        req.extra.insert("model".into(), json!("evil"));
        req.extra.insert("max_tokens".into(), json!(1));
        let body = encoded(&req, "gpt-4o");
        assert_eq!(
            body,
            json!({
                "model": "gpt-4o",
                "messages": [{"role": "user", "content": "hi"}],
                "stream": false,
                "logprobs": true,
                "prediction": {"type": "content", "content": "x"}
            })
        );
    }

    #[test]
    fn decodes_a_plain_openai_answer() {
        let resp = decode_chat_response(&fixture("chat_response_openai.json")).unwrap();
        assert_eq!(resp.id, "chatcmpl-C3kUa1b2c3d4e5");
        assert_eq!(resp.model, "gpt-4o-mini-2024-07-18");
        assert_eq!(resp.created, 1_754_950_400);
        assert_eq!(resp.choices.len(), 1);
        assert_eq!(
            resp.choices[0].message,
            Message::text(Role::Assistant, "This is a test.")
        );
        assert_eq!(resp.choices[0].finish_reason, FinishReason::Stop);
        assert_eq!(
            resp.usage,
            Usage {
                input_tokens: 12,
                output_tokens: 5,
                ..Usage::default()
            }
        );
    }

    #[test]
    fn decodes_parallel_tool_calls_with_cached_and_reasoning_tokens() {
        let resp = decode_chat_response(&fixture("chat_response_tool_calls.json")).unwrap();
        let choice = &resp.choices[0];
        assert_eq!(choice.finish_reason, FinishReason::ToolCalls);
        assert_eq!(
            choice.message.content,
            vec![
                Part::ToolCall(ToolCall {
                    id: "call_Qm8xK2".into(),
                    name: "get_weather".into(),
                    arguments: "{\"location\":\"Paris\"}".into()
                }),
                Part::ToolCall(ToolCall {
                    id: "call_Zr4pW9".into(),
                    name: "get_weather".into(),
                    arguments: "{\"location\":\"Tokyo\"}".into()
                }),
            ]
        );
        assert_eq!(
            resp.usage,
            Usage {
                input_tokens: 1117,
                output_tokens: 346,
                cache_read_tokens: 1024,
                cache_write_tokens: 0,
                reasoning_tokens: 320
            }
        );
    }

    #[test]
    fn decodes_deepseek_reasoning_and_cache_hits() {
        let resp = decode_chat_response(&fixture("chat_response_deepseek.json")).unwrap();
        assert_eq!(
            resp.choices[0].message.content,
            vec![
                Part::Thinking {
                    text: "Compare 9.11 and 9.80: 11 < 80 in the decimals.".into(),
                    signature: None
                },
                Part::Text {
                    text: "9.11 is smaller than 9.8.".into()
                },
            ]
        );
        assert_eq!(resp.usage.cache_read_tokens, 16);
        assert_eq!(resp.usage.reasoning_tokens, 230);
    }

    #[test]
    fn decodes_quirky_servers_tolerantly() {
        let resp = decode_chat_response(&fixture("chat_response_quirky.json")).unwrap();
        assert_eq!(resp.usage, Usage::default(), "missing usage is zeros");
        let [refusal, legacy, eos, stop_after_tools] = resp.choices.as_slice() else {
            panic!()
        };
        assert_eq!(
            refusal.message.content,
            vec![Part::Text {
                text: "I can't help with that.".into()
            }]
        );
        assert_eq!(refusal.finish_reason, FinishReason::ContentFilter);
        assert_eq!(legacy.finish_reason, FinishReason::ToolCalls);
        assert_eq!(
            legacy.message.content,
            vec![
                Part::Thinking {
                    text: "thinking...".into(),
                    signature: None
                },
                Part::ToolCall(ToolCall {
                    id: "call_lookup".into(),
                    name: "lookup".into(),
                    arguments: "{\"q\":\"x\"}".into()
                }),
            ]
        );
        assert_eq!(
            eos.finish_reason,
            FinishReason::Stop,
            "unknown reasons are stop"
        );
        assert_eq!(stop_after_tools.index, 3);
        assert_eq!(stop_after_tools.finish_reason, FinishReason::ToolCalls);
        assert_eq!(
            stop_after_tools.message.content,
            vec![Part::ToolCall(ToolCall {
                id: "call_3_0".into(),
                name: "get_time".into(),
                arguments: "{\"timezone\":\"UTC\"}".into()
            })]
        );
    }

    #[test]
    fn reads_content_given_as_an_array_of_parts() {
        let body = br#"{"choices":[{"index":0,"message":{"role":"assistant","content":[{"type":"text","text":"Hello "},{"type":"refusal","refusal":"no"},{"type":"text","text":""}]},"finish_reason":"stop"}]}"#;
        let resp = decode_chat_response(body).unwrap();
        assert_eq!(
            resp.choices[0].message.content,
            vec![
                Part::Text {
                    text: "Hello ".into()
                },
                Part::Text { text: "no".into() },
            ]
        );
        let odd = br#"{"choices":[{"message":{"role":"assistant","content":42}}]}"#;
        let err = decode_chat_response(odd).unwrap_err();
        assert_eq!(err.kind, ErrorKind::BadGateway);
    }

    #[test]
    fn rejects_bodies_that_are_not_completions() {
        for body in [
            &b"<html>502 Bad Gateway</html>"[..],
            b"{\"object\":\"list\"}",
            b"",
        ] {
            let err = decode_chat_response(body).unwrap_err();
            assert_eq!(err.kind, ErrorKind::BadGateway, "{body:?}");
            assert_eq!(err.code, "upstream_error");
        }
        let err = decode_chat_response(&fixture("error_500.json")).unwrap_err();
        assert_eq!(
            err.message,
            "The server had an error while processing your request. Sorry about that!"
        );
    }

    #[test]
    fn decodes_error_bodies_per_status() {
        // (status, fixture, kind, code, message prefix, param)
        type Case<'a> = (u16, &'a str, ErrorKind, &'a str, &'a str, Option<&'a str>);
        let cases: [Case; 8] = [
            (
                401,
                "error_401.json",
                ErrorKind::Authentication,
                "invalid_api_key",
                "Incorrect API key provided",
                None,
            ),
            (
                429,
                "error_429.json",
                ErrorKind::RateLimited,
                "rate_limit_exceeded",
                "Rate limit reached",
                None,
            ),
            (
                400,
                "error_400_context.json",
                ErrorKind::InvalidRequest,
                "context_length_exceeded",
                "This model's maximum",
                Some("messages"),
            ),
            (
                404,
                "error_404_model.json",
                ErrorKind::NotFound,
                "model_not_found",
                "The model `gpt-9`",
                None,
            ),
            (
                500,
                "error_500.json",
                ErrorKind::Internal,
                "internal_error",
                "The server had an error",
                None,
            ),
            (
                404,
                "error_ollama_404.json",
                ErrorKind::NotFound,
                "not_found",
                "model \"llama9\" not found",
                None,
            ),
            (
                400,
                "error_vllm_400.json",
                ErrorKind::InvalidRequest,
                "invalid_request",
                "This model's maximum context length is 4096",
                None,
            ),
            (
                503,
                "error_llamacpp_plain.json",
                ErrorKind::Unavailable,
                "service_unavailable",
                "Loading model",
                None,
            ),
        ];
        for (status, file, kind, code, message, param) in cases {
            let err = decode_error(status, &fixture(file), Some(7));
            assert_eq!(err.kind, kind, "{file}");
            assert_eq!(err.code, code, "{file}");
            assert!(err.message.starts_with(message), "{file}: {}", err.message);
            assert_eq!(err.param.as_deref(), param, "{file}");
            assert_eq!(err.retry_after, Some(7));
        }
        let err = decode_error(502, b"<html><body>Bad gateway</body></html>", None);
        assert_eq!(err.kind, ErrorKind::BadGateway);
        assert_eq!(err.message, "The upstream provider returned HTTP 502.");
        assert_eq!(err.retry_after, None);
        let err = decode_error(418, b"", None);
        assert_eq!(err.kind, ErrorKind::InvalidRequest);
        assert_eq!(err.message, "The upstream provider returned HTTP 418.");
    }
}
