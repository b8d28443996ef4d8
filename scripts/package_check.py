"""`make package-check`: the provider installed as users install it, not as the editable checkout.

Builds the sdist and wheel (`python -m build`), checks them (`twine check --strict`, the wheel's
file list and metadata), installs the wheel into a clean venv with the runtime versions uv.lock
pins, and from outside the checkout runs the provider smoke checks there: `airflow providers
list/hooks/widgets` see it, and `example_jumdata` runs end to end (`airflow dags test`) against the
simulator the wheel ships and a local S3, leaving a manifest. Everything it starts is stopped.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import boto3
from demo_services import Service, airflow_env, aws_connection, running_s3, started_service, wait_for_service

from airflow_provider_aigc import __version__
from airflow_provider_aigc.simulator import connection_env
from airflow_provider_aigc.simulator.process import LOOPBACK, free_port, simulator_argv
from airflow_provider_aigc.vendors.registry import VENDORS

REPO = Path(__file__).resolve().parents[1]
WORK = REPO / ".package"
UV_BOOTSTRAP = "uv==0.13.9"
EXAMPLE_DAG = "example_jumdata"
BUCKET = "aigc-archive"
COMMAND_TIMEOUT_SECONDS = 600.0
# What a provider wheel must carry beyond the modules: typing marker, entry point, licence.
REQUIRED_FILES = ("airflow_provider_aigc/py.typed", "airflow_provider_aigc/simulator/__main__.py")


class PackageCheckError(Exception):
    """The built or installed package differs from what users are promised."""


def step(message: str) -> None:
    print(f"==> {message}", flush=True)


def run(argv: list[str], *, cwd: Path = REPO, env: dict[str, str] | None = None) -> str:
    """Run a command to completion; its output, or PackageCheckError with the output's tail."""
    result = subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_SECONDS, check=False
    )
    if result.returncode != 0:
        tail = (result.stdout + result.stderr)[-3000:]
        raise PackageCheckError(f"{' '.join(argv[:4])} ... exited {result.returncode}:\n{tail}")
    return result.stdout


def changelog_version() -> str:
    """The version of the newest CHANGELOG.md section (`## 0.2.0 - ...`)."""
    for line in (REPO / "CHANGELOG.md").read_text(encoding="utf-8").splitlines():
        match = re.match(r"## \[?(\d+\.\d+\.\d+\S*?)\]?(\s|$)", line)
        if match:
            return match.group(1)
    raise PackageCheckError("CHANGELOG.md has no version section")


def source_modules() -> set[str]:
    """Every module of the package in the checkout, as wheel paths."""
    package = REPO / "airflow_provider_aigc"
    return {str(path.relative_to(REPO)) for path in package.rglob("*.py")}


def check_wheel(wheel: Path) -> None:
    """The wheel holds every module, the typing marker and the simulator; its metadata agrees."""
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        dist_info = next(name.split("/")[0] for name in names if name.endswith(".dist-info/METADATA"))
        metadata = archive.read(f"{dist_info}/METADATA").decode()
        entry_points = archive.read(f"{dist_info}/entry_points.txt").decode()
    missing = sorted((source_modules() | set(REQUIRED_FILES)) - names)
    if missing:
        raise PackageCheckError(f"{wheel.name} lacks {missing}")
    if not any(name.startswith(f"{dist_info}/licenses/LICENSE") for name in names):
        raise PackageCheckError(f"{wheel.name} lacks its LICENSE")
    if "[apache_airflow_provider]" not in entry_points or "get_provider_info" not in entry_points:
        raise PackageCheckError(f"{wheel.name} has no apache_airflow_provider entry point:\n{entry_points}")
    version = re.search(r"^Version: (.+)$", metadata, re.MULTILINE)
    versions = {
        "wheel": version.group(1) if version else None,
        "_version.py": __version__,
        "CHANGELOG": changelog_version(),
    }
    if len(set(versions.values())) != 1:
        raise PackageCheckError(f"versions disagree: {versions}")
    print(f"    {wheel.name}: {len(names)} files, version {__version__} (= CHANGELOG), entry point present")


def build() -> Path:
    step("building the sdist and the wheel (python -m build) and checking them (twine check --strict)")
    dist = WORK / "dist"
    run([sys.executable, "-m", "build", "--outdir", str(dist), str(REPO)])
    artifacts = sorted(dist.iterdir())
    run([sys.executable, "-m", "twine", "check", "--strict", *map(str, artifacts)])
    (wheel,) = [path for path in artifacts if path.suffix == ".whl"]
    check_wheel(wheel)
    return wheel


