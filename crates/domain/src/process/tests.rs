use super::*;

fn complaint() -> ProcessDefinition {
    default_definition("complaint").expect("shipped complaint definition")
}

#[test]
fn every_shipped_definition_is_valid() {
    for t in CASE_TYPES {
        let d = default_definition(t).unwrap_or_else(|| panic!("{t} does not parse"));
        assert_eq!(d.case_type, t);
        d.validate().unwrap();
    }
}

#[test]
fn complaint_follows_iso_10002() {
    let d = complaint();
    let path = [
        "acknowledge",
        "assess",
        "investigate",
        "propose",
        "reply",
        "accept",
        "schedule_follow_up",
        "record_follow_up",
    ];
    let mut state = d.initial.clone();
    for code in path {
        let t = d.transition(code).unwrap();
        assert!(t.from.contains(&state), "{code} from {state}");
        state = t.to.clone();
    }
    assert!(d.state(&state).unwrap().terminal);
    // A rejected resolution reopens the investigation.
    assert_eq!(d.transition("reject").unwrap().to, "investigating");
}

#[test]
fn roles_and_required_fields_are_enforced() {
    let d = complaint();
    let assess = d.transition("assess").unwrap();
    assert!(ProcessDefinition::allows(assess, &[Role::Qa]));
    assert!(!ProcessDefinition::allows(assess, &[Role::Auditor]));
    assert!(ProcessDefinition::allows(assess, &[Role::Admin]));
    let mut given = BTreeMap::from([("category".to_owned(), "product_quality".to_owned())]);
    let err = ProcessDefinition::check_required(assess, &given).unwrap_err();
    assert_eq!(err, DomainError::invalid("severity", "errors.required_2|t_zh=评估（责任判定）|t_en=assess"));
    for f in ["severity", "responsibility", "lead_department"] {
        given.insert(f.into(), "x".into());
    }
    assert!(ProcessDefinition::check_required(assess, &given).is_ok());
}

fn broken(edit: impl FnOnce(&mut ProcessDefinition)) -> DomainError {
    let mut d = complaint();
    edit(&mut d);
    d.validate().unwrap_err()
}

#[test]
fn invalid_definitions_are_refused_with_the_reason() {
    let e = broken(|d| {
        d.states.push(StateDef { code: "limbo".into(), zh: "悬空".into(), en: "Limbo".into(), terminal: false })
    });
    assert!(e.to_string().contains("errors.state_cannot_reached_from|code=limbo"), "{e}");
    let e = broken(|d| d.transitions[0].roles = vec!["boss".into()]);
    assert!(matches!(e, DomainError::Invalid { ref field, .. } if field == "transitions[0].roles"), "{e}");
    let e = broken(|d| d.states.iter_mut().for_each(|s| s.terminal = false));
    assert!(e.to_string().contains("errors.there_no_terminal_state_case"), "{e}");
    let e = broken(|d| d.transitions[1].to = "nowhere".into());
    assert!(matches!(e, DomainError::Invalid { ref field, .. } if field == "transitions[1].to"));
    let e = broken(|d| d.transitions[1].required.push("shoe_size".into()));
    assert!(e.to_string().contains("shoe_size"));
    let e = broken(|d| d.initial = "start".into());
    assert!(matches!(e, DomainError::Invalid { ref field, .. } if field == "initial"));
    // A state from which no end can be reached: a trap.
    let e = broken(|d| {
        d.states.push(StateDef { code: "trap".into(), zh: "陷阱".into(), en: "Trap".into(), terminal: false });
        d.transitions.push(TransitionDef {
            code: "fall".into(),
            zh: "落入".into(),
            en: "Fall".into(),
            from: vec!["received".into()],
            to: "trap".into(),
            roles: vec!["agent".into()],
            customer: false,
            required: vec![],
            clocks: vec![],
            notify_customer: false,
            signature: false,
        });
    });
    assert!(e.to_string().contains("errors.from_state_no_terminal_state|code=trap"), "{e}");
}

#[test]
fn parses_json_and_toml_and_names_syntax_errors() {
    let d = complaint();
    let json = serde_json::to_string(&d).unwrap();
    assert_eq!(ProcessDefinition::parse(&json).unwrap(), d);
    let toml_text = toml::to_string(&d).unwrap();
    assert_eq!(ProcessDefinition::parse(&toml_text).unwrap(), d);
    assert!(
        matches!(ProcessDefinition::parse("{ nope"), Err(DomainError::Invalid { field, .. }) if field == "definition")
    );
    assert!(
        matches!(ProcessDefinition::parse("states = 3"), Err(DomainError::Invalid { field, .. }) if field == "definition")
    );
}

