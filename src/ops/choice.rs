//! The text names of every choice an operation takes (methods, modes, orders,
//! layouts), in one place for the CLI, pipeline files and Python: each enum gets
//! [`FromStr`] and clap's [`ValueEnum`], and [`Choice::NAMES`] lists its names.

use std::str::FromStr;

use clap::ValueEnum;
use clap::builder::PossibleValue;

use crate::audio::MixDown;
use crate::audio::WavFormat;
use crate::audio::stretch::StretchMethod;
use crate::audio::synth::SynthFormat;
use crate::engine::conv::{Method as ConvMethod, Mode as ConvMode, Op};
use crate::engine::corr::Ordering;
use crate::engine::debruijn::Algorithm as DeBruijnAlgorithm;
use crate::engine::pca::{Method as PcaMethod, Precision};
use crate::engine::poly::Basis;
use crate::store::weights::Layout;

/// A word that names none of a choice's values.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} '{got}' (expected {})", expected.join(", "))]
pub struct UnknownChoice {
    /// What was being chosen.
    pub what: &'static str,
    /// The word given.
    pub got: String,
    /// The names accepted.
    pub expected: &'static [&'static str],
}

/// An enum chosen by name.
pub trait Choice: Sized + Copy + 'static {
    /// What is being chosen (for errors).
    const WHAT: &'static str;
    /// Its values' names, in order (the first is the usual default).
    const NAMES: &'static [&'static str];
    /// Its values, in the order of [`Choice::NAMES`].
    const VALUES: &'static [Self];
    /// Other accepted spellings.
    const ALIASES: &'static [(&'static str, Self)] = &[];

    /// This value's name.
    fn name(self) -> &'static str;
}

/// Parse `s` as one of `T`'s names or aliases (ASCII case ignored).
///
/// ```
/// use eigentechno::engine::pca::Precision;
/// use eigentechno::ops::{Choice, parse_choice};
/// assert_eq!(parse_choice::<Precision>("float64").unwrap(), Precision::F64);
/// assert_eq!(Precision::F64.name(), "f64");
/// let e = parse_choice::<Precision>("f16").unwrap_err();
/// assert_eq!(e.to_string(), "unknown precision 'f16' (expected auto, f32, f64)");
/// ```
pub fn parse_choice<T: Choice + PartialEq>(s: &str) -> Result<T, UnknownChoice> {
    let word = s.trim().to_ascii_lowercase();
    T::NAMES
        .iter()
        .zip(T::VALUES)
        .map(|(n, v)| (*n, *v))
        .chain(T::ALIASES.iter().copied())
        .find(|(n, _)| *n == word)
        .map(|(_, v)| v)
        .ok_or_else(|| UnknownChoice {
            what: T::WHAT,
            got: s.to_string(),
            expected: T::NAMES,
        })
}

macro_rules! choice {
    ($ty:ty, $what:literal, [$($name:literal => $value:expr),+ $(,)?] $(, aliases [$($alias:literal => $avalue:expr),+])?) => {
        impl Choice for $ty {
            const WHAT: &'static str = $what;
            const NAMES: &'static [&'static str] = &[$($name),+];
            const VALUES: &'static [Self] = &[$($value),+];
            $(const ALIASES: &'static [(&'static str, Self)] = &[$(($alias, $avalue)),+];)?
            fn name(self) -> &'static str {
                Self::NAMES[Self::VALUES.iter().position(|v| *v == self).expect("every value is listed")]
            }
        }
        impl FromStr for $ty {
            type Err = UnknownChoice;
            fn from_str(s: &str) -> Result<Self, UnknownChoice> {
                parse_choice(s)
            }
        }
        impl ValueEnum for $ty {
            fn value_variants<'a>() -> &'a [Self] {
                <$ty as Choice>::VALUES
            }
            fn to_possible_value(&self) -> Option<PossibleValue> {
                Some(PossibleValue::new(self.name()))
            }
        }
    };
}

