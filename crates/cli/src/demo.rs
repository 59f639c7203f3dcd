//! The demo organisation: a manufacturer's departments and one user for every built-in role.

use chrono::{DateTime, Utc};
use loopdesk_domain::access::Actor;
use loopdesk_service::Service;
use loopdesk_service::org::{DepartmentInput, NewUser};
use loopdesk_store::bulk::{BulkCase, BulkClock};

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
    customers(svc, &sys).await?;
    cases(svc, &sys).await?;
    println!("Surveys join the demo when that module lands.");
    Ok(())
}

const PRODUCTS: [(&str, &str, &str, i32); 4] = [
    ("PS-200", "开关电源", "200W/24V", 18),
    ("PS-500", "开关电源", "500W/48V", 18),
    ("INV-3K", "逆变器", "3kW", 24),
    ("CB-10", "控制板", "V2.1", 12),
];

/// (name, category, region, phone, contact, title)
const CUSTOMERS: [(&str, &str, &str, &str, &str, &str); 8] = [
    ("深圳华星电子有限公司", "distributor", "华南", "0755-8888 1234", "王经理", "采购经理"),
    ("苏州恒达自动化设备有限公司", "end_user", "华东", "0512-6655 7788", "陈工", "设备主管"),
    ("北京京瑞科技有限公司", "end_user", "华北", "010-8765 4321", "刘女士", "品质经理"),
    ("成都天府新能源股份有限公司", "end_user", "西南", "028-8555 0101", "张总", "总经理"),
    ("杭州西子机电工程有限公司", "contractor", "华东", "0571-8700 2233", "赵工", "项目经理"),
    ("广州南方物业管理有限公司", "owner", "华南", "020-3888 9900", "周主任", "工程部主任"),
    ("武汉光谷仪器有限公司", "distributor", "华中", "027-8766 5544", "吴经理", "销售经理"),
    ("Müller Antriebstechnik GmbH", "distributor", "海外", "+49 711 123456", "Anna Müller", "Einkauf"),
];

async fn customers(svc: &Service, sys: &Actor) -> anyhow::Result<()> {
    use loopdesk_service::customers::{
        AssetInput, CommunicationInput, ContactInput, ContractInput, CustomerInput, ProductInput,
    };
    let err = |e: loopdesk_service::ServiceError| anyhow::anyhow!("demo customers: {e}");
    if svc.products(sys).await.map_err(err)?.iter().any(|p| p.code == "PS-200") {
        return Ok(());
    }
    for (code, name, model, months) in PRODUCTS {
        let i = ProductInput {
            code: code.into(),
            name: name.into(),
            model: Some(model.into()),
            warranty_months: Some(months),
        };
        svc.create_product(sys, &i).await.map_err(err)?;
    }
    for (n, (name, category, region, phone, contact, title)) in CUSTOMERS.into_iter().enumerate() {
        let input = CustomerInput {
            name: name.into(),
            category: Some(category.into()),
            region: Some(region.into()),
            phones: vec![phone.into()],
            is_new: Some(n % 3 == 0),
            owner: Some(if n % 2 == 0 { "sales" } else { "agent" }.into()),
            tags: if n < 3 { vec!["重点客户".into()] } else { vec![] },
            ..Default::default()
        };
        let c = svc.create_customer(sys, &input).await.map_err(err)?;
        let ci = ContactInput {
            name: contact.into(),
            title: Some(title.into()),
            phones: vec![phone.into()],
            primary: Some(true),
            ..Default::default()
        };
        svc.add_contact(sys, c.id, &ci).await.map_err(err)?;
        let (pcode, _, _, _) = PRODUCTS[n % PRODUCTS.len()];
        for k in 0..2 {
            let ai = AssetInput {
                product_code: pcode.into(),
                serial: format!("{pcode}-2025{:02}{:04}", n + 1, k + 1),
                ship_date: Some(format!("2025-{:02}-15", (n % 12) + 1)),
                warranty_end: None,
            };
            svc.add_asset(sys, c.id, &ai).await.map_err(err)?;
        }
        let ki = ContractInput {
            number: format!("HT-2025-{:03}", n + 1),
            signed_on: format!("2025-{:02}-0{}", (n % 12) + 1, (n % 9) + 1),
            value: Some(format!("{}.00", 180_000 * (n + 1))),
            status: Some(if n % 2 == 0 { "completed" } else { "active" }.into()),
            ..Default::default()
        };
        svc.add_contract(sys, c.id, &ki).await.map_err(err)?;
        let mi = CommunicationInput {
            channel: ["phone", "visit", "email", "chat"][n % 4].into(),
            direction: if n % 2 == 0 { "inbound" } else { "outbound" }.into(),
            stage: ["after_sale", "in_sale", "pre_sale"][n % 3].into(),
            subject: ["询问保修期限", "交货期确认", "新产品报价", "现场安装协调"][n % 4].into(),
            content: Some("顾客来电，已记录需求，承诺三个工作日内答复。".into()),
            follow_up: Some(n % 2 == 0),
            follow_up_due: (n % 2 == 0).then(|| "2026-12-01".to_owned()),
            ..Default::default()
        };
        svc.add_communication(sys, c.id, &mi).await.map_err(err)?;
    }
    println!("Demo customers: {} with contacts, products delivered, contracts and communications.", CUSTOMERS.len());
    Ok(())
}

