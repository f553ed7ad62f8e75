//! Reading a stream ahead on a thread of its own, so decoding one track overlaps with
//! what consumes it (resampling, analysis) on another core.

use std::path::Path;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use super::signal::SampleStream;
use crate::error::{Error, Result};

/// Batches read ahead: enough to ride out a slow one on either side, few enough that
/// the memory held stays near a megabyte.
const AHEAD: usize = 4;
/// Samples handed over at a time (about 1.5 s at 44.1 kHz).
const BATCH: usize = 1 << 16;

/// A [`SampleStream`] whose inner stream is read on a thread of its own, up to
/// a few batches ahead. Errors arrive in order, where the inner stream raised them;
/// dropping the stream stops the thread after the batch it is reading.
pub struct PrefetchStream {
    rate: u32,
    chunks: Option<Receiver<Result<Vec<f32>>>>,
    /// Emptied chunks go back to the reader, so a long track reuses a few buffers.
    spent: SyncSender<Vec<f32>>,
    reader: Option<JoinHandle<()>>,
}

impl PrefetchStream {
    /// Start reading `inner` (the stream of `path`, which an error names if the system
    /// refuses a thread) ahead on a new thread.
    pub fn new(mut inner: Box<dyn SampleStream>, path: &Path) -> Result<Self> {
        let rate = inner.sample_rate();
        let (send, chunks) = sync_channel::<Result<Vec<f32>>>(AHEAD);
        let (spent, reuse) = sync_channel::<Vec<f32>>(AHEAD + 2);
        let reader = std::thread::Builder::new()
            .name("eigentechno-prefetch".into())
            .spawn(move || {
                let mut chunk = Vec::new();
                loop {
                    let mut batch = reuse.try_recv().unwrap_or_default();
                    batch.clear();
                    // Decoders yield a packet (about a thousand samples) at a time:
                    // handing each over alone cost more than it saved.
                    let mut end = Ok(true);
                    while batch.len() < BATCH {
                        match inner.read_chunk(&mut chunk) {
                            Ok(true) => batch.extend_from_slice(&chunk),
                            other => {
                                end = other;
                                break;
                            }
                        }
                    }
                    // A closed channel: the consumer is gone, so nobody wants the rest.
                    if !batch.is_empty() && send.send(Ok(batch)).is_err() {
                        break;
                    }
                    match end {
                        Ok(true) => {}
                        Ok(false) => break,
                        Err(e) => {
                            let _ = send.send(Err(e));
                            break;
                        }
                    }
                }
            })
            .map_err(|source| Error::Io {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(PrefetchStream {
            rate,
            chunks: Some(chunks),
            spent,
            reader: Some(reader),
        })
    }
}

impl SampleStream for PrefetchStream {
    fn sample_rate(&self) -> u32 {
        self.rate
    }

    fn read_chunk(&mut self, out: &mut Vec<f32>) -> Result<bool> {
        out.clear();
        // No receiver: the stream has ended (or failed) already.
        let Some(chunks) = &self.chunks else {
            return Ok(false);
        };
        let next = chunks.recv();
        if let Ok(Ok(chunk)) = next {
            let old = std::mem::replace(out, chunk);
            let _ = self.spent.try_send(old);
            return Ok(true);
        }
        self.chunks = None;
        match next {
            Ok(Err(e)) => Err(e),
            // The reader finished, or panicked: its panic goes on here, on the caller.
            _ => {
                if let Some(h) = self.reader.take()
                    && let Err(panic) = h.join()
                {
                    std::panic::resume_unwind(panic);
                }
                Ok(false)
            }
        }
    }
}

impl Drop for PrefetchStream {
    fn drop(&mut self) {
        // Close the channel first, so a reader blocked on a full channel stops.
        self.chunks = None;
        if let Some(h) = self.reader.take() {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::Signal;

    /// A stream of `n` chunks of 1,000 samples counting up, failing at chunk `fail_at`.
    struct Counting {
        n: usize,
        at: usize,
        fail_at: Option<usize>,
    }

    impl SampleStream for Counting {
        fn sample_rate(&self) -> u32 {
            8_820
        }
        fn read_chunk(&mut self, out: &mut Vec<f32>) -> Result<bool> {
            out.clear();
            if Some(self.at) == self.fail_at {
                return Err(Error::NoRhythm("chunk went bad".into()));
            }
            if self.at == self.n {
                return Ok(false);
            }
            out.extend((0..1_000).map(|i| (self.at * 1_000 + i) as f32));
            self.at += 1;
            Ok(true)
        }
    }

    /// `n` counting chunks, failing at chunk `fail_at`, read ahead.
    fn prefetched(n: usize, fail_at: Option<usize>) -> PrefetchStream {
        let inner = Counting { n, at: 0, fail_at };
        PrefetchStream::new(Box::new(inner), Path::new("t.wav")).unwrap()
    }

    #[test]
    fn reads_every_sample_in_order() {
        let mut s = prefetched(570, None);
        assert_eq!(s.sample_rate(), 8_820);
        let sig = Signal::from_stream(&mut s).unwrap();
        let want: Vec<f32> = (0..570_000).map(|i| i as f32).collect();
        assert_eq!(sig.samples, want);
        let mut out = vec![1.0];
        assert!(!s.read_chunk(&mut out).unwrap());
        assert!(out.is_empty());
    }

    #[test]
    fn an_error_arrives_after_the_samples_before_it() {
        let mut s = prefetched(570, Some(200));
        let (mut out, mut got) = (Vec::new(), Vec::new());
        let e = loop {
            match s.read_chunk(&mut out) {
                Ok(true) => got.extend_from_slice(&out),
                Ok(false) => panic!("the error was lost"),
                Err(e) => break e,
            }
        };
        let want: Vec<f32> = (0..200_000).map(|i| i as f32).collect();
        assert!(got == want, "{} samples before the error", got.len());
        assert!(e.to_string().contains("chunk went bad"), "{e}");
        assert!(!s.read_chunk(&mut out).unwrap());
    }

    #[test]
    fn dropping_it_early_stops_the_reader() {
        // A million chunks would take seconds to read: drop returns at once.
        let mut s = prefetched(1_000_000, None);
        let mut out = Vec::new();
        assert!(s.read_chunk(&mut out).unwrap());
        drop(s);
    }
}
