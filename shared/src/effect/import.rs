//! Importing home-care grants from the CSV file the care record system exports
//! (docs/care-time-import.md): parse, then plan against what is stored, then the caller applies
//! the plan, all of it or nothing (see [`ImportChoice`]). Parsing and planning never store
//! anything, so a file is never half-applied by this module.

use std::collections::{HashMap, HashSet};
use std::hash::Hash;

use serde::{Deserialize, Serialize};
use time::Date;

use super::care_time::CareGrant;
use super::EffectError;

/// More minutes than a week has cannot be a grant.
pub const MAX_MINUTES_PER_WEEK: i64 = 7 * 24 * 60;

/// Accepted header names per column (case-insensitive), Danish first.
const CITIZEN: &[&str] = &["borgerreference", "borger", "citizen_ref", "citizen"];
const DATE: &[&str] = &["virkningsdato", "dato", "effective_date", "date"];
const MINUTES: &[&str] = &["minutter_pr_uge", "minutter", "minutes_per_week", "minutes"];
const SERVICE: &[&str] = &["ydelseskode", "fsiii", "service_code"];

/// Why a line cannot be imported.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum LineProblem {
    /// Wrong number of fields or not UTF-8.
    Malformed {
        detail: String,
    },
    MissingCitizenRef,
    BadDate {
        value: String,
    },
    BadNumber {
        value: String,
    },
    NegativeMinutes {
        value: String,
    },
    TooManyMinutes {
        value: String,
    },
    /// No citizen in the municipality has this reference.
    UnknownCitizen {
        reference: String,
    },
    /// Several citizens have this reference (none of them, or more than one, active): the
    /// line could belong to any of them.
    AmbiguousCitizen {
        reference: String,
    },
    /// A quote opened on this line is not closed, so the lines after it up to the next quote
    /// were read as one field: each of them is reported with it.
    UnclosedQuote {
        first_line: u64,
    },
    /// The service code is longer than a care record system's code (40 characters).
    LongServiceCode {
        value: String,
    },
    /// Same citizen, date and service as another line of the file, with other minutes.
    ConflictsWithLine {
        line: u64,
    },
    /// Same citizen, date and service as a stored grant, with other minutes.
    ConflictsWithStored {
        stored_minutes_per_week: u32,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BadLine {
    /// 1-based line number in the file; the header is line 1.
    pub line: u64,
    pub problem: LineProblem,
}

/// A well-formed line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportedGrant {
    pub line: u64,
    pub citizen_ref: String,
    pub grant: CareGrant,
}

/// A parsed file: its good lines and its bad ones.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParsedCareTime {
    pub separator: char,
    pub grants: Vec<ImportedGrant>,
    pub bad: Vec<BadLine>,
    /// The citizen references of bad lines whose reference could be read (each once): those
    /// citizens are in the file, their line to be corrected ([`ImportPlan::named`]).
    #[serde(default)]
    pub named_by_bad_lines: Vec<String>,
}

/// How often `progress` is told how far parsing has come.
pub const PROGRESS_EVERY: u64 = 10_000;

