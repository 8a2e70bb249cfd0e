//! The illustration generator: [`Illustration`] → SVG text, a pure function.
//!
//! One style for the whole library: a rounded stick figure in two blues (the far arm and leg
//! lighter, so the near side reads in front), grey props, a faint "ghost" of the end pose, and
//! a SMIL animation that holds the start pose, moves to the end pose, holds, and moves back.
//! Players without SMIL (and print) show the start pose with the end pose's ghost.

use super::pose::{Figure, Illustration, Joint, Point, Prop, RouteShape, Stance, View, CANVAS};
use std::fmt::Write;

/// Frames computed from start to end (more when there is a `via` pose); the player
/// interpolates linearly between them.
const STEPS: usize = 4;
/// With one pose on the way (`via`); with two (`then` too), three more.
const STEPS_VIA: usize = 6;

const STYLE: &str = ".n,.r,.e,.b,.w,.l{fill:none;stroke-linecap:round;stroke-linejoin:round}\
.n{stroke:#1f4e79;stroke-width:9}.r{stroke:#9cbcd8;stroke-width:9}.t{stroke-width:15}\
.h{stroke-width:23}.f{fill:#1f4e79}.e{stroke:#fff;stroke-width:3.5}.b{stroke:#e09b00;stroke-width:3}\
.w{stroke:#505a64;stroke-width:12}.p{fill:#e8ecf0;stroke:#8896a3;stroke-width:2.5;stroke-linejoin:round}\
.l{stroke:#8896a3;stroke-width:4}.ft{fill:#1f4e79}.fo{fill:none;stroke:#1f4e79;stroke-width:1.5}.g{stroke:#bcc5cd;stroke-width:3}.o{opacity:.16}";

/// The animated SVG for an exercise. Deterministic: the same data gives the same bytes, which
/// is how the tests know the committed files were generated from the committed data.
pub fn render_svg(ill: &Illustration) -> String {
    render(ill, None)
}

/// A still SVG of the figure at `t` (0 = start pose, 1 = end pose), without animation or
/// ghost: for print, and for looking at the poses one by one.
pub fn render_still(ill: &Illustration, t: f32) -> String {
    render(ill, Some(t))
}

/// Formats a coordinate with at most one decimal.
fn num(v: f32) -> String {
    let r = (v * 10.0).round() / 10.0;
    if r == 0.0 {
        "0".into()
    } else if r.fract() == 0.0 {
        format!("{}", r as i32)
    } else {
        format!("{r:.1}")
    }
}

/// `x y` in SVG coordinates (y down), rounded to whole units: a unit is under 1/200 of the
/// picture, and whole numbers keep the files small.
fn pt((x, y): Point) -> String {
    format!("{} {}", x.round() as i32, (-y).round() as i32)
}

fn poly(points: &[Point]) -> String {
    let mut d = String::new();
    for (i, p) in points.iter().enumerate() {
        d.push(if i == 0 { 'M' } else { 'L' });
        d.push_str(&pt(*p));
    }
    d
}

fn dot(p: Point) -> String {
    format!("M{}l0 0", pt(p))
}

fn head_axes(fig: &Figure) -> (Point, Point) {
    let (h, n) = (fig[Joint::Head], fig[Joint::Neck]);
    let len = ((h.0 - n.0).powi(2) + (h.1 - n.1).powi(2))
        .sqrt()
        .max(0.001);
    let up = ((h.0 - n.0) / len, (h.1 - n.1) / len);
    // Facing direction: the head axis turned clockwise (right when upright).
    (up, (up.1, -up.0))
}

/// One moving part of the drawing: its class and its path at a given frame.
struct Part {
    class: &'static str,
    path: Box<dyn Fn(&Figure) -> String>,
}

fn part(class: &'static str, path: impl Fn(&Figure) -> String + 'static) -> Part {
    Part {
        class,
        path: Box::new(path),
    }
}

