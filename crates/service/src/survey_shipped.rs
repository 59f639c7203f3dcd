//! Installing the seeds' questionnaires (issue #20 item 10): a fresh installation lists them at
//! `GET /api/v1/survey-templates` without the demo. A template code already stored (shipped earlier,
//! or edited since into a newer revision) is left alone, so running this at every start changes
//! nothing after the first.

use loopdesk_domain::access::Actor;
use loopdesk_domain::audit::AuditAction;
use loopdesk_domain::survey::shipped;
use loopdesk_store::StoreError;
use loopdesk_store::surveys as ss;

use crate::error::StoreResultExt;
use crate::{Service, ServiceError, ServiceResult};

impl Service {
    /// Stores each shipped questionnaire whose code has no template yet; returns the codes added.
    pub async fn ensure_shipped_survey_templates(&self) -> ServiceResult<Vec<String>> {
        let sys = Actor::system();
        let templates = shipped::templates()?;
        let mut tx = self.store.begin().await?;
        let mut added = Vec::new();
        for t in templates {
            match ss::latest_template(&mut tx.conn(), &t.spec.code).await {
                Ok(_) => continue,
                Err(StoreError::NotFound) => {}
                Err(e) => return Err(ServiceError::from_store("survey template", e)),
            }
            let def = serde_json::to_string(&t.spec).map_err(|e| ServiceError::Internal(e.to_string()))?;
            let row = ss::insert_template(&mut tx.conn(), &t.spec.code, &t.spec.name_zh, &t.spec.audience, &def, None)
                .await
                .entity("survey template")?;
            tx.audit(&sys, AuditAction::Create, "survey_template", row.id, None::<&()>, Some(&row)).await?;
            added.push(t.spec.code);
        }
        tx.commit().await?;
        Ok(added)
    }
}
