//! Messages to staff (issue #15 §4): every one lands in the person's inbox and, with mail
//! configured and an address on file, in their mailbox too — each under a dedupe key naming the
//! fact, so a repeated pass or a retried transaction never tells anyone twice.

use loopdesk_domain::locale::Locale;
use loopdesk_domain::notify::staff::{self as st, StaffKind};
use loopdesk_domain::notify::{self as dn, Channel};
use loopdesk_store::cases::Case;
use loopdesk_store::outbox::{self as ob, NewMessage, Person};
use loopdesk_store::{Tx, escalation as es};

use super::{event_id, locale_of};
use crate::{Service, ServiceResult};

/// One staff message: what it is about, and what it says beyond the case.
pub(crate) struct StaffMessage<'a> {
    pub kind: StaffKind,
    /// The fact, without the recipient (`case:7:assigned:v3`); `:user:<id>` is added.
    pub fact: String,
    pub detail: &'a str,
    pub due: &'a str,
    /// The inbox entry's parameters (JSON), as the inbox page reads them.
    pub params: String,
    /// Whether to add the inbox entry (false where the caller already did, as the clock review does).
    pub inbox: bool,
}

impl Service {
    /// Tells `people` about `k`: an inbox entry each (unless the caller made it) and a mail to
    /// each with an address.
    pub(crate) async fn tell_staff(
        &self,
        tx: &mut Tx,
        people: &[Person],
        k: &Case,
        msg: &StaffMessage<'_>,
    ) -> ServiceResult<()> {
        let now = crate::cases::micros(self.now());
        let mut mail = Vec::new();
        for (uid, name, email, locale) in people {
            if msg.inbox {
                es::insert_inbox(&mut tx.conn(), *uid, Some(k.id), msg.kind.code(), &msg.params, now).await?;
            }
            let Some(email) = email.as_deref().map(str::trim).filter(|e| !e.is_empty()) else { continue };
            if !self.notify.mail_on() {
                continue;
            }
            let l: Locale = locale_of(locale);
            let r = st::staff_notice(
                l,
                msg.kind,
                &st::StaffNotice {
                    number: &k.number,
                    subject: &k.subject,
                    detail: msg.detail,
                    due: msg.due,
                    case_url: &self.notify.url(&format!("/cases/{}", k.id)),
                },
            );
            mail.push(NewMessage {
                event_id: event_id(),
                dedupe_key: format!("{}:user:{uid}", msg.fact),
                channel: Channel::Email.code().into(),
                kind: msg.kind.code().into(),
                recipient: email.to_owned(),
                recipient_name: name.clone(),
                user_id: Some(*uid),
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
        if !mail.is_empty() {
            ob::enqueue(&mut tx.conn(), &mail).await?;
            self.outbox_woken();
        }
        Ok(())
    }

    /// After a transition or an edit: the new owner is told, the GM office is told of an
    /// escalation, and destinations hear the state change, the closure, the assignment.
    pub(crate) async fn tell_case_changed(
        &self,
        tx: &mut Tx,
        before_state: &str,
        before_owner: Option<i64>,
        after: &Case,
    ) -> ServiceResult<()> {
        let v = after.version;
        if after.owner_id != before_owner
            && let Some(owner) = after.owner_id
        {
            let people = ob::people(&mut tx.conn(), &[owner]).await?;
            let params = serde_json::json!({ "number": after.number, "subject": after.subject }).to_string();
            let m = StaffMessage {
                kind: StaffKind::CaseAssigned,
                fact: format!("case:{}:assigned:{owner}:v{v}", after.id),
                detail: "",
                due: "",
                params,
                inbox: true,
            };
            self.tell_staff(tx, &people, after, &m).await?;
            let owner_name = people.first().map(|p| p.1.clone()).unwrap_or_default();
            let ev = super::robots::CaseEvent {
                kind: "case.assigned",
                occurrence: format!("v{v}"),
                extra: vec![("owner", owner_name)],
            };
            self.tell_destinations(tx, after, &ev).await?;
        }
        if after.state != before_state {
            if after.state == "escalated" {
                let people = ob::people_with_role(&mut tx.conn(), "gm").await?;
                let params = serde_json::json!({ "number": after.number, "subject": after.subject }).to_string();
                let m = StaffMessage {
                    kind: StaffKind::CaseEscalated,
                    fact: format!("case:{}:escalated:v{v}", after.id),
                    detail: "",
                    due: "",
                    params,
                    inbox: true,
                };
                self.tell_staff(tx, &people, after, &m).await?;
                let ev =
                    super::robots::CaseEvent { kind: "case.escalated", occurrence: format!("v{v}"), extra: vec![] };
                self.tell_destinations(tx, after, &ev).await?;
            }
            let kind = if after.closed_at.is_some() { "case.closed" } else { "case.state_changed" };
            let ev = super::robots::CaseEvent {
                kind,
                occurrence: format!("v{v}"),
                extra: vec![("from", before_state.to_owned())],
            };
            self.tell_destinations(tx, after, &ev).await?;
            if kind == "case.closed" {
                // Hearing every state change includes the closing one.
                let ev = super::robots::CaseEvent {
                    kind: "case.state_changed",
                    occurrence: format!("v{v}"),
                    extra: vec![("from", before_state.to_owned())],
                };
                self.tell_destinations(tx, after, &ev).await?;
            }
        }
        Ok(())
    }

    /// The owner of each action item decided at a meeting is told.
    pub(crate) async fn tell_actions_assigned(
        &self,
        tx: &mut Tx,
        k: &Case,
        actions: &[loopdesk_store::cases::MeetingAction],
    ) -> ServiceResult<()> {
        for a in actions {
            let Some(owner) = a.owner_id else { continue };
            let people = ob::people(&mut tx.conn(), &[owner]).await?;
            let due = a.due_date.to_string();
            let params = serde_json::json!({
                "number": k.number, "subject": k.subject, "description": a.description, "due_date": due,
            })
            .to_string();
            let m = StaffMessage {
                kind: StaffKind::ActionAssigned,
                fact: format!("action:{}:assigned", a.id),
                detail: &a.description,
                due: &due,
                params,
                inbox: true,
            };
            self.tell_staff(tx, &people, k, &m).await?;
        }
        Ok(())
    }

    /// A clock or item alert already in the inbox of `users` also goes by mail.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn mail_alert(
        &self,
        tx: &mut Tx,
        users: &[i64],
        k: &Case,
        alert_kind: &str,
        fact: String,
        detail: &str,
        due: &str,
    ) -> ServiceResult<()> {
        let Some(kind) = StaffKind::from_clock_alert(alert_kind) else { return Ok(()) };
        if !self.notify.mail_on() {
            return Ok(());
        }
        let people = ob::people(&mut tx.conn(), users).await?;
        let m = StaffMessage { kind, fact, detail, due, params: String::new(), inbox: false };
        self.tell_staff(tx, &people, k, &m).await
    }
}
