//! Issue #13 items 8, 9, 12 and 14 through the service layer, on both engines: throttling shared by
//! nodes on one database, per account at an address; token expiry; a password change ending
//! sessions and tokens; department deletes and concurrent moves; the earliest `received_at`.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use loopdesk_domain::DomainError;
use loopdesk_domain::access::Actor;
use loopdesk_service::cases::CaseInput;
use loopdesk_service::org::{DepartmentInput, NewUser, UserPatch};
use loopdesk_service::{OrgSettings, Service, ServiceError};
use loopdesk_store::{Store, StoreOptions};
use loopdesk_test_support::{TestDb, both_engines};

const PASSWORD: &str = "correct horse battery";

/// One "node": its own store (connections) and service on the shared test database.
async fn node(db: &TestDb, settings: OrgSettings) -> Service {
    let s = Store::connect(&db.url, &StoreOptions::default()).await.unwrap();
    s.migrate().await.unwrap();
    Service::new(s, settings)
}

async fn user(svc: &Service, name: &str) -> loopdesk_store::org::User {
    let input = NewUser {
        username: name.into(),
        display_name: name.into(),
        roles: vec!["agent".into()],
        password: PASSWORD.into(),
        ..Default::default()
    };
    svc.create_user(&Actor::system(), &input).await.unwrap()
}

fn retry_after(r: &Result<impl std::fmt::Debug, ServiceError>) -> Option<u64> {
    match r {
        Err(ServiceError::Domain(DomainError::RateLimited { retry_after_secs })) => Some(*retry_after_secs),
        _ => None,
    }
}

fn invalid_field<T: std::fmt::Debug>(r: &Result<T, ServiceError>) -> Option<String> {
    match r {
        Err(ServiceError::Domain(DomainError::Invalid { field, .. })) => Some(field.clone()),
        _ => None,
    }
}

fn unauthenticated<T: std::fmt::Debug>(r: Result<T, ServiceError>) -> bool {
    matches!(r, Err(ServiceError::Domain(DomainError::Unauthenticated)))
}

both_engines!(sign_in_failures_count_on_every_node_per_account_at_an_address, |db: TestDb| async move {
    let (a, b) = (node(&db, OrgSettings::default()).await, node(&db, OrgSettings::default()).await);
    user(&a, "li.na").await;
    // Five wrong passwords from one address, spread over both nodes.
    for i in 0..5 {
        let n = if i % 2 == 0 { &a } else { &b };
        let r = n.authenticate("li.na", "wrong", "10.0.0.66").await;
        assert_eq!(invalid_field(&r).as_deref(), Some("password"), "attempt {i}: {r:?}");
    }
    // That address is locked out of that account on both nodes, even with the right password…
    for n in [&a, &b] {
        let r = n.authenticate("li.na", PASSWORD, "10.0.0.66").await;
        let secs = retry_after(&r).unwrap_or_else(|| panic!("not throttled: {r:?}"));
        assert!((1..=15 * 60).contains(&secs), "Retry-After {secs}");
    }
    // …but the real user signing in from elsewhere is not.
    assert_eq!(b.authenticate("li.na", PASSWORD, "10.0.0.7").await.unwrap().username, "li.na");
    // The window passes on the server's clock.
    let later = node(&db, OrgSettings::default()).await;
    let t = later.now() + chrono::Duration::minutes(16);
    let later = later.with_time_source(move || t);
    assert!(later.authenticate("li.na", PASSWORD, "10.0.0.66").await.is_ok());
});

both_engines!(one_address_spraying_accounts_is_locked_out_of_all_on_every_node, |db: TestDb| async move {
    let (a, b) = (node(&db, OrgSettings::default()).await, node(&db, OrgSettings::default()).await);
    user(&a, "wang.wu").await;
    for i in 0..30 {
        let n = if i % 2 == 0 { &a } else { &b };
        let _ = n.authenticate(&format!("guess{}", i % 7), "wrong", "10.9.9.9").await;
    }
    assert!(retry_after(&a.authenticate("wang.wu", PASSWORD, "10.9.9.9").await).is_some());
    assert!(b.authenticate("wang.wu", PASSWORD, "10.1.1.1").await.is_ok());
});

