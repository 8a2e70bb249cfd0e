//! The exercise library on the device: read from the shipped `assets/` folder and checked
//! once at start, then searched and applied in memory.

use crate::error::{CoreError, Result};
use homerehab_shared::library::Library;
use std::path::Path;

/// `(file name, contents)` of every `*.toml` in `dir`, sorted by name.
fn toml_files(dir: &Path) -> Result<Vec<(String, String)>> {
    let read_err = |e: std::io::Error| CoreError::Library(format!("{}: {e}", dir.display()));
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read_err)? {
        let path = entry.map_err(read_err)?.path();
        if path.extension().is_some_and(|e| e == "toml") {
            let name = path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            files.push((name, std::fs::read_to_string(&path).map_err(read_err)?));
        }
    }
    files.sort();
    Ok(files)
}

/// Loads `assets/library.toml`, `assets/exercises/*.toml` and `assets/templates/*.toml`.
pub fn load(assets: &Path) -> Result<Library> {
    let manifest = std::fs::read_to_string(assets.join("library.toml")).map_err(|e| {
        CoreError::Library(format!("{}: {e}", assets.join("library.toml").display()))
    })?;
    let exercises = toml_files(&assets.join("exercises"))?;
    let templates = toml_files(&assets.join("templates"))?;
    Library::parse(
        &manifest,
        exercises.iter().map(|(n, s)| (n.as_str(), s.as_str())),
        templates.iter().map(|(n, s)| (n.as_str(), s.as_str())),
    )
    .map_err(|e| CoreError::Library(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use homerehab_shared::library::Lang;
    use homerehab_shared::model::Role;

    fn assets() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets")
    }

    #[test]
    fn the_shipped_library_loads() {
        let lib = load(&assets()).unwrap();
        assert!(lib.exercises.len() >= 60);
        assert!(lib.templates.len() >= 8);
    }

    #[test]
    fn a_course_starts_from_a_template_in_one_step() {
        let lib = load(&assets()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let team = homerehab_shared::ids::TeamId::new();
        let mut store = crate::store::fixtures::signed_in(dir.path(), Role::Therapist, team);
        let me = store.identity().unwrap().unwrap();
        let draft = lib
            .draft_from_template("fall-prevention", Lang::Da)
            .unwrap();
        let course = draft.course(
            homerehab_shared::ids::CitizenId::new(),
            team,
            me.user_id,
            "2026-12-01",
            0,
        );
        store.create_course(&course, &draft.program).unwrap();
        let doc = store.course_doc(course.id).unwrap();
        let refs: Vec<_> = doc
            .program
            .ordered()
            .iter()
            .map(|l| l.exercise_ref.clone())
            .collect();
        let want: Vec<_> = draft
            .program
            .iter()
            .map(|l| l.exercise_ref.clone())
            .collect();
        assert_eq!(refs, want);
        assert_eq!(doc.course.unwrap().legal_basis, draft.legal_basis);
    }

    #[test]
    fn a_missing_library_is_a_clear_error() {
        let err = load(Path::new("/nonexistent/assets")).unwrap_err();
        assert!(err.to_string().contains("library"), "{err}");
    }
}
