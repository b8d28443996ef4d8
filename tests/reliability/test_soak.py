"""The soak: many jobs across the vendors with faults of every kind injected, end to end through
the hooks, the trigger and the archive copier (see ``soak.py``). ``make test`` runs a small variant
at a high fault rate; ``make test-soak`` runs 1,000 jobs at 5 %."""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING

import pytest

from tests.reliability.conftest import FAST_LATENCY, connection_env, record_figures
from tests.reliability.soak import CANNOT_SUCCEED, MODERATION_WORD, SHORT_TTL_CONN, SoakRun, fault_config

if TYPE_CHECKING:
    from tests.conftest import S3Server, SimulatorServer

SOAK_BUCKET = "aigc-soak"
SOAK_JOBS = 1000


@pytest.fixture
def soak_sim(sim: SimulatorServer, monkeypatch: pytest.MonkeyPatch) -> SimulatorServer:
    env = connection_env(sim.url, timeout=2.0, max_retries=2)
    short = json.loads(env["AIRFLOW_CONN_AIGC_ZHIPU_DEFAULT"])
    short["extra"]["output_ttl_seconds"] = 1
    env[f"AIRFLOW_CONN_{SHORT_TTL_CONN.upper()}"] = json.dumps(short)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    sim.config(
        {
            "latency": FAST_LATENCY,
            # The soak drives the hooks, not the operators' capacity wait (tests/integration/
            # test_batches.py), and records the hooks' pauses instead of sleeping them: the
            # accounts' own limits are lifted (DashScope's per-model concurrency and submit rate);
            # injected rate-limit and concurrency faults still come.
            "concurrency": {"zhipu": 0, "baidu": 0, "jumdata": 0, "dashscope": 0},
            "submit_rate": {"dashscope": 0},
            "token_max_calls": 40,
            "moderation_words": [MODERATION_WORD],
        }
    )
    return sim


def run_soak(
    sim: SimulatorServer, s3: S3Server, *, jobs: int, rate: float, concurrency: int, name: str
) -> None:
    bucket = s3.make_bucket(SOAK_BUCKET)
    sim.config({"faults": fault_config(rate)})
    soak = SoakRun(
        sim, lambda: s3.client, bucket, jobs=jobs, concurrency=concurrency, fault_rate=rate, seed=11
    )
    soak.run()
    figures = soak.figures()
    record_figures(name, figures)
    print(f"\n{name}: {json.dumps(figures, indent=2, sort_keys=True)}")

    assert figures["failed_unexpectedly"] == []
    assert set(figures["failed"]) <= CANNOT_SUCCEED
    assert figures["archived"] + sum(figures["failed"].values()) == jobs
    assert figures["duplicate_submissions"] == 0
    assert figures["archived_without_exactly_one_submission"] == 0
    # every job the driver holds an id for was bought once; the rest at most once (answer lost)
    unconfirmed = figures["failed"].get("AigcSubmitUnconfirmedError", 0)
    assert (
        figures["jobs_with_a_known_id"]
        <= figures["submissions"]
        <= figures["jobs_with_a_known_id"] + unconfirmed
    )
    assert figures["manifest_problems"] == []
    assert figures["objects_without_manifest"] == 0
    assert figures["manifests"] == figures["archived"]
    assert figures["vendor_faults_injected"] > 0
    for record in soak.records:
        if MODERATION_WORD in record.prompt:
            assert record.outcome == "failed", record


@pytest.mark.scenario("pipeline.soak")
def test_small_soak(soak_sim: SimulatorServer, s3: S3Server) -> None:
    run_soak(soak_sim, s3, jobs=48, rate=0.15, concurrency=8, name="soak_small")


@pytest.mark.soak
@pytest.mark.scenario("pipeline.soak")
def test_soak(soak_sim: SimulatorServer, s3: S3Server) -> None:
    """1,000 jobs at 5 % faults by default; ``AIGC_SOAK_JOBS`` sizes it (CI runs a small one)."""
    jobs = int(os.environ.get("AIGC_SOAK_JOBS") or SOAK_JOBS)
    run_soak(soak_sim, s3, jobs=jobs, rate=0.05, concurrency=16, name=f"soak_{jobs}")
