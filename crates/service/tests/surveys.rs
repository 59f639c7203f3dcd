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
    let s: Vec<f64> = r.scores.items.iter().map(|i| i.satisfaction_pct.unwrap()).collect();
    assert_eq!(s, vec![80.0, 45.0, 70.0]);
    // Overall = Σ w·S with the AHP weights (0.637, 0.258, 0.105).
    let expect: f64 = r.scores.items.iter().map(|i| i.weight * i.satisfaction_pct.unwrap()).sum();
    assert!((r.scores.overall_pct.unwrap() - expect).abs() < 1e-9);
    assert!((r.scores.overall_pct.unwrap() - 69.92).abs() < 0.1, "{:?}", r.scores.overall_pct);
    // NPS: one promoter (9), one detractor (5) → 0. CSAT: top two levels (10, 8) in 2 of 6 → 33.3 %.
    assert_eq!(r.scores.nps, Some(0.0));
    assert!((r.scores.csat_pct.unwrap() - 100.0 / 3.0).abs() < 1e-9);
    // 2 of 3 answered: 66.7 % ≥ 60 %.
    assert!(r.scores.representative && (r.scores.response_rate - 2.0 / 3.0).abs() < 1e-12);
    assert_eq!(r.scores.tracking.opened, 2);
    assert_eq!(r.scores.texts[0].text, "<b>包装</b>太差");
    assert_eq!(r.scores.feedback.opinions, 1);
    // Internal: (100 + 50 + 100 + 90) / 4 = 85; composite = 0.5 × overall + 0.5 × 85.
    let comp = r.scores.composite.clone().unwrap();
    assert!(
        (comp.internal - 85.0).abs() < 1e-9 && (comp.value - (0.5 * r.scores.overall_pct.unwrap() + 42.5)).abs() < 1e-9
    );
    assert!(r.scores.below_target && r.corrective_action.is_none());

    // Classification of the free-text answer.
    let a = &r.scores.texts[0];
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
    assert_eq!(closed.scores.feedback.categories[0].category, "包装");
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
    assert_eq!(r2.scores.previous_pct, r.scores.overall_pct);
    assert_eq!(r2.scores.overall_pct, Some(100.0));
    assert!(!r2.scores.below_target && !r2.scores.representative);
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

fn manual_template(scale: &str) -> TemplateSpec {
    serde_json::from_value(json!({
        "code": "HALF", "name_zh": "半年度顾客满意度调查表", "name_en": "Half-yearly questionnaire",
        "audience": "external_customer", "weight_method": "manual", "scale": scale,
        "indicators": [
            {"code": "Q", "name_zh": "产品质量", "name_en": "Product quality", "weight": 50, "threshold": 80},
            {"code": "D", "name_zh": "发运及时性", "name_en": "Delivery", "weight": 30},
            {"code": "S", "name_zh": "销售服务", "name_en": "Sales service", "weight": 20}
        ],
        "questions": [
            {"code": "q", "kind": "rating", "indicator": "Q", "text_zh": "产品质量", "text_en": "Product quality"},
            {"code": "d", "kind": "rating", "indicator": "D", "text_zh": "发运及时性", "text_en": "Delivery"},
            {"code": "s", "kind": "rating", "indicator": "S", "text_zh": "销售服务", "text_en": "Sales service"},
            {"code": "op", "kind": "text", "text_zh": "意见", "text_en": "Opinions"}
        ]
    }))
    .unwrap()
}

async fn launch(svc: &Service, sys: &Actor, plan_id: i64, period: &str) -> loopdesk_service::surveys::Launch {
    let input =
        CampaignInput { plan_id, name: period.into(), period: period.into(), anonymous: false, trigger_event: None };
    svc.launch_campaign(sys, &input).await.unwrap()
}

fn invalid_field(e: ServiceError) -> String {
    match e {
        ServiceError::Domain(DomainError::Invalid { field, .. }) => field,
        other => panic!("expected a refusal naming a field, got {other:?}"),
    }
}