/// (type, subject, description, steps taken)
const CASES: [(&str, &str, &str, &[&str]); 6] = [
    (
        "complaint",
        "电源模块上电冒烟",
        "批次 PS-2025010001 的电源模块上电后冒烟，客户产线停工两小时。",
        &["acknowledge", "assess", "investigate"],
    ),
    ("complaint", "交货延迟一周", "合同 HT-2025-002 约定 10 月 15 日交货，实际 10 月 22 日到货。", &["acknowledge"]),
    ("inquiry", "保修期如何计算", "客户询问逆变器保修期从发货日还是安装日起算。", &[]),
    ("service_request", "控制板现场调试", "新装设备控制板需要现场调试参数。", &[]),
    ("suggestion", "希望提供英文说明书", "海外客户建议随货附英文说明书。", &[]),
    ("praise", "售后工程师服务及时", "客户来信表扬刘技术员当天到场解决问题。", &[]),
];

async fn cases(svc: &Service, sys: &Actor) -> anyhow::Result<()> {
    use loopdesk_service::cases::CaseInput;
    let err = |e: loopdesk_service::ServiceError| anyhow::anyhow!("demo cases: {e}");
    let existing = svc.cases(sys, Default::default(), loopdesk_domain::page::Page::default()).await.map_err(err)?;
    if existing.total > 0 {
        return Ok(());
    }
    let customers =
        svc.customers(sys, &Default::default(), loopdesk_domain::page::Page::default()).await.map_err(err)?.items;
    for (n, (kind, subject, description, steps)) in CASES.into_iter().enumerate() {
        let customer = customers.get(n % customers.len().max(1));
        let input = CaseInput {
            case_type: kind.into(),
            customer_id: customer.map(|c| c.id),
            contact_name: Some(["王经理", "陈工", "刘女士", "张总", "赵工", "周主任"][n].into()),
            subject: subject.into(),
            description: description.into(),
            product_code: Some(["PS-200", "PS-500", "INV-3K", "CB-10", "", ""][n].into()),
            ..Default::default()
        };
        let mut k = svc.create_case(sys, &input).await.map_err(err)?.case;
        for step in steps {
            let fields: std::collections::BTreeMap<String, String> = match *step {
                "assess" => [
                    ("category", "产品质量"),
                    ("severity", "major"),
                    ("responsibility", "yes"),
                    ("lead_department", "QA"),
                    ("serious_injury", "no"),
                ]
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
                _ => Default::default(),
            };
            k = svc.transition(sys, k.id, step, k.version, &fields).await.map_err(err)?;
        }
    }
    println!("Demo cases: {} in several states.", CASES.len());
    Ok(())
}

/// (case type, weight in a thousand)
const TYPE_MIX: [(&str, u32); 7] = [
    ("complaint", 330),
    ("inquiry", 220),
    ("service_request", 200),
    ("return", 80),
    ("suggestion", 70),
    ("praise", 70),
    ("grievance", 30),
];
const SEVERITY_MIX: [(&str, u32); 4] = [("minor", 300), ("general", 450), ("major", 200), ("critical", 50)];
const CHANNELS: [&str; 7] = ["phone", "phone", "email", "portal", "visit", "chat", "letter"];
/// Departments that lead cases, by code.
const LEAD_DEPARTMENTS: [&str; 6] = ["CS", "SALES", "SALES-EAST", "QA", "ENG", "PROD"];
const SURNAMES: [&str; 16] =
    ["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭"];
