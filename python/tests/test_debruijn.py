"""eigentechno.de_bruijn: the keypad riddle from Python, the same as the command line
(issue #29)."""

import itertools

import numpy as np
import pytest

import eigentechno as et


def test_four_digits_take_10003_presses_and_every_code_appears():
    s = et.de_bruijn(10, 4)
    assert isinstance(s, np.ndarray) and s.dtype == np.uint8
    assert s.shape == (10_003,)
    codes = {int("".join(map(str, s[i:i + 4]))) for i in range(len(s) - 3)}
    assert codes == set(range(10_000))
    text = et.de_bruijn("0123456789", 4)
    assert isinstance(text, str) and len(text) == 10_003
    assert {text[i:i + 4] for i in range(10_000)} == {f"{c:04d}" for c in range(10_000)}
    # The same sequence, as indices or as the digits.
    assert "".join(map(str, s)) == text


@pytest.mark.parametrize("algorithm", ["euler", "lyndon"])
def test_cyclic_sequences_hold_every_word_once(algorithm):
    for k, n in [(2, 5), (3, 4), (5, 2), (1, 3)]:
        s = et.de_bruijn(k, n, cyclic=True, algorithm=algorithm)
        assert len(s) == k**n
        words = [tuple(np.take(s, range(i, i + n), mode="wrap")) for i in range(len(s))]
        assert sorted(words) == list(itertools.product(range(k), repeat=n))


def test_lyndon_is_the_least_sequence_and_symbols_may_be_any_characters():
    assert et.de_bruijn("01", 3, cyclic=True, algorithm="lyndon") == "00010111"
    assert et.de_bruijn("αβ♪", 2, cyclic=True, algorithm="lyndon") == "ααβα♪ββ♪♪"
    assert et.de_bruijn(np.int64(2), 2, algorithm="lyndon").tolist() == [0, 0, 1, 1, 0]


@pytest.mark.parametrize("algorithm", ["euler", "lyndon"])
def test_the_string_is_the_file_of_the_command_line(cli, tmp_path, algorithm):
    out = tmp_path / "keys.txt"
    cli("debruijn", "--symbols", "abcdef", "--order", "5", "--algorithm", algorithm, "--out", out, "--quiet")
    assert et.de_bruijn("abcdef", 5, algorithm=algorithm) == out.read_text()
    cyc = tmp_path / "cyc.txt"
    cli("debruijn", "--symbols", "xyz", "--order", "3", "--cyclic", "--algorithm", algorithm, "--out", cyc)
    assert et.de_bruijn("xyz", 3, cyclic=True, algorithm=algorithm) == cyc.read_text()


@pytest.mark.parametrize(
    "args, kwargs, says",
    [
        (("0120", 3), {}, "'0' twice"),
        (("", 3), {}, "empty alphabet"),
        ((10, 0), {}, "at least 1"),
        ((10, 11), {}, "10^11"),
        ((10, 10), {}, "in memory"),
        ((0, 3), {}, "at least 1"),
        ((300, 2), {}, "at most 256"),
        ((10, 4), {"algorithm": "dfs"}, "unknown de Bruijn algorithm 'dfs'"),
        ((2.5, 3), {}, "string of symbols or an int"),
        ((["0", "1"], 3), {}, "string of symbols or an int"),
        ((10, -1), {}, "at least 0"),
    ],
)
def test_bad_input_is_a_value_error_saying_why(args, kwargs, says):
    with pytest.raises(ValueError) as e:
        et.de_bruijn(*args, **kwargs)
    assert says in str(e.value), str(e.value)
    assert isinstance(e.value, et.InvalidInputError)
