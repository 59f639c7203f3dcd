//! The outbox and its dispatcher against a real SMTP listener (aiosmtpd), on both engines.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use loopdesk_domain::access::{Actor, ActorKind, Role, Scope};
use loopdesk_domain::notify::{LEASE, SmtpUrl};
use loopdesk_domain::page::Page;
use loopdesk_service::cases::CaseInput;
use loopdesk_service::notify::NotifyConfig;
use loopdesk_service::org::{DepartmentInput, NewUser};
use loopdesk_service::{OrgSettings, Service};
use loopdesk_store::outbox::{self as ob, Filter, NewMessage};
use loopdesk_store::{Store, StoreOptions};
use loopdesk_test_support::smtp::{SmtpSink, free_port};
use loopdesk_test_support::{TestDb, both_engines};
use serde_json::Value;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 6, 2, 0, 0).unwrap()
}

struct Clock(Arc<AtomicI64>);

impl Clock {
    fn new() -> Clock {
        Clock(Arc::new(AtomicI64::new(t0().timestamp_millis())))
    }
    fn advance(&self, secs: i64) {
        self.0.fetch_add(secs * 1000, Ordering::SeqCst);
    }
    fn now(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.0.load(Ordering::SeqCst)).unwrap()
    }
}

fn config(smtp: &str, node: &str) -> NotifyConfig {
    NotifyConfig {
        smtp: Some(SmtpUrl::parse(smtp).unwrap()),
        mail_from: "Acme 客服中心 <care@acme.cn>".into(),
        reply_to: Some("reply@acme.cn".into()),
        public_url: "https://care.acme.cn".into(),
        send_timeout: Duration::from_secs(1),
        node: node.into(),
        lease: LEASE.to_std().unwrap(),
    }
}

async fn store(db: &TestDb) -> Store {
    let s = Store::connect(&db.url, &StoreOptions { max_connections: 10 }).await.unwrap();
    s.migrate().await.unwrap();
    s
}

fn service(s: Store, clock: &Clock, cfg: NotifyConfig) -> Service {
    let source = clock.0.clone();
    let settings = OrgSettings { name: "Acme 售后".into(), ..Default::default() };
    Service::new(s, settings)
        .with_time_source(move || DateTime::from_timestamp_millis(source.load(Ordering::SeqCst)).unwrap())
        .with_notify(cfg)
        .unwrap()
}

fn admin() -> Actor {
    Actor {
        user_id: None,
        username: "root".into(),
        department_id: None,
        roles: vec![Role::Admin],
        scope: Scope::All,
        kind: ActorKind::Staff,
    }
}

fn case(email: &str, locale: &str) -> CaseInput {
    CaseInput {
        case_type: "complaint".into(),
        contact_name: Some("王芳".into()),
        contact_email: Some(email.into()),
        subject: "空调<不制冷>".into(),
        description: "安装后第三天就不制冷了".into(),
        locale: Some(locale.into()),
        ..Default::default()
    }
}

async fn messages(svc: &Service, status: Option<&str>) -> Vec<ob::Message> {
    let f = Filter { status: status.map(str::to_owned), ..Default::default() };
    svc.outbox(&admin(), &f, Page { page: 1, per_page: 500 }).await.unwrap().items
}

fn text(v: &Value, k: &str) -> String {
    v[k].as_str().unwrap_or_default().to_owned()
}

