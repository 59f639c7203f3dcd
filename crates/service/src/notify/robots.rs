//! Group robots (WeCom, DingTalk, Feishu) and outgoing webhooks (Standard Webhooks): the
//! destinations an admin configures, the messages a case event enqueues for them, how one is
//! sent and signed, and the send budget every node shares.
//!
//! A robot or webhook message is rendered at enqueue (the JSON body, unsigned) and signed when it
//! is sent: DingTalk's signature goes in the query string, Feishu's in the body, a webhook's in
//! the `webhook-*` headers with the message's `event_id` as its stable `webhook-id`.

use chrono::{DateTime, Utc};
use loopdesk_domain::DomainError;
use loopdesk_domain::access::{Actor, Permission};
use loopdesk_domain::audit::AuditAction;
use loopdesk_domain::notify::robot::{self as rb, RobotNote};
use loopdesk_domain::notify::{self as dn, Channel, Outcome};
use loopdesk_store::cases::Case;
use loopdesk_store::destinations::{self as dst, Destination, DestinationRow};
use loopdesk_store::outbox::{self as ob, Message, NewMessage};
use loopdesk_store::{Conn, StoreError, Tx};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::event_id;
use crate::{Service, ServiceError, ServiceResult};

/// What an admin gives for a destination. `secret` is write-only: empty keeps the stored one
/// (a new one for a webhook keeps the old as `previous_secret`, so receivers can rotate).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct DestinationInput {
    pub name: String,
    pub channel: String,
    pub url: String,
    #[serde(default)]
    pub secret: String,
    #[serde(default)]
    pub keyword: String,
    #[serde(default)]
    pub mention_phones: Vec<String>,
    #[serde(default)]
    pub department_id: Option<i64>,
    pub events: Vec<String>,
    #[serde(default)]
    pub per_minute: Option<i64>,
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

/// A case event as destinations hear it.
pub(crate) struct CaseEvent<'a> {
    /// `case.created`, `case.state_changed`, …
    pub kind: &'a str,
    /// Makes the dedupe key unique per occurrence (the case version, say).
    pub occurrence: String,
    /// Extra lines for the robot text and fields for the webhook's `data`.
    pub extra: Vec<(&'static str, String)>,
}

impl CaseEvent<'static> {
    pub(crate) fn created() -> CaseEvent<'static> {
        CaseEvent { kind: "case.created", occurrence: "new".into(), extra: vec![] }
    }
}

fn title(kind: &str, zh: bool) -> &'static str {
    match (kind, zh) {
        ("case.created", true) => "新案件",
        ("case.created", false) => "New case",
        ("case.state_changed", true) => "状态变更",
        ("case.state_changed", false) => "State changed",
        ("case.closed", true) => "已结案",
        ("case.closed", false) => "Closed",
        ("case.assigned", true) => "已指派负责人",
        ("case.assigned", false) => "Owner assigned",
        ("case.escalated", true) => "已提交总经理室",
        ("case.escalated", false) => "Escalated to the GM office",
        (_, true) => "测试消息",
        (_, false) => "Test message",
    }
}

fn label(key: &str, zh: bool) -> String {
    let zh_label = match key {
        "type" => "类型",
        "severity" => "严重度",
        "subject" => "主题",
        "state" => "状态",
        "from" => "原状态",
        "owner" => "负责人",
        _ => key,
    };
    if zh { zh_label.to_owned() } else { key.replace('_', " ") }
}

