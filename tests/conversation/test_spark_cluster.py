"""`jalsa analyze --engine spark --master spark://127.0.0.1:PORT` on a real standalone cluster
(a master and two workers from the pyspark package's launcher, `spark_cluster`): every figure
equals DuckDB's on the same generated posts, and the work ran in executors on the workers,
which had no Python. A master that does not answer and a cluster that cannot run a task are
one clear error each within a bounded time, and bad Spark options one message each."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from jalsa.config import get_settings
from jalsa.conversation.agreement import differences
from jalsa.sim.spark_cluster import QUICK_JVM, StandaloneCluster, free_port

pytestmark = pytest.mark.integration

Cli = Callable[..., Any]
VOICES = ["--voice", "PTI=#pti,#imrankhan,imran khan", "--voice", "Outage=#internetshutdown,vpn"]
# Settings passed through to the executors: what a worker has (1 core, 1g), and for a few
# seconds of work the JIT's quick tier (C2 compiling for minutes made the run 2-3x slower;
# the driver's applies when this process starts its JVM here).
ON_CLUSTER = [
    "--conf", "spark.executor.memory=512m",
    "--conf", "spark.executor.cores=1",
    "--conf", f"spark.executor.extraJavaOptions={QUICK_JVM}",
    "--conf", f"spark.driver.extraJavaOptions={QUICK_JVM}",
    "--conf", "spark.sql.shuffle.partitions=2",
]  # fmt: skip
NO_PYTHON = "/nonexistent/python-on-the-workers"


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    """`jalsa ARGS` in-process, against one store and data folder for the module, whose event
    `j` holds 5,000 generated posts (an hour of a rally, with spikes and a campaign)."""
    from jalsa.cli import app

    home = tmp_path_factory.mktemp("spark-cli")
    runner = CliRunner()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JALSA_DATA_DIR", str(home / "data"))
        patch.setenv("JALSA_DATABASE_URL", f"sqlite:///{home / 'jalsa.db'}")
        patch.setenv("JALSA_CONFIG", str(home / "jalsa.toml"))
        get_settings.cache_clear()

        def run(*args: str) -> Any:
            return runner.invoke(app, list(args), catch_exceptions=False)

        posts = home / "posts.parquet"
        steps = [
            ("event", "create", "Jalsa", "--starts", "2023-12-17 19:00", "--slug", "j"),
            ("sim", "posts", "--count", "5000", "--hours", "1", "--seed", "7", "--out", str(posts)),
            ("ingest", "j", str(posts)),
        ]
        for step in steps:
            done = run(*step)
            assert done.exit_code == 0, done.output
        yield run
    get_settings.cache_clear()


def analysis(cli: Cli, out: Path, *args: str) -> dict[str, Any]:
    done = cli("analyze", "j", *VOICES, "--out", str(out), *args)
    assert done.exit_code == 0, done.output
    data: dict[str, Any] = json.loads(out.read_text())
    return data


def finished_apps(cluster: StandaloneCluster) -> dict[str, dict[str, Any]]:
    return {app["id"]: app for app in cluster.state()["completedapps"]}


def test_the_cluster_gives_every_figure_duckdb_gives(
    cli: Cli,
    spark_cluster: StandaloneCluster,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PYSPARK_PYTHON", NO_PYTHON)  # what a Python UDF would run on a worker
    before = finished_apps(spark_cluster)
    duck = analysis(cli, tmp_path / "duckdb.json")
    master = ["--engine", "spark", "--master", spark_cluster.master_url]
    sparked = analysis(cli, tmp_path / "spark.json", *master, *ON_CLUSTER)

    assert (duck["engine"], sparked["engine"]) == ("duckdb", "spark")
    assert duck["results"]["overview"][0]["posts"] == 5000
    assert duck["spikes"] and duck["coordination"]["any"]["accounts"]  # figures worth comparing
    assert differences(duck, sparked) == []

    deadline = time.monotonic() + 30  # the master files the application once it has stopped
    while not (new := set(finished_apps(spark_cluster)) - set(before)):
        assert time.monotonic() < deadline, spark_cluster.state()
        time.sleep(0.5)
    (app_id,) = new
    assert finished_apps(spark_cluster)[app_id]["name"] == "jalsa"
    logs = spark_cluster.executor_logs(app_id)
    workers = {path.relative_to(spark_cluster.root).parts[0] for path in logs}
    assert workers == {"worker-0", "worker-1"}, logs  # an executor on each worker
    said = "".join(path.read_text(errors="replace") for path in logs)
    assert "Finished task" in said
    assert "-Xmx512M" in said and "TieredStopAtLevel=1" in said  # --conf reached them


def test_trends_read_the_parts_from_the_dataset_url(
    cli: Cli, spark_cluster: StandaloneCluster, tmp_path: Path
) -> None:
    """--dataset-url: the executors read a copy of the parts (as from S3 or HDFS), by name."""
    parts = sorted(Path(get_settings().data_dir, "conversation", "j", "posts").glob("*.parquet"))
    copy = tmp_path / "elsewhere"
    copy.mkdir()
    for part in parts:
        (copy / part.name).write_bytes(part.read_bytes())
    spark = ["--engine", "spark", "--master", spark_cluster.master_url, *ON_CLUSTER]
    duck = cli("trends", "j", "--json")
    sparked = cli("trends", "j", "--json", *spark, "--dataset-url", copy.as_uri())
    assert duck.exit_code == sparked.exit_code == 0, sparked.output
    assert json.loads(duck.output)["spikes"] == json.loads(sparked.output)["spikes"] != []


def test_a_cluster_that_runs_no_task_is_an_error_not_a_wait(
    cli: Cli, spark_cluster: StandaloneCluster
) -> None:
    """No worker has 64g: the master never grants an executor, Spark would wait for ever."""
    done = cli(
        "trends", "j", "--engine", "spark", "--master", spark_cluster.master_url,
        "--conf", "spark.executor.memory=64g", "--executor-wait", "3",
    )  # fmt: skip
    assert done.exit_code != 0 and "Traceback" not in done.output
    assert f"no executor of {spark_cluster.master_url} ran a task within 3 s" in done.output
    assert "spark.executor.memory=64g" in done.output


def test_a_master_that_does_not_answer_is_one_clear_error(cli: Cli) -> None:
    nobody = f"spark://127.0.0.1:{free_port()}"
    done = cli("analyze", "j", "--engine", "spark", "--master", nobody)
    assert done.exit_code != 0 and "Traceback" not in done.output
    assert f"cannot reach the Spark master at 127.0.0.1:{nobody.rsplit(':', 1)[1]}" in done.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--conf", "spark.executor.memory"), "write KEY=VALUE"),
        (("--conf", "executor.memory=4g"), "with a Spark setting as the key"),
        (("--conf", "spark.master=yarn"), "jalsa sets this one (use --master)"),
        (("--conf", "spark.sql.session.timeZone=Asia/Karachi"), "computed in UTC"),
        (("--dataset-url", "/shared/posts"), "write a URL every executor can read"),
        (("--executor-wait", "0"), "--executor-wait must be more than 0"),
        (("--master", "spark://nohost"), "write spark://HOST:PORT"),
        (("--master", "k8s://https://api:port"), "the port is not a number"),
    ],
)
def test_bad_spark_options_get_one_message(cli: Cli, args: tuple[str, ...], message: str) -> None:
    for command in ("analyze", "trends"):
        done = cli(command, "j", "--engine", "spark", *args)
        assert done.exit_code != 0, done.output
        assert message in done.output and "Traceback" not in done.output, done.output


def test_spark_options_are_refused_for_duckdb(cli: Cli) -> None:
    done = cli("analyze", "j", "--master", "spark://h:7077", "--conf", "spark.a=b")
    assert done.exit_code != 0
    assert "--master, --conf: only for --engine spark" in done.output