both_engines!(portal_requests_are_counted_on_every_node, |db: TestDb| async move {
    let (a, b) = (node(&db, OrgSettings::default()).await, node(&db, OrgSettings::default()).await);
    for i in 0..5 {
        let n = if i % 2 == 0 { &a } else { &b };
        n.portal_throttle("submit", "192.0.2.1").await.unwrap();
    }
    assert!(retry_after(&b.portal_throttle("submit", "192.0.2.1").await).is_some());
    assert!(retry_after(&a.portal_throttle("submit", "192.0.2.1").await).is_some());
    // Another kind and another address have their own counts.
    a.portal_throttle("lookup", "192.0.2.1").await.unwrap();
    b.portal_throttle("submit", "192.0.2.2").await.unwrap();
});

both_engines!(tokens_expire_after_the_configured_days, |db: TestDb| async move {
    let svc = node(&db, OrgSettings::default()).await;
    user(&svc, "zhao.liu").await;
    let sys = Actor::system();
    let (secret, token) = svc.create_token(&sys, "zhao.liu", "crm").await.unwrap();
    let expires = token.expires_at.expect("a default expiry");
    let days = (expires - svc.now()).num_hours() as f64 / 24.0;
    assert!((89.9..=90.1).contains(&days), "expires in {days} days");
    assert!(svc.token_actor(&secret).await.is_ok());
    assert_eq!(svc.tokens(&sys, token.user_id).await.unwrap()[0].expires_at, Some(expires));

    // A node whose clock is past the expiry refuses it.
    let t = expires + chrono::Duration::seconds(1);
    let later = node(&db, OrgSettings::default()).await.with_time_source(move || t);
    assert!(unauthenticated(later.token_actor(&secret).await), "an expired token is refused");

    // Configurable: 7 days, or 0 for tokens that never expire; a token may ask for its own.
    let week = node(&db, OrgSettings { token_days: 7, ..Default::default() }).await;
    let (_, t7) = week.create_token(&sys, "zhao.liu", "week").await.unwrap();
    assert_eq!((t7.expires_at.unwrap() - week.now()).num_days(), 6);
    let never = node(&db, OrgSettings { token_days: 0, ..Default::default() }).await;
    assert_eq!(never.create_token(&sys, "zhao.liu", "forever").await.unwrap().1.expires_at, None);
    let (_, t1) = svc.create_token_for(&sys, "zhao.liu", "one day", Some(1)).await.unwrap();
    assert_eq!((t1.expires_at.unwrap() - svc.now()).num_hours(), 23);
    let r = svc.create_token_for(&sys, "zhao.liu", "too long", Some(3651)).await;
    assert_eq!(invalid_field(&r).as_deref(), Some("expires_in_days"));
});

both_engines!(a_new_password_ends_every_session_and_token_and_needs_the_current_one, |db: TestDb| async move {
    let svc = node(&db, OrgSettings::default()).await;
    let u = user(&svc, "sun.qi").await;
    let session = svc.login("sun.qi", PASSWORD, "10.0.0.1").await.unwrap();
    let (me, ..) = svc.session(&session.cookie).await.unwrap();
    let (secret, _) = svc.create_token(&me, "sun.qi", "cli").await.unwrap();
    assert!(svc.token_actor(&secret).await.is_ok());

    let change = |current: Option<&str>, version: i64| UserPatch {
        version,
        password: Some("a brand new passphrase".into()),
        current_password: current.map(str::to_owned),
        ..Default::default()
    };
    let r = svc.update_user(&me, u.id, &change(None, u.version)).await;
    assert_eq!(invalid_field(&r).as_deref(), Some("current_password"));
    let r = svc.update_user(&me, u.id, &change(Some("not it"), u.version)).await;
    assert_eq!(invalid_field(&r).as_deref(), Some("current_password"));
    assert!(svc.session(&session.cookie).await.is_ok(), "a refused change ends nothing");

    let after = svc.update_user(&me, u.id, &change(Some(PASSWORD), u.version)).await.unwrap();
    assert!(unauthenticated(svc.session(&session.cookie).await), "the session ended");
    assert!(unauthenticated(svc.token_actor(&secret).await), "the token ended");
    assert!(svc.tokens(&Actor::system(), u.id).await.unwrap().iter().all(|t| t.revoked_at.is_some()));
    // On another node too (nothing remembered there).
    let other = node(&db, OrgSettings::default()).await;
    assert!(unauthenticated(other.token_actor(&secret).await));

    // An administrator resetting someone else's password is not asked for theirs.
    let reset = UserPatch { version: after.version, password: Some("reset by admin 123".into()), ..Default::default() };
    assert!(svc.update_user(&Actor::system(), u.id, &reset).await.is_ok());
});