#[test]
fn flowchart_marks_the_current_state_and_escapes() {
    let mut d = complaint();
    d.states[0].zh = "<已受理>".into();
    let svg = d.to_svg(Some("investigating"), true);
    assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
    assert!(svg.contains(r#"class="state current" data-state="investigating""#));
    assert!(svg.contains("&lt;已受理&gt;") && !svg.contains("<已受理>"));
    assert_eq!(svg.matches("<rect").count(), d.states.len());
}

mod never_panics {
    use proptest::prelude::*;

    use crate::fuzz::{apply_json_edits, apply_text_edits, json_edits, refused_with_field, text_edits};

    proptest! {
        #[test]
        fn parse_never_panics(s in "\\PC{0,400}") {
            refused_with_field(&super::ProcessDefinition::parse(&s))?;
        }

        #[test]
        fn parse_of_mangled_definition_never_panics(cut in 0usize..4000, junk in "[\\[\\]{}=\",a-z_ ]{0,20}") {
            let text = toml::to_string(&super::complaint()).unwrap();
            let cut = cut.min(text.len());
            let cut = (0..=cut).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(0);
            refused_with_field(&super::ProcessDefinition::parse(&format!("{}{}{}", &text[..cut], junk, &text[cut..])))?;
        }

        /// Structural mutations of a shipped definition (fields replaced, removed, duplicated):
        /// refused naming the field, or accepted and then drawable and stable through TOML.
        #[test]
        fn mutated_definitions_are_refused_by_field_or_usable(
            t in prop::sample::select(super::CASE_TYPES.to_vec()),
            edits in json_edits(6),
        ) {
            let base = serde_json::to_value(super::default_definition(t).unwrap()).unwrap();
            let text = apply_json_edits(base, &edits).to_string();
            let r = super::ProcessDefinition::parse(&text);
            refused_with_field(&r)?;
            if let Ok(d) = r {
                let _ = d.to_svg(Some(&d.initial), true);
                let _ = d.to_svg(None, false);
                let again = super::ProcessDefinition::parse(&toml::to_string(&d).unwrap());
                prop_assert_eq!(again.as_ref(), Ok(&d));
            }
        }

        /// Character-level damage to the TOML and JSON forms: always a named refusal or a definition.
        #[test]
        fn damaged_definition_text_is_refused_by_field(
            t in prop::sample::select(super::CASE_TYPES.to_vec()),
            json in any::<bool>(),
            edits in text_edits(4),
        ) {
            let d = super::default_definition(t).unwrap();
            let text = if json { serde_json::to_string_pretty(&d).unwrap() } else { toml::to_string(&d).unwrap() };
            refused_with_field(&super::ProcessDefinition::parse(&apply_text_edits(&text, &edits)))?;
        }
    }
}

#[test]
fn review_setting_is_read_from_toml_and_json_and_off_when_absent() {
    let plain = complaint();
    assert!(plain.review.is_off(), "shipped definitions review nothing");
    let toml_text = format!("{}\n[review]\nnot_responsible = true\ntasks = true\n", toml::to_string(&plain).unwrap());
    let d = ProcessDefinition::parse(&toml_text).unwrap();
    assert_eq!(d.review, ReviewDef { not_responsible: true, tasks: true });
    // It survives both forms.
    assert_eq!(ProcessDefinition::parse(&serde_json::to_string(&d).unwrap()).unwrap(), d);
    assert_eq!(ProcessDefinition::parse(&toml::to_string(&d).unwrap()).unwrap(), d);
    // A misspelt key is refused, naming it.
    let e = ProcessDefinition::parse(&format!("{}\n[review]\ntask = true\n", toml::to_string(&plain).unwrap()))
        .unwrap_err();
    assert!(e.to_string().contains("task"), "{e}");
    let e = ProcessDefinition::parse(&format!("{}\n[review]\ntasks = \"yes\"\n", toml::to_string(&plain).unwrap()))
        .unwrap_err();
    assert!(matches!(e, DomainError::Invalid { ref field, .. } if field == "definition"), "{e}");
}

#[test]
fn not_responsible_review_needs_a_transition_that_asks_for_responsibility() {
    let e = broken(|d| {
        d.review.not_responsible = true;
        d.transitions.iter_mut().for_each(|t| t.required.retain(|f| f != "responsibility"));
    });
    assert!(matches!(e, DomainError::Invalid { ref field, .. } if field == "review.not_responsible"), "{e}");
}

#[test]
fn only_a_not_responsible_finding_waits_for_review_when_the_definition_asks() {
    let mut d = complaint();
    let assess = d.transition("assess").unwrap().clone();
    let no = BTreeMap::from([("responsibility".to_string(), "no".to_string())]);
    let yes = BTreeMap::from([("responsibility".to_string(), "yes".to_string())]);
    assert!(!d.needs_responsibility_review(&assess, &no), "off by default");
    d.review.not_responsible = true;
    assert!(d.needs_responsibility_review(&assess, &no));
    assert!(!d.needs_responsibility_review(&assess, &yes));
    let investigate = d.transition("investigate").unwrap().clone();
    assert!(!d.needs_responsibility_review(&investigate, &no), "only a transition that records the finding");
}

#[test]
fn the_customer_service_manager_is_the_head_of_a_customer_service_department() {
    assert!(may_review(&[Role::DeptHead], Some("customer_service")));
    assert!(!may_review(&[Role::DeptHead], Some("quality")), "another department's head");
    assert!(!may_review(&[Role::Agent], Some("customer_service")), "a customer-service agent");
    assert!(may_review(&[Role::Admin], None));
}

#[test]
fn every_kind_ships_a_valid_definition_per_type() {
    for kind in RecordKind::ALL {
        for t in kind.types() {
            let d = default_definition_of(kind, t).unwrap_or_else(|| panic!("{}/{t} does not parse", kind.code()));
            assert_eq!((d.kind, d.case_type.as_str()), (kind, *t));
        }
    }
    // Case definitions stored before kinds existed read as cases.
    let old = serde_json::to_value(complaint()).unwrap();
    let mut old = old.as_object().unwrap().clone();
    old.remove("kind");
    let back = ProcessDefinition::parse(&serde_json::Value::Object(old).to_string()).unwrap();
    assert_eq!(back.kind, RecordKind::Case);
    assert_eq!(RecordKind::parse("capa").unwrap(), RecordKind::Capa);
    assert!(matches!(RecordKind::parse("boat"), Err(DomainError::Invalid { ref field, .. }) if field == "kind"));
}

#[test]
fn required_fields_and_types_are_known_per_kind() {
    let mut capa = default_definition_of(RecordKind::Capa, "capa").unwrap();
    // A case field is not a CAPA field, and a case type is not a CAPA type.
    capa.transitions[0].required.push("lead_department".into());
    let e = capa.validate().unwrap_err();
    assert!(matches!(e, DomainError::Invalid { ref field, .. } if field == "transitions[0].required"), "{e}");
    let mut capa = default_definition_of(RecordKind::Capa, "capa").unwrap();
    capa.case_type = "complaint".into();
    assert!(matches!(capa.validate(), Err(DomainError::Invalid { ref field, .. }) if field == "case_type"));
    // And the other way round.
    let mut c = complaint();
    c.transitions[0].required.push("verification_result".into());
    assert!(c.validate().is_err());
}

#[test]
fn the_neutral_step_check_is_shared_by_every_kind() {
    let capa = default_definition_of(RecordKind::Capa, "capa").unwrap();
    let t = capa.check_step("open", "requested", 3, 3, Taker::Staff(&[Role::Qa])).unwrap();
    assert_eq!(t.to, "team");
    assert!(matches!(
        capa.check_step("open", "requested", 3, 3, Taker::Staff(&[Role::Agent])),
        Err(DomainError::Forbidden { .. })
    ));
    assert!(matches!(
        capa.check_step("open", "team", 3, 3, Taker::Staff(&[Role::Qa])),
        Err(DomainError::Conflict { field: Some("transition"), .. })
    ));
    assert!(matches!(
        capa.check_step("open", "requested", 4, 3, Taker::Staff(&[Role::Qa])),
        Err(DomainError::Conflict { field: Some("version"), .. })
    ));
    assert!(matches!(
        capa.check_step("fly", "requested", 3, 3, Taker::Staff(&[Role::Qa])),
        Err(DomainError::Invalid { ref field, .. }) if field == "transition"
    ));
    assert!(matches!(capa.check_step("open", "requested", 3, 3, Taker::Customer), Err(DomainError::Forbidden { .. })));
    let approve = capa.transition("approve_plan").unwrap();
    assert!(approve.signature && !capa.ends(approve));
    assert!(capa.ends(capa.transition("approve_closure").unwrap()));
    assert_eq!(
        ProcessDefinition::clock_effects(capa.transition("open").unwrap()),
        vec![("decision".to_owned(), ClockAction::Stop)]
    );
    // The flowchart draws any kind.
    assert!(capa.to_svg(Some("planning"), true).contains("D5 制定措施"));
    let nc = default_definition_of(RecordKind::Nc, "nc").unwrap();
    assert!(nc.to_svg(None, false).contains("<svg"));
    // A customer cannot sign.
    let mut bad = capa.clone();
    bad.transitions[0].customer = true;
    bad.transitions[0].signature = true;
    assert!(bad.validate().is_err());
}
