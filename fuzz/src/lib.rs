//! What the fuzz targets and the seed generator share: the fixed admission world, the same
//! source the regression test in `shared/tests/admission_fixtures.rs` runs.

#[path = "../../shared/tests/support/admission_world.rs"]
mod admission_world;

pub use admission_world::{ten_reps, World, GROWN, NOW};
