//! Sweeps: `--set losses.metric_loss.margin=0.05,0.1,0.2` (repeatable; every combination runs),
//! or the file's `[sweep]` table (`"losses.metric_loss.margin" = [0.05, 0.1, 0.2]`), makes one
//! variation of the file per value, each run one after the other, into sibling run folders,
//! and ends with a table of each one's scores.

use toml_edit::{DocumentMut, Item, Table, Value};

/// One `--set PATH=V1,V2,...`.
pub struct Setting {
    path: Vec<String>,
    values: Vec<Value>,
}

impl Setting {
    /// `PATH=V1,V2,...`; each value is TOML (`0.1`, `true`, `"hard"`), a bare word a string.
    pub fn parse(argument: &str) -> Result<Setting, String> {
        let (path, values) = argument.split_once('=').ok_or_else(|| format!("--set {argument}: expected PATH=VALUE[,VALUE...], such as losses.metric_loss.margin=0.05,0.1"))?;
        let values: Vec<Value> = values.split(',').map(|v| v.trim().parse::<Value>().unwrap_or_else(|_| Value::from(v.trim()))).collect();
        Setting::new(path, values).map_err(|e| format!("--set {argument}: {e}"))
    }

    fn new(path: &str, values: Vec<Value>) -> Result<Setting, String> {
        let path: Vec<String> = path.trim().split('.').map(str::to_string).collect();
        if path.iter().any(String::is_empty) {
            return Err(format!("the path `{}` has an empty part", path.join(".")));
        }
        if path[0] == "sweep" {
            return Err("a sweep cannot set `sweep`".into());
        }
        Ok(Setting { path, values })
    }
}

/// The file's `[sweep]` table: each key a dotted path, each value the list of its values.
pub fn in_file(source: &str) -> Result<Vec<Setting>, String> {
    let document: DocumentMut = source.parse().map_err(|e| format!("not valid TOML: {e}"))?;
    let Some(item) = document.get("sweep") else { return Ok(Vec::new()) };
    let table = item.as_table_like().ok_or("`sweep` must be a table of \"path\" = [values]")?;
    table
        .iter()
        .map(|(path, values)| {
            let values = values.as_array().filter(|a| !a.is_empty()).ok_or_else(|| format!("`sweep.\"{path}\"` must be a non-empty list of values"))?;
            // Each written as `--set` would write it (`key = value`).
            let values = values
                .iter()
                .map(|v| {
                    let mut v = v.clone();
                    v.decor_mut().clear();
                    v
                })
                .collect();
            Setting::new(path, values)
        })
        .collect()
}

/// One variation: its label (`margin=0.05`) and the file's text with its values set.
pub struct Variation {
    pub label: String,
    pub text: String,
}

/// Every combination of the settings' values applied to `source` (the file as it is when there
/// are no settings).
pub fn variations(source: &str, settings: &[Setting]) -> Result<Vec<Variation>, String> {
    let mut combinations: Vec<Vec<(&Setting, &Value)>> = vec![Vec::new()];
    for setting in settings {
        combinations = combinations.into_iter().flat_map(|done| setting.values.iter().map(move |v| [done.clone(), vec![(setting, v)]].concat())).collect();
    }
    combinations
        .into_iter()
        .map(|combination| {
            let mut document: DocumentMut = source.parse().map_err(|e| format!("not valid TOML: {e}"))?;
            if !combination.is_empty() {
                // A variation is one run: its record has no sweep left in it.
                document.remove("sweep");
            }
            let mut labels = Vec::new();
            for (setting, value) in &combination {
                set(document.as_table_mut(), &setting.path, (*value).clone())?;
                labels.push(format!("{}={}", setting.path.join("."), value.to_string().trim()));
            }
            let label = if labels.is_empty() { "as written".to_string() } else { labels.join(" ") };
            Ok(Variation { label, text: document.to_string() })
        })
        .collect()
}

