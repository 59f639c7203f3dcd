//! The demo organisation: a manufacturer's departments and one user for every built-in role.

use loopdesk_domain::access::Actor;
use loopdesk_service::Service;
use loopdesk_service::org::{DepartmentInput, NewUser};

pub const DEMO_PASSWORD: &str = "loopdesk-demo";

/// (code, name, kind, parent code)
const DEPARTMENTS: [(&str, &str, &str, Option<&str>); 9] = [
    ("GMO", "总经理室", "gm_office", None),
    ("CS", "客户服务部", "customer_service", Some("GMO")),
    ("SALES", "业务部", "sales", Some("GMO")),
    ("SALES-EAST", "华东业务组", "sales", Some("SALES")),
    ("QA", "品保部", "quality", Some("GMO")),
    ("ENG", "工程部", "engineering", Some("GMO")),
    ("PROD", "生产部", "production", Some("GMO")),
    ("HR", "人力资源部", "hr", Some("GMO")),
    ("AUD", "内审组", "audit", Some("GMO")),
];

/// (username, name, roles, department code, locale)
const USERS: [(&str, &str, &[&str], &str, &str); 10] = [
    ("admin", "系统管理员", &["admin"], "GMO", "zh-CN"),
    ("gm", "王总经理", &["gm"], "GMO", "zh-CN"),
    ("mgmtrep", "李管理者代表", &["mgmt_rep"], "QA", "zh-CN"),
    ("cs.head", "陈主管", &["dept_head", "agent"], "CS", "zh-CN"),
    ("agent", "张小丽", &["agent"], "CS", "zh-CN"),
    ("sales", "赵业务", &["agent"], "SALES-EAST", "zh-CN"),
    ("qa", "周品保", &["qa"], "QA", "zh-CN"),
    ("tech", "刘技术员", &["technician"], "ENG", "zh-CN"),
    ("member", "孙生产", &["member"], "PROD", "zh-CN"),
    ("auditor", "Grace Auditor", &["auditor"], "AUD", "en"),
];

pub async fn load_if_empty(svc: &Service) -> anyhow::Result<()> {
    let mut h = svc.store.read().await?;
    let n = loopdesk_store::org::count_users(&mut h.conn()).await?;
    drop(h);
    if n == 0 { load(svc).await } else { Ok(()) }
}

pub async fn load(svc: &Service) -> anyhow::Result<()> {
    let sys = Actor::system();
    let mut ids = std::collections::HashMap::new();
    let existing = svc.departments(&sys).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    for d in existing {
        ids.insert(d.code.clone(), d.id);
    }
    for (code, name, kind, parent) in DEPARTMENTS {
        if ids.contains_key(code) {
            continue;
        }
        let input = DepartmentInput {
            code: code.into(),
            name: name.into(),
            kind: kind.into(),
            parent_id: parent.and_then(|p| ids.get(p).copied()),
        };
        let d = svc.create_department(&sys, &input).await.map_err(|e| anyhow::anyhow!("department {code}: {e}"))?;
        ids.insert(d.code, d.id);
    }
    println!("Demo users (password for all: {DEMO_PASSWORD}):");
    for (username, name, roles, dept, locale) in USERS {
        let input = NewUser {
            username: username.into(),
            display_name: name.into(),
            email: Some(format!("{username}@demo.loopdesk.local")),
            phone: None,
            department_id: ids.get(dept).copied(),
            roles: roles.iter().map(|r| r.to_string()).collect(),
            locale: Some(locale.into()),
            password: DEMO_PASSWORD.into(),
        };
        match svc.create_user(&sys, &input).await {
            Ok(_) => println!("  {username:<10} {}  ({name})", roles.join(",")),
            Err(loopdesk_service::ServiceError::Domain(loopdesk_domain::DomainError::Conflict { .. })) => {
                println!("  {username:<10} already exists")
            }
            Err(e) => anyhow::bail!("user {username}: {e}"),
        }
    }
    svc.ensure_default_calendars().await.map_err(|e| anyhow::anyhow!("calendars: {e}"))?;
    println!("Calendars: OFFICE (office hours with the 2025 China holidays), 24X7.");
    println!("Customers, cases and surveys join the demo as those modules land.");
    Ok(())
}
