//! The Python literals `ast.literal_eval` accepts in a `.npy` header, parsed as strictly.

/// A short quoted excerpt for messages.
pub(super) fn quote_excerpt(s: &str) -> String {
    let s = s.trim_end();
    let mut out: String = s.chars().take(24).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    format!("{out:?}")
}

#[derive(Debug)]
pub(super) enum Kind {
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
pub(super) struct Value {
    pub(super) kind: Kind,
    /// Byte range of the literal in the header text.
    pub(super) span: (usize, usize),
}

/// A recursive-descent parser for the Python literals `ast.literal_eval` accepts in a
/// `.npy` header.
pub(super) struct Parser<'a> {
    pub(super) s: &'a str,
    pub(super) at: usize,
    pub(super) py2_longs: bool,
}

/// Deeper nesting than any header needs; keeps the recursion bounded.
const MAX_DEPTH: usize = 32;

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.s[self.at..].chars().next()
    }

    pub(super) fn skip_ws(&mut self) {
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

    pub(super) fn value(&mut self) -> std::result::Result<Value, String> {
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