choice!(PcaMethod, "PCA method", [
    "auto" => PcaMethod::Auto,
    "exact" => PcaMethod::Exact,
    "randomized" => PcaMethod::Randomized,
]);
choice!(Precision, "precision", [
    "auto" => Precision::Auto,
    "f32" => Precision::F32,
    "f64" => Precision::F64,
], aliases ["float32" => Precision::F32, "float64" => Precision::F64]);
choice!(ConvMode, "mode", [
    "full" => ConvMode::Full,
    "same" => ConvMode::Same,
    "valid" => ConvMode::Valid,
]);
choice!(ConvMethod, "method", [
    "auto" => ConvMethod::Auto,
    "direct" => ConvMethod::Direct,
    "fft" => ConvMethod::Fft,
]);
choice!(Op, "operation", [
    "correlate" => Op::Correlate,
    "convolve" => Op::Convolve,
]);
choice!(Ordering, "order", [
    "cluster" => Ordering::Cluster,
    "none" => Ordering::None,
    "eigen" => Ordering::Eigen,
]);
choice!(Basis, "basis", [
    "power" => Basis::Power,
    "legendre" => Basis::Legendre,
]);
choice!(Layout, "layout", [
    "auto" => Layout::Auto,
    "oihw" => Layout::Oihw,
    "hwio" => Layout::Hwio,
], aliases ["oiw" => Layout::Oihw, "wio" => Layout::Hwio]);
choice!(StretchMethod, "stretch method", [
    "pitch" => StretchMethod::Pitch,
    "varispeed" => StretchMethod::Varispeed,
]);
choice!(WavFormat, "WAV format", [
    "pcm16" => WavFormat::Pcm16,
    "float32" => WavFormat::Float32,
]);
choice!(MixDown, "mix-down", [
    "mean" => MixDown::Mean,
    "left" => MixDown::Left,
    "right" => MixDown::Right,
]);
choice!(SynthFormat, "format", [
    "wav" => SynthFormat::Wav,
    "flac" => SynthFormat::Flac,
]);
choice!(DeBruijnAlgorithm, "de Bruijn algorithm", [
    "euler" => DeBruijnAlgorithm::Euler,
    "lyndon" => DeBruijnAlgorithm::Lyndon,
], aliases ["hierholzer" => DeBruijnAlgorithm::Euler, "fkm" => DeBruijnAlgorithm::Lyndon]);

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trips<T: Choice + PartialEq + std::fmt::Debug + FromStr + ValueEnum>() {
        for (&name, &value) in T::NAMES.iter().zip(T::VALUES) {
            assert_eq!(parse_choice::<T>(name).unwrap(), value);
            assert_eq!(value.name(), name);
            assert_eq!(
                value.to_possible_value().unwrap().get_name(),
                name,
                "clap sees the same name"
            );
        }
        let e = parse_choice::<T>("no-such-thing").unwrap_err();
        assert_eq!(e.expected, T::NAMES);
        assert!(e.to_string().contains(T::NAMES[0]), "{e}");
    }

    #[test]
    fn every_choice_round_trips_by_name() {
        round_trips::<PcaMethod>();
        round_trips::<Precision>();
        round_trips::<ConvMode>();
        round_trips::<ConvMethod>();
        round_trips::<Op>();
        round_trips::<Ordering>();
        round_trips::<Basis>();
        round_trips::<Layout>();
        round_trips::<StretchMethod>();
        round_trips::<SynthFormat>();
        round_trips::<WavFormat>();
        round_trips::<MixDown>();
        round_trips::<DeBruijnAlgorithm>();
    }

    #[test]
    fn aliases_and_case() {
        assert_eq!("float64".parse::<Precision>().unwrap(), Precision::F64);
        assert_eq!("OIHW".parse::<Layout>().unwrap(), Layout::Oihw);
        assert_eq!(" Flac ".parse::<SynthFormat>().unwrap(), SynthFormat::Flac);
        assert!("fast".parse::<ConvMethod>().is_err());
    }
}
