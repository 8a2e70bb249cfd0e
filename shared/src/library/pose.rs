//! The data an illustration is drawn from: a start and an end [`Pose`] of a stick figure, the
//! [`Prop`]s around it (chair, counter, wall, band…), and the forward kinematics that turn a
//! pose into joint positions ([`Figure`]).
//!
//! Coordinates are "figure units" (about 1 cm): x to the right, y up, the floor at y = 0. In the
//! side view the figure faces right (+x). Angles are degrees on the screen:
//! - the trunk `trunk` is its lean from upright, + towards the right (forward in side view),
//!   -90 = lying with the head to the left;
//! - arm and leg segments are absolute directions: 0 = straight down, 90 = pointing right
//!   (forward), 180 = straight up, -90 = pointing left (backward);
//! - `head` tilts the head relative to the trunk.
//!
//! Segments are interpolated by angle, so limbs keep their length while moving; the `anchor`
//! joint (a foot on the floor, the pelvis on a seat) moves in a straight line between its start
//! and end positions and the figure hangs from it.

use super::LibraryError;
use serde::{Deserialize, Serialize};

/// Segment lengths in figure units.
pub(crate) mod len {
    pub const TRUNK: f32 = 52.0;
    pub const NECK: f32 = 6.0;
    pub const HEAD_R: f32 = 11.0;
    pub const SHOULDER_DROP: f32 = 5.0;
    pub const UPPER_ARM: f32 = 27.0;
    pub const FOREARM: f32 = 27.0;
    pub const THIGH: f32 = 42.0;
    pub const SHIN: f32 = 40.0;
    pub const FOOT: f32 = 14.0;
    /// Half the shoulder and hip width, used in the front view only.
    pub const SHOULDER_HALF: f32 = 15.0;
    pub const HIP_HALF: f32 = 8.0;
    /// How far behind the near limbs the far limbs start in the side view.
    pub const FAR_OFFSET: f32 = 3.0;
}

/// The drawing area in figure units: x from -120 to 120, y from -10 to 200.
pub const CANVAS: (f32, f32, f32, f32) = (-120.0, -10.0, 240.0, 210.0);

/// Which way the figure is seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum View {
    /// From the side, facing right: for movements forward/back and up/down.
    Side,
    /// From the front: for movements out to the side. "near" limbs are on the screen's left.
    Front,
}

/// A named point of the figure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Joint {
    Pelvis,
    Neck,
    Head,
    NearShoulder,
    NearElbow,
    NearHand,
    FarShoulder,
    FarElbow,
    FarHand,
    NearHip,
    NearKnee,
    NearAnkle,
    NearToe,
    FarHip,
    FarKnee,
    FarAnkle,
    FarToe,
}

const JOINTS: usize = 17;

/// Segments drawn shorter because they point towards the viewer (e.g. thighs of a seated figure
/// in the front view). 1 = full length.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Foreshorten {
    #[serde(default = "one")]
    pub thigh: f32,
    #[serde(default = "one")]
    pub shin: f32,
    #[serde(default = "one")]
    pub upper_arm: f32,
    #[serde(default = "one")]
    pub forearm: f32,
}

fn one() -> f32 {
    1.0
}

impl Default for Foreshorten {
    fn default() -> Self {
        Foreshorten {
            thigh: 1.0,
            shin: 1.0,
            upper_arm: 1.0,
            forearm: 1.0,
        }
    }
}

impl Foreshorten {
    fn is_default(&self) -> bool {
        *self == Foreshorten::default()
    }
}

/// One key pose of the figure.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pose {
    /// The joint that is placed at `at` (a toe on the floor, the pelvis on a seat).
    pub anchor: Joint,
    /// Where the anchor is, `[x, y]`.
    pub at: [f32; 2],
    /// Lean of the trunk from upright, degrees.
    pub trunk: f32,
    /// Head tilt relative to the trunk, degrees (+ = chin down when facing right).
    #[serde(default)]
    pub head: f32,
    /// `[upper arm, forearm]` directions.
    pub near_arm: [f32; 2],
    pub far_arm: [f32; 2],
    /// `[thigh, shin, foot]` directions.
    pub near_leg: [f32; 3],
    pub far_leg: [f32; 3],
    #[serde(default, skip_serializing_if = "Foreshorten::is_default")]
    pub foreshorten: Foreshorten,
}

