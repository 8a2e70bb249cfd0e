//! Referrals ("Henvisninger"): the referred citizens and where each stands, referring a citizen
//! on the roster, and the screening against the municipality's checklist, which ends in
//! "Inkluder" (on to a new course, linked to the referral) or "Ikke inkluderet" with a reason.

use crate::i18n::{use_i18n, IntakeTexts};
use crate::intake_api::{
    self, CriterionAnswer, NewReferral, ReferralView, ScreeningRequest, ScreeningSetup,
};
use crate::pages::new_course::today_iso;
use crate::{api, use_nav, CourseTab, Page};
use homerehab_app_api::{ApiError, CitizenView, NewCitizen, StaffMember};
use leptos::prelude::*;

/// `yyyy-mm-dd` → `dd.mm.yyyy`.
pub fn danish_date(iso: &str) -> String {
    let mut parts = iso.splitn(3, '-');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(y), Some(m), Some(d)) => format!("{d}.{m}.{y}"),
        _ => iso.to_string(),
    }
}

/// The status a referral is shown with: a course made from it beats `included`.
pub fn referral_status(t: &IntakeTexts, r: &ReferralView) -> (&'static str, &'static str) {
    match (r.status.as_str(), r.course_id.is_some()) {
        (_, true) => (t.statuses[3], "course"),
        ("included", _) => (t.statuses[1], "included"),
        ("not_included", _) => (t.statuses[2], "not-included"),
        _ => (t.statuses[0], "awaiting"),
    }
}

#[component]
pub fn Referrals() -> impl IntoView {
    let i18n = use_i18n();
    let nav = use_nav();
    let rows = RwSignal::new(None::<Result<Vec<ReferralView>, ApiError>>);
    let referring = RwSignal::new(false);
    let load = move || {
        leptos::task::spawn_local(async move {
            let lang = i18n.lang.get_untracked().code();
            rows.set(Some(intake_api::referrals(lang).await));
        })
    };
    load();
    nav.reload_on_sync(load);
    let row = move |r: ReferralView| {
        let r = StoredValue::new(r);
        let status = move || referral_status(i18n.intake(), &r.get_value());
        let action = move || {
            let rv = r.get_value();
            match (rv.status.as_str(), rv.course_id.clone()) {
                (_, Some(course)) => view! {
                    <button class="btn" data-testid="referral-open-course"
                        on:click=move |_| nav.go(Page::Course { course: course.clone(), tab: CourseTab::History })>
                        {move || i18n.intake().open_course}</button>
                }.into_any(),
                ("awaiting_screening", _) => view! {
                    <button class="btn primary" data-testid="referral-screen"
                        on:click=move |_| nav.go(Page::Screening { referral: r.get_value().referral_id })>
                        {move || i18n.intake().screen}</button>
                }.into_any(),
                ("included", None) => view! {
                    <button class="btn primary" data-testid="referral-create-course"
                        on:click=move |_| {
                            let rv = r.get_value();
                            nav.go(Page::NewCourseFromReferral { citizen: rv.citizen_id, referral: rv.referral_id, name: rv.citizen_name })
                        }>
                        {move || i18n.intake().create_course_for}</button>
                }.into_any(),
                _ => ().into_any(),
            }
        };
        view! {
            <li class="referral-row" data-testid="referral-row">
                <span class="case-name">
                    <strong data-testid="referral-citizen">{r.get_value().citizen_name}</strong>
                    <span class="muted">{move || format!("{} {} · {} {}",
                        i18n.intake().referred_on, danish_date(&r.get_value().referred_on),
                        i18n.intake().referred_by, r.get_value().referred_by_name)}</span>
                    {r.get_value().note.map(|n| view! { <span class="muted">{n}</span> })}
                    {move || {
                        let rv = r.get_value();
                        rv.screened_by_name.zip(rv.screened_on).map(|(by, on)| view! {
                            <span class="muted">{(i18n.intake().screened_by)(&by, &danish_date(&on))}</span>
                        })
                    }}
                </span>
                <span class="referral-status">
                    <span class=move || format!("status-pill {}", status().1) data-testid="referral-status">{move || status().0}</span>
                    {move || r.get_value().reason_text.map(|t| view! { <span class="muted" data-testid="referral-reason">{t}</span> })}
                </span>
                {action}
            </li>
        }
    };
    view! {
        <section class="referrals">
            <div class="page-head">
                <h1>{move || i18n.intake().referrals_title}</h1>
                <button class="btn primary" data-testid="refer-citizen" on:click=move |_| referring.update(|v| *v = !*v)>
                    "+ " {move || i18n.intake().refer}
                </button>
            </div>
            <Show when=move || referring.get()>
                <ReferCitizen done=Callback::new(move |_| { referring.set(false); load(); }) />
            </Show>
            {move || match rows.get() {
                None => view! { <p class="loading">{i18n.t().loading}</p> }.into_any(),
                Some(Err(e)) => view! { <p class="error">{e.message}</p> }.into_any(),
                Some(Ok(list)) if list.is_empty() => view! { <p class="empty">{i18n.intake().referrals_empty}</p> }.into_any(),
                Some(Ok(list)) => view! { <ul class="referral-list">{list.into_iter().map(row).collect_view()}</ul> }.into_any(),
            }}
        </section>
    }
}