/// Parses a care-time file: UTF-8 with or without a byte-order mark, a header line, `;` or `,`
/// between fields (whichever the header uses), dates `YYYY-MM-DD` or `DD-MM-YYYY`, whole
/// minutes per week. Every bad line is reported with its number; only a file without a usable
/// header is an error. `progress` gets the bytes read so far every [`PROGRESS_EVERY`] lines.
pub fn parse_care_time_csv(
    file: &[u8],
    mut progress: impl FnMut(u64),
) -> Result<ParsedCareTime, EffectError> {
    let file = file.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(file);
    if file.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(EffectError::EmptyFile);
    }
    let header_line = file.split(|&b| b == b'\n').next().unwrap_or_default();
    let separator = if header_line.contains(&b';') {
        b';'
    } else if header_line.contains(&b',') {
        b','
    } else {
        return Err(EffectError::UnknownSeparator);
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(separator)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(file);
    let header = reader
        .byte_headers()
        .map_err(|e| EffectError::BadHeader(e.to_string()))?
        .clone();
    let names: Vec<String> = header
        .iter()
        .map(|h| String::from_utf8_lossy(h).trim().to_lowercase())
        .collect();
    let column = |aliases: &[&str]| names.iter().position(|n| aliases.contains(&n.as_str()));
    let citizen_col = column(CITIZEN).ok_or(EffectError::MissingColumn("borgerreference"))?;
    let date_col = column(DATE).ok_or(EffectError::MissingColumn("virkningsdato"))?;
    let minutes_col = column(MINUTES).ok_or(EffectError::MissingColumn("minutter_pr_uge"))?;
    let service_col = column(SERVICE);

    let mut parsed = ParsedCareTime {
        separator: char::from(separator),
        grants: Vec::new(),
        bad: Vec::new(),
        named_by_bad_lines: Vec::new(),
    };
    let mut bad_refs: std::collections::HashSet<String> = Default::default();
    let mut record = csv::ByteRecord::new();
    let mut count = 0u64;
    // The line a record starts on, counted from the bytes before it: the csv reader's own line
    // count is one short after `\r\n` line ends, which Windows exports use.
    let (mut newlines, mut scanned) = (0u64, 0usize);
    let mut line_at = |byte: u64| -> u64 {
        let mut byte = usize::try_from(byte).unwrap_or(usize::MAX).min(file.len());
        // After `\r\n` the reader places a record at the `\n`; the record starts after it.
        while byte < file.len() && matches!(file[byte], b'\r' | b'\n') {
            byte += 1;
        }
        if byte > scanned {
            newlines += file[scanned..byte].iter().filter(|&&b| b == b'\n').count() as u64;
            scanned = byte;
        }
        newlines + 1
    };
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            // Reading from memory fails only on malformed input; say where and go on.
            Err(e) => {
                let line = e.position().map_or(0, |p| line_at(p.byte()));
                parsed.bad.push(BadLine {
                    line,
                    problem: LineProblem::Malformed {
                        detail: e.to_string(),
                    },
                });
                continue;
            }
        }
        count += 1;
        if count.is_multiple_of(PROGRESS_EVERY) {
            progress(record.position().map_or(0, |p| p.byte()));
        }
        let line = record.position().map_or(0, |p| line_at(p.byte()));
        // A spreadsheet's empty rows (`;;;`) are no one's grant: not a line to report.
        if record.iter().all(<[u8]>::is_empty) {
            continue;
        }
        // No field of a care export holds a line break: one that does is lines joined by an
        // unclosed quote, and every one of them is reported, none silently lost.
        let joined: u64 = record
            .iter()
            .map(|f| f.iter().filter(|&&b| b == b'\n').count() as u64)
            .sum();
        if joined > 0 {
            for l in line..=line + joined {
                parsed.bad.push(BadLine {
                    line: l,
                    problem: LineProblem::UnclosedQuote { first_line: line },
                });
            }
            continue;
        }
        match parse_line(
            &record,
            names.len(),
            citizen_col,
            date_col,
            minutes_col,
            service_col,
        ) {
            Ok((citizen_ref, grant)) => parsed.grants.push(ImportedGrant {
                line,
                citizen_ref,
                grant,
            }),
            Err(problem) => {
                // Read only where the fields are where the header says.
                let reference = (record.len() == names.len())
                    .then(|| std::str::from_utf8(&record[citizen_col]).ok())
                    .flatten()
                    .filter(|r| !r.is_empty());
                if let Some(r) = reference.filter(|r| !bad_refs.contains(*r)) {
                    bad_refs.insert(r.to_string());
                    parsed.named_by_bad_lines.push(r.to_string());
                }
                parsed.bad.push(BadLine { line, problem })
            }
        }
    }
    progress(file.len() as u64);
    Ok(parsed)
}

fn parse_line(
    record: &csv::ByteRecord,
    columns: usize,
    citizen_col: usize,
    date_col: usize,
    minutes_col: usize,
    service_col: Option<usize>,
) -> Result<(String, CareGrant), LineProblem> {
    if record.len() != columns {
        return Err(LineProblem::Malformed {
            detail: format!("{} fields, the header has {columns}", record.len()),
        });
    }
    let field = |i: usize| {
        std::str::from_utf8(&record[i]).map_err(|_| LineProblem::Malformed {
            detail: format!("field {} is not UTF-8", i + 1),
        })
    };
    let citizen_ref = field(citizen_col)?;
    if citizen_ref.is_empty() {
        return Err(LineProblem::MissingCitizenRef);
    }
    let effective = parse_import_date(field(date_col)?)?;
    let minutes = field(minutes_col)?;
    let minutes_per_week = match minutes.parse::<i64>() {
        Ok(m) if m < 0 => {
            return Err(LineProblem::NegativeMinutes {
                value: minutes.into(),
            })
        }
        Ok(m) if m > MAX_MINUTES_PER_WEEK => {
            return Err(LineProblem::TooManyMinutes {
                value: minutes.into(),
            })
        }
        Ok(m) => m as u32,
        Err(_) => {
            return Err(LineProblem::BadNumber {
                value: minutes.into(),
            })
        }
    };
    let service_code: Option<String> = match service_col {
        Some(i) => Some(field(i)?).filter(|s| !s.is_empty()).map(Into::into),
        None => None,
    };
    // As the stored grant is checked (`CareGrantRecord::validate`): one such line must not
    // refuse the whole file when it is written.
    if let Some(code) = service_code.as_ref().filter(|c| c.chars().count() > 40) {
        return Err(LineProblem::LongServiceCode {
            value: code.clone(),
        });
    }
    Ok((
        citizen_ref.into(),
        CareGrant {
            effective,
            minutes_per_week,
            service_code,
        },
    ))
}

