//! A local stand-in for the model APIs the agents call, on 127.0.0.1 only: just enough of the
//! OpenAI Responses API (SSE, Codex and opencode), the Anthropic Messages API (Claude Code), the
//! Gemini API (generateContent and streamGenerateContent, Gemini CLI) and OpenAI chat
//! completions (aider) for one turn that answers [`MOCK_REPLY`]. It records each request's
//! method and path (never headers or bodies: the agents send their key there). Bounded: it stops
//! after a few thousand connections, reads at most 16 MiB per request, and each connection has
//! a read timeout.
//!
//! Point the agents at it with their own settings (see `base_url_env` in agent_state.rs):
//! `ANTHROPIC_BASE_URL=http://127.0.0.1:PORT`, `GOOGLE_GEMINI_BASE_URL=http://127.0.0.1:PORT`,
//! `OPENAI_API_BASE=http://127.0.0.1:PORT/v1`, or a Codex `model_providers` entry; and let the
//! box reach it with `--allow-host 127.0.0.1:PORT`.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What every mocked model answers.
pub const MOCK_REPLY: &str = "MOCK-REPLY-7Q";

/// One request the mock saw.
#[derive(Debug, Clone)]
pub struct Seen {
    /// `GET`, `POST`...
    pub method: String,
    /// The request target (path and query).
    pub path: String,
}

/// A running mock; it lives as long as the test process (its thread stops after the bound).
pub struct MockApi {
    /// The port on 127.0.0.1.
    pub port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl MockApi {
    /// Start on 127.0.0.1, a free port.
    pub fn start() -> MockApi {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind the mock API on loopback");
        let port = l.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        std::thread::spawn(move || {
            for c in l.incoming().take(4000) {
                let Ok(c) = c else { continue };
                let s = s.clone();
                std::thread::spawn(move || serve(c, &s));
            }
        });
        MockApi { port, seen }
    }

    /// `127.0.0.1:PORT`, for `--allow-host`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The requests so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().map(|v| v.clone()).unwrap_or_default()
    }

    /// How many requests so far were model turns (not model lists or websocket attempts).
    pub fn turns(&self) -> usize {
        self.seen()
            .iter()
            .filter(|r| r.method == "POST" && model_call(&r.path))
            .count()
    }
}

fn model_call(path: &str) -> bool {
    ["/responses", "/messages", "generateContent", "/chat/completions"]
        .iter()
        .any(|p| path.contains(p))
}

/// Serve requests on one connection (keep-alive) until the client closes it.
fn serve(c: TcpStream, seen: &Mutex<Vec<Seen>>) {
    let _ = c.set_read_timeout(Some(Duration::from_secs(30)));
    let Ok(mut w) = c.try_clone() else { return };
    let mut r = BufReader::new(c);
    for _ in 0..200 {
        let Some((method, path, body)) = read_request(&mut r) else {
            return;
        };
        if let Ok(mut v) = seen.lock() {
            v.push(Seen {
                method: method.clone(),
                path: path.clone(),
            });
        }
        let (status, ctype, payload) = answer(&method, &path, &body);
        let head = format!(
            "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nCache-Control: no-cache\r\n\r\n",
            payload.len()
        );
        if w.write_all(head.as_bytes()).is_err() || w.write_all(&payload).is_err() {
            return;
        }
        let _ = w.flush();
    }
}