both_engines!(acknowledgement_mail_carries_number_tracking_code_and_thread, |db: TestDb| async move {
    let sink = SmtpSink::start().await;
    let clock = Clock::new();
    let svc = service(store(&db).await, &clock, config(&sink.url(), "a"));
    let created = svc.create_case(&Actor::system(), &case("wang@example.com", "zh-CN")).await.unwrap();
    let r = svc.dispatch_outbox(10).await.unwrap();
    assert_eq!((r.claimed, r.sent), (1, 1));
    let mail = sink.wait_for(1).await;
    let m = &mail[0];
    assert_eq!(m["rcpt_tos"], serde_json::json!(["wang@example.com"]));
    let subject = text(m, "subject");
    assert!(subject.contains(&created.case.number) && subject.contains("已受理"), "{subject}");
    // The Chinese subject travels RFC 2047-encoded.
    assert!(
        text(m, "raw").lines().any(|l| l.starts_with("Subject: ") && l.contains("=?utf-8?b?")),
        "{}",
        text(m, "raw")
    );
    assert!(text(m, "from").contains("Acme 客服中心") && text(m, "from").contains("care@acme.cn"));
    assert_eq!(text(m, "reply_to"), "reply@acme.cn");
    assert!(text(m, "text").contains(&created.tracking_code));
    assert!(text(m, "html").contains(&created.tracking_code));
    assert!(text(m, "html").contains("空调&lt;不制冷&gt;"), "user text is escaped in HTML");
    assert!(text(m, "text").contains("https://care.acme.cn/portal/track"));
    let root = format!("<case-{}@acme.cn>", created.case.id);
    assert_eq!(text(m, "references"), root);
    assert_eq!(text(m, "in_reply_to"), root);
    assert_eq!(text(m, "auto_submitted"), "auto-generated");
    let sent = messages(&svc, Some("sent")).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(text(m, "message_id"), format!("<{}@acme.cn>", sent[0].event_id));
    assert_eq!(sent[0].attempts, 1);
    let (_, tries) = svc.outbox_message(&admin(), sent[0].id).await.unwrap();
    assert_eq!(tries.iter().map(|a| a.outcome.as_str()).collect::<Vec<_>>(), ["sent"]);
    // Nothing is sent twice.
    assert_eq!(svc.dispatch_outbox(10).await.unwrap().claimed, 0);
    // English for an English-speaking customer; no mail without an address.
    svc.create_case(&Actor::system(), &case("amy@example.com", "en")).await.unwrap();
    svc.create_case(&Actor::system(), &case("", "en")).await.unwrap();
    assert_eq!(svc.dispatch_outbox(10).await.unwrap().sent, 1);
    let en = &sink.wait_for(2).await[1];
    assert!(text(en, "subject").contains("Received"), "{}", text(en, "subject"));
});

both_engines!(a_refused_connection_is_retried_after_ten_seconds, |db: TestDb| async move {
    let port = free_port();
    let clock = Clock::new();
    let svc = service(store(&db).await, &clock, config(&format!("smtp://127.0.0.1:{port}"), "a"));
    svc.create_case(&Actor::system(), &case("wang@example.com", "zh-CN")).await.unwrap();
    let r = svc.dispatch_outbox(10).await.unwrap();
    assert_eq!((r.claimed, r.retried), (1, 1));
    let m = &messages(&svc, Some("pending")).await[0];
    assert_eq!(m.attempts, 1);
    assert_eq!(m.next_attempt_at, clock.now() + chrono::Duration::seconds(10));
    // Not due yet.
    clock.advance(9);
    assert_eq!(svc.dispatch_outbox(10).await.unwrap().claimed, 0);
    let sink = SmtpSink::start_on(port, &[]).await;
    clock.advance(1);
    assert_eq!(svc.dispatch_outbox(10).await.unwrap().sent, 1);
    assert_eq!(sink.wait_for(1).await.len(), 1);
    let (m, tries) = svc.outbox_message(&admin(), m.id).await.unwrap();
    assert_eq!(m.status, "sent");
    assert_eq!(tries.iter().map(|a| a.outcome.as_str()).collect::<Vec<_>>(), ["retry", "sent"]);
});

