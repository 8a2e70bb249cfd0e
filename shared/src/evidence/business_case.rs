//! The business case: from the prices a municipality sets and the measured effect, the gross
//! saving, the cost, the net saving per citizen and per year, and the freed hours as full-time
//! equivalents. Each line carries its formula in Danish, its inputs and the worked numbers, so
//! a leader can show how every figure came about (the evaluation could make no business case
//! "for lack of data", seeds/000 section 5).
//!
//! **Assumptions a leader must be able to defend**, all of them inputs:
//! - *How long the saving lasts* ([`Prices::effect_days`], default 365): Aarhus measured 77 days
//!   after the course and says the long-term effect is uncertain (seeds/002: "Det er usikkert at
//!   sige noget om langtidseffekten"); a year is an assumption until the 1-year follow-up says
//!   otherwise.
//! - *Hours per full-time equivalent* ([`Prices::hours_per_fte`], default
//!   [`DEFAULT_HOURS_PER_FTE`] = 1,924): 37 hours a week × 52 weeks, the full-time norm of
//!   Danish public-sector agreements. It is a gross year (holidays and absence included), so the
//!   FTE figure is "stillinger", not hands on a given day; a municipality counting net
//!   productive hours (about 1,650) sets that instead and gets more FTEs.
//! - *Freed hours* are home-care hours no longer granted; the net line subtracts the hours the
//!   assistants spend on the sessions, which matters where they come from the same home-care
//!   staff (Thisted, Aarhus).

use serde::{Deserialize, Serialize};

use super::{non_negative, ratio, EvidenceError};

/// 37 hours × 52 weeks.
pub const DEFAULT_HOURS_PER_FTE: f64 = 1924.0;
/// A year, until the 1-year follow-up measures how long the saving lasts.
pub const DEFAULT_EFFECT_DAYS: f64 = 365.0;

/// What the municipality sets.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Prices {
    pub dkk_per_home_care_hour: f64,
    pub dkk_per_assistant_hour: f64,
    pub dkk_per_therapist_hour: f64,
    /// The therapist's time per course: screening, tests, program, follow-up.
    pub therapist_hours_per_course: f64,
    /// The assistant's time per session, in minutes.
    pub assistant_minutes_per_session: f64,
    pub licence_dkk_per_year: f64,
    pub tablets_dkk_per_year: f64,
    pub hours_per_fte: f64,
    /// Days a citizen's saving is counted for.
    pub effect_days: f64,
}

/// What was measured (from [`super::effect`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Outcomes {
    /// Mean home-care minutes per day saved per citizen (Aarhus: 52.81 − 41.29 = 11.52).
    /// Negative when care time rose.
    pub minutes_per_day_saved_per_citizen: f64,
    /// Citizens through courses per year.
    pub citizens_per_year: u32,
    /// Sessions delivered per course.
    pub sessions_per_course: f64,
}

/// One input of a line, as the leader set or measured it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Input {
    pub label_da: String,
    pub value: f64,
    pub unit: String,
}

/// One line of the business case.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Line {
    pub key: String,
    pub label_da: String,
    /// The formula in words.
    pub formula_da: String,
    /// The formula with the numbers put in, Danish notation.
    pub worked_da: String,
    pub inputs: Vec<Input>,
    /// `None` where the formula divides by zero (no citizens).
    pub value: Option<f64>,
    pub unit: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BusinessCase {
    pub lines: Vec<Line>,
}

impl BusinessCase {
    pub fn line(&self, key: &str) -> Option<&Line> {
        self.lines.iter().find(|l| l.key == key)
    }

    pub fn value(&self, key: &str) -> Option<f64> {
        self.line(key).and_then(|l| l.value)
    }
}

