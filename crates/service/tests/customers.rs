//! Customer files through the service layer, on both engines.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::time::Instant;

use loopdesk_domain::DomainError;
use loopdesk_domain::access::Actor;
use loopdesk_domain::import::Sheet;
use loopdesk_domain::page::Page;
use loopdesk_service::customers::{
    AssetInput, CommunicationInput, ContactInput, ContractInput, CustomerInput, ImportOutcome, ProductInput,
};
use loopdesk_service::tabular;
use loopdesk_service::{OrgSettings, Service, ServiceError};
use loopdesk_store::customers::CustomerFilter;
use loopdesk_store::{Store, StoreOptions};
use loopdesk_test_support::{TestDb, both_engines};

async fn service(db: &TestDb) -> Service {
    let s = Store::connect(&db.url, &StoreOptions::default()).await.unwrap();
    s.migrate().await.unwrap();
    Service::new(s, OrgSettings::default())
}

fn huaxing() -> CustomerInput {
    CustomerInput {
        name: "深圳华星电子有限公司".into(),
        category: Some("经销商".into()),
        region: Some("华南".into()),
        phones: vec!["0755-8888 1234".into()],
        ..Default::default()
    }
}

fn conflict_field(e: ServiceError) -> Option<&'static str> {
    match e {
        ServiceError::Domain(DomainError::Conflict { field, .. }) => field,
        other => panic!("expected a conflict, got {other:?}"),
    }
}

both_engines!(create_edit_and_dedupe_customers, |db: TestDb| async move {
    let svc = service(&db).await;
    let sys = Actor::system();
    let c = svc.create_customer(&sys, &huaxing()).await.unwrap();
    assert_eq!(c.code, "C000001");
    assert_eq!(c.category, "distributor");
    // Same name and the same phone written differently: a duplicate, named.
    let dup = CustomerInput { phones: vec!["075588881234".into()], ..huaxing() };
    assert_eq!(conflict_field(svc.create_customer(&sys, &dup).await.unwrap_err()), Some("name"));
    // Same code: a duplicate.
    let same_code = CustomerInput { code: Some("c000001".into()), name: "别家".into(), ..Default::default() };
    assert_eq!(conflict_field(svc.create_customer(&sys, &same_code).await.unwrap_err()), Some("code"));
    // Same name, other phone: a different customer (branches share names).
    let other = CustomerInput { phones: vec!["13800138000".into()], ..huaxing() };
    assert_eq!(svc.create_customer(&sys, &other).await.unwrap().code, "C000002");
    // Bad input names the field and changes nothing.
    let bad = CustomerInput { name: "x".into(), emails: vec!["not-mail".into()], ..Default::default() };
    assert!(
        matches!(svc.create_customer(&sys, &bad).await.unwrap_err(), ServiceError::Domain(DomainError::Invalid { field, .. }) if field == "emails")
    );
    // Edit with the version read; a stale version is refused.
    let edited = svc
        .update_customer(&sys, c.id, c.version, &CustomerInput { address: Some("深圳市南山区".into()), ..huaxing() })
        .await
        .unwrap();
    assert_eq!(edited.address, "深圳市南山区");
    assert_eq!(
        conflict_field(svc.update_customer(&sys, c.id, c.version, &huaxing()).await.unwrap_err()),
        Some("version")
    );
    // Contacts become searchable; Chinese substrings match.
    svc.add_contact(&sys, c.id, &ContactInput { name: "王经理".into(), primary: Some(true), ..Default::default() })
        .await
        .unwrap();
    for (q, n) in [("华星", 2), ("王经理", 1), ("88881234", 1), ("c000001", 1), ("不存在", 0)] {
        let found = svc
            .customers(&sys, &CustomerFilter { q: Some(q.into()), ..Default::default() }, Page::default())
            .await
            .unwrap();
        assert_eq!(found.total, n, "query {q}");
    }
    let by_region = svc
        .customers(&sys, &CustomerFilter { region: Some("华南".into()), ..Default::default() }, Page::default())
        .await
        .unwrap();
    assert_eq!(by_region.total, 2);
});

