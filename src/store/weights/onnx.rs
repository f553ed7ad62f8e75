//! The conv weights of an ONNX model. The few protobuf messages needed are declared
//! here with field numbers from onnx.proto (prost skips every other field), so no
//! protobuf compiler is needed at build time.

use std::collections::HashMap;
use std::path::Path;

use prost::Message;

use super::{ConvLayer, Layout, floats_from_le, invalid, layer_from_tensor};
use crate::error::Result;

#[derive(Clone, PartialEq, Message)]
struct ModelProto {
    #[prost(int64, tag = "1")]
    ir_version: i64,
    #[prost(message, optional, tag = "7")]
    graph: Option<GraphProto>,
}

#[derive(Clone, PartialEq, Message)]
struct GraphProto {
    #[prost(message, repeated, tag = "1")]
    node: Vec<NodeProto>,
    #[prost(string, tag = "2")]
    name: String,
    #[prost(message, repeated, tag = "5")]
    initializer: Vec<TensorProto>,
}

#[derive(Clone, PartialEq, Message)]
struct NodeProto {
    #[prost(string, repeated, tag = "1")]
    input: Vec<String>,
    #[prost(string, repeated, tag = "2")]
    output: Vec<String>,
    #[prost(string, tag = "3")]
    name: String,
    #[prost(string, tag = "4")]
    op_type: String,
    #[prost(message, repeated, tag = "5")]
    attribute: Vec<AttributeProto>,
}

#[derive(Clone, PartialEq, Message)]
struct AttributeProto {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(int64, tag = "3")]
    i: i64,
    #[prost(message, optional, tag = "5")]
    t: Option<TensorProto>,
    #[prost(message, optional, boxed, tag = "6")]
    g: Option<Box<GraphProto>>,
    #[prost(message, repeated, tag = "11")]
    graphs: Vec<GraphProto>,
}

#[derive(Clone, PartialEq, Message)]
struct TensorProto {
    #[prost(int64, repeated, tag = "1")]
    dims: Vec<i64>,
    #[prost(int32, tag = "2")]
    data_type: i32,
    #[prost(float, repeated, tag = "4")]
    float_data: Vec<f32>,
    #[prost(int32, repeated, tag = "5")]
    int32_data: Vec<i32>,
    #[prost(string, tag = "8")]
    name: String,
    #[prost(bytes = "vec", tag = "9")]
    raw_data: Vec<u8>,
    #[prost(double, repeated, tag = "10")]
    double_data: Vec<f64>,
    #[prost(int32, tag = "14")]
    data_location: i32,
}

/// A quick look: does the file start like a serialised `ModelProto`? (Field 1,
/// `ir_version`, a varint, comes first in every exporter's output.)
pub(super) fn looks_like_onnx(bytes: &[u8]) -> bool {
    bytes.first() == Some(&0x08)
}

impl TensorProto {
    fn shape(&self) -> std::result::Result<Vec<usize>, String> {
        self.dims
            .iter()
            .map(|&d| usize::try_from(d).map_err(|_| format!("dimension {d}")))
            .collect()
    }

    /// The values as f32, or why not.
    fn floats(&self) -> std::result::Result<Vec<f32>, String> {
        if self.data_location == 1 {
            return Err("its data is stored in an external file, which is not read".into());
        }
        let kind = match self.data_type {
            1 => "float32",
            11 => "float64",
            10 => "float16",
            16 => "bfloat16",
            t => return Err(format!("element type {t} is not a float type")),
        };
        let values: Vec<f32> = if !self.raw_data.is_empty() {
            floats_from_le(kind, &self.raw_data)?
        } else {
            match kind {
                "float32" => self.float_data.clone(),
                "float64" => self.double_data.iter().map(|&v| v as f32).collect(),
                "float16" => self
                    .int32_data
                    .iter()
                    .map(|&v| super::f16_to_f32(v as u16))
                    .collect(),
                _ => self
                    .int32_data
                    .iter()
                    .map(|&v| super::bf16_to_f32(v as u16))
                    .collect(),
            }
        };
        let want = self
            .shape()?
            .iter()
            .try_fold(1usize, |n, &d| n.checked_mul(d));
        if want != Some(values.len()) {
            return Err(format!(
                "{} values for shape {:?} ({} expected)",
                values.len(),
                self.dims,
                want.map_or("more than can be addressed".to_string(), |w| w.to_string())
            ));
        }
        Ok(values)
    }
}