impl Service {
    /// The messages destinations hearing `ev` get about `k` (none for a confidential case:
    /// grievances never go to a group or another system).
    pub(crate) fn destination_messages(
        &self,
        destinations: &[Destination],
        k: &Case,
        ev: &CaseEvent<'_>,
        now: DateTime<Utc>,
    ) -> Vec<NewMessage> {
        if k.confidential {
            return vec![];
        }
        let zh = self.settings.default_locale == loopdesk_domain::locale::Locale::ZhCn;
        let link = self.notify.url(&format!("/cases/{}", k.id));
        let mut out = Vec::new();
        for d in destinations
            .iter()
            .filter(|d| d.active && rb::hears(&d.events, d.department_id, ev.kind, k.lead_department_id))
        {
            let Some(channel) = Channel::parse(&d.channel) else { continue };
            let mut lines = vec![(label("type", zh), k.case_type.clone())];
            if !k.severity.is_empty() {
                lines.push((label("severity", zh), k.severity.clone()));
            }
            lines.push((label("subject", zh), k.subject.clone()));
            lines.push((label("state", zh), k.state.clone()));
            lines.extend(ev.extra.iter().map(|(key, v)| (label(key, zh), v.clone())));
            let head = title(ev.kind, zh);
            let body = if channel == Channel::Webhook {
                let mut data = json!({
                    "case_id": k.id,
                    "number": k.number,
                    "case_type": k.case_type,
                    "state": k.state,
                    "severity": k.severity,
                    "subject": k.subject,
                    "lead_department_id": k.lead_department_id,
                    "owner_id": k.owner_id,
                    "url": link,
                });
                for (key, v) in &ev.extra {
                    data[*key] = json!(v);
                }
                rb::webhook_event(ev.kind, now, data).to_string()
            } else {
                let note = RobotNote { number: k.number.clone(), title: head.into(), lines, link: link.clone() };
                rb::robot_body(channel, &note, &d.keyword, &d.phones()).to_string()
            };
            out.push(NewMessage {
                event_id: event_id(),
                dedupe_key: format!("case:{}:{}:{}:dest:{}", k.id, ev.kind, ev.occurrence, d.id),
                channel: channel.code().into(),
                kind: ev.kind.into(),
                recipient: d.name.clone(),
                recipient_name: String::new(),
                user_id: None,
                case_id: Some(k.id),
                locale: self.settings.default_locale.code().into(),
                subject: format!("[{}] {head}", k.number),
                body_text: body,
                body_html: String::new(),
                thread_root: String::new(),
                created_at: now,
                destination_id: Some(d.id),
                due_at: None,
            });
        }
        out
    }

    /// Enqueues what destinations hear about `k` inside the caller's transaction.
    pub(crate) async fn tell_destinations(&self, tx: &mut Tx, k: &Case, ev: &CaseEvent<'_>) -> ServiceResult<()> {
        let ds = dst::active(&mut tx.conn()).await?;
        if ds.is_empty() {
            return Ok(());
        }
        let now = crate::cases::micros(self.now());
        let msgs = self.destination_messages(&ds, k, ev, now);
        ob::enqueue(&mut tx.conn(), &msgs).await?;
        if !msgs.is_empty() {
            self.outbox_woken();
        }
        Ok(())
    }

    /// One try at a robot or webhook message.
    pub(super) async fn send_http(&self, m: &Message, channel: Channel) -> Outcome {
        let d = match m.destination_id {
            Some(id) => match self.store.read().await {
                Ok(mut h) => dst::get(&mut h.conn(), id).await,
                Err(e) => Err(e),
            },
            None => Err(StoreError::NotFound),
        };
        let d = match d {
            Ok(d) if d.active => d,
            Ok(_) | Err(StoreError::NotFound) => {
                return Outcome::Rejected { code: String::new(), reason: "notify.err.no_destination".into() };
            }
            Err(e) => return Outcome::NotDelivered { code: String::new(), reason: dn::excerpt(&e.to_string(), 200) },
        };
        self.post(&d, channel, &m.event_id, &m.body_text).await
    }

