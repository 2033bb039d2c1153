//! The plots hook: each loss's and each learning rate's mean per epoch, drawn as curves into PNG
//! files at every epoch's end (PML leaves curves to a dashboard; a file needs none).

use super::epoch_means::EpochMeans;
use super::Hook;
use crate::engine::Trainer;
use crate::trainer::{KeyName, TrainerKeys};
use crate::{Error, Result};
use plotters::prelude::*;
use serde_json::{json, Value};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

/// The plots' size in pixels.
const SIZE: (u32, u32) = (800, 600);

/// Curves take the embedding plot's colours; its first 10 are matplotlib's `tab10`, beyond
/// which curves reuse them (the lighter shades are hard to tell apart on a line).
const CURVE_COLOURS: usize = 10;

/// One epoch's means.
#[derive(Clone, Debug, PartialEq)]
struct EpochPoint {
    epoch: usize,
    losses: Vec<(String, f64)>,
    learning_rates: Vec<(String, f64)>,
}

/// Curves of the training, redrawn at every epoch's end into `<run folder>/plots/`:
///
/// - `losses.png`: the total loss and each loss (weighted), mean over each epoch's iterations
/// - `learning_rates.png`: each key's learning rate, mean over each epoch (when some key has an
///   optimizer)
///
/// 800 x 600 PNGs, x the epoch, written whole or not at all (a temporary file renamed over the
/// previous one). Text is drawn with the font the embedding plots use; without one, the curves
/// are drawn without text. A checkpoint keeps the history, so a resumed run's curves start at
/// epoch 1.
#[derive(Default)]
pub struct Plots {
    /// The builder's folder, if given.
    folder: Option<PathBuf>,
    /// The folder in use, once known (`on_start`).
    resolved: Option<PathBuf>,
    history: Vec<EpochPoint>,
    /// This epoch's running means.
    losses: EpochMeans,
    learning_rates: EpochMeans,
}

impl Plots {
    /// Plots into `<run folder>/plots` (the builder's `run_folder`).
    pub fn new() -> Plots {
        Plots::default()
    }

    /// Plots into `folder` instead (created if missing).
    pub fn folder(mut self, folder: impl Into<PathBuf>) -> Plots {
        self.folder = Some(folder.into());
        self
    }

    /// Every name's curve among the history's points, in the order names first came.
    fn curves(&self, pick: impl Fn(&EpochPoint) -> &[(String, f64)]) -> Vec<(String, Vec<(f64, f64)>)> {
        let mut curves: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
        for point in &self.history {
            for (name, value) in pick(point) {
                // A non-finite mean has no place on the axes: that epoch is left out of its curve.
                if !value.is_finite() {
                    continue;
                }
                let at = (point.epoch as f64, *value);
                match curves.iter_mut().find(|(n, _)| n == name) {
                    Some((_, points)) => points.push(at),
                    None => curves.push((name.clone(), vec![at])),
                }
            }
        }
        curves
    }

    fn draw(&self, folder: &Path) -> Result<()> {
        let font = crate::evaluation::plot::font();
        let losses = self.curves(|p| &p.losses);
        if !losses.is_empty() {
            draw_curves(&folder.join("losses.png"), "Losses, mean per epoch", "loss", &losses, font)?;
        }
        let rates = self.curves(|p| &p.learning_rates);
        if !rates.is_empty() {
            draw_curves(&folder.join("learning_rates.png"), "Learning rates, mean per epoch", "learning rate", &rates, font)?;
        }
        Ok(())
    }
}

impl<T: TrainerKeys> Hook<T> for Plots {
    fn name(&self) -> String {
        "plots".into()
    }

    fn on_start(&mut self, trainer: &mut Trainer<T>) -> Result<()> {
        if self.resolved.is_some() {
            return Ok(());
        }
        let folder = self.folder.clone().or_else(|| trainer.run_folder().map(|run| run.join("plots"))).ok_or_else(|| {
            Error::config(
                "the plots hook draws PNG files into a folder: give the builder a `run_folder(...)` (they go to <run folder>/plots) \
                 or the hook a `.folder(...)`; found neither",
            )
        })?;
        std::fs::create_dir_all(&folder).map_err(|e| Error::File { path: folder.clone(), reason: format!("cannot create the plots folder: {e}") })?;
        self.resolved = Some(folder);
        Ok(())
    }

    fn on_iteration_end(&mut self, trainer: &mut Trainer<T>) -> Result<()> {
        self.losses.add("total_loss", trainer.total_loss());
        for (loss, value) in trainer.losses() {
            self.losses.add(&loss.name(), value);
        }
        for (key, lr) in trainer.learning_rates() {
            self.learning_rates.add(&key, lr);
        }
        Ok(())
    }

