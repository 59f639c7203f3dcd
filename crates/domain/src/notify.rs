//! Telling people (spec C11, C12): the rules of the outbox — channels and statuses, the retry
//! schedule, how a provider's answer is classified, the SMTP address format, the signatures the
//! group robots and Standard Webhooks expect, and the messages themselves in zh-CN and en.
//!
//! Pure: times come in as arguments, nothing here sends anything.

use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};

use crate::locale::Locale;

pub mod robot;
pub mod staff;

/// Where a message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    Email,
    Webhook,
    Wecom,
    Dingtalk,
    Feishu,
}

impl Channel {
    pub const ALL: [Channel; 5] =
        [Channel::Email, Channel::Webhook, Channel::Wecom, Channel::Dingtalk, Channel::Feishu];

    pub fn code(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Webhook => "webhook",
            Channel::Wecom => "wecom",
            Channel::Dingtalk => "dingtalk",
            Channel::Feishu => "feishu",
        }
    }

    pub fn parse(s: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.code() == s)
    }

    /// Whether a receiver can drop a duplicate (a stable Message-ID or webhook-id): only then may
    /// an ambiguous send be retried by itself. Group robots have no idempotency key.
    pub fn idempotent(self) -> bool {
        matches!(self, Channel::Email | Channel::Webhook)
    }
}

/// Where a message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Pending,
    InFlight,
    Sent,
    /// A robot send whose fate is unknown; waits for an admin's "send again".
    Uncertain,
    Failed,
    Cancelled,
    /// Held back by its destination's send budget and merged into a digest message.
    Merged,
}

impl Status {
    pub const ALL: [Status; 7] = [
        Status::Pending,
        Status::InFlight,
        Status::Sent,
        Status::Uncertain,
        Status::Failed,
        Status::Cancelled,
        Status::Merged,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::InFlight => "in_flight",
            Status::Sent => "sent",
            Status::Uncertain => "uncertain",
            Status::Failed => "failed",
            Status::Cancelled => "cancelled",
            Status::Merged => "merged",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|c| c.code() == s)
    }
}

/// How long a node may hold a claimed message before another node treats the send as ambiguous
/// (the default; the configuration may shorten it).
pub const LEASE: Duration = Duration::seconds(120);

/// How long after its first enqueue a message is still retried.
pub const GIVE_UP_AFTER: Duration = Duration::days(3);

/// When to try again after `attempts` tries have not delivered a message enqueued at `created`,
/// or `None` when it is time to give up: at once, then 10 s, 1 min, 5 min, 30 min, 2 h, 6 h, and
/// every 6 h after, for three days.
pub fn next_attempt(created: DateTime<Utc>, now: DateTime<Utc>, attempts: i64) -> Option<DateTime<Utc>> {
    let wait = match attempts {
        i64::MIN..=1 => Duration::seconds(10),
        2 => Duration::minutes(1),
        3 => Duration::minutes(5),
        4 => Duration::minutes(30),
        5 => Duration::hours(2),
        _ => Duration::hours(6),
    };
    let at = now + wait;
    (at <= created + GIVE_UP_AFTER).then_some(at)
}

/// What one try came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Sent,
    /// Certainly not delivered (refused connection, 429/5xx, a robot's rate limit): try again.
    NotDelivered {
        code: String,
        reason: String,
    },
    /// Refused for good (bad address, bad signature, missing keyword, 4xx): failed at once.
    Rejected {
        code: String,
        reason: String,
    },
    /// The request went out and no answer came back.
    Ambiguous {
        reason: String,
    },
}

impl Outcome {
    /// The attempt row's outcome word.
    pub fn word(&self) -> &'static str {
        match self {
            Outcome::Sent => "sent",
            Outcome::NotDelivered { .. } => "retry",
            Outcome::Rejected { .. } => "rejected",
            Outcome::Ambiguous { .. } => "ambiguous",
        }
    }

    pub fn code(&self) -> &str {
        match self {
            Outcome::NotDelivered { code, .. } | Outcome::Rejected { code, .. } => code,
            _ => "",
        }
    }

    pub fn reason(&self) -> &str {
        match self {
            Outcome::NotDelivered { reason, .. } | Outcome::Rejected { reason, .. } | Outcome::Ambiguous { reason } => {
                reason
            }
            Outcome::Sent => "",
        }
    }
}

