//! The header dict's three keys, checked as numpy checks them.

use super::dtype::Element;
use super::literal::{Kind, Parser, Value, quote_excerpt};

/// The checked fields of a header dict.
#[derive(Debug)]
pub(super) struct Fields {
    pub(super) element: Element,
    pub(super) big_endian: bool,
    pub(super) fortran_order: bool,
    pub(super) shape: Vec<usize>,
    pub(super) shape_text: String,
}

/// Parse the header dict text (with its padding) and check its fields. `py2_longs`:
/// accept Python 2's `3L` integers, as numpy does for format versions 1 and 2. A
/// well-formed dict of a dtype that is neither float nor integer is `Ok(Err(descr))`.
pub(super) fn parse_dict(
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
    let (element, big_endian) = match &descr.kind {
        Kind::Str(d) => match Element::parse(d) {
            Some(e) => e,
            None => return Ok(Err(d.to_string())),
        },
        _ => return Ok(Err(raw(&descr))),
    };
    Ok(Ok(Fields {
        element,
        big_endian,
        fortran_order,
        shape: dims,
        shape_text,
    }))
}
