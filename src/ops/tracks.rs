//! Which files are tracks: the audio files under a folder, found by content, or a
//! list of files.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::audio::sniff;
use crate::error::{Error, Result};
use crate::pipeline::Track;

fn is_hidden(name: &std::ffi::OsStr) -> bool {
    name.to_string_lossy().starts_with('.')
}

/// Whether a folder entry is a track: a regular file (or a link to one) that looks like
/// audio by content or extension. Entries that cannot be read as files are listed too,
/// so that the batch reports them instead of skipping them silently: FIFOs, sockets and
/// devices, links that lead nowhere or loop, unreadable files, and folders named like
/// audio files. (Links to folders are not followed: no loops.)
fn is_listed(path: &Path, file_type: std::fs::FileType) -> bool {
    // A link is judged by what it leads to (a folder behind one is not walked).
    let file_type = if file_type.is_symlink() {
        match std::fs::metadata(path) {
            Ok(m) => m.file_type(),
            Err(_) => return true,
        }
    } else {
        file_type
    };
    if file_type.is_dir() {
        return sniff::has_audio_extension(path);
    }
    if !file_type.is_file() || sniff::has_audio_extension(path) {
        return true;
    }
    match crate::audio::open::open_regular(path) {
        Ok((f, _)) => sniff::sniff_reader(f).is_some(),
        // Unreadable: it may well be audio; say so rather than skip it.
        Err(_) => true,
    }
}

/// The audio files under `root`, sorted by relative path, with unique output names.
/// A file counts as audio if its first bytes say so, or if it has an audio extension
/// (so a damaged `.mp3` is still listed, and reported when it fails to decode).
///
/// ```
/// # fn main() -> eigentechno::Result<()> {
/// let tracks = eigentechno::ops::list_tracks("fixtures/corpus".as_ref(), true)?;
/// assert_eq!(tracks.len(), 10);
/// assert!(tracks.windows(2).all(|w| w[0].name < w[1].name));
/// # Ok(()) }
/// ```
pub fn list_tracks(root: &Path, recursive: bool) -> Result<Vec<Track>> {
    let meta = std::fs::metadata(root).map_err(|e| Error::io(root, e))?;
    let mut found: Vec<(PathBuf, String)> = Vec::new();
    // One path that is not a folder is one track, whatever it is (a FIFO is reported).
    if !meta.is_dir() {
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
            // A folder that cannot be listed is reported as one bad item, not the end
            // of the listing.
            let (path, listed) = match entry {
                Ok(e) => {
                    let listed = e.depth() > 0 && is_listed(e.path(), e.file_type());
                    (e.path().to_path_buf(), listed)
                }
                Err(e) => match e.path() {
                    Some(p) if p != root => (p.to_path_buf(), true),
                    _ => {
                        return Err(Error::io(
                            root,
                            e.into_io_error()
                                .unwrap_or_else(|| std::io::Error::other("folder loop")),
                        ));
                    }
                },
            };
            if listed {
                let rel = path.strip_prefix(root).unwrap_or(&path);
                let rel = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/");
                found.push((path, rel));
            }
        }
    }
    found.sort_by(|a, b| a.1.cmp(&b.1));
    found.dedup_by(|a, b| a.0 == b.0);

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

/// The given files as tracks, in the given order, named by their file name without
/// extension (with it when two share a stem; with the index when two share a name).
/// Every path must exist.
///
/// ```
/// # fn main() -> eigentechno::Result<()> {
/// let files = ["fixtures/corpus/wav-0001.wav".into(), "fixtures/corpus/flac-0000.flac".into()];
/// let tracks = eigentechno::ops::tracks_of_files(&files)?;
/// assert_eq!(tracks[0].name, "wav-0001");
/// # Ok(()) }
/// ```
pub fn tracks_of_files(paths: &[PathBuf]) -> Result<Vec<Track>> {
    let text = |s: Option<&std::ffi::OsStr>| s.map(|n| n.to_string_lossy().into_owned());
    let names: Vec<(String, String)> = paths
        .iter()
        .map(|p| {
            let file = text(p.file_name()).unwrap_or_else(|| p.display().to_string());
            (text(p.file_stem()).unwrap_or_else(|| file.clone()), file)
        })
        .collect();
    let mut stems: HashMap<&str, usize> = HashMap::new();
    for (stem, _) in &names {
        *stems.entry(stem).or_insert(0) += 1;
    }
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut tracks = Vec::with_capacity(paths.len());
    for (index, (path, (stem, file))) in paths.iter().zip(&names).enumerate() {
        let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
        let mut name = if stems[stem.as_str()] > 1 { file } else { stem }.clone();
        let n = seen.entry(name.clone()).or_insert(0);
        *n += 1;
        if *n > 1 {
            name = format!("{name}-{index}");
        }
        tracks.push(Track {
            index,
            size: meta.len(),
            modified: meta.modified().ok(),
            path: path.clone(),
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

    #[test]
    fn files_keep_their_order_and_get_unique_names() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("x")).unwrap();
        for f in ["b.wav", "a.wav", "a.flac", "x/b.wav"] {
            std::fs::write(d.join(f), b"RIFF").unwrap();
        }
        let paths: Vec<PathBuf> = ["b.wav", "a.wav", "a.flac", "x/b.wav"]
            .iter()
            .map(|f| d.join(f))
            .collect();
        let t = tracks_of_files(&paths).unwrap();
        let names: Vec<&str> = t.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, vec!["b.wav", "a.wav", "a.flac", "b.wav-3"]);
        assert!(tracks_of_files(&[d.join("missing.wav")]).is_err());
    }
}
