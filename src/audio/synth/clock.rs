//! Musical time: beat positions to seconds, through steady and ramping tempo.

/// One stretch of a [`Clock`]: from beat position `beat0` at time `t0`, beats per second
/// `b + 2 a (t - t0)` (a linear tempo ramp; steady when `a` is 0).
#[derive(Clone, Copy, Debug)]
pub(super) struct Piece {
    pub(super) beat0: f64,
    pub(super) t0: f64,
    /// Beats per second at `t0`.
    pub(super) b: f64,
    /// Half the rate of change of beats per second (per second).
    pub(super) a: f64,
}

impl Piece {
    fn time(&self, beat_pos: f64) -> f64 {
        let beats = beat_pos - self.beat0;
        // Solve a t^2 + b t = beats for t >= 0 (t measured from t0).
        let t = if self.a.abs() < 1e-12 {
            beats / self.b
        } else {
            let disc = self.b * self.b + 4.0 * self.a * beats;
            // Numerically stable root.
            2.0 * beats / (self.b + disc.max(0.0).sqrt())
        };
        self.t0 + t
    }
}

/// Musical time of a track: beat position (in beats since the first beat) to seconds,
/// through pieces of steady or linearly ramping tempo.
#[derive(Clone, Debug)]
pub(super) struct Clock {
    pub(super) pieces: Vec<Piece>,
}

impl Clock {
    /// A clock from `first_beat` at `bps` beats per second, ramping by `a` (see [`Piece`]).
    pub(super) fn new(first_beat: f64, bps: f64, a: f64) -> Clock {
        Clock {
            pieces: vec![Piece {
                beat0: 0.0,
                t0: first_beat,
                b: bps,
                a,
            }],
        }
    }

    /// Ramp the tempo linearly from beat position `from` to `bpm_to` over `beats` beats,
    /// then hold it. `from` must lie at or after the last piece's start.
    pub(super) fn ramp(&mut self, from: f64, beats: f64, bpm_to: f64) {
        let t0 = self.time(from);
        let b0 = self.bpm_at(t0) / 60.0;
        let b1 = bpm_to / 60.0;
        // The beats of a linear ramp are its mean rate times its length.
        let span = 2.0 * beats / (b0 + b1);
        let a = (b1 - b0) / (2.0 * span);
        self.pieces.push(Piece {
            beat0: from,
            t0,
            b: b0,
            a,
        });
        self.pieces.push(Piece {
            beat0: from + beats,
            t0: t0 + span,
            b: b1,
            a: 0.0,
        });
    }

    pub(super) fn time(&self, beat_pos: f64) -> f64 {
        let i = self
            .pieces
            .partition_point(|p| p.beat0 <= beat_pos)
            .saturating_sub(1);
        self.pieces[i].time(beat_pos)
    }

    pub(super) fn bpm_at(&self, t: f64) -> f64 {
        let i = self.pieces.partition_point(|p| p.t0 <= t).saturating_sub(1);
        let p = &self.pieces[i];
        60.0 * (p.b + 2.0 * p.a * (t - p.t0))
    }
}
