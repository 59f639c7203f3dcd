//! Group robots and outgoing webhooks: what a destination is, which events it hears, how a
//! message to a robot is laid out (WeCom and DingTalk markdown, a Feishu card), the Standard
//! Webhooks event body, and the send budget per destination.
//!
//! Pure: the caller brings the time, nothing here sends anything.

use chrono::{DateTime, Duration, DurationRound, Utc};
use serde_json::{Value, json};

use super::Channel;
use crate::DomainError;

/// The events a destination can hear.
pub const EVENT_KINDS: [&str; 6] =
    ["case.created", "case.state_changed", "case.closed", "case.assigned", "case.escalated", "test"];

/// The longest destination name, URL, secret, keyword (the API says the same).
pub const NAME_MAX: usize = 100;
pub const URL_MAX: usize = 500;
pub const SECRET_MAX: usize = 200;
pub const KEYWORD_MAX: usize = 50;
/// The most phone numbers a destination mentions.
pub const MENTIONS_MAX: usize = 20;

/// A robot's documented rate limit per minute: 20 for WeCom and DingTalk, 100 for Feishu; a
/// webhook has none of its own (0).
pub fn default_per_minute(channel: Channel) -> i64 {
    match channel {
        Channel::Wecom | Channel::Dingtalk => 20,
        Channel::Feishu => 100,
        Channel::Email | Channel::Webhook => 0,
    }
}

/// A destination as given by an admin, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestinationSpec {
    pub name: String,
    pub channel: Channel,
    pub url: String,
    pub keyword: String,
    pub mention_phones: Vec<String>,
    pub events: Vec<String>,
    pub per_minute: i64,
}

/// Checks what an admin gave for a destination. Reasons are message keys of `notify.toml`.
#[allow(clippy::too_many_arguments)]
pub fn check_destination(
    name: &str,
    channel: &str,
    url: &str,
    keyword: &str,
    mention_phones: &[String],
    events: &[String],
    per_minute: Option<i64>,
) -> Result<DestinationSpec, DomainError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(DomainError::invalid("name", "notify.err.required"));
    }
    if name.chars().count() > NAME_MAX || name.chars().any(char::is_control) {
        return Err(DomainError::invalid("name", format!("notify.err.too_long|max={NAME_MAX}")));
    }
    let channel = match Channel::parse(channel.trim()) {
        Some(c) if c != Channel::Email => c,
        _ => return Err(DomainError::invalid("channel", "notify.err.destination_channel")),
    };
    let url = url.trim();
    if url.chars().count() > URL_MAX {
        return Err(DomainError::invalid("url", format!("notify.err.too_long|max={URL_MAX}")));
    }
    let lower = url.to_ascii_lowercase();
    let rest = lower.strip_prefix("https://").or_else(|| lower.strip_prefix("http://"));
    if rest.is_none_or(|r| r.is_empty() || r.starts_with('/'))
        || url.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(DomainError::invalid("url", "notify.err.url"));
    }
    let keyword = keyword.trim();
    if keyword.chars().count() > KEYWORD_MAX || keyword.chars().any(char::is_control) {
        return Err(DomainError::invalid("keyword", format!("notify.err.too_long|max={KEYWORD_MAX}")));
    }
    if mention_phones.len() > MENTIONS_MAX {
        return Err(DomainError::invalid("mention_phones", format!("notify.err.too_many|max={MENTIONS_MAX}")));
    }
    let mut phones = Vec::new();
    for p in mention_phones {
        let p = p.trim();
        if p.is_empty() {
            continue;
        }
        if p.len() > 20 || !p.chars().all(|c| c.is_ascii_digit() || c == '+' || c == '-') {
            return Err(DomainError::invalid("mention_phones", "notify.err.phone"));
        }
        phones.push(p.to_owned());
    }
    let mut kinds: Vec<String> = Vec::new();
    for e in events {
        let e = e.trim();
        if !EVENT_KINDS.contains(&e) {
            return Err(DomainError::invalid(
                "events",
                format!("notify.err.event_kind|kinds={}", EVENT_KINDS.join(" ")),
            ));
        }
        if !kinds.iter().any(|k| k == e) {
            kinds.push(e.to_owned());
        }
    }
    if kinds.is_empty() {
        return Err(DomainError::invalid("events", "notify.err.required"));
    }
    let per_minute = per_minute.unwrap_or_else(|| default_per_minute(channel));
    if !(0..=10_000).contains(&per_minute) {
        return Err(DomainError::invalid("per_minute", "notify.err.per_minute"));
    }
    Ok(DestinationSpec {
        name: name.to_owned(),
        channel,
        url: url.to_owned(),
        keyword: keyword.to_owned(),
        mention_phones: phones,
        events: kinds,
        per_minute,
    })
}

