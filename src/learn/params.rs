//! Training options, checked into [`Checked`] before anything is built (as linfa does).

use serde::{Deserialize, Serialize};

use super::data::InputShape;
use super::error::{LearnError, invalid};

/// The output layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Head {
    /// A smooth kernel machine: Gaussian kernels on learned support points (README).
    Skm,
    /// A linear layer and softmax cross-entropy: the usual baseline.
    Softmax,
    /// A linear layer trained with the one-vs-rest squared hinge (L2-SVM) loss (Tang 2013).
    Svm,
}

/// The feature extractor before the head.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Net {
    /// conv(32, 3x3) - pool - conv(64, 3x3) - pool - dense(embed), ReLUs between: images.
    Cnn,
    /// dense(hidden) - ReLU - dense(embed): feature vectors (or images, flattened).
    Mlp,
}

/// Random changes to training images, drawn from the fit's seed (vectors are never
/// changed).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Augment {
    /// Images as they are.
    #[default]
    None,
    /// Each image moved by up to 2 pixels either way, across and down (zeros fill in).
    Shift,
    /// Half the images mirrored left to right (not for digits or text).
    Flip,
    /// Both.
    ShiftFlip,
}

macro_rules! named {
    ($t:ty, $what:literal, $($v:ident = $s:literal),+) => {
        impl $t {
            /// The name the CLI and the files use.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$v => $s),+ }
            }
        }
        impl std::str::FromStr for $t {
            type Err = LearnError;
            fn from_str(s: &str) -> Result<Self, LearnError> {
                match s { $($s => Ok(Self::$v),)+ _ => Err(invalid($what, [$($s),+].join(", "), s)) }
            }
        }
    };
}
named!(Head, "head", Skm = "skm", Softmax = "softmax", Svm = "svm");
named!(Net, "net", Cnn = "cnn", Mlp = "mlp");
named!(
    Augment,
    "augment",
    None = "none",
    Shift = "shift",
    Flip = "flip",
    ShiftFlip = "shift-flip"
);

/// What `fit` is asked for. [`FitParams::check`] turns it into [`Checked`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FitParams {
    /// The output layer.
    pub head: Head,
    /// The feature extractor.
    pub net: Net,
    /// Passes over the training rows.
    pub epochs: usize,
    /// Rows per gradient step.
    pub batch: usize,
    /// Support points of the SKM head; 0 picks 10 a class.
    pub support: usize,
    /// Width of the embedding the head sees.
    pub embed: usize,
    /// Width of the MLP's hidden layer.
    pub hidden: usize,
    /// Seeds the initial weights and the order of the rows.
    pub seed: u64,
    /// AdamW's step size at the start (it decays to 1/100 of it on a cosine).
    pub learning_rate: f64,
    /// AdamW's decoupled weight decay.
    pub weight_decay: f64,
    /// Random changes to training images.
    #[serde(default)]
    pub augment: Augment,
    /// CNN: the share of flattened conv features dropped in each training step.
    #[serde(default)]
    pub dropout: f64,
}

impl Default for FitParams {
    fn default() -> Self {
        FitParams {
            head: Head::Skm,
            net: Net::Cnn,
            epochs: 10,
            batch: 128,
            support: 0,
            embed: 128,
            hidden: 128,
            seed: 0,
            learning_rate: 1e-3,
            weight_decay: 1e-4,
            augment: Augment::None,
            dropout: 0.25,
        }
    }
}

/// The architecture a model is built from and saved with (learn.json).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Architecture {
    /// The output layer.
    pub head: Head,
    /// The feature extractor.
    pub net: Net,
    /// One input row.
    pub input: InputShape,
    /// Classes (labels 0 to classes - 1).
    pub classes: usize,
    /// Embedding width.
    pub embed: usize,
    /// MLP hidden width (unused by the CNN).
    pub hidden: usize,
    /// SKM support points (0 for other heads).
    pub support: usize,
}

impl Architecture {
    /// Spatial size after the CNN's two conv(3x3) + pool(2) stages, or `None` when the
    /// image is too small for them (under 10 x 10).
    pub fn cnn_grid(&self) -> Option<(usize, usize)> {
        match self.input {
            InputShape::Image { height, width, .. } => {
                let after = |s: usize| {
                    s.checked_sub(2)
                        .map(|s| s / 2)?
                        .checked_sub(2)
                        .map(|s| s / 2)
                };
                match (after(height)?, after(width)?) {
                    (0, _) | (_, 0) => None,
                    hw => Some(hw),
                }
            }
            InputShape::Vector { .. } => None,
        }
    }
}

