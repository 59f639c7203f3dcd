//! Group robots, webhooks, send budgets and staff messages (issue #15), on both engines, against
//! a stand-in for each vendor's HTTP API that checks signatures as the vendor documents them,
//! and a real SMTP listener (aiosmtpd) for the staff mail.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use loopdesk_domain::DomainError;
use loopdesk_domain::access::{Actor, ActorKind, Role, Scope};
use loopdesk_domain::notify::{LEASE, SmtpUrl};
use loopdesk_domain::page::Page;
use loopdesk_service::cases::{ActionInput, CaseInput, MeetingInput};
use loopdesk_service::notify::{DestinationInput, NotifyConfig};
use loopdesk_service::org::{DepartmentInput, NewUser};
use loopdesk_service::{OrgSettings, Service, ServiceError};
use loopdesk_store::outbox::{self as ob, Filter};
use loopdesk_store::{Store, StoreOptions};
use loopdesk_test_support::robot::{Reply, RobotSink, Vendor};
use loopdesk_test_support::smtp::SmtpSink;
use loopdesk_test_support::{TestDb, both_engines};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 6, 2, 0, 30).unwrap()
}

struct Clock(Arc<AtomicI64>);

impl Clock {
    fn new() -> Clock {
        Clock(Arc::new(AtomicI64::new(t0().timestamp_millis())))
    }
    fn advance(&self, secs: i64) {
        self.0.fetch_add(secs * 1000, Ordering::SeqCst);
    }
}

fn config(smtp: Option<&str>) -> NotifyConfig {
    NotifyConfig {
        smtp: smtp.map(|u| SmtpUrl::parse(u).unwrap()),
        mail_from: "Acme 客服中心 <care@acme.cn>".into(),
        public_url: "https://care.acme.cn".into(),
        send_timeout: Duration::from_secs(1),
        node: "a".into(),
        lease: LEASE.to_std().unwrap(),
        ..Default::default()
    }
}