def install(wheel: Path) -> Path:
    """A clean venv with the wheel and the runtime versions uv.lock pins; its python."""
    step("installing the wheel into a clean venv (runtime pins from uv.lock)")
    venv = WORK / "venv"
    run([sys.executable, "-m", "venv", str(venv)])
    python = venv / "bin" / "python"
    run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", UV_BOOTSTRAP])
    pins = WORK / "runtime-pins.txt"
    export = ["export", "--locked", "--no-default-groups", "--no-emit-project", "--no-hashes"]
    exported = run([sys.executable, "-m", "uv", *export, "--format", "requirements-txt"])
    pins.write_text(exported, encoding="utf-8")
    run(
        [
            str(python),
            "-m",
            "uv",
            "pip",
            "install",
            "--quiet",
            "--python",
            str(python),
            str(wheel),
            "-c",
            str(pins),
        ]
    )
    location = run([str(python), "-c", "import airflow_provider_aigc as p; print(p.__file__)"], cwd=WORK)
    if "site-packages" not in location:
        raise PackageCheckError(f"the venv imports the package from {location.strip()}, not the wheel")
    return python


def airflow_json(python: Path, env: dict[str, str], *args: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads(
        run([str(python), "-m", "airflow", *args, "-o", "json"], cwd=WORK, env=env)
    )
    return [row for row in rows if row.get("package_name") == "airflow-provider-aigc"]


def check_cli(python: Path, env: dict[str, str]) -> None:
    step("airflow providers list / hooks / widgets in that venv")
    (provider,) = airflow_json(python, env, "providers", "list")
    if provider["version"] != __version__:
        raise PackageCheckError(f"airflow providers list shows {provider['version']}, not {__version__}")
    hooks = {row["connection_type"] for row in airflow_json(python, env, "providers", "hooks")}
    widgets = {row["connection_parameter_name"] for row in airflow_json(python, env, "providers", "widgets")}
    expected = {f"aigc_{vendor}" for vendor in VENDORS}
    if not expected <= hooks:
        raise PackageCheckError(f"connection types {sorted(expected - hooks)} are not registered")
    if not any(name.startswith("extra__aigc_zhipu__") for name in widgets):
        raise PackageCheckError("the Zhipu connection form declares no extra fields")
    print(f"    provider {__version__}; connection types {sorted(hooks)}; {len(widgets)} form fields")


def running_wheel_simulator(stack: ExitStack, python: Path, logs: Path) -> Service:
    """The simulator the wheel ships, run by the venv's interpreter."""
    port = free_port()
    argv = [str(python), *simulator_argv(LOOPBACK, port, speed=40)[1:]]
    service = stack.enter_context(started_service("wheel-simulator", argv, port, logs))
    wait_for_service(service, "/_sim/health")
    return service


def check_example_dag(stack: ExitStack, python: Path, logs: Path) -> None:
    step(f"airflow dags test {EXAMPLE_DAG} in that venv, against its simulator and a local S3")
    simulator = running_wheel_simulator(stack, python, logs)
    s3 = stack.enter_context(running_s3(logs))
    client = boto3.client(
        "s3", endpoint_url=s3.url, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    client.create_bucket(Bucket=BUCKET)
    dags = WORK / "dags"
    dags.mkdir()
    shutil.copy2(REPO / "dags" / f"{EXAMPLE_DAG}.py", dags)
    extra = {
        **connection_env(simulator.url),
        "AIRFLOW_CONN_AWS_DEFAULT": aws_connection(s3.url),
        "AIGC_ARCHIVE_BUCKET": BUCKET,
        "PATH": f"{python.parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    env = airflow_env(WORK / "airflow", dags, extra)
    run([str(python), "-m", "airflow", "db", "migrate"], cwd=WORK, env=env)
    run([str(python), "-m", "airflow", "dags", "test", EXAMPLE_DAG], cwd=WORK, env=env)
    listing = client.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    manifests = [item["Key"] for item in listing if item["Key"].endswith("/manifest.json")]
    if len(manifests) != 1:
        raise PackageCheckError(f"expected one manifest in s3://{BUCKET}, found {manifests}")
    manifest = json.loads(client.get_object(Bucket=BUCKET, Key=manifests[0])["Body"].read())
    print(f"    s3://{BUCKET}/{manifests[0]}: {len(manifest['objects'])} object(s) archived")


def main() -> int:
    shutil.rmtree(WORK, ignore_errors=True)
    logs = WORK / "logs"
    logs.mkdir(parents=True)
    try:
        wheel = build()
        python = install(wheel)
        with tempfile.TemporaryDirectory() as home:
            check_cli(python, airflow_env(Path(home), WORK, {}))
        with ExitStack() as stack:
            check_example_dag(stack, python, logs)
    except PackageCheckError as error:
        print(f"\npackage check failed: {error}", flush=True)
        return 1
    step("the installed wheel works as the editable checkout does")
    return 0


if __name__ == "__main__":
    sys.exit(main())
