//! Satisfaction surveys through the service layer, on both engines.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use chrono::NaiveDate;
use loopdesk_domain::DomainError;
use loopdesk_domain::access::Actor;
use loopdesk_domain::locale::Locale;
use loopdesk_domain::survey::scoring::Kpi;
use loopdesk_domain::survey::template::TemplateSpec;
use loopdesk_service::customers::{ContactInput, ContractInput, CustomerInput};
use loopdesk_service::surveys::{CampaignInput, KpiInput, PlanInput, Population, Submission};
use loopdesk_service::{OrgSettings, Service, ServiceError};
use loopdesk_store::{Store, StoreOptions};
use loopdesk_test_support::{TestDb, both_engines};
use serde_json::json;

async fn service(db: &TestDb) -> Service {
    let s = Store::connect(&db.url, &StoreOptions::default()).await.unwrap();
    s.migrate().await.unwrap();
    Service::new(s, OrgSettings::default())
}

fn template_json() -> serde_json::Value {
    json!({
        "code": "EXT", "name_zh": "顾客满意程度调查表", "name_en": "Customer satisfaction questionnaire",
        "audience": "external_customer", "weight_method": "ahp", "allow_anonymous": true,
        "indicators": [
            {"code": "Q", "name_zh": "产品质量", "name_en": "Product quality"},
            {"code": "D", "name_zh": "发运及时性", "name_en": "Delivery"},
            {"code": "S", "name_zh": "销售服务", "name_en": "Sales service"}
        ],
        "ahp": [{"matrix": [[1,3,5],[0.3333,1,3],[0.2,0.3333,1]]}],
        "questions": [
            {"code": "q", "kind": "rating", "indicator": "Q", "text_zh": "产品质量", "text_en": "Product quality", "required": true},
            {"code": "d", "kind": "rating", "indicator": "D", "text_zh": "发运及时性", "text_en": "Delivery"},
            {"code": "s", "kind": "rating", "indicator": "S", "text_zh": "销售服务", "text_en": "Sales service"},
            {"code": "nps", "kind": "nps", "text_zh": "推荐意愿", "text_en": "Recommend us?"},
            {"code": "op", "kind": "text", "feedback_kind": "opinion", "text_zh": "意见", "text_en": "Opinions"}
        ]
    })
}

