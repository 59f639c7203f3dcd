//! Survey invitations and reminders by mail through the outbox to a real SMTP listener, on both
//! engines (issue #20 item 15): each invitee with an address gets their single-use link; a
//! reminder brings a link of its own while the first keeps working; one answer per invitation.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::time::Duration;

use chrono::NaiveDate;
use loopdesk_domain::access::Actor;
use loopdesk_domain::notify::SmtpUrl;
use loopdesk_service::customers::{ContactInput, CustomerInput};
use loopdesk_service::notify::NotifyConfig;
use loopdesk_service::surveys::{CampaignInput, PlanInput, Population, Submission};
use loopdesk_service::{OrgSettings, Service};
use loopdesk_store::{Store, StoreOptions};
use loopdesk_test_support::smtp::SmtpSink;
use loopdesk_test_support::{TestDb, both_engines};

both_engines!(invitations_and_reminders_are_mailed_with_working_links, |db: TestDb| async move {
    let sink = SmtpSink::start().await;
    let s = Store::connect(&db.url, &StoreOptions::default()).await.unwrap();
    s.migrate().await.unwrap();
    let cfg = NotifyConfig {
        smtp: Some(SmtpUrl::parse(&sink.url()).unwrap()),
        mail_from: "客服中心 <care@acme.cn>".into(),
        public_url: "https://care.acme.cn".into(),
        send_timeout: Duration::from_secs(2),
        ..Default::default()
    };
    let svc = Service::new(s, OrgSettings { name: "Acme".into(), ..Default::default() }).with_notify(cfg).unwrap();
    let sys = Actor::system();
    svc.ensure_shipped_survey_templates().await.unwrap();
    for (k, email) in [(0, Some("wang@example.com")), (1, None)] {
        let c = svc
            .create_customer(&sys, &CustomerInput { name: format!("邮件客户{k}"), ..Default::default() })
            .await
            .unwrap();
        let contact =
            ContactInput { name: format!("联系人{k}"), email: email.map(str::to_owned), ..Default::default() };
        svc.add_contact(&sys, c.id, &contact).await.unwrap();
    }
    let plan = PlanInput {
        name: "2026 年度顾客满意程度调查".into(),
        template_code: "002H-CSAT".into(),
        period_start: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
        period_end: NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
        frequency: "annual".into(),
        population: Population::default(),
        min_response_rate: None,
        target_pct: 80.0,
        channel: "phone".into(),
        triggers: vec![],
    };
    let plan = svc.create_survey_plan(&sys, &plan).await.unwrap();
    let input = CampaignInput {
        plan_id: plan.row.id,
        name: "2026".into(),
        period: "2026".into(),
        anonymous: false,
        trigger_event: None,
    };
    let launch = svc.launch_campaign(&sys, &input).await.unwrap();
    assert_eq!(launch.links.len(), 2);
    // Only the contact with an address is mailed.
    let r = svc.dispatch_outbox(10).await.unwrap();
    assert_eq!(r.sent, 1, "{r:?}");
    let mail = sink.wait_for(1).await;
    assert_eq!(mail[0]["rcpt_tos"], serde_json::json!(["wang@example.com"]));
    let text = mail[0]["text"].as_str().unwrap().to_owned();
    assert!(mail[0]["subject"].as_str().unwrap().contains("顾客满意程度调查表"));
    let mailed = launch.links.iter().find(|l| l.invitation.email == "wang@example.com").unwrap();
    assert!(text.contains(&format!("https://care.acme.cn/s/{}", mailed.token)), "{text}");

    // A reminder brings a new link; both open the same invitation.
    svc.remind_non_responders(&sys, launch.campaign.id).await.unwrap();
    assert_eq!(svc.dispatch_outbox(10).await.unwrap().sent, 1);
    let mail = sink.wait_for(2).await;
    let reminder = mail[1]["text"].as_str().unwrap();
    assert!(mail[1]["subject"].as_str().unwrap().starts_with("提醒"));
    let new_token = reminder.split("/s/").nth(1).unwrap().split_whitespace().next().unwrap().to_owned();
    assert_ne!(new_token, mailed.token);
    assert!(svc.open_survey(&mailed.token).await.is_ok());
    let survey = svc.open_survey(&new_token).await.unwrap();
    let values = survey
        .template
        .spec
        .questions
        .iter()
        .filter(|q| q.indicator.is_some())
        .map(|q| (q.code.clone(), vec!["8".to_owned()]))
        .collect();
    let sub = Submission { values, anonymous: false, locale: Default::default() };
    svc.submit_survey(&new_token, &sub).await.unwrap();
    // One answer per invitation: the first link is used up with it.
    let e = svc.submit_survey(&mailed.token, &sub).await.unwrap_err();
    assert!(
        matches!(e, loopdesk_service::ServiceError::Domain(loopdesk_domain::DomainError::Conflict { .. })),
        "{e:?}"
    );
});