both_engines!(a_refused_address_fails_at_once_and_tells_the_admins, |db: TestDb| async move {
    let sink = SmtpSink::start().await;
    let clock = Clock::new();
    let svc = service(store(&db).await, &clock, config(&sink.url(), "a"));
    let boss = svc
        .create_user(
            &Actor::system(),
            &NewUser {
                username: "boss".into(),
                display_name: "Boss".into(),
                roles: vec!["admin".into()],
                password: "notify-pass-123".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    svc.create_case(&Actor::system(), &case("reject@example.com", "zh-CN")).await.unwrap();
    let r = svc.dispatch_outbox(10).await.unwrap();
    assert_eq!(r.failed, 1);
    let m = &messages(&svc, Some("failed")).await[0];
    assert_eq!(m.provider_code, "550");
    let boss = Actor { user_id: Some(boss.id), ..admin() };
    let inbox = svc.inbox(&boss, true, Page::default()).await.unwrap().items;
    assert_eq!(inbox.iter().map(|i| i.kind.as_str()).collect::<Vec<_>>(), ["notify_failed"]);
    // An admin may send it again, or cancel it; a sent message can be neither.
    assert_eq!(svc.retry_message(&admin(), m.id).await.unwrap().status, "pending");
    assert_eq!(svc.cancel_message(&admin(), m.id).await.unwrap().status, "cancelled");
    assert_eq!(svc.dispatch_outbox(10).await.unwrap().claimed, 0);
    assert!(sink.messages().is_empty());
});

both_engines!(an_ambiguous_mail_is_retried_with_the_same_message_id, |db: TestDb| async move {
    let sink = SmtpSink::start_with(&[("SINK_SLOW", "4")]).await;
    let clock = Clock::new();
    let svc = service(store(&db).await, &clock, config(&sink.url(), "a"));
    svc.create_case(&Actor::system(), &case("slow@example.com", "zh-CN")).await.unwrap();
    let r = svc.dispatch_outbox(10).await.unwrap();
    assert_eq!(r.retried, 1, "{r:?}");
    clock.advance(10);
    let r = svc.dispatch_outbox(10).await.unwrap();
    assert_eq!(r.sent, 1, "{r:?} {:?}", messages(&svc, None).await);
    let mail = sink.wait_for(2).await;
    assert_eq!(mail.len(), 2);
    assert_eq!(text(&mail[0], "message_id"), text(&mail[1], "message_id"));
    let m = &messages(&svc, Some("sent")).await[0];
    let (_, tries) = svc.outbox_message(&admin(), m.id).await.unwrap();
    assert_eq!(tries.iter().map(|a| a.outcome.as_str()).collect::<Vec<_>>(), ["ambiguous", "sent"]);
});

both_engines!(a_task_sent_to_a_department_reaches_its_people_by_inbox_and_mail, |db: TestDb| async move {
    let sink = SmtpSink::start().await;
    let clock = Clock::new();
    let svc = service(store(&db).await, &clock, config(&sink.url(), "a"));
    let sys = Actor::system();
    let dept = svc
        .create_department(
            &sys,
            &DepartmentInput { code: "QA".into(), name: "品保部".into(), kind: "quality".into(), parent_id: None },
        )
        .await
        .unwrap();
    let mut people = BTreeMap::new();
    for (name, role, email, locale) in
        [("head", "dept_head", Some("head@acme.cn"), "en"), ("member", "member", None, "zh-CN")]
    {
        let u = svc
            .create_user(
                &sys,
                &NewUser {
                    username: name.into(),
                    display_name: name.into(),
                    email: email.map(Into::into),
                    department_id: Some(dept.id),
                    roles: vec![role.into()],
                    locale: Some(locale.into()),
                    password: "notify-pass-123".into(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        people.insert(name, u.id);
    }
    let k = svc.create_case(&sys, &case("", "zh-CN")).await.unwrap().case;
    svc.add_task(&sys, k.id, "QA", "请核查<批次>", "2026-05-08").await.unwrap();
    for (name, id) in &people {
        let me = Actor { user_id: Some(*id), ..admin() };
        let inbox = svc.inbox(&me, true, Page::default()).await.unwrap().items;
        assert_eq!(inbox.len(), 1, "{name}");
        assert_eq!((inbox[0].kind.as_str(), inbox[0].case_id), ("task_sent", Some(k.id)));
    }
    assert_eq!(svc.dispatch_outbox(10).await.unwrap().sent, 1);
    let mail = sink.wait_for(1).await;
    assert_eq!(mail[0]["rcpt_tos"], serde_json::json!(["head@acme.cn"]));
    assert!(text(&mail[0], "subject").contains(&k.number) && text(&mail[0], "subject").contains("Task"));
    assert!(text(&mail[0], "text").contains("请核查<批次>"));
    assert!(text(&mail[0], "html").contains("请核查&lt;批次&gt;"));
    assert_eq!(text(&mail[0], "references"), format!("<case-{}@acme.cn>", k.id));
});

fn robot_message(n: usize, at: DateTime<Utc>) -> NewMessage {
    NewMessage {
        event_id: format!("msg_robot_{n}"),
        dedupe_key: format!("robot:{n}"),
        channel: "dingtalk".into(),
        kind: "case_major".into(),
        recipient: "qa-group".into(),
        locale: "zh-CN".into(),
        subject: "TS-1".into(),
        body_text: "TS-1".into(),
        created_at: at,
        ..Default::default()
    }
}

both_engines!(a_lost_lease_is_fenced_and_a_dead_robot_send_waits_as_uncertain, |db: TestDb| async move {
    let s = store(&db).await;
    let now = t0();
    let mut tx = s.begin().await.unwrap();
    let again = NewMessage { event_id: "msg_robot_1_again".into(), ..robot_message(1, now) };
    ob::enqueue(&mut tx.conn(), &[robot_message(1, now), again]).await.unwrap();
    let mail = NewMessage {
        channel: "email".into(),
        dedupe_key: "mail:1".into(),
        recipient: "x@example.com".into(),
        ..robot_message(2, now)
    };
    ob::enqueue(&mut tx.conn(), &[mail]).await.unwrap();
    tx.commit().await.unwrap();
    // Node A claims both, then dies (its lease runs out).
    let mut tx = s.begin().await.unwrap();
    let a = ob::claim(&mut tx.conn(), "A", now, now + LEASE, 10).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(a.len(), 2, "the same dedupe key is enqueued once");
    let clock = Clock::new();
    clock.advance(LEASE.num_seconds() + 1);
    let sink = SmtpSink::start().await;
    let b = service(s.clone(), &clock, config(&sink.url(), "B"));
    let r = b.dispatch_outbox(10).await.unwrap();
    assert_eq!(r.abandoned, 2);
    // The mail is sent again at once (same event id): the lease was the wait. The robot
    // message is not.
    assert_eq!(r.sent, 1);
    assert_eq!(sink.wait_for(1).await.len(), 1);
    let uncertain = messages(&b, Some("uncertain")).await;
    assert_eq!(uncertain.len(), 1);
    assert_eq!(uncertain[0].channel, "dingtalk");
    assert_eq!(b.dispatch_outbox(10).await.unwrap().claimed, 0, "never sent twice by itself");
    // A's late outcome is refused: B's claim decides.
    let mut tx = s.begin().await.unwrap();
    let late = ob::Finish {
        id: a[0].id,
        node: "A",
        attempts: a[0].attempts,
        status: "sent",
        next_attempt_at: now,
        last_error: "",
        provider_code: "",
        sent_at: Some(now),
    };
    assert!(!ob::finish(&mut tx.conn(), &late).await.unwrap());
    let late = ob::Finish { id: a[1].id, ..late };
    assert!(!ob::finish(&mut tx.conn(), &late).await.unwrap());
    tx.commit().await.unwrap();
    let (m, tries) = b.outbox_message(&admin(), uncertain[0].id).await.unwrap();
    assert_eq!(m.status, "uncertain");
    assert_eq!(tries.iter().map(|a| (a.node.as_str(), a.outcome.as_str())).collect::<Vec<_>>(), [("A", "abandoned")]);
});

both_engines!(two_dispatchers_deliver_each_message_exactly_once, |db: TestDb| async move {
    let sink = SmtpSink::start().await;
    let clock = Clock::new();
    let a = service(store(&db).await, &clock, config(&sink.url(), "A"));
    let b = service(store(&db).await, &clock, config(&sink.url(), "B"));
    const N: usize = 200;
    let mut tx = a.store.begin().await.unwrap();
    let batch: Vec<NewMessage> = (0..N)
        .map(|n| NewMessage {
            channel: "email".into(),
            recipient: format!("c{n}@example.com"),
            ..robot_message(n, clock.now())
        })
        .collect();
    ob::enqueue(&mut tx.conn(), &batch).await.unwrap();
    tx.commit().await.unwrap();
    let run = |svc: Service| async move {
        let mut sent = 0;
        loop {
            let r = svc.dispatch_outbox(16).await.unwrap();
            if r.claimed == 0 {
                return sent;
            }
            sent += r.sent;
        }
    };
    let (x, y) = tokio::join!(tokio::spawn(run(a.clone())), tokio::spawn(run(b)));
    assert_eq!(x.unwrap() + y.unwrap(), N);
    let mail = sink.wait_for(N).await;
    let ids: std::collections::BTreeSet<String> = mail.iter().map(|m| text(m, "message_id")).collect();
    assert_eq!((mail.len(), ids.len()), (N, N));
    assert_eq!(messages(&a, Some("sent")).await.len(), N);
});

#[tokio::test]
async fn outbox_filters_name_the_bad_field() {
    let db = TestDb::new(loopdesk_test_support::Engine::Sqlite).await;
    let clock = Clock::new();
    let svc = service(store(&db).await, &clock, NotifyConfig::default());
    let f = Filter { status: Some("lost".into()), ..Default::default() };
    let e = svc.outbox(&admin(), &f, Page::default()).await.unwrap_err();
    assert!(e.to_string().contains("status"), "{e}");
    let long = Filter { recipient: Some("0".repeat(201)), ..Default::default() };
    let e = svc.outbox(&admin(), &long, Page::default()).await.unwrap_err();
    assert!(e.to_string().contains("recipient"), "{e}");
    let zero = Filter { case_id: Some(0), ..Default::default() };
    let e = svc.outbox(&admin(), &zero, Page::default()).await.unwrap_err();
    assert!(e.to_string().contains("case_id"), "{e}");
    let fits = Filter { recipient: Some("0".repeat(200)), ..Default::default() };
    assert!(svc.outbox(&admin(), &fits, Page::default()).await.is_ok());
    let staff = Actor { roles: vec![Role::Agent], ..admin() };
    assert!(svc.outbox(&staff, &Filter::default(), Page::default()).await.is_err());
    // Without an SMTP server nothing is enqueued for mail.
    svc.create_case(&Actor::system(), &case("wang@example.com", "zh-CN")).await.unwrap();
    assert!(messages(&svc, None).await.is_empty());
}