const GIVEN: [&str; 12] = ["伟", "芳", "娜", "敏", "静", "强", "磊", "洋", "艳", "勇", "军", "杰"];
const TITLES: [&str; 6] = ["经理", "工程师", "主任", "女士", "先生", "总"];
const PROBLEMS: [&str; 16] = [
    "上电后无输出",
    "外壳有划痕",
    "运行时异响",
    "输出电压不稳",
    "包装破损",
    "交货延迟",
    "说明书缺页",
    "发票信息错误",
    "指示灯不亮",
    "温升过高",
    "通讯中断",
    "安装孔位不符",
    "配件缺少",
    "售后响应慢",
    "报价与合同不符",
    "RoHS 检测报告缺失",
];
const PLACES: [&str; 8] =
    ["客户产线", "仓库验收时", "现场安装时", "试运行第二天", "批量使用中", "出货检验后", "维修返回后", "年度巡检时"];

fn pick<'a>(rng: &mut impl rand::Rng, mix: &[(&'a str, u32)]) -> &'a str {
    let total: u32 = mix.iter().map(|(_, w)| w).sum();
    let mut x = rng.random_range(0..total.max(1));
    for (v, w) in mix {
        if x < *w {
            return v;
        }
        x -= w;
    }
    mix[0].0
}

/// What the generator draws cases from: the demo organisation's ids and the process definitions.
struct Palette {
    defs: std::collections::HashMap<String, (i64, loopdesk_domain::process::ProcessDefinition)>,
    departments: Vec<i64>,
    customers: Vec<(i64, String)>,
    categories: Vec<String>,
    products: Vec<(&'static str, &'static str)>,
}

impl Palette {
    async fn load(svc: &Service, sys: &Actor) -> anyhow::Result<Palette> {
        let err = |e: loopdesk_service::ServiceError| anyhow::anyhow!("demo cases: {e}");
        let defs = svc
            .process_definitions(sys)
            .await
            .map_err(err)?
            .into_iter()
            .map(|(v, d)| (d.case_type.clone(), (v, d)))
            .collect();
        let departments = svc
            .departments(sys)
            .await
            .map_err(err)?
            .into_iter()
            .filter(|d| LEAD_DEPARTMENTS.contains(&d.code.as_str()))
            .map(|d| d.id)
            .collect::<Vec<_>>();
        anyhow::ensure!(!departments.is_empty(), "the demo departments are missing");
        let page = loopdesk_domain::page::Page { page: 1, per_page: 500 };
        let customers = svc
            .customers(sys, &Default::default(), page)
            .await
            .map_err(err)?
            .items
            .into_iter()
            .map(|c| (c.id, c.name))
            .collect();
        let categories = svc.categories(sys).await.map_err(err)?.into_iter().map(|c| c.code).collect();
        let products = PRODUCTS.iter().map(|(code, _, model, _)| (*code, *model)).collect();
        Ok(Palette { defs, departments, customers, categories, products })
    }