    fn on_epoch_end(&mut self, trainer: &mut Trainer<T>) -> Result<ControlFlow<()>> {
        let point = EpochPoint { epoch: trainer.epoch(), losses: self.losses.means(), learning_rates: self.learning_rates.means() };
        self.losses.clear();
        self.learning_rates.clear();
        self.history.retain(|p| p.epoch != point.epoch);
        self.history.push(point);
        let folder = self.resolved.clone().ok_or_else(|| Error::config("the plots hook was not started: its folder is unknown"))?;
        self.draw(&folder)?;
        Ok(ControlFlow::Continue(()))
    }

    /// `{"history": [{"epoch": 1, "losses": [["total_loss", 0.5], ...], "learning_rates": [...]}],
    /// "losses": ..., "learning_rates": ...}`: the epochs' means and this epoch's running sums.
    fn state(&mut self) -> Result<Value> {
        let pairs = |values: &[(String, f64)]| -> Value { values.iter().map(|(name, v)| json!([name, v])).collect() };
        let history: Vec<Value> = self
            .history
            .iter()
            .map(|p| json!({ "epoch": p.epoch, "losses": pairs(&p.losses), "learning_rates": pairs(&p.learning_rates) }))
            .collect();
        Ok(json!({ "history": history, "losses": self.losses.state(), "learning_rates": self.learning_rates.state() }))
    }

    fn load_state(&mut self, state: &Value) -> Result<()> {
        if state.is_null() {
            return Ok(());
        }
        let bad = || Error::data(format!("expected {{\"history\": [{{\"epoch\", \"losses\", \"learning_rates\"}}], ...}}, found {state}"));
        // JSON has no NaN: serde_json writes it as null, read back as NaN.
        let pairs = |values: &Value| -> Option<Vec<(String, f64)>> {
            values
                .as_array()?
                .iter()
                .map(|pair| match pair.as_array().map(Vec::as_slice) {
                    Some([name, value]) => Some((name.as_str()?.to_string(), if value.is_null() { f64::NAN } else { value.as_f64()? })),
                    _ => None,
                })
                .collect()
        };
        let history = state["history"]
            .as_array()
            .ok_or_else(bad)?
            .iter()
            .map(|p| Some(EpochPoint { epoch: p["epoch"].as_u64()? as usize, losses: pairs(&p["losses"])?, learning_rates: pairs(&p["learning_rates"])? }))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(bad)?;
        let losses = EpochMeans::from_state(&state["losses"])?;
        let learning_rates = EpochMeans::from_state(&state["learning_rates"])?;
        self.history = history;
        self.losses = losses;
        self.learning_rates = learning_rates;
        Ok(())
    }
}

/// Draws `curves` (x the epoch) into `path`, through a temporary file renamed over it.
pub(crate) fn draw_curves(path: &Path, title: &str, y_desc: &str, curves: &[(String, Vec<(f64, f64)>)], font: Option<&str>) -> Result<()> {
    draw_steps(path, title, "epoch", y_desc, curves, font)
}

/// Curves over whole-numbered steps (`x_desc`: "epoch", "variation"), one `(name, [(x, y)])`
/// each, drawn as the plots hook draws its own into an 800 x 600 PNG at `path`, written whole
/// or not at all: for a program's own charts (the command line's sweeps).
///
/// # Errors
/// [`Error::File`] when the file cannot be drawn or written.
pub fn save_curves(path: impl AsRef<Path>, title: &str, x_desc: &str, y_desc: &str, curves: &[(String, Vec<(f64, f64)>)]) -> Result<()> {
    draw_steps(path.as_ref(), title, x_desc, y_desc, curves, crate::evaluation::plot::font())
}

fn draw_steps(path: &Path, title: &str, x_desc: &str, y_desc: &str, curves: &[(String, Vec<(f64, f64)>)], font: Option<&str>) -> Result<()> {
    crate::files::replace_with(path, |temporary| draw(temporary, title, x_desc, y_desc, curves, font).map_err(|reason| format!("drawing the plot failed: {reason}")))
}