fn set(table: &mut Table, path: &[String], value: Value) -> Result<(), String> {
    let (last, parents) = path.split_last().ok_or("an empty path")?;
    let mut current = table;
    for part in parents {
        let entry = current.entry(part).or_insert_with(|| {
            let mut table = Table::new();
            table.set_implicit(true);
            Item::Table(table)
        });
        current = entry.as_table_mut().ok_or_else(|| format!("--set {}: `{part}` is not a table", path.join(".")))?;
    }
    current.insert(last, Item::Value(value));
    Ok(())
}

/// A variation's run folder: the file's, with the variation's values after it (a sibling).
pub fn run_folder(base: &str, label: &str) -> String {
    let suffix: String = label.chars().map(|c| if c.is_alphanumeric() || "=.-_".contains(c) { c } else { '_' }).collect();
    format!("{}-{suffix}", base.trim_end_matches('/'))
}

/// The best value of each metric over a run's validations (`logs/validation.csv`: `epoch,
/// split,<metric>...`), `None` when it has none.
pub fn best_validation(run_folder: &str) -> Option<Vec<(String, f64)>> {
    let log = std::fs::read_to_string(std::path::Path::new(run_folder).join("logs").join("validation.csv")).ok()?;
    let mut lines = log.lines();
    let header: Vec<&str> = lines.next()?.split(',').collect();
    let mut best: Vec<(String, f64)> = header.iter().skip(2).map(|name| (name.to_string(), f64::NEG_INFINITY)).collect();
    for line in lines {
        for (slot, value) in best.iter_mut().zip(line.split(',').skip(2)) {
            if let Ok(value) = value.parse::<f64>() {
                slot.1 = slot.1.max(value);
            }
        }
    }
    best.iter().any(|(_, v)| v.is_finite()).then_some(best)
}

/// One variation's results: its label, the test set's scores after training, its best
/// validation metrics.
pub type Row = (String, Option<metric_learning::evaluation::KnnScores>, Option<Vec<(String, f64)>>);

/// The sweep's table: each variation's test scores after training and, when it validated, its
/// best validation metrics.
pub fn table(file: &str, rows: &[Row]) -> String {
    use std::fmt::Write;
    let width = rows.iter().map(|(label, _, _)| label.len()).max().unwrap_or(9).max(9);
    let mut out = format!("\nsweep of {file} (test set after training):\n{:width$}  precision_at_1  r_precision  map_at_r\n", "variation");
    for (label, scores, _) in rows {
        let _ = match scores {
            Some(s) => writeln!(out, "{label:width$}  {:>14.3}  {:>11.3}  {:>8.3}", s.precision_at_1, s.r_precision, s.map_at_r),
            None => writeln!(out, "{label:width$}  (no [test] set to score)"),
        };
    }
    let validated: Vec<&Row> = rows.iter().filter(|(_, _, best)| best.is_some()).collect();
    if let Some((_, _, Some(first))) = validated.first() {
        let _ = writeln!(out, "\nbest validation of each variation:\n{:width$}  {}", "variation", first.iter().map(|(name, _)| name.as_str()).collect::<Vec<_>>().join("  "));
        for (label, _, best) in &validated {
            let cells: Vec<String> = best.iter().flatten().map(|(name, value)| format!("{value:>w$.3}", w = name.len())).collect();
            let _ = writeln!(out, "{label:width$}  {}", cells.join("  "));
        }
    }
    out
}

/// The table's test scores as a PNG, one curve per metric over the variations (numbered as the
/// table lists them), at `path`.
pub fn plot(path: &str, rows: &[Row]) -> metric_learning::Result<()> {
    let scored: Vec<(f64, &metric_learning::evaluation::KnnScores)> = rows.iter().enumerate().filter_map(|(i, (_, scores, _))| scores.as_ref().map(|s| ((i + 1) as f64, s))).collect();
    let curve = |name: &str, value: fn(&metric_learning::evaluation::KnnScores) -> f64| (name.to_string(), scored.iter().map(|(x, s)| (*x, value(s))).collect::<Vec<_>>());
    let curves = [curve("precision_at_1", |s| s.precision_at_1), curve("r_precision", |s| s.r_precision), curve("map_at_r", |s| s.map_at_r)];
    metric_learning::hooks::save_curves(path, "Sweep: the test set after training", "variation (as the table lists them)", "score", &curves)
}
