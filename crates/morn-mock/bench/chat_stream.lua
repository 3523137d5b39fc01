-- wrk script: streaming OpenAI chat completion (SSE, usage chunk) against morn-mock.
-- Usage: wrk -t2 -c64 -d10s -s crates/morn-mock/bench/chat_stream.lua http://127.0.0.1:9100
wrk.method = "POST"
wrk.path = "/v1/chat/completions"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer sk-bench"
wrk.body = '{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Write one sentence about the benefits of load testing a gateway."}]}'