/// Method, target and body of the next request (Content-Length or chunked), or `None`.
fn read_request(r: &mut BufReader<TcpStream>) -> Option<(String, String, Vec<u8>)> {
    let mut line = String::new();
    if r.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let (mut len, mut chunked) = (0usize, false);
    loop {
        let mut h = String::new();
        if r.read_line(&mut h).ok()? == 0 {
            return None;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':').unwrap_or((h, ""));
        let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
        if k == "content-length" {
            len = v.parse().ok()?;
        } else if k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked") {
            chunked = true;
        }
    }
    const MAX: usize = 16 << 20;
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut sz = String::new();
            r.read_line(&mut sz).ok()?;
            let n = usize::from_str_radix(sz.trim().split(';').next()?, 16).ok()?;
            if n == 0 {
                let mut end = String::new();
                r.read_line(&mut end).ok()?;
                break;
            }
            if body.len() + n > MAX {
                return None;
            }
            let mut chunk = vec![0u8; n + 2];
            r.read_exact(&mut chunk).ok()?;
            body.extend_from_slice(&chunk[..n]);
        }
    } else {
        if len > MAX {
            return None;
        }
        body.resize(len, 0);
        r.read_exact(&mut body).ok()?;
    }
    Some((method, path, body))
}

/// The response for one request: status line tail, content type, body.
fn answer(method: &str, path: &str, body: &[u8]) -> (&'static str, &'static str, Vec<u8>) {
    let req: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let stream = req["stream"].as_bool() == Some(true);
    let ok_json = |v: Value| ("200 OK", "application/json", v.to_string().into_bytes());
    let sse = |s: String| ("200 OK", "text/event-stream", s.into_bytes());
    if method == "GET" && path.contains("/models") {
        return ok_json(json!({"object": "list", "data": [], "models": []}));
    }
    if method != "POST" {
        return ("404 Not Found", "application/json", b"{}".to_vec());
    }
    if path.contains("/responses") {
        return sse(responses_sse());
    }
    if path.contains("/messages") && path.contains("count_tokens") {
        return ok_json(json!({"input_tokens": 1}));
    }
    if path.contains("/messages") {
        return if stream {
            sse(anthropic_sse())
        } else {
            ok_json(anthropic_message())
        };
    }
    if path.contains(":countTokens") {
        return ok_json(json!({"totalTokens": 1}));
    }
    if path.contains("generateContent") {
        let d = gemini_answer(&req);
        return if path.contains("streamGenerateContent") {
            sse(format!("data: {d}\r\n\r\n"))
        } else {
            ok_json(d)
        };
    }
    if path.contains("/chat/completions") {
        return if stream {
            sse(chat_sse())
        } else {
            ok_json(chat_completion())
        };
    }
    ("404 Not Found", "application/json", b"{}".to_vec())
}

fn events(list: &[(&str, Value)]) -> String {
    list.iter()
        .map(|(e, d)| format!("event: {e}\ndata: {d}\n\n"))
        .collect()
}

/// The OpenAI Responses API's stream for one assistant message.
fn responses_sse() -> String {
    let msg = json!({"type": "message", "id": "msg_1", "status": "completed", "role": "assistant",
        "content": [{"type": "output_text", "text": MOCK_REPLY, "annotations": []}]});
    let resp = json!({"id": "resp_1", "object": "response", "created_at": 1, "status": "in_progress",
        "model": "mock", "output": [], "usage": null});
    let mut done = resp.clone();
    done["status"] = json!("completed");
    done["output"] = json!([msg]);
    done["usage"] = json!({"input_tokens": 1, "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": 1, "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 2});
    let mut added = msg.clone();
    added["status"] = json!("in_progress");
    added["content"] = json!([]);
    let part = |t: &str| json!({"type": "output_text", "text": t, "annotations": []});
    let at = |n: u32, kind: &str, mut v: Value| {
        v["type"] = json!(kind);
        v["sequence_number"] = json!(n);
        v
    };
    let item = json!({"item_id": "msg_1", "output_index": 0, "content_index": 0});
    let with = |mut base: Value, k: &str, v: Value| {
        base[k] = v;
        base
    };
    events(&[
        ("response.created", at(0, "response.created", json!({"response": resp}))),
        (
            "response.output_item.added",
            at(1, "response.output_item.added", json!({"output_index": 0, "item": added})),
        ),
        (
            "response.content_part.added",
            at(2, "response.content_part.added", with(item.clone(), "part", part(""))),
        ),
        (
            "response.output_text.delta",
            at(3, "response.output_text.delta", with(item.clone(), "delta", json!(MOCK_REPLY))),
        ),
        (
            "response.output_text.done",
            at(4, "response.output_text.done", with(item.clone(), "text", json!(MOCK_REPLY))),
        ),
        (
            "response.content_part.done",
            at(5, "response.content_part.done", with(item, "part", part(MOCK_REPLY))),
        ),
        (
            "response.output_item.done",
            at(6, "response.output_item.done", json!({"output_index": 0, "item": msg})),
        ),
        ("response.completed", at(7, "response.completed", json!({"response": done}))),
    ])
}

fn anthropic_message() -> Value {
    json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "mock",
        "content": [{"type": "text", "text": MOCK_REPLY}], "stop_reason": "end_turn",
        "stop_sequence": null, "usage": {"input_tokens": 1, "output_tokens": 1}})
}

