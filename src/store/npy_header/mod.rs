//! The `.npy` header, read as strictly as numpy reads it, for every `.npy` reader here.
//!
//! numpy's header is a Python dict literal (`{'descr': '<f4', 'fortran_order': False,
//! 'shape': (3, 4), }`) that numpy evaluates with `ast.literal_eval` and then checks:
//! exactly the three keys, `fortran_order` a bool, `shape` a tuple of ints. This module
//! parses the same literal grammar (strings, ints, `True`/`False`/`None`, tuples,
//! lists, dicts) and refuses what numpy refuses: `(3,, 4)`, `(3 4)`, `(3.5, 4)`,
//! negative dimensions, missing or extra keys, anything after the dict. It also
//! refuses what would make a reader allocate without bound: the header and the data
//! it describes are checked against the file's actual length before anything sized
//! from them is allocated, and a shape whose element count overflows is an error.

use std::io::Read;
use std::path::Path;

use crate::error::{Error, Result};

/// Element type of a float `.npy` file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dtype {
    /// `<f4` (or `>f4`).
    F32,
    /// `<f8` (or `>f8`).
    F64,
}

impl Dtype {
    /// Bytes per element.
    pub fn width(self) -> usize {
        match self {
            Dtype::F32 => 4,
            Dtype::F64 => 8,
        }
    }
}

/// A checked `.npy` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NpyHeader {
    /// Element type.
    pub dtype: Dtype,
    /// Elements stored big-endian (`>f4`, `>f8`); numpy writes little-endian by default.
    pub big_endian: bool,
    /// Stored column-major (numpy writes this for transposed arrays).
    pub fortran_order: bool,
    /// Dimensions.
    pub shape: Vec<usize>,
    /// Elements (the product of the dimensions).
    pub len: usize,
    /// Where the data starts in the file.
    pub data_offset: u64,
    /// Bytes of data the header describes (`len` times the element width).
    pub data_len: u64,
}