    /// Signs and posts one body to a destination and classifies the answer.
    async fn post(&self, d: &Destination, channel: Channel, id: &str, body: &str) -> Outcome {
        let now = self.now();
        let mut url = d.url.clone();
        let mut body = body.to_owned();
        let mut req_headers = vec![];
        match channel {
            Channel::Dingtalk => url = rb::dingtalk_url(&d.url, &d.secret, now.timestamp_millis()),
            Channel::Feishu => body = rb::feishu_signed(&body, &d.secret, now.timestamp()),
            Channel::Webhook => {
                let ts = now.timestamp();
                let secrets: Vec<&str> =
                    [d.secret.as_str(), d.previous_secret.as_str()].into_iter().filter(|s| !s.is_empty()).collect();
                req_headers.push(("webhook-id", id.to_owned()));
                req_headers.push(("webhook-timestamp", ts.to_string()));
                req_headers.push(("webhook-signature", dn::webhook_signature(&secrets, id, ts, body.as_bytes())));
            }
            _ => {}
        }
        let mut req = self
            .notify
            .http
            .post(&url)
            .timeout(self.notify.cfg.send_timeout)
            .header("content-type", "application/json; charset=utf-8")
            .body(body);
        for (k, v) in req_headers {
            req = req.header(k, v);
        }
        let answer = match req.send().await {
            Ok(r) => r,
            // Nothing went out: certainly not delivered.
            Err(e) if e.is_connect() => {
                return Outcome::NotDelivered { code: "connect".into(), reason: dn::excerpt(&e.to_string(), 300) };
            }
            Err(e) if e.is_builder() => {
                return Outcome::Rejected { code: String::new(), reason: dn::excerpt(&e.to_string(), 300) };
            }
            // The request may have reached the receiver.
            Err(e) => return Outcome::Ambiguous { reason: dn::excerpt(&e.to_string(), 300) },
        };
        let status = answer.status().as_u16();
        match answer.text().await {
            Ok(text) => dn::classify_http(channel, status, &text),
            Err(e) if status == 429 || status >= 500 => {
                Outcome::NotDelivered { code: status.to_string(), reason: dn::excerpt(&e.to_string(), 300) }
            }
            Err(e) => Outcome::Ambiguous { reason: dn::excerpt(&e.to_string(), 300) },
        }
    }

