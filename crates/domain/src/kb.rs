//! The after-sales knowledge base (售后服务知识库, issue #17): articles whose revisions are
//! controlled documents, and canned replies with placeholders.
//!
//! A revision's text never changes once written; only its document-control state moves:
//! draft → in review → published → archived (a reviewer may send it back to draft). Publishing
//! needs a named approving role: the general manager (总经理) for emergency plans (001 4.3.1's
//! 应急预案 and 常见质量事故处理方案), otherwise a role that approves actions.

use serde::{Deserialize, Serialize};

use crate::DomainError;
use crate::access::{Actor, Permission, Role};

pub mod canned;
pub mod diff;

macro_rules! coded {
    ($(#[$m:meta])* $name:ident, $field:literal, $err:literal { $($(#[$vm:meta])* $v:ident = $code:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vm])* $v),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$v),+];
            pub fn code(self) -> &'static str {
                match self { $($name::$v => $code),+ }
            }
            pub fn parse(s: &str) -> Result<$name, DomainError> {
                $name::ALL.iter().copied().find(|v| v.code() == s.trim()).ok_or_else(|| {
                    DomainError::invalid($field, {
                        let mut r = ::std::string::String::from($err);
                        crate::error::push_arg(&mut r, "value", &s);
                        r
                    })
                })
            }
        }
    };
}

coded!(
    /// What an article is.
    ArticleKind, "kind", "kb.err.kind" {
        ProblemSolution = "problem_solution",
        HowTo = "how_to",
        Faq = "faq",
        EmergencyPlan = "emergency_plan",
    }
);

coded!(
    /// Who may read a published article.
    Visibility, "visibility", "kb.err.visibility" {
        /// Staff only.
        Internal = "internal",
        /// Also customers on the portal.
        Portal = "portal",
        /// Anyone, signed in or not.
        Public = "public",
    }
);

coded!(
    /// A revision's document-control state.
    RevisionState, "state", "kb.err.state" {
        Draft = "draft",
        InReview = "in_review",
        Published = "published",
        Archived = "archived",
    }
);

coded!(
    /// What can be done to a revision.
    RevisionAction, "action", "kb.err.action" {
        /// Draft → in review.
        Submit = "submit",
        /// In review → draft (sent back).
        Return = "return",
        /// In review → published (approval).
        Approve = "approve",
        /// Published (or a draft abandoned) → archived.
        Archive = "archive",
    }
);

/// The state a revision moves to, or why it cannot.
pub fn next_state(from: RevisionState, action: RevisionAction) -> Result<RevisionState, DomainError> {
    use RevisionAction as A;
    use RevisionState as S;
    match (from, action) {
        (S::Draft, A::Submit) => Ok(S::InReview),
        (S::InReview, A::Return) => Ok(S::Draft),
        (S::InReview, A::Approve) => Ok(S::Published),
        (S::Published | S::Draft, A::Archive) => Ok(S::Archived),
        _ => Err(DomainError::invalid(
            "action",
            format!("kb.err.transition|action={}|state={}", action.code(), from.code()),
        )),
    }
}

/// Whether the actor may write articles and drafts.
pub fn may_author(actor: &Actor) -> bool {
    actor.can(Permission::WriteCases)
}

/// The role under which the actor approves a revision of an article of this kind, if any:
/// the general manager for emergency plans, otherwise a role approving actions.
pub fn approving_role(actor: &Actor, kind: ArticleKind) -> Option<Role> {
    match kind {
        ArticleKind::EmergencyPlan => actor.roles.iter().copied().find(|r| *r == Role::Gm),
        _ => {
            let order = [Role::Gm, Role::MgmtRep, Role::Qa, Role::Admin];
            order.into_iter().find(|r| actor.roles.contains(r) && r.grants(Permission::ApproveActions))
        }
    }
}

/// The checked text of a revision.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevisionText {
    pub title: String,
    /// Problem / symptom.
    pub problem: String,
    pub cause: String,
    pub solution: String,
    pub body: String,
    /// Product codes or models, as written (upper case kept).
    pub products: Vec<String>,
    pub tags: Vec<String>,
}

