"""Local cluster start-up: cold and warm times to node Ready and to the first Pod Succeeded,
and the control plane's peak memory.

cold = a new state directory (new PKI, empty etcd, empty containerd: images imported);
warm = ``up`` again after ``down`` with the same state. Built tools and the image
layout are cached in both cases (building them is a one-off, reported by `kubeline dev build`).

    python bench/cluster_startup.py [--warm-runs 3]

Needs root and no local cluster running (it uses the same ports).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

CONTROL_PLANE = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler")
GOAL_WARM_S = 60.0


def _peak_rss_mib(dev) -> float:
    total = 0
    for name in CONTROL_PLANE:
        proc = dev.procs.get(name)
        if not proc:
            continue
        for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                total += int(line.split()[1])
    return total / 1024


def _first_pod(dev, image: str) -> float:
    """Seconds from creating a Pod in the Kubeline image until it Succeeded."""
    name = f"bench-{int(time.time() * 1000) % 10**8}"
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
           "spec": {"restartPolicy": "Never", "containers": [{
               "name": "c", "image": image, "imagePullPolicy": "Never",
               "command": ["python", "-c", "print('ok')"]}]}}
    start = time.monotonic()
    dev.kubectl("apply", "-f", "-", input=json.dumps(pod))
    dev.kubectl("wait", f"pod/{name}", "--for=jsonpath={.status.phase}=Succeeded",
                "--timeout=300s")
    took = time.monotonic() - start
    dev.kubectl("delete", "pod", name, "--wait=false")
    return took


def _measure(dev, label: str) -> dict[str, float]:
    from kubeline.dev.images import ensure_kubeline_image

    t0 = time.monotonic()
    dev.up()
    ready = time.monotonic() - t0
    image = ensure_kubeline_image(dev, log=lambda m: None)
    pod = _first_pod(dev, image)
    first_pod = time.monotonic() - t0
    row = {"ready_s": ready, "first_pod_s": first_pod, "pod_only_s": pod,
           "control_plane_peak_mib": _peak_rss_mib(dev)}
    print(f"{label:>6}: node Ready {ready:6.1f}s | first Pod Succeeded {first_pod:6.1f}s "
          f"(pod itself {pod:.1f}s) | control plane peak RSS "
          f"{row['control_plane_peak_mib']:.0f} MiB",
          flush=True)
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--warm-runs", type=int, default=3)
    args = parser.parse_args()

    from kubeline.dev.cluster import DevCluster
    from kubeline.dev.paths import DevPaths, dev_home

    if DevCluster(DevPaths(dev_home()), log=lambda m: None).procs.running():
        print("a local cluster is running: stop it first (kubeline dev down)", file=sys.stderr)
        return 2
    home = Path(tempfile.mkdtemp(prefix="kubeline-bench-"))
    os.environ["KUBELINE_DEV_HOME"] = str(home)
    dev = DevCluster(DevPaths(home), log=lambda m: None)
    try:
        cold = _measure(dev, "cold")
        dev.down()
        warm = []
        for i in range(args.warm_runs):
            warm.append(_measure(dev, f"warm{i + 1}"))
            dev.down()
    finally:
        dev.down()
        shutil.rmtree(home, ignore_errors=True)
    med = {k: statistics.median(r[k] for r in warm) for k in warm[0]}
    print()
    print(f"cold: node Ready {cold['ready_s']:.1f}s, "
          f"first Pod Succeeded {cold['first_pod_s']:.1f}s")
    print(f"warm (median of {len(warm)}): node Ready {med['ready_s']:.1f}s, first Pod Succeeded "
          f"{med['first_pod_s']:.1f}s (goal < {GOAL_WARM_S:.0f}s: "
          f"{'met' if med['first_pod_s'] < GOAL_WARM_S else 'MISSED'})")
    print(f"control plane peak RSS (etcd + apiserver + controller-manager + scheduler): "
          f"cold {cold['control_plane_peak_mib']:.0f} MiB, warm median "
          f"{med['control_plane_peak_mib']:.0f} MiB")
    print(f"warm/cold ratio (first Pod): {med['first_pod_s'] / cold['first_pod_s']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
