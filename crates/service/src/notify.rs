//! Telling people (spec C11, C12): what is enqueued in the outbox by which change, and the
//! dispatcher every server process runs.
//!
//! A message is rendered in its recipient's language and written in the transaction of the
//! change that causes it, under a dedupe key naming that fact. The dispatcher claims due
//! messages under a lease, sends them outside any transaction, and writes each outcome only if
//! it still holds the lease (`store::outbox::finish`). A send whose node died (its lease ran
//! out) is ambiguous: mail is retried with the same Message-ID, so a receiver can drop the
//! duplicate; a group robot's becomes `uncertain` and waits for an admin.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use lettre::message::{Mailbox, MultiPart, header};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use loopdesk_domain::DomainError;
use loopdesk_domain::access::{Actor, Permission};
use loopdesk_domain::locale::Locale;
use loopdesk_domain::notify::{self as dn, Channel, Next, Outcome, SmtpSecurity, SmtpUrl, Status};
use loopdesk_domain::page::{Page, Paged};
use loopdesk_store::cases::Case;
use loopdesk_store::outbox::{self as ob, Message, NewMessage};
use loopdesk_store::{Tx, escalation as es};

use crate::{Service, ServiceError, ServiceResult};

mod robots;
mod staff;

pub(crate) use robots::CaseEvent;
pub use robots::DestinationInput;

/// Stands for the case number in an acknowledgement rendered before the number is drawn (a
/// private-use character: never in a number, refused in the user's text that goes into it).
const NUMBER_SLOT: &str = "\u{E000}";

/// The longest recipient fragment the delivery log filters by (the API says the same).
pub const RECIPIENT_FILTER_MAX: usize = 200;

/// How this process sends (from the configuration).
#[derive(Debug, Clone)]
pub struct NotifyConfig {
    /// No SMTP server: no mail is enqueued.
    pub smtp: Option<SmtpUrl>,
    /// The sender, `Name <address>` or an address.
    pub mail_from: String,
    pub reply_to: Option<String>,
    /// The address customers and staff reach the server at, for links in messages.
    pub public_url: String,
    /// How long one send may take before it counts as ambiguous.
    pub send_timeout: Duration,
    /// This process's name on the leases it takes.
    pub node: String,
    /// How long a claimed message stays this process's before others treat its send as
    /// ambiguous; longer than `send_timeout`.
    pub lease: Duration,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            smtp: None,
            mail_from: String::new(),
            reply_to: None,
            public_url: "http://127.0.0.1:8080".into(),
            send_timeout: Duration::from_secs(30),
            node: format!("node-{}-{}", std::process::id(), hex::encode(rand::random::<[u8; 4]>())),
            lease: Duration::from_secs(120),
        }
    }
}

/// The configuration and the transports built from it.
#[derive(Default)]
pub(crate) struct Notifier {
    cfg: NotifyConfig,
    mailer: Option<AsyncSmtpTransport<Tokio1Executor>>,
    from: Option<Mailbox>,
    reply_to: Option<Mailbox>,
    /// Posts to group robots and webhook receivers.
    http: reqwest::Client,
    /// Woken when this process enqueued something, so the dispatcher need not wait for its tick.
    pub(crate) wake: tokio::sync::Notify,
}

