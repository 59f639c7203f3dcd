//! API tokens through the service layer, on both engines.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use loopdesk_domain::access::Actor;
use loopdesk_service::org::{NewUser, UserPatch};
use loopdesk_service::{OrgSettings, Service, ServiceError};
use loopdesk_store::{Store, StoreOptions};
use loopdesk_test_support::{TestDb, both_engines};

async fn service(db: &TestDb) -> Service {
    let s = Store::connect(&db.url, &StoreOptions::default()).await.unwrap();
    s.migrate().await.unwrap();
    Service::new(s, OrgSettings::default())
}

fn unauthenticated<T: std::fmt::Debug>(r: Result<T, ServiceError>) -> bool {
    matches!(r, Err(ServiceError::Domain(loopdesk_domain::DomainError::Unauthenticated)))
}

both_engines!(a_remembered_token_stops_working_the_moment_it_is_revoked_or_its_user_changes, |db: TestDb| async move {
    let svc = service(&db).await;
    let sys = Actor::system();
    let user = svc
        .create_user(
            &sys,
            &NewUser {
                username: "li.na".into(),
                display_name: "李娜".into(),
                roles: vec!["agent".into()],
                password: "correct horse battery".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let (secret, token) = svc.create_token(&sys, "li.na", "crm").await.unwrap();
    // Seen twice: the second answer may come from memory.
    assert_eq!(svc.token_actor(&secret).await.unwrap().0.username, "li.na");
    assert_eq!(svc.token_actor(&secret).await.unwrap().0.roles.len(), 1);
    svc.revoke_token(&sys, token.id).await.unwrap();
    assert!(unauthenticated(svc.token_actor(&secret).await), "a revoked token is refused at once");

    let (secret, _) = svc.create_token(&sys, "li.na", "crm 2").await.unwrap();
    let roles = |r: &[&str]| Some(r.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    assert_eq!(svc.token_actor(&secret).await.unwrap().0.roles.len(), 1);
    let user = svc
        .update_user(
            &sys,
            user.id,
            &UserPatch { version: user.version, roles: roles(&["agent", "qa"]), ..Default::default() },
        )
        .await
        .unwrap();
    assert_eq!(svc.token_actor(&secret).await.unwrap().0.roles.len(), 2, "new roles apply at once");
    svc.update_user(&sys, user.id, &UserPatch { version: user.version, active: Some(false), ..Default::default() })
        .await
        .unwrap();
    assert!(unauthenticated(svc.token_actor(&secret).await), "a deactivated user's token is refused at once");
});
