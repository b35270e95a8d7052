//! A local stand-in for the model APIs the agents call, on 127.0.0.1 only: just enough of the
//! OpenAI Responses API (SSE, Codex and opencode), the Anthropic Messages API (Claude Code), the
//! Gemini API (generateContent and streamGenerateContent, Gemini CLI) and OpenAI chat
//! completions (aider) for one turn that answers [`MOCK_REPLY`].
//!
//! Options ([`MockOptions`], for the agent and credential tests alike):
//! - [`MockOptions::tool_call`]: the first turn asks the agent to run one shell command (Codex:
//!   a function call of the shell tool its request offers, `exec_command`, `shell_command` or
//!   `shell`; Claude Code: a `tool_use` of `Bash`; Gemini CLI: a `run_shell_command` call), and
//!   the turn that carries the command's result gets the final text. Stateless: each request is
//!   answered from what it carries, so retries and parallel sessions behave.
//! - [`MockOptions::expect_secret`]: for a labelled value, records only whether it was present
//!   in an auth header (`Authorization`, `x-api-key`, `x-goog-api-key`, `api-key`, or a `key=`
//!   query parameter), in any other header, and in any request body ([`Presence`], booleans).
//!   The value is compared, never stored in a record, printed or logged.
//! - [`MockOptions::tls`]: a closure that wraps each accepted `TcpStream` (a TLS server session,
//!   say), so an HTTPS mock needs no crate here.
//!
//! It records each request's method and path (never headers or bodies: the agents send their
//! key there). Bounded: it stops after a few thousand connections, reads at most 16 MiB per
//! request, and each connection has a read timeout.
//!
//! Point the agents at it with their own settings (see agent_runs.rs):
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
    /// The request carried a tool's result (the second turn of a tool call).
    pub tool_result: bool,
}

/// Where a labelled secret was seen, as booleans only.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Presence {
    /// In an auth header or a `key=` query parameter, in at least one request.
    pub in_auth: bool,
    /// In some other header.
    pub in_other_header: bool,
    /// In a request body.
    pub in_body: bool,
    /// A body came compressed (`Content-Encoding`), so `in_body` could not be checked for it:
    /// a test must treat this as "unknown", not "absent".
    pub body_unchecked: bool,
}

/// A connection as the mock serves it: the accepted socket, or what a [`MockOptions::tls`]
/// closure made of it.
pub trait Conn: Read + Write + Send {}
impl<T: Read + Write + Send> Conn for T {}

/// Wraps each accepted connection (for TLS); an error drops the connection.
pub type Acceptor = Arc<dyn Fn(TcpStream) -> std::io::Result<Box<dyn Conn>> + Send + Sync>;

/// How the mock behaves; [`MockOptions::default`] is one plain-text turn over plain HTTP.
#[derive(Default, Clone)]
pub struct MockOptions {
    tool_command: Option<String>,
    /// Label and value; the value never leaves this struct (no `Debug`).
    secrets: Vec<(String, String)>,
    tls: Option<Acceptor>,
}

impl MockOptions {
    /// The first turn asks the agent to run `command` in its shell tool.
    pub fn tool_call(mut self, command: &str) -> Self {
        self.tool_command = Some(command.to_string());
        self
    }

    /// Record where `value` shows up, under `label` (see [`MockApi::presence`]).
    pub fn expect_secret(mut self, label: &str, value: &str) -> Self {
        self.secrets.push((label.to_string(), value.to_string()));
        self
    }

    /// Serve every connection through `wrap` (a TLS acceptor); [`MockApi::url`] says `https`.
    pub fn tls(
        mut self,
        wrap: impl Fn(TcpStream) -> std::io::Result<Box<dyn Conn>> + Send + Sync + 'static,
    ) -> Self {
        self.tls = Some(Arc::new(wrap));
        self
    }
}

/// What the serving threads share.
struct State {
    opts: MockOptions,
    seen: Mutex<Vec<Seen>>,
    /// One per entry of `opts.secrets`.
    presence: Mutex<Vec<Presence>>,
}

