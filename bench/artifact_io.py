"""Save/load throughput of a numpy array through the materializer vs raw s3fs, and peak RSS.

"verified_load" is what ``.load()`` and step inputs do: the content hash is recomputed from
the store (one more full read) before the materializer loads; its throughput against
"load" (the materializer alone) is the cost of verification. "save" also reports the
time of the bookkeeping a step does after saving (storage size and content hash: one
listing, no re-read of files written through ``self.open``).

Usage: python bench/artifact_io.py [--mib 512] [--repeat 3]
S3: KUBELINE_S3_ENDPOINT (+ KUBELINE_S3_BUCKET, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) if
set, else a local versitygw (kubeline.dev.s3server.local_s3), else moto (--moto).
Each phase runs in its own process so that its peak RSS (VmHWM) is its own; "baseline" only
imports and builds the array, to show what the array and the libraries cost alone.
Figures are medians over --repeat repetitions; each ratio is the median of per-repetition
ratios (raw and materializer phases run back to back, so a busy machine affects both).
Goals: materializer/raw throughput ratio >= 0.8; peak RSS <= 1.5x the array size.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

# Each materializer phase runs right after its raw counterpart, so that both see the same
# machine load; the ratios are medians of these per-repetition pairs.
PHASES = ("baseline", "raw_put", "save", "raw_get", "load", "verified_load")


def _store():
    from kubeline.artifact_store import ArtifactStore, S3Settings

    return ArtifactStore.from_settings(S3Settings.from_env())


def _array(mib: int):
    import numpy as np

    return np.arange(mib * 2**20 // 8, dtype=np.float64)


def peak_rss_mib() -> float:
    """This process's peak resident set size (VmHWM), in MiB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_phase(phase: str, mib: int, prefix: str, content_hash: str = "") -> dict[str, Any]:
    """Runs in a child process; prints one JSON line."""
    store = _store()
    raw_uri, mat_uri = store.uri(prefix, "raw.bin"), store.uri(prefix, "materialized")
    nbytes = mib * 2**20
    if phase == "baseline":
        import kubeline.materializers.numpy  # noqa: F401  (what save/load import)

        arr = _array(mib)
        start = time.perf_counter()
        assert arr[-1] == arr.size - 1
    elif phase == "raw_put":
        data = _array(mib).tobytes()
        start = time.perf_counter()
        store.fs.pipe_file(raw_uri, data)
    elif phase == "raw_get":
        start = time.perf_counter()
        data = store.fs.cat_file(raw_uri)
        assert len(data) == nbytes
    elif phase == "save":
        from kubeline.materializers.numpy import NumpyMaterializer

        arr = _array(mib)
        start = time.perf_counter()
        m = NumpyMaterializer(mat_uri, store)
        m.save(arr)
        saved = time.perf_counter()
        assert m.storage_size == nbytes + 128  # the .npy header of a 1-d float64 array
        digest = m.content_hash()
        done = time.perf_counter()
        return {"seconds": saved - start, "hash_seconds": done - saved,
                "peak_rss_mib": peak_rss_mib(), "content_hash": digest}
    elif phase == "verified_load":
        from kubeline.materializers import load_artifact_data
        from kubeline.materializers.numpy import NumpyMaterializer
        from kubeline.materializers.registry import materializer_path_of

        start = time.perf_counter()
        arr = load_artifact_data(mat_uri, materializer_path_of(NumpyMaterializer), None, store,
                                 content_hash=content_hash)
        elapsed = time.perf_counter() - start
        assert arr.nbytes == nbytes and arr[-1] == arr.size - 1 and arr[12345] == 12345
        start = time.perf_counter() - elapsed
    else:
        from kubeline.materializers.numpy import NumpyMaterializer

        start = time.perf_counter()
        arr = NumpyMaterializer(mat_uri, store).load(object)
        elapsed = time.perf_counter() - start
        assert arr.nbytes == nbytes and arr[-1] == arr.size - 1 and arr[12345] == 12345
        start = time.perf_counter() - elapsed
    elapsed = time.perf_counter() - start
    return {"seconds": elapsed, "peak_rss_mib": peak_rss_mib()}


