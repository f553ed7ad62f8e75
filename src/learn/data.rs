//! Inputs as the networks see them: rows of f32 features, flat or images.

use serde::{Deserialize, Serialize};

use super::error::LearnError;

/// The shape of one input row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum InputShape {
    /// A feature vector.
    Vector {
        /// Features per row.
        features: usize,
    },
    /// An image, stored channel-major (C, H, W) within its row.
    Image {
        /// Channels (1 for grey).
        channels: usize,
        /// Rows of pixels.
        height: usize,
        /// Columns of pixels.
        width: usize,
    },
}

impl InputShape {
    /// Values per row.
    pub fn len(&self) -> usize {
        match *self {
            InputShape::Vector { features } => features,
            InputShape::Image {
                channels,
                height,
                width,
            } => channels * height * width,
        }
    }

    /// Whether a row holds no value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl std::fmt::Display for InputShape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            InputShape::Vector { features } => write!(f, "rows of {features} features"),
            InputShape::Image {
                channels,
                height,
                width,
            } => write!(f, "{channels} x {height} x {width} images"),
        }
    }
}

/// Input rows, one after another in `values`.
#[derive(Clone, Debug, PartialEq)]
pub struct Inputs {
    /// `n * shape.len()` values, row-major.
    pub values: Vec<f32>,
    /// The shape of each row.
    pub shape: InputShape,
}

impl Inputs {
    /// Rows of `shape`, checked: whole rows, at least one, every value finite.
    pub fn new(values: Vec<f32>, shape: InputShape) -> Result<Inputs, LearnError> {
        let d = shape.len();
        if d == 0 {
            return Err(LearnError::Data("rows of no value".into()));
        }
        if values.is_empty() || !values.len().is_multiple_of(d) {
            return Err(LearnError::Data(format!(
                "{} values do not make whole rows of {d}",
                values.len()
            )));
        }
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(LearnError::Data(format!(
                "row {}, column {} is {} (every input must be finite)",
                i / d,
                i % d,
                values[i]
            )));
        }
        Ok(Inputs { values, shape })
    }

    /// The number of rows.
    pub fn rows(&self) -> usize {
        self.values.len() / self.shape.len()
    }

    /// The rows at `index`, in that order.
    pub fn select(&self, index: &[usize]) -> Inputs {
        let d = self.shape.len();
        let mut values = Vec::with_capacity(index.len() * d);
        for &i in index {
            values.extend_from_slice(&self.values[i * d..(i + 1) * d]);
        }
        Inputs {
            values,
            shape: self.shape,
        }
    }
}

/// Check labels against their inputs (one per row) and return the number of classes:
/// the largest label + 1 (a class may be absent from a small split).
pub fn check_labels(inputs: &Inputs, labels: &[u32]) -> Result<usize, LearnError> {
    if labels.len() != inputs.rows() {
        return Err(LearnError::Data(format!(
            "{} labels for {} rows (one label a row)",
            labels.len(),
            inputs.rows()
        )));
    }
    let classes = labels.iter().max().map_or(0, |&m| m as usize + 1);
    if classes < 2 {
        return Err(LearnError::Data(format!(
            "labels of {} class (at least 2 are needed)",
            classes
        )));
    }
    Ok(classes)
}