/// `YYYY-MM-DD`, or `DD-MM-YYYY` as Danish exports write it.
fn parse_import_date(s: &str) -> Result<Date, LineProblem> {
    let b = s.as_bytes();
    let format = if b.len() == 10 && b[4] == b'-' && b[7] == b'-' {
        time::macros::format_description!("[year]-[month]-[day]")
    } else if b.len() == 10 && b[2] == b'-' && b[5] == b'-' {
        time::macros::format_description!("[day]-[month]-[year]")
    } else {
        return Err(LineProblem::BadDate { value: s.into() });
    };
    Date::parse(s, format).map_err(|_| LineProblem::BadDate { value: s.into() })
}

/// The citizens of a roster by their reference in the care record system (`local_ref`), for
/// [`plan_import`]: a reference held by one active citizen is theirs; by no active one but by
/// exactly one inactive, that one's; otherwise it is ambiguous (two records typed with the
/// same case number) and the line is reported, never given to one of them at random.
pub struct CitizenRefs<C> {
    by_ref: HashMap<String, Vec<(C, bool)>>,
}

impl<C: Clone> CitizenRefs<C> {
    /// From (id, reference, active) of every citizen.
    pub fn new<'a>(citizens: impl IntoIterator<Item = (C, &'a str, bool)>) -> Self {
        let mut by_ref: HashMap<String, Vec<(C, bool)>> = HashMap::new();
        for (id, reference, active) in citizens {
            by_ref
                .entry(reference.trim().to_string())
                .or_default()
                .push((id, active));
        }
        CitizenRefs { by_ref }
    }

    /// The active citizen who already holds `reference`, if any: a second one with the same
    /// reference would make every import line for it ambiguous.
    pub fn active_holder(&self, reference: &str) -> Option<C> {
        self.by_ref
            .get(reference.trim())?
            .iter()
            .find(|(_, active)| *active)
            .map(|(c, _)| c.clone())
    }

    pub fn resolve(&self, reference: &str) -> Result<C, LineProblem> {
        let reference = reference.trim();
        let found = self.by_ref.get(reference).map(Vec::as_slice).unwrap_or(&[]);
        let active: Vec<&C> = found.iter().filter(|(_, a)| *a).map(|(c, _)| c).collect();
        match (active.as_slice(), found) {
            ([one], _) => Ok((*one).clone()),
            ([], [(only, false)]) => Ok(only.clone()),
            ([], []) => Err(LineProblem::UnknownCitizen {
                reference: reference.into(),
            }),
            _ => Err(LineProblem::AmbiguousCitizen {
                reference: reference.into(),
            }),
        }
    }
}

/// How many bad lines (and duplicate lines) a report lists one by one; the rest are counted.
/// A file of garbage would otherwise make a report of millions of rows on a tablet.
pub const MAX_LISTED_LINES: usize = 1_000;

/// A line that will be imported.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedGrant<C> {
    pub line: u64,
    pub citizen: C,
    pub grant: CareGrant,
}

/// A line identical to an earlier line of the file: imported once, reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DuplicateLine {
    pub line: u64,
    pub same_as: u64,
}

/// What importing a parsed file would do, given what is stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportPlan<C> {
    /// Grants not stored yet.
    pub new: Vec<PlannedGrant<C>>,
    /// Line numbers of grants already stored exactly so (the same file twice adds no grant).
    pub already_present: Vec<u64>,
    /// For each citizen whose lines were all stored already (none new, none bad): their
    /// latest grant in the file, recorded again. The file says their grants were still so on
    /// the day of the import, and a care-time follow-up is known only from grants recorded on
    /// or after its day (`care_time::known_on`): without it, a citizen whose home care did not
    /// change would never be counted, and the figures would hold only those whose did.
    pub confirmed: Vec<PlannedGrant<C>>,
    pub duplicates: Vec<DuplicateLine>,
    /// Every line that cannot be imported, by line number.
    pub bad: Vec<BadLine>,
    /// Every citizen a line of the file names (good lines or bad, the reference known):
    /// [`not_named`] asks about the others.
    pub named: Vec<C>,
}