fn figure_parts(view: View) -> Vec<Part> {
    use Joint::*;
    let arm = |s: Joint, e: Joint, h: Joint| move |f: &Figure| poly(&[f[s], f[e], f[h]]);
    let leg =
        |h: Joint, k: Joint, a: Joint, t: Joint| move |f: &Figure| poly(&[f[h], f[k], f[a], f[t]]);
    let head = part("n h", |f: &Figure| dot(f[Head]));
    match view {
        View::Side => vec![
            part("r", arm(FarShoulder, FarElbow, FarHand)),
            part("r", leg(FarHip, FarKnee, FarAnkle, FarToe)),
            part("n t", |f: &Figure| poly(&[f[Pelvis], f[Neck]])),
            head,
            part("e", |f: &Figure| {
                let (up, fwd) = head_axes(f);
                let h = f[Head];
                dot((
                    h.0 + fwd.0 * 5.5 + up.0 * 2.0,
                    h.1 + fwd.1 * 5.5 + up.1 * 2.0,
                ))
            }),
            part("n", leg(NearHip, NearKnee, NearAnkle, NearToe)),
            part("n", arm(NearShoulder, NearElbow, NearHand)),
        ],
        View::Front => vec![
            part("n", leg(NearHip, NearKnee, NearAnkle, NearToe)),
            part("n", leg(FarHip, FarKnee, FarAnkle, FarToe)),
            part("n f", |f: &Figure| {
                format!(
                    "{}Z",
                    poly(&[f[NearShoulder], f[FarShoulder], f[FarHip], f[NearHip]])
                )
            }),
            part("n", |f: &Figure| poly(&[f[Neck], f[Head]])),
            head,
            part("e", |f: &Figure| {
                let (up, fwd) = head_axes(f);
                let h = f[Head];
                let eye = |k: f32| {
                    (
                        h.0 + fwd.0 * 4.0 * k + up.0 * 1.5,
                        h.1 + fwd.1 * 4.0 * k + up.1 * 1.5,
                    )
                };
                format!("{}{}", dot(eye(-1.0)), dot(eye(1.0)))
            }),
            part("n", arm(NearShoulder, NearElbow, NearHand)),
            part("n", arm(FarShoulder, FarElbow, FarHand)),
        ],
    }
}

/// Parts of props that follow the figure.
fn attached_parts(ill: &Illustration) -> Vec<Part> {
    let mut parts = Vec::new();
    for prop in &ill.props {
        match *prop {
            Prop::Band { from, to } => {
                let from = (from[0], from[1]);
                parts.push(part("b", move |f: &Figure| poly(&[from, f[to]])));
            }
            Prop::BandBetween { from, to } => {
                parts.push(part("b", move |f: &Figure| poly(&[f[from], f[to]])))
            }
            Prop::Weight { at } => parts.push(part("w", move |f: &Figure| dot(f[at]))),
            Prop::Cane { hand } => parts.push(part("l", move |f: &Figure| {
                let h = f[hand];
                poly(&[(h.0 - 6.0, h.1 + 1.0), (h.0, h.1 + 2.0), (h.0 + 1.0, 0.0)])
            })),
            _ => {}
        }
    }
    parts
}

