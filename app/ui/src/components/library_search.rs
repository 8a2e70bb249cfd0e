//! The exercise library's search: a text box searched as the therapist types (Danish and
//! English, æøå folded), four filters, and the hits with their illustration and one action
//! button each. Used beside the program editor ("Tilføj") and as the library browser ("Vis").

use crate::api;
use crate::i18n::{use_i18n, Texts};
use homerehab_app_api::{FilterOption, LibraryHit, LibraryQuery, LibrarySearch};
use leptos::prelude::*;

#[component]
pub fn LibrarySearchPanel(
    /// The hit's button label.
    action: fn(&'static Texts) -> &'static str,
    on_pick: Callback<LibraryHit>,
    /// The latest answer, for callers that need the filter options too.
    #[prop(optional)]
    found: Option<RwSignal<Option<LibrarySearch>>>,
    /// Hits as a grid of cards (the library browser) instead of a list.
    #[prop(default = false)]
    grid: bool,
    /// Bumped by the caller to search again (after adding an exercise).
    #[prop(optional)]
    refresh: Option<RwSignal<u32>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let query = RwSignal::new(LibraryQuery::default());
    let found = found.unwrap_or_else(|| RwSignal::new(None));
    let asked = StoredValue::new(0u64);
    Effect::new(move |_| {
        let mut q = query.get();
        q.lang = Some(i18n.lang.get().code().to_string());
        if let Some(r) = refresh {
            r.track();
        }
        // Only the newest answer is shown when the therapist types fast.
        let n = asked.get_value() + 1;
        asked.set_value(n);
        leptos::task::spawn_local(async move {
            // The panel may be gone by the time the answer comes (the therapist moved on).
            if let Ok(r) = api::search_library(&q).await {
                if asked.try_get_value() == Some(n) {
                    found.try_set(Some(r));
                }
            }
        });
    });

    let filter_select = move |label: fn(&'static Texts) -> &'static str,
                              options: fn(&LibrarySearch) -> &Vec<FilterOption>,
                              set: fn(&mut LibraryQuery, Option<String>),
                              testid: &'static str| {
        view! {
            <label class="field compact">
                <span>{move || label(i18n.t())}</span>
                <select data-testid=testid on:change=move |ev| {
                    let v = event_target_value(&ev);
                    query.update(|q| set(q, Some(v).filter(|v| !v.is_empty())));
                }>
                    <option value="">{move || i18n.t().th.any}</option>
                    {move || found.get().map(|f| options(&f).iter().map(|o| view! {
                        <option value=o.key.clone()>{o.label.clone()}</option>
                    }).collect_view())}
                </select>
            </label>
        }
    };

    let hits = move || {
        found.get().map(|f| {
            let total = f.total;
            view! {
                <p class="muted" data-testid="library-total">{move || (i18n.t().th.hits)(total)}</p>
                <ul class="hit-list" class:grid=grid>
                    {f.hits.into_iter().map(|h| {
                        let chosen = h.clone();
                        view! {
                            <li class="hit" data-testid="library-hit">
                                {h.illustration.clone().map(|src| view! { <img class="thumb" src=api::asset_url(&src) alt="" /> })}
                                <div class="hit-text">
                                    <strong>{h.title.clone()}</strong>
                                    <span class="muted">{h.summary.clone()}</span>
                                    {(h.source == "municipality").then(|| view! {
                                        <span class="badge own">{move || i18n.t().th.own_exercise}</span>
                                    })}
                                </div>
                                <button class="btn secondary" data-testid="library-add" on:click=move |_| on_pick.run(chosen.clone())>
                                    {move || action(i18n.t())}
                                </button>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            }
        })
    };

    view! {
        <div class="library-search">
            <input class="search" type="search" data-testid="library-search"
                placeholder=move || i18n.t().th.search_library
                on:input=move |ev| { let v = event_target_value(&ev); query.update(|q| q.q = v) } />
            <div class="filters">
                {filter_select(|t| t.th.position, |f| &f.positions, |q, v| q.position = v, "filter-position")}
                {filter_select(|t| t.th.equipment, |f| &f.equipment, |q, v| q.equipment = v, "filter-equipment")}
                {filter_select(|t| t.th.body_area, |f| &f.body_areas, |q, v| q.body_area = v, "filter-body-area")}
                {filter_select(|t| t.th.category, |f| &f.categories, |q, v| q.category = v, "filter-category")}
            </div>
            {hits}
        </div>
    }
}