async fn service(db: &TestDb, clock: &Clock, cfg: NotifyConfig) -> Service {
    let s = Store::connect(&db.url, &StoreOptions { max_connections: 10 }).await.unwrap();
    s.migrate().await.unwrap();
    let source = clock.0.clone();
    Service::new(s, OrgSettings { name: "Acme 售后".into(), ..Default::default() })
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

fn complaint(subject: &str) -> CaseInput {
    CaseInput {
        case_type: "complaint".into(),
        contact_name: Some("王芳".into()),
        subject: subject.into(),
        description: "安装后第三天就不制冷了".into(),
        locale: Some("zh-CN".into()),
        ..Default::default()
    }
}

fn destination(name: &str, channel: &str, url: &str, secret: &str, events: &[&str]) -> DestinationInput {
    DestinationInput {
        name: name.into(),
        channel: channel.into(),
        url: url.into(),
        secret: secret.into(),
        events: events.iter().map(|e| (*e).to_owned()).collect(),
        active: true,
        ..Default::default()
    }
}

async fn messages(svc: &Service, status: Option<&str>) -> Vec<ob::Message> {
    let f = Filter { status: status.map(str::to_owned), ..Default::default() };
    svc.outbox(&admin(), &f, Page { page: 1, per_page: 500 }).await.unwrap().items
}

both_engines!(each_robot_and_webhook_gets_a_signed_message_carrying_the_number, |db: TestDb| async move {
    let clock = Clock::new();
    let svc = service(&db, &clock, config(None)).await;
    let wecom = RobotSink::start(Vendor::Wecom, "").await;
    let ding = RobotSink::start(Vendor::Dingtalk, "SECdingtalk-secret-1").await;
    let feishu = RobotSink::start(Vendor::Feishu, "feishu-secret-1").await;
    let hook = RobotSink::start(Vendor::Webhook, "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=").await;
    for (name, ch, sink, secret) in [
        ("企业微信群", "wecom", &wecom, ""),
        ("钉钉群", "dingtalk", &ding, "SECdingtalk-secret-1"),
        ("飞书群", "feishu", &feishu, "feishu-secret-1"),
        ("ERP", "webhook", &hook, "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="),
    ] {
        let mut d = destination(name, ch, &sink.url(), secret, &["case.created"]);
        d.keyword = if ch == "dingtalk" { "售后".into() } else { String::new() };
        svc.create_destination(&admin(), &d).await.unwrap();
    }
    // Secrets are never part of what the API serialises.
    let listed = serde_json::to_string(&svc.destinations(&admin()).await.unwrap()).unwrap();
    assert!(!listed.contains("secret-1") && !listed.contains("whsec_"), "{listed}");
    let k = svc.create_case(&Actor::system(), &complaint("空调<不制冷>")).await.unwrap().case;
    let r = svc.dispatch_outbox(50).await.unwrap();
    assert_eq!((r.claimed, r.sent), (4, 4), "{r:?} {:?}", messages(&svc, None).await);
    let w = &wecom.wait_for(1).await[0];
    assert!(w.target.contains("key=test-key"));
    assert_eq!(w.json()["msgtype"], "markdown");
    assert!(w.json()["markdown"]["content"].as_str().unwrap().contains(&k.number));
    let d = &ding.wait_for(1).await[0];
    assert_eq!(d.signature_ok, Some(true), "{}", d.target);
    let text = d.json()["markdown"]["text"].as_str().unwrap().to_owned();
    assert!(text.contains(&k.number) && text.contains("售后"), "{text}");
    assert!(!text.contains("<不制冷>"), "user markup is neutralised: {text}");
    let f = &feishu.wait_for(1).await[0];
    assert_eq!(f.signature_ok, Some(true), "{}", f.body);
    assert_eq!(f.json()["msg_type"], "interactive");
    assert!(f.body.contains(&k.number));
    let h = &hook.wait_for(1).await[0];
    assert_eq!(h.signature_ok, Some(true));
    assert_eq!(h.json()["type"], "case.created");
    assert_eq!(h.json()["data"]["number"], k.number.as_str());
    let sent = messages(&svc, Some("sent")).await;
    let hook_msg = sent.iter().find(|m| m.channel == "webhook").unwrap();
    assert_eq!(h.header("webhook-id"), Some(hook_msg.event_id.as_str()));
    // Nothing is sent twice.
    assert_eq!(svc.dispatch_outbox(50).await.unwrap().claimed, 0);
});

both_engines!(robot_error_codes_drive_retry_failure_and_uncertain, |db: TestDb| async move {
    let clock = Clock::new();
    let svc = service(&db, &clock, config(None)).await;
    let ding = RobotSink::start(Vendor::Dingtalk, "SECgood").await;
    let (d, _) = svc
        .create_destination(&admin(), &destination("钉钉群", "dingtalk", &ding.url(), "SECgood", &["case.created"]))
        .await
        .unwrap();
    // Rate-limited: tried again after ten seconds.
    ding.script([Reply::Answer(200, r#"{"errcode":130101,"errmsg":"send too fast"}"#.into())]);
    svc.create_case(&Actor::system(), &complaint("一")).await.unwrap();
    let r = svc.dispatch_outbox(10).await.unwrap();
    assert_eq!(r.retried, 1, "{r:?}");
    let m = &messages(&svc, Some("pending")).await[0];
    assert_eq!(m.provider_code, "130101");
    clock.advance(10);
    assert_eq!(svc.dispatch_outbox(10).await.unwrap().sent, 1);
    // The robot's keyword check refuses: failed at once.
    ding.script([Reply::Answer(200, r#"{"errcode":310000,"errmsg":"keywords not in content"}"#.into())]);
    svc.create_case(&Actor::system(), &complaint("二")).await.unwrap();
    assert_eq!(svc.dispatch_outbox(10).await.unwrap().failed, 1);
    // 5xx retries, 4xx fails.
    ding.script([Reply::Answer(502, "bad gateway".into()), Reply::Answer(404, "no".into())]);
    svc.create_case(&Actor::system(), &complaint("三")).await.unwrap();
    assert_eq!(svc.dispatch_outbox(10).await.unwrap().retried, 1);
    clock.advance(10);
    assert_eq!(svc.dispatch_outbox(10).await.unwrap().failed, 1);
    // No answer after the request went out: uncertain, never sent again by itself.
    ding.script([Reply::Hang]);
    let k = svc.create_case(&Actor::system(), &complaint("四")).await.unwrap().case;
    let before = ding.requests().len();
    let r = svc.dispatch_outbox(10).await.unwrap();
    assert_eq!(r.uncertain, 1, "{r:?}");
    for _ in 0..3 {
        clock.advance(3600);
        assert_eq!(svc.dispatch_outbox(10).await.unwrap().claimed, 0);
    }
    assert_eq!(ding.requests().len(), before + 1);
    let u = &messages(&svc, Some("uncertain")).await[0];
    assert_eq!(u.case_id, Some(k.id));
    // An admin's "send again" sends it once more.
    svc.retry_message(&admin(), u.id).await.unwrap();
    assert_eq!(svc.dispatch_outbox(10).await.unwrap().sent, 1);
    assert_eq!(ding.requests().len(), before + 2);
    // A wrong secret: the robot refuses the signature, failed at once.
    let mut wrong = destination("钉钉群", "dingtalk", &ding.url(), "SECwrong", &["case.created"]);
    wrong.per_minute = Some(20);
    svc.update_destination(&admin(), d.id, d.version, &wrong).await.unwrap();
    svc.create_case(&Actor::system(), &complaint("五")).await.unwrap();
    assert_eq!(svc.dispatch_outbox(10).await.unwrap().failed, 1);
    assert_eq!(ding.requests().last().unwrap().signature_ok, Some(false));
    let failed = messages(&svc, Some("failed")).await;
    assert!(failed.iter().any(|m| m.provider_code == "310000"));
});

both_engines!(an_ambiguous_webhook_is_retried_with_the_same_webhook_id, |db: TestDb| async move {
    let clock = Clock::new();
    let svc = service(&db, &clock, config(None)).await;
    let hook = RobotSink::start(Vendor::Webhook, "").await;
    let (_, secret) = svc
        .create_destination(&admin(), &destination("ERP", "webhook", &hook.url(), "", &["case.created", "case.closed"]))
        .await
        .unwrap();
    // A webhook without a secret gets one, shown this once.
    assert!(secret.unwrap().starts_with("whsec_"));
    hook.script([Reply::Hang, Reply::Answer(503, String::new())]);
    svc.create_case(&Actor::system(), &complaint("一")).await.unwrap();
    assert_eq!(svc.dispatch_outbox(10).await.unwrap().retried, 1);
    clock.advance(10);
    assert_eq!(svc.dispatch_outbox(10).await.unwrap().retried, 1);
    clock.advance(60);
    assert_eq!(svc.dispatch_outbox(10).await.unwrap().sent, 1);
    let reqs = hook.wait_for(3).await;
    let ids: Vec<_> = reqs.iter().map(|r| r.header("webhook-id").unwrap().to_owned()).collect();
    assert!(ids.iter().all(|i| *i == ids[0]), "{ids:?}");
    let (m, tries) = svc.outbox_message(&admin(), messages(&svc, Some("sent")).await[0].id).await.unwrap();
    assert_eq!(m.attempts, 3);
    assert_eq!(tries.iter().map(|a| a.outcome.as_str()).collect::<Vec<_>>(), ["ambiguous", "retry", "sent"]);
});

both_engines!(a_backlog_over_the_budget_becomes_one_digest, |db: TestDb| async move {
    let clock = Clock::new();
    let svc = service(&db, &clock, config(None)).await;
    let wecom = RobotSink::start(Vendor::Wecom, "").await;
    let mut d = destination("企业微信群", "wecom", &wecom.url(), "", &["case.created"]);
    d.per_minute = Some(2);
    svc.create_destination(&admin(), &d).await.unwrap();
    let mut numbers = vec![];
    for n in 0..5 {
        numbers.push(svc.create_case(&Actor::system(), &complaint(&format!("批量{n}"))).await.unwrap().case.number);
    }
    let r = svc.dispatch_outbox(50).await.unwrap();
    assert_eq!((r.sent, r.merged), (2, 3), "{r:?}");
    assert_eq!(messages(&svc, Some("merged")).await.len(), 3);
    // The digest waits for the next window.
    assert_eq!(svc.dispatch_outbox(50).await.unwrap().claimed, 0);
    clock.advance(60);
    assert_eq!(svc.dispatch_outbox(50).await.unwrap().sent, 1);
    let reqs = wecom.wait_for(3).await;
    assert_eq!(reqs.len(), 3);
    let digest = reqs[2].json()["markdown"]["content"].as_str().unwrap().to_owned();
    let merged: Vec<_> = messages(&svc, Some("merged")).await.into_iter().map(|m| m.subject).collect();
    for s in &merged {
        let number = s.trim_start_matches('[').split(']').next().unwrap();
        assert!(digest.contains(number), "{digest} lacks {number}");
    }
    assert!(numbers.iter().all(|n| reqs.iter().any(|r| r.body.contains(n.as_str()))));
});

both_engines!(destinations_refuse_bad_input_naming_the_field, |db: TestDb| async move {
    let clock = Clock::new();
    let svc = service(&db, &clock, config(None)).await;
    let field = |e: ServiceError| match e {
        ServiceError::Domain(DomainError::Invalid { field, .. }) => field,
        ServiceError::Domain(DomainError::Conflict { field, .. }) => field.unwrap_or("").to_owned(),
        other => panic!("{other:?}"),
    };
    let bad = destination("x", "wecom", "ftp://x", "", &["case.created"]);
    assert_eq!(field(svc.create_destination(&admin(), &bad).await.unwrap_err()), "url");
    let bad = destination("x", "wecom", "https://x", "", &["case.nothing"]);
    assert_eq!(field(svc.create_destination(&admin(), &bad).await.unwrap_err()), "events");
    let mut bad = destination("x", "wecom", "https://x", "", &["case.created"]);
    bad.department_id = Some(999);
    assert_eq!(field(svc.create_destination(&admin(), &bad).await.unwrap_err()), "department_id");
    let ok = destination("x", "wecom", "https://x", "", &["case.created"]);
    svc.create_destination(&admin(), &ok).await.unwrap();
    assert_eq!(field(svc.create_destination(&admin(), &ok).await.unwrap_err()), "name");
    assert_eq!(svc.destinations(&admin()).await.unwrap().len(), 1);
    let agent = Actor { roles: vec![Role::Agent], ..admin() };
    assert!(svc.destinations(&agent).await.is_err());
});

both_engines!(owner_gm_office_and_action_owner_are_told_by_inbox_and_mail, |db: TestDb| async move {
    let sink = SmtpSink::start().await;
    let clock = Clock::new();
    let svc = service(&db, &clock, config(Some(&sink.url()))).await;
    let sys = Actor::system();
    svc.create_department(
        &sys,
        &DepartmentInput { code: "QA".into(), name: "品保部".into(), kind: "quality".into(), parent_id: None },
    )
    .await
    .unwrap();
    let mut ids = BTreeMap::new();
    for (name, role, email, locale) in [("zhou", "qa", "zhou@acme.cn", "zh-CN"), ("gm", "gm", "gm@acme.cn", "en")] {
        let u = svc
            .create_user(
                &sys,
                &NewUser {
                    username: name.into(),
                    display_name: name.into(),
                    email: Some(email.into()),
                    roles: vec![role.into()],
                    locale: Some(locale.into()),
                    password: "notify-pass-123".into(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        ids.insert(name, u.id);
    }
    let hook = RobotSink::start(Vendor::Webhook, "").await;
    svc.create_destination(
        &admin(),
        &destination("ERP", "webhook", &hook.url(), "", &["case.assigned", "case.escalated", "case.state_changed"]),
    )
    .await
    .unwrap();
    let f = |v: &[(&str, &str)]| v.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect::<BTreeMap<_, _>>();
    let mut k = svc.create_case(&sys, &complaint("整批退货")).await.unwrap().case;
    let edit = loopdesk_service::case_record::CaseEdit { owner: Some("zhou".into()), ..Default::default() };
    k = svc.edit_case(&sys, k.id, k.version, &edit).await.unwrap();
    for (code, fields) in [
        ("acknowledge", vec![]),
        (
            "assess",
            vec![
                ("category", "产品质量"),
                ("severity", "critical"),
                ("responsibility", "yes"),
                ("lead_department", "QA"),
            ],
        ),
        ("escalate", vec![("reason", "涉及金额大")]),
    ] {
        k = svc.transition(&sys, k.id, code, k.version, &f(&fields)).await.unwrap();
    }
    let meeting = MeetingInput {
        attendees: "总经理、品保部".into(),
        minutes: "确认为批次工艺问题".into(),
        actions: vec![ActionInput {
            description: "完成工艺<整改>".into(),
            owner: "zhou".into(),
            due_date: "2026-12-15".into(),
        }],
        ..Default::default()
    };
    svc.record_meeting(&sys, k.id, &meeting).await.unwrap();
    let inbox = |who: &str| {
        let me = Actor { user_id: Some(ids[who]), ..admin() };
        let svc = svc.clone();
        async move {
            svc.inbox(&me, false, Page::default()).await.unwrap().items.into_iter().map(|i| i.kind).collect::<Vec<_>>()
        }
    };
    let zhou = inbox("zhou").await;
    assert!(zhou.contains(&"case_assigned".to_owned()) && zhou.contains(&"action_assigned".to_owned()), "{zhou:?}");
    assert!(inbox("gm").await.contains(&"case_escalated".to_owned()));
    while svc.dispatch_outbox(50).await.unwrap().claimed > 0 {}
    let mail = sink.wait_for(3).await;
    let to = |addr: &str| {
        mail.iter()
            .filter(|m| m["rcpt_tos"][0] == addr)
            .map(|m| m["subject"].as_str().unwrap_or("").to_owned())
            .collect::<Vec<_>>()
    };
    let zhou_mail = to("zhou@acme.cn");
    assert_eq!(zhou_mail.len(), 2, "{zhou_mail:?}");
    assert!(zhou_mail.iter().all(|s| s.contains(&k.number)));
    assert!(zhou_mail.iter().any(|s| s.contains("指派")) && zhou_mail.iter().any(|s| s.contains("行动项")));
    let gm_mail = to("gm@acme.cn");
    assert_eq!(gm_mail.len(), 1);
    assert!(gm_mail[0].contains("escalated to the GM office"), "{gm_mail:?}");
    let html = mail.iter().find(|m| m["subject"].as_str().unwrap_or("").contains("行动项")).unwrap();
    assert!(html["html"].as_str().unwrap().contains("完成工艺&lt;整改&gt;"));
    let kinds: Vec<String> = hook.requests().iter().map(|r| r.json()["type"].as_str().unwrap().to_owned()).collect();
    assert!(kinds.contains(&"case.assigned".into()) && kinds.contains(&"case.escalated".into()), "{kinds:?}");
    assert_eq!(kinds.iter().filter(|k| *k == "case.state_changed").count(), 3, "{kinds:?}");
    // Passing the same facts again tells nobody twice (dedupe keys).
    assert_eq!(svc.dispatch_outbox(50).await.unwrap().claimed, 0);
});