/// Props that stand still, drawn behind the figure.
fn static_props(ill: &Illustration, out: &mut String) {
    let rect = |out: &mut String, x0: f32, y0: f32, x1: f32, y1: f32| {
        let _ = write!(
            out,
            "<path class=\"p\" d=\"{}Z\"/>",
            poly(&[(x0, y0), (x1, y0), (x1, y1), (x0, y1)])
        );
    };
    let line = |out: &mut String, pts: &[Point]| {
        let _ = write!(out, "<path class=\"l\" d=\"{}\"/>", poly(pts));
    };
    for prop in &ill.props {
        match *prop {
            Prop::Chair {
                x,
                seat,
                armrests,
                flip,
            } => match ill.view {
                View::Side => {
                    // Drawn for a backrest on the left, then mirrored about x if flipped.
                    let m = |p: Point| if flip { (2.0 * x - p.0 + 0.0, p.1) } else { p };
                    let line = |out: &mut String, pts: &[Point]| {
                        line(out, &pts.iter().map(|&p| m(p)).collect::<Vec<_>>())
                    };
                    let rect = |out: &mut String, x0: f32, y0: f32, x1: f32, y1: f32| {
                        let (a, b) = (m((x0, y0)).0, m((x1, y1)).0);
                        rect(out, a.min(b), y0, a.max(b), y1)
                    };
                    line(out, &[(x - 4.0, seat), (x - 4.0, 0.0)]);
                    line(out, &[(x - 34.0, seat), (x - 34.0, 0.0)]);
                    line(out, &[(x - 37.0, seat), (x - 41.0, seat + 50.0)]);
                    if armrests {
                        line(
                            out,
                            &[
                                (x - 38.0, seat + 20.0),
                                (x - 8.0, seat + 20.0),
                                (x - 8.0, seat),
                            ],
                        );
                    }
                    rect(out, x - 40.0, seat - 5.0, x, seat);
                }
                View::Front => {
                    rect(out, x - 17.0, seat + 28.0, x + 17.0, seat + 44.0);
                    line(out, &[(x - 17.0, seat), (x - 17.0, seat + 44.0)]);
                    line(out, &[(x + 17.0, seat), (x + 17.0, seat + 44.0)]);
                    line(out, &[(x - 18.0, seat), (x - 18.0, 0.0)]);
                    line(out, &[(x + 18.0, seat), (x + 18.0, 0.0)]);
                    rect(out, x - 21.0, seat - 5.0, x + 21.0, seat);
                }
            },
            Prop::Counter { x, height, width } => {
                rect(out, x + 3.0, 0.0, x + width, height - 5.0);
                rect(out, x, height - 5.0, x + width, height);
            }
            Prop::Wall { x } => {
                let (left, width) = (CANVAS.0, CANVAS.2);
                let edge = if x >= 0.0 { left + width } else { left };
                rect(out, x, -4.5, edge, 200.0);
            }
            Prop::Bed { from, to, height } => {
                line(out, &[(from + 4.0, height - 10.0), (from + 4.0, 0.0)]);
                line(out, &[(to - 4.0, height - 10.0), (to - 4.0, 0.0)]);
                rect(out, from - 5.0, 0.0, from, height + 22.0);
                rect(out, from, height - 11.0, to, height);
            }
            Prop::Stairs { x, steps, rail } => {
                let n = f32::from(steps.max(1));
                let mut pts = vec![(x, 0.0)];
                for i in 0..steps.max(1) {
                    let i = f32::from(i);
                    pts.push((x + 28.0 * i, 16.0 * (i + 1.0)));
                    pts.push((x + 28.0 * (i + 1.0), 16.0 * (i + 1.0)));
                }
                if let Some(last) = pts.last_mut() {
                    last.0 += 30.0;
                }
                pts.push((pts[pts.len() - 1].0, 0.0));
                let _ = write!(out, "<path class=\"p\" d=\"{}Z\"/>", poly(&pts));
                if rail {
                    line(
                        out,
                        &[
                            (x - 8.0, 0.0),
                            (x - 8.0, 86.0),
                            (x + 28.0 * n + 20.0, 86.0 + 16.0 * n),
                        ],
                    );
                }
            }
            Prop::Walker { x } => {
                let _ = write!(
                    out,
                    "<circle class=\"p\" cx=\"{}\" cy=\"-8\" r=\"8\"/><circle class=\"p\" cx=\"{}\" cy=\"-8\" r=\"8\"/>",
                    num(x - 2.0),
                    num(x + 38.0)
                );
                line(out, &[(x - 2.0, 8.0), (x + 2.0, 80.0), (x + 38.0, 8.0)]);
                line(out, &[(x + 4.0, 48.0), (x + 26.0, 48.0)]);
                line(out, &[(x - 5.0, 81.0), (x + 6.0, 81.0)]);
            }
            Prop::Toilet { x } => {
                rect(out, x - 46.0, 44.0, x - 36.0, 80.0);
                let _ = write!(
                    out,
                    "<path class=\"p\" d=\"{}Z\"/>",
                    poly(&[
                        (x - 36.0, 0.0),
                        (x - 12.0, 0.0),
                        (x - 6.0, 20.0),
                        (x, 36.0),
                        (x - 38.0, 36.0)
                    ])
                );
                rect(out, x - 40.0, 36.0, x + 1.0, 41.0);
                line(out, &[(x - 44.0, 70.0), (x - 4.0, 70.0), (x - 4.0, 64.0)]);
            }
            Prop::Mat { from, to } => rect(out, from, 0.0, to, 3.0),
            Prop::Roll { at, radius } => {
                let _ = write!(
                    out,
                    "<circle class=\"p\" cx=\"{}\" cy=\"{}\" r=\"{}\"/>",
                    num(at[0]),
                    num(-at[1]),
                    num(radius)
                );
            }
            Prop::Arrow { from, to } => {
                let (a, b) = ((from[0], from[1]), (to[0], to[1]));
                let len = ((b.0 - a.0).powi(2) + (b.1 - a.1).powi(2))
                    .sqrt()
                    .max(0.001);
                let (ux, uy) = ((b.0 - a.0) / len, (b.1 - a.1) / len);
                let head = |k: f32| (b.0 - ux * 9.0 - uy * k, b.1 - uy * 9.0 + ux * k);
                line(out, &[a, b]);
                line(out, &[head(6.0), b, head(-6.0)]);
            }
            Prop::Footprints { stance } => inset(out, |out| footprints(stance, out)),
            Prop::Route { shape } => inset(out, |out| route(shape, out)),
            Prop::Band { .. }
            | Prop::BandBetween { .. }
            | Prop::Weight { .. }
            | Prop::Cane { .. }
            | Prop::Breath => {}
        }
    }
}

