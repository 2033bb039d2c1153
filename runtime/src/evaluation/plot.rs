//! A picture of embeddings: their first two principal components, one colour per label, as a
//! PNG (PML's testers leave this to a hook with UMAP and matplotlib).

use super::pca::Pca;
use crate::{Error, Result};
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use tch::{Device, Kind, Tensor};

/// The plot's size in pixels.
const SIZE: (u32, u32) = (800, 600);

/// Up to this many labels get a legend entry each; more would not fit beside the points.
const MAX_LEGEND: usize = 20;

/// The name the font is registered under with plotters: ours, so that a program's own
/// `sans-serif` is left alone.
const FONT: &str = "metric-learning-sans";

/// Where a TrueType font usually is, on Debian and Ubuntu, Arch and Fedora, macOS and Windows.
const FONT_PATHS: [&str; 6] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
    "/Library/Fonts/Arial.ttf",
    "/System/Library/Fonts/Supplemental/Arial.ttf",
    r"C:\Windows\Fonts\arial.ttf",
];

/// Tableau's 20 colours (matplotlib's `tab20`), dark shades first: labels beyond 20 reuse them.
pub(crate) const PALETTE: [(u8, u8, u8); 20] = [
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
    (174, 199, 232),
    (255, 187, 120),
    (152, 223, 138),
    (255, 152, 150),
    (197, 176, 213),
    (196, 156, 148),
    (247, 182, 210),
    (199, 199, 199),
    (219, 219, 141),
    (158, 218, 229),
];

/// Saves a scatter plot of `embeddings` (`n x d`, floating point, finite, `d >= 2`, `n >= 2`)
/// projected on their first two principal components (a [`Pca`], not standardized), one colour
/// per label of `labels` (one per row), as an 800 x 600 PNG at `path`, titled `title`. The axes
/// say how much of the variance each component explains; with at most 20 distinct labels a
/// legend names each colour (more would hide the points: then there is none).
///
/// Text is drawn with a TrueType font read at run time from the first of a few standard places
/// (DejaVu Sans on Linux, Arial on macOS and Windows). Where none is found the plot is still
/// written, without any text: axes and points only, and the legend as coloured squares in
/// label order.
///
/// The file is written whole or not at all: drawn to a temporary file in the same folder, then
/// renamed over `path`.
///
/// # Errors
/// When `labels` does not have one label per row, the embeddings are empty, not 2-D, narrower
/// than 2 or not finite (see [`Pca::fit`]), or the file cannot be written ([`Error::File`],
/// naming the path: a missing folder, say).
pub fn save_embedding_plot(embeddings: &Tensor, labels: &[i64], path: impl AsRef<Path>, title: &str) -> Result<()> {
    save(embeddings, labels, path.as_ref(), title, font())
}

/// [`save_embedding_plot`], with text in `font` when there is one.
fn save(embeddings: &Tensor, labels: &[i64], path: &Path, title: &str, font: Option<&str>) -> Result<()> {
    let size = embeddings.size();
    if size.len() != 2 {
        return Err(Error::mismatch("embeddings", "a 2-D tensor (rows x width)", format!("shape {size:?}")));
    }
    if size[0] == 0 {
        return Err(Error::data(format!("the embeddings to plot are empty: expected at least 2 rows, found shape {size:?}")));
    }
    if labels.len() as i64 != size[0] {
        return Err(Error::mismatch("labels", format!("{} labels, one per row of the embeddings", size[0]), format!("{} labels", labels.len())));
    }
    if size[1] < 2 {
        return Err(Error::mismatch("embeddings", "rows of width 2 or more, to project on two components", format!("shape {size:?}")));
    }
    let folder = match path.parent() {
        Some(parent) if parent.as_os_str().is_empty() => PathBuf::from("."),
        Some(parent) => parent.to_path_buf(),
        None => return Err(file_error(path, "expected a file path, found a root or an empty path")),
    };
    if path.file_name().is_none() {
        return Err(file_error(path, "expected a file path, found no file name"));
    }
    if !folder.is_dir() {
        return Err(file_error(path, format!("the folder {} does not exist", folder.display())));
    }

    let pca = Pca::fit(embeddings, 2, false)?;
    let points = pca.transform(&embeddings.f_to_kind(Kind::Double)?)?.f_to_device(Device::Cpu)?.f_contiguous()?;
    let points = Vec::<f64>::try_from(points.f_reshape([-1])?)?;
    let points: Vec<(f64, f64)> = points.chunks_exact(2).map(|p| (p[0], p[1])).collect();

    let ratios = pca.explained_variance_ratio();
    crate::files::replace_with(path, |temporary| {
        draw(temporary, &points, labels, title, &ratios, font).map_err(|reason| format!("drawing the plot failed: {reason}"))
    })
}

