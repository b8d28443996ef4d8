"""The example DAGs load in Airflow's own DagBag, read as one generate-to-S3 task or as
submit >> wait >> archive, and their default params pass the vendors' documented limits (so a
first run does not fail on validation)."""

from __future__ import annotations

import importlib
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from airflow.dag_processing.dagbag import DagBag

from airflow_provider_aigc.operators.archive import AigcArchiveToS3Operator
from airflow_provider_aigc.operators.dashscope import WanImageToS3Operator, WanVideoToS3Operator
from airflow_provider_aigc.operators.generate import (
    AigcGenerateToS3Operator,
    CogViewToS3Operator,
    ErnieVilgToS3Operator,
    GlmImageToS3Operator,
    JumdataDrawToS3Operator,
)
from airflow_provider_aigc.operators.submit import (
    AigcSubmitOperator,
    CogVideoXSubmitOperator,
    CogViewSubmitOperator,
    NewsGenerateSubmitOperator,
)
from airflow_provider_aigc.sensors.job import AigcJobSensor

DAGS_FOLDER = Path(__file__).resolve().parents[2] / "dags"

# One task from prompt to archive (the common case) ...
ONE_TASK_DAGS: dict[str, type[AigcGenerateToS3Operator]] = {
    "example_cogview": CogViewToS3Operator,
    "example_ernie_vilg": ErnieVilgToS3Operator,
    "example_jumdata": JumdataDrawToS3Operator,
    "example_glm_image": GlmImageToS3Operator,
    "example_wan_image": WanImageToS3Operator,
    "example_wan_video": WanVideoToS3Operator,
}
# ... and the three-task chain.
CHAIN_DAGS: dict[str, type[AigcSubmitOperator]] = {
    "example_news": NewsGenerateSubmitOperator,
    "example_cogvideox": CogVideoXSubmitOperator,
}
SINGLE_JOB_DAGS = {**ONE_TASK_DAGS, **CHAIN_DAGS}
# The task whose request is validated and whose archive declares the asset.
SUBMIT_TASK = {dag_id: "generate" for dag_id in ONE_TASK_DAGS} | {dag_id: "submit" for dag_id in CHAIN_DAGS}
ARCHIVE_TASK = {dag_id: "generate" for dag_id in ONE_TASK_DAGS} | {dag_id: "archive" for dag_id in CHAIN_DAGS}
PIPELINE = "daily_content_pipeline"
HUMAN_REVIEW = "example_human_review"
PUBLISH_ON_ASSET = "example_publish_on_asset"


@pytest.fixture(scope="module")
def dagbag() -> DagBag:
    return DagBag(dag_folder=DAGS_FOLDER)


def test_every_file_loads_without_import_errors(dagbag: DagBag) -> None:
    assert dagbag.import_errors == {}


def test_each_file_defines_one_dag_named_after_it(dagbag: DagBag) -> None:
    """scripts/demo.py runs `airflow dags test <file stem>` for every file in dags/."""
    stems = {path.stem for path in DAGS_FOLDER.glob("*.py")}
    assert set(dagbag.dag_ids) == stems == {*SINGLE_JOB_DAGS, PIPELINE, HUMAN_REVIEW, PUBLISH_ON_ASSET}
    for dag_id, dag in dagbag.dags.items():
        assert Path(dag.fileloc).stem == dag_id


@pytest.mark.parametrize("dag_id", sorted(ONE_TASK_DAGS))
def test_example_is_one_deferrable_task_from_prompt_to_archive(dagbag: DagBag, dag_id: str) -> None:
    dag = dagbag.dags[dag_id]
    assert set(dag.task_dict) == {"generate"}
    generate = dag.task_dict["generate"]
    assert isinstance(generate, ONE_TASK_DAGS[dag_id])
    assert generate.deferrable
    assert dag.schedule is None


@pytest.mark.parametrize("dag_id", sorted(CHAIN_DAGS))
def test_example_reads_submit_wait_archive(dagbag: DagBag, dag_id: str) -> None:
    dag = dagbag.dags[dag_id]
    assert set(dag.task_dict) == {"submit", "wait", "archive"}
    submit, wait, archive = (dag.task_dict[task_id] for task_id in ("submit", "wait", "archive"))
    assert isinstance(submit, CHAIN_DAGS[dag_id])
    assert isinstance(wait, AigcJobSensor)
    assert isinstance(archive, AigcArchiveToS3Operator)
    assert wait.deferrable
    assert wait.upstream_task_ids == {"submit"}
    assert archive.upstream_task_ids == {"wait"}
    assert dag.schedule is None


