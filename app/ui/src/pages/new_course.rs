//! A new course in one page: who (a citizen on the roster, or a new one with the assistants
//! who will visit), from which template (or none), and the frame (legal basis, start, weeks,
//! sessions per week, minutes, goals). The template fills the frame; every field stays editable.

use crate::i18n::use_i18n;
use crate::{api, use_nav, CourseTab, Page};
use homerehab_app_api::*;
use leptos::prelude::*;

/// Today as an ISO date, local.
pub fn today_iso() -> String {
    let d = js_sys::Date::new_0();
    format!(
        "{}-{:02}-{:02}",
        d.get_full_year(),
        d.get_month() + 1,
        d.get_date()
    )
}

/// A labelled number input bound to a signal.
#[component]
pub fn NumberField(
    label: Signal<&'static str>,
    value: RwSignal<u32>,
    #[prop(default = 1)] min: u32,
    #[prop(default = 99)] max: u32,
    testid: &'static str,
) -> impl IntoView {
    view! {
        <label class="field">
            <span>{move || label.get()}</span>
            <input type="number" inputmode="numeric" min=min max=max data-testid=testid
                prop:value=move || value.get().to_string()
                on:input=move |ev| {
                    if let Ok(v) = event_target_value(&ev).parse::<u32>() {
                        value.set(v.clamp(min, max));
                    }
                } />
        </label>
    }
}