impl Notifier {
    fn new(mut cfg: NotifyConfig) -> ServiceResult<Notifier> {
        let bad = |field: &'static str, e: String| ServiceError::from(DomainError::invalid(field, e));
        // A send must end (in a timeout) while its lease still holds.
        cfg.send_timeout = cfg.send_timeout.min(cfg.lease / 2).max(Duration::from_millis(500));
        let (mailer, from) = match &cfg.smtp {
            None => (None, None),
            Some(u) => {
                let from: Mailbox = cfg
                    .mail_from
                    .parse()
                    .map_err(|e| bad("mail_from", loopdesk_domain::reason!("errors.not_mail_address", e)))?;
                let b = match u.security {
                    SmtpSecurity::Plain => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&u.host),
                    SmtpSecurity::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&u.host)
                        .map_err(|e| bad("smtp_url", loopdesk_domain::reason!("errors.not_mail_address", e)))?,
                    SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&u.host)
                        .map_err(|e| bad("smtp_url", loopdesk_domain::reason!("errors.not_mail_address", e)))?,
                };
                let mut b = b.port(u.port).timeout(Some(cfg.send_timeout));
                if let Some(user) = &u.user {
                    b = b.credentials(Credentials::new(user.clone(), u.password.clone().unwrap_or_default()));
                }
                (Some(b.build()), Some(from))
            }
        };
        let reply_to = match &cfg.reply_to {
            Some(r) if !r.trim().is_empty() => {
                Some(r.parse().map_err(|e| bad("reply_to", loopdesk_domain::reason!("errors.not_mail_address", e)))?)
            }
            _ => None,
        };
        let http = reqwest::Client::builder()
            .connect_timeout(cfg.send_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ServiceError::Internal(format!("HTTP client: {e}")))?;
        Ok(Notifier { cfg, mailer, from, reply_to, http, wake: Default::default() })
    }

    fn mail_on(&self) -> bool {
        self.mailer.is_some()
    }

    fn domain(&self) -> &str {
        dn::mail_domain(&self.cfg.mail_from)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.cfg.public_url.trim_end_matches('/'))
    }
}

/// A fresh event id: stable across the message's retries (its Message-ID, its webhook-id).
fn event_id() -> String {
    format!("msg_{}", hex::encode(rand::random::<[u8; 16]>()))
}

fn locale_of(code: &str) -> Locale {
    Locale::parse(code).unwrap_or_default()
}

/// What a dispatch pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DispatchReport {
    pub claimed: usize,
    pub sent: usize,
    pub retried: usize,
    pub failed: usize,
    pub uncertain: usize,
    /// Sends whose outcome could not be stored because the lease was lost meanwhile.
    pub fenced: usize,
    /// Sends of dead nodes found and settled.
    pub abandoned: usize,
    /// Robot and webhook messages over their destination's budget, due again in the next window.
    pub held_back: usize,
    /// Robot messages over budget merged into a digest.
    pub merged: usize,
}

impl Service {
    /// Sets how this process sends; checks the sender addresses.
    pub fn with_notify(mut self, cfg: NotifyConfig) -> ServiceResult<Service> {
        self.notify = Arc::new(Notifier::new(cfg)?);
        Ok(self)
    }

    pub fn notify_config(&self) -> &NotifyConfig {
        &self.notify.cfg
    }

    /// Waits until this process enqueued something or `max` passed.
    pub async fn outbox_wait(&self, max: Duration) {
        let _ = tokio::time::timeout(max, self.notify.wake.notified()).await;
    }

    pub(crate) fn outbox_woken(&self) {
        self.notify.wake.notify_one();
    }

    /// The acknowledgement rendered before the case has its number (with [`NUMBER_SLOT`] in its
    /// place), outside the intake writer; `None` without mail, an address, or when the user's text
    /// holds the slot character itself.
    pub(crate) fn acknowledgement_template(
        &self,
        l: Locale,
        subject: &str,
        contact_name: &str,
        email: &str,
        code: &str,
    ) -> Option<dn::Rendered> {
        if !self.notify.mail_on() || email.trim().is_empty() || format!("{subject}{contact_name}").contains(NUMBER_SLOT)
        {
            return None;
        }
        Some(self.render_ack(l, NUMBER_SLOT, code, subject, contact_name))
    }

    fn render_ack(&self, l: Locale, number: &str, code: &str, subject: &str, contact_name: &str) -> dn::Rendered {
        dn::acknowledgement(
            l,
            &dn::Acknowledgement {
                org: &self.settings.name,
                number,
                tracking_code: code,
                subject,
                contact_name,
                portal_url: &self.notify.url("/portal/track"),
            },
        )
    }

