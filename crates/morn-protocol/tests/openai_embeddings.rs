//! OpenAI Embeddings both ways: request parsing (every input shape), float and base64
//! rendering, upstream request encoding and response decoding.
#![expect(clippy::unwrap_used, reason = "tests")]

// One module named `openai` so that `cargo test -p morn-protocol openai` selects these.
mod openai {

    use base64::Engine as _;
    use morn_protocol::openai::{
        decode_embedding_response, encode_embedding_request, parse_embedding_request,
        render_embedding_response,
    };
    use morn_protocol::{EmbeddingInput, EmbeddingResponse, EncodingFormat, ErrorKind, Usage};
    use serde_json::{Value, json};

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!(
            "{}/tests/fixtures/openai/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(&path).unwrap()
    }

    fn parse(body: Value) -> morn_protocol::EmbeddingRequest {
        parse_embedding_request(body.to_string().as_bytes()).unwrap()
    }

    #[test]
    fn parses_every_input_shape() {
        let text = |s: &str| EmbeddingInput::Text(s.into());
        assert_eq!(
            parse(json!({"model": "m", "input": "hello"})).input,
            vec![text("hello")]
        );
        assert_eq!(
            parse(json!({"model": "m", "input": ["a", "b"]})).input,
            vec![text("a"), text("b")]
        );
        assert_eq!(
            parse(json!({"model": "m", "input": [15339, 1917]})).input,
            vec![EmbeddingInput::Tokens(vec![15339, 1917])]
        );
        assert_eq!(
            parse(json!({"model": "m", "input": [[1, 2], [3]]})).input,
            vec![
                EmbeddingInput::Tokens(vec![1, 2]),
                EmbeddingInput::Tokens(vec![3])
            ]
        );
        let req = parse(json!({
            "model": "text-embedding-3-small",
            "input": "x",
            "dimensions": 256,
            "encoding_format": "base64",
            "user": "u-1",
            "input_type": "query"
        }));
        assert_eq!(req.model, "text-embedding-3-small");
        assert_eq!(req.dimensions, Some(256));
        assert_eq!(req.encoding_format, EncodingFormat::Base64);
        assert_eq!(req.user.as_deref(), Some("u-1"));
        assert_eq!(Value::Object(req.extra), json!({"input_type": "query"}));
        assert_eq!(
            parse(json!({"model": "m", "input": "x"})).encoding_format,
            EncodingFormat::Float
        );
    }

    #[test]
    fn rejects_bad_embedding_requests() {
        let cases = [
            (json!({"input": "x"}), Some("model"), "missing_field"),
            (json!({"model": "m"}), Some("input"), "missing_field"),
            (
                json!({"model": "m", "input": []}),
                Some("input"),
                "invalid_value",
            ),
            (
                json!({"model": "m", "input": [[]]}),
                Some("input[0]"),
                "invalid_value",
            ),
            (
                json!({"model": "m", "input": 5}),
                Some("input"),
                "invalid_type",
            ),
            (
                json!({"model": "m", "input": ["a", 1]}),
                Some("input"),
                "invalid_value",
            ),
            (
                json!({"model": "m", "input": [{"text": "a"}]}),
                Some("input[0]"),
                "invalid_type",
            ),
            (
                json!({"model": "m", "input": [-1]}),
                Some("input[0]"),
                "invalid_value",
            ),
            (
                json!({"model": "m", "input": "x", "encoding_format": "int8"}),
                Some("encoding_format"),
                "invalid_value",
            ),
            (
                json!({"model": "m", "input": "x", "dimensions": 0}),
                Some("dimensions"),
                "invalid_value",
            ),
        ];
        for (body, param, code) in cases {
            let err = parse_embedding_request(body.to_string().as_bytes()).unwrap_err();
            assert_eq!(err.kind, ErrorKind::InvalidRequest, "{body}");
            assert_eq!(
                (err.param.as_deref(), err.code.as_str()),
                (param, code),
                "{body}: {err:?}"
            );
        }
        let err = parse_embedding_request(b"{\"model\":").unwrap_err();
        assert_eq!(err.code, "invalid_json");
    }

    fn response() -> EmbeddingResponse {
        EmbeddingResponse {
            model: "text-embedding-3-small".into(),
            data: vec![vec![0.0023064255, -0.009327292, 1.0], vec![0.5, -2.0, 0.0]],
            usage: Usage {
                input_tokens: 8,
                ..Usage::default()
            },
        }
    }