#[component]
pub fn NewCourse(
    /// #11 intake: (citizen id, referral id, citizen name) of an included referral; the course
    /// is created linked to it.
    #[prop(optional)]
    from_referral: Option<(String, String, String)>,
) -> impl IntoView {
    let i18n = use_i18n();
    let nav = use_nav();
    let citizens = RwSignal::new(Vec::<CitizenView>::new());
    let staff = RwSignal::new(Vec::<StaffMember>::new());
    let templates = RwSignal::new(Vec::<TemplateView>::new());
    let bases = RwSignal::new(Vec::<String>::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);

    // Who: an existing citizen, or a new one.
    let citizen = RwSignal::new(None::<String>);
    let new_citizen = RwSignal::new(false);
    let name = RwSignal::new(String::new());
    let local_ref = RwSignal::new(String::new());
    let address = RwSignal::new(String::new());
    let assigned = RwSignal::new(Vec::<String>::new());
    // From which template, and the frame.
    let template = RwSignal::new(None::<String>);
    let legal_basis = RwSignal::new("SEL §83a".to_string());
    let start_date = RwSignal::new(today_iso());
    let weeks = RwSignal::new(12u32);
    let per_week = RwSignal::new(3u32);
    let minutes = RwSignal::new(15u32);
    let goals = RwSignal::new(String::new());
    // #11 intake
    let birth_year = RwSignal::new(String::new());
    let sex = RwSignal::new(String::new());
    let referral = from_referral.clone().map(|(_, r, _)| r);
    if let Some((c, _, _)) = &from_referral {
        citizen.set(Some(c.clone()));
    }
    let referral_name = from_referral.map(|(_, _, n)| n);
    // #11 intake end
    // #11 plan: the test plan the course will get, shown and editable before creating.
    let plan = RwSignal::new(TestPlanView::default());
    let kinds = RwSignal::new(Vec::<AssessmentKindView>::new());
    let default_plan = RwSignal::new(TestPlanView::default());

    leptos::task::spawn_local(async move {
        let lang = i18n.lang.get_untracked().code();
        match api::citizens().await {
            Ok(c) => citizens.set(c),
            Err(e) => error.set(Some(e.message)),
        }
        if let Ok(s) = api::staff().await {
            staff.set(s);
        }
        if let Ok(t) = api::templates(lang).await {
            templates.set(t);
        }
        if let Ok(b) = api::legal_bases().await {
            bases.set(b.known);
        }
        // #11 plan
        if let Ok(k) = api::assessment_kinds(lang).await {
            kinds.set(k);
        }
        if let Ok(p) =
            crate::api::call::<op::default_test_plan::Op>(op::default_test_plan::Request {
                query: NoQuery {},
                body: (),
            })
            .await
        {
            if template.get_untracked().is_none() {
                plan.set(p.clone());
            }
            default_plan.set(p);
        }
    });

    let choose_template = move |t: Option<TemplateView>| {
        template.set(t.as_ref().map(|t| t.template_id.clone()));
        // #11 plan: the template's plan, else the default.
        plan.set(
            t.as_ref()
                .map_or_else(|| default_plan.get_untracked(), |t| t.test_plan.clone()),
        );
        if let Some(t) = t {
            legal_basis.set(t.legal_basis);
            weeks.set(t.planned_weeks);
            per_week.set(t.sessions_per_week);
            minutes.set(t.minutes_per_session);
            goals.set(t.goals.join("\n"));
        }
    };

    let create = move |_| {
        error.set(None);
        busy.set(true);
        let referral = referral.clone();
        leptos::task::spawn_local(async move {
            let result = async {
                let citizen_id = if new_citizen.get_untracked() {
                    let c = crate::intake_api::create_citizen(
                        NewCitizen {
                            name: name.get_untracked().trim().to_string(),
                            local_ref: local_ref.get_untracked().trim().to_string(),
                            address: Some(address.get_untracked().trim().to_string())
                                .filter(|a| !a.is_empty()),
                            assigned: assigned.get_untracked(),
                            birth_year: None,
                            sex: None,
                        },
                        birth_year.get_untracked().trim().parse::<u16>().ok(),
                        Some(sex.get_untracked()).filter(|s| !s.is_empty()),
                    )
                    .await?;
                    // The citizen exists now, whatever happens to the course below.
                    new_citizen.set(false);
                    citizen.set(Some(c.citizen_id.clone()));
                    citizens.update(|l| l.push(c.clone()));
                    c.citizen_id
                } else {
                    citizen.get_untracked().ok_or_else(|| ApiError {
                        kind: ErrorKind::Invalid,
                        message: i18n.t().th.choose_citizen_first.to_string(),
                        attempts_left: None,
                    })?
                };
                crate::intake_api::create_course(
                    NewCourse {
                        citizen_id,
                        template_id: template.get_untracked(),
                        legal_basis: legal_basis.get_untracked(),
                        start_date: start_date.get_untracked(),
                        planned_weeks: weeks.get_untracked(),
                        sessions_per_week: per_week.get_untracked(),
                        minutes_per_session: minutes.get_untracked(),
                        goals: goals
                            .get_untracked()
                            .lines()
                            .map(str::trim)
                            .filter(|g| !g.is_empty())
                            .map(str::to_string)
                            .collect(),
                        referral_id: None,
                        test_plan: Some(plan.get_untracked()),
                    },
                    referral.clone(),
                )
                .await
            };
            match result.await {
                Ok(created) => {
                    nav.refresh_status();
                    nav.go(Page::Course {
                        course: created.course_id,
                        tab: CourseTab::Program,
                    });
                }
                Err(e) => error.set(Some(e.message)),
            }
            busy.set(false);
        });
    };

    let citizen_choices = move || {
        citizens
            .get()
            .into_iter()
            .filter(|c| c.open_course_id.is_none())
            .map(|c| {
                let id = c.citizen_id.clone();
                let id2 = c.citizen_id.clone();
                view! {
                    <button class="btn choice" data-testid="citizen-choice"
                        class:selected=move || !new_citizen.get() && citizen.get().as_deref() == Some(id.as_str())
                        on:click=move |_| { new_citizen.set(false); citizen.set(Some(id2.clone())); }>
                        {c.name.clone()} <span class="muted">" · " {c.local_ref.clone()}</span>
                    </button>
                }
            })
            .collect_view()
    };

    let assistants = move || {
        staff
            .get()
            .into_iter()
            .filter(|s| s.runs_sessions)
            .map(|s| {
                let id = s.user_id.clone();
                let id2 = s.user_id.clone();
                view! {
                    <button class="btn choice" data-testid="assign-assistant"
                        class:selected=move || assigned.get().contains(&id)
                        aria-pressed=move || assigned.get().contains(&id2).to_string()
                        on:click={
                            let id = s.user_id.clone();
                            move |_| assigned.update(|a| {
                                if let Some(i) = a.iter().position(|x| *x == id) { a.remove(i); } else { a.push(id.clone()); }
                            })
                        }>
                        {s.display_name.clone()}
                    </button>
                }
            })
            .collect_view()
    };

    let template_cards = move || {
        templates
            .get()
            .into_iter()
            .map(|t| {
                let id = t.template_id.clone();
                let chosen = t.clone();
                // The sources a shipped template cites (issue #15).
                let sources = (!t.references.is_empty()).then(|| t.references.join(" · "));
                view! {
                    <button class="template-card" data-testid="template-choice"
                        class:selected=move || template.get().as_deref() == Some(id.as_str())
                        on:click=move |_| choose_template(Some(chosen.clone()))>
                        <strong>{t.title.clone()}</strong>
                        <span class="muted">{t.description.clone()}</span>
                        <span class="template-frame">
                            {move || (i18n.t().th.template_frame)(t.planned_weeks, t.sessions_per_week, t.minutes_per_session, t.exercise_count)}
                        </span>
                        {sources.map(|s| view! {
                            <span class="muted template-sources" data-testid="template-sources" title=s.clone()>
                                {move || i18n.t().th.template_sources} ": " {s.clone()}
                            </span>
                        })}
                    </button>
                }
            })
            .collect_view()
    };

    view! {
        <section class="new-course">
            <h1>{move || i18n.t().th.new_course}</h1>
            // #11 intake
            {referral_name.map(|n| view! {
                <p class="notice" data-testid="from-referral">{move || (i18n.intake().from_referral)(&n)}</p>
            })}
            // #11 intake end
            <div class="card step">
                <h2>"1 · " {move || i18n.t().th.who}</h2>
                <div class="choices wrap">
                    {citizen_choices}
                    <button class="btn choice" data-testid="new-citizen" class:selected=move || new_citizen.get()
                        on:click=move |_| new_citizen.set(true)>
                        "+ " {move || i18n.t().th.new_citizen}
                    </button>
                </div>
                <Show when=move || new_citizen.get()>
                    <div class="form-grid">
                        <label class="field"><span>{move || i18n.t().th.citizen_name}</span>
                            <input data-testid="citizen-name" prop:value=move || name.get()
                                on:input=move |ev| name.set(event_target_value(&ev)) /></label>
                        <label class="field"><span>{move || i18n.t().th.local_ref}</span>
                            <input data-testid="citizen-ref" prop:value=move || local_ref.get()
                                on:input=move |ev| local_ref.set(event_target_value(&ev)) /></label>
                        <label class="field wide"><span>{move || i18n.t().th.address}</span>
                            <input data-testid="citizen-address" prop:value=move || address.get()
                                on:input=move |ev| address.set(event_target_value(&ev)) /></label>
                        // #11 intake
                        <label class="field"><span>{move || i18n.intake().birth_year}</span>
                            <input type="number" inputmode="numeric" min="1900" max="2100" data-testid="citizen-birth-year"
                                prop:value=move || birth_year.get()
                                on:input=move |ev| birth_year.set(event_target_value(&ev)) /></label>
                        <label class="field"><span>{move || i18n.intake().sex}</span>
                            <select data-testid="citizen-sex" on:change=move |ev| sex.set(event_target_value(&ev))>
                                <option value="">{move || i18n.intake().sex_unknown}</option>
                                <option value="female">{move || i18n.intake().female}</option>
                                <option value="male">{move || i18n.intake().male}</option>
                            </select></label>
                        // #11 intake end
                    </div>
                    <p class="label">{move || i18n.t().th.assistants_visiting}</p>
                    <div class="choices wrap">{assistants}</div>
                </Show>
            </div>
            <div class="card step">
                <h2>"2 · " {move || i18n.t().th.template}</h2>
                <div class="template-grid">
                    <button class="template-card" data-testid="no-template"
                        class:selected=move || template.get().is_none()
                        on:click=move |_| choose_template(None)>
                        <strong>{move || i18n.t().th.no_template}</strong>
                        <span class="muted">{move || i18n.t().th.no_template_hint}</span>
                    </button>
                    {template_cards}
                </div>
            </div>
            <div class="card step">
                <h2>"3 · " {move || i18n.t().th.frame}</h2>
                <div class="form-grid">
                    <label class="field"><span>{move || i18n.t().th.legal_basis}</span>
                        <select data-testid="legal-basis" prop:value=move || legal_basis.get()
                            on:change=move |ev| legal_basis.set(event_target_value(&ev))>
                            {move || bases.get().into_iter().map(|b| {
                                let b2 = b.clone();
                                view! { <option value=b.clone() selected=move || legal_basis.get() == b2>{b.clone()}</option> }
                            }).collect_view()}
                        </select></label>
                    <label class="field"><span>{move || i18n.t().th.start_date}</span>
                        <input type="date" data-testid="start-date" prop:value=move || start_date.get()
                            on:input=move |ev| start_date.set(event_target_value(&ev)) /></label>
                    <NumberField label=Signal::derive(move || i18n.t().th.weeks) value=weeks max=52 testid="weeks" />
                    <NumberField label=Signal::derive(move || i18n.t().th.per_week) value=per_week max=7 testid="per-week" />
                    <NumberField label=Signal::derive(move || i18n.t().th.minutes) value=minutes min=5 max=120 testid="minutes" />
                    <label class="field wide"><span>{move || i18n.t().th.goals}</span>
                        <textarea rows="3" data-testid="goals" placeholder=move || i18n.t().th.goals_hint
                            prop:value=move || goals.get() on:input=move |ev| goals.set(event_target_value(&ev))></textarea></label>
                </div>
            </div>
            // #11 plan
            <div class="card step" data-testid="new-course-plan">
                <h2>"4 · " {move || i18n.p().course_plan}</h2>
                <p class="hint">{move || i18n.p().course_plan_hint}" "{move || i18n.p().delegated_hint}</p>
                <table class="plan-table"><tbody>
                    <crate::pages::test_plan::TestPlanTable plan kinds />
                </tbody></table>
            </div>
            <p class="error" role="alert">{move || error.get()}</p>
            <button class="btn primary big" data-testid="create-course" disabled=move || busy.get() on:click=create>
                {move || i18n.t().th.create_course}
            </button>
        </section>
    }
}