/// How much the top-view insets are enlarged from their drawing size: large enough to read the
/// feet heel to toe on a phone-sized picture (issue #15's tandem stance).
const INSET_SCALE: f32 = 1.4;

/// Draws a top-view inset, enlarged by [`INSET_SCALE`] about the picture's top right corner
/// (where the inset's frame sits), so it stays in the corner.
fn inset(out: &mut String, draw: impl FnOnce(&mut String)) {
    let (ex, ey) = (115.0_f32, -198.0_f32);
    let _ = write!(
        out,
        "<g transform=\"matrix({k} 0 0 {k} {} {})\">",
        num(ex - INSET_SCALE * ex),
        num(ey - INSET_SCALE * ey),
        k = num(INSET_SCALE)
    );
    draw(out);
    out.push_str("</g>");
}

/// A top-view inset of the feet in the upper right corner: the lifted foot of `OneLeg` is
/// drawn as an outline.
fn footprints(stance: Stance, out: &mut String) {
    let (cx, cy) = (96.0, 176.0);
    let _ = write!(
        out,
        "<rect class=\"p\" x=\"{}\" y=\"{}\" width=\"38\" height=\"44\" rx=\"6\"/>",
        num(cx - 19.0),
        num(-(cy + 22.0))
    );
    // (x offset, y offset) of the left and right foot centres; feet point up (forwards).
    let (left, right) = match stance {
        Stance::Apart => ((-7.0, 0.0), (7.0, 0.0)),
        Stance::Together | Stance::OneLeg => ((-4.0, 0.0), (4.0, 0.0)),
        Stance::SemiTandem => ((-3.5, -7.0), (3.5, 7.0)),
        Stance::Tandem => ((0.0, -9.0), (0.0, 9.0)),
    };
    let foot = |(dx, dy): Point, class: &str| {
        format!(
            "<ellipse class=\"{class}\" cx=\"{}\" cy=\"{}\" rx=\"3.5\" ry=\"{}\"/>",
            num(cx + dx),
            num(-(cy + dy)),
            if stance == Stance::Tandem { 8.5 } else { 9.0 }
        )
    };
    out.push_str(&foot(left, "ft"));
    out.push_str(&foot(
        right,
        if stance == Stance::OneLeg { "fo" } else { "ft" },
    ));
}