/// What to do with a message after a try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    Sent,
    RetryAt(DateTime<Utc>),
    Failed,
    Uncertain,
}

/// The message's next status after `outcome`, on `channel`, after `attempts` tries.
pub fn decide(channel: Channel, outcome: &Outcome, created: DateTime<Utc>, now: DateTime<Utc>, attempts: i64) -> Next {
    match outcome {
        Outcome::Sent => Next::Sent,
        Outcome::Rejected { .. } => Next::Failed,
        Outcome::Ambiguous { .. } if !channel.idempotent() => Next::Uncertain,
        Outcome::Ambiguous { .. } | Outcome::NotDelivered { .. } => {
            next_attempt(created, now, attempts).map_or(Next::Failed, Next::RetryAt)
        }
    }
}

/// Classifies an HTTP answer of a webhook receiver or a group robot. The robots answer 200 on
/// errors too, so their body decides.
pub fn classify_http(channel: Channel, status: u16, body: &str) -> Outcome {
    let code = status.to_string();
    let excerpt = excerpt(body, 200);
    if status == 429 || status >= 500 {
        return Outcome::NotDelivered { code, reason: excerpt };
    }
    if !(200..300).contains(&status) {
        return Outcome::Rejected { code, reason: excerpt };
    }
    let json: serde_json::Value = match channel {
        Channel::Email | Channel::Webhook => return Outcome::Sent,
        _ => match serde_json::from_str(body) {
            Ok(v) => v,
            Err(_) => return Outcome::Rejected { code, reason: format!("unreadable answer: {excerpt}") },
        },
    };
    let num = |k: &str| json.get(k).and_then(serde_json::Value::as_i64);
    let text = |k: &str| json.get(k).and_then(serde_json::Value::as_str).unwrap_or("").to_owned();
    let (errcode, msg) = match channel {
        Channel::Wecom | Channel::Dingtalk => (num("errcode"), text("errmsg")),
        // Feishu answers `code`/`msg`, older bots `StatusCode`/`StatusMessage`.
        _ => match num("code") {
            Some(c) => (Some(c), text("msg")),
            None => (num("StatusCode"), text("StatusMessage")),
        },
    };
    let Some(errcode) = errcode else {
        return Outcome::Rejected { code, reason: format!("answer without a code: {excerpt}") };
    };
    if errcode == 0 {
        return Outcome::Sent;
    }
    let retry = match channel {
        // 45009: api freq out of limit.
        Channel::Wecom => errcode == 45009,
        // 130101: send too fast; 90030: webhook over limit (the quota comes back).
        Channel::Dingtalk => matches!(errcode, 130101 | 90030),
        // 11232: rate limited.
        _ => errcode == 11232,
    };
    let code = errcode.to_string();
    if retry { Outcome::NotDelivered { code, reason: msg } } else { Outcome::Rejected { code, reason: msg } }
}

/// At most `max` characters of `s`, for logs and attempt rows.
pub fn excerpt(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    Plain,
    StartTls,
    /// TLS from the first byte (`smtps://`).
    Tls,
}

/// `smtp://host:port`, `smtp+starttls://…` or `smtps://…`, with `user:password@` when needed.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpUrl {
    pub security: SmtpSecurity,
    pub host: String,
    pub port: u16,
    pub user: Option<String>,
    pub password: Option<String>,
}

impl std::fmt::Debug for SmtpUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpUrl")
            .field("security", &self.security)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .finish()
    }
}

impl SmtpUrl {
    pub fn parse(s: &str) -> Result<SmtpUrl, String> {
        let (scheme, rest) = s.trim().split_once("://").ok_or("must look like smtp://host:port")?;
        let (security, default_port) = match scheme.to_ascii_lowercase().as_str() {
            "smtp" => (SmtpSecurity::Plain, 25),
            "smtp+starttls" => (SmtpSecurity::StartTls, 587),
            "smtps" => (SmtpSecurity::Tls, 465),
            _ => return Err("the scheme must be smtp, smtp+starttls or smtps".into()),
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        let (creds, hostport) = match rest.rsplit_once('@') {
            Some((c, h)) => (Some(c), h),
            None => (None, rest),
        };
        let (user, password) = match creds {
            Some(c) => {
                let (u, p) = c.split_once(':').unwrap_or((c, ""));
                let u = percent_decode(u)?;
                if u.is_empty() {
                    return Err("the user name is empty".into());
                }
                (Some(u), Some(percent_decode(p)?))
            }
            None => (None, None),
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) => (h, p.parse::<u16>().map_err(|_| "the port must be a number from 1 to 65535")?),
            None => (hostport, default_port),
        };
        if port == 0 {
            return Err("the port must be a number from 1 to 65535".into());
        }
        if host.is_empty() || host.contains(['/', '?', '#', '@', ' ', ':', '[', ']']) {
            return Err("the host is missing or malformed".into());
        }
        Ok(SmtpUrl { security, host: host.to_owned(), port, user, password })
    }
}

