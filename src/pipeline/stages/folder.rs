//! `folder`: the audio files under a folder (or a single file), found by content.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::audio::sniff;
use crate::error::{Error, Result};
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
        help: "folder to walk (or one audio file); relative to the pipeline file",
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

fn is_hidden(name: &std::ffi::OsStr) -> bool {
    name.to_string_lossy().starts_with('.')
}

/// The audio files under `root`, sorted by relative path, with unique output names.
/// A file counts as audio if its first bytes say so, or if it has an audio extension
/// (so a damaged `.mp3` is still listed, and reported when it fails to decode).
pub fn list_tracks(root: &Path, recursive: bool) -> Result<Vec<Track>> {
    let meta = std::fs::metadata(root).map_err(|e| Error::io(root, e))?;
    let mut found: Vec<(PathBuf, String)> = Vec::new();
    if meta.is_file() {
        let name = root
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        found.push((root.to_path_buf(), name));
    } else {
        let mut walker = walkdir::WalkDir::new(root)
            .follow_links(false)
            .sort_by_file_name();
        if !recursive {
            walker = walker.max_depth(1);
        }
        let entries = walker
            .into_iter()
            .filter_entry(|e| e.depth() == 0 || !is_hidden(e.file_name()));
        for entry in entries {
            let entry = entry.map_err(|e| {
                let p = e.path().unwrap_or(root).to_path_buf();
                Error::io(
                    &p,
                    e.into_io_error()
                        .unwrap_or_else(|| std::io::Error::other("folder loop")),
                )
            })?;
            // Files, and links to files (links to folders are not followed: no loops).
            let is_file =
                entry.file_type().is_file() || (entry.path_is_symlink() && entry.path().is_file());
            if !is_file {
                continue;
            }
            let path = entry.path();
            if sniff::has_audio_extension(path) || sniff::sniff_file(path).is_some() {
                let rel = path.strip_prefix(root).unwrap_or(path);
                let rel = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/");
                found.push((path.to_path_buf(), rel));
            }
        }
    }
    found.sort_by(|a, b| a.1.cmp(&b.1));

    // Output names: the relative path without extension, unless two files share it.
    let stem = |rel: &str| match rel.rfind('.') {
        Some(dot) if dot > rel.rfind('/').map(|s| s + 1).unwrap_or(0) => rel[..dot].to_string(),
        _ => rel.to_string(),
    };
    let mut count: HashMap<String, usize> = HashMap::new();
    for (_, rel) in &found {
        *count.entry(stem(rel)).or_insert(0) += 1;
    }
    let mut tracks = Vec::with_capacity(found.len());
    for (index, (path, rel)) in found.into_iter().enumerate() {
        let s = stem(&rel);
        let name = if count[&s] > 1 { rel.clone() } else { s };
        let meta = std::fs::metadata(&path).ok();
        tracks.push(Track {
            index,
            size: meta.as_ref().map(|m| m.len()).unwrap_or(0),
            modified: meta.and_then(|m| m.modified().ok()),
            path,
            name,
        });
    }
    Ok(tracks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_audio_by_content_and_extension_sorted_with_unique_names() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("sub")).unwrap();
        std::fs::create_dir_all(d.join(".hidden")).unwrap();
        std::fs::write(d.join("b.wav"), b"RIFF\0\0\0\0WAVEfmt ").unwrap();
        std::fs::write(d.join("b.flac"), b"fLaC").unwrap();
        std::fs::write(d.join("noext"), b"OggS\0\x02").unwrap();
        std::fs::write(d.join("notes.txt"), b"hello").unwrap();
        std::fs::write(d.join("broken.mp3"), b"garbage").unwrap();
        std::fs::write(d.join("sub/a.mp3"), b"ID3\x04").unwrap();
        std::fs::write(d.join(".hidden/x.wav"), b"RIFF\0\0\0\0WAVE").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(d.join("b.wav"), d.join("sub/linked.wav")).unwrap();
        let t = list_tracks(d, true).unwrap();
        let names: Vec<&str> = t.iter().map(|t| t.name.as_str()).collect();
        #[cfg(unix)]
        assert_eq!(
            names,
            vec!["b.flac", "b.wav", "broken", "noext", "sub/a", "sub/linked"]
        );
        assert!(t.iter().enumerate().all(|(i, t)| t.index == i));
        let flat = list_tracks(d, false).unwrap();
        assert_eq!(flat.len(), 4);
    }
}