/// The Anthropic Messages API's stream for one text block.
fn anthropic_sse() -> String {
    let mut start = anthropic_message();
    start["content"] = json!([]);
    start["stop_reason"] = Value::Null;
    events(&[
        ("message_start", json!({"type": "message_start", "message": start})),
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 0,
                "content_block": {"type": "text", "text": ""}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0,
                "delta": {"type": "text_delta", "text": MOCK_REPLY}}),
        ),
        ("content_block_stop", json!({"type": "content_block_stop", "index": 0})),
        (
            "message_delta",
            json!({"type": "message_delta", "delta": {"stop_reason": "end_turn",
                "stop_sequence": null}, "usage": {"output_tokens": 1}}),
        ),
        ("message_stop", json!({"type": "message_stop"})),
    ])
}

/// A Gemini answer: JSON shaped by the request's response schema when it has one (Gemini CLI
/// routes and checks with such calls), else the reply text.
fn gemini_answer(req: &Value) -> Value {
    let gc = &req["generationConfig"];
    let schema = [&gc["responseJsonSchema"], &gc["responseSchema"]]
        .into_iter()
        .find(|s| s.is_object());
    let text = match schema {
        Some(s) => from_schema(s, 0).to_string(),
        None => MOCK_REPLY.to_string(),
    };
    json!({"candidates": [{"content": {"parts": [{"text": text}], "role": "model"},
        "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": 1, "candidatesTokenCount": 1, "totalTokenCount": 2}})
}

/// A value of the smallest shape a JSON schema allows (first enum value, empty arrays).
fn from_schema(s: &Value, depth: usize) -> Value {
    if let Some(e) = s["enum"].as_array().and_then(|e| e.first()) {
        return e.clone();
    }
    let t = s["type"].as_str().unwrap_or("string").to_ascii_lowercase();
    match t.as_str() {
        "object" if depth < 8 => {
            let mut o = serde_json::Map::new();
            if let Some(props) = s["properties"].as_object() {
                for (k, v) in props {
                    o.insert(k.clone(), from_schema(v, depth + 1));
                }
            }
            Value::Object(o)
        }
        "integer" | "number" => json!(1),
        "boolean" => json!(false),
        "array" => json!([]),
        _ => json!("mock"),
    }
}

fn chat_completion() -> Value {
    json!({"id": "c1", "object": "chat.completion", "created": 1, "model": "mock",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": MOCK_REPLY},
            "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})
}

/// OpenAI chat completions' stream: one delta, the stop, `[DONE]`.
fn chat_sse() -> String {
    let chunk = |delta: Value, finish: Value| {
        json!({"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "mock",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
    };
    format!(
        "data: {}\n\ndata: {}\n\ndata: [DONE]\n\n",
        chunk(json!({"role": "assistant", "content": MOCK_REPLY}), Value::Null),
        chunk(json!({}), json!("stop"))
    )
}
