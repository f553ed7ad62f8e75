//! `matrix`: every track's bars stacked into `bars.npy`, described by `bars.csv`, with
//! `report.json` saying what happened to each track.

use serde::Serialize;

use crate::audio::bars::groove;
use crate::audio::rhythm::{SegmentSummary, TempoCurve};
use crate::engine::legendre::legendre_embedding;
use crate::error::{Error, Result};
use crate::pipeline::TrackStatus;
use crate::pipeline::config::{ConfigError, ParamSpec, Params};
use crate::pipeline::stage::{
    BuildContext, CollectStage, Kind, MatrixFile, Mode, Payload, Stage, StageContext, StageInfo,
    StageType, Track,
};
use crate::store::tables::{BarRow, TableWriter};
use crate::store::{NpyRowWriter, write_atomic};

/// The `matrix` stage type.
pub struct MatrixType;

const PARAMS: &[ParamSpec] = &[];

const INFO: StageInfo = StageInfo {
    name: "matrix",
    about: "Stacks every bar into OUT/<stage>/bars.npy (N x d float32, written row by row), with bars.csv (row, track, \
         bar, start_s, bpm, tempo_confidence, downbeat_confidence, stretch_ratio, segment) and report.json (per track: status, \
         bpm, runner-up, confidences, drift, tempo_curve: the local tempo's cubic fit in the Legendre basis with its embedding, bars taken, groove: median lag-0 correlation of consecutive bars' onset \
         envelopes, error). Rows follow track path, then time.",
    mode: Mode::Collect,
    consumes: &[Kind::Bars],
    produces: Kind::Matrix,
    arity: None,
    params: PARAMS,
};

impl StageType for MatrixType {
    fn info(&self) -> &'static StageInfo {
        &INFO
    }
    fn build(
        &self,
        _params: &Params<'_>,
        _ctx: &BuildContext<'_>,
    ) -> std::result::Result<Stage, ConfigError> {
        Ok(Stage::Collect(Box::new(MatrixStage::default())))
    }
}

#[derive(Serialize)]
struct TrackEntry {
    path: String,
    status: TrackStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    bpm: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    runner_up_bpm: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    confidence: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    downbeat_confidence: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    drift: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    drifting: Option<bool>,
    /// The whole track's local tempo as a cubic, with its embedding.
    #[serde(skip_serializing_if = "Option::is_none")]
    tempo_curve: Option<TempoCurveEntry>,
    /// Stretches of steady tempo, drift or no pulse (start, end, bpm, drift, status).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    segments: Vec<SegmentSummary>,
    bars: usize,
    /// Median lag-0 correlation of consecutive bars' onset envelopes ([`groove`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    groove: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    /// Non-fatal problems (a truncated file, damaged packets skipped).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    warnings: Vec<String>,
}

/// A track's tempo curve as report.json gives it: `eigentechno curves RUN_DIR` reads
/// it back.
#[derive(Serialize)]
struct TempoCurveEntry {
    /// The span fitted (seconds), mapped to t in [-1, 1].
    domain: [f64; 2],
    /// Always `legendre`: the coefficients' basis, in t.
    basis: &'static str,
    /// Legendre coefficients (bpm), ascending; the first is the mean tempo over the span.
    coefficients: Vec<f64>,
    /// `c_k / sqrt(2k + 1)` (bpm): Euclidean distances between tracks' embeddings are
    /// the RMS differences of their tempo curves over (normalised) time.
    embedding: Vec<f64>,
}

impl From<&TempoCurve> for TempoCurveEntry {
    fn from(c: &TempoCurve) -> Self {
        TempoCurveEntry {
            domain: c.domain,
            basis: "legendre",
            coefficients: c.coefficients.clone(),
            embedding: legendre_embedding(&c.coefficients),
        }
    }
}

#[derive(Serialize)]
struct Report<'a> {
    rate: Option<u32>,
    bar_samples: Option<usize>,
    rows: usize,
    tracks: &'a [TrackEntry],
}

#[derive(Default)]
struct MatrixStage {
    npy: Option<NpyRowWriter>,
    csv: Option<TableWriter<BarRow>>,
    rate: Option<u32>,
    tracks: Vec<TrackEntry>,
}