/// A running mock; it lives as long as the test process (its thread stops after the bound).
pub struct MockApi {
    /// The port on 127.0.0.1.
    pub port: u16,
    state: Arc<State>,
}

impl MockApi {
    /// Start on 127.0.0.1, a free port, with the default options.
    pub fn start() -> MockApi {
        MockApi::with(MockOptions::default())
    }

    /// Start on 127.0.0.1, a free port, with `opts`.
    pub fn with(opts: MockOptions) -> MockApi {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind the mock API on loopback");
        let port = l.local_addr().unwrap().port();
        let state = Arc::new(State {
            presence: Mutex::new(vec![Presence::default(); opts.secrets.len()]),
            opts,
            seen: Mutex::new(Vec::new()),
        });
        let s = state.clone();
        std::thread::spawn(move || {
            for c in l.incoming().take(4000) {
                let Ok(c) = c else { continue };
                let s = s.clone();
                std::thread::spawn(move || accept(c, &s));
            }
        });
        MockApi { port, state }
    }

    /// `127.0.0.1:PORT`, for `--allow-host`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `http://127.0.0.1:PORT`, or `https://` with a TLS acceptor.
    pub fn url(&self) -> String {
        let scheme = if self.state.opts.tls.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// The requests so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.state
            .seen
            .lock()
            .map(|v| v.clone())
            .unwrap_or_default()
    }

    /// How many requests so far were model turns (not model lists or websocket attempts).
    pub fn turns(&self) -> usize {
        self.seen()
            .iter()
            .filter(|r| r.method == "POST" && model_call(&r.path))
            .count()
    }

    /// How many model turns carried a tool's result back.
    pub fn tool_results(&self) -> usize {
        self.seen().iter().filter(|r| r.tool_result).count()
    }

    /// Where the secret labelled `label` was seen (all false if no request had it).
    pub fn presence(&self, label: &str) -> Presence {
        let i = self.state.opts.secrets.iter().position(|(l, _)| l == label);
        let i = i.unwrap_or_else(|| panic!("no expected secret labelled {label}"));
        self.state.presence.lock().map(|v| v[i]).unwrap_or_default()
    }
}

fn model_call(path: &str) -> bool {
    [
        "/responses",
        "/messages",
        "enerateContent",
        "/chat/completions",
    ]
    .iter()
    .any(|p| path.contains(p))
}

/// Wrap one accepted connection (TLS hook) and serve it.
fn accept(c: TcpStream, st: &State) {
    let _ = c.set_read_timeout(Some(Duration::from_secs(30)));
    let _ = c.set_write_timeout(Some(Duration::from_secs(30)));
    let conn: Box<dyn Conn> = match &st.opts.tls {
        Some(wrap) => match wrap(c) {
            Ok(w) => w,
            Err(_) => return,
        },
        None => Box::new(c),
    };
    serve(conn, st);
}

