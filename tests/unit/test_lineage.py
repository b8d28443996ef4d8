"""lineage.py: the documented naming scheme, and OpenLineage staying an optional dependency."""

from __future__ import annotations

import subprocess
import sys

import pytest

from airflow_provider_aigc.lineage import job_dataset_name, job_namespace


@pytest.mark.parametrize(
    ("vendor", "app", "job_id", "namespace", "name"),
    [
        ("zhipu", "cogview", "8f3c2a", "aigc://zhipu", "cogview/8f3c2a"),
        ("zhipu", "news_generate", "n1", "aigc://zhipu", "news_generate/n1"),
        ("baidu", "txt2imgv2", "1713340800123", "aigc://baidu", "txt2imgv2/1713340800123"),
        ("jumdata", "ai_draw", "t-9", "aigc://jumdata", "ai_draw/t-9"),
    ],
)
def test_vendor_jobs_are_named_as_documented(
    vendor: str, app: str, job_id: str, namespace: str, name: str
) -> None:
    assert (job_namespace(vendor), job_dataset_name(app, job_id)) == (namespace, name)


def test_the_operator_does_not_load_openlineage() -> None:
    """Parsing a DAG with the operator loads no OpenLineage module: only the OpenLineage provider,
    when installed, imports lineage.py (through get_openlineage_facets_on_complete)."""
    code = (
        "import sys\n"
        "from airflow_provider_aigc.operators.archive import AigcArchiveToS3Operator\n"
        "AigcArchiveToS3Operator(task_id='a', job={}, s3_bucket='b')\n"
        "print(sorted(n for n in sys.modules if n.startswith('openlineage') or 'aigc.lineage' in n))\n"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert completed.stdout.strip() == "[]"