fn invalid(path: &Path, reason: impl Into<String>) -> Error {
    Error::InvalidData {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// Read and check the header at the start of `reader`, whose whole length (header and
/// data) is `total_len` bytes. Leaves `reader` at the first data byte. Errors name
/// `path`. Nothing is allocated beyond `total_len`, and the data the header describes
/// must fit in `total_len` (a shorter file is an error here, before any data is read).
pub fn read_header<R: Read>(path: &Path, reader: &mut R, total_len: u64) -> Result<NpyHeader> {
    read_header_or_dtype(path, reader, total_len)?.map_err(|descr| {
        invalid(
            path,
            format!("dtype {descr} is not supported: expected float32 or float64"),
        )
    })
}

/// As [`read_header`], except that a well-formed header of a dtype other than float32
/// or float64 is `Ok(Err(descr))`, the dtype as written (`'<i8'`, `'|O'`), so a reader
/// of several arrays can pass such an array over instead of failing. Its data length
/// is then not checked (the element width is unknown).
pub fn read_header_or_dtype<R: Read>(
    path: &Path,
    reader: &mut R,
    total_len: u64,
) -> Result<std::result::Result<NpyHeader, String>> {
    let mut pre = [0u8; 10];
    reader
        .read_exact(&mut pre)
        .map_err(|_| invalid(path, "not a .npy file (too short for a header)"))?;
    if &pre[..6] != b"\x93NUMPY" {
        return Err(invalid(path, "not a .npy file (no \\x93NUMPY magic)"));
    }
    let (major, minor) = (pre[6], pre[7]);
    let (hlen, start) = match (major, minor) {
        (1, 0) => (u16::from_le_bytes([pre[8], pre[9]]) as u64, 10u64),
        (2, 0) | (3, 0) => {
            let mut more = [0u8; 2];
            reader
                .read_exact(&mut more)
                .map_err(|_| invalid(path, "the .npy header is truncated"))?;
            (
                u32::from_le_bytes([pre[8], pre[9], more[0], more[1]]) as u64,
                12u64,
            )
        }
        _ => {
            return Err(invalid(
                path,
                format!(".npy format version {major}.{minor} is not supported (1.0, 2.0 or 3.0)"),
            ));
        }
    };
    if start + hlen > total_len {
        return Err(invalid(
            path,
            format!(
                "the .npy header says it is {hlen} bytes long but the file has {total_len} bytes: truncated?"
            ),
        ));
    }
    let mut raw = vec![0u8; hlen as usize];
    reader
        .read_exact(&mut raw)
        .map_err(|_| invalid(path, "the .npy header is truncated"))?;
    let text = if major == 3 {
        String::from_utf8(raw).map_err(|_| invalid(path, "the .npy header is not UTF-8"))?
    } else {
        // Versions 1 and 2 are latin-1.
        raw.iter().map(|&b| b as char).collect()
    };
    let fields = match parse_dict(&text, major < 3) {
        Ok(Ok(f)) => f,
        Ok(Err(descr)) => return Ok(Err(descr)),
        Err(e) => return Err(invalid(path, format!("malformed .npy header: {e}"))),
    };
    let data_offset = start + hlen;
    let elements = fields
        .shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d));
    // ndarray (like numpy) also bounds the product of the non-zero dimensions by
    // isize::MAX, so a zero dimension does not excuse absurd others.
    let nonzero = fields
        .shape
        .iter()
        .filter(|&&d| d != 0)
        .try_fold(1usize, |n, &d| n.checked_mul(d));
    let width = fields.dtype.width();
    let (len, data_len) = match (elements, nonzero) {
        (Some(n), Some(nz)) if nz <= isize::MAX as usize => match n.checked_mul(width) {
            Some(b) => (n, b as u64),
            None => return Err(too_big(path, &fields.shape_text)),
        },
        _ => return Err(too_big(path, &fields.shape_text)),
    };
    let need = data_offset.checked_add(data_len);
    if need.is_none_or(|need| need > total_len) {
        return Err(invalid(
            path,
            format!(
                "the file is shorter than its header says ({total_len} bytes; shape {} of {} needs {} after the {data_offset}-byte header): truncated?",
                fields.shape_text,
                dtype_name(fields.dtype),
                data_len
            ),
        ));
    }
    Ok(Ok(NpyHeader {
        dtype: fields.dtype,
        big_endian: fields.big_endian,
        fortran_order: fields.fortran_order,
        shape: fields.shape,
        len,
        data_offset,
        data_len,
    }))
}

/// A float element of a `.npy` file.
pub trait NpyFloat: Copy + Default + Send + 'static {
    /// The dtype.
    const DTYPE: Dtype;
    /// Append the elements of `bytes` (whole elements, in the file's byte order).
    fn decode_into(bytes: &[u8], big_endian: bool, out: &mut Vec<Self>);
}

macro_rules! npy_float {
    ($t:ty, $dtype:expr, $w:expr) => {
        impl NpyFloat for $t {
            const DTYPE: Dtype = $dtype;
            fn decode_into(bytes: &[u8], big_endian: bool, out: &mut Vec<Self>) {
                let chunks = bytes.chunks_exact($w);
                if big_endian {
                    out.extend(chunks.map(|b| <$t>::from_be_bytes(b.try_into().unwrap())));
                } else {
                    out.extend(chunks.map(|b| <$t>::from_le_bytes(b.try_into().unwrap())));
                }
            }
        }
    };
}
npy_float!(f32, Dtype::F32, 4);
npy_float!(f64, Dtype::F64, 8);

fn too_big(path: &Path, shape: &str) -> Error {
    invalid(
        path,
        format!("malformed .npy header: shape {shape} has more elements than can be addressed"),
    )
}

fn dtype_name(d: Dtype) -> &'static str {
    match d {
        Dtype::F32 => "float32",
        Dtype::F64 => "float64",
    }
}