/// What the user chose to do with a plan that has bad lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportChoice {
    /// Import the good lines; the bad ones stay reported for correction and a later import.
    GoodLines,
    /// Import only if no line is bad; otherwise nothing.
    AllOrNothing,
}

impl<C> ImportPlan<C> {
    pub fn is_clean(&self) -> bool {
        self.bad.is_empty()
    }

    /// The grants to store under `choice`: all new ones, or none.
    pub fn to_apply(&self, choice: ImportChoice) -> &[PlannedGrant<C>] {
        match choice {
            ImportChoice::AllOrNothing if !self.is_clean() => &[],
            _ => &self.new,
        }
    }

    /// The grants recorded by the import under `choice`: the new ones ([`Self::to_apply`])
    /// and, when it is applied, the confirmations ([`ImportPlan::confirmed`]).
    pub fn to_record(&self, choice: ImportChoice) -> impl Iterator<Item = &PlannedGrant<C>> {
        let confirmed = match choice {
            ImportChoice::AllOrNothing if !self.is_clean() => &[][..],
            _ => &self.confirmed,
        };
        self.to_apply(choice).iter().chain(confirmed)
    }
}

/// Of the citizens whose care-time follow-ups wait for grants (`awaiting`, each found by
/// `citizen`), those a file does not name (`named`: [`ImportPlan::named`]). A care record
/// system's monthly export names the citizens who receive home care: one it leaves out may
/// have left it — the best outcome a follow-up can find — and would stay "waiting" (left out
/// of the figures) until a person records when it ended, so an import asks. It does not record
/// it itself: a file may hold one district only, and only a person knows the day.
pub fn not_named<C: Eq + Hash, T>(
    named: &[C],
    awaiting: impl IntoIterator<Item = T>,
    citizen: impl Fn(&T) -> &C,
) -> Vec<T> {
    let named: HashSet<&C> = named.iter().collect();
    awaiting
        .into_iter()
        .filter(|a| !named.contains(citizen(a)))
        .collect()
}

