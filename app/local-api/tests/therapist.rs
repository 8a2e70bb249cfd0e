//! The therapist's and the leader's views end to end: the real `sync-server` process, and
//! three devices (therapist, assistant, leader) each running the local API's router over its
//! own store. A therapist plans, an assistant logs, the therapist follows up and revises the
//! program, a leader reads the overview; every role is refused what it may not do.
//!
//! Its own test binary (not in `api.rs`), so its server processes and password hashing do not
//! run beside `api.rs`'s timing-sensitive idle-lock test.

mod common;
use common::{Device, SyncServer, PASSWORD};

use axum::http::StatusCode;
use homerehab_app_api as api;
use homerehab_core::store::{now_ms, Store};
use homerehab_shared::ids::*;

impl Device {
    /// Syncs now, and everything this device had waiting reached the server.
    async fn synced(&self) {
        let s = self.sync().await;
        assert_eq!(s.waiting, 0, "{s:?}");
    }

    async fn refused(
        &self,
        method: &str,
        uri: &str,
        body: Option<&serde_json::Value>,
    ) -> api::ApiError {
        let body = body.map(|b| b.to_string());
        self.err(method, uri, body.as_deref()).await.1
    }

    /// The running app's store (the data folder is locked to it).
    fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        self.api.store.lock().unwrap()
    }
}

fn iso_days_ago(days: i64) -> String {
    let at = now_ms() - days * 86_400_000;
    homerehab_shared::schedule::date_of(at).to_string()
}

fn edit(line: &api::ProgramLineView) -> serde_json::Value {
    serde_json::json!({
        "line_id": line.line_id,
        "exercise_ref": line.exercise_ref,
        "dosage": line.dosage,
        "instructions": line.instructions,
    })
}

