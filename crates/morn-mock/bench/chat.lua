-- wrk script: non-streaming OpenAI chat completion against morn-mock.
-- Usage: wrk -t2 -c64 -d10s -s crates/morn-mock/bench/chat.lua http://127.0.0.1:9100
wrk.method = "POST"
wrk.path = "/v1/chat/completions"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer sk-bench"
wrk.body = '{"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Write one sentence about the benefits of load testing a gateway."}],"max_tokens":64}'