pub async fn customers_with_contacts(svc: &Service, sys: &Actor, n: usize, big: usize) {
    for k in 0..n {
        let c = svc
            .create_customer(
                sys,
                &CustomerInput {
                    name: format!("测试客户{k}"), region: Some("华东".into()), ..Default::default()
                },
            )
            .await
            .unwrap();
        svc.add_contact(
            sys,
            c.id,
            &ContactInput {
                name: format!("联系人{k}"),
                email: Some(format!("c{k}@example.com")),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let value = if k < big { "2500000" } else { "100000" };
        svc.add_contract(
            sys,
            c.id,
            &ContractInput {
                number: format!("HT-{k}"),
                signed_on: "2026-01-05".into(),
                value: Some(value.into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    }
}

fn answers(pairs: &[(&str, &str)]) -> Submission {
    Submission {
        values: pairs.iter().map(|(k, v)| ((*k).to_owned(), vec![(*v).to_owned()])).collect(),
        anonymous: false,
        locale: Locale::ZhCn,
    }
}

both_engines!(campaign_scores_answers_and_opens_corrective_action_below_target, |db: TestDb| async move {
    let svc = service(&db).await;
    let sys = Actor::system();
    customers_with_contacts(&svc, &sys, 5, 3).await;
    let spec: TemplateSpec = serde_json::from_value(template_json()).unwrap();
    let t1 = svc.save_template(&sys, spec.clone()).await.unwrap();
    assert_eq!(t1.row.revision, 1);
    let plan = svc
        .create_survey_plan(
            &sys,
            &PlanInput {
                name: "2026 年度客户满意程度调查计划".into(),
                template_code: "EXT".into(),
                period_start: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
                period_end: NaiveDate::from_ymd_opt(2026, 6, 30).unwrap(),
                frequency: "semi_annual".into(),
                population: Population {
                    region: Some("华东".into()),
                    min_contract_value: Some("2000000".into()),
                    ..Default::default()
                },
                min_response_rate: None,
                target_pct: 90.0,
                channel: "email".into(),
                triggers: vec![],
            },
        )
        .await
        .unwrap();
    assert_eq!(plan.row.min_response_rate, 0.6);
    let launch = svc
        .launch_campaign(
            &sys,
            &CampaignInput {
                plan_id: plan.row.id,
                name: "2026H1".into(),
                period: "2026H1".into(),
                anonymous: false,
                trigger_event: None,
            },
        )
        .await
        .unwrap();
    // Only the three customers with a contract of at least CNY 2 million are invited.
    assert_eq!(launch.links.len(), 3);
    assert!(launch.links.iter().all(|l| l.token.len() >= 43));
    // A new template revision does not change the running campaign.
    let mut v2 = spec.clone();
    v2.name_en = "Revised".into();
    assert_eq!(svc.save_template(&sys, v2).await.unwrap().row.revision, 2);

    let tok = |i: usize| launch.links[i].token.clone();
    let opened = svc.open_survey(&tok(0)).await.unwrap();
    assert_eq!(opened.template.spec.name_en, "Customer satisfaction questionnaire");
    assert!(!opened.answered);
    svc.submit_survey(
        &tok(0),
        &answers(&[("q", "10"), ("d", "6"), ("s", "8"), ("nps", "9"), ("op", "<b>包装</b>太差")]),
    )
    .await
    .unwrap();
    // Single use.
    let again = svc.submit_survey(&tok(0), &answers(&[("q", "10")])).await.unwrap_err();
    assert!(matches!(again, ServiceError::Domain(DomainError::Conflict { .. })), "{again:?}");
    // Bad values are refused naming the question; the link stays usable.
    let bad = svc.submit_survey(&tok(1), &answers(&[("q", "7")])).await.unwrap_err();
    assert!(matches!(bad, ServiceError::Domain(DomainError::Invalid { ref field, .. }) if field == "q"), "{bad:?}");
    svc.submit_survey(&tok(1), &answers(&[("q", "6"), ("d", "3"), ("s", "6"), ("nps", "5")])).await.unwrap();
    assert!(svc.open_survey("not-a-token").await.is_err());

    svc.put_survey_kpis(
        &sys,
        "2026H1",
        &KpiInput {
            kpis: vec![
                Kpi::on_time_delivery(95.0, 95.0),
                Kpi::complaints(4.0, 2.0),
                Kpi::returns(0.0, 1.0),
                Kpi::reply_timeliness(90.0, 100.0),
            ],
            external_share: None,
        },
    )
    .await
    .unwrap();

    let r = svc.survey_results(&sys, launch.campaign.id).await.unwrap();
    // S_Q = (10 + 6) / (2 × 10) = 80 %, S_D = (6 + 3) / 20 = 45 %, S_S = (8 + 6) / 20 = 70 %.
    let s: Vec<f64> = r.items.iter().map(|i| i.satisfaction_pct.unwrap()).collect();
    assert_eq!(s, vec![80.0, 45.0, 70.0]);
    // Overall = Σ w·S with the AHP weights (0.637, 0.258, 0.105).
    let expect: f64 = r.items.iter().map(|i| i.weight * i.satisfaction_pct.unwrap()).sum();
    assert!((r.overall_pct.unwrap() - expect).abs() < 1e-9);
    assert!((r.overall_pct.unwrap() - 69.92).abs() < 0.1, "{:?}", r.overall_pct);
    // NPS: one promoter (9), one detractor (5) → 0. CSAT: top two levels (10, 8) in 2 of 6 → 33.3 %.
    assert_eq!(r.nps, Some(0.0));
    assert!((r.csat_pct.unwrap() - 100.0 / 3.0).abs() < 1e-9);
    // 2 of 3 answered: 66.7 % ≥ 60 %.
    assert!(r.representative && (r.response_rate - 2.0 / 3.0).abs() < 1e-12);
    assert_eq!(r.tracking.opened, 2);
    assert_eq!(r.texts[0].text, "<b>包装</b>太差");
    assert_eq!(r.feedback.opinions, 1);
    // Internal: (100 + 50 + 100 + 90) / 4 = 85; composite = 0.5 × overall + 0.5 × 85.
    let comp = r.composite.clone().unwrap();
    assert!((comp.internal - 85.0).abs() < 1e-9 && (comp.value - (0.5 * r.overall_pct.unwrap() + 42.5)).abs() < 1e-9);
    assert!(r.below_target && r.corrective_action.is_none());

    // Classification of the free-text answer.
    let a = &r.texts[0];
    svc.classify_survey_answer(&sys, a.id, a.version, loopdesk_domain::survey::scoring::FeedbackKind::Opinion, "包装")
        .await
        .unwrap();
    // Reminders go to the one who has not answered.
    assert_eq!(svc.remind_non_responders(&sys, launch.campaign.id).await.unwrap().len(), 1);

    let closed = svc.close_campaign(&sys, launch.campaign.id, launch.campaign.version).await.unwrap();
    let car = closed.corrective_action.clone().unwrap();
    assert_eq!(
        (car.source.as_str(), car.source_id, car.status.as_str()),
        ("survey_campaign", launch.campaign.id, "open")
    );
    assert!(car.due_at > car.created_at + chrono::TimeDelta::hours(24));
    assert_eq!(closed.feedback.categories[0].category, "包装");
    // Closed: no more answers, no second close.
    assert!(svc.submit_survey(&tok(2), &answers(&[("q", "10")])).await.is_err());
    assert!(svc.close_campaign(&sys, launch.campaign.id, launch.campaign.version + 1).await.is_err());
    let sheets = svc.survey_report_sheets(&sys, launch.campaign.id, true).await.unwrap();
    assert_eq!(sheets[0].0, "客户满意度调查汇总表");
    assert_eq!(svc.survey_results(&sys, launch.campaign.id).await.unwrap().corrective_action.unwrap().id, car.id);

    // The next campaign of the plan compares with this one.
    let next = svc
        .launch_campaign(
            &sys,
            &CampaignInput {
                plan_id: plan.row.id,
                name: "2026H2".into(),
                period: "2026H2".into(),
                anonymous: true,
                trigger_event: None,
            },
        )
        .await
        .unwrap();
    svc.submit_survey(&next.links[0].token, &answers(&[("q", "10"), ("d", "10"), ("s", "10")])).await.unwrap();
    let r2 = svc.survey_results(&sys, next.campaign.id).await.unwrap();
    assert_eq!(r2.previous_pct, r.overall_pct);
    assert_eq!(r2.overall_pct, Some(100.0));
    assert!(!r2.below_target && !r2.representative);
    assert_eq!(r2.template_revision, 2);
});

both_engines!(a_closed_case_invites_its_contact_to_the_plan_listening_for_it, |db: TestDb| async move {
    use loopdesk_service::cases::CaseInput;
    use loopdesk_service::surveys::Trigger;
    use std::collections::BTreeMap;
    let svc = service(&db).await;
    let sys = Actor::system();
    customers_with_contacts(&svc, &sys, 1, 0).await;
    let dept = loopdesk_service::org::DepartmentInput {
        code: "CS".into(),
        name: "客服部".into(),
        kind: "customer_service".into(),
        parent_id: None,
    };
    svc.create_department(&sys, &dept).await.unwrap();
    let spec: TemplateSpec = serde_json::from_value(template_json()).unwrap();
    svc.save_template(&sys, spec).await.unwrap();
    let plan = PlanInput {
        name: "咨询结案回访".into(),
        template_code: "EXT".into(),
        period_start: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
        period_end: NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
        frequency: "annual".into(),
        population: Population::default(),
        min_response_rate: None,
        target_pct: 80.0,
        channel: "phone".into(),
        triggers: vec![Trigger { event: "case_closed".into(), case_type: "inquiry".into() }],
    };
    svc.create_survey_plan(&sys, &plan).await.unwrap();
    let customer = svc.customers(&sys, &Default::default(), Default::default()).await.unwrap().items.remove(0);
    let f =
        |pairs: &[(&str, &str)]| pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect::<BTreeMap<_, _>>();
    let mut cases = Vec::new();
    for kind in ["inquiry", "praise"] {
        let input = CaseInput {
            case_type: kind.into(),
            customer_id: Some(customer.id),
            subject: "问价".into(),
            description: "x".into(),
            ..Default::default()
        };
        let mut k = svc.create_case(&sys, &input).await.unwrap().case;
        let steps: Vec<(&str, Vec<(&str, &str)>)> = if kind == "inquiry" {
            vec![("answer", vec![("reply", "单价 100 元")]), ("close", vec![])]
        } else {
            vec![("forward", vec![("lead_department", "CS")]), ("thank_and_close", vec![])]
        };
        for (code, fields) in steps {
            k = svc.transition(&sys, k.id, code, k.version, &f(&fields)).await.unwrap();
        }
        cases.push(k);
    }
    assert_eq!(cases[0].state, "closed");
    let history = svc.history(&sys, cases[0].id).await.unwrap();
    let invite =
        history.iter().find(|e| e.kind == "survey_invitation").expect("the closed inquiry carries a survey link");
    assert!(invite.public && invite.body.starts_with("/s/"));
    let token = invite.body.trim_start_matches("/s/");
    assert!(svc.open_survey(token).await.is_ok());
    let campaigns = svc.survey_campaigns(&sys).await.unwrap();
    assert_eq!(campaigns.len(), 1);
    assert_eq!(campaigns[0].0.trigger_event, "case_closed");
    // The closed praise case (a type no plan listens for) invited nobody.
    assert_eq!(cases[1].state, "closed");
    assert!(svc.history(&sys, cases[1].id).await.unwrap().iter().all(|e| e.kind != "survey_invitation"));
});