/// The checked fields of a header dict.
#[derive(Debug)]
struct Fields {
    dtype: Dtype,
    big_endian: bool,
    fortran_order: bool,
    shape: Vec<usize>,
    shape_text: String,
}

/// Parse the header dict text (with its padding) and check its fields. `py2_longs`:
/// accept Python 2's `3L` integers, as numpy does for format versions 1 and 2. A
/// well-formed dict of another dtype is `Ok(Err(descr))`.
fn parse_dict(
    text: &str,
    py2_longs: bool,
) -> std::result::Result<std::result::Result<Fields, String>, String> {
    let mut p = Parser {
        s: text,
        at: 0,
        py2_longs,
    };
    // ast.literal_eval strips leading spaces and tabs; numpy pads the end with spaces
    // and a newline.
    p.skip_ws();
    let value = p.value()?;
    p.skip_ws();
    if p.at < text.len() {
        return Err(format!(
            "unexpected {} after the header dict",
            quote_excerpt(&text[p.at..])
        ));
    }
    let Kind::Dict(entries) = value.kind else {
        return Err(format!(
            "the header is not a dict but {}",
            quote_excerpt(&text[value.span.0..value.span.1])
        ));
    };
    let raw = |v: &Value| text[v.span.0..v.span.1].to_string();
    let (mut descr, mut fortran, mut shape) = (None, None, None);
    for (key, value) in entries {
        let slot = match &key.kind {
            Kind::Str(k) if k == "descr" => &mut descr,
            Kind::Str(k) if k == "fortran_order" => &mut fortran,
            Kind::Str(k) if k == "shape" => &mut shape,
            _ => {
                return Err(format!(
                    "unexpected key {} (numpy writes exactly 'descr', 'fortran_order' and 'shape')",
                    raw(&key)
                ));
            }
        };
        if slot.is_some() {
            return Err(format!("key {} appears twice", raw(&key)));
        }
        *slot = Some(value);
    }
    let missing = |k: &str| format!("no '{k}' key");
    let descr = descr.ok_or_else(|| missing("descr"))?;
    let fortran = fortran.ok_or_else(|| missing("fortran_order"))?;
    let shape = shape.ok_or_else(|| missing("shape"))?;

    let fortran_order = match fortran.kind {
        Kind::Bool(b) => b,
        _ => {
            return Err(format!(
                "'fortran_order' must be True or False, not {}",
                raw(&fortran)
            ));
        }
    };
    let shape_text = raw(&shape);
    let Kind::Tuple(items) = &shape.kind else {
        return Err(format!(
            "'shape' must be a tuple of integers like (3, 4), not {shape_text}"
        ));
    };
    let mut dims = Vec::with_capacity(items.len());
    for item in items {
        let t = raw(item);
        match &item.kind {
            Kind::Int { negative: true, .. } => {
                return Err(format!("negative dimension {t} in shape {shape_text}"));
            }
            Kind::Int { digits, .. } => dims.push(digits.parse::<usize>().map_err(|_| {
                format!(
                    "dimension {t} in shape {shape_text} has more elements than can be addressed"
                )
            })?),
            _ => {
                return Err(format!(
                    "dimension {t} in shape {shape_text} is not an integer"
                ));
            }
        }
    }
    let (dtype, big_endian) = match &descr.kind {
        Kind::Str(d) => match d.as_str() {
            "<f4" | "|f4" => (Dtype::F32, false),
            ">f4" => (Dtype::F32, true),
            "<f8" | "|f8" => (Dtype::F64, false),
            ">f8" => (Dtype::F64, true),
            other => return Ok(Err(other.to_string())),
        },
        _ => return Ok(Err(raw(&descr))),
    };
    Ok(Ok(Fields {
        dtype,
        big_endian,
        fortran_order,
        shape: dims,
        shape_text,
    }))
}

/// A short quoted excerpt for messages.
fn quote_excerpt(s: &str) -> String {
    let s = s.trim_end();
    let mut out: String = s.chars().take(24).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    format!("{out:?}")
}