/// A top-view inset of the path walked, in the same corner and frame as [`footprints`]: the
/// objects walked around as dots, the path as a thin line ending in an arrow head.
fn route(shape: RouteShape, out: &mut String) {
    let (cx, cy) = (96.0, 176.0);
    let _ = write!(
        out,
        "<rect class=\"p\" x=\"{}\" y=\"{}\" width=\"38\" height=\"44\" rx=\"6\"/>",
        num(cx - 19.0),
        num(-(cy + 22.0))
    );
    // SVG y grows downwards: `-(cy + dy)` puts +dy (forwards) up.
    let at = |dx: f32, dy: f32| format!("{} {}", num(cx + dx), num(-(cy + dy)));
    let path = match shape {
        RouteShape::FigureEight => {
            let _ = write!(
                out,
                "<circle class=\"ft\" cx=\"{}\" cy=\"{}\" r=\"2.5\"/><circle class=\"ft\" cx=\"{}\" cy=\"{}\" r=\"2.5\"/>",
                num(cx),
                num(-(cy + 9.0)),
                num(cx),
                num(-(cy - 9.0))
            );
            // Up the right of the lower object, round the upper one anticlockwise, down
            // across the middle and round the lower one clockwise.
            format!(
                "M{}C{} {} {}S{} {}S{} {}S{} {}",
                at(0.0, 0.0),
                at(9.0, -6.0),
                at(9.0, 18.0),
                at(0.0, 18.0),
                at(-9.0, 6.0),
                at(0.0, 0.0),
                at(9.0, -18.0),
                at(0.0, -18.0),
                at(-9.0, -6.0),
                at(-1.0, -1.0)
            )
        }
        RouteShape::OutAndBack => format!(
            "M{}L{}A6 6 0 0 1 {}L{}M{}L{}L{}",
            at(-6.0, -16.0),
            at(-6.0, 10.0),
            at(6.0, 10.0),
            at(6.0, -16.0),
            at(2.0, -11.0),
            at(6.0, -16.0),
            at(10.0, -11.0)
        ),
        RouteShape::TurnOnTheSpot => {
            let _ = write!(
                out,
                "<ellipse class=\"ft\" cx=\"{}\" cy=\"{}\" rx=\"2.5\" ry=\"6\"/><ellipse class=\"ft\" cx=\"{}\" cy=\"{}\" rx=\"2.5\" ry=\"6\"/>",
                num(cx - 3.5),
                num(-cy),
                num(cx + 3.5),
                num(-cy)
            );
            format!(
                "M{}A13 13 0 1 1 {}M{}L{}L{}",
                at(0.0, 13.0),
                at(-12.0, 5.0),
                at(-15.0, 10.0),
                at(-12.0, 5.0),
                at(-7.0, 8.0)
            )
        }
    };
    let _ = write!(out, "<path class=\"fo\" d=\"{path}\"/>");
}

/// Breath lines in front of the mouth at figure `f`.
fn breath(f: &Figure) -> String {
    let (up, fwd) = head_axes(f);
    let h = f[Joint::Head];
    let at = |a: f32, b: f32| (h.0 + fwd.0 * a + up.0 * b, h.1 + fwd.1 * a + up.1 * b);
    // Three short lines fanning out from the mouth (a little below the head's centre).
    [3.0, -1.0, -5.0]
        .iter()
        .map(|&k| poly(&[at(16.0, k - 1.0), at(27.0, 2.0 * k - 3.0)]))
        .collect()
}

