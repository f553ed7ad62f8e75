"""Python references for `eigentechno debruijn` (issue #29): the timings the README
compares against.

    python benches/debruijn_reference.py fkm K N OUT        # pure-Python FKM to a file
    python benches/debruijn_reference.py networkx K N OUT   # networkx.eulerian_circuit

Both write the linear sequence (k^n + n - 1 symbols, the digits 0..k-1, k <= 10) as
text, the file `eigentechno debruijn --symbols 0123456789 --order N --out OUT` writes
(the FKM one equals `--algorithm lyndon` byte for byte), and print the seconds taken.
networkx is not a dependency of the project: install it in a throwaway venv.
"""

import sys
import time


def fkm(k, n, out):
    """The classic FKM construction (Ruskey's iterative prenecklace generation): the
    Lyndon words whose length divides n, in lexicographic order, written in 1 MB
    chunks."""
    digits = "0123456789"[:k]
    a = [0] * (n + 1)
    chunk = ["0"]
    size = 1
    first = None
    with open(out, "w") as f:
        i = n
        while True:
            i = n
            while i > 0 and a[i] == k - 1:
                i -= 1
            if i == 0:
                break
            a[i] += 1
            for j in range(i + 1, n + 1):
                a[j] = a[j - i]
            if n % i == 0:
                chunk.extend(digits[c] for c in a[1:i + 1])
                size += i
                if size >= 1 << 20:
                    if first is None:
                        first = "".join(chunk[: n - 1])
                    f.write("".join(chunk))
                    chunk = []
                    size = 0
        tail = "".join(chunk)
        if first is None:
            first = tail[: n - 1]
        # The linear sequence: the cycle, then its first n - 1 symbols again.
        f.write(tail + (first * n)[: n - 1])


def networkx_circuit(k, n, out):
    """The explicit de Bruijn graph (nodes: the (n-1)-words as ints; edges: the
    n-words) and networkx's Eulerian circuit on it; each edge adds its last symbol."""
    import networkx as nx

    nodes = k ** (n - 1)
    g = nx.MultiDiGraph()
    g.add_edges_from((u, (u * k + c) % nodes, c) for u in range(nodes) for c in range(k))
    digits = "0123456789"[:k]
    start = "0" * (n - 1)
    walk = [digits[key] for _, _, key in nx.eulerian_circuit(g, source=0, keys=True)]
    # From node 0 (the word 0^(n-1)): the n - 1 zeros, then one symbol per edge, is
    # the linear sequence.
    with open(out, "w") as f:
        f.write(start + "".join(walk))


def main():
    what, k, n, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    if not 1 <= k <= 10:
        sys.exit("k from 1 to 10 (digits)")
    t = time.perf_counter()
    {"fkm": fkm, "networkx": networkx_circuit}[what](k, n, out)
    print(f"{what} k={k} n={n}: {time.perf_counter() - t:.2f} s")


if __name__ == "__main__":
    main()