#[derive(Debug)]
enum Kind {
    Str(String),
    Bool(bool),
    None,
    /// A Python integer: sign and decimal digits (underscores and `L` removed).
    Int {
        negative: bool,
        digits: String,
    },
    /// Any other number (a float or an integer in another base): never a dimension.
    OtherNumber,
    Tuple(Vec<Value>),
    List,
    Dict(Vec<(Value, Value)>),
}

#[derive(Debug)]
struct Value {
    kind: Kind,
    /// Byte range of the literal in the header text.
    span: (usize, usize),
}

/// A recursive-descent parser for the Python literals `ast.literal_eval` accepts in a
/// `.npy` header.
struct Parser<'a> {
    s: &'a str,
    at: usize,
    py2_longs: bool,
}

/// Deeper nesting than any header needs; keeps the recursion bounded.
const MAX_DEPTH: usize = 32;

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.s[self.at..].chars().next()
    }

    fn skip_ws(&mut self) {
        let rest = &self.s[self.at..];
        let trimmed = rest.trim_start_matches([' ', '\t', '\n', '\r', '\x0c']);
        self.at += rest.len() - trimmed.len();
    }

    fn here(&self) -> String {
        match self.peek() {
            None => "the end of the header".into(),
            Some(_) => quote_excerpt(&self.s[self.at..]),
        }
    }

    fn value(&mut self) -> std::result::Result<Value, String> {
        self.value_at(0)
    }

    fn value_at(&mut self, depth: usize) -> std::result::Result<Value, String> {
        if depth > MAX_DEPTH {
            return Err("the header nests too deeply".into());
        }
        self.skip_ws();
        let start = self.at;
        let kind = match self.peek() {
            Some('\'' | '"') => Kind::Str(self.string()?),
            Some('(') => {
                self.at += 1;
                let (items, trailing_comma) = self.items(')', depth)?;
                // `(x)` is just x; a tuple needs a comma (or nothing: `()`).
                if items.len() == 1 && !trailing_comma {
                    let mut inner = items.into_iter().next().unwrap();
                    inner.span = (start, self.at);
                    return Ok(inner);
                }
                Kind::Tuple(items)
            }
            Some('[') => {
                self.at += 1;
                {
                    self.items(']', depth)?;
                    Kind::List
                }
            }
            Some('{') => {
                self.at += 1;
                Kind::Dict(self.entries(depth)?)
            }
            Some(c) if c.is_ascii_digit() || c == '-' || c == '+' || c == '.' => self.number()?,
            Some(c) if c.is_alphabetic() || c == '_' => {
                let word = self.word();
                match word {
                    "True" => Kind::Bool(true),
                    "False" => Kind::Bool(false),
                    "None" => Kind::None,
                    _ => return Err(format!("unexpected name {word:?} (not a literal)")),
                }
            }
            _ => return Err(format!("expected a value at {}", self.here())),
        };
        Ok(Value {
            kind,
            span: (start, self.at),
        })
    }

    fn word(&mut self) -> &str {
        let rest = &self.s[self.at..];
        let n = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        self.at += n;
        &rest[..n]
    }

    /// Comma-separated values up to `close`. Returns them and whether a comma came last.
    fn items(
        &mut self,
        close: char,
        depth: usize,
    ) -> std::result::Result<(Vec<Value>, bool), String> {
        let mut items = Vec::new();
        let mut trailing_comma = false;
        loop {
            self.skip_ws();
            if self.peek() == Some(close) {
                self.at += 1;
                return Ok((items, trailing_comma));
            }
            if trailing_comma || items.is_empty() {
                items.push(self.value_at(depth + 1)?);
                trailing_comma = false;
            } else {
                return Err(format!("expected ',' or '{close}' at {}", self.here()));
            }
            self.skip_ws();
            match self.peek() {
                Some(',') => {
                    self.at += 1;
                    trailing_comma = true;
                }
                Some(c) if c == close => {}
                _ => return Err(format!("expected ',' or '{close}' at {}", self.here())),
            }
        }
    }

    fn entries(&mut self, depth: usize) -> std::result::Result<Vec<(Value, Value)>, String> {
        let mut entries = Vec::new();
        loop {
            self.skip_ws();
            if self.peek() == Some('}') {
                self.at += 1;
                return Ok(entries);
            }
            let key = self.value_at(depth + 1)?;
            self.skip_ws();
            if self.peek() != Some(':') {
                return Err(format!("expected ':' at {}", self.here()));
            }
            self.at += 1;
            let value = self.value_at(depth + 1)?;
            entries.push((key, value));
            self.skip_ws();
            match self.peek() {
                Some(',') => self.at += 1,
                Some('}') => {}
                _ => return Err(format!("expected ',' or '}}' at {}", self.here())),
            }
        }
    }

    /// A quoted string, with the escapes a dtype string could need.
    fn string(&mut self) -> std::result::Result<String, String> {
        let start = self.at;
        let mut chars = self.s[self.at..].char_indices();
        let (_, quote) = chars.next().unwrap();
        let mut out = String::new();
        while let Some((i, c)) = chars.next() {
            match c {
                c if c == quote => {
                    self.at += i + c.len_utf8();
                    return Ok(out);
                }
                '\n' => break,
                '\\' => match chars.next() {
                    Some((_, e @ ('\\' | '\'' | '"'))) => out.push(e),
                    Some((_, 'n')) => out.push('\n'),
                    Some((_, 't')) => out.push('\t'),
                    _ => {
                        return Err(format!(
                            "unsupported escape in the string at {}",
                            quote_excerpt(&self.s[start..])
                        ));
                    }
                },
                c => out.push(c),
            }
        }
        Err(format!(
            "unterminated string at {}",
            quote_excerpt(&self.s[start..])
        ))
    }

    /// A number: a Python decimal integer (with `_` separators; `L` in Python 2
    /// headers) becomes `Int`; another well-formed number (`3.5`, `1e3`, `0x10`) becomes
    /// `OtherNumber`; anything else is an error.
    fn number(&mut self) -> std::result::Result<Kind, String> {
        let start = self.at;
        let mut negative = false;
        while let Some(c @ ('-' | '+')) = self.peek() {
            negative ^= c == '-';
            self.at += 1;
            self.skip_ws();
        }
        let rest = &self.s[self.at..];
        let n = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
            .unwrap_or(rest.len());
        let tok = &rest[..n];
        // Exponent signs: `1e-3`.
        let mut end = n;
        if tok.ends_with(['e', 'E']) && rest[n..].starts_with(['-', '+']) {
            let after = &rest[n + 1..];
            end = n
                + 1
                + after
                    .find(|c: char| !c.is_ascii_digit())
                    .unwrap_or(after.len());
        }
        let tok = &rest[..end];
        self.at += end;
        let bad = || format!("malformed number {}", quote_excerpt(&self.s[start..]));
        let int_part = if self.py2_longs {
            tok.strip_suffix(['L', 'l']).unwrap_or(tok)
        } else {
            tok
        };
        if let Some(digits) = python_decimal(int_part) {
            return Ok(Kind::Int { negative, digits });
        }
        let plain: String = tok.chars().filter(|&c| c != '_').collect();
        let radix = plain
            .strip_prefix("0x")
            .or(plain.strip_prefix("0X"))
            .map(|d| (d, 16))
            .or(plain
                .strip_prefix("0o")
                .or(plain.strip_prefix("0O"))
                .map(|d| (d, 8)))
            .or(plain
                .strip_prefix("0b")
                .or(plain.strip_prefix("0B"))
                .map(|d| (d, 2)));
        let ok = match radix {
            Some((d, r)) => !d.is_empty() && d.chars().all(|c| c.is_digit(r)),
            // All digits but not a Python integer: `012`.
            None if plain.bytes().all(|c| c.is_ascii_digit()) => false,
            None => {
                !tok.contains("__")
                    && !tok.starts_with('_')
                    && !tok.ends_with('_')
                    && plain.parse::<f64>().is_ok()
                    && plain
                        .chars()
                        .all(|c| c.is_ascii_digit() || ".eE+-".contains(c))
            }
        };
        if ok {
            Ok(Kind::OtherNumber)
        } else {
            Err(bad())
        }
    }
}

