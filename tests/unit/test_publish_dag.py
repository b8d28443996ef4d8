"""example_publish_on_asset is scheduled on the asset example_cogview's archive step updates."""

from __future__ import annotations

from pathlib import Path

from airflow.dag_processing.dagbag import DagBag
from airflow.sdk import Asset

DAGS_FOLDER = Path(__file__).resolve().parents[2] / "dags"


def test_the_publisher_is_scheduled_on_the_cogview_archive_asset() -> None:
    dagbag = DagBag(dag_folder=DAGS_FOLDER / "example_publish_on_asset.py")
    assert dagbag.import_errors == {}
    publisher = dagbag.dags["example_publish_on_asset"]
    cogview = DagBag(dag_folder=DAGS_FOLDER / "example_cogview.py").dags["example_cogview"]
    produced = {outlet for task in cogview.tasks for outlet in task.outlets if isinstance(outlet, Asset)}
    assert produced == {Asset("s3://aigc-archive/cogview")}
    assert list(publisher.timetable.asset_condition.objects) == [Asset("s3://aigc-archive/cogview")]
    assert publisher.get_task("publish").inlets == [Asset("s3://aigc-archive/cogview")]