/// Plans the import of `parsed`: resolves each citizen reference (unknown ones are bad lines),
/// finds the grants already `stored` (citizen, grant), identical duplicates and conflicting
/// lines (same citizen, date and service with other minutes: both lines are bad, as is a line
/// that contradicts a stored grant; a person must decide which is right).
pub fn plan_import<C: Clone + Eq + Hash>(
    parsed: &ParsedCareTime,
    stored: impl IntoIterator<Item = (C, CareGrant)>,
    mut resolve: impl FnMut(&str) -> Result<C, LineProblem>,
) -> ImportPlan<C> {
    type Key<'a, C> = (C, Date, Option<&'a str>);
    let stored: Vec<(C, CareGrant)> = stored.into_iter().collect();
    let mut stored_exact: HashSet<(&C, &CareGrant)> = HashSet::new();
    let mut stored_minutes: HashMap<Key<'_, &C>, u32> = HashMap::new();
    for (c, g) in &stored {
        stored_exact.insert((c, g));
        stored_minutes.insert(
            (c, g.effective, g.service_code.as_deref()),
            g.minutes_per_week,
        );
    }

    let mut bad = parsed.bad.clone();
    let mut resolved: Vec<(&ImportedGrant, C)> = Vec::with_capacity(parsed.grants.len());
    let mut cache: HashMap<&str, Result<C, LineProblem>> = HashMap::new();
    for g in &parsed.grants {
        let citizen = cache
            .entry(g.citizen_ref.as_str())
            .or_insert_with(|| resolve(&g.citizen_ref))
            .clone();
        match citizen {
            Ok(c) => resolved.push((g, c)),
            Err(problem) => bad.push(BadLine {
                line: g.line,
                problem,
            }),
        }
    }

    // The first line per (citizen, date, service), and the first later line contradicting it.
    let mut first: HashMap<Key<'_, C>, (u64, u32, Option<u64>)> = HashMap::new();
    for (g, c) in &resolved {
        let key = (
            c.clone(),
            g.grant.effective,
            g.grant.service_code.as_deref(),
        );
        let entry = first
            .entry(key)
            .or_insert((g.line, g.grant.minutes_per_week, None));
        if entry.1 != g.grant.minutes_per_week && entry.2.is_none() {
            entry.2 = Some(g.line);
        }
    }

    let mut plan = ImportPlan {
        new: Vec::new(),
        already_present: Vec::new(),
        confirmed: Vec::new(),
        duplicates: Vec::new(),
        bad,
        named: Vec::new(),
    };
    // Per citizen: whether a line of theirs is new or bad, and their latest stored line.
    let mut confirmation: HashMap<C, (bool, Option<&ImportedGrant>)> = HashMap::new();
    for (g, c) in resolved {
        let seen = confirmation.entry(c.clone()).or_insert((false, None));
        let code = g.grant.service_code.as_deref();
        let (first_line, _, conflict) = first[&(c.clone(), g.grant.effective, code)];
        if let Some(conflict_line) = conflict {
            let other = if first_line == g.line {
                conflict_line
            } else {
                first_line
            };
            plan.bad.push(BadLine {
                line: g.line,
                problem: LineProblem::ConflictsWithLine { line: other },
            });
            seen.0 = true;
        } else if first_line != g.line {
            plan.duplicates.push(DuplicateLine {
                line: g.line,
                same_as: first_line,
            });
        } else if stored_exact.contains(&(&c, &g.grant)) {
            plan.already_present.push(g.line);
            // The latest by day, then service; one line of each such pair is here.
            let order = |g: &ImportedGrant| (g.grant.effective, g.grant.service_code.clone());
            if seen.1.is_none_or(|latest| order(g) > order(latest)) {
                seen.1 = Some(g);
            }
        } else if let Some(&m) = stored_minutes.get(&(&c, g.grant.effective, code)) {
            plan.bad.push(BadLine {
                line: g.line,
                problem: LineProblem::ConflictsWithStored {
                    stored_minutes_per_week: m,
                },
            });
            seen.0 = true;
        } else {
            seen.0 = true;
            plan.new.push(PlannedGrant {
                line: g.line,
                citizen: c,
                grant: g.grant.clone(),
            });
        }
    }
    plan.named = confirmation.keys().cloned().collect();
    for reference in &parsed.named_by_bad_lines {
        let citizen = cache
            .entry(reference.as_str())
            .or_insert_with(|| resolve(reference));
        if let Ok(c) = citizen {
            if !confirmation.contains_key(c) {
                plan.named.push(c.clone());
            }
        }
    }
    plan.confirmed = confirmation
        .into_iter()
        .filter_map(|(citizen, (changed, latest))| {
            let g = latest.filter(|_| !changed)?;
            Some(PlannedGrant {
                line: g.line,
                citizen,
                grant: g.grant.clone(),
            })
        })
        .collect();
    plan.confirmed.sort_by_key(|p| p.line);
    plan.bad.sort_by_key(|b| b.line);
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn parse(text: &str) -> ParsedCareTime {
        parse_care_time_csv(text.as_bytes(), |_| {}).unwrap()
    }

    /// Citizens known to the municipality: reference → id.
    /// A stray quote joins the lines after it into one field: every one of them is reported
    /// (none imported under a garbage code, none silently gone); empty spreadsheet rows are
    /// no one's line; a service code longer than a stored grant's is a bad line, not a failed
    /// import.
    #[test]
    fn every_line_is_imported_or_reported_even_after_a_stray_quote() {
        let file = "borgerreference;virkningsdato;minutter_pr_uge;ydelseskode\n\
                    K-1001;2026-01-05;420;\"1.1\n\
                    K-1002;2026-01-05;300;1.1\n\
                    K-1001;2026-02-05;300;1.1\"\n\
                    ;;;\n\
                    K-1002;2026-03-01;200;12345678901234567890123456789012345678901\n\
                    K-1002;2026-04-01;100;2.2\n";
        let p = parse_care_time_csv(file.as_bytes(), |_| {}).unwrap();
        let bad: Vec<(u64, &LineProblem)> = p.bad.iter().map(|b| (b.line, &b.problem)).collect();
        let quote = LineProblem::UnclosedQuote { first_line: 2 };
        assert_eq!(
            bad,
            [
                (2, &quote),
                (3, &quote),
                (4, &quote),
                (
                    6,
                    &LineProblem::LongServiceCode {
                        value: "12345678901234567890123456789012345678901".into()
                    }
                ),
            ]
        );
        assert_eq!(p.grants.len(), 1);
        assert_eq!(p.grants[0].line, 7);
    }

    #[test]
    fn a_reference_is_one_active_citizens_or_else_reported() {
        let refs = CitizenRefs::new([
            (1, "K-1", true),
            (2, " K-2 ", false),
            (3, "K-3", true),
            (4, "K-3", false),
            (5, "K-4", true),
            (6, "K-4", true),
            (7, "K-5", false),
            (8, "K-5", false),
        ]);
        assert_eq!(refs.resolve("K-1"), Ok(1));
        assert_eq!(refs.resolve("K-2"), Ok(2), "the only one, though inactive");
        assert_eq!(refs.resolve("K-3"), Ok(3), "the active one");
        for r in ["K-4", "K-5"] {
            assert_eq!(
                refs.resolve(r),
                Err(LineProblem::AmbiguousCitizen {
                    reference: r.into()
                })
            );
        }
        assert_eq!(
            refs.resolve("K-9"),
            Err(LineProblem::UnknownCitizen {
                reference: "K-9".into()
            })
        );
    }

    fn resolver(r: &str) -> Result<u32, LineProblem> {
        match r {
            "K-1001" => Ok(1),
            "K-1002" => Ok(2),
            "Søren Ærø" => Ok(3),
            _ => Err(LineProblem::UnknownCitizen {
                reference: r.into(),
            }),
        }
    }

    fn problems(bad: &[BadLine]) -> Vec<(u64, LineProblem)> {
        bad.iter().map(|b| (b.line, b.problem.clone())).collect()
    }

    #[test]
    fn semicolons_danish_dates_a_byte_order_mark_and_danish_characters() {
        let text = "\u{feff}Borgerreference;Virkningsdato;Minutter_pr_uge;Ydelseskode\n\
                    K-1001;05-01-2026;420;1.1\n\
                    \"Søren Ærø\";2026-02-01;75;\n";
        let p = parse(text);
        assert_eq!(p.separator, ';');
        assert!(p.bad.is_empty(), "{:?}", p.bad);
        assert_eq!(p.grants.len(), 2);
        assert_eq!(p.grants[0].line, 2);
        assert_eq!(p.grants[0].grant.effective, date!(2026 - 01 - 05));
        assert_eq!(p.grants[0].grant.service_code.as_deref(), Some("1.1"));
        assert_eq!(p.grants[1].citizen_ref, "Søren Ærø");
        assert_eq!(p.grants[1].grant.service_code, None);
        let plan = plan_import(&p, [], resolver);
        assert_eq!(plan.new[1].citizen, 3);
        assert!(plan.is_clean());
    }

    #[test]
    fn commas_windows_line_ends_columns_in_any_order_and_no_service_column() {
        let text = "minutes_per_week,citizen_ref,effective_date\r\n300,K-1002,2026-03-01\r\n";
        let p = parse(text);
        assert_eq!(p.separator, ',');
        assert_eq!(p.grants[0].citizen_ref, "K-1002");
        assert_eq!(p.grants[0].grant.minutes_per_week, 300);
        assert_eq!(p.grants[0].grant.effective, date!(2026 - 03 - 01));
    }

    #[test]
    fn every_bad_line_is_reported_with_its_number_and_reason() {
        let text = b"borgerreference;virkningsdato;minutter_pr_uge\n\
                    K-1001;2026-01-05;420\n\
                    K-1001;2026-01-05\n\
                    ;2026-01-05;60\n\
                    K-1001;31-02-2026;60\n\
                    K-1001;2026/01/05;60\n\
                    K-1001;2026-01-06;tres\n\
                    K-1001;2026-01-07;52,5\n\
                    K-1001;2026-01-08;-30\n\
                    K-1001;2026-01-09;20000\n\
                    K-1001;2026-01-10;60;ekstra\n\
                    K-1001;2026-01-11;\xff\n";
        let p = parse_care_time_csv(text, |_| {}).unwrap();
        assert_eq!(p.grants.len(), 1);
        let got = problems(&p.bad);
        let kinds: Vec<(u64, &str)> = got
            .iter()
            .map(|(l, pr)| {
                let k = match pr {
                    LineProblem::Malformed { .. } => "malformed",
                    LineProblem::MissingCitizenRef => "missing_ref",
                    LineProblem::BadDate { .. } => "bad_date",
                    LineProblem::BadNumber { .. } => "bad_number",
                    LineProblem::NegativeMinutes { .. } => "negative",
                    LineProblem::TooManyMinutes { .. } => "too_many",
                    _ => "other",
                };
                (*l, k)
            })
            .collect();
        assert_eq!(
            kinds,
            [
                (3, "malformed"),
                (4, "missing_ref"),
                (5, "bad_date"),
                (6, "bad_date"),
                (7, "bad_number"),
                (8, "bad_number"),
                (9, "negative"),
                (10, "too_many"),
                (11, "malformed"),
                (12, "malformed"),
            ]
        );
        assert_eq!(
            got[5].1,
            LineProblem::BadNumber {
                value: "52,5".into()
            }
        );
    }

    #[test]
    fn windows_line_ends_and_a_byte_order_mark_keep_the_line_numbers() {
        let text =
            "\u{feff}borger;dato;minutter\r\nK-1001;05-01-2026;420\r\nK-1002;05-01-2026;60\r\n\
                    K-1001;31-02-2026;60\r\nK-1001;05-01-2026;420\r\n";
        let p = parse(text);
        let bad: Vec<u64> = p.bad.iter().map(|b| b.line).collect();
        assert_eq!(
            bad,
            [4],
            "the bad date is on line 4, the header being line 1"
        );
        let lines: Vec<u64> = p.grants.iter().map(|g| g.line).collect();
        assert_eq!(lines, [2, 3, 5]);
        let plan = plan_import(&p, [], resolver);
        assert_eq!(
            plan.duplicates
                .iter()
                .map(|d| (d.line, d.same_as))
                .collect::<Vec<_>>(),
            [(5, 2)]
        );
    }

    #[test]
    fn a_file_without_a_usable_header_is_refused() {
        let err = |t: &str| parse_care_time_csv(t.as_bytes(), |_| {}).unwrap_err();
        assert_eq!(err(""), EffectError::EmptyFile);
        assert_eq!(err("\u{feff}\n"), EffectError::EmptyFile);
        assert_eq!(err("borgerreference\nK-1\n"), EffectError::UnknownSeparator);
        assert_eq!(
            err("borger;dato;antal\nK-1;2026-01-01;3\n"),
            EffectError::MissingColumn("minutter_pr_uge")
        );
    }

    #[test]
    fn a_reference_is_held_by_its_active_citizen_only() {
        let refs = CitizenRefs::new([(1, "K-1", true), (2, "K-2", false), (3, " K-3 ", true)]);
        assert_eq!(refs.active_holder("K-1"), Some(1));
        assert_eq!(refs.active_holder("K-3"), Some(3));
        assert_eq!(
            refs.active_holder("K-2"),
            None,
            "an inactive citizen's is free"
        );
        assert_eq!(refs.active_holder("K-4"), None);
    }

    #[test]
    fn unknown_citizens_duplicates_and_conflicts_are_reported() {
        let text = "borgerreference;virkningsdato;minutter_pr_uge;ydelseskode\n\
                    K-1001;2026-01-05;420;1.1\n\
                    K-9999;2026-01-05;420;1.1\n\
                    K-1001;05-01-2026;420;1.1\n\
                    K-1002;2026-01-05;100;\n\
                    K-1002;2026-01-05;120;\n\
                    K-1001;2026-01-05;60;2.1\n";
        let p = parse(text);
        let plan = plan_import(&p, [], resolver);
        assert_eq!(
            problems(&plan.bad),
            [
                (
                    3,
                    LineProblem::UnknownCitizen {
                        reference: "K-9999".into()
                    }
                ),
                (5, LineProblem::ConflictsWithLine { line: 6 }),
                (6, LineProblem::ConflictsWithLine { line: 5 }),
            ]
        );
        // The same grant written with the other date format is a duplicate, imported once.
        assert_eq!(
            plan.duplicates,
            [DuplicateLine {
                line: 4,
                same_as: 2
            }]
        );
        assert_eq!(
            plan.new.iter().map(|g| g.line).collect::<Vec<_>>(),
            [2, 7],
            "another service the same day is another grant"
        );
        assert!(!plan.is_clean());
        assert!(plan.to_apply(ImportChoice::AllOrNothing).is_empty());
        assert_eq!(plan.to_apply(ImportChoice::GoodLines).len(), 2);
    }

    /// A citizen is confirmed with their latest stored line, only when none of their lines is
    /// new or bad (a new line is recorded anyway; a bad one is for a person to decide first).
    #[test]
    fn an_import_confirms_the_citizens_whose_grants_it_found_unchanged() {
        let stored: Vec<(u32, CareGrant)> = parse(
            "borgerreference,virkningsdato,minutter_pr_uge,ydelseskode
             K-1001,2026-01-05,420,1.1
K-1001,2026-03-01,300,1.1
K-1001,2026-03-01,60,2.2
             K-1002,2026-01-05,100,1.1
",
        )
        .grants
        .iter()
        .map(|g| (resolver(&g.citizen_ref).unwrap(), g.grant.clone()))
        .collect();
        let file = parse(
            "borgerreference,virkningsdato,minutter_pr_uge,ydelseskode
             K-1001,2026-03-01,60,2.2
K-1001,2026-01-05,420,1.1
K-1001,2026-03-01,300,1.1
             K-1002,2026-01-05,100,1.1
K-1002,2026-05-01,80,1.1
",
        );
        let plan = plan_import(&file, stored.clone(), resolver);
        let confirmed: Vec<(u32, u64, Option<&str>)> = plan
            .confirmed
            .iter()
            .map(|p| (p.citizen, p.line, p.grant.service_code.as_deref()))
            .collect();
        // K-1001: the latest day, then the service; K-1002 has a new line, recorded anyway.
        assert_eq!(confirmed, [(1, 2, Some("2.2"))]);
        assert_eq!(plan.to_record(ImportChoice::GoodLines).count(), 2);
        // A line in conflict with what is stored: that citizen is not confirmed, and nothing is
        // recorded all-or-nothing.
        let conflicting = parse(
            "borgerreference,virkningsdato,minutter_pr_uge,ydelseskode
             K-1001,2026-01-05,420,1.1
K-1001,2026-03-01,999,1.1
K-1002,2026-01-05,100,1.1
",
        );
        let plan = plan_import(&conflicting, stored, resolver);
        let confirmed: Vec<u32> = plan.confirmed.iter().map(|p| p.citizen).collect();
        assert_eq!(confirmed, [2]);
        assert_eq!(plan.to_record(ImportChoice::AllOrNothing).count(), 0);
    }

    /// The citizens waiting for a follow-up whom a file leaves out are asked about; one named
    /// by a bad line is not (the line is reported, they are in the file: a line contradicting
    /// another, or one with a bad date), nor is one named only by a line with a stored grant.
    #[test]
    fn citizens_waiting_for_a_follow_up_and_not_in_the_file_are_found() {
        let stored = vec![(
            1,
            CareGrant {
                effective: time::macros::date!(2026 - 01 - 05),
                minutes_per_week: 420,
                service_code: None,
            },
        )];
        let file = parse(
            "borgerreference,virkningsdato,minutter_pr_uge
K-1001,2026-01-05,420
K-1002,2026-01-05,100
K-1002,2026-01-05,90
K-9999,2026-01-05,60
Søren Ærø,31-02-2026,60
",
        );
        let plan = plan_import(&file, stored, resolver);
        let mut named = plan.named.clone();
        named.sort();
        assert_eq!(
            named,
            [1, 2, 3],
            "a line with a bad date names its citizen too"
        );
        let awaiting = [
            (1, "77 days"),
            (4, "77 days"),
            (2, "365 days"),
            (4, "365 days"),
        ];
        assert_eq!(
            not_named(&plan.named, awaiting, |a| &a.0),
            [(4, "77 days"), (4, "365 days")]
        );
    }

    #[test]
    fn the_same_file_twice_changes_nothing() {
        let text = "borgerreference,virkningsdato,minutter_pr_uge\n\
                    K-1001,2026-01-05,420\n\
                    K-1002,2026-01-05,100\n";
        let p = parse(text);
        let mut stored: Vec<(u32, CareGrant)> = Vec::new();
        let first = plan_import(&p, stored.clone(), resolver);
        assert!(first.is_clean());
        for g in first.to_apply(ImportChoice::AllOrNothing) {
            stored.push((g.citizen, g.grant.clone()));
        }
        assert_eq!(stored.len(), 2);
        let second = plan_import(&p, stored.clone(), resolver);
        assert!(second.is_clean());
        assert!(second.to_apply(ImportChoice::GoodLines).is_empty());
        assert_eq!(second.already_present, [2, 3]);
        // No grant is new, but the file says both citizens' grants were still so today: one
        // grant each is recorded again, so their follow-ups become known.
        let confirmed: Vec<(u64, u32)> = second
            .to_record(ImportChoice::GoodLines)
            .map(|p| (p.line, p.citizen))
            .collect();
        assert_eq!(confirmed, [(2, 1), (3, 2)]);
        // A later export that changes a stored grant's minutes is for a person to decide.
        let changed = parse(
            "borgerreference,virkningsdato,minutter_pr_uge\nK-1001,2026-01-05,400\nK-1001,2026-06-01,300\n",
        );
        let third = plan_import(&changed, stored, resolver);
        assert_eq!(
            problems(&third.bad),
            [(
                2,
                LineProblem::ConflictsWithStored {
                    stored_minutes_per_week: 420
                }
            )]
        );
        assert_eq!(third.new.len(), 1);
    }

    #[test]
    fn progress_is_reported_on_a_large_file() {
        let mut text = String::from("borgerreference;virkningsdato;minutter_pr_uge\n");
        for i in 0..25_000 {
            text.push_str(&format!("K-{i};2026-01-05;{}\n", i % 500));
        }
        let mut seen = Vec::new();
        let p = parse_care_time_csv(text.as_bytes(), |b| seen.push(b)).unwrap();
        assert_eq!(p.grants.len(), 25_000);
        assert_eq!(seen.len(), 3);
        assert!(seen.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(*seen.last().unwrap(), text.len() as u64);
    }
}