@contextlib.contextmanager
def s3_env(use_moto: bool) -> Iterator[dict[str, str]]:
    if os.environ.get("KUBELINE_S3_ENDPOINT"):
        yield {}
        return
    if not use_moto:
        try:
            from kubeline.dev.s3server import local_s3

            with local_s3(bucket="kubeline-bench") as s3:
                yield {"KUBELINE_S3_ENDPOINT": s3["endpoint"], "KUBELINE_S3_BUCKET": s3["bucket"],
                       "AWS_ACCESS_KEY_ID": s3["access_key"],
                       "AWS_SECRET_ACCESS_KEY": s3["secret_key"], "S3_SERVER": "versitygw"}
            return
        except (ImportError, FileNotFoundError, RuntimeError) as exc:
            print(f"versitygw unavailable ({exc}); use --moto or set KUBELINE_S3_ENDPOINT")
            raise SystemExit(2) from None
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                     aws_access_key_id="b", aws_secret_access_key="b").create_bucket(
            Bucket="kubeline-bench")
        yield {"KUBELINE_S3_ENDPOINT": endpoint, "KUBELINE_S3_BUCKET": "kubeline-bench",
               "AWS_ACCESS_KEY_ID": "b", "AWS_SECRET_ACCESS_KEY": "b", "S3_SERVER": "moto"}
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=512)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--moto", action="store_true", help="use moto instead of versitygw")
    parser.add_argument("--phase", choices=PHASES, help=argparse.SUPPRESS)
    parser.add_argument("--prefix", default="bench/artifact-io", help=argparse.SUPPRESS)
    parser.add_argument("--content-hash", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(run_phase(args.phase, args.mib, args.prefix, args.content_hash)))
        return
    prefix = f"bench/artifact-io-{int(time.time())}"
    runs: dict[str, list[dict[str, Any]]] = {phase: [] for phase in PHASES}
    with s3_env(args.moto) as extra:
        env = {**os.environ, **extra}
        for rep in range(args.repeat):
            for phase in PHASES:
                digest = runs["save"][-1]["content_hash"] if runs["save"] else ""
                out = subprocess.run(
                    [sys.executable, __file__, "--phase", phase, "--mib", str(args.mib),
                     "--prefix", prefix, "--content-hash", digest],
                    env=env, capture_output=True, text=True)
                if out.returncode != 0:
                    raise SystemExit(f"phase {phase} failed:\n{out.stderr[-3000:]}")
                runs[phase].append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(f"  repetition {rep + 1}/{args.repeat}: " + "  ".join(
                f"{p} {runs[p][-1]['seconds']:.2f}s/{runs[p][-1]['peak_rss_mib']:.0f}MiB"
                for p in PHASES), flush=True)
        server = extra.get("S3_SERVER", os.environ.get("KUBELINE_S3_ENDPOINT"))
    mib = args.mib
    med = {p: {k: statistics.median(r[k] for r in runs[p]) for k in ("seconds", "peak_rss_mib")}
           for p in PHASES}
    print(f"numpy array of {mib} MiB through S3 ({server}), medians of {args.repeat}")
    for phase in ("raw_put", "raw_get", "save", "load", "verified_load"):
        r = med[phase]
        print(f"  {phase:13s} {r['seconds']:7.2f} s  {mib / r['seconds']:8.1f} MiB/s  "
              f"peak RSS {r['peak_rss_mib']:7.1f} MiB")
    hashing = statistics.median(r["hash_seconds"] for r in runs["save"])
    print(f"  after save: storage_size + content_hash {hashing * 1000:.1f} ms")
    base = med["baseline"]["peak_rss_mib"]
    print(f"  baseline (imports + the array only): peak RSS {base:.1f} MiB")

    def ratio(raw: str, mat: str) -> float:
        pairs = zip(runs[raw], runs[mat], strict=True)
        return statistics.median(r["seconds"] / m["seconds"] for r, m in pairs)

    save_ratio, load_ratio = ratio("raw_put", "save"), ratio("raw_get", "load")
    verify_ratio = ratio("load", "verified_load")
    peak = max(med["save"]["peak_rss_mib"], med["load"]["peak_rss_mib"])
    print(f"save throughput ratio (materializer / raw put): {save_ratio:.2f}   (goal >= 0.8)")
    print(f"load throughput ratio (materializer / raw get): {load_ratio:.2f}   (goal >= 0.8)")
    print(f"verified load throughput / unverified load: {verify_ratio:.2f}   "
          f"(verified / raw get: {ratio('raw_get', 'verified_load'):.2f})")
    print(f"materializer peak RSS: {peak:.0f} MiB = {peak / mib:.2f}x the array, "
          f"{peak - base:.0f} MiB above the baseline  (goal <= 1.5x)")

if __name__ == "__main__":
    main()