def test_pipeline_fans_out_per_topic_with_mapped_tasks(dagbag: DagBag) -> None:
    dag = dagbag.dags[PIPELINE]
    upstream = {task_id: task.upstream_task_ids for task_id, task in dag.task_dict.items()}
    assert upstream == {
        "story_topics": set(),
        "submit_article": {"story_topics"},
        "wait_article": {"submit_article"},
        "archive_article": {"wait_article"},
        "submit_cover": {"story_topics"},
        "wait_cover": {"submit_cover"},
        "archive_cover": {"wait_cover"},
    }
    mapped = {task_id for task_id, task in dag.task_dict.items() if task.is_mapped}
    assert mapped == set(upstream) - {"story_topics"}
    assert dag.task_dict["submit_article"].operator_class is NewsGenerateSubmitOperator
    assert dag.task_dict["submit_cover"].operator_class is CogViewSubmitOperator
    assert dag.catchup is False


def test_every_dag_is_documented_and_tagged(dagbag: DagBag) -> None:
    for dag in dagbag.dags.values():
        assert dag.doc_md, dag.dag_id
        assert dag.doc_md.strip().startswith("###"), dag.dag_id
        assert {"aigc", "example"} <= set(dag.tags), dag.dag_id


@pytest.mark.parametrize(
    ("dag_id", "asset_uri"),
    [
        ("example_cogview", "s3://aigc-archive/cogview"),
        ("example_news", "s3://aigc-archive/news"),
        ("example_ernie_vilg", "s3://aigc-archive/ernie-vilg"),
        ("example_jumdata", "s3://aigc-archive/jumdata"),
        ("example_glm_image", "s3://aigc-archive/glm-image"),
        ("example_cogvideox", "s3://aigc-archive/cogvideox"),
        ("example_wan_image", "s3://aigc-archive/wan-image"),
        ("example_wan_video", "s3://aigc-archive/wan-video"),
    ],
)
def test_archive_declares_its_s3_asset(dagbag: DagBag, dag_id: str, asset_uri: str) -> None:
    """A static bucket (not a template) lets downstream DAGs schedule on the archive."""
    archive = dagbag.dags[dag_id].task_dict[ARCHIVE_TASK[dag_id]]
    assert isinstance(archive, AigcArchiveToS3Operator)
    assert archive.s3_bucket == "aigc-archive"
    assert [asset.uri for asset in archive.outlets] == [asset_uri]


def test_pipeline_archives_each_story_under_one_prefix(dagbag: DagBag) -> None:
    tasks = dagbag.dags[PIPELINE].task_dict
    for task_id in ("archive_article", "archive_cover"):
        kwargs = tasks[task_id].partial_kwargs
        assert kwargs["s3_bucket"] == "aigc-archive"
        assert kwargs["s3_key_prefix"] == "daily/{{ ds }}/story-{{ ti.map_index }}"


def _validate_defaults(submit: AigcSubmitOperator, params: dict[str, Any]) -> dict[str, Any]:
    # A one-task operator renders its archive prefix too, from the run's run_after.
    dag_run = SimpleNamespace(run_after=datetime(2026, 1, 1, tzinfo=timezone.utc))
    submit.render_template_fields({"params": params, "dag_run": dag_run})  # type: ignore[arg-type]
    vendor = importlib.import_module(f"airflow_provider_aigc.vendors.{submit.vendor}")
    return dict(vendor.validate(submit.app, submit.params_for_request()))


def test_default_params_pass_vendor_validation(dagbag: DagBag) -> None:
    requests = {
        dag_id: _validate_defaults(
            dagbag.dags[dag_id].task_dict[SUBMIT_TASK[dag_id]], dagbag.dags[dag_id].params.dump()
        )
        for dag_id in SINGLE_JOB_DAGS
    }
    assert requests["example_cogview"]["query"] == dagbag.dags["example_cogview"].params["prompt"]
    assert requests["example_news"]["max_length"] == 400
    assert requests["example_ernie_vilg"]["image_num"] == 2
    assert requests["example_jumdata"]["num"] == 2
    assert requests["example_glm_image"]["size"] == "1472x1088"
    assert requests["example_cogvideox"]["duration"] == 5
    assert requests["example_wan_image"]["n"] == 2
    assert requests["example_wan_video"]["duration"] == 5


def test_human_review_gates_publishing_on_an_approval(dagbag: DagBag) -> None:
    from airflow.providers.standard.operators.hitl import ApprovalOperator

    dag = dagbag.dags[HUMAN_REVIEW]
    upstream = {task_id: task.upstream_task_ids for task_id, task in dag.task_dict.items()}
    assert upstream == {
        "submit": set(),
        "wait": {"submit"},
        "archive": {"wait"},
        "preview": {"archive"},
        "review": {"preview"},
        "publish": {"review", "archive"},
    }
    review = dag.task_dict["review"]
    assert isinstance(review, ApprovalOperator)
    assert review.defaults == ["Reject"]  # no answer in time: nothing is published
    assert review.response_timeout is not None
    request = _validate_defaults(dag.task_dict["submit"], dag.params.dump())
    assert request["num"] == 2