#[derive(Default)]
struct Scan<'a> {
    /// Tensors by name: initializers and the outputs of Constant nodes.
    tensors: HashMap<&'a str, &'a TensorProto>,
    /// Identity nodes: output -> input.
    aliases: HashMap<&'a str, &'a str>,
    /// Conv nodes in graph order (subgraphs where they sit).
    convs: Vec<&'a NodeProto>,
}

impl<'a> Scan<'a> {
    fn graph(&mut self, g: &'a GraphProto) {
        for t in &g.initializer {
            self.tensors.insert(t.name.as_str(), t);
        }
        for n in &g.node {
            match n.op_type.as_str() {
                "Constant" => {
                    if let (Some(out), Some(t)) = (
                        n.output.first(),
                        n.attribute
                            .iter()
                            .find(|a| a.name == "value")
                            .and_then(|a| a.t.as_ref()),
                    ) {
                        self.tensors.insert(out.as_str(), t);
                    }
                }
                "Identity" => {
                    if let (Some(o), Some(i)) = (n.output.first(), n.input.first()) {
                        self.aliases.insert(o.as_str(), i.as_str());
                    }
                }
                "Conv" => self.convs.push(n),
                _ => {}
            }
            for a in &n.attribute {
                if let Some(sub) = &a.g {
                    self.graph(sub);
                }
                for sub in &a.graphs {
                    self.graph(sub);
                }
            }
        }
    }

    fn resolve(&self, mut name: &'a str) -> Option<&'a TensorProto> {
        for _ in 0..16 {
            if let Some(t) = self.tensors.get(name) {
                return Some(t);
            }
            name = self.aliases.get(name)?;
        }
        None
    }
}

/// The weights of every `Conv` node, in graph order.
pub(super) fn read_onnx(path: &Path, bytes: &[u8]) -> Result<(Vec<ConvLayer>, Vec<String>)> {
    let model = ModelProto::decode(bytes).map_err(|e| {
        invalid(
            path,
            format!("not a readable ONNX model (truncated or damaged?): {e}"),
        )
    })?;
    let graph = model
        .graph
        .as_ref()
        .ok_or_else(|| invalid(path, "the ONNX model has no graph"))?;
    let mut scan = Scan::default();
    scan.graph(graph);
    let (mut layers, mut skipped) = (Vec::new(), Vec::new());
    for node in &scan.convs {
        let label = if node.name.is_empty() {
            node.output.first().cloned().unwrap_or_default()
        } else {
            node.name.clone()
        };
        let Some(wname) = node.input.get(1) else {
            skipped.push(format!("Conv node '{label}' has no weight input"));
            continue;
        };
        let Some(t) = scan.resolve(wname) else {
            skipped.push(format!(
                "Conv node '{label}': weight '{wname}' is computed at run time, not stored"
            ));
            continue;
        };
        let groups = node
            .attribute
            .iter()
            .find(|a| a.name == "group")
            .map(|a| a.i.max(1) as usize)
            .unwrap_or(1);
        let shape = t
            .shape()
            .map_err(|e| invalid(path, format!("weight '{wname}': {e}")))?;
        let data = t
            .floats()
            .map_err(|e| invalid(path, format!("weight '{wname}': {e}")))?;
        match layer_from_tensor(wname, &shape, data, Layout::Oihw, groups)
            .map_err(|e| invalid(path, e))?
        {
            Some(mut l) => {
                if !l.out_channels.is_multiple_of(groups) {
                    return Err(invalid(
                        path,
                        format!(
                            "weight '{wname}': {} output channels do not split into {groups} groups",
                            l.out_channels
                        ),
                    ));
                }
                l.layout_guessed = false;
                layers.push(l)
            }
            None => skipped.push(format!(
                "Conv node '{label}': weight '{wname}' of shape {shape:?} (only 1-D and 2-D convolutions are drawn)"
            )),
        }
    }
    Ok((layers, skipped))
}
