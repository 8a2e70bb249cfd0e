//! One exercise's trend across sessions as a plain SVG chart: bars for the amount done (reps,
//! else seconds, else load) on the left axis, lines for exertion (Borg) and pain on a fixed
//! 0–10 right axis, one slot per session, oldest first. Hand-drawn SVG: a chart library would
//! weigh more than the whole UI.

use homerehab_app_api::TrendPoint;
use leptos::prelude::*;

const W: f64 = 760.0;
const H: f64 = 280.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 44.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 44.0;

/// `dd.mm` of a Unix-millisecond time, local.
pub fn day_month(ms: i64) -> String {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
    format!("{:02}.{:02}", d.get_date(), d.get_month() + 1)
}

/// What the bars show for these points, and the values.
fn amounts(points: &[TrendPoint]) -> (usize, Vec<Option<f64>>) {
    if points.iter().any(|p| p.reps_total.is_some()) {
        (
            0,
            points.iter().map(|p| p.reps_total.map(f64::from)).collect(),
        )
    } else if points.iter().any(|p| p.duration_total_s.is_some()) {
        (
            1,
            points
                .iter()
                .map(|p| p.duration_total_s.map(f64::from))
                .collect(),
        )
    } else {
        (2, points.iter().map(|p| p.max_load_kg).collect())
    }
}

/// A "nice" axis maximum ≥ `v` (1, 2, 5 × 10ⁿ).
fn nice_max(v: f64) -> f64 {
    if v <= 0.0 {
        return 10.0;
    }
    let mag = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * mag)
        .find(|m| *m >= v)
        .unwrap_or(10.0 * mag)
}

#[component]
pub fn TrendChart(
    points: Vec<TrendPoint>,
    /// Axis names for the bars: reps, seconds, kg.
    amount_labels: [&'static str; 3],
    borg_label: &'static str,
    pain_label: &'static str,
) -> impl IntoView {
    let n = points.len().max(1);
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let slot = plot_w / n as f64;
    let (kind, values) = amounts(&points);
    let max = nice_max(values.iter().flatten().copied().fold(0.0, f64::max));
    let x = move |i: usize| LEFT + slot * (i as f64 + 0.5);
    let y_amount = move |v: f64| TOP + plot_h * (1.0 - v / max);
    let y_scale = move |v: u8| TOP + plot_h * (1.0 - f64::from(v) / 10.0);
    let bar_w = (slot * 0.5).min(48.0);

    let bars = values
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.map(|v| (i, v)))
        .map(|(i, v)| {
            let top = y_amount(v);
            // The value sits inside a tall bar (clear of the Borg and pain dots), above a short one.
            let inside = TOP + plot_h - top > 28.0;
            view! {
                <rect class="bar" x=x(i) - bar_w / 2.0 y=top width=bar_w height=(TOP + plot_h - top).max(0.0)>
                    <title>{format!("{v}")}</title>
                </rect>
                <text class="bar-value" class:inside=inside x=x(i) y=if inside { top + 20.0 } else { top - 6.0 } text-anchor="middle">{format!("{v}")}</text>
            }
        })
        .collect_view();

    let line = |get: fn(&TrendPoint) -> Option<u8>, class: &'static str| {
        let pts: Vec<(f64, f64)> = points
            .iter()
            .enumerate()
            .filter_map(|(i, p)| get(p).map(|v| (x(i), y_scale(v))))
            .collect();
        let path = pts
            .iter()
            .map(|(a, b)| format!("{a:.1},{b:.1}"))
            .collect::<Vec<_>>()
            .join(" ");
        let dots = pts
            .iter()
            .map(|(a, b)| view! { <circle class=class cx=*a cy=*b r="6" /> })
            .collect_view();
        view! {
            <polyline class=format!("{class} line") points=path fill="none" />
            {dots}
        }
    };

    let gridlines = (0..=5)
        .map(|k| {
            let v = max * f64::from(k) / 5.0;
            let yy = y_amount(v);
            view! {
                <line class="grid" x1=LEFT x2=W - RIGHT y1=yy y2=yy />
                <text class="axis" x=LEFT - 8.0 y=yy + 5.0 text-anchor="end">{format!("{v}")}</text>
                <text class="axis" x=W - RIGHT + 8.0 y=yy + 5.0>{k * 2}</text>
            }
        })
        .collect_view();
    let labels = points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            view! { <text class="axis" x=x(i) y=H - BOTTOM + 22.0 text-anchor="middle">{day_month(p.at)}</text> }
        })
        .collect_view();

    view! {
        <figure class="chart" data-testid="trend-chart">
            <svg viewBox=format!("0 0 {W} {H}") role="img" preserveAspectRatio="xMidYMid meet">
                {gridlines}
                {bars}
                {line(|p| p.borg, "borg")}
                {line(|p| p.pain, "pain")}
                {labels}
            </svg>
            <figcaption class="legend">
                <span class="key bar-key"></span>{amount_labels[kind]}
                <span class="key borg-key"></span>{borg_label}
                <span class="key pain-key"></span>{pain_label}
            </figcaption>
        </figure>
    }
}
