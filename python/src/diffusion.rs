//! Parameter diffusion in steps, for `eigentechno.distributed.learn`: a job (data and
//! options loaded and checked once a process), its start, one replica's round, the
//! exchange, and the finished folder. Ledgers travel as JSON text and replicas as
//! safetensors bytes, so a Dask client can hold them between rounds and hand any
//! replica's round to any worker.

use std::path::PathBuf;
use std::time::Instant;

use eigentechno::learn::diffusion::{Ledger, ReplicaState};
use eigentechno::learn::{DiffusionParams, FitParams};
use eigentechno::ops::learn::thread_pool;
use eigentechno::ops::learn_ensemble::DiffusionJob;
use eigentechno::store::training_state::{decode_replica, encode_replica};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::calls::{blocking, invalid};

/// A diffusion run's data and options, checked and loaded (see
/// `ops::learn_ensemble::DiffusionJob`).
#[pyclass(module = "eigentechno._eigentechno", name = "DiffusionJob", frozen)]
pub(crate) struct PyDiffusionJob {
    inner: DiffusionJob,
    threads: usize,
}

fn ledger(py: Python<'_>, text: &str) -> PyResult<Ledger> {
    serde_json::from_str(text).map_err(|e| invalid(py, format!("not a diffusion ledger: {e}")))
}

fn states(py: Python<'_>, blobs: &[Vec<u8>]) -> PyResult<Vec<ReplicaState>> {
    blobs
        .iter()
        .enumerate()
        .map(|(i, b)| decode_replica(b).map_err(|e| invalid(py, format!("replica {i}: {e}"))))
        .collect()
}

fn blobs<'py>(py: Python<'py>, states: &[ReplicaState]) -> Vec<Bound<'py, PyBytes>> {
    states
        .iter()
        .map(|s| PyBytes::new(py, &encode_replica(s)))
        .collect()
}

#[pymethods]
impl PyDiffusionJob {
    /// Read `data` (an IDX folder, or a matrix with `labels`) and check `options` (the
    /// model's, learn.json's `options` as JSON) and `diffusion` (replicas, coupling,
    /// exchange, topology as JSON) against it. `threads`: each call's rayon pool (0:
    /// every core).
    #[new]
    #[pyo3(signature = (data, labels, options, diffusion, threads))]
    fn new(
        py: Python<'_>,
        data: PathBuf,
        labels: Option<PathBuf>,
        options: &str,
        diffusion: &str,
        threads: usize,
    ) -> PyResult<PyDiffusionJob> {
        let params: FitParams = serde_json::from_str(options)
            .map_err(|e| invalid(py, format!("model options: {e}")))?;
        let d: DiffusionParams = serde_json::from_str(diffusion)
            .map_err(|e| invalid(py, format!("diffusion options: {e}")))?;
        let inner = blocking(py, || {
            DiffusionJob::prepare(&data, labels.as_deref(), &params, &d)
        })?;
        Ok(PyDiffusionJob { inner, threads })
    }

    /// What run this is (data, options, replicas), as a hex fingerprint.
    #[getter]
    fn fingerprint(&self) -> String {
        self.inner.fingerprint().to_string()
    }

    /// The ledger (JSON) and every replica's state at step 0.
    fn start<'py>(&self, py: Python<'py>) -> PyResult<(String, Vec<Bound<'py, PyBytes>>)> {
        let (l, s) = blocking(py, || {
            thread_pool(self.threads)?.install(|| self.inner.start())
        })?;
        Ok((
            serde_json::to_string(&l).expect("serialisable"),
            blobs(py, &s),
        ))
    }

    /// The step the next round ends at, or None when the run is done.
    fn next_round(&self, py: Python<'_>, ledger_json: &str) -> PyResult<Option<usize>> {
        Ok(self.inner.next_round(&ledger(py, ledger_json)?))
    }

    /// Replica `replica`'s round from `state` up to step `until`: its new state.
    fn round<'py>(
        &self,
        py: Python<'py>,
        replica: usize,
        state: Vec<u8>,
        until: usize,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let s = states(py, &[state])?.pop().expect("one state");
        let next = blocking(py, || {
            thread_pool(self.threads)?.install(|| self.inner.round(replica, s, until, &mut |_| {}))
        })?;
        Ok(PyBytes::new(py, &encode_replica(&next)))
    }

    /// The exchange after the round that ended at `round_end`: the new ledger, the mixed
    /// states, and the curve's point (JSON) when an epoch ended, else None.
    fn exchange<'py>(
        &self,
        py: Python<'py>,
        ledger_json: &str,
        round_end: usize,
        replicas: Vec<Vec<u8>>,
    ) -> PyResult<(String, Vec<Bound<'py, PyBytes>>, Option<String>)> {
        let mut l = ledger(py, ledger_json)?;
        let mut s = states(py, &replicas)?;
        let point = blocking(py, || {
            thread_pool(self.threads)?.install(|| self.inner.exchange(&mut l, round_end, &mut s))
        })?;
        Ok((
            serde_json::to_string(&l).expect("serialisable"),
            blobs(py, &s),
            point.map(|p| serde_json::to_string(&p).expect("serialisable")),
        ))
    }

    /// Save the ledger and states as `out`'s checkpoint (the file an in-process run
    /// writes; either kind of run goes on from it).
    fn checkpoint(
        &self,
        py: Python<'_>,
        out: PathBuf,
        ledger_json: &str,
        replicas: Vec<Vec<u8>>,
    ) -> PyResult<()> {
        let l = ledger(py, ledger_json)?;
        let s = states(py, &replicas)?;
        blocking(py, || self.inner.save_checkpoint(&out, &l, &s))?;
        Ok(())
    }

    /// The ledger and states of `out`'s checkpoint when it is this run's, else None.
    fn resume<'py>(
        &self,
        py: Python<'py>,
        out: PathBuf,
    ) -> PyResult<Option<(String, Vec<Bound<'py, PyBytes>>)>> {
        let found = blocking(py, || Ok(self.inner.load_checkpoint(&out)))?;
        Ok(found.map(|(l, s)| {
            (
                serde_json::to_string(&l).expect("serialisable"),
                blobs(py, &s),
            )
        }))
    }

    /// Write the finished run into `out` (replica_NN/, diffusion.json, diffusion.png) and
    /// remove its checkpoint; returns diffusion.json's text. `train_seconds`: the
    /// training's wall time; `resumed_at`: the step a resumed run went on from.
    fn write(
        &self,
        py: Python<'_>,
        out: PathBuf,
        ledger_json: &str,
        replicas: Vec<Vec<u8>>,
        train_seconds: f64,
        resumed_at: Option<usize>,
    ) -> PyResult<String> {
        let started = Instant::now();
        let l = ledger(py, ledger_json)?;
        let s = states(py, &replicas)?;
        let outcome = blocking(py, || {
            thread_pool(self.threads)?.install(|| {
                self.inner
                    .write(&out, l, s, train_seconds, started, resumed_at)
            })
        })?;
        Ok(serde_json::to_string(&outcome.record).expect("serialisable"))
    }
}
