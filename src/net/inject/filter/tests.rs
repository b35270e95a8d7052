use super::*;
use crate::net::inject::{Secret, Target, AUTH_HEADERS};

const REAL: &str = "sk-real-0123456789abcdefXYZ";
const PH: &str = "sk-agentboxQ7xK9mP2vR4tW8zA";

fn cred(name: &str, real: &str, ph: &str, query: bool) -> Arc<Credential> {
    assert_eq!(real.len(), ph.len());
    Arc::new(Credential {
        name: name.into(),
        placeholder: ph.into(),
        real: Secret::new(real.as_bytes().to_vec()),
        targets: vec![Target {
            host: "api.example.com".into(),
            port: 443,
            cleartext: false,
        }],
        headers: AUTH_HEADERS.iter().map(|s| s.to_string()).collect(),
        query,
    })
}

fn ex(form: Form, query: bool) -> Exchange {
    let other = cred(
        "OTHER_KEY",
        "other-real-value-0123",
        "other-agentbox-PH-012",
        false,
    );
    Exchange::new(
        "api.example.com",
        443,
        form,
        HostRules {
            inject: vec![cred("API_KEY", REAL, PH, query)],
            others: vec![other],
        },
    )
}

fn up(e: &mut Exchange, data: &str) -> String {
    let mut out = Vec::new();
    e.client_bytes(data.as_bytes(), &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn down(e: &mut Exchange, data: &[u8]) -> Vec<u8> {
    let (mut out, mut ups) = (Vec::new(), Vec::new());
    e.upstream_bytes(data, &mut out, &mut ups).unwrap();
    out
}

#[test]
fn auth_headers_get_the_real_value_on_every_request() {
    let mut e = ex(Form::Origin, false);
    let reqs = format!(
        "GET /a HTTP/1.1\r\nHost: api.example.com\r\nAuthorization: Bearer {PH}\r\nAccept-Encoding: gzip\r\n\r\n\
         POST /b?key={PH} HTTP/1.1\r\nHost: api.example.com:443\r\nx-api-key: {PH}\r\nX-Echo: {PH}\r\nContent-Length: 4\r\n\r\nbody\
         GET /c HTTP/1.1\r\nHost: api.example.com\r\nX-Goog-Api-Key: {PH}\r\n\r\n"
    );
    // In one piece and byte by byte: the same requests go up.
    let whole = up(&mut e, &reqs);
    let mut e2 = ex(Form::Origin, false);
    let mut bytewise = String::new();
    for b in reqs.as_bytes().chunks(1) {
        bytewise.push_str(&up(&mut e2, std::str::from_utf8(b).unwrap()));
    }
    assert_eq!(whole, bytewise);
    assert_eq!(e.requests, 3);
    assert!(
        whole.contains(&format!("Authorization: Bearer {REAL}\r\n")),
        "{whole}"
    );
    assert!(whole.contains(&format!("x-api-key: {REAL}\r\n")));
    assert!(whole.contains(&format!("X-Goog-Api-Key: {REAL}\r\n")));
    // Not arbitrary headers, not the query unless asked: the placeholder goes as it is.
    assert!(whole.contains(&format!("X-Echo: {PH}\r\n")));
    assert!(whole.contains(&format!("POST /b?key={PH} ")));
    assert!(whole.contains("Accept-Encoding: identity\r\n") && !whole.contains("gzip"));
    assert!(whole.contains("\r\n\r\nbodyGET /c"));
    let u = e.uses();
    let k = u.iter().find(|x| x.name == "API_KEY").unwrap();
    assert_eq!((k.injected, k.unchanged), (3, 1));
}

#[test]
fn basic_auth_is_decoded_and_encoded_again() {
    let mut e = ex(Form::Origin, false);
    let b = base64(format!("x-access-token:{PH}").as_bytes());
    let out = up(
        &mut e,
        &format!(
            "GET /info/refs HTTP/1.1\r\nHost: api.example.com\r\nAuthorization: Basic {b}\r\n\r\n"
        ),
    );
    let want = base64(format!("x-access-token:{REAL}").as_bytes());
    assert!(
        out.contains(&format!("Authorization: Basic {want}\r\n")),
        "{out}"
    );
}

#[test]
fn query_when_the_credential_asks() {
    let mut e = ex(Form::Origin, true);
    let out = up(
        &mut e,
        &format!("GET /v1/m?key={PH}&x=1 HTTP/1.1\r\nHost: api.example.com\r\n\r\n"),
    );
    assert!(
        out.starts_with(&format!("GET /v1/m?key={REAL}&x=1 HTTP/1.1\r\n")),
        "{out}"
    );
}

#[test]
fn another_credentials_placeholder_is_counted_not_replaced() {
    let mut e = ex(Form::Origin, false);
    let out = up(
        &mut e,
        "GET / HTTP/1.1\r\nHost: api.example.com\r\nAuthorization: Bearer other-agentbox-PH-012\r\n\r\n",
    );
    assert!(out.contains("Bearer other-agentbox-PH-012"));
    let u = e.uses();
    assert_eq!(
        u.iter().find(|x| x.name == "OTHER_KEY").unwrap().unchanged,
        1
    );
}

#[test]
fn responses_lose_the_real_value_whatever_the_framing() {
    let mut e = ex(Form::Origin, false);
    up(&mut e, "GET / HTTP/1.1\r\nHost: api.example.com\r\n\r\nGET / HTTP/1.1\r\nHost: api.example.com\r\n\r\n");
    let (a, b) = REAL.split_at(10);
    let chunked = format!(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Key: {REAL}\r\n\r\n{:x}\r\nkey {a}\r\n{:x}\r\n{b} end\r\n0\r\n\r\n",
        a.len() + 4,
        b.len() + 4
    );
    let body = format!("echo {REAL}");
    let sized = format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let all = format!("{chunked}{sized}");
    let mut out = Vec::new();
    for piece in all.as_bytes().chunks(7) {
        out.extend(down(&mut e, piece));
    }
    let text = String::from_utf8(out).unwrap();
    assert!(!text.contains(REAL), "{text}");
    assert!(text.contains(&format!("X-Key: {PH}")));
    // Re-framed chunks still decode to the body with the placeholder.
    let mut c = Chunks::new();
    let start = text.find("\r\n\r\n").unwrap() + 4;
    let mut data = Vec::new();
    let used = c
        .feed(&text.as_bytes()[start..], |p| {
            if let Piece::Data(d) = p {
                data.extend_from_slice(d)
            }
        })
        .unwrap();
    assert_eq!(String::from_utf8(data).unwrap(), format!("key {PH} end"));
    assert!(
        text[start + used..].ends_with(&format!("Content-Length: {}\r\n\r\necho {PH}", body.len()))
    );
    assert!(e.idle());
    assert_eq!(
        e.uses()
            .iter()
            .find(|u| u.name == "API_KEY")
            .unwrap()
            .masked,
        3
    );
}

#[test]
fn websocket_upgrade_passes_through() {
    let mut e = ex(Form::Origin, false);
    let out = up(
        &mut e,
        &format!("GET /ws HTTP/1.1\r\nHost: api.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nAuthorization: Bearer {PH}\r\n\r\nFRAME1"),
    );
    assert!(
        out.contains(REAL) && !out.contains("FRAME1"),
        "held until the answer"
    );
    let (mut d, mut u) = (Vec::new(), Vec::new());
    e.upstream_bytes(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x02hi",
        &mut d,
        &mut u,
    )
    .unwrap();
    assert_eq!(u, b"FRAME1");
    assert!(d.ends_with(b"\r\n\r\n\x81\x02hi"));
    assert_eq!(up(&mut e, "raw bytes"), "raw bytes");
}

#[test]
fn a_request_for_another_host_is_refused() {
    let mut e = ex(Form::Origin, false);
    let mut out = Vec::new();
    let r = e
        .client_bytes(
            b"GET / HTTP/1.1\r\nHost: evil.example.net\r\n\r\n",
            &mut out,
        )
        .unwrap_err();
    assert_eq!(r.status, 421);
    assert!(out.is_empty());
    let r = e
        .client_bytes(b"GET / HTTP/1.1\r\nHost: api.example.com\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", &mut out)
        .unwrap_err();
    assert_eq!(r.status, 400);
}

#[test]
fn absolute_form_is_one_request_in_origin_form() {
    let mut e = ex(Form::Absolute, false);
    // The proxy's port for clear text is 80 in this form's default; this exchange is for 443.
    e.port = 80;
    let out = up(
        &mut e,
        &format!("GET http://api.example.com/x HTTP/1.1\r\nHost: api.example.com\r\nProxy-Authorization: Basic abc\r\nConnection: keep-alive\r\nx-api-key: {PH}\r\n\r\n"),
    );
    assert!(out.starts_with("GET /x HTTP/1.1\r\n"), "{out}");
    assert!(
        out.contains("Connection: close\r\n")
            && !out.contains("Proxy-Authorization")
            && !out.contains("keep-alive")
    );
    assert!(out.contains(REAL));
    let d = down(
        &mut e,
        b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok",
    );
    let t = String::from_utf8(d).unwrap();
    assert!(t.contains("Connection: close\r\n") && !t.contains("keep-alive") && t.ends_with("ok"));
    assert!(e.finished());
}
