//! A stand-in for the group robots' and webhook receivers' HTTP APIs (we cannot run the vendors'
//! servers in a test): a small HTTP/1.1 listener on 127.0.0.1 that records every request, checks
//! its signature the way each vendor documents it — computed here with RustCrypto's HMAC, not
//! with the code under test — and answers what the test scripts (vendor error codes, 429/5xx, or
//! no answer at all after reading the request).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use hmac::{KeyInit, Mac};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

/// Which API the stand-in plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vendor {
    /// 企业微信群机器人: the key is in the URL, no signature.
    Wecom,
    /// 钉钉自定义机器人 加签: `timestamp` (ms) and `sign` in the query string.
    Dingtalk,
    /// 飞书自定义机器人 签名校验: `timestamp` (s) and `sign` in the JSON body.
    Feishu,
    /// Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature` headers.
    Webhook,
}

/// What to answer one request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// HTTP status and body.
    Answer(u16, String),
    /// Read the whole request, then never answer (the sender cannot know whether it arrived).
    Hang,
}

/// One request as received.
#[derive(Debug, Clone)]
pub struct Request {
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// Whether the signature checked out (None: the vendor has none).
    pub signature_ok: Option<bool>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

struct State {
    requests: Vec<Request>,
    script: VecDeque<Reply>,
}

/// A running stand-in; stops when dropped.
pub struct RobotSink {
    pub port: u16,
    pub vendor: Vendor,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for RobotSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn hmac(key: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut m = match <hmac::Hmac<sha2_hmac::Sha256> as KeyInit>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC takes a key of any length"),
    };
    m.update(msg);
    m.finalize().into_bytes().to_vec()
}

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn url_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let Some(Ok(v)) = s.get(i + 1..i + 3).map(|h| u8::from_str_radix(h, 16))
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn query(target: &str, key: &str) -> Option<String> {
    let q = target.split_once('?')?.1;
    q.split('&').find_map(|kv| kv.split_once('=').filter(|(k, _)| *k == key).map(|(_, v)| v.to_owned()))
}

/// Checks a request's signature as the vendor documents it.
fn verify(vendor: Vendor, secret: &str, r: &Request) -> Option<bool> {
    if secret.is_empty() {
        return None;
    }
    match vendor {
        Vendor::Wecom => None,
        Vendor::Dingtalk => {
            // string_to_sign = timestamp + "\n" + secret; HMAC-SHA256 keyed with the secret;
            // base64; URL-encoded in the query.
            let (Some(ts), Some(sign)) = (query(&r.target, "timestamp"), query(&r.target, "sign")) else {
                return Some(false);
            };
            let want = b64(&hmac(secret.as_bytes(), format!("{ts}\n{secret}").as_bytes()));
            Some(ts.len() == 13 && url_decode(&sign) == want)
        }
        Vendor::Feishu => {
            // string_to_sign = timestamp + "\n" + secret is the HMAC *key*; the message is empty.
            let v = r.json();
            let (Some(ts), Some(sign)) = (v["timestamp"].as_str(), v["sign"].as_str()) else { return Some(false) };
            let want = b64(&hmac(format!("{ts}\n{secret}").as_bytes(), b""));
            Some(ts.len() == 10 && sign == want)
        }
        Vendor::Webhook => {
            let (Some(id), Some(ts), Some(sigs)) =
                (r.header("webhook-id"), r.header("webhook-timestamp"), r.header("webhook-signature"))
            else {
                return Some(false);
            };
            let key = match secret.strip_prefix("whsec_") {
                Some(k) => base64::engine::general_purpose::STANDARD.decode(k).unwrap_or_default(),
                None => secret.as_bytes().to_vec(),
            };
            let want = format!("v1,{}", b64(&hmac(&key, format!("{id}.{ts}.{}", r.body).as_bytes())));
            Some(sigs.split(' ').any(|s| s == want))
        }
    }
}

/// What the vendor answers a good request, and a request with a bad signature.
fn answers(vendor: Vendor) -> (Reply, Reply) {
    match vendor {
        Vendor::Wecom | Vendor::Dingtalk => (
            Reply::Answer(200, r#"{"errcode":0,"errmsg":"ok"}"#.into()),
            Reply::Answer(200, r#"{"errcode":310000,"errmsg":"sign not match"}"#.into()),
        ),
        Vendor::Feishu => (
            Reply::Answer(200, r#"{"code":0,"msg":"success","data":{}}"#.into()),
            Reply::Answer(200, r#"{"code":19021,"msg":"sign match fail or timestamp is not within one hour"}"#.into()),
        ),
        Vendor::Webhook => (Reply::Answer(204, String::new()), Reply::Answer(401, "bad signature".into())),
    }
}

impl RobotSink {
    /// Starts a stand-in for `vendor` whose robot or endpoint has `secret` ('' for none).
    pub async fn start(vendor: Vendor, secret: &str) -> RobotSink {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the robot stand-in");
        let port = l.local_addr().expect("local address").port();
        let state = Arc::new(Mutex::new(State { requests: vec![], script: VecDeque::new() }));
        let st = state.clone();
        let secret = secret.to_owned();
        let task = tokio::spawn(async move {
            while let Ok((s, _)) = l.accept().await {
                let st = st.clone();
                let secret = secret.clone();
                tokio::spawn(async move {
                    let _ = serve(s, vendor, &secret, st).await;
                });
            }
        });
        RobotSink { port, vendor, state, task }
    }

    /// The robot's URL (as the vendor gives it, with its token in the query).
    pub fn url(&self) -> String {
        match self.vendor {
            Vendor::Wecom => format!("http://127.0.0.1:{}/cgi-bin/webhook/send?key=test-key", self.port),
            Vendor::Dingtalk => format!("http://127.0.0.1:{}/robot/send?access_token=test-token", self.port),
            Vendor::Feishu => format!("http://127.0.0.1:{}/open-apis/bot/v2/hook/test-hook", self.port),
            Vendor::Webhook => format!("http://127.0.0.1:{}/hooks/loopdesk", self.port),
        }
    }

    /// The next requests get these answers, in order (then the vendor's success again).
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.state.lock().expect("stand-in state").script.extend(replies);
    }

    pub fn requests(&self) -> Vec<Request> {
        self.state.lock().expect("stand-in state").requests.clone()
    }

    /// Waits until `n` requests arrived (at most 20 s).
    pub async fn wait_for(&self, n: usize) -> Vec<Request> {
        for _ in 0..400 {
            let r = self.requests();
            if r.len() >= n {
                return r;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the robot stand-in got {} requests, not {n}", self.requests().len());
    }
}

async fn serve(s: tokio::net::TcpStream, vendor: Vendor, secret: &str, st: Arc<Mutex<State>>) -> std::io::Result<()> {
    let (r, mut w) = s.into_split();
    let mut r = BufReader::new(r);
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let target = line.split(' ').nth(1).unwrap_or("").to_owned();
        let mut headers = vec![];
        loop {
            let mut h = String::new();
            if r.read_line(&mut h).await? == 0 {
                return Ok(());
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.push((k.trim().to_owned(), v.trim().to_owned()));
            }
        }
        let len: usize = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        r.read_exact(&mut body).await?;
        let mut req =
            Request { target, headers, body: String::from_utf8_lossy(&body).into_owned(), signature_ok: None };
        req.signature_ok = verify(vendor, secret, &req);
        let (good, bad) = answers(vendor);
        let reply = {
            let mut g = st.lock().expect("stand-in state");
            let scripted = g.script.pop_front();
            let ok = req.signature_ok != Some(false);
            g.requests.push(req);
            match scripted {
                Some(x) => x,
                None if ok => good,
                None => bad,
            }
        };
        match reply {
            Reply::Hang => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                return Ok(());
            }
            Reply::Answer(status, body) => {
                let head = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                    body.len()
                );
                w.write_all(head.as_bytes()).await?;
                w.write_all(body.as_bytes()).await?;
                w.flush().await?;
            }
        }
    }
}