#[tokio::test]
async fn a_therapist_plans_an_assistant_logs_and_a_leader_follows() {
    let server = SyncServer::start(&[
        ("terapeut1", "therapist"),
        ("assistent1", "assistant"),
        ("leder1", "leader"),
    ]);
    let therapist = server.device("terapeut1").await;

    // The team's staff came with the sign-in.
    let staff: Vec<api::StaffMember> = therapist.ok("GET", "/api/staff", None).await;
    assert_eq!(staff.len(), 3);
    let assistant = staff.iter().find(|s| s.role == "assistant").unwrap();
    let assistant_id = assistant.user_id.clone();
    let assistant_name = assistant.display_name.clone();
    let therapist_name = staff
        .iter()
        .find(|s| s.role == "therapist")
        .unwrap()
        .display_name
        .clone();
    let legal: api::LegalBases = therapist.ok("GET", "/api/legal-bases", None).await;
    assert_eq!(legal.known[0], "SEL §83a");

    // A citizen assigned to assistent1, and a course from a template started 15 days ago.
    let citizen: api::CitizenView = therapist
        .post(
            "/api/citizens",
            &serde_json::json!({
                "name": "Karen Jensen", "local_ref": "TK-2026-0311",
                "address": "Storegade 12, 7700 Thisted", "assigned": [assistant_id],
            }),
        )
        .await;
    let citizens: Vec<api::CitizenView> = therapist.ok("GET", "/api/citizens", None).await;
    assert_eq!(citizens, vec![citizen.clone()]);
    // The same case number again (the new-course page hides citizens with an open course,
    // which invites adding them anew): refused, naming who holds it.
    let (code, e) = therapist
        .err(
            "POST",
            "/api/citizens",
            Some(r#"{"name": "Karen M. Jensen", "local_ref": " TK-2026-0311 ", "assigned": []}"#),
        )
        .await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{e:?}");
    assert!(
        e.message.contains("Karen Jensen already has"),
        "{}",
        e.message
    );
    let templates: Vec<api::TemplateView> =
        therapist.ok("GET", "/api/templates?lang=en", None).await;
    let template = templates
        .iter()
        .find(|t| t.template_id == "fall-prevention")
        .unwrap();
    assert!(template.exercise_count >= 3);
    // Every shipped template says where it comes from (issue #15).
    assert!(
        template.references.iter().any(|r| r.contains("Otago")),
        "{:?}",
        template.references
    );
    assert!(templates
        .iter()
        .filter(|t| t.source == "shipped")
        .all(|t| !t.references.is_empty()));
    let created: api::CourseCreated = therapist
        .post(
            "/api/courses",
            &serde_json::json!({
                "citizen_id": citizen.citizen_id, "template_id": "fall-prevention",
                "legal_basis": "SEL §83a", "start_date": iso_days_ago(15), "planned_weeks": 12,
                "sessions_per_week": 2, "minutes_per_session": 20,
                "goals": ["Gå til købmanden uden rollator"],
            }),
        )
        .await;
    assert_eq!(created.revision_number, 1);
    let c = created.course_id.clone();
    let caseload: Vec<api::CaseloadRow> = therapist.ok("GET", "/api/caseload", None).await;
    assert_eq!(caseload.len(), 1);
    let row = &caseload[0];
    assert_eq!(
        (
            row.citizen_name.as_str(),
            row.status.as_str(),
            row.week_of_course
        ),
        ("Karen Jensen", "active", 3)
    );
    assert_eq!((row.sessions_done, row.sessions_planned_so_far), (0, 4));
    assert_eq!(row.adherence_percent, Some(0));
    assert_eq!(row.responsible_therapist, therapist_name);
    assert_eq!(
        row.flags,
        vec![
            api::CourseFlag::NoRecentSession { days: 15 },
            api::CourseFlag::LowAdherence { percent: 0 },
        ]
    );
    therapist.synced().await;

    // The assistant's tablet: the course is on today's visits; a session with feedback.
    let tablet = server.device("assistent1").await;
    let visits: Vec<api::Visit> = tablet.ok("GET", "/api/visits", None).await;
    assert_eq!(visits.len(), 1);
    assert_eq!(
        (
            visits[0].course_id.as_str(),
            visits[0].citizen_name.as_str()
        ),
        (c.as_str(), "Karen Jensen")
    );
    assert_eq!(
        visits[0].address.as_deref(),
        Some("Storegade 12, 7700 Thisted")
    );
    let detail: api::CourseDetail = tablet.ok("GET", &format!("/api/courses/{c}"), None).await;
    let first = detail.lines[0].clone();
    let started: api::StartedSession = tablet
        .ok("POST", &format!("/api/courses/{c}/sessions"), None)
        .await;
    let s = started.session_id.clone();
    for reps in [10, 8] {
        let _: api::SetLogged = tablet
            .post(
                &format!("/api/courses/{c}/sessions/{s}/sets"),
                &serde_json::json!({"line_id": first.line_id, "reps": reps, "duration_s": null, "load_kg": 1.5}),
            )
            .await;
    }
    let _: api::Saved = tablet
        .post(
            &format!("/api/courses/{c}/sessions/{s}/feedback"),
            &serde_json::json!({"line_id": first.line_id, "outcome": "done", "skip_reason": null,
                                "borg": 5, "pain": 7, "note": "Ondt i knæet"}),
        )
        .await;
    let _: api::SessionSummary = tablet
        .post(
            &format!("/api/courses/{c}/sessions/{s}/finish"),
            &serde_json::json!({"general_condition": 4, "note": null}),
        )
        .await;
    tablet.synced().await;
    // None of the therapist's operations are the assistant's.
    for (method, uri, body) in [
        ("GET", "/api/caseload".to_string(), None),
        ("GET", "/api/overview".to_string(), None),
        ("GET", format!("/api/courses/{c}/history"), None),
        ("GET", "/api/library?q=stol".to_string(), None),
        (
            "POST",
            "/api/courses".to_string(),
            Some(serde_json::json!({
            "citizen_id": citizen.citizen_id, "template_id": null, "legal_basis": "SEL §83a",
            "start_date": "2026-01-05", "planned_weeks": 12, "sessions_per_week": 2,
            "minutes_per_session": 20, "goals": []})),
        ),
        (
            "POST",
            format!("/api/courses/{c}/program"),
            Some(serde_json::json!({
            "based_on_revision": 1, "summary": null, "lines": []})),
        ),
    ] {
        let (code, e) = tablet
            .err(method, &uri, body.map(|b| b.to_string()).as_deref())
            .await;
        assert_eq!(
            (code, e.kind),
            (StatusCode::FORBIDDEN, api::ErrorKind::Forbidden),
            "{uri}"
        );
    }

    // The therapist sees the session in the history, with trends and the revision.
    therapist.synced().await;
    let history: api::CourseHistory = therapist
        .ok("GET", &format!("/api/courses/{c}/history?lang=en"), None)
        .await;
    assert_eq!(history.citizen_name, "Karen Jensen");
    assert_eq!(history.sessions.len(), 1);
    let h = &history.sessions[0];
    assert_eq!(
        (h.session_id.as_str(), h.status.as_str()),
        (s.as_str(), "completed")
    );
    assert_eq!(h.performed_by_name, assistant_name);
    assert_eq!(h.revision_number, Some(1));
    assert_eq!(h.general_condition, Some(4));
    let ex = &h.exercises[0];
    assert_eq!(
        (ex.line_id.as_str(), ex.sets_done),
        (first.line_id.as_str(), 2)
    );
    assert_eq!(
        (ex.reps_total, ex.max_load_kg, ex.pain),
        (Some(18), Some(1.5), Some(7))
    );
    assert_eq!(history.trends.len(), 1);
    assert_eq!(history.trends[0].exercise_ref, first.exercise_ref);
    assert_eq!(history.trends[0].points[0].reps_total, Some(18));
    assert_eq!(history.trends[0].points[0].borg, Some(5));
    let caseload: Vec<api::CaseloadRow> = therapist.ok("GET", "/api/caseload", None).await;
    assert_eq!(
        (caseload[0].sessions_done, caseload[0].recent_max_pain),
        (1, Some(7))
    );
    assert_eq!(
        caseload[0].flags,
        vec![
            api::CourseFlag::LowAdherence { percent: 25 },
            api::CourseFlag::HighPain { pain: 7 },
        ]
    );

    // The program editor: reorder, change a dosage, add one, remove one -> one revision.
    let program: api::ProgramView = therapist
        .ok("GET", &format!("/api/courses/{c}/program"), None)
        .await;
    assert_eq!(program.revision_number, 1);
    assert_eq!(program.revisions[0].by_name, therapist_name);
    let lines = &program.lines;
    let n = lines.len();
    assert!(n >= 4, "{n}");
    let before = therapist
        .store()
        .course_doc(c.parse().unwrap())
        .unwrap()
        .program;
    let mut changed = edit(&lines[1]);
    changed["dosage"]["sets"] = serde_json::json!(lines[1].dosage.sets + 1);
    let added = serde_json::json!({
        "line_id": null, "exercise_ref": "wall-push-up",
        "dosage": {"sets": 2, "reps": 10, "duration_s": null, "hold_s": null, "rest_s": 60,
                   "load": null, "side": "both"},
        "instructions": "Langsomt ned",
    });
    // The last line to the front, line 1 changed, line 2 removed, a new one at the end.
    let mut edited = vec![edit(&lines[n - 1]), edit(&lines[0]), changed];
    edited.extend(lines[3..n - 1].iter().map(edit));
    edited.push(added);
    let saved: api::ProgramView = therapist
        .post(
            &format!("/api/courses/{c}/program?lang=en"),
            &serde_json::json!({"based_on_revision": 1, "summary": null, "lines": edited}),
        )
        .await;
    assert_eq!(saved.revision_number, 2);
    assert_eq!(saved.revisions.len(), 2);
    assert_eq!(saved.revisions[0].number, 2);
    assert!(
        saved.revisions[0].summary.contains("Ny rækkefølge"),
        "{}",
        saved.revisions[0].summary
    );
    let order: Vec<_> = saved.lines.iter().map(|l| l.line_id.as_str()).collect();
    assert_eq!(order[0], lines[n - 1].line_id);
    assert_eq!(order[1], lines[0].line_id);
    assert_eq!(order[2], lines[1].line_id);
    assert!(!order.contains(&lines[2].line_id.as_str()));
    assert_eq!(saved.lines[n - 1].exercise_ref, "wall-push-up");
    assert_eq!(saved.lines[2].dosage.sets, lines[1].dosage.sets + 1);
    // Minimal edits: the lines neither changed nor moved are exactly as they were.
    let after = therapist
        .store()
        .course_doc(c.parse().unwrap())
        .unwrap()
        .program;
    for l in std::iter::once(&lines[0]).chain(&lines[3..n - 1]) {
        assert_eq!(
            after.exercises[&l.line_id], before.exercises[&l.line_id],
            "{}",
            l.exercise_ref
        );
    }
    assert_ne!(
        after.exercises[&lines[n - 1].line_id].position,
        before.exercises[&lines[n - 1].line_id].position
    );
    // The new revision records the one the editor opened, for the server's same check.
    let first = before.latest_revision().map(|r| r.id);
    assert_eq!(after.latest_revision().unwrap().based_on, first);
    assert!(first.is_some());
    // Saving it unchanged makes no revision; a stale editor is told to reload.
    let same: Vec<_> = saved.lines.iter().map(edit).collect();
    let again: api::ProgramView = therapist
        .post(
            &format!("/api/courses/{c}/program"),
            &serde_json::json!({"based_on_revision": 2, "summary": null, "lines": same}),
        )
        .await;
    assert_eq!(again.revision_number, 2);
    let e = therapist
        .refused(
            "POST",
            &format!("/api/courses/{c}/program"),
            Some(&serde_json::json!({"based_on_revision": 1, "summary": null, "lines": same})),
        )
        .await;
    assert_eq!(e.kind, api::ErrorKind::Invalid);
    assert!(e.message.contains("reload"), "{}", e.message);
    let mut unknown = same.clone();
    unknown.push(
        serde_json::json!({"line_id": null, "exercise_ref": "moon-walk",
        "dosage": {"sets": 1, "reps": 5, "duration_s": null, "hold_s": null, "rest_s": null,
                   "load": null, "side": "none"}, "instructions": null}),
    );
    let e = therapist
        .refused(
            "POST",
            &format!("/api/courses/{c}/program"),
            Some(&serde_json::json!({"based_on_revision": 2, "summary": null, "lines": unknown})),
        )
        .await;
    assert!(e.message.contains("moon-walk"), "{}", e.message);

    // Assessments round trip.
    let kinds: Vec<api::AssessmentKindView> = therapist
        .ok("GET", "/api/assessment-kinds?lang=en", None)
        .await;
    assert!(kinds.len() >= 8);
    assert!(kinds
        .iter()
        .any(|k| k.kind == "timed_up_and_go" && !k.higher_is_better));
    let a: api::AssessmentView = therapist
        .post(
            &format!("/api/courses/{c}/assessments?lang=en"),
            &serde_json::json!({"kind": "chair_stand_30s", "value": 9.0, "date": iso_days_ago(15),
                                "phase": "start", "note": "Med armlæn"}),
        )
        .await;
    assert_eq!(
        (a.unit.as_str(), a.label.as_str()),
        ("stands", "30-second chair stand"),
        "the unit as people read it"
    );
    assert_eq!(a.by_name, therapist_name);
    for (bad, what) in [
        (
            serde_json::json!({"kind": "chair_stand_30s", "value": 99.0, "date": "2026-01-05", "phase": "start", "note": null}),
            "60",
        ),
        (
            serde_json::json!({"kind": "eq5d", "value": 0.5, "date": "2026-01-05", "phase": "start", "note": null}),
            "eq5d",
        ),
        (
            serde_json::json!({"kind": "sppb", "value": 8.0, "date": "5/1-2026", "phase": "start", "note": null}),
            "date",
        ),
        (
            serde_json::json!({"kind": "sppb", "value": 8.0, "date": "2026-01-05", "phase": "later", "note": null}),
            "later",
        ),
    ] {
        let (code, e) = therapist
            .err(
                "POST",
                &format!("/api/courses/{c}/assessments"),
                Some(&bad.to_string()),
            )
            .await;
        assert_eq!(
            (code, e.kind),
            (StatusCode::UNPROCESSABLE_ENTITY, api::ErrorKind::Invalid)
        );
        assert!(e.message.contains(what), "{}", e.message);
    }
    let history: api::CourseHistory = therapist
        .ok("GET", &format!("/api/courses/{c}/history"), None)
        .await;
    assert_eq!(
        history.assessments,
        vec![api::AssessmentView {
            // The history is in Danish (no `lang`): the unit too.
            unit: "gange".into(),
            label: "30 sekunders rejse-sætte-sig".into(),
            ..a
        }]
    );

    // Library search: best first, at most 50, filters by tag key.
    let found: api::LibrarySearch = therapist
        .ok("GET", "/api/library?q=rejse&position=sitting&lang=da", None)
        .await;
    assert!(!found.hits.is_empty() && found.hits.len() as u32 <= found.total);
    assert!(found.hits.iter().all(|h| h.position == "sitting"));
    let all: api::LibrarySearch = therapist.ok("GET", "/api/library", None).await;
    assert_eq!(all.hits.len(), 50);
    assert!(all.total > 50);
    assert!(all
        .positions
        .iter()
        .any(|p| p.key == "sitting" && p.label == "Siddende"));
    let e = therapist
        .refused("GET", "/api/library?position=upside_down", None)
        .await;
    assert_eq!(e.kind, api::ErrorKind::Invalid);

    // Bad course requests say what to fix.
    let course = |patch: serde_json::Value| {
        let mut body = serde_json::json!({
            "citizen_id": citizen.citizen_id, "template_id": null, "legal_basis": "SEL §83a",
            "start_date": "2026-01-05", "planned_weeks": 12, "sessions_per_week": 2,
            "minutes_per_session": 20, "goals": []});
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    for (patch, what) in [
        (
            serde_json::json!({"start_date": "2026-02-30"}),
            "start date",
        ),
        (serde_json::json!({"planned_weeks": 0}), "planned_weeks"),
        (
            serde_json::json!({"template_id": "no-such-template"}),
            "no-such-template",
        ),
        (
            serde_json::json!({"citizen_id": CitizenId::new().to_string()}),
            "roster",
        ),
        (serde_json::json!({"citizen_id": "nope"}), "citizen"),
    ] {
        let e = therapist
            .refused("POST", "/api/courses", Some(&course(patch)))
            .await;
        assert_eq!(e.kind, api::ErrorKind::Invalid);
        assert!(e.message.contains(what), "{what}: {}", e.message);
    }
    let e = therapist
        .refused(
            "POST",
            "/api/citizens",
            Some(&serde_json::json!({
            "name": "Ib", "local_ref": "010203-1234", "address": null, "assigned": []})),
        )
        .await;
    assert!(e.message.contains("CPR"), "{}", e.message);
    // A course's status moves on only as the rules allow, and ending early needs a reason.
    let status = format!("/api/courses/{c}/status");
    let e = therapist
        .refused(
            "POST",
            &status,
            Some(&serde_json::json!({"status": "sleeping", "reason": null})),
        )
        .await;
    assert!(e.message.contains("not a course status"), "{}", e.message);
    let e = therapist
        .refused(
            "POST",
            &status,
            Some(&serde_json::json!({"status": "ended_early", "reason": ""})),
        )
        .await;
    assert!(e.message.contains("why"), "{}", e.message);
    // The reason is coded (the leaders' funnel counts it): words alone, or a key the
    // shipped list does not have, are refused; "other" needs the words.
    for (body, what) in [
        (
            serde_json::json!({"status": "ended_early", "reason": "Indlagt"}),
            "why",
        ),
        (
            serde_json::json!({"status": "ended_early", "reason": null, "end_reason": "bored"}),
            "`bored` is not a reason",
        ),
        (
            serde_json::json!({"status": "ended_early", "reason": " ", "end_reason": "other"}),
            "write why",
        ),
    ] {
        let e = therapist.refused("POST", &status, Some(&body)).await;
        assert!(e.message.contains(what), "{what}: {}", e.message);
    }
    let settings: api::EffectSettingsView = therapist.ok("GET", "/api/effect-settings", None).await;
    assert!(settings.end_reasons.iter().any(|r| r.key == "hospitalised"
        && r.da == "Indlagt på sygehus"
        && r.en == "Admitted to hospital"));
    let _: api::Saved = therapist
        .post(
            &status,
            &serde_json::json!({"status": "paused", "reason": "Indlagt"}),
        )
        .await;
    let rows: Vec<api::CaseloadRow> = therapist.ok("GET", "/api/caseload", None).await;
    assert_eq!(
        rows.iter().find(|r| r.course_id == c).unwrap().status,
        "paused"
    );
    let _: api::Saved = therapist
        .post(
            &status,
            &serde_json::json!({"status": "active", "reason": null}),
        )
        .await;
    // The frame changes while the course runs, within bounds; the caseload follows.
    let frame = format!("/api/courses/{c}/frame");
    let e = therapist
        .refused(
            "POST",
            &frame,
            Some(&serde_json::json!({
                "planned_weeks": 105, "sessions_per_week": 2, "minutes_per_session": 15})),
        )
        .await;
    assert_eq!(e.kind, api::ErrorKind::Invalid);
    assert!(e.message.contains("planned_weeks"), "{}", e.message);
    let _: api::Saved = therapist
        .post(
            &frame,
            &serde_json::json!({"planned_weeks": 8, "sessions_per_week": 2, "minutes_per_session": 20}),
        )
        .await;
    let rows: Vec<api::CaseloadRow> = therapist.ok("GET", "/api/caseload", None).await;
    assert_eq!(
        rows.iter()
            .find(|r| r.course_id == c)
            .unwrap()
            .planned_weeks,
        8
    );
    // The citizen's copy of the program, to print: the program as it is now, the weeks left
    // to tick (the course is in its week 3 of 8), and the look-up logged as the program opened.
    let program: api::ProgramView = therapist
        .ok("GET", &format!("/api/courses/{c}/program?lang=en"), None)
        .await;
    let me = therapist.store().identity().unwrap().unwrap().user_id;
    let logged = || {
        therapist
            .store()
            .unsent_look_ups(me, 1000)
            .unwrap()
            .iter()
            .filter(|e| e.action == homerehab_shared::audit::AuditAction::OpenedProgram)
            .count()
    };
    let logged_before = logged();
    let sheet: api::ProgramSheet = therapist
        .ok(
            "GET",
            &format!("/api/courses/{c}/program-sheet?lang=en"),
            None,
        )
        .await;
    assert_eq!(logged(), logged_before + 1, "the sheet is a look-up");
    assert_eq!(
        (sheet.citizen_name.as_str(), sheet.team_name.as_str()),
        ("Karen Jensen", "Hjemmetræning Nord")
    );
    assert_eq!(sheet.therapist_name, therapist_name);
    assert_eq!(sheet.start_date, iso_days_ago(15));
    assert_eq!(
        (
            sheet.planned_weeks,
            sheet.sessions_per_week,
            sheet.minutes_per_session
        ),
        (8, 2, 20)
    );
    assert_eq!(sheet.last_day, iso_days_ago(15 - 8 * 7 + 1));
    assert_eq!(
        sheet.weeks.iter().map(|w| w.number).collect::<Vec<_>>(),
        (3..=8).collect::<Vec<_>>()
    );
    assert_eq!(sheet.weeks[0].first_day, iso_days_ago(1));
    assert_eq!(sheet.weeks[5].last_day, sheet.last_day);
    assert_eq!(sheet.weeks_after, 0);
    assert_eq!(sheet.revision_number, program.revision_number);
    assert_eq!(sheet.revised_on.as_deref(), Some(iso_days_ago(0).as_str()));
    assert_eq!(
        sheet
            .lines
            .iter()
            .map(|l| l.title.as_str())
            .collect::<Vec<_>>(),
        program
            .lines
            .iter()
            .map(|l| l.title.as_str())
            .collect::<Vec<_>>()
    );
    let push_up = sheet
        .lines
        .iter()
        .zip(&program.lines)
        .find(|(_, l)| l.exercise_ref == "wall-push-up")
        .unwrap()
        .0;
    assert_eq!(push_up.instructions.as_deref(), Some("Langsomt ned"));
    assert_eq!(push_up.dosage.rest_s, Some(60));
    // The library's drawings go on paper; shipped exercises have no photos.
    assert!(sheet.lines.iter().all(|l| l
        .picture
        .as_deref()
        .is_some_and(|p| p.starts_with("/illustrations/"))
        && l.photos_with_person_left_out == 0
        && !l.steps.is_empty()));
    // The library's rules for training go on it, first of all when to stop and call 112, and
    // an exercise's own notes with it; the day it was made is the device's Danish day.
    assert!(
        sheet.general_safety[0].contains("112"),
        "{:?}",
        sheet.general_safety
    );
    assert!(sheet.lines.iter().any(|l| !l.safety.is_empty()));
    assert_eq!(sheet.made_on, iso_days_ago(0));
    // Danish by default, as the citizen reads it.
    let danish: api::ProgramSheet = therapist
        .ok("GET", &format!("/api/courses/{c}/program-sheet"), None)
        .await;
    assert_ne!(danish.lines[0].title, sheet.lines[0].title);
    assert_ne!(danish.general_safety, sheet.general_safety);
    // The assistant prints it from the tablet too, once the revision has synced.
    therapist.synced().await;
    tablet.synced().await;
    let on_tablet: api::ProgramSheet = tablet
        .ok(
            "GET",
            &format!("/api/courses/{c}/program-sheet?lang=en"),
            None,
        )
        .await;
    assert_eq!(on_tablet.lines, sheet.lines);
    therapist.synced().await;

    // The leader reads everything and writes nothing.
    let leader = server.device("leder1").await;
    let overview: api::TeamOverview = leader.ok("GET", "/api/overview", None).await;
    assert_eq!(overview.team_name, "Hjemmetræning Nord");
    assert_eq!((overview.citizens, overview.courses_active), (1, 1));
    assert_eq!(
        (
            overview.sessions_last_28_days,
            overview.not_carried_out_last_28_days
        ),
        (1, 0)
    );
    assert_eq!(overview.adherence_percent, Some(25));
    assert_eq!(overview.courses.len(), 1);
    let by_assistant = overview
        .staff
        .iter()
        .find(|s| s.display_name == assistant_name)
        .unwrap();
    assert_eq!(
        (
            by_assistant.role.as_str(),
            by_assistant.sessions_last_28_days
        ),
        ("assistant", 1)
    );
    assert_eq!(overview.staff.len(), 3);
    let history: api::CourseHistory = leader
        .ok("GET", &format!("/api/courses/{c}/history"), None)
        .await;
    assert_eq!(history.sessions.len(), 1);
    let _: Vec<api::CaseloadRow> = leader.ok("GET", "/api/caseload", None).await;
    for (uri, body) in [
        (
            "/api/citizens".to_string(),
            serde_json::json!({"name": "Ib", "local_ref": "x", "address": null, "assigned": []}),
        ),
        ("/api/courses".to_string(), course(serde_json::json!({}))),
        (
            format!("/api/courses/{c}/program"),
            serde_json::json!({"based_on_revision": 2, "summary": null, "lines": []}),
        ),
        (
            format!("/api/courses/{c}/assessments"),
            serde_json::json!({"kind": "sppb", "value": 8.0, "date": "2026-01-05", "phase": "end", "note": null}),
        ),
        (
            format!("/api/courses/{c}/frame"),
            serde_json::json!({"planned_weeks": 6, "sessions_per_week": 2, "minutes_per_session": 15}),
        ),
    ] {
        let (code, e) = leader.err("POST", &uri, Some(&body.to_string())).await;
        assert_eq!(
            (code, e.kind),
            (StatusCode::FORBIDDEN, api::ErrorKind::Forbidden),
            "{uri}"
        );
    }

    // Someone guessing the leader's password on the leader's device: after five wrong ones
    // the server refuses for a while, and the device says so (not "wrong password").
    let guess = r#"{"username":"leder1","password":"gaet-igen-1234"}"#;
    for _ in 0..5 {
        let (code, e) = leader.err("POST", "/api/login", Some(guess)).await;
        assert_eq!(
            (code, e.kind),
            (StatusCode::UNAUTHORIZED, api::ErrorKind::SignIn)
        );
    }
    let right = format!(r#"{{"username":"leder1","password":"{PASSWORD}"}}"#);
    let (code, e) = leader.err("POST", "/api/login", Some(&right)).await;
    assert_eq!(
        (code, e.kind),
        (
            StatusCode::TOO_MANY_REQUESTS,
            api::ErrorKind::TooManyAttempts
        ),
        "{}",
        e.message
    );

    // A course that has ended has no program left to train: no sheet.
    let _: api::Saved = therapist
        .post(
            &format!("/api/courses/{c}/status"),
            &serde_json::json!({"status": "completed", "reason": null}),
        )
        .await;
    let e = therapist
        .refused("GET", &format!("/api/courses/{c}/program-sheet"), None)
        .await;
    assert_eq!(e.kind, api::ErrorKind::Invalid);
    assert!(e.message.contains("no program left"), "{}", e.message);
    // A new course without a template has no exercises yet: nothing to print either.
    let empty: api::CourseCreated = therapist
        .post(
            "/api/courses",
            &serde_json::json!({
                "citizen_id": citizen.citizen_id, "template_id": null, "legal_basis": "SEL §83a",
                "start_date": iso_days_ago(0), "planned_weeks": 10, "sessions_per_week": 2,
                "minutes_per_session": 20, "goals": [],
            }),
        )
        .await;
    let e = therapist
        .refused(
            "GET",
            &format!("/api/courses/{}/program-sheet", empty.course_id),
            None,
        )
        .await;
    assert_eq!(e.kind, api::ErrorKind::Invalid);
    assert!(e.message.contains("no exercises yet"), "{}", e.message);
}