fn ease(t: f32) -> f32 {
    t * t * (3.0 - 2.0 * t)
}

fn render(ill: &Illustration, still: Option<f32>) -> String {
    let (x0, y0, w, h) = CANVAS;
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"{} {} {} {}\"><style>{STYLE}</style>",
        num(x0),
        num(-(y0 + h)),
        num(w),
        num(h)
    );
    let _ = write!(
        out,
        "<path class=\"g\" d=\"M{} 4.5H{}\"/>",
        num(x0),
        num(x0 + w)
    );
    static_props(ill, &mut out);

    let mut parts = figure_parts(ill.view);
    parts.extend(attached_parts(ill));
    let has_breath = ill.props.contains(&Prop::Breath);

    match still {
        Some(t) => {
            let f = ill.frame(t);
            for p in &parts {
                let _ = write!(out, "<path class=\"{}\" d=\"{}\"/>", p.class, (p.path)(&f));
            }
            if has_breath && t > 0.5 {
                let _ = write!(out, "<path class=\"b\" d=\"{}\"/>", breath(&f));
            }
        }
        None => {
            // Ghost of the end pose, so a still image also shows where the movement goes.
            let end = ill.frame(1.0);
            out.push_str("<g class=\"o\">");
            for p in figure_parts(ill.view) {
                let _ = write!(
                    out,
                    "<path class=\"{}\" d=\"{}\"/>",
                    p.class,
                    (p.path)(&end)
                );
            }
            out.push_str("</g>");

            // Timeline: hold start, move, hold end, move back.
            let steps = match ill.poses_on_the_way() {
                0 => STEPS,
                1 => STEPS_VIA,
                _ => STEPS_VIA + 3,
            };
            let frames: Vec<Figure> = (0..=steps)
                .map(|i| ill.frame(ease(i as f32 / steps as f32)))
                .collect();
            let mut timeline: Vec<(f32, usize)> = vec![(0.0, 0), (0.12, 0)];
            for i in 1..=steps {
                timeline.push((0.12 + 0.33 * i as f32 / steps as f32, i));
            }
            timeline.push((0.62, steps));
            for i in (0..steps).rev() {
                timeline.push((0.62 + 0.33 * (steps - i) as f32 / steps as f32, i));
            }
            timeline.push((1.0, 0));
            let key_times = timeline
                .iter()
                .map(|(t, _)| format!("{t:.2}"))
                .collect::<Vec<_>>()
                .join(";");
            let anim = |attr: &str, values: &str| {
                format!(
                    "<animate attributeName=\"{attr}\" dur=\"{}s\" repeatCount=\"indefinite\" keyTimes=\"{key_times}\" values=\"{values}\"/>",
                    num(ill.seconds)
                )
            };
            for p in &parts {
                let paths: Vec<String> = frames.iter().map(|f| (p.path)(f)).collect();
                let values = timeline
                    .iter()
                    .map(|&(_, i)| paths[i].as_str())
                    .collect::<Vec<_>>()
                    .join(";");
                let _ = write!(
                    out,
                    "<path class=\"{}\" d=\"{}\">{}</path>",
                    p.class,
                    paths[0],
                    anim("d", &values)
                );
            }
            if has_breath {
                let opacity = timeline
                    .iter()
                    .map(|&(_, i)| if i == steps { "1" } else { "0" })
                    .collect::<Vec<_>>()
                    .join(";");
                let _ = write!(
                    out,
                    "<path class=\"b\" opacity=\"0\" d=\"{}\">{}</path>",
                    breath(&end),
                    anim("opacity", &opacity)
                );
            }
        }
    }
    out.push_str("</svg>\n");
    out
}