/// Options that passed [`FitParams::check`], with the architecture they give.
#[derive(Clone, Debug, PartialEq)]
pub struct Checked {
    /// The options as given (support resolved).
    pub params: FitParams,
    /// The model to build.
    pub architecture: Architecture,
}

impl FitParams {
    /// Check every option against the data's shape and class count.
    pub fn check(&self, input: InputShape, classes: usize) -> Result<Checked, LearnError> {
        let p = self;
        let range = |name: &'static str, v: usize, lo: usize, hi: usize| {
            if v < lo || v > hi {
                Err(invalid(name, format!("{lo} to {hi}"), v))
            } else {
                Ok(())
            }
        };
        range("epochs", p.epochs, 1, 100_000)?;
        range("batch", p.batch, 1, 65_536)?;
        range("embed", p.embed, 1, 4_096)?;
        range("hidden", p.hidden, 1, 16_384)?;
        if classes < 2 {
            return Err(invalid("labels", "at least 2 classes", classes));
        }
        let support = match p.head {
            Head::Skm if p.support == 0 => 10 * classes,
            Head::Skm => {
                range("support", p.support, classes, 100_000)?;
                p.support
            }
            _ => 0,
        };
        if !(p.learning_rate.is_finite() && p.learning_rate > 0.0 && p.learning_rate <= 10.0) {
            return Err(invalid("learning rate", "in (0, 10]", p.learning_rate));
        }
        if !(p.dropout.is_finite() && (0.0..0.95).contains(&p.dropout)) {
            return Err(invalid("dropout", "in [0, 0.95)", p.dropout));
        }
        if !(p.weight_decay.is_finite() && (0.0..=1.0).contains(&p.weight_decay)) {
            return Err(invalid("weight decay", "in [0, 1]", p.weight_decay));
        }
        let architecture = Architecture {
            head: p.head,
            net: p.net,
            input,
            classes,
            embed: p.embed,
            hidden: p.hidden,
            support,
        };
        if p.net == Net::Cnn {
            match input {
                InputShape::Vector { features } => {
                    return Err(invalid(
                        "net",
                        "mlp for feature vectors (cnn needs images)",
                        format!("cnn on rows of {features} features"),
                    ));
                }
                InputShape::Image { height, width, .. } if architecture.cnn_grid().is_none() => {
                    return Err(invalid(
                        "net",
                        "images of at least 10 x 10 for cnn",
                        format!("{height} x {width}"),
                    ));
                }
                _ => {}
            }
        }
        Ok(Checked {
            params: FitParams {
                support,
                ..p.clone()
            },
            architecture,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IMAGE: InputShape = InputShape::Image {
        channels: 1,
        height: 28,
        width: 28,
    };

    #[test]
    fn defaults_check_and_resolve_the_support() {
        let c = FitParams::default().check(IMAGE, 10).unwrap();
        assert_eq!(c.architecture.support, 100);
        assert_eq!(c.architecture.cnn_grid(), Some((5, 5)));
        let soft = FitParams {
            head: Head::Softmax,
            ..Default::default()
        };
        assert_eq!(soft.check(IMAGE, 10).unwrap().architecture.support, 0);
    }

    #[test]
    fn bad_options_name_themselves() {
        let vector = InputShape::Vector { features: 4 };
        for (p, input, says) in [
            (
                FitParams {
                    epochs: 0,
                    ..Default::default()
                },
                IMAGE,
                "invalid epochs",
            ),
            (
                FitParams {
                    batch: 0,
                    ..Default::default()
                },
                IMAGE,
                "invalid batch",
            ),
            (
                FitParams {
                    support: 3,
                    ..Default::default()
                },
                IMAGE,
                "invalid support",
            ),
            (
                FitParams {
                    learning_rate: f64::NAN,
                    ..Default::default()
                },
                IMAGE,
                "learning rate",
            ),
            (FitParams::default(), vector, "cnn on rows of 4 features"),
            (
                FitParams::default(),
                InputShape::Image {
                    channels: 1,
                    height: 9,
                    width: 28,
                },
                "9 x 28",
            ),
        ] {
            let e = p.check(input, 10).unwrap_err().to_string();
            assert!(e.contains(says), "{e} should say {says}");
        }
        assert!(
            "knn"
                .parse::<Head>()
                .unwrap_err()
                .to_string()
                .contains("skm, softmax, svm")
        );
        assert_eq!("mlp".parse::<Net>().unwrap(), Net::Mlp);
    }
}