    /// The customer's acknowledgement for each new case with an e-mail address: the template
    /// made before the writer, with the number filled in, or rendered here when there is none.
    pub(crate) fn acknowledgements(&self, created: &[(&Case, &str, Option<&dn::Rendered>)]) -> Vec<NewMessage> {
        if !self.notify.mail_on() {
            return vec![];
        }
        let n = &self.notify;
        let now = crate::cases::micros(self.now());
        created
            .iter()
            .filter(|(k, _, _)| !k.contact_email.trim().is_empty())
            .map(|(k, code, template)| {
                let l = locale_of(&k.locale);
                let r = match template {
                    Some(t) => dn::Rendered {
                        subject: t.subject.replace(NUMBER_SLOT, &k.number),
                        text: t.text.replace(NUMBER_SLOT, &k.number),
                        html: t.html.replace(NUMBER_SLOT, &k.number),
                    },
                    None => self.render_ack(l, &k.number, code, &k.subject, &k.contact_name),
                };
                NewMessage {
                    event_id: event_id(),
                    dedupe_key: format!("case:{}:ack:customer", k.id),
                    channel: Channel::Email.code().into(),
                    kind: "case_ack".into(),
                    recipient: k.contact_email.trim().to_owned(),
                    recipient_name: k.contact_name.clone(),
                    user_id: None,
                    case_id: Some(k.id),
                    locale: l.code().into(),
                    subject: r.subject,
                    body_text: r.text,
                    body_html: r.html,
                    thread_root: dn::case_thread_root(k.id, n.domain()),
                    created_at: now,
                    destination_id: None,
                    due_at: None,
                }
            })
            .collect()
    }

    /// A task sent to a department reaches its people: an inbox entry each, and a mail to each
    /// with an address. Inside the transaction that records the task.
    pub(crate) async fn tell_task_sent(
        &self,
        tx: &mut Tx,
        k: &Case,
        task_id: i64,
        d: &loopdesk_store::org::Department,
        question: &str,
        due: &str,
    ) -> ServiceResult<()> {
        let now = crate::cases::micros(self.now());
        let department = d.name.as_str();
        let people = ob::department_people(&mut tx.conn(), d.id).await?;
        let params = serde_json::json!({ "number": k.number, "department": department, "due_date": due }).to_string();
        let mut mail = vec![];
        for (uid, name, email, locale) in people {
            es::insert_inbox(&mut tx.conn(), uid, Some(k.id), "task_sent", &params, now).await?;
            let Some(email) = email.filter(|e| !e.trim().is_empty()) else { continue };
            if !self.notify.mail_on() {
                continue;
            }
            let l = locale_of(&locale);
            let r = dn::task_sent(
                l,
                &dn::TaskSent {
                    number: &k.number,
                    department,
                    question,
                    due,
                    case_url: &self.notify.url(&format!("/cases/{}", k.id)),
                },
            );
            mail.push(NewMessage {
                event_id: event_id(),
                dedupe_key: format!("task:{task_id}:sent:user:{uid}"),
                channel: Channel::Email.code().into(),
                kind: "task_sent".into(),
                recipient: email.trim().to_owned(),
                recipient_name: name,
                user_id: Some(uid),
                case_id: Some(k.id),
                locale: l.code().into(),
                subject: r.subject,
                body_text: r.text,
                body_html: r.html,
                thread_root: dn::case_thread_root(k.id, self.notify.domain()),
                created_at: now,
                destination_id: None,
                due_at: None,
            });
        }
        ob::enqueue(&mut tx.conn(), &mail).await?;
        Ok(())
    }

    /// Survey invitation or reminder mails (issue #20 item 15): one per invitee with an address,
    /// each with its single-use link, in the organisation's language; none without SMTP. The
    /// caller enqueues them in the transaction that issues the links.
    pub(crate) fn survey_mails(
        &self,
        survey: &str,
        links: &[(&loopdesk_store::surveys::InvitationRow, &str)],
        reminder: bool,
        now: DateTime<Utc>,
    ) -> Vec<NewMessage> {
        if !self.notify.mail_on() {
            return vec![];
        }
        let l = self.settings.default_locale;
        let mut out = vec![];
        for (inv, token) in links {
            let email = inv.email.trim();
            if email.is_empty() {
                continue;
            }
            let url = self.notify.url(&format!("/s/{token}"));
            let i = loopdesk_domain::survey::mail::Invitation { org: &self.settings.name, survey, url: &url, reminder };
            let r = loopdesk_domain::survey::mail::invitation(l, &i);
            let dedupe_key = if reminder {
                format!("survey_invitation:{}:reminder:{}", inv.id, inv.reminders)
            } else {
                format!("survey_invitation:{}:sent", inv.id)
            };
            out.push(NewMessage {
                event_id: event_id(),
                dedupe_key,
                channel: Channel::Email.code().into(),
                kind: if reminder { "survey_reminder" } else { "survey_invitation" }.into(),
                recipient: email.to_owned(),
                recipient_name: String::new(),
                user_id: None,
                case_id: None,
                locale: l.code().into(),
                subject: r.subject,
                body_text: r.text,
                body_html: r.html,
                thread_root: format!("<survey-{}@{}>", inv.campaign_id, self.notify.domain()),
                created_at: now,
                destination_id: None,
                due_at: None,
            });
        }
        out
    }

