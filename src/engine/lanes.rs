//! Float reductions in eight lanes. A plain float sum must keep its order, so the
//! compiler runs it one value at a time; eight running sums vectorise.

/// `sum_i f(a[i], b[i])` over two slices of equal length, in eight lanes.
///
/// ```
/// use eigentechno::engine::lanes::sum_zip;
/// let a: Vec<f32> = (0..20).map(|i| i as f32).collect();
/// assert_eq!(sum_zip(&a, &a, |x, y| x * y), (0..20).map(|i| (i * i) as f32).sum::<f32>());
/// ```
#[inline]
pub fn sum_zip(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32) -> f32 {
    debug_assert_eq!(a.len(), b.len(), "equal lengths");
    let mut acc = [0.0f32; 8];
    let (ac, bc) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ac
        .remainder()
        .iter()
        .zip(bc.remainder())
        .map(|(&x, &y)| f(x, y))
        .sum();
    for (x, y) in ac.zip(bc) {
        for i in 0..8 {
            acc[i] += f(x[i], y[i]);
        }
    }
    acc.iter().sum::<f32>() + tail
}