/// Something drawn with the figure. Fixed props are placed in figure units; `band`, `weight`,
/// `cane` and `breath` follow the figure.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Prop {
    /// A chair. Side view: `x` is the front edge of the seat, the backrest is on the left
    /// (on the right with `flip = true`, for a chair the figure faces). Front view: `x` is the
    /// middle of the chair.
    Chair {
        x: f32,
        #[serde(default = "seat_height")]
        seat: f32,
        #[serde(default)]
        armrests: bool,
        #[serde(default)]
        flip: bool,
    },
    /// A kitchen counter whose edge nearest the figure is at `x`, extending `width` to the right
    /// (side view: in front of the figure, or behind it for walking along it).
    Counter {
        x: f32,
        #[serde(default = "counter_height")]
        height: f32,
        #[serde(default = "counter_width")]
        width: f32,
    },
    /// A wall at `x`.
    Wall { x: f32 },
    /// A bed from `from` to `to` with the mattress top at `height`.
    Bed {
        from: f32,
        to: f32,
        #[serde(default = "bed_height")]
        height: f32,
    },
    /// `steps` stair steps rising to the right from `x`, each 16 high and 28 deep, with a rail unless `rail = false`.
    Stairs {
        x: f32,
        #[serde(default = "one_step")]
        steps: u8,
        #[serde(default = "yes")]
        rail: bool,
    },
    /// A rollator whose handles are at `x`.
    Walker { x: f32 },
    /// A toilet whose seat front is at `x`, with a grab rail.
    Toilet { x: f32 },
    /// A floor mat from `from` to `to`.
    Mat { from: f32, to: f32 },
    /// A rolled towel or cushion centred at `at`.
    Roll {
        at: [f32; 2],
        #[serde(default = "roll_radius")]
        radius: f32,
    },
    /// An elastic band from a fixed point to a joint.
    Band { from: [f32; 2], to: Joint },
    /// An elastic band held between two joints (both hands).
    BandBetween { from: Joint, to: Joint },
    /// A hand weight or ankle cuff at a joint.
    Weight { at: Joint },
    /// A walking stick held in the near or far hand.
    Cane { hand: Joint },
    /// Breath leaving the mouth, shown towards the end pose (breathing exercises).
    Breath,
    /// A grey arrow showing the direction of travel (walking exercises), from `from` to `to`.
    Arrow { from: [f32; 2], to: [f32; 2] },
    /// A small top-view inset in the upper right corner showing where the feet stand.
    Footprints { stance: Stance },
    /// A small top-view inset in the upper right corner showing the path walked (around two
    /// objects in a figure of eight, out and back with a turn, a turn on the spot).
    Route { shape: RouteShape },
}

/// The path walked, seen from above ([`Prop::Route`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteShape {
    /// Around two objects in a figure of eight.
    FigureEight,
    /// Out, a turn, and back.
    OutAndBack,
    /// A full turn on the spot.
    TurnOnTheSpot,
}

/// How the feet are placed, seen from above ([`Prop::Footprints`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stance {
    /// Hip-width apart.
    Apart,
    /// Side by side, touching.
    Together,
    /// The heel of one foot beside the big toe of the other.
    SemiTandem,
    /// Heel to toe on a line.
    Tandem,
    /// One foot lifted.
    OneLeg,
}

fn seat_height() -> f32 {
    42.0
}
fn counter_height() -> f32 {
    86.0
}
fn counter_width() -> f32 {
    60.0
}
fn bed_height() -> f32 {
    46.0
}
fn yes() -> bool {
    true
}
fn one_step() -> u8 {
    1
}
fn roll_radius() -> f32 {
    7.0
}

/// An exercise's illustration: the view, the props and the two poses it loops between.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Illustration {
    pub view: View,
    /// Length of one loop (start → end → start), seconds.
    #[serde(default = "default_seconds")]
    pub seconds: f32,
    #[serde(default)]
    pub props: Vec<Prop>,
    pub start: Pose,
    /// An optional pose half-way, for movements that do not go straight from start to end
    /// (leaning forward before standing up, sitting up before kneeling).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<Pose>,
    /// A second pose on the way, after `via`, for movements with two turning points (down on
    /// the knees at the chair, then the hands to the floor). Only with `via`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub then: Option<Pose>,
    pub end: Pose,
}

fn default_seconds() -> f32 {
    4.0
}

/// A point `(x, y)` in figure units.
pub type Point = (f32, f32);

/// Joint positions of one frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Figure {
    points: [Point; JOINTS],
}

impl std::ops::Index<Joint> for Figure {
    type Output = Point;
    fn index(&self, j: Joint) -> &Point {
        &self.points[j as usize]
    }
}

impl Figure {
    fn translate(mut self, (dx, dy): Point) -> Figure {
        for p in &mut self.points {
            p.0 += dx;
            p.1 += dy;
        }
        self
    }