    /// One dispatch pass: settles the sends of dead nodes, claims up to `limit` due messages,
    /// sends them concurrently and stores each outcome.
    pub async fn dispatch_outbox(&self, limit: i64) -> ServiceResult<DispatchReport> {
        let node = self.notify.cfg.node.clone();
        let lease = chrono::Duration::from_std(self.notify.cfg.lease).unwrap_or(dn::LEASE);
        let mut report = DispatchReport::default();
        let now = crate::cases::micros(self.now());
        let mut tx = self.store.begin().await?;
        for m in ob::abandoned(&mut tx.conn(), now, 200).await? {
            let channel = Channel::parse(&m.channel).unwrap_or(Channel::Wecom);
            let outcome = Outcome::Ambiguous { reason: "the sending node's lease ran out".into() };
            let next = dn::decide(channel, &outcome, m.created_at, now, m.attempts);
            // The lease already made it wait: an abandoned send is retried at once.
            let (status, _) = next_status(next, now);
            let at = now;
            if ob::settle_abandoned(&mut tx.conn(), &m, status.code(), at, outcome.reason()).await? {
                report.abandoned += 1;
                let started = m.lease_until.map_or(now, |l| l - lease);
                let a = ob::NewAttempt {
                    outbox_id: m.id,
                    attempt: m.attempts,
                    node: m.lease_owner.as_deref().unwrap_or(""),
                    started_at: started,
                    finished_at: now,
                    outcome: "abandoned",
                    provider_code: "",
                    excerpt: outcome.reason(),
                };
                ob::insert_attempt(&mut tx.conn(), &a).await?;
                if status == Status::Failed {
                    self.tell_admins(&mut tx, &m, now).await?;
                }
            }
        }
        let claimed = ob::claim(&mut tx.conn(), &node, now, now + lease, limit).await?;
        report.claimed = claimed.len();
        let claimed = self.apply_budgets(&mut tx, &node, claimed, now, &mut report).await?;
        tx.commit().await?;
        if claimed.is_empty() {
            return Ok(report);
        }
        let mut sends = tokio::task::JoinSet::new();
        for m in claimed {
            let svc = self.clone();
            sends.spawn(async move {
                let outcome = svc.send(&m).await;
                (m, outcome, crate::cases::micros(svc.now()))
            });
        }
        let mut done = Vec::new();
        while let Some(r) = sends.join_next().await {
            match r {
                Ok(d) => done.push(d),
                // A panicking send leaves its message in flight; its lease runs out.
                Err(e) => tracing::error!(error = %e, "a send panicked"),
            }
        }
        let mut tx = self.store.begin().await?;
        for (m, outcome, finished) in done {
            let channel = Channel::parse(&m.channel).unwrap_or(Channel::Wecom);
            let next = dn::decide(channel, &outcome, m.created_at, finished, m.attempts);
            let (status, at) = next_status(next, finished);
            let f = ob::Finish {
                id: m.id,
                node: &node,
                attempts: m.attempts,
                status: status.code(),
                next_attempt_at: at,
                last_error: &dn::excerpt(outcome.reason(), 500),
                provider_code: outcome.code(),
                sent_at: (status == Status::Sent).then_some(finished),
            };
            let held = ob::finish(&mut tx.conn(), &f).await?;
            let a = ob::NewAttempt {
                outbox_id: m.id,
                attempt: m.attempts,
                node: &node,
                started_at: now,
                finished_at: finished,
                outcome: outcome.word(),
                provider_code: outcome.code(),
                excerpt: &dn::excerpt(outcome.reason(), 500),
            };
            ob::insert_attempt(&mut tx.conn(), &a).await?;
            if !held {
                tracing::warn!(id = m.id, "outbox lease lost while sending; the newer claim decides");
                report.fenced += 1;
                continue;
            }
            match status {
                Status::Sent => report.sent += 1,
                Status::Failed => {
                    report.failed += 1;
                    self.tell_admins(&mut tx, &m, finished).await?;
                }
                Status::Uncertain => report.uncertain += 1,
                _ => report.retried += 1,
            }
        }
        tx.commit().await?;
        Ok(report)
    }

