//! The library read as a clinician reads it (issue #15): checks beyond the schema that a
//! physiotherapist would trip over. [`Library::lint`] lists every finding at once.
//!
//! - **Cautions where the movement carries a risk.** From the exercise's own data: a standing,
//!   kneeling or transfer exercise can end in a fall, so a safety note must say how it is
//!   avoided (support within reach, someone close by); a breathing exercise says what to do
//!   with severe COPD and with oxygen; work against a load says when pain stops it. Every
//!   safety note reads as a caution (stop, only, not, if…), not as a tip.
//! - **Every template goal is served by a line.** Each Danish goal is matched against the
//!   activities [`GOAL_RULES`] knows (walking, rising, stairs, balance, grip…); the template
//!   must hold an exercise of that kind. A goal no rule knows is reported too, so a new goal
//!   gets a rule rather than slipping through.
//!
//! Words are matched folded (lower case, æ → ae, ø → oe, å → aa), as the search folds them.
//! A chain (progression or regression, or `standalone` with a reason) is checked by
//! [`Library::check`] itself.

use super::exercise::{BodyArea, Category, Equipment, Exercise, Position, Status};
use super::search::fold;
use super::text::Lang;
use super::{Library, LibraryError, Template};

/// A risk the movement carries, and the words a safety note must use to address it, in
/// Danish and English (folded; any one of them in any safety note is enough).
struct Risk {
    name: &'static str,
    applies: fn(&Exercise) -> bool,
    da: &'static [&'static str],
    en: &'static [&'static str],
}

const RISKS: &[Risk] = &[
    Risk {
        name: "a fall (standing, kneeling or moving between positions)",
        applies: |e| {
            matches!(e.position, Position::Standing | Position::Kneeling)
                || e.category == Category::Transfer
        },
        da: &[
            "fald",
            "stoette",
            "hold fast",
            "holde fast",
            "gribe fat",
            "tag fat",
            "raekkevidde",
            "ved siden af",
            "taet ved",
            "gelaender",
            "bremse",
            "staar fast",
            "glide",
            "ryd",
            "vaelte",
            "vippe",
            "hjaelper",
            "taepper",
            "doertrin",
            "glat",
        ],
        en: &[
            "fall",
            "support",
            "hold on",
            "hold the",
            "grab",
            "take hold",
            "within reach",
            "beside",
            "close by",
            "rail",
            "brake",
            "stable",
            "slide",
            "clear",
            "tip",
            "handrail",
            "helper",
            "rugs",
            "alongside",
            "close",
            "slippery",
        ],
    },
    Risk {
        name: "breathlessness in severe COPD and the use of oxygen",
        applies: |e| e.category == Category::Breathing,
        da: &["kol"],
        en: &["copd"],
    },
    Risk {
        name: "pain or overload from the weight or band",
        applies: |e| {
            e.equipment
                .iter()
                .any(|q| matches!(q, Equipment::Weights | Equipment::ElasticBand))
        },
        da: &["smerte", "ondt"],
        en: &["pain", "hurt"],
    },
];

/// Words that make a safety note a caution rather than a tip (folded, matched as prefixes of
/// words, so "stop" finds "stop" and "stoppe").
const CAUTION_DA: &[&str] = &[
    "stop", "ikke", "kun", "undlad", "aldrig", "skal", "hvis", "ved", "paas", "maa", "efter",
    "foer", "uden", "fald", "ingen", "hold", "hav", "tag", "spoerg", "tjek", "sikker", "ryd",
    "fjern", "svimmel", "taet", "bag",
];
const CAUTION_EN: &[&str] = &[
    "stop",
    "not",
    "only",
    "avoid",
    "never",
    "must",
    "if",
    "with",
    "after",
    "before",
    "without",
    "fall",
    "no",
    "keep",
    "hold",
    "have",
    "take",
    "ask",
    "check",
    "safe",
    "don",
    "clear",
    "remove",
    "dizz",
    "close",
    "behind",
    "alongside",
    "beside",
];

/// An activity a goal can name, the words that name it (folded word prefixes), and what a
/// template line must be to serve it.
pub struct GoalRule {
    pub activity: &'static str,
    words: &'static [&'static str],
    serves: fn(&Exercise) -> bool,
}

fn id_has(e: &Exercise, part: &str) -> bool {
    e.id.as_str().contains(part)
}

fn rises(e: &Exercise) -> bool {
    [
        "sit-to-stand",
        "chair-stand",
        "stand-up",
        "toilet",
        "up-and-go",
    ]
    .iter()
    .any(|p| id_has(e, p))
}

fn walks(e: &Exercise) -> bool {
    id_has(e, "walk")
}

fn legs(e: &Exercise) -> bool {
    e.category == Category::Strength
        && e.body_areas
            .iter()
            .any(|a| matches!(a, BodyArea::Hip | BodyArea::Knee | BodyArea::AnkleFoot))
}