fn percent_decode(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s.get(i + 1..i + 3).ok_or("a % escape is cut short")?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| "a % escape is not hexadecimal")?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "an escape is not UTF-8".into())
}

/// Percent-encodes everything but unreserved characters (RFC 3986), as DingTalk's `sign` needs.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// HMAC-SHA256 (RFC 2104).
pub fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut k = [0u8; BLOCK];
    if key.len() > BLOCK {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(k.map(|b| b ^ 0x36));
    inner.update(msg);
    let mut outer = Sha256::new();
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// DingTalk 加签: HMAC-SHA256 keyed with the secret over `timestamp\nsecret` (milliseconds),
/// base64, URL-encoded — both go in the query string.
pub fn dingtalk_sign(secret: &str, timestamp_ms: i64) -> String {
    let to_sign = format!("{timestamp_ms}\n{secret}");
    percent_encode(&b64(&hmac_sha256(secret.as_bytes(), to_sign.as_bytes())))
}

/// Feishu signing: HMAC-SHA256 keyed with `timestamp\nsecret` (seconds) over an empty message,
/// base64, not URL-encoded — both go in the JSON body.
pub fn feishu_sign(secret: &str, timestamp_s: i64) -> String {
    let key = format!("{timestamp_s}\n{secret}");
    b64(&hmac_sha256(key.as_bytes(), b""))
}

/// Standard Webhooks `webhook-signature`: `v1,` and base64 HMAC-SHA256 of `id.timestamp.body`,
/// keyed with the secret's bytes (a `whsec_` secret is base64 after its prefix). Several
/// secrets (during a rotation) give several signatures, space-separated.
pub fn webhook_signature(secrets: &[&str], id: &str, timestamp_s: i64, body: &[u8]) -> String {
    let mut msg = format!("{id}.{timestamp_s}.").into_bytes();
    msg.extend_from_slice(body);
    secrets.iter().map(|s| format!("v1,{}", b64(&hmac_sha256(&webhook_key(s), &msg)))).collect::<Vec<_>>().join(" ")
}

fn webhook_key(secret: &str) -> Vec<u8> {
    match secret.strip_prefix("whsec_") {
        Some(rest) => {
            base64::engine::general_purpose::STANDARD.decode(rest).unwrap_or_else(|_| rest.as_bytes().to_vec())
        }
        None => secret.as_bytes().to_vec(),
    }
}

/// Escapes text for HTML element content and attribute values.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A message rendered in its recipient's language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Text that came from users may not break a header: line breaks become spaces.
fn one_line(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect::<String>().trim().to_owned()
}

fn html_page(paragraphs: &[String]) -> String {
    let body: String = paragraphs.iter().map(|p| format!("<p>{p}</p>\n")).collect();
    format!("<!DOCTYPE html>\n<html><body>\n{body}</body></html>\n")
}

/// The customer's acknowledgement: the case number, the tracking code and the portal link.
pub struct Acknowledgement<'a> {
    pub org: &'a str,
    pub number: &'a str,
    pub tracking_code: &'a str,
    pub subject: &'a str,
    pub contact_name: &'a str,
    /// The portal's tracking page.
    pub portal_url: &'a str,
}