/// The digits of a Python 3 decimal integer literal (`0`, `12`, `1_000`; not `012`).
fn python_decimal(tok: &str) -> Option<String> {
    let b = tok.as_bytes();
    if b.is_empty() || !b[0].is_ascii_digit() || !b[b.len() - 1].is_ascii_digit() {
        return None;
    }
    if b.windows(2).any(|w| w[0] == b'_' && w[1] == b'_')
        || !b.iter().all(|&c| c.is_ascii_digit() || c == b'_')
    {
        return None;
    }
    let digits: String = tok.chars().filter(|&c| c != '_').collect();
    // Python 3 refuses leading zeros except in zero itself.
    if digits.len() > 1 && digits.starts_with('0') && digits.bytes().any(|c| c != b'0') {
        return None;
    }
    let trimmed = digits.trim_start_matches('0');
    Some(if trimmed.is_empty() {
        "0".into()
    } else {
        trimmed.into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(dict: &str, data_len: usize) -> Vec<u8> {
        let mut h = b"\x93NUMPY\x01\x00".to_vec();
        let mut d = dict.to_string();
        while !(10 + d.len() + 1).is_multiple_of(64) {
            d.push(' ');
        }
        d.push('\n');
        h.extend_from_slice(&(d.len() as u16).to_le_bytes());
        h.extend_from_slice(d.as_bytes());
        h.resize(h.len() + data_len, 0);
        h
    }

    fn header(dict: &str, data_len: usize) -> Result<NpyHeader> {
        let bytes = file(dict, data_len);
        read_header(Path::new("h.npy"), &mut &bytes[..], bytes.len() as u64)
    }

    fn shape(s: &str) -> std::result::Result<Vec<usize>, String> {
        header(
            &format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {s}, }}"),
            4 * 1000,
        )
        .map(|h| h.shape)
        .map_err(|e| e.to_string())
    }

    #[test]
    fn reads_what_numpy_writes() {
        let h = header(
            "{'descr': '<f8', 'fortran_order': True, 'shape': (37, 23), }",
            37 * 23 * 8,
        )
        .unwrap();
        assert_eq!(h.dtype, Dtype::F64);
        assert!(h.fortran_order && !h.big_endian);
        assert_eq!(
            (h.shape, h.len, h.data_offset),
            (vec![37, 23], 37 * 23, 128)
        );
        assert_eq!(shape("()").unwrap(), Vec::<usize>::new());
        assert_eq!(shape("(5,)").unwrap(), vec![5]);
        assert_eq!(shape("( 3 , 4 )").unwrap(), vec![3, 4]);
        assert_eq!(shape("(3, 4,)").unwrap(), vec![3, 4]);
        assert_eq!(shape("(1_0, 0)").unwrap(), vec![10, 0]);
        // Python 2 numpy wrote longs in version 1 headers.
        assert_eq!(shape("(3L, 4L)").unwrap(), vec![3, 4]);
        // Key order, quotes and spacing are free; `{}` without a trailing comma too.
        let h = header(
            "{\"shape\":(2,3),\"fortran_order\":False,\"descr\":\">f4\"}",
            24,
        )
        .unwrap();
        assert_eq!((h.shape, h.big_endian), (vec![2, 3], true));
    }

    #[test]
    fn refuses_what_numpy_refuses() {
        for (s, why) in [
            ("(3,, 4)", "expected a value"),
            ("(3 4)", "expected ',' or ')'"),
            ("(,)", "expected a value"),
            ("(3, 4", "expected a value at \"}\""),
            ("(-3, 4)", "negative dimension -3"),
            ("(3, - 4)", "negative dimension"),
            ("(3.5, 4)", "3.5 in shape (3.5, 4) is not an integer"),
            ("(3, 1e2)", "not an integer"),
            ("(3, '4')", "not an integer"),
            ("(True, 4)", "not an integer"),
            ("(3, None)", "not an integer"),
            ("(03, 4)", "malformed number"),
            ("(3x, 4)", "malformed number"),
            ("(3)", "must be a tuple"),
            ("[3, 4]", "must be a tuple"),
            ("3", "must be a tuple"),
            ("((3, 4),)", "not an integer"),
            (
                "(99999999999999999999999, 1)",
                "more elements than can be addressed",
            ),
            (
                "(4294967296, 4294967296)",
                "more elements than can be addressed",
            ),
            (
                "(0, 4294967296, 4294967296)",
                "more elements than can be addressed",
            ),
            ("(10, 10000)", "shorter than its header says"),
        ] {
            let e = shape(s).unwrap_err();
            assert!(e.starts_with("h.npy: ") && e.contains(why), "{s}: {e}");
        }
        let base = "'descr': '<f4', 'fortran_order': False, 'shape': (2, 2)";
        for (dict, why) in [
            ("{'descr': '<f4', 'shape': (2, 2)}", "no 'fortran_order'"),
            ("{'fortran_order': False, 'shape': (2, 2)}", "no 'descr'"),
            ("{'descr': '<f4', 'fortran_order': False}", "no 'shape'"),
            (&format!("{{{base}, 'extra': 1}}"), "unexpected key 'extra'"),
            (
                &format!("{{{base}, 'shape': (2, 2)}}"),
                "'shape' appears twice",
            ),
            (
                &format!("{{{base}, garbage}}"),
                "unexpected name \"garbage\"",
            ),
            (&format!("{{{base}}} garbage"), "after the header dict"),
            (&format!("{{{base}}}}}"), "after the header dict"),
            (&format!("{{{base},, }}"), "expected a value"),
            (&format!("{{{base} 'x': 1}}"), "expected ',' or '}'"),
            (&format!("{{{base}"), "expected ',' or '}'"),
            (
                "{'descr': '<f4', 'fortran_order': 0, 'shape': (2, 2)}",
                "True or False",
            ),
            (
                "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 2)}",
                "dtype <i4 is not supported",
            ),
            (
                "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2, 2)}",
                "not supported",
            ),
            ("['descr', '<f4']", "not a dict"),
            ("", "expected a value"),
            (
                "{'descr': '<f4, 'fortran_order': False, 'shape': (2, 2)}",
                "expected ',' or '}'",
            ),
            (
                "{'descr' '<f4', 'fortran_order': False, 'shape': (2, 2)}",
                "expected ':'",
            ),
        ] {
            let e = header(dict, 16).unwrap_err().to_string();
            assert!(e.starts_with("h.npy: ") && e.contains(why), "{dict}: {e}");
        }
    }

    #[test]
    fn header_lengths_are_checked_before_allocating() {
        // A version-2 header claiming 4 GB in a 100-byte file.
        let mut bytes = b"\x93NUMPY\x02\x00".to_vec();
        bytes.extend_from_slice(&u32::MAX.to_le_bytes());
        bytes.resize(100, b' ');
        let e = read_header(Path::new("big.npy"), &mut &bytes[..], 100)
            .unwrap_err()
            .to_string();
        assert!(e.contains("big.npy") && e.contains("truncated"), "{e}");
        // Versions numpy does not write.
        let mut v = file("{}", 0);
        v[7] = 1;
        let e = read_header(Path::new("v.npy"), &mut &v[..], v.len() as u64)
            .unwrap_err()
            .to_string();
        assert!(e.contains("version 1.1"), "{e}");
        // A shape whose data is far bigger than the file.
        let e = shape("(1000000000000, 1000)").unwrap_err();
        assert!(e.contains("shorter than its header says"), "{e}");
    }
}