pub const MAX_TITLE: usize = 200;
pub const MAX_TEXT: usize = 20_000;
pub const MAX_LABEL: usize = 40;
pub const MAX_LABELS: usize = 30;

fn too_long(field: &str, max: usize) -> DomainError {
    DomainError::invalid(field, format!("kb.err.too_long|max={max}"))
}

/// Splits a list typed as one line (commas, 、, semicolons or spaces), trimming and dropping
/// repeats, keeping the order.
pub fn split_labels(field: &str, s: &str) -> Result<Vec<String>, DomainError> {
    let mut out: Vec<String> = Vec::new();
    for part in s.split(|c: char| c == ',' || c == '，' || c == '、' || c == ';' || c == '；' || c.is_whitespace()) {
        let p = part.trim();
        if p.is_empty() || out.iter().any(|x| x == p) {
            continue;
        }
        if p.chars().count() > MAX_LABEL {
            return Err(too_long(field, MAX_LABEL));
        }
        out.push(p.to_owned());
    }
    if out.len() > MAX_LABELS {
        return Err(DomainError::invalid(field, format!("kb.err.too_many|max={MAX_LABELS}")));
    }
    Ok(out)
}

impl RevisionText {
    /// Checks a revision for an article of `kind`: a title; a problem-solution article and an
    /// emergency plan need the problem and the solution; a how-to and an FAQ need a solution or a body.
    pub fn check(mut self, kind: ArticleKind) -> Result<RevisionText, DomainError> {
        self.title = self.title.trim().to_owned();
        for s in [&mut self.problem, &mut self.cause, &mut self.solution, &mut self.body] {
            *s = s.trim().replace("\r\n", "\n");
        }
        if self.title.is_empty() {
            return Err(DomainError::invalid("title", "kb.err.required"));
        }
        if self.title.chars().count() > MAX_TITLE {
            return Err(too_long("title", MAX_TITLE));
        }
        for (f, v) in
            [("problem", &self.problem), ("cause", &self.cause), ("solution", &self.solution), ("body", &self.body)]
        {
            if v.chars().count() > MAX_TEXT {
                return Err(too_long(f, MAX_TEXT));
            }
        }
        match kind {
            ArticleKind::ProblemSolution | ArticleKind::EmergencyPlan => {
                if self.problem.is_empty() {
                    return Err(DomainError::invalid("problem", "kb.err.required"));
                }
                if self.solution.is_empty() {
                    return Err(DomainError::invalid("solution", "kb.err.required"));
                }
            }
            ArticleKind::HowTo | ArticleKind::Faq => {
                if self.solution.is_empty() && self.body.is_empty() {
                    return Err(DomainError::invalid("solution", "kb.err.solution_or_body"));
                }
            }
        }
        for (f, list) in [("products", &mut self.products), ("tags", &mut self.tags)] {
            *list = split_labels(f, &list.join(","))?;
        }
        Ok(self)
    }

