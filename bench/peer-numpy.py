# numpy's side of the peer benchmarks: the matrix products only, as the machine's practical
# ceiling (numpy hands them to its BLAS, OpenBLAS in the wheels, with as many threads as it
# starts by default). `python3 bench/peer-numpy.py`; prints `RESULT <json>` like the Node runners.
# The timing options come from the environment variable NNC_BENCH_TIMING (bench/lib.mjs).
import ctypes
import json
import os
import resource
import sys
import time

result = {"peer": "numpy", "rows": [], "threads": None, "version": None}


def report():
    result["maxRssKiB"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    sys.stdout.write("RESULT " + json.dumps(result) + "\n")
    sys.stdout.flush()


def log(*a):
    print(*a, file=sys.stderr, flush=True)


try:
    import numpy as np
except Exception as e:  # the runner is only started when `import numpy` works, but say why
    result["failed"] = f"cannot import numpy: {e}"
    report()
    sys.exit(0)

result["version"] = f"numpy {np.__version__}"


def blas_info():
    """The BLAS library numpy loaded (from /proc/self/maps) and its thread count, when it says."""
    a = np.ones((64, 64), np.float32)
    a @ a  # make sure the BLAS is loaded
    libs = []
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                p = line.split()[-1]
                if "blas" in os.path.basename(p).lower() and p not in libs:
                    libs.append(p)
    except OSError:
        pass
    for p in libs:
        lib = ctypes.CDLL(p)
        for sym in (
            "openblas_get_num_threads",
            "openblas_get_num_threads64_",
            "scipy_openblas_get_num_threads64_",
            "scipy_openblas_get_num_threads",
        ):
            fn = getattr(lib, sym, None)
            if fn is not None:
                fn.restype = ctypes.c_int
                cfg = None
                c = getattr(lib, sym.replace("get_num_threads", "get_config"), None)
                if c is not None:
                    c.restype = ctypes.c_char_p
                    cfg = c().decode(errors="replace").split()
                name = " ".join(cfg[:2]) if cfg else os.path.basename(p)
                return name, int(fn())
    return (os.path.basename(libs[0]) if libs else "unknown BLAS"), None


blas, threads = blas_info()
result["threads"] = threads
result["version"] += f", {blas}"
log(f"numpy: {result['version']}, {threads if threads is not None else '?'} BLAS threads")

timing = {"warmup": 2, "minReps": 5, "maxReps": 20, "budgetMs": 5000}
timing.update(json.loads(os.environ.get("NNC_BENCH_TIMING") or "{}"))


def time_it(fn):
    """Median of `fn` after warm-up, like bench/lib.mjs's timeIt; returns (ms, times)."""
    for _ in range(timing["warmup"]):
        fn()
    times = []
    start = time.perf_counter()
    while len(times) < timing["minReps"] or (
        len(times) < timing["maxReps"] and (time.perf_counter() - start) * 1e3 < timing["budgetMs"]
    ):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    s = sorted(times)
    k = len(s)
    return (s[k // 2] if k % 2 else (s[k // 2 - 1] + s[k // 2]) / 2), times


def uniform(n, seed):
    """bench/lib.mjs's rng (mulberry32), vectorized: the same f32 values 2r - 1 as matmulData."""
    k = np.arange(1, n + 1, dtype=np.uint64)
    a = (np.uint64(seed) + k * np.uint64(0x6D2B79F5)) & np.uint64(0xFFFFFFFF)
    m = np.uint64(0xFFFFFFFF)

    def imul(x, y):
        return (x * y) & m  # the low 32 bits survive uint64 wrap-around

    t = a
    t = imul(t ^ (t >> np.uint64(15)), t | np.uint64(1))
    t = t ^ ((t + imul(t ^ (t >> np.uint64(7)), t | np.uint64(61))) & m)
    r = (t ^ (t >> np.uint64(14))).astype(np.float64) / 4294967296.0
    return (2 * r - 1).astype(np.float32)


def matmul_data(n, seed):
    # one stream, a's n² values then b's (bench/lib.mjs's matmulData)
    v = uniform(2 * n * n, seed)
    return v[: n * n].reshape(n, n), v[n * n :].reshape(n, n)


def matmul_error(a, b, c, n):
    err = 0.0
    for i, j in ((0, 0), (17, int(n * 0.88)), (n - 1, n - 1)):
        s = float(np.dot(a[i, :].astype(np.float64), b[:, j].astype(np.float64)))
        err = max(err, abs(float(c[i, j]) - s) / max(1.0, abs(s)))
    return err


for n in (512, 1024):
    work = f"matmul{n}"
    try:
        a, b = matmul_data(n, 3)
        c = a @ b
        err = matmul_error(a, b, c, n)
        ms, times = time_it(lambda: a @ b)
        flops = 2 * n**3
        gflops = flops / (ms * 1e6)
        log(f"numpy: matmul {n}³ {ms:.2f} ms ({gflops:.1f} GFLOP/s), max rel err {err:.1e}")
        result["rows"].append(
            {
                "work": work,
                "ms": ms,
                "times": times,
                "flops": flops,
                "check": {"ok": err < 1e-3, "rel": err},
            }
        )
    except Exception as e:
        note = f"fails: {type(e).__name__}: {e}"
        result["rows"].append({"work": work, "ms": None, "note": note})
    report()