/// Checks a secret given for a destination (write-only; empty keeps the stored one).
pub fn check_secret(secret: &str) -> Result<String, DomainError> {
    let s = secret.trim();
    if s.chars().count() > SECRET_MAX || s.chars().any(char::is_control) {
        return Err(DomainError::invalid("secret", format!("notify.err.too_long|max={SECRET_MAX}")));
    }
    Ok(s.to_owned())
}

/// Whether a destination of `department` (None: organisation-wide) hearing `events` wants an
/// event of `kind` about a record of `record_department`.
pub fn hears(events: &str, department: Option<i64>, kind: &str, record_department: Option<i64>) -> bool {
    events.split(',').any(|e| e.trim() == kind) && (department.is_none() || department == record_department)
}

/// What a robot message says: the record's number always comes first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RobotNote {
    pub number: String,
    pub title: String,
    /// Label and value lines (values came from users: they are flattened to one line).
    pub lines: Vec<(String, String)>,
    pub link: String,
}

/// Text from users put into robot markdown: one line, no markup characters that would change
/// the layout or inject links or mentions.
fn md(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            c if c.is_control() => ' ',
            '<' => '‹',
            '>' => '›',
            '[' => '［',
            ']' => '］',
            '*' | '`' | '#' | '@' => ' ',
            c => c,
        })
        .collect::<String>()
        .trim()
        .to_owned()
}

/// The markdown text of a note, with the keyword and mentions a robot needs.
pub fn robot_markdown(n: &RobotNote, keyword: &str, mentions: &[String]) -> String {
    let mut out = format!("**[{}] {}**\n", md(&n.number), md(&n.title));
    for (k, v) in &n.lines {
        out.push_str(&format!("> {}: {}\n", md(k), md(v)));
    }
    if !n.link.is_empty() {
        out.push_str(&format!("\n[{}]({})\n", md(&n.number), n.link.replace([')', ' '], "")));
    }
    if !keyword.is_empty() && !out.contains(keyword) {
        out = format!("【{keyword}】{out}");
    }
    for p in mentions {
        out.push_str(&format!(" @{p}"));
    }
    out
}

/// The JSON body a robot receives (before signing: Feishu's timestamp and sign are added at send
/// time by [`feishu_signed`]; DingTalk's go in the query string).
pub fn robot_body(channel: Channel, n: &RobotNote, keyword: &str, mentions: &[String]) -> Value {
    let text = robot_markdown(n, keyword, mentions);
    let title = format!("[{}] {}", md(&n.number), md(&n.title));
    match channel {
        // WeCom's markdown cannot mention by phone; a message with mentions goes as text.
        Channel::Wecom if !mentions.is_empty() => json!({
            "msgtype": "text",
            "text": { "content": text, "mentioned_mobile_list": mentions },
        }),
        Channel::Wecom => json!({ "msgtype": "markdown", "markdown": { "content": text } }),
        Channel::Dingtalk => json!({
            "msgtype": "markdown",
            "markdown": { "title": title, "text": text },
            "at": { "atMobiles": mentions, "isAtAll": false },
        }),
        _ => {
            let mut elements = vec![json!({ "tag": "markdown", "content": text })];
            if !n.link.is_empty() {
                elements.push(json!({
                    "tag": "action",
                    "actions": [{ "tag": "button", "text": { "tag": "plain_text", "content": md(&n.number) },
                                  "url": n.link, "type": "primary" }],
                }));
            }
            json!({
                "msg_type": "interactive",
                "card": {
                    "header": { "title": { "tag": "plain_text", "content": title } },
                    "elements": elements,
                },
            })
        }
    }
}

