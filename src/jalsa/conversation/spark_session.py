"""How jalsa starts Spark for the Spark engine: the session's settings, the user's own
(`--conf KEY=VALUE`), and two checks that turn a cluster's silent waits into one clear error:
the master must answer on its port before a session is built, and a first small task must
run on an executor within a bounded time (Spark itself waits for resources forever).

Only SQL and Arrow cross to the cluster: the measures are Spark SQL, results come back through
Arrow batches built in the JVM, and an empty dataset is an Arrow table, not Python rows. So the
workers need Spark (and Java) only, never Python; tests/conversation/test_spark_cluster.py runs
the analysis with the workers' Python set to a path that does not exist to keep it so."""

from __future__ import annotations

import os
import re
import socket
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from jalsa.errors import UserError

LOOPBACK = "127.0.0.1"
LOOPBACK_NAMES = {"127.0.0.1", "localhost", "::1", "[::1]"}
# Spark's own first lines, seconds: a master that does not answer, a cluster that runs no task
CONNECT_TIMEOUT = 10.0
EXECUTOR_WAIT = 120.0
# Settings jalsa's figures depend on: the master has its own option, and every minute and
# day in the SQL is UTC.
RESERVED = {
    "spark.master": "use --master",
    "spark.sql.session.timeZone": "jalsa's figures are computed in UTC",
}
KEY = re.compile(r"^spark\.[A-Za-z0-9_.\-]+$")
URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")


@dataclass(frozen=True)
class SparkOptions:
    """Where and how the Spark engine runs. `master`: a master URL (default: local mode on
    every core); `conf`: Spark settings passed as given (executor memory and cores, the
    driver's address, storage credentials); `dataset_url`: the folder the executors read the
    event's part files from, when it is not the local one (s3a://..., hdfs://...);
    `executor_wait`: seconds a cluster has to run a first task before jalsa gives up."""

    master: str | None = None
    conf: Mapping[str, str] = field(default_factory=dict)
    dataset_url: str | None = None
    executor_wait: float = EXECUTOR_WAIT

    @classmethod
    def parse(
        cls,
        master: str | None = None,
        conf: Iterable[str] = (),
        dataset_url: str | None = None,
        executor_wait: float = EXECUTOR_WAIT,
    ) -> SparkOptions:
        """From the command line's words; bad input raises UserError saying what to write."""
        if master is not None and not master.strip():
            raise UserError("--master is empty; write e.g. spark://HOST:7077, yarn or local[4]")
        if dataset_url is not None and not URL.match(dataset_url):
            raise UserError(
                f"--dataset-url {dataset_url!r}: write a URL every executor can read, such as "
                "s3a://bucket/jalsa/EVENT/posts, hdfs:///jalsa/EVENT/posts or "
                "file:///shared/jalsa/EVENT/posts"
            )
        if not 0 < executor_wait <= 3600:
            raise UserError("--executor-wait must be more than 0 and at most 3600 seconds")
        return cls(master and master.strip(), parse_conf(conf), dataset_url, executor_wait)


def parse_conf(items: Iterable[str]) -> dict[str, str]:
    """`KEY=VALUE` settings as a dict; a key must be a Spark setting (spark.*)."""
    conf: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not KEY.match(key):
            raise UserError(
                f"--conf {item!r}: write KEY=VALUE with a Spark setting as the key, "
                "e.g. spark.executor.memory=4g"
            )
        if key in RESERVED:
            raise UserError(f"--conf {key}: jalsa sets this one ({RESERVED[key]})")
        conf[key] = value.strip()
    return conf


def is_local_master(master: str) -> bool:
    """`local`, `local[N]`, `local[*]`, `local[N,F]`, `local-cluster[...]`: all on this machine."""
    return master == "local" or master.startswith(("local[", "local-cluster["))


def master_endpoints(master: str) -> list[tuple[str, int]]:
    """The (host, port) a master URL names: each master of `spark://h1:p1,h2:p2`, the API
    server of `k8s://https://host:port`; none for local mode or YARN (found in
    HADOOP_CONF_DIR)."""
    if master.startswith("spark://"):
        found = []
        for one in master[len("spark://") :].split(","):
            host, _, port = one.rpartition(":")
            if not host or not port.isdigit():
                raise UserError(f"--master {master!r}: write spark://HOST:PORT (7077 is usual)")
            found.append((host.strip("[]"), int(port)))
        return found
    if master.startswith("k8s://"):
        api = master[len("k8s://") :]
        parts = urlsplit(api if "://" in api else "https://" + api)
        if not parts.hostname:
            raise UserError(f"--master {master!r}: write k8s://https://API-SERVER:PORT")
        default = 443 if parts.scheme == "https" else 80
        try:
            return [(parts.hostname, parts.port or default)]
        except ValueError:
            raise UserError(f"--master {master!r}: the port is not a number") from None
    return []


