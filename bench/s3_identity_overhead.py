"""What a namespace's own S3 identity costs per request: small PUT + GET + LIST latency on a
local versitygw, three ways, alternated A B C A B C so a busy machine affects each alike:

- shared:    the root account on a server without accounts (the old set-up);
- root-iam:  the root account on a server with accounts (``--iam-dir``: the operator's and
             the tests' view now);
- namespace: a namespace's own account on that server (its bucket's ACL is checked: what
             every step Pod does now).

Usage: python bench/s3_identity_overhead.py [--requests 200] [--rounds 5]
Prints the median milliseconds per PUT+GET+LIST of each way and its ratio to ``shared``.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time
from typing import Any


def _client(endpoint: str, access: str, secret: str) -> Any:
    import botocore.session

    return botocore.session.get_session().create_client(
        "s3", endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id=access, aws_secret_access_key=secret)


def _round(client: Any, bucket: str, requests: int) -> float:
    """Median seconds of one PUT + GET + LIST of a small object."""
    times = []
    for i in range(requests):
        key = f"artifacts/bench/{i % 20}/data.json"
        t = time.perf_counter()
        client.put_object(Bucket=bucket, Key=key, Body=b'{"value": 1}')
        client.get_object(Bucket=bucket, Key=key)["Body"].read()
        client.list_objects_v2(Bucket=bucket, Prefix="artifacts/bench/", MaxKeys=5)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    from kubeline.dev.s3_identities import S3Admin, ensure_namespace_identity
    from kubeline.dev.s3server import local_s3

    with contextlib.ExitStack() as stack:
        plain = stack.enter_context(local_s3(bucket="shared"))
        iam = stack.enter_context(local_s3(bucket="shared", accounts=True))
        admin = S3Admin(iam["endpoint"], iam["access_key"], iam["secret_key"])
        ns = ensure_namespace_identity(admin, "bench", "kl-{namespace}")
        ways = {
            "shared": (_client(plain["endpoint"], plain["access_key"], plain["secret_key"]),
                       "shared"),
            "root-iam": (_client(iam["endpoint"], iam["access_key"], iam["secret_key"]),
                         "shared"),
            "namespace": (_client(iam["endpoint"], ns["accessKeyId"], ns["secretAccessKey"]),
                          ns["bucket"]),
        }
        for client, bucket in ways.values():  # warm up connections and caches
            _round(client, bucket, 10)
        results: dict[str, list[float]] = {name: [] for name in ways}
        for _ in range(args.rounds):
            for name, (client, bucket) in ways.items():
                results[name].append(_round(client, bucket, args.requests))
    base = statistics.median(results["shared"])
    print(f"{'way':<10} {'ms per PUT+GET+LIST':>20} {'vs shared':>10}  "
          f"({args.rounds} rounds x {args.requests} requests, medians)")
    for name, values in results.items():
        median = statistics.median(values)
        print(f"{name:<10} {median * 1000:>20.2f} {median / base:>10.2f}")


if __name__ == "__main__":
    main()