both_engines!(assets_contracts_and_follow_ups, |db: TestDb| async move {
    let svc = service(&db).await;
    let sys = Actor::system();
    let c = svc.create_customer(&sys, &huaxing()).await.unwrap();
    svc.create_product(
        &sys,
        &ProductInput {
            code: "LD-200".into(),
            name: "电源模块".into(),
            model: Some("200W".into()),
            warranty_months: Some(18),
        },
    )
    .await
    .unwrap();
    let a = svc
        .add_asset(
            &sys,
            c.id,
            &AssetInput {
                product_code: "ld-200".into(),
                serial: "SN001".into(),
                ship_date: Some("2025-08-31".into()),
                warranty_end: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(a.warranty_end.unwrap().to_string(), "2027-02-28");
    let again = AssetInput { product_code: "LD-200".into(), serial: "SN001".into(), ..Default::default() };
    assert_eq!(conflict_field(svc.add_asset(&sys, c.id, &again).await.unwrap_err()), Some("serial"));
    let k = svc
        .add_contract(
            &sys,
            c.id,
            &ContractInput {
                number: "HT-2025-001".into(),
                signed_on: "2025-01-15".into(),
                value: Some("2,000,000.50".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(k.value_fen, 200_000_050);
    let m = svc
        .add_communication(
            &sys,
            c.id,
            &CommunicationInput {
                channel: "电话".into(),
                direction: "inbound".into(),
                stage: "售后".into(),
                subject: "询问保修".into(),
                follow_up: Some(true),
                follow_up_due: Some("2025-09-05".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!((m.channel.as_str(), m.stage.as_str()), ("phone", "after_sale"));
    let missing_due = CommunicationInput {
        follow_up: Some(true),
        follow_up_due: None,
        ..CommunicationInput {
            channel: "phone".into(),
            direction: "inbound".into(),
            stage: "pre_sale".into(),
            subject: "x".into(),
            ..Default::default()
        }
    };
    assert!(
        matches!(svc.add_communication(&sys, c.id, &missing_due).await.unwrap_err(), ServiceError::Domain(DomainError::Invalid { field, .. }) if field == "follow_up_due")
    );
    let page = svc.customer_360(&sys, c.id, Page::default()).await.unwrap();
    assert_eq!((page.assets.len(), page.contracts.len(), page.communications.total), (1, 1, 1));
    svc.close_follow_up(&sys, m.id, m.version).await.unwrap();
    assert!(svc.close_follow_up(&sys, m.id, m.version + 1).await.is_err());
});

fn csv_rows(n: usize) -> Vec<Vec<String>> {
    let mut rows = vec![
        "客户编号,客户名称,客户类别,区域,电话,电子邮件,标签,新客户".split(',').map(String::from).collect::<Vec<_>>(),
    ];
    for i in 0..n {
        rows.push(vec![
            format!("K{i:05}"),
            format!("测试客户{i}号有限公司"),
            if i % 3 == 0 { "经销商" } else { "end_user" }.into(),
            ["华东", "华南", "华北"][i % 3].into(),
            format!("0571-{:08}", 10_000_000 + i),
            format!("buyer{i}@example.cn"),
            "重点; 长期".into(),
            if i % 2 == 0 { "是" } else { "否" }.into(),
        ]);
    }
    rows
}

both_engines!(ten_thousand_row_csv_import, |db: TestDb| async move {
    let svc = service(&db).await;
    let sys = Actor::system();
    let bytes = tabular::write_csv(&csv_rows(10_000)).unwrap();
    let rows = tabular::read("customers.csv", &bytes).unwrap();
    let t = Instant::now();
    let mut last = 0;
    let out = svc.import(&sys, Sheet::Customers, "customers.csv", &rows, |done, _| last = done).await.unwrap();
    eprintln!("imported 10,000 customers on {:?} in {:?}", db.engine, t.elapsed());
    assert!(matches!(out, ImportOutcome::Imported { rows: 10_000 }), "{out:?}");
    assert_eq!(last, 10_000);
    let found = svc
        .customers(&sys, &CustomerFilter { q: Some("测试客户9999号".into()), ..Default::default() }, Page::default())
        .await
        .unwrap();
    assert_eq!(found.items[0].code, "K09999");
    assert_eq!(found.items[0].tags.0, vec!["重点", "长期"]);
});

both_engines!(a_bad_file_imports_nothing_and_reports_every_bad_row, |db: TestDb| async move {
    let svc = service(&db).await;
    let sys = Actor::system();
    let mut rows = csv_rows(50);
    rows[3][1] = String::new(); // row 4: no name
    rows[10][2] = "VIP".into(); // row 11: unknown category
    rows[20][4] = "call me".into(); // row 21: bad phone
    rows[30][0] = "K00001".into(); // row 31: same code as row 3
    rows[40][7] = "maybe".into(); // row 41: not yes/no
    let out = svc.import(&sys, Sheet::Customers, "bad.csv", &rows, |_, _| {}).await.unwrap();
    let ImportOutcome::Rejected { report_id, errors } = out else { panic!("expected a rejection") };
    let got: Vec<(usize, &str)> = errors.iter().map(|e| (e.row, e.column.as_str())).collect();
    assert_eq!(
        got,
        vec![(4, "客户名称"), (11, "客户类别"), (21, "电话"), (31, "客户编号"), (41, "新客户")],
        "{errors:?}"
    );
    let all = svc.customers(&sys, &CustomerFilter::default(), Page::default()).await.unwrap();
    assert_eq!(all.total, 0, "nothing may be imported from a bad file");
    let (_, file, stored) = svc.import_report(&sys, report_id).await.unwrap();
    assert_eq!((file.as_str(), stored.len()), ("bad.csv", 5));
    // A file with an unknown column is refused on its header row.
    let headless = vec![vec!["客户名称".to_owned(), "传真".into()], vec!["甲".into(), "1".into()]];
    let ImportOutcome::Rejected { errors, .. } =
        svc.import(&sys, Sheet::Customers, "h.csv", &headless, |_, _| {}).await.unwrap()
    else {
        panic!("expected a rejection")
    };
    assert_eq!((errors[0].row, errors[0].column.as_str()), (1, "传真"));
});

both_engines!(xlsx_export_and_import_round_trip, |db: TestDb| async move {
    let svc = service(&db).await;
    let sys = Actor::system();
    let rows = csv_rows(30);
    assert!(matches!(
        svc.import(&sys, Sheet::Customers, "a.csv", &rows, |_, _| {}).await.unwrap(),
        ImportOutcome::Imported { rows: 30 }
    ));
    let c = svc
        .customers(&sys, &CustomerFilter { q: Some("K00007".into()), ..Default::default() }, Page::default())
        .await
        .unwrap()
        .items
        .remove(0);
    svc.add_contact(
        &sys,
        c.id,
        &ContactInput { name: "李工".into(), phones: vec!["13900000000".into()], ..Default::default() },
    )
    .await
    .unwrap();
    svc.create_product(&sys, &ProductInput { code: "P1".into(), name: "泵".into(), ..Default::default() })
        .await
        .unwrap();
    svc.add_asset(
        &sys,
        c.id,
        &AssetInput {
            product_code: "P1".into(),
            serial: "LOT-9".into(),
            ship_date: Some("2025-03-01".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    svc.add_contract(
        &sys,
        c.id,
        &ContractInput {
            number: "HT-1".into(),
            signed_on: "2025-02-01".into(),
            value: Some("12.30".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();

    let first: Vec<_> = futures_like(&svc, &sys).await;
    // Export each ledger to XLSX, import it into a fresh database, and export again: identical.
    let db2 = TestDb::new(db.engine).await;
    let svc2 = service(&db2).await;
    svc2.create_product(&sys, &ProductInput { code: "P1".into(), name: "泵".into(), ..Default::default() })
        .await
        .unwrap();
    for (sheet, rows) in Sheet::ALL.iter().zip(&first) {
        let bytes = tabular::write_xlsx(sheet.code(), rows).unwrap();
        let back = tabular::read("x.xlsx", &bytes).unwrap();
        let out = svc2.import(&sys, *sheet, "x.xlsx", &back, |_, _| {}).await.unwrap();
        assert!(matches!(out, ImportOutcome::Imported { .. }), "{sheet:?}: {out:?}");
    }
    let second: Vec<_> = futures_like(&svc2, &sys).await;
    assert_eq!(first, second);
    assert_eq!(first[3][1][3], "12.30");
});

async fn futures_like(svc: &Service, sys: &Actor) -> Vec<Vec<Vec<String>>> {
    let mut out = Vec::new();
    for sheet in Sheet::ALL {
        out.push(svc.export(sys, sheet, true).await.unwrap());
    }
    out
}