    /// A message failed for good: every administrator finds it in their inbox.
    async fn tell_admins(&self, tx: &mut Tx, m: &Message, at: DateTime<Utc>) -> ServiceResult<()> {
        let params =
            serde_json::json!({ "channel": m.channel, "recipient": m.recipient, "outbox_id": m.id }).to_string();
        for uid in ob::admins(&mut tx.conn()).await? {
            es::insert_inbox(&mut tx.conn(), uid, m.case_id, "notify_failed", &params, at).await?;
        }
        Ok(())
    }

    /// One try at one message.
    async fn send(&self, m: &Message) -> Outcome {
        match Channel::parse(&m.channel) {
            Some(Channel::Email) => self.send_mail(m).await,
            Some(c) => self.send_http(m, c).await,
            None => {
                Outcome::Rejected { code: String::new(), reason: format!("channel {} is not configured", m.channel) }
            }
        }
    }

    async fn send_mail(&self, m: &Message) -> Outcome {
        let n = &self.notify;
        let (Some(mailer), Some(from)) = (&n.mailer, &n.from) else {
            return Outcome::NotDelivered { code: String::new(), reason: "no SMTP server is configured".into() };
        };
        let to = match m.recipient.parse() {
            Ok(addr) => {
                let name = m.recipient_name.trim();
                Mailbox::new((!name.is_empty()).then(|| name.to_owned()), addr)
            }
            Err(e) => return Outcome::Rejected { code: String::new(), reason: format!("bad address: {e}") },
        };
        let mut b = lettre::Message::builder()
            .from(from.clone())
            .to(to)
            .subject(m.subject.clone())
            .message_id(Some(format!("<{}@{}>", m.event_id, n.domain())))
            .header(AutoSubmitted);
        if let Some(r) = &n.reply_to {
            b = b.reply_to(r.clone());
        }
        if !m.thread_root.is_empty() {
            b = b.in_reply_to(format!("<{}>", m.thread_root)).references(format!("<{}>", m.thread_root));
        }
        let mail = if m.body_html.is_empty() {
            b.header(header::ContentType::TEXT_PLAIN).body(m.body_text.clone())
        } else {
            b.multipart(MultiPart::alternative_plain_html(m.body_text.clone(), m.body_html.clone()))
        };
        let mail = match mail {
            Ok(x) => x,
            Err(e) => return Outcome::Rejected { code: String::new(), reason: format!("unbuildable mail: {e}") },
        };
        match tokio::time::timeout(n.cfg.send_timeout + Duration::from_secs(1), mailer.send(mail)).await {
            Ok(Ok(_)) => Outcome::Sent,
            Ok(Err(e)) => classify_smtp(&e),
            Err(_) => Outcome::Ambiguous { reason: "no answer from the SMTP server in time".into() },
        }
    }

    /// The delivery log (admins).
    pub async fn outbox(&self, actor: &Actor, f: &ob::Filter, page: Page) -> ServiceResult<Paged<Message>> {
        actor.require(Permission::ManageSettings)?;
        if let Some(s) = &f.status
            && Status::parse(s).is_none()
        {
            return Err(DomainError::invalid(
                "status",
                loopdesk_domain::reason!("errors.must_one_5", status = Status::ALL.map(Status::code).join(", ")),
            )
            .into());
        }
        if let Some(c) = &f.channel
            && Channel::parse(c).is_none()
        {
            return Err(DomainError::invalid(
                "channel",
                loopdesk_domain::reason!("errors.must_one_6", channel = Channel::ALL.map(Channel::code).join(", ")),
            )
            .into());
        }
        if f.case_id.is_some_and(|id| id < 1) {
            return Err(DomainError::invalid("case_id", "errors.must_case_id_1_more").into());
        }
        if let Some(r) = &f.recipient
            && r.chars().count() > RECIPIENT_FILTER_MAX
        {
            return Err(DomainError::invalid(
                "recipient",
                loopdesk_domain::reason!("errors.at_most_characters", RECIPIENT_FILTER_MAX),
            )
            .into());
        }
        let mut h = self.store.read().await?;
        Ok(ob::list(&mut h.conn(), f, page).await?)
    }

