"""poly_distance, poly_embedding and poly_fit (#29 part 2, acceptance 3) against numpy:
the dense RMS difference, numpy.polynomial's conversions and fits, and bad input."""

import doctest
import re

import numpy as np
import numpy.polynomial.legendre as L
import numpy.polynomial.polynomial as P
import pytest

import eigentechno as et

# Domains: the unit interval, [0, 1] and an off-centre one, where power coefficients
# are sensible; and (0, 240), seconds of a track. Far from 0 and narrow (as (100, 101))
# the power basis itself is ill-conditioned: a curve of size 1 there has coefficients
# near 100**12 that cancel, and no method recovers digits the input does not hold. For
# such domains use basis='legendre' (tested below on (100, 101)).
DOMAINS = [(-1.0, 1.0), (0.0, 1.0), (-3.0, 5.0), (0.0, 240.0)]


def unit_power(p, domain):
    """Power coefficients in t of p(m + h t), by numpy (composition by Horner)."""
    a, b = domain
    m, h = (a + b) / 2, (b - a) / 2
    q = np.zeros(1)
    for c in p[::-1]:
        q = P.polyadd(P.polymul(q, [m, h]), [c])
    return q[: len(p)]


def dense_rms(a, b, domain, n=10**6):
    """The RMS difference of the two curves sampled at n midpoints of the domain."""
    x = domain[0] + (domain[1] - domain[0]) * (np.arange(n) + 0.5) / n
    return float(np.sqrt(np.mean((P.polyval(x, a) - P.polyval(x, b)) ** 2)))


@pytest.mark.parametrize("domain", DOMAINS)
def test_poly_distance_is_the_dense_rms_difference(domain):
    rng = np.random.default_rng(12)
    # Coefficients of size 1 on the unit scale: on wide domains divide c_k by the
    # domain's reach**k so that every term matters.
    reach = max(abs(domain[0]), abs(domain[1]))
    worst = 0.0
    for deg_a in range(13):
        deg_b = rng.integers(0, 13)
        a = rng.normal(size=deg_a + 1) / reach ** np.arange(deg_a + 1)
        b = rng.normal(size=deg_b + 1) / reach ** np.arange(deg_b + 1)
        want = dense_rms(a, b, domain)
        got = et.poly_distance(a, b, domain=domain)
        worst = max(worst, abs(got - want) / want)
        assert abs(got - want) <= 1e-6 * want, (domain, deg_a, deg_b, got, want)
        # Symmetric, and zero for one curve.
        assert et.poly_distance(b, a, domain=domain) == pytest.approx(got, rel=1e-12)
        assert et.poly_distance(a, a, domain=domain) == 0.0
    print(f"{domain}: worst relative error against 10**6 samples {worst:.1e}")


@pytest.mark.parametrize("domain", DOMAINS)
def test_poly_embedding_is_poly2leg_scaled(domain):
    rng = np.random.default_rng(3)
    reach = max(abs(domain[0]), abs(domain[1]))
    for deg in range(13):
        p = rng.normal(size=deg + 1) / reach ** np.arange(deg + 1)
        want = L.poly2leg(unit_power(p, domain)) / np.sqrt(2 * np.arange(deg + 1) + 1)
        got = et.poly_embedding(p, domain=domain)
        assert got.shape == want.shape
        scale = np.abs(want).max()
        assert np.abs(got - want).max() <= 1e-12 * scale, (domain, deg, got, want)
    # Rows in, rows out; Euclidean distances between rows are poly_distance.
    rows = rng.normal(size=(6, 5))
    E = et.poly_embedding(rows, domain=domain)
    assert E.shape == (6, 5) and E.dtype == np.float64
    for i in range(6):
        for j in range(6):
            d = et.poly_distance(rows[i], rows[j], domain=domain)
            assert np.linalg.norm(E[i] - E[j]) == pytest.approx(d, rel=1e-12, abs=1e-15)


def test_legendre_basis_and_a_far_domain():
    # On (100, 101) a curve in the Legendre basis keeps every digit; the domain does
    # not change the distance (the RMS over [A, B] is the RMS over [-1, 1]).
    rng = np.random.default_rng(5)
    a, b = rng.normal(size=13), rng.normal(size=9)
    t = np.linspace(-1, 1, 10**6 + 1)
    t = (t[1:] + t[:-1]) / 2
    want = np.sqrt(np.mean((L.legval(t, a) - L.legval(t, b)) ** 2))
    for domain in [(-1, 1), (100, 101)]:
        got = et.poly_distance(a, b, domain=domain, basis="legendre")
        assert got == pytest.approx(want, rel=1e-6)
    np.testing.assert_allclose(
        et.poly_embedding(a, domain=(100, 101), basis="legendre"), a / np.sqrt(2 * np.arange(13) + 1), rtol=1e-15
    )