/// A Feishu body with its timestamp (seconds) and sign added when the robot has a secret.
pub fn feishu_signed(body: &str, secret: &str, timestamp_s: i64) -> String {
    if secret.is_empty() {
        return body.to_owned();
    }
    let mut v: Value = serde_json::from_str(body).unwrap_or_else(|_| json!({}));
    if let Some(o) = v.as_object_mut() {
        o.insert("timestamp".into(), Value::String(timestamp_s.to_string()));
        o.insert("sign".into(), Value::String(super::feishu_sign(secret, timestamp_s)));
    }
    v.to_string()
}

/// The DingTalk URL with `timestamp` (milliseconds) and `sign` when the robot has a secret.
pub fn dingtalk_url(url: &str, secret: &str, timestamp_ms: i64) -> String {
    if secret.is_empty() {
        return url.to_owned();
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}timestamp={timestamp_ms}&sign={}", super::dingtalk_sign(secret, timestamp_ms))
}

/// The Standard Webhooks event body: `type`, `timestamp`, `data`.
pub fn webhook_event(kind: &str, at: DateTime<Utc>, data: Value) -> Value {
    json!({ "type": kind, "timestamp": at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true), "data": data })
}

/// The budget window a moment falls in (one minute).
pub fn budget_window(now: DateTime<Utc>) -> DateTime<Utc> {
    now.duration_trunc(Duration::minutes(1)).unwrap_or(now)
}

/// How many of `wanted` sends a window that already granted `used` of `per_minute` may grant
/// (0 per minute: all).
pub fn grant(per_minute: i64, used: i64, wanted: usize) -> usize {
    if per_minute <= 0 {
        return wanted;
    }
    usize::try_from((per_minute - used).max(0)).unwrap_or(0).min(wanted)
}