pub fn acknowledgement(l: Locale, a: &Acknowledgement<'_>) -> Rendered {
    let (org, number, subj, name) =
        (one_line(a.org), one_line(a.number), one_line(a.subject), one_line(a.contact_name));
    let (code, url) = (a.tracking_code, a.portal_url);
    let e = html_escape;
    match l {
        Locale::ZhCn => {
            let hello = if name.is_empty() { "您好：".to_owned() } else { format!("{name}，您好：") };
            let lines = [
                hello.clone(),
                format!("我们已收到您的反馈「{subj}」，受理编号 {number}。"),
                format!("查询码：{code}"),
                format!("凭编号和查询码可随时查看处理进度：{url}"),
                org.clone(),
            ];
            Rendered {
                subject: format!("[{number}] 已受理：{subj}"),
                text: lines.join("\n\n") + "\n",
                html: html_page(&[
                    e(&hello),
                    format!("我们已收到您的反馈「{}」，受理编号 <strong>{}</strong>。", e(&subj), e(&number)),
                    format!("查询码：<code>{}</code>", e(code)),
                    format!("凭编号和查询码可随时<a href=\"{}\">查看处理进度</a>。", e(url)),
                    e(&org),
                ]),
            }
        }
        Locale::En => {
            let hello = if name.is_empty() { "Hello,".to_owned() } else { format!("Dear {name},") };
            let lines = [
                hello.clone(),
                format!("We have received your message \"{subj}\" as case {number}."),
                format!("Tracking code: {code}"),
                format!("Follow its progress with the number and tracking code at {url}"),
                org.clone(),
            ];
            Rendered {
                subject: format!("[{number}] Received: {subj}"),
                text: lines.join("\n\n") + "\n",
                html: html_page(&[
                    e(&hello),
                    format!("We have received your message \"{}\" as case <strong>{}</strong>.", e(&subj), e(&number)),
                    format!("Tracking code: <code>{}</code>", e(code)),
                    format!("<a href=\"{}\">Follow its progress</a> with the number and tracking code.", e(url)),
                    e(&org),
                ]),
            }
        }
    }
}

/// A department task (信息传递单) sent to a department's people.
pub struct TaskSent<'a> {
    pub number: &'a str,
    pub department: &'a str,
    pub question: &'a str,
    pub due: &'a str,
    pub case_url: &'a str,
}

pub fn task_sent(l: Locale, t: &TaskSent<'_>) -> Rendered {
    let (number, dept, due) = (one_line(t.number), one_line(t.department), one_line(t.due));
    let e = html_escape;
    let (subject, lead, due_word, open) = match l {
        Locale::ZhCn => (
            format!("[{number}] 信息传递单：请{dept}于 {due} 前回复"),
            format!("案件 {number} 向{dept}发出信息传递单："),
            "回复期限",
            "打开案件",
        ),
        Locale::En => (
            format!("[{number}] Task for {dept}: answer by {due}"),
            format!("Case {number} sends {dept} a task:"),
            "Answer by",
            "Open the case",
        ),
    };
    Rendered {
        text: format!("{lead}\n\n{}\n\n{due_word}: {due}\n{open}: {}\n", t.question, t.case_url),
        html: html_page(&[
            e(&lead),
            format!("<blockquote>{}</blockquote>", e(t.question).replace('\n', "<br>")),
            format!("{}: {}", e(due_word), e(&due)),
            format!("<a href=\"{}\">{}</a>", e(t.case_url), e(open)),
        ]),
        subject,
    }
}

/// The Message-ID domain of a sender address (`service@example.com` → `example.com`).
pub fn mail_domain(from: &str) -> &str {
    let addr = from.rsplit('<').next().unwrap_or(from).trim_end_matches('>');
    addr.rsplit_once('@').map(|(_, d)| d.trim()).filter(|d| !d.is_empty()).unwrap_or("loopdesk.invalid")
}

