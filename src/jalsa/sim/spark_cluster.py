"""A Spark standalone cluster on this machine: a master and workers on 127.0.0.1, each its
own JVM started by the pyspark package's own launcher (`bin/spark-class` with the
`deploy.master.Master` and `deploy.worker.Worker` classes), on free ports chosen at run time.
The tests and benchmarks/spark_cluster.py run `jalsa analyze --engine spark --master
spark://127.0.0.1:PORT` against it, so the analysis goes through a real master, real workers
and executors in their own processes, as on a team's cluster.

Every process starts in its own process group (a worker's executors join its group) and is
told to end with the process that started it (Linux's parent-death signal), and `stop()`
ends each group, TERM then KILL: no JVM outlives a failed test or an interrupted run."""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
MASTER = "org.apache.spark.deploy.master.Master"
WORKER = "org.apache.spark.deploy.worker.Worker"
# Daemon settings: no REST submission server (it would take port 6066 whatever the master's
# port), application folders kept for the test to read.
DEFAULTS = {"spark.master.rest.enabled": "false", "spark.worker.cleanup.enabled": "false"}
# The daemons only place executors: a small heap, and the JIT's quick tier (they start faster)
DAEMON_MEMORY = "256m"
QUICK_JVM = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
PR_SET_PDEATHSIG = 1


class ClusterError(RuntimeError):
    """The cluster did not come up: the message has the tail of every process's log."""


def spark_home() -> Path:
    """The pyspark package's folder: it is a Spark distribution (bin/, jars/)."""
    import pyspark

    return Path(pyspark.__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


# loaded here, not in the child between fork and exec
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    if _LIBC is not None:
        _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class StandaloneCluster:
    """`workers` workers of `cores` cores and `memory` each, under the folder `root` (logs,
    the workers' application folders, the daemons' settings)."""

    root: Path
    workers: int = 2
    cores: int = 1
    memory: str = "1g"
    port: int = 0
    webui_port: int = 0
    processes: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)

    @property
    def master_url(self) -> str:
        return f"spark://{HOST}:{self.port}"

    @property
    def webui_url(self) -> str:
        return f"http://{HOST}:{self.webui_port}"

    def work_dir(self, worker: int) -> Path:
        return self.root / f"worker-{worker}"

    def start(self, timeout: float = 180.0) -> StandaloneCluster:
        """Start the master and the workers; return once every worker is registered (the
        master's JSON says so) or raise ClusterError after `timeout` seconds."""
        java = shutil.which("java")
        if java is None:
            raise ClusterError("no java on PATH: Spark needs Java 17 (see `jalsa doctor`)")
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "logs").mkdir(exist_ok=True)
        self.port, self.webui_port = free_port(), free_port()
        settings = self.root / "spark-defaults.conf"
        settings.write_text("".join(f"{k} {v}\n" for k, v in DEFAULTS.items()))
        common = ["--properties-file", str(settings)]
        try:
            self._launch("master", MASTER, "--host", HOST, "--port", str(self.port), *common,
                         "--webui-port", str(self.webui_port))  # fmt: skip
            for n in range(self.workers):
                self.work_dir(n).mkdir(exist_ok=True)
                self._launch(
                    f"worker-{n}", WORKER, self.master_url, "--host", HOST,
                    "--cores", str(self.cores), "--memory", self.memory,
                    "--work-dir", str(self.work_dir(n)), "--webui-port", "0", *common,
                )  # fmt: skip
            self._wait_for_workers(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _launch(self, name: str, main_class: str, *args: str) -> None:
        home = spark_home()
        env = os.environ | {
            "SPARK_HOME": str(home),
            "SPARK_LOCAL_IP": HOST,
            "SPARK_LOG_DIR": str(self.root / "logs"),
            "SPARK_WORKER_DIR": str(self.root),
            "SPARK_LOCAL_DIRS": str(self.root / "local"),  # executors' shuffle and spill files
            "SPARK_NO_DAEMONIZE": "1",
            "SPARK_DAEMON_MEMORY": DAEMON_MEMORY,
            "SPARK_DAEMON_JAVA_OPTS": QUICK_JVM,
        }
        log = (self.root / "logs" / f"{name}.log").open("ab")
        with log:
            process = subprocess.Popen(
                [str(home / "bin" / "spark-class"), main_class, *args],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.root,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        self.processes.append((name, process))

    def _wait_for_workers(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        alive = 0
        while time.monotonic() < deadline:
            ended = [name for name, p in self.processes if p.poll() is not None]
            if ended:
                raise ClusterError(f"{', '.join(ended)} exited at start\n{self.log_tails()}")
            with contextlib.suppress(OSError, ValueError):
                alive = int(self.state(timeout=2).get("aliveworkers", 0))
                if alive >= self.workers:
                    return
            time.sleep(0.5)
        raise ClusterError(
            f"{alive} of {self.workers} workers registered with {self.master_url} within "
            f"{timeout:g} s\n{self.log_tails()}"
        )

    def state(self, timeout: float = 10.0) -> dict[str, Any]:
        """The master's view as its web UI gives it (/json/): workers, applications."""
        with urllib.request.urlopen(self.webui_url + "/json/", timeout=timeout) as answer:
            data: dict[str, Any] = json.load(answer)
        return data

    def executor_logs(self, app_id: str) -> list[Path]:
        """The stderr of every executor the workers started for application `app_id`."""
        return sorted(
            path
            for n in range(self.workers)
            for path in self.work_dir(n).glob(f"{app_id}/*/stderr")
        )

    def log_tails(self, lines: int = 15) -> str:
        out = []
        for log in sorted((self.root / "logs").glob("*.log")):
            tail = log.read_text(errors="replace").splitlines()[-lines:]
            out.append(f"--- {log.name} (last {len(tail)} lines)\n" + "\n".join(tail))
        return "\n".join(out)

    def running(self) -> list[str]:
        """Names of the processes whose group still has a live process (executors included)."""
        found = []
        for name, process in self.processes:
            process.poll()
            try:
                os.killpg(process.pid, 0)
            except ProcessLookupError:
                continue
            except PermissionError:
                pass
            found.append(name)
        return found

    def stop(self, grace: float = 15.0) -> None:
        """End the workers (and their executors), then the master: TERM to each process
        group, KILL to what is left after `grace` seconds."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for _, process in reversed(self.processes):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, sig)
            deadline = time.monotonic() + grace
            while self.running() and time.monotonic() < deadline:
                time.sleep(0.2)
            if not self.running():
                break
        for _, process in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=5)

    def __enter__(self) -> StandaloneCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