/// One digest for the notes that did not fit the budget: every number, one line each.
pub fn digest(numbers_and_titles: &[(String, String)], zh: bool) -> RobotNote {
    let title = if zh {
        format!("{} 条消息合并发送（超出发送频率）", numbers_and_titles.len())
    } else {
        format!("{} messages merged (over the send rate)", numbers_and_titles.len())
    };
    RobotNote {
        number: numbers_and_titles.iter().map(|(n, _)| md(n)).collect::<Vec<_>>().join(", "),
        title,
        lines: numbers_and_titles.iter().map(|(n, t)| (n.clone(), t.clone())).collect(),
        link: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note() -> RobotNote {
        RobotNote {
            number: "TS-2026-000007".into(),
            title: "新的重大投诉".into(),
            lines: vec![("主题".into(), "空调<b>不制冷</b> [点我](http://evil) @all".into())],
            link: "https://care.acme.cn/cases/7".into(),
        }
    }

    #[test]
    fn every_robot_body_carries_the_number_and_keyword_and_neutralises_user_markup() {
        for c in [Channel::Wecom, Channel::Dingtalk, Channel::Feishu] {
            let b = robot_body(c, &note(), "售后", &[]).to_string();
            assert!(b.contains("TS-2026-000007"), "{c:?}: {b}");
            assert!(b.contains("售后"), "{c:?}: {b}");
            assert!(!b.contains("<b>") && !b.contains("[点我](http://evil)") && !b.contains("@all"), "{b}");
        }
        let d = robot_body(Channel::Dingtalk, &note(), "", &["13800000000".into()]);
        assert_eq!(d["at"]["atMobiles"][0], "13800000000");
        assert!(d["markdown"]["text"].as_str().unwrap_or("").contains("@13800000000"));
        let w = robot_body(Channel::Wecom, &note(), "", &["13800000000".into()]);
        assert_eq!(w["msgtype"], "text");
        assert_eq!(w["text"]["mentioned_mobile_list"][0], "13800000000");
        assert_eq!(robot_body(Channel::Wecom, &note(), "", &[])["msgtype"], "markdown");
        assert_eq!(robot_body(Channel::Feishu, &note(), "", &[])["msg_type"], "interactive");
    }

    #[test]
    fn a_keyword_already_present_is_not_added_again() {
        let m = robot_markdown(&note(), "投诉", &[]);
        assert!(!m.starts_with("【"));
        assert!(robot_markdown(&note(), "售后", &[]).starts_with("【售后】"));
    }

    #[test]
    fn signing_goes_where_each_vendor_wants_it() {
        let u = dingtalk_url("https://oapi.dingtalk.com/robot/send?access_token=x", "SEC", 1_700_000_000_000);
        assert!(u.contains("&timestamp=1700000000000&sign="));
        assert_eq!(dingtalk_url("https://h/r", "", 1), "https://h/r");
        let f: Value =
            serde_json::from_str(&feishu_signed(r#"{"msg_type":"text"}"#, "SEC", 1_700_000_000)).unwrap_or_default();
        assert_eq!(f["timestamp"], "1700000000");
        assert_eq!(f["sign"], super::super::feishu_sign("SEC", 1_700_000_000));
        assert_eq!(f["msg_type"], "text");
    }

    #[test]
    fn destinations_are_checked_field_by_field() {
        let ev = vec!["case.created".to_owned()];
        let ok = check_destination(
            " 质量部群 ",
            "dingtalk",
            "https://oapi.dingtalk.com/robot/send?access_token=a",
            "",
            &[],
            &ev,
            None,
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!((ok.name.as_str(), ok.per_minute), ("质量部群", 20));
        let field = |r: Result<DestinationSpec, DomainError>| match r {
            Err(DomainError::Invalid { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(field(check_destination("", "wecom", "https://x", "", &[], &ev, None)), "name");
        assert_eq!(field(check_destination("a", "email", "https://x", "", &[], &ev, None)), "channel");
        assert_eq!(field(check_destination("a", "wecom", "ftp://x", "", &[], &ev, None)), "url");
        assert_eq!(field(check_destination("a", "wecom", "https://", "", &[], &ev, None)), "url");
        assert_eq!(field(check_destination("a", "wecom", "https://x", "", &[], &["nope".into()], None)), "events");
        assert_eq!(field(check_destination("a", "wecom", "https://x", "", &[], &[], None)), "events");
        assert_eq!(
            field(check_destination("a", "wecom", "https://x", "", &["12a".into()], &ev, None)),
            "mention_phones"
        );
        assert_eq!(field(check_destination("a", "wecom", "https://x", "", &[], &ev, Some(-1))), "per_minute");
    }

    #[test]
    fn a_department_destination_hears_only_its_department() {
        assert!(hears("case.created,case.closed", None, "case.closed", Some(3)));
        assert!(hears("case.created", Some(3), "case.created", Some(3)));
        assert!(!hears("case.created", Some(3), "case.created", Some(4)));
        assert!(!hears("case.created", Some(3), "case.created", None));
        assert!(!hears("case.created", None, "case.closed", None));
    }

    #[test]
    fn the_budget_grants_what_is_left_of_the_window() {
        assert_eq!(grant(20, 0, 5), 5);
        assert_eq!(grant(20, 18, 5), 2);
        assert_eq!(grant(20, 25, 5), 0);
        assert_eq!(grant(0, 1000, 5), 5);
        let t =
            DateTime::parse_from_rfc3339("2026-05-01T10:11:42.5Z").map(|d| d.with_timezone(&Utc)).unwrap_or_default();
        assert_eq!(budget_window(t).to_rfc3339(), "2026-05-01T10:11:00+00:00");
        let d = digest(&[("TS-1".into(), "a".into()), ("TS-2".into(), "b".into())], true);
        assert!(d.number.contains("TS-1") && d.number.contains("TS-2") && d.title.contains('2'));
    }
}