def on_loopback(master: str) -> bool:
    """A standalone master on this machine's loopback: its workers are on this machine too."""
    if not master.startswith("spark://"):
        return False
    return all(host in LOOPBACK_NAMES for host, _ in master_endpoints(master))


def spark_conf(master: str | None = None, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The session's settings, `extra` (the user's --conf) last. The driver listens on
    loopback only when everything runs on this machine (local mode, or a standalone master
    on 127.0.0.1): nothing else needs to reach it, and otherwise it binds to the machine's
    external address (its RPC and block manager ports open to the network). Any other master
    keeps Spark's own choice, since the executors must reach the driver; set
    spark.driver.host with --conf when the machine has several addresses."""
    cores = os.cpu_count() or 1
    master = master or f"local[{cores}]"
    conf = {
        "spark.master": master,
        "spark.app.name": "jalsa",
        "spark.sql.session.timeZone": "UTC",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.shuffle.partitions": str(max(2, cores * 2)),
        "spark.sql.execution.arrow.pyspark.enabled": "true",
    }
    if is_local_master(master) or on_loopback(master):
        # bindAddress is where the sockets listen (it overrides SPARK_LOCAL_IP); host is the
        # address the driver advertises to its executors.
        conf["spark.driver.bindAddress"] = LOOPBACK
        conf["spark.driver.host"] = LOOPBACK
    return conf | dict(extra or {})


def check_reachable(master: str, timeout: float = CONNECT_TIMEOUT) -> None:
    """Raise UserError unless some endpoint of the master URL accepts a connection: Spark
    itself retries an absent standalone master for a minute before it gives up."""
    endpoints = master_endpoints(master)
    errors = []
    for host, port in endpoints:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                return
        except OSError as error:
            errors.append(f"{host}:{port} ({error.strerror or error})")
    if endpoints:
        raise UserError(
            f"cannot reach the Spark master at {', '.join(errors)}; is it running, and may "
            "this machine connect to it?"
        )


def spark_session(master: str | None = None, options: SparkOptions | None = None) -> Any:
    """A Spark session in UTC: `local[N]` on this machine (listening on 127.0.0.1 only)
    unless a master URL is given. On a cluster it returns once a first task has run on an
    executor, or raises UserError after `options.executor_wait` seconds."""
    from pyspark.sql import SparkSession

    options = options or SparkOptions(master=master)
    conf = spark_conf(options.master or master, options.conf)
    wanted = conf["spark.master"]
    check_reachable(wanted)
    builder = SparkSession.builder
    for key, value in conf.items():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
    except Exception as error:  # the JVM's errors: a bad setting, no Java
        raise UserError(f"Spark did not start: {spark_error(error)}") from None
    if session.sparkContext.master != wanted:
        raise UserError(
            f"this process already runs a Spark session on {session.sparkContext.master}"
        )
    session.sparkContext.setLogLevel("OFF")  # errors reach the caller as exceptions
    if not is_local_master(wanted):
        try:
            first_task(session, options.executor_wait)
        except UserError:
            session.stop()
            raise
    return session


def first_task(session: Any, wait: float) -> None:
    """Run one small job and wait at most `wait` seconds for it: the executors exist, can
    reach the driver and run tasks (on a cluster short of cores or memory Spark would wait
    for resources forever)."""
    context = session.sparkContext
    failed: list[BaseException] = []

    def probe() -> None:
        try:
            context.setJobGroup("jalsa-first-task", "jalsa: is there an executor?", True)
            session.range(0, 2, 1, 2).selectExpr("sum(id)").collect()
        except BaseException as error:  # reported by the caller's thread
            failed.append(error)

    thread = threading.Thread(target=probe, name="jalsa-first-task", daemon=True)
    thread.start()
    thread.join(wait)
    if thread.is_alive():
        context.cancelJobGroup("jalsa-first-task")
        thread.join(10)
        raise UserError(
            f"no executor of {context.master} ran a task within {wait:g} s: are workers "
            "alive with free cores and memory for spark.executor.memory="
            f"{context.getConf().get('spark.executor.memory', '1g')} and "
            "spark.executor.cores, and can they reach this machine (spark.driver.host)? "
            "--executor-wait gives it longer"
        )
    if failed:
        raise UserError(f"the Spark cluster {context.master} failed: {spark_error(failed[0])}")


def spark_error(error: BaseException) -> str:
    """One line for a Spark failure: the JVM's exception, not the Python stack around it."""
    java = getattr(error, "java_exception", None)
    text = str(java.toString()) if java is not None else str(error)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    line = lines[0] if lines else type(error).__name__
    if "JAVA_GATEWAY_EXITED" in text:
        line = "the Java process exited at once; is Java 17 installed (see `jalsa doctor`)?"
    return line[:600]