fn file_error(path: &Path, reason: impl Into<String>) -> Error {
    Error::File { path: path.to_path_buf(), reason: reason.into() }
}

/// The plot, drawn into `target`; the backend is dropped (and the file written) on return.
fn draw(
    target: &Path,
    points: &[(f64, f64)],
    labels: &[i64],
    title: &str,
    ratios: &[f64],
    font: Option<&str>,
) -> std::result::Result<(), Box<dyn std::error::Error>> {
    let root = BitMapBackend::new(target, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let (x_range, y_range) = (range(points.iter().map(|p| p.0)), range(points.iter().map(|p| p.1)));

    let mut builder = ChartBuilder::on(&root);
    builder.margin(20);
    match font {
        Some(font) => builder.caption(title, (font, 24)).x_label_area_size(45).y_label_area_size(60),
        // The axes are drawn in the label areas: thin ones, for the axes alone.
        None => builder.x_label_area_size(5).y_label_area_size(5),
    };
    let mut chart = builder.build_cartesian_2d(x_range, y_range)?;
    let mut mesh = chart.configure_mesh();
    mesh.light_line_style(WHITE.mix(0.0));
    let (x_desc, y_desc) = (axis_name(1, ratios), axis_name(2, ratios));
    match font {
        Some(font) => {
            mesh.x_desc(x_desc).y_desc(y_desc).label_style((font, 13)).axis_desc_style((font, 15));
        }
        // Labels need the font; axes alone do not.
        None => {
            mesh.x_labels(0).y_labels(0);
        }
    }
    mesh.draw()?;

    let mut classes: Vec<i64> = labels.to_vec();
    classes.sort_unstable();
    classes.dedup();
    let legend = classes.len() <= MAX_LEGEND;
    for (i, class) in classes.iter().enumerate() {
        let (r, g, b) = PALETTE[i % PALETTE.len()];
        let colour = RGBColor(r, g, b);
        let series = points.iter().zip(labels).filter(|(_, l)| *l == class).map(|(&p, _)| Circle::new(p, 2, colour.mix(0.7).filled()));
        let drawn = chart.draw_series(series)?;
        if legend && font.is_some() {
            drawn.label(class.to_string()).legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], colour.filled()));
        }
    }
    match font {
        Some(font) if legend => {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .label_font((font, 13))
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .draw()?;
        }
        None if legend => {
            // Without text, the squares at least show which colours stand for labels, in
            // increasing label order from the top.
            let (width, _) = root.dim_in_pixel();
            for i in 0..classes.len() {
                let (r, g, b) = PALETTE[i % PALETTE.len()];
                let (x, y) = (width as i32 - 45, 30 + 16 * i as i32);
                root.draw(&Rectangle::new([(x, y), (x + 10, y + 10)], RGBColor(r, g, b).filled()))?;
            }
        }
        _ => {}
    }
    root.present()?;
    Ok(())
}

/// `PC1 (93.2% of the variance)`.
fn axis_name(component: usize, ratios: &[f64]) -> String {
    let ratio = ratios.get(component - 1).copied().unwrap_or(0.0);
    format!("PC{component} ({:.1}% of the variance)", 100.0 * ratio)
}

