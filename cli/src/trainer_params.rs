//! `[params]`: a trainer's hyper-parameters (its `#[param]` keys), each read as the type its
//! declaration gives it (`Declared::KEYS`' `value_type`), so a file and the Rust builder take
//! the same values.

use crate::diagnostic::Diagnostics;
use crate::experiment::{describe, transforms, Spec};
use crate::registry::{transforms::TRANSFORMS, Context};
use metric_learning::declared::{KeySpec, KeyValues};
use metric_learning::transforms::Augmentations;
use metric_learning::Result;
use toml_edit::Item;

/// A hyper-parameter's value, of its declared type.
pub enum ParamValue {
    Count(usize),
    Whole(i64),
    Number(f64),
    Flag(bool),
    Wholes(Vec<i64>),
    /// UnsupervisedEmbeddingsUsingAugmentations' `transforms`: the transforms of each view,
    /// and the shape that flat samples are seen as.
    Views { views: Vec<Vec<Spec>>, image_shape: Option<Vec<i64>> },
}

/// The types `[params]` can give, by the declaration's spelling.
const TYPES: &[(&str, &str)] = &[
    ("usize", "a whole number, 0 or more"),
    ("i64", "a whole number"),
    ("f64", "a number"),
    ("bool", "true or false"),
    ("Vec<i64>", "a list of whole numbers"),
    ("Augmentations", "a table with `views`, a list of views, each a list of transforms (and `image_shape` for flat samples)"),
];

/// The declared type in words, for errors.
fn expected(spec: &KeySpec) -> &'static str {
    TYPES.iter().find(|(t, _)| *t == spec.value_type).map_or("a value files cannot give yet", |(_, words)| words)
}

/// `item` as `spec`'s declared type; mistakes go into `diagnostics`.
pub fn read(spec: &KeySpec, item: &Item, diagnostics: &mut Diagnostics) -> Option<ParamValue> {
    let what = format!("params.{}", spec.name);
    let wrong = |diagnostics: &mut Diagnostics| {
        diagnostics.error(item.span(), format!("`{what}` must be {} (it is declared `{}`), found {}", expected(spec), spec.value_type, describe(item)));
        None
    };
    match spec.value_type {
        "usize" => match item.as_integer() {
            Some(n) if n >= 0 => Some(ParamValue::Count(n as usize)),
            _ => wrong(diagnostics),
        },
        "i64" => item.as_integer().map(ParamValue::Whole).or_else(|| wrong(diagnostics)),
        "f64" => item.as_float().or_else(|| item.as_integer().map(|i| i as f64)).map(ParamValue::Number).or_else(|| wrong(diagnostics)),
        "bool" => item.as_bool().map(ParamValue::Flag).or_else(|| wrong(diagnostics)),
        "Vec<i64>" => match item.as_array().and_then(|a| a.iter().map(|v| v.as_integer()).collect::<Option<Vec<i64>>>()) {
            Some(list) => Some(ParamValue::Wholes(list)),
            None => wrong(diagnostics),
        },
        "Augmentations" => {
            let Some(body) = item.as_table_like() else { return wrong(diagnostics) };
            let mut views = Vec::new();
            let mut image_shape = None;
            for (key, value) in body.iter() {
                match key {
                    "views" => match value.as_array() {
                        Some(list) => {
                            for (i, view) in list.iter().enumerate() {
                                views.push(transforms(&Item::Value(view.clone()), &format!("{what}.views[{i}]"), diagnostics)?);
                            }
                        }
                        None => return wrong(diagnostics),
                    },
                    "image_shape" => match value.as_array().and_then(|a| a.iter().map(|v| v.as_integer()).collect::<Option<Vec<i64>>>()) {
                        Some(shape) if !shape.is_empty() && shape.iter().all(|&d| d > 0) => image_shape = Some(shape),
                        _ => {
                            diagnostics.error(value.span(), format!("`{what}.image_shape` must be a list of positive sizes ([1, 28, 28]), found {}", describe(value)));
                            return None;
                        }
                    },
                    other => {
                        diagnostics.error(body.key(other).and_then(|k| k.span()), format!("`{what}` has no `{other}`: it takes `views` and `image_shape`"));
                        return None;
                    }
                }
            }
            if views.is_empty() {
                diagnostics.error(item.span(), format!("`{what}` needs `views`: at least one view, a list of transforms"));
                return None;
            }
            Some(ParamValue::Views { views, image_shape })
        }
        _ => {
            diagnostics.error(item.span(), format!("`{what}` is declared `{}`, which files cannot give yet", spec.value_type));
            None
        }
    }
}

impl ParamValue {
    /// Gives `name` this value, made into its declared type.
    pub fn insert(&self, name: &str, values: &mut KeyValues, context: &Context) -> Result<()> {
        match self {
            ParamValue::Count(n) => values.insert(name, *n),
            ParamValue::Whole(n) => values.insert(name, *n),
            ParamValue::Number(x) => values.insert(name, *x),
            ParamValue::Flag(b) => values.insert(name, *b),
            ParamValue::Wholes(list) => values.insert(name, list.clone()),
            ParamValue::Views { views, image_shape } => {
                let mut made = Vec::new();
                for view in views {
                    let mut transforms = Vec::new();
                    for spec in view {
                        transforms.push(TRANSFORMS.make(spec, context)?);
                    }
                    made.push(Box::new(metric_learning::transforms::Compose(transforms)) as Box<dyn metric_learning::transforms::Transform>);
                }
                let augmentations = Augmentations::new(made);
                values.insert(name, match image_shape {
                    Some(shape) => augmentations.image_shape(shape.clone()),
                    None => augmentations,
                });
            }
        }
        Ok(())
    }
}