/// The activities goals name. A goal may name several; each must be served.
pub const GOAL_RULES: &[GoalRule] = &[
    GoalRule {
        activity: "walking",
        words: &["gaa", "gang", "gaatur", "gaaende"],
        serves: |e| walks(e) || e.equipment.contains(&Equipment::Stairs),
    },
    GoalRule {
        activity: "rising from a chair",
        words: &["rejse", "rejs", "stol"],
        serves: rises,
    },
    GoalRule {
        activity: "the Timed Up and Go (rise, walk, turn)",
        words: &["timed", "tug"],
        serves: |e| rises(e) || id_has(e, "turn"),
    },
    GoalRule {
        activity: "stairs",
        words: &["trappe", "trapper", "trin"],
        serves: |e| e.equipment.contains(&Equipment::Stairs),
    },
    GoalRule {
        activity: "balance and falls",
        words: &["fald", "balance", "tandem", "tryg", "svimmel"],
        serves: |e| e.category == Category::Balance,
    },
    GoalRule {
        activity: "grip",
        words: &["greb", "gribe", "grib", "haandkraft", "aabne"],
        serves: |e| id_has(e, "grip"),
    },
    GoalRule {
        activity: "carrying and lifting",
        words: &["baere", "loefte", "indkoeb"],
        serves: |e| {
            matches!(e.category, Category::UpperBody | Category::Strength)
                && e.body_areas
                    .iter()
                    .any(|a| matches!(a, BodyArea::ArmHand | BodyArea::Shoulder))
        },
    },
    GoalRule {
        activity: "reaching up and dressing",
        words: &["naa", "skab", "paaklaedning", "toej", "haar", "bad"],
        serves: |e| e.body_areas.contains(&BodyArea::Shoulder),
    },
    GoalRule {
        activity: "breathlessness",
        words: &["aandenoed", "laebebremse", "hvilestilling", "vejrtraekning"],
        serves: |e| e.category == Category::Breathing,
    },
    GoalRule {
        activity: "leg strength and daily tasks",
        words: &["styrke", "daglige", "hverdag", "smerte"],
        serves: legs,
    },
    GoalRule {
        activity: "getting in and out of bed",
        words: &["seng", "vende", "vend"],
        serves: |e| id_has(e, "bed") || e.category == Category::Transfer,
    },
];

fn folded_words(s: &str) -> Vec<String> {
    fold(s)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Whether `text` (folded) holds one of the phrases, each matched at the start of a word.
fn mentions(text: &str, phrases: &[&str]) -> bool {
    let text = format!(" {}", fold(text));
    phrases.iter().any(|p| {
        text.match_indices(p)
            .any(|(i, _)| !text[..i].ends_with(|c: char| c.is_alphanumeric()))
    })
}

impl Library {
    /// Every clinical finding (see the module doc), as one problem each; empty when clean.
    pub fn lint(&self) -> Vec<LibraryError> {
        let mut out = Vec::new();
        for e in self.active_exercises() {
            lint_exercise(e, &mut out);
        }
        for t in self
            .templates
            .values()
            .filter(|t| t.status == Status::Active)
        {
            self.lint_template(t, &mut out);
        }
        out
    }

    fn lint_template(&self, t: &Template, out: &mut Vec<LibraryError>) {
        let Some(text) = t.text.get(&Lang::Da) else {
            return;
        };
        let lines: Vec<&Exercise> = t
            .exercises
            .iter()
            .filter_map(|l| self.exercises.get(&l.exercise))
            .collect();
        for goal in &text.goals {
            let words = folded_words(goal);
            let named: Vec<&GoalRule> = GOAL_RULES
                .iter()
                .filter(|r| {
                    r.words.iter().any(|k| {
                        words
                            .iter()
                            .any(|w| w == k || w.starts_with(k) && k.len() > 3)
                    })
                })
                .collect();
            let problem = if named.is_empty() {
                Some("names no activity the lint knows (walking, rising, stairs, balance, grip, carrying, reaching, breathlessness, strength, bed); name it, or add a rule to library/lint.rs".to_owned())
            } else {
                let unserved: Vec<&str> = named
                    .iter()
                    .filter(|r| !lines.iter().any(|e| (r.serves)(e)))
                    .map(|r| r.activity)
                    .collect();
                (!unserved.is_empty()).then(|| {
                    format!(
                        "needs an exercise for {}, and no line is one",
                        unserved.join(" and ")
                    )
                })
            };
            if let Some(problem) = problem {
                out.push(LibraryError::Field {
                    owner: t.owner(),
                    field: "goals",
                    problem: format!("`{goal}` {problem}"),
                });
            }
        }
    }
}

fn lint_exercise(e: &Exercise, out: &mut Vec<LibraryError>) {
    let mut finding = |problem: String| {
        out.push(LibraryError::Field {
            owner: e.owner(),
            field: "safety",
            problem,
        })
    };
    for (lang, cautions) in [(Lang::Da, CAUTION_DA), (Lang::En, CAUTION_EN)] {
        let Some(text) = e.text.get(&lang) else {
            continue;
        };
        for note in &text.safety {
            let words = folded_words(note);
            if !words
                .iter()
                .any(|w| cautions.iter().any(|c| w.starts_with(c)))
            {
                finding(format!(
                    "({}) `{note}` reads as a tip, not a caution; say when to stop, who should not, or what must be in place — or move it to key_points",
                    lang.name()
                ));
            }
        }
        for risk in RISKS.iter().filter(|r| (r.applies)(e)) {
            let words = if lang == Lang::Da { risk.da } else { risk.en };
            if !text.safety.iter().any(|s| mentions(s, words)) {
                finding(format!(
                    "({}) the movement carries the risk of {}, and no safety note addresses it",
                    lang.name(),
                    risk.name
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phrases_match_at_the_start_of_words_folded() {
        assert!(mentions("Stå tæt ved borgeren.", &["taet ved"]));
        assert!(mentions("Ved svær KOL: hvil.", &["kol"]));
        assert!(!mentions("Alkohol er ikke godt.", &["kol"]));
        assert!(mentions("Støtten skal stå fast.", &["stoette"]));
    }

    #[test]
    fn goal_words_are_folded() {
        assert_eq!(
            folded_words("Gå på trapper."),
            vec!["gaa", "paa", "trapper"]
        );
    }
}