both_engines!(deleting_a_department_with_cases_is_a_conflict_naming_why, |db: TestDb| async move {
    let svc = node(&db, OrgSettings::default()).await;
    let sys = Actor::system();
    let dept =
        |code: &str| DepartmentInput { code: code.into(), name: code.into(), kind: "quality".into(), parent_id: None };
    let d = svc.create_department(&sys, &dept("QA")).await.unwrap();
    let input = CaseInput {
        case_type: "complaint".into(),
        contact_name: Some("王先生".into()),
        subject: "电源冒烟".into(),
        description: "批次 L2309".into(),
        lead_department_id: Some(d.id),
        ..Default::default()
    };
    let created = svc.create_case(&sys, &input).await.unwrap();
    db.exec(&format!("UPDATE cases SET lead_department_id = {} WHERE id = {}", d.id, created.case.id)).await;
    let r = svc.delete_department(&sys, d.id, d.version).await;
    match r {
        Err(ServiceError::Domain(DomainError::Conflict { reason, .. })) => {
            assert!(
                reason.starts_with("errors.department_still_has_users_sub|") && reason.contains("|cases=1|"),
                "{reason}"
            )
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert!(svc.department(&sys, d.id).await.is_ok(), "nothing was deleted");
    // An unused department goes.
    let e = svc.create_department(&sys, &dept("EMPTY")).await.unwrap();
    svc.delete_department(&sys, e.id, e.version).await.unwrap();
});

both_engines!(concurrent_department_moves_never_make_a_cycle, |db: TestDb| async move {
    let svc = node(&db, OrgSettings::default()).await;
    let other = node(&db, OrgSettings::default()).await;
    let sys = Actor::system();
    let input = |code: &str, parent_id: Option<i64>| DepartmentInput {
        code: code.into(),
        name: code.into(),
        kind: "quality".into(),
        parent_id,
    };
    let a = svc.create_department(&sys, &input("A", None)).await.unwrap();
    let b = svc.create_department(&sys, &input("B", None)).await.unwrap();
    for round in 0..20 {
        let (a_now, b_now) = (svc.department(&sys, a.id).await.unwrap(), svc.department(&sys, b.id).await.unwrap());
        let (s1, s2) = (svc.clone(), other.clone());
        let (ia, ib) = (input("A", Some(b.id)), input("B", Some(a.id)));
        let t1 = tokio::spawn(async move { s1.update_department(&Actor::system(), a.id, a_now.version, &ia).await });
        let t2 = tokio::spawn(async move { s2.update_department(&Actor::system(), b.id, b_now.version, &ib).await });
        let (r1, r2) = (t1.await.unwrap(), t2.await.unwrap());
        assert!(r1.is_ok() || r2.is_ok(), "round {round}: one move goes through: {r1:?} {r2:?}");
        assert!(r1.is_err() || r2.is_err(), "round {round}: both moves went through, making a cycle");
        let refused = if r1.is_err() { r1 } else { r2 };
        assert_eq!(invalid_field(&refused).as_deref(), Some("parent_id"), "round {round}");
        let (a_now, b_now) = (svc.department(&sys, a.id).await.unwrap(), svc.department(&sys, b.id).await.unwrap());
        assert!(!(a_now.parent_id == Some(b.id) && b_now.parent_id == Some(a.id)), "round {round}: a cycle");
        // Both back to the root for the next round.
        for d in [a_now, b_now] {
            if d.parent_id.is_some() {
                svc.update_department(&sys, d.id, d.version, &input(&d.code, None)).await.unwrap();
            }
        }
    }
});

both_engines!(a_case_received_before_2000_is_refused, |db: TestDb| async move {
    let svc = node(&db, OrgSettings::default()).await;
    let input = |at: &str| CaseInput {
        case_type: "complaint".into(),
        contact_name: Some("王先生".into()),
        subject: "旧案".into(),
        description: "x".into(),
        received_at: Some(at.parse().unwrap()),
        ..Default::default()
    };
    let r = svc.create_case(&Actor::system(), &input("0001-01-01T00:00:00Z")).await;
    assert_eq!(invalid_field(&r).as_deref(), Some("received_at"));
    let r = svc.create_case(&Actor::system(), &input("1999-12-31T23:59:59Z")).await;
    assert_eq!(invalid_field(&r).as_deref(), Some("received_at"));
    let ok = svc.create_case(&Actor::system(), &input("2000-01-01T00:00:00Z")).await.unwrap();
    assert!(ok.case.number.contains("-2000-"), "{}", ok.case.number);
});