/// "Henvis borger": a citizen on the roster, the date and a note.
#[component]
fn ReferCitizen(done: Callback<()>) -> impl IntoView {
    let i18n = use_i18n();
    let nav = use_nav();
    let citizens = RwSignal::new(Vec::<CitizenView>::new());
    let staff = RwSignal::new(Vec::<StaffMember>::new());
    let citizen = RwSignal::new(None::<String>);
    // A citizen not on the roster yet is added here, with what the norms need.
    let new_citizen = RwSignal::new(false);
    let name = RwSignal::new(String::new());
    let local_ref = RwSignal::new(String::new());
    let address = RwSignal::new(String::new());
    let birth_year = RwSignal::new(String::new());
    let sex = RwSignal::new(String::new());
    let assigned = RwSignal::new(Vec::<String>::new());
    let referred_on = RwSignal::new(today_iso());
    let note = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    leptos::task::spawn_local(async move {
        match api::citizens().await {
            Ok(c) => citizens.set(c),
            Err(e) => error.set(Some(e.message)),
        }
        if let Ok(s) = api::staff().await {
            staff.set(s);
        }
    });
    let save = move |_| {
        let adding = new_citizen.get_untracked();
        let chosen = citizen.get_untracked();
        if !adding && chosen.is_none() {
            error.set(Some(i18n.intake().choose_citizen.to_string()));
            return;
        }
        busy.set(true);
        error.set(None);
        let n = note.get_untracked().trim().to_string();
        let referral = NewReferral {
            referred_on: referred_on.get_untracked(),
            note: (!n.is_empty()).then_some(n),
        };
        leptos::task::spawn_local(async move {
            let id = match chosen.filter(|_| !adding) {
                Some(id) => Ok(id),
                None => intake_api::create_citizen(
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
                .await
                .map(|c| {
                    // On the roster now, whatever happens to the referral below.
                    new_citizen.set(false);
                    citizen.set(Some(c.citizen_id.clone()));
                    citizens.update(|l| l.push(c.clone()));
                    c.citizen_id
                }),
            };
            let result = match id {
                Ok(id) => intake_api::refer_citizen(&id, referral).await,
                Err(e) => Err(e),
            };
            match result {
                Ok(_) => {
                    nav.refresh_status();
                    done.run(());
                }
                Err(e) => error.set(Some(e.message)),
            }
            busy.set(false);
        });
    };
    view! {
        <div class="card step" data-testid="refer-form">
            <h2>{move || i18n.intake().refer_title}</h2>
            <p class="label">{move || i18n.intake().choose_citizen}</p>
            <div class="choices wrap">
                {move || citizens.get().into_iter().map(|c| {
                    let id = c.citizen_id.clone();
                    let id2 = c.citizen_id.clone();
                    view! {
                        <button class="btn choice" data-testid="refer-citizen-choice"
                            class:selected=move || !new_citizen.get() && citizen.get().as_deref() == Some(id.as_str())
                            on:click=move |_| { new_citizen.set(false); citizen.set(Some(id2.clone())); }>
                            {c.name.clone()} <span class="muted">" · " {c.local_ref.clone()}</span>
                        </button>
                    }
                }).collect_view()}
                <button class="btn choice" data-testid="refer-new-citizen" class:selected=move || new_citizen.get()
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
                </div>
                <p class="label">{move || i18n.t().th.assistants_visiting}</p>
                <div class="choices wrap">
                    {move || staff.get().into_iter().filter(|s| s.runs_sessions).map(|s| {
                        let id = s.user_id.clone();
                        let id2 = s.user_id.clone();
                        view! {
                            <button class="btn choice" data-testid="assign-assistant"
                                class:selected=move || assigned.get().contains(&id)
                                on:click=move |_| assigned.update(|a| {
                                    if let Some(i) = a.iter().position(|x| *x == id2) { a.remove(i); } else { a.push(id2.clone()); }
                                })>
                                {s.display_name.clone()}
                            </button>
                        }
                    }).collect_view()}
                </div>
            </Show>
            <div class="form-grid">
                <label class="field"><span>{move || i18n.intake().referred_on}</span>
                    <input type="date" data-testid="referred-on" prop:value=move || referred_on.get()
                        on:input=move |ev| referred_on.set(event_target_value(&ev)) /></label>
                <label class="field wide"><span>{move || i18n.intake().referral_note}</span>
                    <textarea rows="2" maxlength="4000" data-testid="referral-note" prop:value=move || note.get()
                        on:input=move |ev| note.set(event_target_value(&ev))></textarea></label>
            </div>
            <p class="error" role="alert">{move || error.get()}</p>
            <button class="btn primary big" data-testid="save-referral" disabled=move || busy.get() on:click=save>
                {move || i18n.intake().save_referral}
            </button>
        </div>
    }
}

/// The screening of one referral: every criterion as a big yes/no pair, then the outcome.
#[component]
pub fn Screening(referral: String) -> impl IntoView {
    let i18n = use_i18n();
    let nav = use_nav();
    let referral = StoredValue::new(referral);
    let setup = RwSignal::new(ScreeningSetup::default());
    let the_referral = RwSignal::new(None::<ReferralView>);
    // One answer per criterion, `None` until tapped.
    let answers = RwSignal::new(Vec::<(String, Option<bool>)>::new());
    let reason = RwSignal::new(String::new());
    let note = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    leptos::task::spawn_local(async move {
        let lang = i18n.lang.get_untracked().code();
        match intake_api::screening_setup(lang).await {
            Ok(s) => {
                answers.set(s.criteria.iter().map(|c| (c.key.clone(), None)).collect());
                setup.set(s);
            }
            Err(e) => error.set(Some(e.message)),
        }
        if let Ok(list) = intake_api::referrals(lang).await {
            let id = referral.get_value();
            the_referral.set(list.into_iter().find(|r| r.referral_id == id));
        }
    });
    let answer_of =
        move |key: &str| answers.with(|a| a.iter().find(|(k, _)| k == key).and_then(|(_, v)| *v));
    let set_answer = move |key: String, met: bool| {
        answers.update(|a| {
            if let Some(slot) = a.iter_mut().find(|(k, _)| *k == key) {
                slot.1 = Some(met);
            }
        })
    };
    let submit = move |included: bool| {
        error.set(None);
        let t = i18n.intake();
        let Some(criteria) = answers.with_untracked(|a| {
            a.iter()
                .map(|(key, met)| {
                    met.map(|met| CriterionAnswer {
                        key: key.clone(),
                        met,
                        text: String::new(),
                    })
                })
                .collect::<Option<Vec<_>>>()
        }) else {
            error.set(Some(t.answer_all.to_string()));
            return;
        };
        let reason = reason.get_untracked();
        if !included && reason.is_empty() {
            error.set(Some(t.reason_required.to_string()));
            return;
        }
        let n = note.get_untracked().trim().to_string();
        let request = ScreeningRequest {
            criteria,
            outcome: if included { "included" } else { "not_included" }.to_string(),
            reason: (!included).then_some(reason),
            note: (!n.is_empty()).then_some(n),
        };
        busy.set(true);
        leptos::task::spawn_local(async move {
            let lang = i18n.lang.get_untracked().code();
            match intake_api::screen_referral(&referral.get_value(), lang, request).await {
                Ok(r) => {
                    nav.refresh_status();
                    if included {
                        nav.go(Page::NewCourseFromReferral {
                            citizen: r.citizen_id,
                            referral: r.referral_id,
                            name: r.citizen_name,
                        });
                    } else {
                        nav.go(Page::Referrals);
                    }
                }
                Err(e) => error.set(Some(e.message)),
            }
            busy.set(false);
        });
    };
    let criteria = move || {
        setup
            .get()
            .criteria
            .into_iter()
            .map(|c| {
                let key = StoredValue::new(c.key.clone());
                let toggle = move |met: bool, label: fn(&'static IntakeTexts) -> &'static str, testid: &'static str| {
                    view! {
                        <button class=if met { "btn toggle yes" } else { "btn toggle no" } data-testid=testid
                            class:selected=move || answer_of(&key.get_value()) == Some(met)
                            aria-pressed=move || (answer_of(&key.get_value()) == Some(met)).to_string()
                            on:click=move |_| set_answer(key.get_value(), met)>
                            {move || label(i18n.intake())}
                        </button>
                    }
                };
                view! {
                    <li class="criterion" data-testid="criterion" data-key=c.key.clone()>
                        <span class="criterion-text">{c.text.clone()}</span>
                        <span class="yes-no">
                            {toggle(true, |t| t.yes, "criterion-yes")}
                            {toggle(false, |t| t.no, "criterion-no")}
                        </span>
                    </li>
                }
            })
            .collect_view()
    };
    view! {
        <section class="screening">
            <h1>{move || (i18n.intake().screening_title)(&the_referral.get().map(|r| r.citizen_name).unwrap_or_default())}</h1>
            {move || the_referral.get().and_then(|r| r.note).map(|n| view! { <p class="muted">{n}</p> })}
            <p class="muted">{move || i18n.intake().screening_hint}</p>
            <ul class="criteria">{criteria}</ul>
            <div class="card step outcome">
                <label class="field"><span>{move || i18n.intake().referral_note}</span>
                    <textarea rows="2" maxlength="4000" data-testid="screening-note" prop:value=move || note.get()
                        on:input=move |ev| note.set(event_target_value(&ev))></textarea></label>
                <div class="outcome-buttons">
                    <button class="btn primary big" data-testid="screen-include" disabled=move || busy.get()
                        on:click=move |_| submit(true)>{move || i18n.intake().include}</button>
                    <div class="not-included">
                        <label class="field"><span>{move || i18n.intake().reason}</span>
                            <select data-testid="screen-reason" on:change=move |ev| reason.set(event_target_value(&ev))>
                                <option value="">{move || i18n.intake().choose_reason}</option>
                                {move || setup.get().reasons.into_iter().map(|r| view! {
                                    <option value=r.key.clone()>{r.text.clone()}</option>
                                }).collect_view()}
                            </select></label>
                        <button class="btn big danger" data-testid="screen-not-included" disabled=move || busy.get()
                            on:click=move |_| submit(false)>{move || i18n.intake().not_include}</button>
                    </div>
                </div>
                <p class="error" role="alert">{move || error.get()}</p>
            </div>
        </section>
    }
}