/// The chart, drawn into `target`; the backend is dropped (and the file written) on return.
fn draw(
    target: &Path,
    title: &str,
    x_desc: &str,
    y_desc: &str,
    curves: &[(String, Vec<(f64, f64)>)],
    font: Option<&str>,
) -> std::result::Result<(), Box<dyn std::error::Error>> {
    let root = BitMapBackend::new(target, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let points = || curves.iter().flat_map(|(_, points)| points.iter());
    let (first, last) = points().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), p| (l.min(p.0), h.max(p.0)));
    // One epoch alone sits in the middle of a range of two.
    let x_range = if first < last { first..last } else { (first - 1.0)..(last + 1.0) };
    // At most one tick per epoch, so that the ticks fall on whole epochs.
    let x_ticks = ((x_range.end - x_range.start).round() as usize + 1).min(11);
    let y_range = range(points().map(|p| p.1));

    let mut builder = ChartBuilder::on(&root);
    builder.margin(20);
    match font {
        Some(font) => builder.caption(title, (font, 24)).x_label_area_size(45).y_label_area_size(70),
        // The axes are drawn in the label areas: thin ones, for the axes alone.
        None => builder.x_label_area_size(5).y_label_area_size(5),
    };
    let mut chart = builder.build_cartesian_2d(x_range, y_range)?;
    let mut mesh = chart.configure_mesh();
    mesh.light_line_style(WHITE.mix(0.0));
    match font {
        Some(font) => {
            mesh.x_labels(x_ticks)
                .x_label_formatter(&whole_epoch)
                .x_desc(x_desc)
                .y_desc(y_desc)
                .label_style((font, 13))
                .axis_desc_style((font, 15));
        }
        // Labels need the font; axes alone do not.
        None => {
            mesh.x_labels(0).y_labels(0);
        }
    }
    mesh.draw()?;

    for (i, (name, points)) in curves.iter().enumerate() {
        let (r, g, b) = crate::evaluation::plot::PALETTE[i % CURVE_COLOURS];
        let colour = RGBColor(r, g, b);
        // The first curve (the total loss) is drawn wider, so that it shows under a single loss
        // equal to it.
        let width = if i == 0 { 4 } else { 2 };
        let drawn = chart.draw_series(LineSeries::new(points.iter().copied(), colour.stroke_width(width)).point_size(3))?;
        if font.is_some() {
            drawn.label(name.as_str()).legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2)));
        }
    }
    if let Some(font) = font {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .label_font((font, 13))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()?;
    }
    root.present()?;
    Ok(())
}

/// An x tick's label: the epoch, or nothing between epochs.
fn whole_epoch(x: &f64) -> String {
    if (x - x.round()).abs() < 1e-6 {
        format!("{}", x.round())
    } else {
        String::new()
    }
}

/// The values' range, widened by 5% each side; around a single value, by a tenth of it (a
/// learning rate of 0.001 is not lost in a unit-wide axis).
fn range(values: impl Iterator<Item = f64>) -> std::ops::Range<f64> {
    let (low, high) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| (l.min(v), h.max(v)));
    if !(low.is_finite() && high.is_finite()) {
        return 0.0..1.0;
    }
    let margin = if high > low {
        0.05 * (high - low)
    } else if low != 0.0 {
        0.1 * low.abs()
    } else {
        0.5
    };
    (low - margin)..(high + margin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curves_and_their_state() {
        let mut plots = Plots::new();
        let point = |epoch, total: f64| EpochPoint {
            epoch,
            losses: vec![("total_loss".into(), total), ("metric_loss".into(), total)],
            learning_rates: vec![("trunk".into(), 0.001)],
        };
        plots.history = vec![point(1, 0.5), point(2, f64::NAN), point(3, 0.25)];
        plots.losses.add("total_loss", 0.1);
        let curves = plots.curves(|p| &p.losses);
        assert_eq!(curves[0], ("total_loss".to_string(), vec![(1.0, 0.5), (3.0, 0.25)]), "the NaN epoch is left out");
        assert_eq!(curves[1].0, "metric_loss");

        let state = <Plots as Hook<crate::trainers::MetricLossOnly>>::state(&mut plots).unwrap();
        let mut restored = Plots::new();
        <Plots as Hook<crate::trainers::MetricLossOnly>>::load_state(&mut restored, &state).unwrap();
        assert_eq!(restored.history.len(), 3);
        assert_eq!(restored.history[0], plots.history[0]);
        assert!(restored.history[1].losses[0].1.is_nan());
        assert_eq!(restored.losses, plots.losses);
        assert!(<Plots as Hook<crate::trainers::MetricLossOnly>>::load_state(&mut restored, &json!({ "history": 3 })).is_err());
    }

    #[test]
    fn one_epoch_or_none_with_text_or_without() {
        let dir = std::env::temp_dir().join(format!("ml-plots-{}-{:?}", std::process::id(), std::thread::current().id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("losses.png");
        for font in [None, crate::evaluation::plot::font()] {
            draw_curves(&path, "one epoch", "loss", &[("total_loss".into(), vec![(1.0, 0.3)])], font).unwrap();
            let bytes = std::fs::read(&path).unwrap();
            assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        }
        let names: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("losses.png")], "no temporary file is left");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
