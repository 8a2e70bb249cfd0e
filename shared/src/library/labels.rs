//! The library's tags as people read them: every category, position, equipment and body area
//! with its key (the serde name, used in files and filters) and its Danish and English label.

use super::exercise::{BodyArea, Category, Equipment, Position};
use super::text::Lang;

/// A tag the library is filtered by.
pub trait Tag: Copy + Sized + 'static {
    /// Every value, in the order pickers list them.
    const ALL: &'static [Self];
    /// (key, Danish, English)
    fn names(self) -> (&'static str, &'static str, &'static str);

    fn key(self) -> &'static str {
        self.names().0
    }

    fn label(self, lang: Lang) -> &'static str {
        let (_, da, en) = self.names();
        if lang == Lang::Da {
            da
        } else {
            en
        }
    }

    fn parse(key: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|t| t.key() == key)
    }
}

impl Tag for Category {
    const ALL: &'static [Self] = &[
        Category::Strength,
        Category::Balance,
        Category::Mobility,
        Category::Transfer,
        Category::GaitEndurance,
        Category::UpperBody,
        Category::Breathing,
    ];
    fn names(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Category::Strength => ("strength", "Styrke", "Strength"),
            Category::Balance => ("balance", "Balance", "Balance"),
            Category::Mobility => ("mobility", "Bevægelighed", "Mobility"),
            Category::Transfer => ("transfer", "Forflytning", "Transfers"),
            Category::GaitEndurance => {
                ("gait_endurance", "Gang og kondition", "Gait and endurance")
            }
            Category::UpperBody => ("upper_body", "Overkrop og skulder", "Upper body"),
            Category::Breathing => ("breathing", "Vejrtrækning", "Breathing"),
        }
    }
}

impl Tag for Position {
    const ALL: &'static [Self] = &[
        Position::Sitting,
        Position::Standing,
        Position::Lying,
        Position::Kneeling,
    ];
    fn names(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Position::Lying => ("lying", "Liggende", "Lying"),
            Position::Sitting => ("sitting", "Siddende", "Sitting"),
            Position::Standing => ("standing", "Stående", "Standing"),
            Position::Kneeling => ("kneeling", "Knælende", "Kneeling"),
        }
    }
}

impl Tag for Equipment {
    const ALL: &'static [Self] = &[
        Equipment::None,
        Equipment::Chair,
        Equipment::Counter,
        Equipment::Wall,
        Equipment::Bed,
        Equipment::ElasticBand,
        Equipment::Weights,
        Equipment::Walker,
        Equipment::Cane,
        Equipment::Stairs,
        Equipment::Towel,
    ];
    fn names(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Equipment::None => ("none", "Intet udstyr", "No equipment"),
            Equipment::Chair => ("chair", "Stol", "Chair"),
            Equipment::Counter => ("counter", "Køkkenbord", "Kitchen counter"),
            Equipment::Wall => ("wall", "Væg", "Wall"),
            Equipment::Bed => ("bed", "Seng", "Bed"),
            Equipment::ElasticBand => ("elastic_band", "Elastik", "Elastic band"),
            Equipment::Weights => ("weights", "Vægte", "Weights"),
            Equipment::Walker => ("walker", "Rollator", "Walker"),
            Equipment::Cane => ("cane", "Stok", "Cane"),
            Equipment::Stairs => ("stairs", "Trappe", "Stairs"),
            Equipment::Towel => ("towel", "Håndklæde eller pude", "Towel or cushion"),
        }
    }
}

impl Tag for BodyArea {
    const ALL: &'static [Self] = &[
        BodyArea::Hip,
        BodyArea::Knee,
        BodyArea::AnkleFoot,
        BodyArea::Trunk,
        BodyArea::Shoulder,
        BodyArea::ArmHand,
        BodyArea::Neck,
        BodyArea::Chest,
        BodyArea::WholeBody,
    ];
    fn names(self) -> (&'static str, &'static str, &'static str) {
        match self {
            BodyArea::Hip => ("hip", "Hofte", "Hip"),
            BodyArea::Knee => ("knee", "Knæ", "Knee"),
            BodyArea::AnkleFoot => ("ankle_foot", "Ankel og fod", "Ankle and foot"),
            BodyArea::Trunk => ("trunk", "Ryg og mave", "Trunk"),
            BodyArea::Shoulder => ("shoulder", "Skulder", "Shoulder"),
            BodyArea::ArmHand => ("arm_hand", "Arm og hånd", "Arm and hand"),
            BodyArea::Neck => ("neck", "Nakke", "Neck"),
            BodyArea::Chest => ("chest", "Bryst", "Chest"),
            BodyArea::WholeBody => ("whole_body", "Hele kroppen", "Whole body"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The keys are the serde names the exercise files use.
    fn serde_key<T: serde::Serialize>(t: &T) -> String {
        toml::Value::try_from(t)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    fn check<T: Tag + serde::Serialize>() {
        for t in T::ALL {
            assert_eq!(t.key(), serde_key(t));
            assert!(T::parse(t.key()).is_some());
            assert!(!t.label(Lang::Da).is_empty() && !t.label(Lang::En).is_empty());
        }
    }

    #[test]
    fn keys_match_the_files_and_every_tag_has_labels() {
        check::<Category>();
        check::<Position>();
        check::<Equipment>();
        check::<BodyArea>();
        assert_eq!(
            Equipment::parse("elastic_band"),
            Some(Equipment::ElasticBand)
        );
        assert_eq!(Position::parse("flying"), None);
    }
}
