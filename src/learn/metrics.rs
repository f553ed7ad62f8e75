//! Classification metrics on plain numbers: accuracy, log loss, calibration, AUROC and the
//! error left after rejecting the least confident rows.

/// Fraction of rows whose most probable class is the label.
pub fn accuracy(predicted: &[u32], labels: &[u32]) -> f64 {
    assert_eq!(predicted.len(), labels.len());
    if labels.is_empty() {
        return f64::NAN;
    }
    let right = predicted.iter().zip(labels).filter(|(p, l)| p == l).count();
    right as f64 / labels.len() as f64
}

/// The most probable class of each row of `probabilities` (n x classes).
pub fn argmax_rows(probabilities: &[f32], classes: usize) -> Vec<u32> {
    probabilities
        .chunks_exact(classes)
        .map(|r| {
            let mut best = 0;
            for (c, &p) in r.iter().enumerate() {
                if p > r[best] {
                    best = c;
                }
            }
            best as u32
        })
        .collect()
}

/// Mean negative log probability of the label (natural log), with probabilities floored
/// at 1e-12 so one confident mistake gives a large but finite loss.
pub fn nll(probabilities: &[f32], classes: usize, labels: &[u32]) -> f64 {
    let rows = probabilities.chunks_exact(classes);
    let s: f64 = rows
        .zip(labels)
        .map(|(r, &l)| -(r[l as usize] as f64).max(1e-12).ln())
        .sum();
    s / labels.len() as f64
}

/// Expected calibration error over `bins` equal-width bins of the top probability:
/// sum over bins of (rows in bin / n) * |accuracy - mean top probability|.
pub fn ece(probabilities: &[f32], classes: usize, labels: &[u32], bins: usize) -> f64 {
    let mut count = vec![0usize; bins];
    let mut conf = vec![0f64; bins];
    let mut right = vec![0f64; bins];
    for (r, &l) in probabilities.chunks_exact(classes).zip(labels) {
        let (mut best, mut p) = (0, r[0]);
        for (c, &v) in r.iter().enumerate() {
            if v > p {
                (best, p) = (c, v);
            }
        }
        // Bins are (lo, hi]; a top probability of exactly 0 joins the first.
        let b = ((p as f64 * bins as f64).ceil() as usize).clamp(1, bins) - 1;
        count[b] += 1;
        conf[b] += p as f64;
        right[b] += (best == l as usize) as u8 as f64;
    }
    let n = labels.len() as f64;
    (0..bins)
        .filter(|&b| count[b] > 0)
        .map(|b| (count[b] as f64 / n) * ((right[b] - conf[b]) / count[b] as f64).abs())
        .sum()
}

/// Area under the ROC curve for telling `positive` scores from `negative` ones (the
/// probability that a random positive scores above a random negative, ties counting one
/// half): the Mann-Whitney U statistic over the product of the counts.
pub fn auroc(positive: &[f32], negative: &[f32]) -> f64 {
    let mut all: Vec<(f32, bool)> = positive
        .iter()
        .map(|&s| (s, true))
        .chain(negative.iter().map(|&s| (s, false)))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Mid-ranks over ties.
    let mut rank_sum = 0f64;
    let mut i = 0;
    while i < all.len() {
        let mut j = i;
        while j < all.len() && all[j].0 == all[i].0 {
            j += 1;
        }
        let mid = (i + j + 1) as f64 / 2.0; // ranks are 1-based
        rank_sum += mid * all[i..j].iter().filter(|x| x.1).count() as f64;
        i = j;
    }
    let (np, nn) = (positive.len() as f64, negative.len() as f64);
    (rank_sum - np * (np + 1.0) / 2.0) / (np * nn)
}

/// The error rate among the most confident `coverage` fraction of rows, for each
/// coverage (keeping at least one row). Ties in confidence keep the input order.
pub fn error_at_coverage(confidence: &[f32], correct: &[bool], coverages: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..confidence.len()).collect();
    order.sort_by(|&a, &b| confidence[b].total_cmp(&confidence[a]));
    coverages
        .iter()
        .map(|&c| {
            let keep = ((c * order.len() as f64).round() as usize).clamp(1, order.len());
            let wrong = order[..keep].iter().filter(|&&i| !correct[i]).count();
            wrong as f64 / keep as f64
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auroc_counts_pairs_and_half_ties() {
        assert_eq!(auroc(&[3.0, 4.0], &[1.0, 2.0]), 1.0);
        assert_eq!(auroc(&[1.0, 2.0], &[3.0, 4.0]), 0.0);
        // One tie of four pairs: pairs (2>1), (2=2: 0.5), (3>1), (3>2) -> 3.5/4.
        assert_eq!(auroc(&[2.0, 3.0], &[1.0, 2.0]), 0.875);
        // Brute force on a small random set.
        let mut r = crate::engine::rng::Rng::new(4);
        let p: Vec<f32> = (0..37).map(|_| (r.below(10)) as f32).collect();
        let n: Vec<f32> = (0..23).map(|_| (r.below(10)) as f32).collect();
        let mut pairs = 0.0;
        for a in &p {
            for b in &n {
                pairs += if a > b {
                    1.0
                } else if a == b {
                    0.5
                } else {
                    0.0
                };
            }
        }
        assert!((auroc(&p, &n) - pairs / (37.0 * 23.0)).abs() < 1e-12);
    }

    #[test]
    fn ece_nll_and_rejection_by_hand() {
        // Two rows, two classes: top probabilities 0.9 (right) and 0.6 (wrong).
        let p = [0.9, 0.1, 0.4, 0.6];
        let labels = [0, 0];
        assert_eq!(argmax_rows(&p, 2), vec![0, 1]);
        assert_eq!(accuracy(&argmax_rows(&p, 2), &labels), 0.5);
        // Bins of 0.1: 0.9 is in (0.8, 0.9], 0.6 in (0.5, 0.6]: 0.5*|1-0.9| + 0.5*|0-0.6|.
        assert!((ece(&p, 2, &labels, 10) - 0.35).abs() < 1e-6);
        let want = -(0.9f64.ln() + 0.4f64.ln()) / 2.0;
        assert!((nll(&p, 2, &labels) - want).abs() < 1e-6);
        let conf = [0.9, 0.6, 0.3, 0.95];
        let correct = [true, false, false, true];
        assert_eq!(
            error_at_coverage(&conf, &correct, &[1.0, 0.5, 0.75, 0.0]),
            vec![0.5, 0.0, 1.0 / 3.0, 0.0]
        );
    }
}