/// The values' range, widened by 5% each side so that no point sits on an axis, and to a unit
/// width around a single value.
fn range(values: impl Iterator<Item = f64>) -> std::ops::Range<f64> {
    let (low, high) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| (l.min(v), h.max(v)));
    let margin = if high > low { 0.05 * (high - low) } else { 0.5 };
    (low - margin)..(high + margin)
}

/// The font's name with plotters, once registered; `None` when no font file was found.
pub(crate) fn font() -> Option<&'static str> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let registered = *REGISTERED.get_or_init(|| {
        FONT_PATHS.iter().any(|path| match std::fs::read(path) {
            // plotters keeps fonts for the life of the program: the bytes are leaked once.
            Ok(bytes) => register_font(FONT, FontStyle::Normal, Box::leak(bytes.into_boxed_slice())).is_ok(),
            Err(_) => false,
        })
    });
    registered.then_some(FONT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    fn temp_dir() -> PathBuf {
        static N: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        let dir = std::env::temp_dir().join(format!("ml-plot-{}-{nanos}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed)));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// Width and height from a PNG's IHDR chunk, after checking the signature.
    fn png_size(path: &Path) -> (u32, u32) {
        let bytes = std::fs::read(path).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
        assert_eq!(&bytes[12..16], b"IHDR");
        let word = |at: usize| u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
        (word(16), word(20))
    }

    fn clusters(classes: i64, per_class: i64) -> (Tensor, Vec<i64>) {
        tch::manual_seed(3);
        let labels: Vec<i64> = (0..classes * per_class).map(|i| i % classes).collect();
        let centres = Tensor::randn([classes, 8], (Kind::Float, Device::Cpu)) * 5.0;
        let x = centres.index_select(0, &Tensor::from_slice(&labels)) + Tensor::randn([classes * per_class, 8], (Kind::Float, Device::Cpu));
        (x, labels)
    }

    #[test]
    fn writes_a_png_of_the_plot_size_and_no_temporary_file() {
        let dir = temp_dir();
        let (x, labels) = clusters(10, 30);
        let path = dir.join("plot.png");
        save_embedding_plot(&x, &labels, &path, "ten clusters").unwrap();
        assert_eq!(png_size(&path), SIZE);
        // Overwriting works, and only the plot is left in the folder.
        save_embedding_plot(&x, &labels, &path, "again").unwrap();
        let names: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("plot.png")]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn without_a_font_or_with_many_labels_it_still_draws() {
        let dir = temp_dir();
        let (x, labels) = clusters(10, 20);
        let (textless, with_text) = (dir.join("textless.png"), dir.join("text.png"));
        save(&x, &labels, &textless, "no text", None).unwrap();
        assert_eq!(png_size(&textless), SIZE);
        if let Some(font) = font() {
            save(&x, &labels, &with_text, "text", Some(font)).unwrap();
            // The text is drawn: the pictures differ.
            assert_ne!(std::fs::read(&textless).unwrap(), std::fs::read(&with_text).unwrap());
        }
        let (x, labels) = clusters(30, 5);
        let many = dir.join("many.png");
        save_embedding_plot(&x, &labels, &many, "30 labels, no legend").unwrap();
        assert_eq!(png_size(&many), SIZE);
        save(&x, &labels, &many, "", None).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bad_input_is_an_error() {
        let dir = temp_dir();
        let (x, labels) = clusters(3, 4);
        let path = dir.join("plot.png");
        assert!(matches!(save_embedding_plot(&x, &labels[1..], &path, ""), Err(Error::Mismatch { .. })));
        assert!(matches!(save_embedding_plot(&x.narrow(0, 0, 0), &[], &path, ""), Err(Error::Data(_))));
        assert!(matches!(save_embedding_plot(&x.narrow(1, 0, 1), &labels, &path, ""), Err(Error::Mismatch { .. })));
        let missing = dir.join("no-such-folder").join("plot.png");
        match save_embedding_plot(&x, &labels, &missing, "") {
            Err(Error::File { path, reason }) => {
                assert_eq!(path, missing);
                assert!(reason.contains("does not exist"), "{reason}");
            }
            other => panic!("expected a file error, found {other:?}"),
        }
        assert!(!path.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