    /// All joint positions.
    pub fn points(&self) -> &[Point] {
        &self.points
    }
}

fn lerp(a: f32, b: f32, t: f32) -> f32 {
    a + (b - a) * t
}

fn lerp_p(a: Point, b: Point, t: f32) -> Point {
    (lerp(a.0, b.0, t), lerp(a.1, b.1, t))
}

/// Direction of a limb segment at screen angle `deg` (0 = down, 90 = right).
fn limb(deg: f32) -> Point {
    let r = deg.to_radians();
    (r.sin(), -r.cos())
}

fn add(p: Point, d: Point, k: f32) -> Point {
    (p.0 + d.0 * k, p.1 + d.1 * k)
}

impl Pose {
    /// Joint positions with the pelvis at the origin.
    fn raw(&self, view: View) -> Figure {
        use len::*;
        let mut p = [(0.0, 0.0); JOINTS];
        let lean = self.trunk.to_radians();
        let up = (lean.sin(), lean.cos());
        let side = (lean.cos(), -lean.sin());
        let neck = add((0.0, 0.0), up, TRUNK);
        let head_dir = {
            let h = (self.trunk + self.head).to_radians();
            (h.sin(), h.cos())
        };
        p[Joint::Neck as usize] = neck;
        p[Joint::Head as usize] = add(neck, head_dir, NECK + HEAD_R);
        // Side view: the far limbs sit a little behind the near ones, so both legs read.
        let (sh, hh) = match view {
            View::Side => (-FAR_OFFSET, -FAR_OFFSET),
            View::Front => (SHOULDER_HALF, HIP_HALF),
        };
        let f = self.foreshorten;
        let shoulder_base = add(neck, up, -SHOULDER_DROP);
        let arms = [
            (
                (-sh).min(0.0),
                self.near_arm,
                Joint::NearShoulder,
                Joint::NearElbow,
                Joint::NearHand,
            ),
            (
                sh,
                self.far_arm,
                Joint::FarShoulder,
                Joint::FarElbow,
                Joint::FarHand,
            ),
        ];
        for (offset, [upper, fore], s, e, h) in arms {
            let shoulder = add(shoulder_base, side, offset);
            let elbow = add(shoulder, limb(upper), UPPER_ARM * f.upper_arm);
            p[s as usize] = shoulder;
            p[e as usize] = elbow;
            p[h as usize] = add(elbow, limb(fore), FOREARM * f.forearm);
        }
        let foot = match view {
            View::Side => FOOT,
            View::Front => FOOT * 0.6,
        };
        let legs = [
            (
                (-hh).min(0.0),
                self.near_leg,
                Joint::NearHip,
                Joint::NearKnee,
                Joint::NearAnkle,
                Joint::NearToe,
            ),
            (
                hh,
                self.far_leg,
                Joint::FarHip,
                Joint::FarKnee,
                Joint::FarAnkle,
                Joint::FarToe,
            ),
        ];
        for (offset, [thigh, shin, ft], hip_j, knee_j, ankle_j, toe_j) in legs {
            let hip = add((0.0, 0.0), side, offset);
            let knee = add(hip, limb(thigh), THIGH * f.thigh);
            let ankle = add(knee, limb(shin), SHIN * f.shin);
            p[hip_j as usize] = hip;
            p[knee_j as usize] = knee;
            p[ankle_j as usize] = ankle;
            p[toe_j as usize] = add(ankle, limb(ft), foot);
        }
        Figure { points: p }
    }

    /// Joint positions with the anchor at `at`.
    pub fn figure(&self, view: View) -> Figure {
        let raw = self.raw(view);
        let a = raw[self.anchor];
        raw.translate((self.at[0] - a.0, self.at[1] - a.1))
    }

    fn lerp(&self, other: &Pose, t: f32) -> Pose {
        let l2 = |a: [f32; 2], b: [f32; 2]| [lerp(a[0], b[0], t), lerp(a[1], b[1], t)];
        let l3 = |a: [f32; 3], b: [f32; 3]| {
            [
                lerp(a[0], b[0], t),
                lerp(a[1], b[1], t),
                lerp(a[2], b[2], t),
            ]
        };
        let (fa, fb) = (self.foreshorten, other.foreshorten);
        Pose {
            anchor: self.anchor,
            at: l2(self.at, other.at),
            trunk: lerp(self.trunk, other.trunk, t),
            head: lerp(self.head, other.head, t),
            near_arm: l2(self.near_arm, other.near_arm),
            far_arm: l2(self.far_arm, other.far_arm),
            near_leg: l3(self.near_leg, other.near_leg),
            far_leg: l3(self.far_leg, other.far_leg),
            foreshorten: Foreshorten {
                thigh: lerp(fa.thigh, fb.thigh, t),
                shin: lerp(fa.shin, fb.shin, t),
                upper_arm: lerp(fa.upper_arm, fb.upper_arm, t),
                forearm: lerp(fa.forearm, fb.forearm, t),
            },
        }
    }
}