def test_sklearn_neighbours_find_curves_by_shape():
    # x, x**3 and 0 on [-1, 1]: the nearest to x is x**3 (RMS 0.28), though the naive
    # coefficient distance puts 0 nearer (1 against 1.41).
    from sklearn.neighbors import NearestNeighbors

    C = np.array([[0, 1, 0, 0], [0, 0, 0, 1], [0, 0, 0, 0]], dtype=float)
    nn = NearestNeighbors(n_neighbors=2).fit(et.poly_embedding(C))
    assert nn.kneighbors(et.poly_embedding(C[:1]))[1][0][1] == 1
    assert NearestNeighbors(n_neighbors=2).fit(C).kneighbors(C[:1])[1][0][1] == 2


@pytest.mark.parametrize("domain", [None, (0.0, 10.0), (-5.0, 20.0)])
def test_poly_fit_matches_numpy_on_noisy_data(domain):
    rng = np.random.default_rng(8)
    x = np.sort(rng.uniform(0, 10, size=300))
    for degree in (1, 3, 6):
        truth = rng.normal(size=degree + 1) / 10.0 ** np.arange(degree + 1)
        y = P.polyval(x, truth) + 0.05 * rng.normal(size=x.size)
        got = et.poly_fit(x, y, degree, domain=domain)
        want = P.polyfit(x, y, degree)
        np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-10 * np.abs(want).max())
        dom = (x.min(), x.max()) if domain is None else domain
        leg = et.poly_fit(x, y, degree, domain=domain, basis="legendre")
        np.testing.assert_allclose(leg, L.Legendre.fit(x, y, degree, domain=dom).coef, rtol=1e-9, atol=1e-12)
        # Both forms are the same curve: read with the same domain, one embedding.
        e_power = et.poly_embedding(got, domain=dom)
        e_leg = et.poly_embedding(leg, domain=dom, basis="legendre")
        np.testing.assert_allclose(e_power, e_leg, rtol=0, atol=1e-9 * np.abs(e_leg).max())
    # Rows of y fitted at once, as one at a time.
    Y = rng.normal(size=(4, x.size))
    np.testing.assert_allclose(et.poly_fit(x, Y, 3), np.stack([et.poly_fit(x, r, 3) for r in Y]), rtol=1e-12)


def test_degree_12_fit_in_the_legendre_basis_is_exact():
    # Normal equations in the power basis lose the high coefficients at degree 12; the
    # QR fit in the Legendre basis recovers a degree-12 curve to rounding.
    rng = np.random.default_rng(9)
    c = rng.normal(size=13)
    x = np.linspace(0, 240, 2000)
    y = L.Legendre(c, domain=(0, 240))(x)
    got = et.poly_fit(x, y, 12, basis="legendre")
    np.testing.assert_allclose(got, c, atol=1e-11)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: et.poly_distance([1.0, np.nan], [1.0]), "NaN at index 1"),
        (lambda: et.poly_distance([], [1.0]), "a is empty"),
        (lambda: et.poly_distance([[1.0]], [1.0]), "must be 1-D"),
        (lambda: et.poly_distance(["a"], [1.0]), "real numbers"),
        (lambda: et.poly_distance([1.0], [2.0], domain=(1, 1)), "A < B"),
        (lambda: et.poly_distance([1.0], [2.0], domain=(2, 1)), "A < B"),
        (lambda: et.poly_distance([1.0], [2.0], domain=(0, np.inf)), "A < B"),
        (lambda: et.poly_distance([1.0], [2.0], domain=3), "two numbers"),
        (lambda: et.poly_distance([1.0], [2.0], basis="chebyshev"), "unknown basis"),
        (lambda: et.poly_distance(np.zeros(70), [2.0]), "at most 64"),
        (lambda: et.poly_embedding(np.empty((0, 3))), "is empty"),
        (lambda: et.poly_embedding([[1.0, 2.0], [3.0, np.nan]]), "NaN at index 3"),
        (lambda: et.poly_fit([0, 1, 2], [1, 2], 1), "3 points, as x, got 2"),
        (lambda: et.poly_fit([0, 1, 2], [1, 2, 3], 3), "below the number of distinct x values (3)"),
        (lambda: et.poly_fit([1, 1, 1], [1, 2, 3], 1), "distinct x values (1)"),
        (lambda: et.poly_fit([0, 1, np.nan], [1, 2, 3], 1), "x: expected finite"),
        (lambda: et.poly_fit([0, 1, 2], [1, np.inf, 3], 1), "inf at index 1"),
        (lambda: et.poly_fit([0, 1, 2], [1, 2, 3], -1), "degree"),
        (lambda: et.poly_fit([], [], 1), "x is empty"),
        (lambda: et.poly_fit([0, 1, 2], [1, 2, 3], 1, domain=(3, 3)), "A < B"),
    ],
)
def test_bad_input_is_a_value_error_that_says_what(call, message):
    with pytest.raises(ValueError, match=re.escape(message)) as e:
        call()
    assert isinstance(e.value, et.InvalidInputError)


def test_docstring_examples_run():
    for f in (et.poly_distance, et.poly_embedding, et.poly_fit):
        tests = doctest.DocTestFinder().find(f, globs={"eigentechno": et, "np": np})
        for t in tests:
            result = doctest.DocTestRunner().run(t)
            assert result.failed == 0, f.__name__
