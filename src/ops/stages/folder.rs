//! `folder`: the audio files under a folder (or a single file), found by content.

use std::path::PathBuf;

use crate::error::Result;
use crate::ops::list_tracks;
use crate::pipeline::config::{ConfigError, ParamSpec, ParamType, Params};
use crate::pipeline::stage::{
    BuildContext, Kind, Mode, Stage, StageInfo, StageType, Track, TrackSource,
};

/// The `folder` stage type.
pub struct FolderType;

const PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "path",
        ty: ParamType::Path,
        default: None,
        help: "folder to walk (or one audio file); written in a pipeline file, relative to that file; given with --set, to the current folder; ~ is your home",
    },
    ParamSpec {
        name: "recursive",
        ty: ParamType::Bool,
        default: Some("true"),
        help: "walk sub-folders too",
    },
    ParamSpec {
        name: "max_tracks",
        ty: ParamType::Int,
        default: Some("0"),
        help: "take only the first N tracks in path order (0: all)",
    },
];

const INFO: StageInfo = StageInfo {
    name: "folder",
    about: "Lists the audio files under a folder, sorted by path. Files are picked by their content \
         (WAV, FLAC, MP3, Ogg, M4A/AAC, AIFF, CAF, MKV) or by an audio extension; hidden files are skipped.",
    mode: Mode::Source,
    consumes: &[],
    produces: Kind::Tracks,
    arity: None,
    params: PARAMS,
};

impl StageType for FolderType {
    fn info(&self) -> &'static StageInfo {
        &INFO
    }
    fn build(
        &self,
        params: &Params<'_>,
        _ctx: &BuildContext<'_>,
    ) -> std::result::Result<Stage, ConfigError> {
        let path = params.path("path")?;
        if !path.exists() {
            return Err(params.error("path", format!("'{}' does not exist", path.display())));
        }
        let max = params.int_in("max_tracks", 0, i64::MAX)? as usize;
        Ok(Stage::Source(Box::new(FolderSource {
            root: path,
            recursive: params.bool("recursive")?,
            max_tracks: if max == 0 { None } else { Some(max) },
        })))
    }
}

/// Lists tracks under `root`.
pub struct FolderSource {
    /// Folder or file.
    pub root: PathBuf,
    /// Walk sub-folders.
    pub recursive: bool,
    /// Cap on the number of tracks.
    pub max_tracks: Option<usize>,
}

impl TrackSource for FolderSource {
    fn tracks(&mut self) -> Result<Vec<Track>> {
        let mut tracks = list_tracks(&self.root, self.recursive)?;
        if let Some(m) = self.max_tracks {
            tracks.truncate(m);
        }
        Ok(tracks)
    }

    fn describe(&self) -> String {
        self.root.display().to_string()
    }
}