    /// One message and its tries (admins).
    pub async fn outbox_message(&self, actor: &Actor, id: i64) -> ServiceResult<(Message, Vec<ob::Attempt>)> {
        actor.require(Permission::ManageSettings)?;
        let mut h = self.store.read().await?;
        let m = ob::message(&mut h.conn(), id).await.map_err(|e| ServiceError::from_store("message", e))?;
        let a = ob::attempts(&mut h.conn(), id).await?;
        Ok((m, a))
    }

    /// Sends a failed, uncertain or cancelled message again (admins): it is due at once.
    pub async fn retry_message(&self, actor: &Actor, id: i64) -> ServiceResult<Message> {
        self.move_message(actor, id, &["failed", "uncertain", "cancelled"], Status::Pending).await
    }

    /// Stops a message that has not been sent (admins).
    pub async fn cancel_message(&self, actor: &Actor, id: i64) -> ServiceResult<Message> {
        self.move_message(actor, id, &["pending", "failed", "uncertain"], Status::Cancelled).await
    }

    async fn move_message(&self, actor: &Actor, id: i64, from: &[&str], to: Status) -> ServiceResult<Message> {
        actor.require(Permission::ManageSettings)?;
        let mut tx = self.store.begin().await?;
        let before = ob::message(&mut tx.conn(), id).await.map_err(|e| ServiceError::from_store("message", e))?;
        let now = crate::cases::micros(self.now());
        if !ob::set_status(&mut tx.conn(), id, from, to.code(), now).await? {
            return Err(DomainError::Conflict {
                reason: loopdesk_domain::reason!(
                    "errors.message_cannot_become",
                    status = before.status,
                    to = to.code()
                ),
                field: Some("status"),
            }
            .into());
        }
        let after = ob::message(&mut tx.conn(), id).await?;
        tx.audit(
            actor,
            loopdesk_domain::audit::AuditAction::Update,
            "outbox",
            id,
            Some(&serde_json::json!({ "status": before.status })),
            Some(&serde_json::json!({ "status": after.status })),
        )
        .await?;
        tx.commit().await?;
        self.outbox_woken();
        Ok(after)
    }
}

fn next_status(next: Next, now: DateTime<Utc>) -> (Status, DateTime<Utc>) {
    match next {
        Next::Sent => (Status::Sent, now),
        Next::RetryAt(at) => (Status::Pending, at),
        Next::Failed => (Status::Failed, now),
        Next::Uncertain => (Status::Uncertain, now),
    }
}

/// An SMTP answer: 5xx is a refusal; 4xx and broken connections did not deliver; a timeout
/// may have (the server may have taken the message).
fn classify_smtp(e: &lettre::transport::smtp::Error) -> Outcome {
    let code = e.status().map(|c| c.to_string()).unwrap_or_default();
    let reason = dn::excerpt(&e.to_string(), 300);
    if e.is_permanent() {
        Outcome::Rejected { code, reason }
    } else if e.is_timeout() {
        Outcome::Ambiguous { reason }
    } else {
        Outcome::NotDelivered { code, reason }
    }
}

/// `Auto-Submitted: auto-generated` (RFC 3834): autoresponders do not answer our messages.
#[derive(Clone)]
struct AutoSubmitted;

impl header::Header for AutoSubmitted {
    fn name() -> header::HeaderName {
        header::HeaderName::new_from_ascii_str("Auto-Submitted")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(AutoSubmitted)
    }

    fn display(&self) -> header::HeaderValue {
        header::HeaderValue::new(Self::name(), "auto-generated".into())
    }
}
