//! Recognising audio files by their first bytes, so a folder walk finds music whatever
//! it is named, and a decode failure can say what the file looks like instead.

use std::io::Read;
use std::path::Path;

/// Extensions of the containers the decoder reads.
pub const AUDIO_EXTENSIONS: &[&str] = &[
    "wav", "wave", "flac", "mp3", "mp2", "mp1", "ogg", "oga", "opus", "m4a", "mp4", "aac", "aif",
    "aiff", "aifc", "caf", "mka", "mkv", "webm",
];

/// The container a file's first bytes announce, if any.
pub fn sniff_bytes(head: &[u8]) -> Option<&'static str> {
    let at = |i: usize, magic: &[u8]| {
        head.len() >= i + magic.len() && &head[i..i + magic.len()] == magic
    };
    if (at(0, b"RIFF") || at(0, b"RF64") || at(0, b"BW64")) && at(8, b"WAVE") {
        Some("wav")
    } else if at(0, b"fLaC") {
        Some("flac")
    } else if at(0, b"OggS") {
        Some("ogg")
    } else if at(0, b"ID3") {
        Some("mp3")
    } else if at(0, b"FORM") && (at(8, b"AIFF") || at(8, b"AIFC")) {
        Some("aiff")
    } else if at(4, b"ftyp") {
        Some("mp4")
    } else if at(0, b"caff") {
        Some("caf")
    } else if at(0, &[0x1A, 0x45, 0xDF, 0xA3]) {
        Some("mkv")
    } else if head.len() >= 4 && head[0] == 0xFF && head[1] & 0xE0 == 0xE0 {
        // MPEG audio frame sync (MP1/2/3), or AAC in ADTS (layer bits 00).
        if head[1] & 0x06 == 0 {
            Some("aac")
        } else {
            Some("mp3")
        }
    } else {
        None
    }
}

/// Read the first bytes of a file and sniff them. I/O errors, and anything that is not
/// a regular file (a FIFO would block the read forever), count as "not audio".
pub fn sniff_file(path: &Path) -> Option<&'static str> {
    let (f, _) = crate::audio::open::open_regular(path).ok()?;
    sniff_reader(f)
}

/// Sniff the first bytes of an open reader; a read error counts as "not audio".
pub fn sniff_reader(mut r: impl Read) -> Option<&'static str> {
    let mut head = [0u8; 16];
    let mut n = 0;
    while n < head.len() {
        match r.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(_) => return None,
        }
    }
    sniff_bytes(&head[..n])
}

/// Whether the extension is one the decoder handles (case-insensitive).
pub fn has_audio_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .map(|e| AUDIO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
        .unwrap_or(false)
}

/// A short description of what a non-audio file looks like, for error messages.
pub fn describe_content(head: &[u8]) -> String {
    if head.is_empty() {
        return "the file is empty".into();
    }
    let printable = head
        .iter()
        .filter(|&&b| {
            b == b'\n' || b == b'\r' || b == b'\t' || (0x20..0x7f).contains(&b) || b >= 0x80
        })
        .count();
    if printable == head.len() && std::str::from_utf8(head).is_ok() {
        return "the content is text, not audio".into();
    }
    if head.starts_with(b"%PDF") {
        return "the content is a PDF document".into();
    }
    if head.starts_with(&[0x89, b'P', b'N', b'G']) {
        return "the content is a PNG image".into();
    }
    if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return "the content is a JPEG image".into();
    }
    if head.starts_with(b"PK\x03\x04") {
        return "the content is a ZIP archive".into();
    }
    "no known audio container signature".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_containers() {
        assert_eq!(sniff_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt "), Some("wav"));
        assert_eq!(sniff_bytes(b"fLaC\x00\x00\x00\x22"), Some("flac"));
        assert_eq!(sniff_bytes(b"OggS\x00\x02"), Some("ogg"));
        assert_eq!(sniff_bytes(b"ID3\x04\x00"), Some("mp3"));
        assert_eq!(sniff_bytes(&[0xFF, 0xFB, 0x90, 0x64]), Some("mp3"));
        assert_eq!(sniff_bytes(&[0xFF, 0xF1, 0x50, 0x80]), Some("aac"));
        assert_eq!(sniff_bytes(b"\x00\x00\x00\x20ftypM4A "), Some("mp4"));
        assert_eq!(sniff_bytes(b"FORM\x00\x00\x00\x00AIFF"), Some("aiff"));
        assert_eq!(sniff_bytes(b"hello world, not audio"), None);
        assert_eq!(sniff_bytes(b""), None);
    }

    #[test]
    fn describes_text() {
        assert!(describe_content(b"just some notes\n").contains("text"));
        assert!(describe_content(&[0, 1, 2, 3]).contains("no known"));
    }

    #[test]
    fn extensions_case_insensitive() {
        assert!(has_audio_extension(Path::new("a/B.MP3")));
        assert!(!has_audio_extension(Path::new("a/b.json")));
    }
}