/// The root Message-ID every mail about one case refers to, so they thread together.
pub fn case_thread_root(case_id: i64, domain: &str) -> String {
    format!("case-{case_id}@{domain}")
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).map(|d| d.with_timezone(&Utc)).expect("time")
    }

    #[test]
    fn retries_follow_the_schedule_then_give_up_after_three_days() {
        let c = t("2026-05-01T00:00:00Z");
        assert_eq!(next_attempt(c, c, 1), Some(c + Duration::seconds(10)));
        assert_eq!(next_attempt(c, c, 2), Some(c + Duration::minutes(1)));
        assert_eq!(next_attempt(c, c, 5), Some(c + Duration::hours(2)));
        assert_eq!(next_attempt(c, c, 9), Some(c + Duration::hours(6)));
        let late = c + Duration::days(3) - Duration::hours(5);
        assert_eq!(next_attempt(c, late, 12), None);
    }

    #[test]
    fn an_ambiguous_robot_send_becomes_uncertain_but_mail_is_retried() {
        let c = t("2026-05-01T00:00:00Z");
        let amb = Outcome::Ambiguous { reason: "timeout".into() };
        assert_eq!(decide(Channel::Dingtalk, &amb, c, c, 1), Next::Uncertain);
        assert_eq!(decide(Channel::Feishu, &amb, c, c, 1), Next::Uncertain);
        assert_eq!(decide(Channel::Email, &amb, c, c, 1), Next::RetryAt(c + Duration::seconds(10)));
        assert_eq!(decide(Channel::Webhook, &amb, c, c, 1), Next::RetryAt(c + Duration::seconds(10)));
        let bad = Outcome::Rejected { code: "550".into(), reason: "no such user".into() };
        assert_eq!(decide(Channel::Email, &bad, c, c, 1), Next::Failed);
    }

    #[test]
    fn robot_answers_are_classified_from_the_body() {
        let ok = r#"{"errcode":0,"errmsg":"ok"}"#;
        assert_eq!(classify_http(Channel::Wecom, 200, ok), Outcome::Sent);
        assert_eq!(
            classify_http(Channel::Wecom, 200, r#"{"errcode":45009,"errmsg":"api freq out of limit"}"#).word(),
            "retry"
        );
        assert_eq!(
            classify_http(Channel::Wecom, 200, r#"{"errcode":93000,"errmsg":"invalid webhook url"}"#).word(),
            "rejected"
        );
        let kw = classify_http(Channel::Dingtalk, 200, r#"{"errcode":310000,"errmsg":"keywords not in content"}"#);
        assert_eq!((kw.word(), kw.code()), ("rejected", "310000"));
        assert_eq!(
            classify_http(Channel::Dingtalk, 200, r#"{"errcode":130101,"errmsg":"send too fast"}"#).word(),
            "retry"
        );
        assert_eq!(classify_http(Channel::Feishu, 200, r#"{"code":0,"msg":"success","data":{}}"#), Outcome::Sent);
        assert_eq!(classify_http(Channel::Feishu, 200, r#"{"StatusCode":0,"StatusMessage":"success"}"#), Outcome::Sent);
        assert_eq!(classify_http(Channel::Feishu, 200, r#"{"code":19021,"msg":"sign match fail"}"#).word(), "rejected");
        assert_eq!(classify_http(Channel::Feishu, 200, r#"{"code":11232,"msg":"frequency limited"}"#).word(), "retry");
        assert_eq!(classify_http(Channel::Feishu, 429, "").word(), "retry");
        assert_eq!(classify_http(Channel::Webhook, 503, "").word(), "retry");
        assert_eq!(classify_http(Channel::Webhook, 410, "").word(), "rejected");
        assert_eq!(classify_http(Channel::Webhook, 204, ""), Outcome::Sent);
        assert_eq!(classify_http(Channel::Dingtalk, 200, "<html>").word(), "rejected");
    }

    #[test]
    fn hmac_matches_rfc_4231() {
        // Test case 2 of RFC 4231.
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(hex::encode(mac), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
        // Test case 6: a key longer than the block.
        let mac = hmac_sha256(&[0xaa; 131], b"Test Using Larger Than Block-Size Key - Hash Key First");
        assert_eq!(hex::encode(mac), "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    }

    #[test]
    fn dingtalk_and_feishu_sign_differently() {
        let d = dingtalk_sign("SEC123", 1_700_000_000_000);
        let raw = b64(&hmac_sha256(b"SEC123", b"1700000000000\nSEC123"));
        assert_eq!(d, raw.replace('+', "%2B").replace('/', "%2F").replace('=', "%3D"));
        let f = feishu_sign("SEC123", 1_700_000_000);
        assert_eq!(f, b64(&hmac_sha256(b"1700000000\nSEC123", b"")));
        assert_ne!(percent_encode(&f), d);
    }

    #[test]
    fn standard_webhook_signature_signs_id_timestamp_body_with_each_secret() {
        let key = b64(b"0123456789abcdef0123456789abcdef");
        let one = webhook_signature(&[&format!("whsec_{key}")], "msg_1", 1_700_000_000, b"{}");
        let want = b64(&hmac_sha256(b"0123456789abcdef0123456789abcdef", b"msg_1.1700000000.{}"));
        assert_eq!(one, format!("v1,{want}"));
        let two = webhook_signature(&["old", "new"], "msg_1", 1, b"x");
        assert_eq!(two.split(' ').count(), 2);
        assert!(two.split(' ').all(|s| s.starts_with("v1,")));
    }

    #[test]
    fn smtp_urls_name_security_host_port_and_credentials() {
        let u = SmtpUrl::parse("smtp+starttls://svc%40ex.com:p%3Aw@mail.ex.com:2525").expect("url");
        assert_eq!(u.security, SmtpSecurity::StartTls);
        assert_eq!((u.host.as_str(), u.port), ("mail.ex.com", 2525));
        assert_eq!(u.user.as_deref(), Some("svc@ex.com"));
        assert_eq!(u.password.as_deref(), Some("p:w"));
        assert!(!format!("{u:?}").contains("p:w"));
        assert_eq!(SmtpUrl::parse("smtps://mail.ex.com").expect("url").port, 465);
        assert_eq!(SmtpUrl::parse("smtp://127.0.0.1:1025").expect("url").security, SmtpSecurity::Plain);
        assert!(SmtpUrl::parse("http://x").is_err());
        assert!(SmtpUrl::parse("smtp://:25").is_err());
        assert!(SmtpUrl::parse("smtp://h:0").is_err());
        assert!(SmtpUrl::parse("smtp://h:99999").is_err());
    }

    #[test]
    fn messages_escape_user_text_in_html_and_keep_headers_on_one_line() {
        let a = Acknowledgement {
            org: "Acme",
            number: "TS-2026-000001",
            tracking_code: "abc",
            subject: "<script>x</script>\r\nBcc: evil@x",
            contact_name: "王<b>",
            portal_url: "https://x/track?n=1&c=2",
        };
        for l in Locale::ALL {
            let r = acknowledgement(l, &a);
            assert!(r.subject.contains("TS-2026-000001"));
            assert!(!r.subject.contains('\n') && !r.subject.contains('\r'));
            assert!(r.text.contains("abc") && r.html.contains("abc"));
            assert!(!r.html.contains("<script>") && r.html.contains("&lt;script&gt;"));
            assert!(!r.html.contains("王<b>"));
            assert!(r.html.contains("n=1&amp;c=2"));
        }
        let zh = acknowledgement(Locale::ZhCn, &a);
        assert!(zh.subject.contains("已受理"));
        let en = task_sent(
            Locale::En,
            &TaskSent { number: "TS-1", department: "QA", question: "<why>", due: "2026-05-02", case_url: "u" },
        );
        assert!(en.subject.contains("TS-1") && en.html.contains("&lt;why&gt;") && en.text.contains("<why>"));
    }

    #[test]
    fn thread_root_uses_the_sender_domain() {
        assert_eq!(mail_domain("Acme Service <care@acme.cn>"), "acme.cn");
        assert_eq!(mail_domain("care@acme.cn"), "acme.cn");
        assert_eq!(mail_domain("nobody"), "loopdesk.invalid");
        assert_eq!(case_thread_root(7, "acme.cn"), "case-7@acme.cn");
    }

    proptest! {
        #[test]
        fn smtp_url_parser_never_panics(s in "\\PC{0,80}") {
            let _ = SmtpUrl::parse(&s);
        }

        #[test]
        fn smtp_url_round_trips_what_it_was_built_from(
            host in "[a-z][a-z0-9.-]{0,30}",
            port in 1u16..,
            user in "[a-zA-Z0-9@:%/ ]{1,12}",
            pass in "[a-zA-Z0-9@:%/ ]{0,12}",
            scheme in prop::sample::select(vec!["smtp", "smtp+starttls", "smtps"]),
        ) {
            let url = format!("{scheme}://{}:{}@{host}:{port}", percent_encode(&user), percent_encode(&pass));
            let u = SmtpUrl::parse(&url).map_err(TestCaseError::fail)?;
            prop_assert_eq!(u.host, host);
            prop_assert_eq!(u.port, port);
            prop_assert_eq!(u.user, Some(user));
            prop_assert_eq!(u.password, Some(pass));
        }

        #[test]
        fn html_escape_leaves_no_markup(s in "\\PC{0,60}") {
            let e = html_escape(&s);
            prop_assert!(!e.contains('<') && !e.contains('>') && !e.contains('"'));
        }
    }
}
