//! Sweeps: `--set losses.metric_loss.margin=0.05,0.1,0.2` (repeatable; every combination runs)
//! makes one variation of the file per value, each run one after the other, into sibling run
//! folders, and ends with a table of each one's scores.

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
        let path: Vec<String> = path.trim().split('.').map(str::to_string).collect();
        if path.iter().any(String::is_empty) {
            return Err(format!("--set {argument}: the path `{}` has an empty part", path.join(".")));
        }
        let values: Vec<Value> = values.split(',').map(|v| v.trim().parse::<Value>().unwrap_or_else(|_| Value::from(v.trim()))).collect();
        Ok(Setting { path, values })
    }
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
