//! Canned replies (issue #17 item 9): written by those who approve actions, offered within their
//! department's subtree (or to everyone), filled in from a case when used.

use loopdesk_domain::DomainError;
use loopdesk_domain::access::{Actor, Permission, Scope};
use loopdesk_domain::audit::AuditAction;
use loopdesk_domain::kb::canned;
use loopdesk_store::canned::{self as sc, CannedFields, CannedRow};
use loopdesk_store::search::{self as ss, Doc, kind};
use loopdesk_store::{cases as ks, customers as cs};

use crate::error::StoreResultExt;
use crate::scope::readable;
use crate::{Service, ServiceResult};

/// A canned reply as typed.
#[derive(Debug, Clone, Default)]
pub struct CannedInput {
    pub title: String,
    pub locale: String,
    pub body: String,
    pub department_id: Option<i64>,
    pub active: bool,
}

fn doc(r: &CannedRow) -> Doc {
    Doc {
        kind: kind::CANNED_REPLY,
        entity_id: r.id,
        title: r.title.clone(),
        body: r.body.clone(),
        department_id: r.department_id,
        at: r.updated_at,
        ..Doc::default()
    }
}

fn departments_of(actor: &Actor) -> Option<&[i64]> {
    match &actor.scope {
        Scope::All => None,
        Scope::Departments(ids) => Some(ids.as_slice()),
    }
}

impl Service {
    fn check_canned(&self, actor: &Actor, i: &CannedInput) -> ServiceResult<canned::CannedText> {
        actor.require(Permission::WriteCases)?;
        let t = canned::check(&i.title, &i.locale, &i.body)?;
        if !actor.scope.includes(i.department_id) && i.department_id.is_some() {
            return Err(DomainError::invalid("department_id", "kb.err.department").into());
        }
        if i.department_id.is_none() && !actor.can(Permission::ApproveActions) {
            return Err(DomainError::forbidden("kb.err.canned_everyone").into());
        }
        Ok(t)
    }

    pub async fn create_canned_reply(&self, actor: &Actor, i: &CannedInput) -> ServiceResult<CannedRow> {
        let t = self.check_canned(actor, i)?;
        let mut tx = self.store.begin().await?;
        let f = CannedFields {
            title: &t.title,
            locale: t.locale.code(),
            body: &t.body,
            department_id: i.department_id,
            active: i.active,
        };
        let row = sc::insert(&mut tx.conn(), &f, actor.user_id, self.now()).await?;
        if row.active {
            ss::put(&mut tx.conn(), &doc(&row)).await?;
        }
        tx.audit(actor, AuditAction::Create, "canned_reply", row.id, None::<&()>, Some(&row)).await?;
        tx.commit().await?;
        Ok(row)
    }

    pub async fn update_canned_reply(
        &self,
        actor: &Actor,
        id: i64,
        version: i64,
        i: &CannedInput,
    ) -> ServiceResult<CannedRow> {
        let t = self.check_canned(actor, i)?;
        let mut tx = self.store.begin().await?;
        let before = sc::get(&mut tx.conn(), id).await.entity("canned_reply")?;
        if !actor.scope.includes(before.department_id) && before.department_id.is_some() {
            return Err(DomainError::NotFound { entity: "canned_reply" }.into());
        }
        let f = CannedFields {
            title: &t.title,
            locale: t.locale.code(),
            body: &t.body,
            department_id: i.department_id,
            active: i.active,
        };
        let row = sc::update(&mut tx.conn(), id, version, &f, self.now()).await.entity("canned_reply")?;
        if row.active {
            ss::put(&mut tx.conn(), &doc(&row)).await?;
        } else {
            ss::remove(&mut tx.conn(), kind::CANNED_REPLY, id).await?;
        }
        tx.audit(actor, AuditAction::Update, "canned_reply", id, Some(&before), Some(&row)).await?;
        tx.commit().await?;
        Ok(row)
    }

    /// The canned replies offered to the actor (their department subtree's and everyone's).
    pub async fn canned_replies(
        &self,
        actor: &Actor,
        locale: Option<&str>,
        active_only: bool,
    ) -> ServiceResult<Vec<CannedRow>> {
        actor.require(Permission::ReadCases)?;
        let mut h = self.store.read().await?;
        Ok(sc::list(&mut h.conn(), departments_of(actor), locale, active_only).await?)
    }

    pub async fn canned_reply(&self, actor: &Actor, id: i64) -> ServiceResult<CannedRow> {
        actor.require(Permission::ReadCases)?;
        let mut h = self.store.read().await?;
        let r = sc::get(&mut h.conn(), id).await.entity("canned_reply")?;
        if r.department_id.is_some() && !actor.scope.includes(r.department_id) {
            return Err(DomainError::NotFound { entity: "canned_reply" }.into());
        }
        Ok(r)
    }

    /// A canned reply's body filled in from a case the actor reads.
    pub async fn render_canned_reply(&self, actor: &Actor, id: i64, case_id: i64) -> ServiceResult<String> {
        let r = self.canned_reply(actor, id).await?;
        let mut h = self.store.read().await?;
        let c = &mut h.conn();
        let k = ks::case(c, case_id).await.entity("case")?;
        readable(c, actor, &k).await?;
        let customer = match k.customer_id {
            Some(id) => cs::customer(c, id).await.map(|x| x.name).unwrap_or_default(),
            None => String::new(),
        };
        let tz = self.settings.timezone;
        let due = k.next_due_at.map(|d| d.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string()).unwrap_or_default();
        Ok(canned::render(&r.body, |name| {
            Some(match name {
                "case.number" => k.number.clone(),
                "case.subject" => k.subject.clone(),
                "case.due" => due.clone(),
                "case.state" => k.state.clone(),
                "customer.name" => {
                    if customer.is_empty() {
                        k.contact_name.clone()
                    } else {
                        customer.clone()
                    }
                }
                "contact.name" => k.contact_name.clone(),
                "agent.name" => actor.username.clone(),
                _ => return None,
            })
        }))
    }
}
