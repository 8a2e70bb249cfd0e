//! [`LibraryManifest`]: `assets/library.toml` — the library's version, the general safety rules
//! and the release history that makes ids permanent.

use super::text::Lang;
use super::LibraryError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The version of the file format this code reads. A library with a higher
/// `schema_version` needs a newer app.
pub const SCHEMA_VERSION: u32 = 1;

/// What one release did to exercise or template ids.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Changes {
    /// New ids. An id is added once, ever.
    #[serde(default)]
    pub added: Vec<String>,
    /// Ids whose content was corrected; each entry bumps that file's `version` by one.
    #[serde(default)]
    pub changed: Vec<String>,
    /// Ids no longer offered for new programs. Their files stay.
    #[serde(default)]
    pub retired: Vec<String>,
}

/// One shipped release of the library.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Release {
    pub library_version: u32,
    /// ISO date (YYYY-MM-DD).
    pub date: String,
    /// What changed, for the release notes.
    pub notes: String,
    #[serde(default)]
    pub exercises: Changes,
    #[serde(default)]
    pub templates: Changes,
}

/// The contents of `assets/library.toml`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LibraryManifest {
    /// File format version, see [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Goes up by one with every release; equals the last release's number.
    pub library_version: u32,
    /// Rules that apply to every exercise (stop at chest pain…), shown before each session.
    pub general_safety: BTreeMap<Lang, Vec<String>>,
    /// Every release, oldest first. Only ever appended to.
    pub releases: Vec<Release>,
}

/// The state of one id after replaying the release history.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IdHistory {
    /// The release that added it.
    pub added_in: u32,
    /// 1 + the number of corrections: what the file's `version` must be.
    pub version: u32,
    pub retired: bool,
}

impl LibraryManifest {
    /// Reads `library.toml`.
    pub fn from_toml(src: &str) -> Result<Self, LibraryError> {
        toml::from_str(src).map_err(|e| LibraryError::Parse {
            file: "library.toml".into(),
            message: e.message().to_owned(),
        })
    }

    /// Replays the releases for exercises (`templates == false`) or templates.
    pub fn history(&self, templates: bool) -> BTreeMap<String, IdHistory> {
        self.replay(templates, &mut Vec::new())
    }

    fn replay(&self, templates: bool, out: &mut Vec<LibraryError>) -> BTreeMap<String, IdHistory> {
        let kind = if templates { "template" } else { "exercise" };
        let mut ids: BTreeMap<String, IdHistory> = BTreeMap::new();
        for r in &self.releases {
            let changes = if templates {
                &r.templates
            } else {
                &r.exercises
            };
            let mut bad = |problem: String| out.push(LibraryError::Manifest { problem });
            for id in &changes.added {
                if ids.contains_key(id) {
                    bad(format!(
                        "release {} adds {kind} `{id}` again; ids are never reused",
                        r.library_version
                    ));
                } else {
                    ids.insert(
                        id.clone(),
                        IdHistory {
                            added_in: r.library_version,
                            version: 1,
                            retired: false,
                        },
                    );
                }
            }
            for id in &changes.changed {
                match ids.get_mut(id) {
                    Some(h) if h.added_in == r.library_version => bad(format!(
                        "release {} both adds and changes {kind} `{id}`",
                        r.library_version
                    )),
                    Some(h) => h.version += 1,
                    None => bad(format!(
                        "release {} changes {kind} `{id}`, which no release added",
                        r.library_version
                    )),
                }
            }
            for id in &changes.retired {
                match ids.get_mut(id) {
                    Some(h) if h.retired => bad(format!("{kind} `{id}` is retired twice")),
                    Some(h) => h.retired = true,
                    None => bad(format!(
                        "release {} retires {kind} `{id}`, which no release added",
                        r.library_version
                    )),
                }
            }
        }
        ids
    }

    /// Checks the manifest on its own: schema version, release numbering, history, safety text.
    pub fn validate(&self) -> Result<(), LibraryError> {
        let mut out = Vec::new();
        self.check(&mut out);
        LibraryError::from_list(out)
    }

    pub(crate) fn check(&self, out: &mut Vec<LibraryError>) {
        let mut bad = |problem: String| out.push(LibraryError::Manifest { problem });
        if self.schema_version != SCHEMA_VERSION {
            bad(format!(
                "schema_version is {}, this app reads {SCHEMA_VERSION}",
                self.schema_version
            ));
        }
        for (i, r) in self.releases.iter().enumerate() {
            if r.library_version as usize != i + 1 {
                bad(format!(
                    "release number {} should be {}; releases are numbered 1, 2, 3… oldest first",
                    r.library_version,
                    i + 1
                ));
            }
            if !is_iso_date(&r.date) {
                bad(format!(
                    "release {} has date `{}`; write YYYY-MM-DD",
                    r.library_version, r.date
                ));
            }
        }
        if self.releases.last().map(|r| r.library_version) != Some(self.library_version) {
            bad(format!(
                "library_version {} must equal the number of the last release",
                self.library_version
            ));
        }
        for lang in Lang::REQUIRED {
            if self.general_safety.get(&lang).is_none_or(|l| l.is_empty()) {
                bad(format!("general_safety has no {} text", lang.name()));
            }
        }
        self.replay(false, out);
        self.replay(true, out);
    }
}

fn is_iso_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}