// Weights Q 0.5, D 0.3, S 0.2; Q has its own threshold of 80 %; the plan's target is 70 %.
// 2025H2 (scale 10): one answer 10/10/10 → 100 %.
// 2026-03 (scale 10): answers (6, 10, 10) and (8, 8, 8) → Q 70, D 90, S 90, overall 80 ≥ 70, but
//   Q 70 < 80: closing it opens a request for the item alone.
// 2026Q2 (revision 2, scale 100): one answer (80, 60, 80).
// 2026H1 pools both: Q (1.4 + 0.8)/3 = 73.33, D (1.8 + 0.6)/3 = 80, S (1.8 + 0.8)/3 = 86.67;
//   overall 0.5·73.33 + 0.3·80 + 0.2·86.67 = 78; previous period 2025H2 = 100 → −22.
//   CSAT: top two levels in 5 of 6 (scale 10) and 2 of 3 (scale 100) → 7/9.
//   KPIs 2026H1: on-time 95/95 → 100, complaints 4 vs 2 → 50: internal 75, composite 76.5.
both_engines!(
    period_results_pool_campaigns_against_target_previous_period_and_item_thresholds,
    |db: TestDb| async move {
        let svc = service(&db).await;
        let sys = Actor::system();
        customers_with_contacts(&svc, &sys, 5, 5).await;
        svc.save_template(&sys, manual_template("five_level_10")).await.unwrap();
        let plan_input = PlanInput {
            name: "半年度调查".into(),
            template_code: "HALF".into(),
            period_start: NaiveDate::from_ymd_opt(2025, 7, 1).unwrap(),
            period_end: NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
            frequency: "semi_annual".into(),
            population: Population::default(),
            min_response_rate: None,
            target_pct: 70.0,
            channel: "email".into(),
            triggers: vec![],
        };
        // A trigger naming an unknown case type is refused and stores nothing.
        let mut bad = plan_input.clone();
        bad.triggers =
            vec![loopdesk_service::surveys::Trigger { event: "case_closed".into(), case_type: "bogus".into() }];
        assert_eq!(invalid_field(svc.create_survey_plan(&sys, &bad).await.unwrap_err()), "triggers[0].case_type");
        assert!(svc.survey_plans(&sys).await.unwrap().is_empty());
        let plan = svc.create_survey_plan(&sys, &plan_input).await.unwrap().row.id;
        // A campaign's period must be a year, half, quarter or month.
        let mut odd = CampaignInput {
            plan_id: plan,
            name: "x".into(),
            period: "上半年".into(),
            anonymous: false,
            trigger_event: None,
        };
        assert_eq!(invalid_field(svc.launch_campaign(&sys, &odd).await.unwrap_err()), "period");
        odd.period = "2026h1".into();
        assert_eq!(svc.launch_campaign(&sys, &odd).await.unwrap().campaign.period, "2026H1");

        let a = launch(&svc, &sys, plan, "2025H2").await;
        svc.submit_survey(&a.links[0].token, &answers(&[("q", "10"), ("d", "10"), ("s", "10")])).await.unwrap();
        let closed = svc.close_campaign(&sys, a.campaign.id, a.campaign.version).await.unwrap();
        assert!(!closed.scores.below_target && closed.corrective_action.is_none());

        let b = launch(&svc, &sys, plan, "2026-03").await;
        svc.submit_survey(&b.links[0].token, &answers(&[("q", "6"), ("d", "10"), ("s", "10"), ("op", "包装太差")]))
            .await
            .unwrap();
        svc.submit_survey(&b.links[1].token, &answers(&[("q", "8"), ("d", "8"), ("s", "8")])).await.unwrap();
        let rb = svc.close_campaign(&sys, b.campaign.id, b.campaign.version).await.unwrap();
        assert!((rb.scores.overall_pct.unwrap() - 80.0).abs() < 1e-9);
        assert!(!rb.scores.overall_below_target && rb.scores.below_target);
        assert_eq!(rb.scores.below_threshold.len(), 1);
        assert_eq!(rb.scores.below_threshold[0].code, "Q");
        let car = rb.corrective_action.clone().unwrap();
        assert!(car.title.starts_with("单项满意度低于阈值"), "{}", car.title);
        assert!(car.detail.contains("Q 产品质量 / Product quality 70.0 % < threshold 80.0 %"), "{}", car.detail);
        let text = &rb.scores.texts[0];
        svc.classify_survey_answer(
            &sys,
            text.id,
            text.version,
            loopdesk_domain::survey::scoring::FeedbackKind::Opinion,
            "包装",
        )
        .await
        .unwrap();

        // Revision 2 switches to the 100-point scale; the next campaign uses it.
        svc.save_template(&sys, manual_template("five_level_100")).await.unwrap();
        let c = launch(&svc, &sys, plan, "2026Q2").await;
        svc.submit_survey(&c.links[0].token, &answers(&[("q", "80"), ("d", "60"), ("s", "80")])).await.unwrap();
        let rc = svc.survey_results(&sys, c.campaign.id).await.unwrap();
        assert_eq!(rc.template_revision, 2);
        assert!((rc.scores.overall_pct.unwrap() - 74.0).abs() < 1e-9);

        svc.put_survey_kpis(
            &sys,
            "2026H1",
            &KpiInput {
                kpis: vec![Kpi::on_time_delivery(95.0, 95.0), Kpi::complaints(4.0, 2.0)],
                external_share: None,
            },
        )
        .await
        .unwrap();
        assert_eq!(svc.survey_kpi_sets(&sys).await.unwrap()[0].period, "2026H1");

        // No period given: the half holding the newest campaign.
        let r = svc.survey_period_results(&sys, plan, None).await.unwrap();
        assert_eq!(
            (r.period.as_str(), r.granularity.as_str(), r.previous_period.as_str()),
            ("2026H1", "half", "2025H2")
        );
        let ids: Vec<i64> = r.campaigns.iter().map(|k| k.id).collect();
        assert_eq!(ids.len(), 3, "2026H1, 2026-03 and 2026Q2");
        assert!(ids.contains(&b.campaign.id) && ids.contains(&c.campaign.id) && !ids.contains(&a.campaign.id));
        let s = &r.scores;
        let sat: Vec<f64> = s.items.iter().map(|i| i.satisfaction_pct.unwrap()).collect();
        for (got, want) in sat.iter().zip([220.0 / 3.0, 80.0, 260.0 / 3.0]) {
            assert!((got - want).abs() < 1e-9, "{sat:?}");
        }
        assert!((s.overall_pct.unwrap() - 78.0).abs() < 1e-9, "{:?}", s.overall_pct);
        assert_eq!(s.previous_pct, Some(100.0));
        assert!((s.delta_vs_previous.unwrap() + 22.0).abs() < 1e-9);
        assert!((s.delta_vs_target.unwrap() - 8.0).abs() < 1e-9);
        assert!(!s.overall_below_target && s.below_target && s.below_threshold[0].code == "Q");
        assert!((s.csat_pct.unwrap() - 700.0 / 9.0).abs() < 1e-9);
        // 3 answers of 15 invitations (the 2026H1 campaign has none): 20 % < 60 %.
        assert_eq!((s.tracking.invited, s.tracking.answered), (15, 3));
        assert!(!s.representative);
        let comp = s.composite.clone().unwrap();
        assert!((comp.internal - 75.0).abs() < 1e-9 && (comp.value - 76.5).abs() < 1e-9);
        assert_eq!(s.feedback.categories[0].category, "包装");
        assert_eq!(r.template_revision, 2);
        assert_eq!(r.corrective_actions.len(), 1);
        let trend: Vec<(&str, Option<f64>)> = r.trend.iter().map(|p| (p.period.as_str(), p.overall_pct)).collect();
        assert_eq!(trend.len(), 2);
        assert_eq!(trend[0], ("2025H2", Some(100.0)));
        assert!((trend[1].1.unwrap() - 78.0).abs() < 1e-9);

        // The year pools the same campaigns and compares with 2025; a quarter holds only its own.
        let y = svc.survey_period_results(&sys, plan, Some("2026")).await.unwrap();
        assert!((y.scores.overall_pct.unwrap() - 78.0).abs() < 1e-9 && y.scores.previous_pct == Some(100.0));
        let q1 = svc.survey_period_results(&sys, plan, Some("2026Q1")).await.unwrap();
        assert_eq!(q1.campaigns.len(), 1);
        assert!((q1.scores.overall_pct.unwrap() - 80.0).abs() < 1e-9);
        assert_eq!(q1.scores.previous_pct, None, "2025H2 is not inside 2025Q4");
        let empty = svc.survey_period_results(&sys, plan, Some("2024")).await.unwrap();
        assert!(empty.campaigns.is_empty() && empty.scores.overall_pct.is_none() && !empty.scores.below_target);
        assert_eq!(invalid_field(svc.survey_period_results(&sys, plan, Some("H1 2026")).await.unwrap_err()), "period");
        // The period below its thresholds gets its own request, once; a period on target gets none.
        let car = svc.open_period_corrective_action(&sys, plan, "2026h1").await.unwrap();
        assert_eq!((car.source.as_str(), car.source_id), ("survey_period:2026H1", plan));
        assert!(car.detail.contains("< threshold 80.0 %"), "{}", car.detail);
        let again = svc.open_period_corrective_action(&sys, plan, "2026H1").await.unwrap_err();
        assert!(matches!(again, ServiceError::Domain(DomainError::Conflict { .. })), "{again:?}");
        assert_eq!(invalid_field(svc.open_period_corrective_action(&sys, plan, "2025H2").await.unwrap_err()), "period");
        assert_eq!(svc.survey_period_results(&sys, plan, Some("2026H1")).await.unwrap().corrective_actions.len(), 2);
        let sheets = svc.survey_period_report_sheets(&sys, plan, Some("2026H1"), false).await.unwrap();
        assert_eq!(sheets[0].1[0].last().unwrap(), "Threshold %");
    }
);