/// One parsed request.
struct Request {
    method: String,
    path: String,
    /// Lower-case names and values.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// Serve requests on one connection (keep-alive) until the client closes it.
fn serve(c: Box<dyn Conn>, st: &State) {
    let mut r = BufReader::new(c);
    for _ in 0..200 {
        let Some(req) = read_request(&mut r) else {
            return;
        };
        record_secrets(&req, st);
        let json: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        let tool_result = carries_tool_result(&json);
        if let Ok(mut v) = st.seen.lock() {
            v.push(Seen {
                method: req.method.clone(),
                path: req.path.clone(),
                tool_result,
            });
        }
        let tool = match (&st.opts.tool_command, tool_result) {
            (Some(cmd), false) => Some(cmd.as_str()),
            _ => None,
        };
        let (status, ctype, payload) = answer(&req.method, &req.path, &json, tool);
        let head = format!(
            "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nCache-Control: no-cache\r\n\r\n",
            payload.len()
        );
        let w = r.get_mut();
        if w.write_all(head.as_bytes()).is_err() || w.write_all(&payload).is_err() {
            return;
        }
        let _ = w.flush();
    }
}

/// Headers that carry the API key, per API.
const AUTH_HEADERS: &[&str] = &["authorization", "x-api-key", "x-goog-api-key", "api-key"];

/// Note where each expected secret appears in `req` (booleans only).
fn record_secrets(req: &Request, st: &State) {
    if st.opts.secrets.is_empty() {
        return;
    }
    let query_key = req
        .path
        .split_once('?')
        .map(|(_, q)| {
            q.split('&')
                .filter_map(|kv| kv.strip_prefix("key="))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let encoded = req
        .headers
        .iter()
        .any(|(k, v)| k == "content-encoding" && v != "identity");
    let Ok(mut pres) = st.presence.lock() else {
        return;
    };
    for ((_, value), p) in st.opts.secrets.iter().zip(pres.iter_mut()) {
        if value.is_empty() {
            continue;
        }
        for (k, v) in &req.headers {
            if v.contains(value.as_str()) {
                if AUTH_HEADERS.contains(&k.as_str()) {
                    p.in_auth = true;
                } else {
                    p.in_other_header = true;
                }
            }
        }
        if query_key.iter().any(|q| q.contains(value.as_str())) {
            p.in_auth = true;
        }
        if encoded {
            p.body_unchecked = true;
        } else if contains(&req.body, value.as_bytes()) {
            p.in_body = true;
        }
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// The request hands back a tool's result: a Responses `function_call_output` input item, an
/// Anthropic `tool_result` block, a Gemini `functionResponse` part, or a chat `tool` message.
fn carries_tool_result(req: &Value) -> bool {
    let items = |k: &str| req[k].as_array().cloned().unwrap_or_default();
    let responses = items("input").iter().any(|i| {
        matches!(
            i["type"].as_str(),
            Some("function_call_output" | "custom_tool_call_output" | "local_shell_call_output")
        )
    });
    let messages = items("messages").iter().any(|m| {
        m["role"] == "tool"
            || m["content"]
                .as_array()
                .is_some_and(|c| c.iter().any(|b| b["type"] == "tool_result"))
    });
    let gemini = items("contents").iter().any(|c| {
        c["parts"]
            .as_array()
            .is_some_and(|p| p.iter().any(|x| x.get("functionResponse").is_some()))
    });
    responses || messages || gemini
}

/// The next request (Content-Length or chunked body), or `None`.
fn read_request(r: &mut impl BufRead) -> Option<Request> {
    let mut line = String::new();
    if r.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let (mut len, mut chunked) = (0usize, false);
    let mut headers = Vec::new();
    for _ in 0..200 {
        let mut h = String::new();
        if r.read_line(&mut h).ok()? == 0 {
            return None;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':').unwrap_or((h, ""));
        let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().to_string());
        if k == "content-length" {
            len = v.parse().ok()?;
        } else if k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked") {
            chunked = true;
        }
        headers.push((k, v));
    }
    let body = read_body(r, len, chunked)?;
    Some(Request {
        method,
        path,
        headers,
        body,
    })
}

/// A body of `len` bytes, or chunked; at most 16 MiB.
fn read_body(r: &mut impl BufRead, len: usize, chunked: bool) -> Option<Vec<u8>> {
    const MAX: usize = 16 << 20;
    let mut body = Vec::new();
    if !chunked {
        if len > MAX {
            return None;
        }
        body.resize(len, 0);
        r.read_exact(&mut body).ok()?;
        return Some(body);
    }
    loop {
        let mut sz = String::new();
        r.read_line(&mut sz).ok()?;
        let n = usize::from_str_radix(sz.trim().split(';').next()?, 16).ok()?;
        if n == 0 {
            let mut end = String::new();
            r.read_line(&mut end).ok()?;
            return Some(body);
        }
        if body.len() + n > MAX {
            return None;
        }
        let mut chunk = vec![0u8; n + 2];
        r.read_exact(&mut chunk).ok()?;
        body.extend_from_slice(&chunk[..n]);
    }
}

/// The response for one request: status line tail, content type, body. With `tool`, a model
/// turn that offers a shell tool asks for that command instead of answering.
fn answer(
    method: &str,
    path: &str,
    req: &Value,
    tool: Option<&str>,
) -> (&'static str, &'static str, Vec<u8>) {
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
        return match tool.and_then(|c| responses_call(req, c)) {
            Some(item) => sse(responses_sse(item)),
            None => sse(responses_sse(responses_text())),
        };
    }
    if path.contains("/messages") && path.contains("count_tokens") {
        return ok_json(json!({"input_tokens": 1}));
    }
    if path.contains("/messages") {
        let block = tool.filter(|_| offers(req, "tools", "Bash")).map(|c| {
            json!({"type": "tool_use", "id": "toolu_mock1", "name": "Bash",
                "input": {"command": c, "description": "Run the mock's command"}})
        });
        return if stream {
            sse(anthropic_sse(block))
        } else {
            ok_json(anthropic_message(block))
        };
    }
    if path.contains(":countTokens") {
        return ok_json(json!({"totalTokens": 1}));
    }
    if path.contains(":generateContent") || path.contains(":streamGenerateContent") {
        let d = gemini_answer(req, tool);
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

/// The request's tool list (`key`) has a function named `name` (top level, or Gemini's
/// `functionDeclarations`).
fn offers(req: &Value, key: &str, name: &str) -> bool {
    let tools = req[key].as_array().cloned().unwrap_or_default();
    tools.iter().any(|t| {
        t["name"] == name
            || t["functionDeclarations"]
                .as_array()
                .is_some_and(|d| d.iter().any(|f| f["name"] == name))
    })
}

/// A Responses API function call of the shell tool the request offers (Codex names it by
/// model family), or `None` when it offers none.
fn responses_call(req: &Value, cmd: &str) -> Option<Value> {
    let args = if offers(req, "tools", "exec_command") {
        ("exec_command", json!({"cmd": cmd}))
    } else if offers(req, "tools", "shell_command") {
        ("shell_command", json!({"command": cmd}))
    } else if offers(req, "tools", "shell") {
        ("shell", json!({"command": ["bash", "-lc", cmd]}))
    } else {
        return None;
    };
    Some(
        json!({"type": "function_call", "id": "fc_mock1", "call_id": "call_mock1",
        "status": "completed", "name": args.0, "arguments": args.1.to_string()}),
    )
}

/// The Responses API's assistant message with [`MOCK_REPLY`].
fn responses_text() -> Value {
    json!({"type": "message", "id": "msg_1", "status": "completed", "role": "assistant",
        "content": [{"type": "output_text", "text": MOCK_REPLY, "annotations": []}]})
}

fn events(list: &[(&str, Value)]) -> String {
    list.iter()
        .map(|(e, d)| format!("event: {e}\ndata: {d}\n\n"))
        .collect()
}

/// The OpenAI Responses API's stream for one output item (a message or a function call).
fn responses_sse(item: Value) -> String {
    let resp = json!({"id": "resp_1", "object": "response", "created_at": 1, "status": "in_progress",
        "model": "mock", "output": [], "usage": null});
    let mut done = resp.clone();
    done["status"] = json!("completed");
    done["output"] = json!([item]);
    done["usage"] = json!({"input_tokens": 1, "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": 1, "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 2});
    let at = |n: u32, kind: &str, mut v: Value| {
        v["type"] = json!(kind);
        v["sequence_number"] = json!(n);
        v
    };
    let mut list = vec![(
        "response.created",
        at(0, "response.created", json!({"response": resp})),
    )];
    if item["type"] == "message" {
        list.extend(message_events(&item, &at));
    } else {
        let mut added = item.clone();
        added["status"] = json!("in_progress");
        added["arguments"] = json!("");
        let ids = json!({"item_id": item["id"], "output_index": 0});
        let mut args = ids.clone();
        args["arguments"] = item["arguments"].clone();
        list.extend([
            (
                "response.output_item.added",
                at(
                    1,
                    "response.output_item.added",
                    json!({"output_index": 0, "item": added}),
                ),
            ),
            (
                "response.function_call_arguments.done",
                at(2, "response.function_call_arguments.done", args),
            ),
        ]);
    }
    list.extend([
        (
            "response.output_item.done",
            at(
                6,
                "response.output_item.done",
                json!({"output_index": 0, "item": item}),
            ),
        ),
        (
            "response.completed",
            at(7, "response.completed", json!({"response": done})),
        ),
    ]);
    events(&list)
}

/// The events that stream one assistant message's text, before its `output_item.done`.
fn message_events(
    msg: &Value,
    at: &dyn Fn(u32, &str, Value) -> Value,
) -> Vec<(&'static str, Value)> {
    let mut added = msg.clone();
    added["status"] = json!("in_progress");
    added["content"] = json!([]);
    let part = |t: &str| json!({"type": "output_text", "text": t, "annotations": []});
    let item = json!({"item_id": msg["id"], "output_index": 0, "content_index": 0});
    let with = |mut base: Value, k: &str, v: Value| {
        base[k] = v;
        base
    };
    vec![
        (
            "response.output_item.added",
            at(
                1,
                "response.output_item.added",
                json!({"output_index": 0, "item": added}),
            ),
        ),
        (
            "response.content_part.added",
            at(
                2,
                "response.content_part.added",
                with(item.clone(), "part", part("")),
            ),
        ),
        (
            "response.output_text.delta",
            at(
                3,
                "response.output_text.delta",
                with(item.clone(), "delta", json!(MOCK_REPLY)),
            ),
        ),
        (
            "response.output_text.done",
            at(
                4,
                "response.output_text.done",
                with(item.clone(), "text", json!(MOCK_REPLY)),
            ),
        ),
        (
            "response.content_part.done",
            at(
                5,
                "response.content_part.done",
                with(item, "part", part(MOCK_REPLY)),
            ),
        ),
    ]
}

/// A whole Messages API answer: `block` (a `tool_use`) or the reply text.
fn anthropic_message(block: Option<Value>) -> Value {
    let stop = if block.is_some() {
        "tool_use"
    } else {
        "end_turn"
    };
    let block = block.unwrap_or_else(|| json!({"type": "text", "text": MOCK_REPLY}));
    json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "mock",
        "content": [block], "stop_reason": stop,
        "stop_sequence": null, "usage": {"input_tokens": 1, "output_tokens": 1}})
}

/// The Anthropic Messages API's stream for one block: `block` (a `tool_use`, its input sent as
/// one JSON delta) or the reply text.
fn anthropic_sse(block: Option<Value>) -> String {
    let stop = if block.is_some() {
        "tool_use"
    } else {
        "end_turn"
    };
    let mut start = anthropic_message(None);
    start["content"] = json!([]);
    start["stop_reason"] = Value::Null;
    let (open, delta) = match block {
        Some(mut b) => {
            let input = b["input"].take().to_string();
            b["input"] = json!({});
            (
                b,
                json!({"type": "input_json_delta", "partial_json": input}),
            )
        }
        None => (
            json!({"type": "text", "text": ""}),
            json!({"type": "text_delta", "text": MOCK_REPLY}),
        ),
    };
    events(&[
        (
            "message_start",
            json!({"type": "message_start", "message": start}),
        ),
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 0, "content_block": open}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": delta}),
        ),
        (
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 0}),
        ),
        (
            "message_delta",
            json!({"type": "message_delta", "delta": {"stop_reason": stop,
                "stop_sequence": null}, "usage": {"output_tokens": 1}}),
        ),
        ("message_stop", json!({"type": "message_stop"})),
    ])
}

