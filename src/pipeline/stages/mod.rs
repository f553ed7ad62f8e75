//! The built-in stage types, one file each.

mod decode;
mod folder;
mod resample;
mod write_wav;

pub use decode::DecodeType;
pub use folder::{FolderSource, FolderType, list_tracks};
pub use resample::ResampleType;
pub use write_wav::WriteWavType;

use super::stage::StageType;

/// Every built-in stage type, in the order `eigentechno stages` lists them.
pub fn builtin() -> Vec<Box<dyn StageType>> {
    vec![
        Box::new(FolderType),
        Box::new(DecodeType),
        Box::new(ResampleType),
        Box::new(WriteWavType),
    ]
}