impl MatrixStage {
    fn open(&mut self, ctx: &StageContext, cols: usize) -> Result<()> {
        let dir = ctx.stage_dir();
        self.npy = Some(NpyRowWriter::create(&dir.join("bars.npy"), cols)?);
        self.csv = Some(TableWriter::create(&dir.join("bars.csv"))?);
        Ok(())
    }
}

impl CollectStage for MatrixStage {
    fn accept(
        &mut self,
        track: &Track,
        report: &crate::pipeline::TrackReport,
        input: Option<Payload>,
        ctx: &StageContext,
    ) -> Result<()> {
        let path = track.path.display().to_string();
        let bars = match input {
            None => {
                self.tracks.push(TrackEntry {
                    path,
                    status: report.status,
                    bpm: None,
                    runner_up_bpm: None,
                    confidence: None,
                    downbeat_confidence: None,
                    drift: None,
                    drifting: None,
                    tempo_curve: None,
                    segments: Vec::new(),
                    bars: 0,
                    groove: None,
                    error: report.error.clone(),
                    warnings: report.warnings.clone(),
                });
                return Ok(());
            }
            Some(Payload::Bars(b)) => b,
            Some(_) => unreachable!("checked by the graph"),
        };
        let r = &bars.rhythm;
        let mut entry = TrackEntry {
            path: path.clone(),
            status: TrackStatus::Ok,
            bpm: Some(r.bpm),
            runner_up_bpm: Some(r.runner_up_bpm),
            confidence: Some(r.confidence),
            downbeat_confidence: Some(r.downbeat_confidence),
            drift: Some(r.drift),
            drifting: Some(r.drifting),
            tempo_curve: r.tempo_curve.as_ref().map(TempoCurveEntry::from),
            segments: r.segments.clone(),
            bars: 0,
            groove: None,
            error: None,
            warnings: report.warnings.clone(),
        };
        let len = bars.bars.first().map(|b| b.samples.len()).unwrap_or(0);
        if self.npy.is_none() {
            self.open(ctx, len)?;
            self.rate = Some(bars.rate);
        }
        let npy = self.npy.as_mut().expect("opened");
        let uneven = bars.bars.iter().any(|b| b.samples.len() != npy.cols());
        if uneven || self.rate != Some(bars.rate) {
            entry.status = TrackStatus::Failed;
            entry.error = Some(format!(
                "bars of {len} samples at {} Hz do not fit a matrix of {} samples at {} Hz (stretch the bars first)",
                bars.rate,
                npy.cols(),
                self.rate.unwrap_or(0)
            ));
            self.tracks.push(entry);
            return Ok(());
        }
        let csv = self.csv.as_mut().expect("opened");
        for b in &bars.bars {
            let row = npy.rows();
            npy.push(&b.samples)?;
            csv.push(&BarRow {
                row,
                track: path.clone(),
                bar: b.index,
                start_s: b.start,
                bpm: r.bpm,
                tempo_confidence: r.confidence,
                downbeat_confidence: b.downbeat_confidence,
                stretch_ratio: b.stretch_ratio,
                segment: b.segment,
            })?;
        }
        entry.bars = bars.bars.len();
        entry.groove = bars
            .groove
            .or_else(|| groove(&bars.bars, bars.rate))
            .map(|g| (g * 1e4).round() / 1e4);
        self.tracks.push(entry);
        Ok(())
    }

    fn finish(&mut self, ctx: &StageContext) -> Result<Payload> {
        let dir = ctx.stage_dir();
        let mut npy_path = None;
        let mut csv_path = None;
        let rows = self.npy.as_ref().map(|n| n.rows()).unwrap_or(0);
        let cols = self.npy.as_ref().map(|n| n.cols());
        if let Some(npy) = self.npy.take() {
            npy_path = Some(npy.finish()?);
        }
        if let Some(csv) = self.csv.take() {
            csv_path = Some(csv.finish()?);
        }
        let report = Report {
            rate: self.rate,
            bar_samples: cols,
            rows,
            tracks: &self.tracks,
        };
        let json = serde_json::to_vec_pretty(&report).expect("report serialises");
        write_atomic(&dir.join("report.json"), &json)?;
        if rows == 0 {
            return Err(Error::NoRhythm(format!(
                "no bars were taken from any of the {} tracks (see {})",
                self.tracks.len(),
                dir.join("report.json").display()
            )));
        }
        Ok(Payload::Matrix(MatrixFile {
            npy: npy_path.expect("rows were written"),
            csv: csv_path,
            rate: self.rate,
        }))
    }
}