    /// Holds back claimed robot and webhook messages over their destination's budget, inside
    /// the claiming transaction; returns the ones to send now. Two or more held-back robot
    /// messages of one destination become one digest, due in the next window.
    pub(super) async fn apply_budgets(
        &self,
        tx: &mut Tx,
        node: &str,
        claimed: Vec<Message>,
        now: DateTime<Utc>,
        report: &mut super::DispatchReport,
    ) -> ServiceResult<Vec<Message>> {
        let window = rb::budget_window(now);
        let next = window + chrono::Duration::minutes(1);
        let mut send = Vec::with_capacity(claimed.len());
        let mut by_dest: std::collections::BTreeMap<i64, Vec<Message>> = Default::default();
        for m in claimed {
            match m.destination_id {
                Some(d) => by_dest.entry(d).or_default().push(m),
                None => send.push(m),
            }
        }
        if by_dest.is_empty() {
            return Ok(send);
        }
        dst::budget_prune(&mut tx.conn(), window - chrono::Duration::minutes(10)).await?;
        for (did, mut msgs) in by_dest {
            let d = match dst::get(&mut tx.conn(), did).await {
                Ok(d) => d,
                // Removed meanwhile: the send finds out and rejects.
                Err(StoreError::NotFound) => {
                    send.extend(msgs);
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            let used = dst::budget_used(&mut tx.conn(), did, window).await?;
            let granted = rb::grant(d.per_minute, used, msgs.len());
            dst::budget_take(&mut tx.conn(), did, window, i64::try_from(granted).unwrap_or(0)).await?;
            let over = msgs.split_off(granted);
            send.extend(msgs);
            let robot = Channel::parse(&d.channel).is_some_and(|c| c != Channel::Webhook && c != Channel::Email);
            if over.len() >= 2 && robot {
                self.merge_into_digest(tx, node, &d, over, now, next, report).await?;
            } else {
                for m in over {
                    if ob::hold_back(&mut tx.conn(), m.id, node, m.attempts, next).await? {
                        report.held_back += 1;
                    }
                }
            }
        }
        Ok(send)
    }

    #[allow(clippy::too_many_arguments)]
    async fn merge_into_digest(
        &self,
        tx: &mut Tx,
        node: &str,
        d: &Destination,
        over: Vec<Message>,
        now: DateTime<Utc>,
        due: DateTime<Utc>,
        report: &mut super::DispatchReport,
    ) -> ServiceResult<()> {
        let channel = Channel::parse(&d.channel).unwrap_or(Channel::Wecom);
        let zh = self.settings.default_locale == loopdesk_domain::locale::Locale::ZhCn;
        let items: Vec<(String, String)> = over
            .iter()
            .map(|m| {
                m.subject
                    .strip_prefix('[')
                    .and_then(|s| s.split_once(']'))
                    .map(|(n, rest)| (n.to_owned(), rest.trim().to_owned()))
                    .unwrap_or_else(|| (m.subject.clone(), String::new()))
            })
            .collect();
        let note = rb::digest(&items, zh);
        let body = rb::robot_body(channel, &note, &d.keyword, &[]).to_string();
        let key = format!("digest:{}:{}:{}", d.id, due.timestamp(), over[0].id);
        let digest = NewMessage {
            event_id: event_id(),
            dedupe_key: key.clone(),
            channel: channel.code().into(),
            kind: "digest".into(),
            recipient: d.name.clone(),
            locale: self.settings.default_locale.code().into(),
            subject: format!("[{}] {}", note.number, note.title),
            body_text: body,
            created_at: now,
            destination_id: Some(d.id),
            due_at: Some(due),
            ..Default::default()
        };
        ob::enqueue(&mut tx.conn(), &[digest]).await?;
        let into = match ob::id_by_dedupe_key(&mut tx.conn(), &key).await? {
            Some(id) => format!("merged into message {id}"),
            None => "merged into a digest".into(),
        };
        for m in over {
            if ob::merge_into(&mut tx.conn(), m.id, node, m.attempts, &into).await? {
                report.merged += 1;
            }
        }
        Ok(())
    }

    // ---- destinations (admins) ----

    pub async fn destinations(&self, actor: &Actor) -> ServiceResult<Vec<Destination>> {
        actor.require(Permission::ManageSettings)?;
        let mut h = self.store.read().await?;
        Ok(dst::list(&mut h.conn()).await?)
    }

    pub async fn destination(&self, actor: &Actor, id: i64) -> ServiceResult<Destination> {
        actor.require(Permission::ManageSettings)?;
        let mut h = self.store.read().await?;
        dst::get(&mut h.conn(), id).await.map_err(|e| ServiceError::from_store("destination", e))
    }

    /// Adds a destination; a webhook without a secret gets one, returned this once.
    pub async fn create_destination(
        &self,
        actor: &Actor,
        i: &DestinationInput,
    ) -> ServiceResult<(Destination, Option<String>)> {
        actor.require(Permission::ManageSettings)?;
        let spec = check(i)?;
        let mut secret = rb::check_secret(&i.secret)?;
        let mut shown = None;
        if secret.is_empty() && spec.channel == Channel::Webhook {
            secret = format!(
                "whsec_{}",
                base64::Engine::encode(&base64::engine::general_purpose::STANDARD, rand::random::<[u8; 24]>())
            );
            shown = Some(secret.clone());
        }
        let mut tx = self.store.begin().await?;
        department_exists(&mut tx.conn(), i.department_id).await?;
        let (events, phones) = (spec.events.join(","), spec.mention_phones.join(","));
        let row = DestinationRow {
            name: &spec.name,
            channel: spec.channel.code(),
            url: &spec.url,
            secret: &secret,
            previous_secret: "",
            keyword: &spec.keyword,
            mention_phones: &phones,
            department_id: i.department_id,
            events: &events,
            per_minute: spec.per_minute,
            active: i.active,
        };
        let now = crate::cases::micros(self.now());
        let d = dst::insert(&mut tx.conn(), &row, now).await.map_err(name_taken)?;
        // The audit trail sees the destination without its secrets (they are not serialised).
        tx.audit(actor, AuditAction::Create, "notify_destination", d.id, None::<&()>, Some(&d)).await?;
        tx.commit().await?;
        Ok((d, shown))
    }

    pub async fn update_destination(
        &self,
        actor: &Actor,
        id: i64,
        version: i64,
        i: &DestinationInput,
    ) -> ServiceResult<Destination> {
        actor.require(Permission::ManageSettings)?;
        let spec = check(i)?;
        let secret = rb::check_secret(&i.secret)?;
        let mut tx = self.store.begin().await?;
        let before = dst::get(&mut tx.conn(), id).await.map_err(|e| ServiceError::from_store("destination", e))?;
        department_exists(&mut tx.conn(), i.department_id).await?;
        let (secret, previous) = if secret.is_empty() || secret == before.secret {
            (before.secret.clone(), before.previous_secret.clone())
        } else {
            (secret, before.secret.clone())
        };
        let (events, phones) = (spec.events.join(","), spec.mention_phones.join(","));
        let row = DestinationRow {
            name: &spec.name,
            channel: spec.channel.code(),
            url: &spec.url,
            secret: &secret,
            previous_secret: &previous,
            keyword: &spec.keyword,
            mention_phones: &phones,
            department_id: i.department_id,
            events: &events,
            per_minute: spec.per_minute,
            active: i.active,
        };
        let now = crate::cases::micros(self.now());
        let after = dst::update(&mut tx.conn(), id, version, &row, now).await.map_err(|e| match e {
            StoreError::Stale => ServiceError::from(DomainError::stale("destination")),
            e => name_taken(e),
        })?;
        tx.audit(actor, AuditAction::Update, "notify_destination", id, Some(&before), Some(&after)).await?;
        tx.commit().await?;
        Ok(after)
    }

    pub async fn delete_destination(&self, actor: &Actor, id: i64) -> ServiceResult<()> {
        actor.require(Permission::ManageSettings)?;
        let mut tx = self.store.begin().await?;
        let before = dst::get(&mut tx.conn(), id).await.map_err(|e| ServiceError::from_store("destination", e))?;
        dst::delete(&mut tx.conn(), id).await?;
        tx.audit(actor, AuditAction::Delete, "notify_destination", id, Some(&before), None::<&()>).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sends a test message to a destination now (not through the outbox) and says what came of it.
    pub async fn test_destination(&self, actor: &Actor, id: i64) -> ServiceResult<Outcome> {
        let d = self.destination(actor, id).await?;
        let Some(channel) = Channel::parse(&d.channel) else {
            return Err(DomainError::invalid("channel", "notify.err.destination_channel").into());
        };
        let zh = self.settings.default_locale == loopdesk_domain::locale::Locale::ZhCn;
        let now = self.now();
        let body = if channel == Channel::Webhook {
            rb::webhook_event("test", now, json!({ "destination": d.name })).to_string()
        } else {
            let note = RobotNote {
                number: "TEST".into(),
                title: title("test", zh).into(),
                lines: vec![(if zh { "目标" } else { "destination" }.into(), d.name.clone())],
                link: self.notify.url("/"),
            };
            rb::robot_body(channel, &note, &d.keyword, &[]).to_string()
        };
        Ok(self.post(&d, channel, &event_id(), &body).await)
    }
}

fn check(i: &DestinationInput) -> ServiceResult<rb::DestinationSpec> {
    Ok(rb::check_destination(&i.name, &i.channel, &i.url, &i.keyword, &i.mention_phones, &i.events, i.per_minute)?)
}

async fn department_exists(c: &mut Conn<'_>, id: Option<i64>) -> ServiceResult<()> {
    if let Some(d) = id {
        loopdesk_store::org::department(c, d)
            .await
            .map_err(|_| DomainError::invalid("department_id", "notify.err.no_department"))?;
    }
    Ok(())
}

fn name_taken(e: StoreError) -> ServiceError {
    match e {
        StoreError::Conflict { .. } => {
            DomainError::Conflict { reason: "notify.err.name_taken".into(), field: Some("name") }.into()
        }
        e => e.into(),
    }
}