    /// One case received at `at`, in a state plausible for its age.
    fn case(&self, rng: &mut impl rand::Rng, at: DateTime<Utc>, now: DateTime<Utc>) -> BulkCase {
        use loopdesk_domain::calendar::Duration as Span;
        let case_type = pick(rng, &TYPE_MIX);
        let (version, def) = &self.defs[case_type];
        let age_days = (now - at).num_days();
        let open_share = if age_days <= 14 {
            600
        } else if age_days <= 60 {
            120
        } else {
            15
        };
        let open = rng.random_range(0..1000) < open_share;
        let (terminal, running): (Vec<&str>, Vec<&str>) = (
            def.states.iter().filter(|s| s.terminal && s.code != "merged").map(|s| s.code.as_str()).collect(),
            def.states.iter().filter(|s| !s.terminal).map(|s| s.code.as_str()).collect(),
        );
        let state = if open || terminal.is_empty() {
            running[rng.random_range(0..running.len())]
        } else if rng.random_range(0..100) < 90 {
            terminal[0]
        } else {
            terminal[rng.random_range(0..terminal.len())]
        };
        let assessed = state != def.initial;
        let severity = if assessed || rng.random_range(0..10) < 3 { pick(rng, &SEVERITY_MIX) } else { "" };
        let category = if assessed { self.categories[rng.random_range(0..self.categories.len())].as_str() } else { "" };
        let lead = assessed.then(|| self.departments[rng.random_range(0..self.departments.len())]);
        let (customer_id, customer) = if rng.random_range(0..10) < 7 && !self.customers.is_empty() {
            let (id, name) = &self.customers[rng.random_range(0..self.customers.len())];
            (Some(*id), name.as_str())
        } else {
            (None, "个人用户")
        };
        let (code, model) = self.products[rng.random_range(0..self.products.len())];
        let problem = PROBLEMS[rng.random_range(0..PROBLEMS.len())];
        let place = PLACES[rng.random_range(0..PLACES.len())];
        let name = format!(
            "{}{}",
            SURNAMES[rng.random_range(0..SURNAMES.len())],
            if rng.random_range(0..2) == 0 {
                TITLES[rng.random_range(0..TITLES.len())]
            } else {
                GIVEN[rng.random_range(0..GIVEN.len())]
            }
        );
        let batch = rng.random_range(1..9999);
        let closed_at =
            (!running.contains(&state)).then(|| (at + chrono::Duration::hours(rng.random_range(4..24 * 20))).min(now));
        let clock = (running.contains(&state)).then(|| {
            let (name, hours) = match def.start_clocks.first() {
                Some(c) if !assessed => (c.clone(), 24),
                _ => ("resolution".to_owned(), 120),
            };
            let started_at = if assessed { at + chrono::Duration::hours(2) } else { at };
            let due_at = started_at + chrono::Duration::hours(hours);
            let warn_at = started_at + chrono::Duration::minutes(hours * 45);
            BulkClock {
                name,
                calendar: "24X7".into(),
                duration: serde_json::to_string(&Span::Hours(hours)).unwrap_or_default(),
                started_at,
                due_at,
                warn_at,
                next_check_at: Some(if now < warn_at { warn_at } else { due_at }),
            }
        });
        BulkCase {
            number: String::new(),
            case_type: case_type.into(),
            definition_version: *version,
            initial_state: def.initial.clone(),
            state: state.into(),
            customer_id,
            contact_name: name,
            contact_phone: format!("1{}{:09}", rng.random_range(3..10), rng.random_range(0..1_000_000_000u32)),
            received_at: at,
            channel: CHANNELS[rng.random_range(0..CHANNELS.len())].into(),
            product_code: code.into(),
            model: model.into(),
            subject: format!("{code} {problem}"),
            description: format!(
                "{customer}反映：{place}发现 {code}（{model}）{problem}，批次 {}{:04}，请尽快确认原因并答复处理方案。",
                at.format("%Y%m"),
                batch
            ),
            category: category.into(),
            severity: severity.into(),
            responsibility: if assessed {
                ["yes", "no", "undetermined"][rng.random_range(0..3)].into()
            } else {
                String::new()
            },
            lead_department_id: lead,
            confidential: case_type == "grievance",
            locale: "zh-CN".into(),
            tracking_hash: format!(
                "{:016x}{:016x}{:016x}{:016x}",
                rng.random::<u64>(),
                rng.random::<u64>(),
                rng.random::<u64>(),
                rng.random::<u64>()
            ),
            closed_at,
            updated_at: closed_at.unwrap_or(at),
            clock,
        }
    }
}

/// Adds `n` generated cases received over the last two years (`loopdesk demo --cases N`), in
/// batches of one transaction each, with a progress bar; loads the demo organisation first.
pub async fn generate(svc: &Service, n: u64) -> anyhow::Result<()> {
    use rand::{Rng, SeedableRng};
    const BATCH: usize = 20_000;
    load(svc).await?;
    let sys = Actor::system();
    let palette = Palette::load(svc, &sys).await?;
    let now = svc.now();
    let span = chrono::Duration::days(730).num_seconds();
    let mut rng = rand::rngs::StdRng::seed_from_u64(n);
    let mut times: Vec<i64> = (0..n).map(|_| rng.random_range(0..span)).collect();
    times.sort_unstable();
    let start = now - chrono::Duration::seconds(span);
    let bar = indicatif::ProgressBar::new(n);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} cases {per_sec} {elapsed} (eta {eta})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let started = std::time::Instant::now();
    for (i, chunk) in times.chunks(BATCH).enumerate() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(n ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let cases: Vec<BulkCase> =
            chunk.iter().map(|s| palette.case(&mut rng, start + chrono::Duration::seconds(*s), now)).collect();
        svc.load_cases(&sys, cases).await.map_err(|e| anyhow::anyhow!("demo cases: {e}"))?;
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    let loaded = started.elapsed();
    svc.store.analyze().await?;
    println!(
        "Generated {n} cases over two years in {:.1?} ({:.0} cases/s); statistics refreshed in {:.1?}.",
        loaded,
        n as f64 / loaded.as_secs_f64().max(0.001),
        started.elapsed() - loaded
    );
    Ok(())
}