/// The figure a fraction `t` of the way from pose `a` to pose `b`.
fn between(a: &Pose, b: &Pose, view: View, t: f32) -> Figure {
    let (s, e) = (a.figure(view), b.figure(view));
    if t <= 0.0 {
        return s;
    }
    if t >= 1.0 {
        return e;
    }
    let raw = a.lerp(b, t).raw(view);
    let pelvis_for = |anchor: Joint| {
        let target = lerp_p(s[anchor], e[anchor], t);
        (target.0 - raw[anchor].0, target.1 - raw[anchor].1)
    };
    raw.translate(lerp_p(pelvis_for(a.anchor), pelvis_for(b.anchor), t))
}

impl Illustration {
    /// The figure at `t` (0 = start pose, 1 = end pose). Angles are interpolated; each pose's
    /// anchor joint travels in a straight line, so a foot on the floor stays on the floor. With
    /// `via` (and `then`), the movement goes through them in equal parts of `t`.
    pub fn frame(&self, t: f32) -> Figure {
        let keys = self.key_poses();
        let parts = keys.len() - 1;
        let x = t.clamp(0.0, 1.0) * parts as f32;
        let i = (x.floor() as usize).min(parts - 1);
        between(keys[i], keys[i + 1], self.view, x - i as f32)
    }

    /// Start, the poses on the way, end.
    fn key_poses(&self) -> Vec<&Pose> {
        std::iter::once(&self.start)
            .chain(self.via.as_ref())
            .chain(self.then.as_ref())
            .chain(std::iter::once(&self.end))
            .collect()
    }

    /// How many poses lie between start and end (0, 1 or 2).
    pub fn poses_on_the_way(&self) -> usize {
        self.key_poses().len() - 2
    }

    pub(crate) fn check(&self, owner: &str, out: &mut Vec<LibraryError>) {
        let mut bad = |problem: String| {
            out.push(LibraryError::Illustration {
                owner: owner.to_owned(),
                problem,
            })
        };
        if !(2.0..=12.0).contains(&self.seconds) {
            bad(format!("seconds must be 2-12, not {}", self.seconds));
        }
        if self.then.is_some() && self.via.is_none() {
            bad("`then` is a second pose on the way; give `via` first".to_owned());
        }
        let poses = [
            Some(("start", &self.start)),
            self.via.as_ref().map(|v| ("via", v)),
            self.then.as_ref().map(|v| ("then", v)),
            Some(("end", &self.end)),
        ];
        for (name, pose) in poses.into_iter().flatten() {
            let f = pose.foreshorten;
            if [f.thigh, f.shin, f.upper_arm, f.forearm]
                .iter()
                .any(|k| !(0.1..=1.0).contains(k))
            {
                bad(format!("{name}.foreshorten values must be 0.1-1"));
            }
            let angles = [pose.trunk, pose.head]
                .into_iter()
                .chain(pose.near_arm)
                .chain(pose.far_arm)
                .chain(pose.near_leg)
                .chain(pose.far_leg);
            if angles
                .into_iter()
                .any(|a| !a.is_finite() || a.abs() > 360.0)
            {
                bad(format!("{name} has an angle outside -360..360"));
            }
        }
        // The whole movement must stay on the canvas and above the floor.
        let (x0, y0, w, h) = CANVAS;
        // At least four samples a part (start, a quarter, half, three quarters of each).
        let samples = 8.max(4 * (self.poses_on_the_way() + 1));
        for i in 0..=samples {
            let fig = self.frame(i as f32 / samples as f32);
            for (j, &(x, y)) in fig.points.iter().enumerate() {
                let margin = if j == Joint::Head as usize {
                    len::HEAD_R + 2.0
                } else {
                    5.0
                };
                if x < x0 + margin || x > x0 + w - margin || y > y0 + h - margin {
                    bad(format!(
                        "the figure leaves the picture at t = {:.2} (point {x:.0}, {y:.0})",
                        i as f32 / samples as f32
                    ));
                    return;
                }
                if y < -3.0 {
                    bad(format!(
                        "the figure goes below the floor at t = {:.2} (point {x:.0}, {y:.0})",
                        i as f32 / samples as f32
                    ));
                    return;
                }
            }
        }
    }
}