    #[test]
    fn renders_float_embeddings() {
        let body: Value = serde_json::from_slice(&render_embedding_response(
            &response(),
            EncodingFormat::Float,
        ))
        .unwrap();
        assert_eq!(
            body,
            json!({
                "object": "list",
                "data": [
                    {"object": "embedding", "index": 0, "embedding": [0.0023064255, -0.009327292, 1.0]},
                    {"object": "embedding", "index": 1, "embedding": [0.5, -2.0, 0.0]}
                ],
                "model": "text-embedding-3-small",
                "usage": {"prompt_tokens": 8, "total_tokens": 8}
            })
        );
    }

    #[test]
    fn renders_base64_embeddings_as_little_endian_f32() {
        let resp = response();
        let body: Value =
            serde_json::from_slice(&render_embedding_response(&resp, EncodingFormat::Base64))
                .unwrap();
        // What the official Python SDK does with it: base64-decode, then read f32 little-endian.
        for (i, vector) in resp.data.iter().enumerate() {
            let b64 = body["data"][i]["embedding"].as_str().unwrap();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap();
            let floats: Vec<f32> = bytes
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
                .collect();
            assert_eq!(&floats, vector);
        }
        // 1.0f32 = 0x3f800000, little-endian 00 00 80 3f.
        let one = EmbeddingResponse {
            data: vec![vec![1.0]],
            ..response()
        };
        let body: Value =
            serde_json::from_slice(&render_embedding_response(&one, EncodingFormat::Base64))
                .unwrap();
        assert_eq!(body["data"][0]["embedding"], "AACAPw==");
    }

    #[test]
    fn encodes_upstream_requests_always_asking_for_floats() {
        let req = parse(
            json!({"model": "m", "input": ["a", "b"], "encoding_format": "base64", "dimensions": 64, "user": "u", "model_extra": 1}),
        );
        let body: Value = serde_json::from_slice(
            &encode_embedding_request(&req, "text-embedding-3-large").unwrap(),
        )
        .unwrap();
        assert_eq!(
            body,
            json!({"model": "text-embedding-3-large", "input": ["a", "b"], "dimensions": 64, "encoding_format": "float", "user": "u", "model_extra": 1})
        );
        let one = parse(json!({"model": "m", "input": "only"}));
        let body: Value =
            serde_json::from_slice(&encode_embedding_request(&one, "e").unwrap()).unwrap();
        assert_eq!(
            body,
            json!({"model": "e", "input": "only", "encoding_format": "float"})
        );
        let tokens = parse(json!({"model": "m", "input": [1, 2, 3]}));
        let body: Value =
            serde_json::from_slice(&encode_embedding_request(&tokens, "e").unwrap()).unwrap();
        assert_eq!(body["input"], json!([1, 2, 3]));
        let arrays = parse(json!({"model": "m", "input": [[1], [2, 3]]}));
        let body: Value =
            serde_json::from_slice(&encode_embedding_request(&arrays, "e").unwrap()).unwrap();
        assert_eq!(body["input"], json!([[1], [2, 3]]));
        let mut mixed = arrays.clone();
        mixed.input.push(EmbeddingInput::Text("t".into()));
        assert_eq!(
            encode_embedding_request(&mixed, "e")
                .unwrap_err()
                .param
                .as_deref(),
            Some("input")
        );
    }

    #[test]
    fn decodes_upstream_responses_in_index_order() {
        let resp = decode_embedding_response(&fixture("embeddings_response.json")).unwrap();
        assert_eq!(resp.model, "text-embedding-3-small");
        assert_eq!(
            resp.data,
            vec![
                vec![0.0023064255, -0.009327292, 0.015797347],
                vec![0.25, -0.5, 1.0]
            ]
        );
        assert_eq!(resp.usage.input_tokens, 8);
        // A server that answers base64 anyway is understood too.
        let b64 = json!({"data": [{"index": 0, "embedding": "AACAPwAAAL8="}], "model": "nomic"});
        let resp = decode_embedding_response(b64.to_string().as_bytes()).unwrap();
        assert_eq!(resp.data, vec![vec![1.0, -0.5]]);
        assert_eq!(resp.usage, Usage::default());
        let err = decode_embedding_response(b"{\"data\": 1}").unwrap_err();
        assert_eq!(err.kind, ErrorKind::BadGateway);
    }
}