/// A Gemini answer: a `run_shell_command` call when asked for one and offered; JSON shaped by
/// the request's response schema when it has one (Gemini CLI routes and checks with such
/// calls); else the reply text.
fn gemini_answer(req: &Value, tool: Option<&str>) -> Value {
    let gc = &req["generationConfig"];
    let schema = [&gc["responseJsonSchema"], &gc["responseSchema"]]
        .into_iter()
        .find(|s| s.is_object());
    let part = match (
        schema,
        tool.filter(|_| offers(req, "tools", "run_shell_command")),
    ) {
        (Some(s), _) => json!({"text": from_schema(s, 0).to_string()}),
        (None, Some(c)) => {
            json!({"functionCall": {"name": "run_shell_command", "args": {"command": c}}})
        }
        (None, None) => json!({"text": MOCK_REPLY}),
    };
    json!({"candidates": [{"content": {"parts": [part], "role": "model"},
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
        chunk(
            json!({"role": "assistant", "content": MOCK_REPLY}),
            Value::Null
        ),
        chunk(json!({}), json!("stop"))
    )
}

/// The mock itself, over a plain socket: each option does what the agent tests rely on.
mod selftest {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// POST `body` to `path` with `headers`; the response's body.
    fn post(port: u16, path: &str, headers: &[(&str, &str)], body: &Value) -> String {
        let mut c = TcpStream::connect(("127.0.0.1", port)).expect("connect to the mock");
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let body = body.to_string();
        let mut req = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (k, v) in headers {
            req += &format!("{k}: {v}\r\n");
        }
        req += "Connection: close\r\n\r\n";
        c.write_all(req.as_bytes()).unwrap();
        c.write_all(body.as_bytes()).unwrap();
        let mut r = BufReader::new(c);
        let mut len = 0;
        for _ in 0..50 {
            let mut h = String::new();
            r.read_line(&mut h).unwrap();
            if h.trim().is_empty() {
                break;
            }
            if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap();
            }
        }
        let mut b = vec![0u8; len];
        r.read_exact(&mut b).unwrap();
        String::from_utf8(b).unwrap()
    }

    #[test]
    fn tool_call_then_final_text_for_codex_claude_and_gemini() {
        let m = MockApi::with(MockOptions::default().tool_call("echo MOCK-TOOL-RAN"));
        // Codex: the shell tool it offers, then the text once the output comes back.
        let tools = json!([{"type": "function", "name": "exec_command"}]);
        let first = post(
            m.port,
            "/v1/responses",
            &[],
            &json!({"stream": true, "tools": tools, "input": []}),
        );
        assert!(
            first.contains("\"name\":\"exec_command\"") && first.contains("MOCK-TOOL-RAN"),
            "{first}"
        );
        assert!(!first.contains(MOCK_REPLY), "{first}");
        let input =
            json!([{"type": "function_call_output", "call_id": "call_mock1", "output": "x"}]);
        let second = post(
            m.port,
            "/v1/responses",
            &[],
            &json!({"tools": tools, "input": input}),
        );
        assert!(
            second.contains(MOCK_REPLY) && !second.contains("function_call\""),
            "{second}"
        );
        // No shell tool offered, or no tool call asked for: plain text.
        let plain = post(m.port, "/v1/responses", &[], &json!({"input": []}));
        assert!(plain.contains(MOCK_REPLY), "{plain}");
        let d = MockApi::start();
        assert_eq!(d.host(), format!("127.0.0.1:{}", d.port));
        let plain = post(
            d.port,
            "/v1/responses",
            &[],
            &json!({"tools": tools, "input": []}),
        );
        assert!(
            plain.contains(MOCK_REPLY) && !plain.contains("exec_command"),
            "{plain}"
        );
        // Claude Code: a Bash tool_use, streamed and whole.
        let tools = json!([{"name": "Bash", "input_schema": {}}]);
        let s = post(
            m.port,
            "/v1/messages",
            &[],
            &json!({"stream": true, "tools": tools, "messages": []}),
        );
        assert!(
            s.contains("\"tool_use\"")
                && s.contains("input_json_delta")
                && s.contains("MOCK-TOOL-RAN"),
            "{s}"
        );
        let w = post(
            m.port,
            "/v1/messages",
            &[],
            &json!({"tools": tools, "messages": []}),
        );
        let w: Value = serde_json::from_str(&w).unwrap();
        assert_eq!(w["content"][0]["input"]["command"], "echo MOCK-TOOL-RAN");
        assert_eq!(w["stop_reason"], "tool_use");
        let msgs = json!([{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_mock1", "content": "x"}]}]);
        let done = post(
            m.port,
            "/v1/messages",
            &[],
            &json!({"tools": tools, "messages": msgs}),
        );
        assert!(done.contains(MOCK_REPLY), "{done}");
        // Gemini CLI: run_shell_command, then text.
        let tools = json!([{"functionDeclarations": [{"name": "run_shell_command"}]}]);
        let path = "/v1beta/models/m:generateContent";
        let g = post(m.port, path, &[], &json!({"tools": tools, "contents": []}));
        assert!(
            g.contains("\"functionCall\"") && g.contains("MOCK-TOOL-RAN"),
            "{g}"
        );
        let contents = json!([{"role": "user", "parts": [{"functionResponse": {"name": "run_shell_command"}}]}]);
        let g = post(
            m.port,
            path,
            &[],
            &json!({"tools": tools, "contents": contents}),
        );
        assert!(g.contains(MOCK_REPLY), "{g}");
        // Streamed (what Gemini CLI calls): SSE `data:` lines.
        let stream = "/v1beta/models/m:streamGenerateContent?alt=sse";
        let g = post(m.port, stream, &[], &json!({"contents": []}));
        assert!(g.starts_with("data: {") && g.contains(MOCK_REPLY), "{g}");
        assert_eq!(m.tool_results(), 3);
        assert_eq!(m.turns(), 9);
    }

    #[test]
    fn secret_presence_is_recorded_as_booleans() {
        // Made here, so no real value is ever involved.
        let (a, b, c) = ("MOCK-SECRET-A-91", "MOCK-SECRET-B-92", "MOCK-SECRET-C-93");
        let m = MockApi::with(
            MockOptions::default()
                .expect_secret("a", a)
                .expect_secret("b", b)
                .expect_secret("c", c),
        );
        let auth = format!("Bearer {a}");
        post(
            m.port,
            "/v1/responses",
            &[("Authorization", &auth), ("X-Other", c)],
            &json!({"x": b}),
        );
        post(
            m.port,
            &format!("/v1beta/models/m:generateContent?key={c}"),
            &[],
            &json!({}),
        );
        let want = |in_auth, in_other_header, in_body| Presence {
            in_auth,
            in_other_header,
            in_body,
            body_unchecked: false,
        };
        assert_eq!(m.presence("a"), want(true, false, false));
        assert_eq!(m.presence("b"), want(false, false, true));
        assert_eq!(m.presence("c"), want(true, true, false));
        let m = MockApi::with(MockOptions::default().expect_secret("a", a));
        post(
            m.port,
            "/v1/messages",
            &[("Content-Encoding", "zstd")],
            &json!({}),
        );
        assert!(m.presence("a").body_unchecked && !m.presence("a").in_body);
    }

    #[test]
    fn tls_hook_wraps_every_connection() {
        static WRAPPED: AtomicUsize = AtomicUsize::new(0);
        // A pass-through "TLS" layer: what matters is that every connection goes through it.
        let m = MockApi::with(MockOptions::default().tls(|c| {
            WRAPPED.fetch_add(1, Ordering::SeqCst);
            Ok(Box::new(c) as Box<dyn Conn>)
        }));
        assert!(m.url().starts_with("https://127.0.0.1:"), "{}", m.url());
        let r = post(m.port, "/v1/chat/completions", &[], &json!({}));
        assert!(r.contains(MOCK_REPLY), "{r}");
        post(m.port, "/v1/chat/completions", &[], &json!({}));
        assert_eq!(WRAPPED.load(Ordering::SeqCst), 2);
        assert_eq!(m.seen().len(), 2);
        let refused =
            MockApi::with(MockOptions::default().tls(|_| Err(std::io::Error::other("no"))));
        let mut c = TcpStream::connect(("127.0.0.1", refused.port)).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let _ = c.write_all(b"GET / HTTP/1.1\r\n\r\n");
        let mut buf = [0u8; 16];
        assert_eq!(
            c.read(&mut buf).unwrap_or(0),
            0,
            "a refused handshake drops the connection"
        );
    }
}