/// A number in Danish notation: `.` between thousands, `,` before the decimals, at most
/// `decimals` decimals with trailing zeros dropped (1924 → "1.924", 11.52 → "11,52").
pub fn danish(value: f64, decimals: usize) -> String {
    if !value.is_finite() {
        return "–".into();
    }
    let s = format!("{:.*}", decimals, value.abs());
    let (int, frac) = s.split_once('.').unwrap_or((&s, ""));
    let frac = frac.trim_end_matches('0');
    let mut grouped = String::new();
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push('.');
        }
        grouped.push(ch);
    }
    let sign = if value < 0.0 && (grouped != "0" || !frac.is_empty()) {
        "-"
    } else {
        ""
    };
    if frac.is_empty() {
        format!("{sign}{grouped}")
    } else {
        format!("{sign}{grouped},{frac}")
    }
}

fn input(label_da: &str, value: f64, unit: &str) -> Input {
    Input {
        label_da: label_da.into(),
        value,
        unit: unit.into(),
    }
}

fn line(
    key: &str,
    label_da: &str,
    formula_da: &str,
    worked_da: String,
    inputs: Vec<Input>,
    value: Option<f64>,
    unit: &str,
) -> Line {
    Line {
        key: key.into(),
        label_da: label_da.into(),
        formula_da: formula_da.into(),
        worked_da,
        inputs,
        value,
        unit: unit.into(),
    }
}

fn check(prices: &Prices, outcomes: &Outcomes) -> Result<(), EvidenceError> {
    for (field, v) in [
        ("dkk_per_home_care_hour", prices.dkk_per_home_care_hour),
        ("dkk_per_assistant_hour", prices.dkk_per_assistant_hour),
        ("dkk_per_therapist_hour", prices.dkk_per_therapist_hour),
        (
            "therapist_hours_per_course",
            prices.therapist_hours_per_course,
        ),
        (
            "assistant_minutes_per_session",
            prices.assistant_minutes_per_session,
        ),
        ("licence_dkk_per_year", prices.licence_dkk_per_year),
        ("tablets_dkk_per_year", prices.tablets_dkk_per_year),
        ("effect_days", prices.effect_days),
        ("sessions_per_course", outcomes.sessions_per_course),
    ] {
        non_negative(field, v)?;
    }
    if !(prices.hours_per_fte.is_finite() && prices.hours_per_fte > 0.0) {
        return Err(EvidenceError::NotPositive {
            field: "hours_per_fte",
            value: prices.hours_per_fte.to_string(),
        });
    }
    if !outcomes.minutes_per_day_saved_per_citizen.is_finite() {
        return Err(EvidenceError::NotANonNegativeNumber {
            field: "minutes_per_day_saved_per_citizen",
            value: outcomes.minutes_per_day_saved_per_citizen.to_string(),
        });
    }
    Ok(())
}

