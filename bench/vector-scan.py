"""NumPy side of bench/vector-scan.ts: float32 matrix-vector product + top-10 per query.

Usage: python3 bench/vector-scan.py DIR DIMS QUERIES N [N ...]
Reads DIR/base.f32 (rows x DIMS float32) and DIR/queries.f32; for each N, times the first N rows
and writes DIR/exact-N.i32 (the exact top-10 row indices per query, best first) and prints JSON.
"""
import json
import sys
import time

import numpy as np

out_dir, dims, nq = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
sizes = [int(x) for x in sys.argv[4:]]
base = np.fromfile(f"{out_dir}/base.f32", dtype=np.float32).reshape(-1, dims)
queries = np.fromfile(f"{out_dir}/queries.f32", dtype=np.float32).reshape(nq, dims)

results = []
for n in sizes:
    m = np.ascontiguousarray(base[:n])

    def top10(q):
        s = m @ q
        idx = np.argpartition(-s, 10)[:10]
        return idx[np.argsort(-s[idx])]

    for q in queries[:5]:
        top10(q)
    rounds = []
    for _ in range(3):
        t = time.perf_counter()
        exact = [top10(q) for q in queries]
        rounds.append((time.perf_counter() - t) / nq * 1000)
    np.asarray(exact, dtype=np.int32).tofile(f"{out_dir}/exact-{n}.i32")
    results.append({"n": n, "msPerQuery": sorted(rounds)[1], "numpy": np.__version__})
print(json.dumps(results))
