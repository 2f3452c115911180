"""The Schedule CRD in a real API server: bad schedules are refused at apply time with a
message that says what to fix; good ones show their printer columns."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.integration


def _schedule(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "kubeline.dev/v1alpha1", "kind": "Schedule",
            "metadata": {"name": "nightly"}, "spec": {"pipeline": "train", **spec}}


def _apply(cluster: Any, namespace: str, obj: dict[str, Any]) -> Any:
    return cluster.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(obj),
                           check=False)


@pytest.mark.parametrize(("spec", "message"), [
    ({"cron": ["0 3 * *"]},
     '"0 3 * *" is not a cron expression of 5 fields (minute hour day-of-month month '
     'day-of-week)'),
    ({"cron": ["TZ=Europe/Berlin 0 3 * * *"]}, "is not a cron expression of 5 fields"),
    ({"cron": ["0 3 * * *"], "timeZone": "Mars/Olympus"},
     "spec.timeZone must be an IANA time zone name"),
    ({"cron": ["0 3 * * *"], "snapshot": "s"}, "set exactly one of spec.snapshot"),
    ({}, "set exactly one of spec.cron (cron expressions), spec.intervalSeconds"),
    ({"cron": ["0 3 * * *"], "runAt": "2026-01-01T00:00:00Z"}, "set exactly one of spec.cron"),
    ({"intervalSeconds": 3600}, "spec.intervalSeconds needs spec.startTime"),
    ({"cron": ["0 3 * * *"], "catchUpLimit": 5}, "spec.catchUpLimit bounds catchUp 'all'"),
    ({"cron": ["0 3 * * *"], "startTime": "2026-02-01T00:00:00Z",
      "endTime": "2026-01-01T00:00:00Z"}, "spec.endTime must be after spec.startTime"),
    ({"cron": ["0 3 * * *"], "startTime": "tomorrow"}, "must be of type date-time"),
    ({"cron": ["0 3 * * *"], "concurrencyPolicy": "Sometimes"}, 'supported values: "Allow"'),
    ({"cron": ["0 3 * * *"], "catchUp": "some"}, 'supported values: "none", "latest", "all"'),
    ({"cron": ["0 3 * * *"], "startingDeadlineSeconds": -1}, "should be greater than or equal"),
])
def test_bad_schedules_are_refused_at_apply_time(crds: Any, namespace: str,
                                                 spec: dict[str, Any], message: str) -> None:
    result = _apply(crds, namespace, _schedule(**spec))
    assert result.returncode != 0, f"accepted: {spec}"
    assert message in result.stderr, result.stderr


def test_a_good_schedule_is_accepted_and_listed(crds: Any, namespace: str) -> None:
    result = _apply(crds, namespace, _schedule(
        cron=["0 3 * * *", "@hourly", "*/15 9-17 * JAN-MAR MON-FRI"],
        timeZone="Europe/Berlin", concurrencyPolicy="Forbid", catchUp="all", catchUpLimit=5,
        startingDeadlineSeconds=600, successfulRunsHistoryLimit=3))
    assert result.returncode == 0, result.stderr
    table = crds.kubectl("get", "schedules", "-n", namespace).stdout
    header = table.splitlines()[0].split()
    assert header[:7] == ["NAME", "SCHEDULE", "TIMEZONE", "SUSPENDED", "LAST", "NEXT", "ACTIVE"]
    assert "Europe/Berlin" in table and "0 3 * * *" in table
    kinds = crds.kubectl("get", "kubeline", "-n", namespace, "-o", "name").stdout
    assert "schedule.kubeline.dev/nightly" in kinds  # in the kubeline category
    assert crds.kubectl("get", "sched", "nightly", "-n", namespace).returncode == 0


def test_the_gitops_example_is_accepted(crds: Any, namespace: str) -> None:
    example = ROOT / "examples" / "gitops" / "schedule.yaml"
    result = crds.kubectl("apply", "-n", namespace, "--dry-run=server", "-f", str(example),
                          check=False)
    assert result.returncode == 0, result.stderr
    assert "schedule.kubeline.dev/nightly-training created (server dry run)" in result.stdout