/// The business case, line by line (keys in brackets):
///
/// 1. `gross_per_citizen` = minutes/day saved × effect days ÷ 60 × DKK per home-care hour;
/// 2. `course_cost_per_citizen` = therapist hours per course × DKK per therapist hour +
///    sessions per course × assistant minutes per session ÷ 60 × DKK per assistant hour;
/// 3. `fixed_per_year` = licence + tablets;
/// 4. `gross_per_year` = (1) × citizens;
/// 5. `course_cost_per_year` = (2) × citizens;
/// 6. `net_per_year` = (4) − (5) − (3);
/// 7. `net_per_citizen` = (6) ÷ citizens (the fixed costs shared out);
/// 8. `freed_hours_per_year` = minutes/day saved × effect days ÷ 60 × citizens;
/// 9. `assistant_hours_per_year` = sessions per course × assistant minutes ÷ 60 × citizens;
/// 10. `freed_fte` = (8) ÷ hours per FTE;
/// 11. `freed_fte_net` = ((8) − (9)) ÷ hours per FTE.
pub fn business_case(prices: &Prices, outcomes: &Outcomes) -> Result<BusinessCase, EvidenceError> {
    check(prices, outcomes)?;
    let p = prices;
    let o = outcomes;
    let citizens = f64::from(o.citizens_per_year);
    let saved = o.minutes_per_day_saved_per_citizen;
    let d = |v: f64| danish(v, 2);
    let kr = "kr.";

    let i_saved = input("Sparet hjemmeplejetid pr. borger", saved, "min./dag");
    let i_days = input("Dage med effekt", p.effect_days, "dage");
    let i_hc_price = input("Pris pr. hjemmeplejetime", p.dkk_per_home_care_hour, kr);
    let i_th_hours = input(
        "Terapeuttimer pr. forløb",
        p.therapist_hours_per_course,
        "timer",
    );
    let i_th_price = input("Pris pr. terapeuttime", p.dkk_per_therapist_hour, kr);
    let i_sessions = input("Træningsgange pr. forløb", o.sessions_per_course, "gange");
    let i_as_min = input(
        "Assistentminutter pr. træningsgang",
        p.assistant_minutes_per_session,
        "min.",
    );
    let i_as_price = input("Pris pr. assistenttime", p.dkk_per_assistant_hour, kr);
    let i_licence = input("Licens pr. år", p.licence_dkk_per_year, kr);
    let i_tablets = input("Tablets pr. år", p.tablets_dkk_per_year, kr);
    let i_citizens = input("Borgere pr. år", citizens, "borgere");
    let i_fte = input("Timer pr. årsværk", p.hours_per_fte, "timer");

    let gross_per_citizen = saved * p.effect_days / 60.0 * p.dkk_per_home_care_hour;
    let therapist_cost = p.therapist_hours_per_course * p.dkk_per_therapist_hour;
    let assistant_hours_per_course = o.sessions_per_course * p.assistant_minutes_per_session / 60.0;
    let assistant_cost = assistant_hours_per_course * p.dkk_per_assistant_hour;
    let course_cost_per_citizen = therapist_cost + assistant_cost;
    let fixed = p.licence_dkk_per_year + p.tablets_dkk_per_year;
    let gross_per_year = gross_per_citizen * citizens;
    let course_cost_per_year = course_cost_per_citizen * citizens;
    let net_per_year = gross_per_year - course_cost_per_year - fixed;
    let net_per_citizen = ratio(net_per_year, citizens);
    let freed_hours = saved * p.effect_days / 60.0 * citizens;
    let assistant_hours = assistant_hours_per_course * citizens;
    let freed_fte = freed_hours / p.hours_per_fte;
    let freed_fte_net = (freed_hours - assistant_hours) / p.hours_per_fte;

    let lines = vec![
        line(
            "gross_per_citizen",
            "Bruttobesparelse pr. borger",
            "Sparet hjemmeplejetid (min./dag) × dage med effekt ÷ 60 × pris pr. hjemmeplejetime",
            format!(
                "{} × {} ÷ 60 × {} = {} kr.",
                d(saved),
                d(p.effect_days),
                d(p.dkk_per_home_care_hour),
                d(gross_per_citizen)
            ),
            vec![i_saved.clone(), i_days.clone(), i_hc_price],
            Some(gross_per_citizen),
            kr,
        ),
        line(
            "course_cost_per_citizen",
            "Omkostning pr. forløb",
            "Terapeuttimer × pris pr. terapeuttime + træningsgange × assistentminutter ÷ 60 × pris pr. assistenttime",
            format!(
                "{} × {} + {} × {} ÷ 60 × {} = {} kr.",
                d(p.therapist_hours_per_course),
                d(p.dkk_per_therapist_hour),
                d(o.sessions_per_course),
                d(p.assistant_minutes_per_session),
                d(p.dkk_per_assistant_hour),
                d(course_cost_per_citizen)
            ),
            vec![
                i_th_hours,
                i_th_price,
                i_sessions.clone(),
                i_as_min.clone(),
                i_as_price,
            ],
            Some(course_cost_per_citizen),
            kr,
        ),
        line(
            "fixed_per_year",
            "Faste omkostninger pr. år",
            "Licens + tablets",
            format!(
                "{} + {} = {} kr.",
                d(p.licence_dkk_per_year),
                d(p.tablets_dkk_per_year),
                d(fixed)
            ),
            vec![i_licence, i_tablets],
            Some(fixed),
            kr,
        ),
        line(
            "gross_per_year",
            "Bruttobesparelse pr. år",
            "Bruttobesparelse pr. borger × borgere pr. år",
            format!(
                "{} × {} = {} kr.",
                d(gross_per_citizen),
                d(citizens),
                d(gross_per_year)
            ),
            vec![i_citizens.clone()],
            Some(gross_per_year),
            kr,
        ),
        line(
            "course_cost_per_year",
            "Forløbsomkostninger pr. år",
            "Omkostning pr. forløb × borgere pr. år",
            format!(
                "{} × {} = {} kr.",
                d(course_cost_per_citizen),
                d(citizens),
                d(course_cost_per_year)
            ),
            vec![i_citizens.clone()],
            Some(course_cost_per_year),
            kr,
        ),
        line(
            "net_per_year",
            "Nettobesparelse pr. år",
            "Bruttobesparelse pr. år − forløbsomkostninger pr. år − faste omkostninger pr. år",
            format!(
                "{} − {} − {} = {} kr.",
                d(gross_per_year),
                d(course_cost_per_year),
                d(fixed),
                d(net_per_year)
            ),
            Vec::new(),
            Some(net_per_year),
            kr,
        ),
        line(
            "net_per_citizen",
            "Nettobesparelse pr. borger",
            "Nettobesparelse pr. år ÷ borgere pr. år (de faste omkostninger fordelt på borgerne)",
            format!(
                "{} ÷ {} = {}",
                d(net_per_year),
                d(citizens),
                net_per_citizen.map_or("–".into(), |v| format!("{} kr.", d(v)))
            ),
            vec![i_citizens.clone()],
            net_per_citizen,
            kr,
        ),
        line(
            "freed_hours_per_year",
            "Frigjorte hjemmeplejetimer pr. år",
            "Sparet hjemmeplejetid (min./dag) × dage med effekt ÷ 60 × borgere pr. år",
            format!(
                "{} × {} ÷ 60 × {} = {} timer",
                d(saved),
                d(p.effect_days),
                d(citizens),
                d(freed_hours)
            ),
            vec![i_saved, i_days, i_citizens.clone()],
            Some(freed_hours),
            "timer",
        ),
        line(
            "assistant_hours_per_year",
            "Assistenttimer til træning pr. år",
            "Træningsgange pr. forløb × assistentminutter ÷ 60 × borgere pr. år",
            format!(
                "{} × {} ÷ 60 × {} = {} timer",
                d(o.sessions_per_course),
                d(p.assistant_minutes_per_session),
                d(citizens),
                d(assistant_hours)
            ),
            vec![i_sessions, i_as_min, i_citizens],
            Some(assistant_hours),
            "timer",
        ),
        line(
            "freed_fte",
            "Frigjorte årsværk (brutto)",
            "Frigjorte hjemmeplejetimer ÷ timer pr. årsværk",
            format!(
                "{} ÷ {} = {} årsværk",
                d(freed_hours),
                d(p.hours_per_fte),
                d(freed_fte)
            ),
            vec![i_fte.clone()],
            Some(freed_fte),
            "årsværk",
        ),
        line(
            "freed_fte_net",
            "Frigjorte årsværk (netto efter træningstid)",
            "(Frigjorte hjemmeplejetimer − assistenttimer til træning) ÷ timer pr. årsværk",
            format!(
                "({} − {}) ÷ {} = {} årsværk",
                d(freed_hours),
                d(assistant_hours),
                d(p.hours_per_fte),
                d(freed_fte_net)
            ),
            vec![i_fte],
            Some(freed_fte_net),
            "årsværk",
        ),
    ];
    Ok(BusinessCase { lines })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn prices() -> Prices {
        Prices {
            dkk_per_home_care_hour: 450.0,
            dkk_per_assistant_hour: 380.0,
            dkk_per_therapist_hour: 500.0,
            therapist_hours_per_course: 6.0,
            assistant_minutes_per_session: 15.0,
            licence_dkk_per_year: 120_000.0,
            tablets_dkk_per_year: 30_000.0,
            hours_per_fte: DEFAULT_HOURS_PER_FTE,
            effect_days: DEFAULT_EFFECT_DAYS,
        }
    }

    #[test]
    fn every_line_is_its_formula_worked_out() {
        // Aarhus' 11.52 min/day for 64 citizens; 30 sessions of 15 minutes (Thisted's shape).
        let o = Outcomes {
            minutes_per_day_saved_per_citizen: 52.81 - 41.29,
            citizens_per_year: 64,
            sessions_per_course: 30.0,
        };
        let b = business_case(&prices(), &o).unwrap();
        let v = |k| b.value(k).unwrap();
        let gross = 11.52 * 365.0 / 60.0 * 450.0; // 31,536 kr.
        assert!((v("gross_per_citizen") - gross).abs() < 1e-6);
        let course = 6.0 * 500.0 + 30.0 * 15.0 / 60.0 * 380.0; // 3,000 + 2,850
        assert!((v("course_cost_per_citizen") - course).abs() < 1e-9);
        assert_eq!(v("fixed_per_year"), 150_000.0);
        let net = (gross - course) * 64.0 - 150_000.0;
        assert!((v("net_per_year") - net).abs() < 1e-6);
        assert!((v("net_per_citizen") - net / 64.0).abs() < 1e-6);
        let hours = 11.52 * 365.0 / 60.0 * 64.0; // 4,485.12 h
        assert!((v("freed_hours_per_year") - hours).abs() < 1e-6);
        assert!((v("freed_fte") - hours / 1924.0).abs() < 1e-9);
        assert!((v("freed_fte_net") - (hours - 480.0) / 1924.0).abs() < 1e-9);
        let g = b.line("gross_per_citizen").unwrap();
        assert_eq!(g.worked_da, "11,52 × 365 ÷ 60 × 450 = 31.536 kr.");
        assert_eq!(g.inputs.len(), 3);
        assert!(b
            .lines
            .iter()
            .all(|l| !l.formula_da.is_empty() && !l.label_da.is_empty()));
        let fte = b.line("freed_fte").unwrap();
        assert_eq!(fte.worked_da, "4.485,12 ÷ 1.924 = 2,33 årsværk");
    }

    #[test]
    fn no_citizens_no_division_and_nonsense_prices_are_refused() {
        let o = Outcomes {
            minutes_per_day_saved_per_citizen: 10.0,
            citizens_per_year: 0,
            sessions_per_course: 30.0,
        };
        let b = business_case(&prices(), &o).unwrap();
        assert_eq!(b.value("net_per_citizen"), None);
        assert_eq!(b.value("net_per_year"), Some(-150_000.0));
        let mut bad = prices();
        bad.hours_per_fte = 0.0;
        assert!(matches!(
            business_case(&bad, &o),
            Err(EvidenceError::NotPositive {
                field: "hours_per_fte",
                ..
            })
        ));
        let mut bad = prices();
        bad.dkk_per_home_care_hour = -1.0;
        assert!(business_case(&bad, &o).is_err());
        let mut nan = o.clone();
        nan.minutes_per_day_saved_per_citizen = f64::NAN;
        assert!(business_case(&prices(), &nan).is_err());
        // Care time that rose is a negative saving, shown as such.
        let mut worse = o;
        worse.minutes_per_day_saved_per_citizen = -2.0;
        worse.citizens_per_year = 10;
        assert!(
            business_case(&prices(), &worse)
                .unwrap()
                .value("gross_per_year")
                .unwrap()
                < 0.0
        );
    }

    #[test]
    fn danish_notation() {
        assert_eq!(danish(1924.0, 2), "1.924");
        assert_eq!(danish(11.52, 2), "11,52");
        assert_eq!(danish(-1_234_567.5, 2), "-1.234.567,5");
        assert_eq!(danish(0.004, 2), "0");
        assert_eq!(danish(-0.004, 2), "0");
        assert_eq!(danish(999.999, 2), "1.000");
        assert_eq!(danish(f64::NAN, 2), "–");
    }
}