    /// The text the search index keeps for the article.
    pub fn searchable(&self) -> String {
        [&self.problem, &self.cause, &self.solution, &self.body, &self.products.join(" "), &self.tags.join(" ")]
            .iter()
            .filter(|s| !s.is_empty())
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// A category code: lower-case letters, digits, `-` and `_`, 1–40 characters.
pub fn check_category_code(code: &str) -> Result<String, DomainError> {
    let c = code.trim().to_ascii_lowercase();
    if c.is_empty() || c.len() > MAX_LABEL || !c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')
    {
        return Err(DomainError::invalid("code", "kb.err.category_code"));
    }
    Ok(c)
}

/// Whether `parent` may become the parent of `id`, given each category's parent: no cycles.
pub fn parent_allowed(id: i64, parent: i64, parents: &std::collections::HashMap<i64, Option<i64>>) -> bool {
    let mut at = Some(parent);
    let mut steps = 0;
    while let Some(p) = at {
        if p == id || steps > parents.len() {
            return false;
        }
        at = parents.get(&p).copied().flatten();
        steps += 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::{ActorKind, Scope};

    fn actor(roles: &[Role]) -> Actor {
        Actor {
            user_id: Some(7),
            username: "u".into(),
            department_id: None,
            roles: roles.to_vec(),
            scope: Scope::All,
            kind: ActorKind::Staff,
        }
    }

    #[test]
    fn the_document_control_states_move_only_forward_or_back_to_draft() {
        use RevisionAction as A;
        use RevisionState as S;
        assert_eq!(next_state(S::Draft, A::Submit).unwrap(), S::InReview);
        assert_eq!(next_state(S::InReview, A::Return).unwrap(), S::Draft);
        assert_eq!(next_state(S::InReview, A::Approve).unwrap(), S::Published);
        assert_eq!(next_state(S::Published, A::Archive).unwrap(), S::Archived);
        for (s, a) in
            [(S::Draft, A::Approve), (S::Published, A::Submit), (S::Archived, A::Submit), (S::Archived, A::Archive)]
        {
            let e = next_state(s, a).unwrap_err();
            assert!(matches!(e, DomainError::Invalid { ref field, .. } if field == "action"), "{e:?}");
        }
    }

    #[test]
    fn emergency_plans_are_approved_by_the_general_manager_only() {
        assert_eq!(approving_role(&actor(&[Role::Gm]), ArticleKind::EmergencyPlan), Some(Role::Gm));
        assert_eq!(approving_role(&actor(&[Role::Qa, Role::MgmtRep]), ArticleKind::EmergencyPlan), None);
        assert_eq!(approving_role(&actor(&[Role::Admin]), ArticleKind::EmergencyPlan), None);
        assert_eq!(approving_role(&actor(&[Role::Qa]), ArticleKind::ProblemSolution), Some(Role::Qa));
        assert_eq!(approving_role(&actor(&[Role::Agent]), ArticleKind::Faq), None);
    }

    #[test]
    fn a_problem_solution_article_needs_problem_and_solution() {
        let t = RevisionText { title: " 外壳破损 ".into(), problem: "外壳裂开".into(), ..Default::default() };
        let e = t.clone().check(ArticleKind::ProblemSolution).unwrap_err();
        assert!(matches!(e, DomainError::Invalid { ref field, .. } if field == "solution"));
        let ok =
            RevisionText { solution: "更换外壳".into(), products: vec!["PS-500, PS-500 、PX-500".into()], ..t }
                .check(ArticleKind::ProblemSolution)
                .unwrap();
        assert_eq!(ok.title, "外壳破损");
        assert_eq!(ok.products, vec!["PS-500", "PX-500"]);
        let e = RevisionText { title: "x".into(), ..Default::default() }.check(ArticleKind::Faq).unwrap_err();
        assert!(matches!(e, DomainError::Invalid { ref field, .. } if field == "solution"));
        let e = RevisionText { title: "x".repeat(201), body: "b".into(), ..Default::default() }
            .check(ArticleKind::Faq)
            .unwrap_err();
        assert!(matches!(e, DomainError::Invalid { ref field, .. } if field == "title"));
    }

    #[test]
    fn codes_parse_back_and_unknown_ones_name_their_field() {
        for k in ArticleKind::ALL {
            assert_eq!(ArticleKind::parse(k.code()).unwrap(), *k);
        }
        for v in Visibility::ALL {
            assert_eq!(Visibility::parse(v.code()).unwrap(), *v);
        }
        // A `|` in the value cannot break the key|value form: it is replaced.
        let e = Visibility::parse("secret|x").unwrap_err();
        assert_eq!(e, DomainError::invalid("visibility", "kb.err.visibility|value=secret¦x"));
    }

    #[test]
    fn a_category_cannot_become_its_own_ancestor() {
        let parents = [(1, None), (2, Some(1)), (3, Some(2))].into_iter().collect();
        assert!(parent_allowed(3, 1, &parents));
        assert!(!parent_allowed(1, 3, &parents));
        assert!(!parent_allowed(2, 2, &parents));
        assert!(check_category_code("Repair-1").is_ok());
        assert!(check_category_code("维修").is_err());
    }
}
