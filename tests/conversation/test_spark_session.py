"""How jalsa starts Spark. In local mode, or with a standalone master on 127.0.0.1, the driver
listens on loopback only: `jalsa analyze --engine spark` must not open its RPC and block
manager ports on the machine's external address. A master URL of a cluster elsewhere keeps
Spark's own choice (the executors must reach the driver). The user's --conf comes last."""

from __future__ import annotations

import ipaddress
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from jalsa.conversation.engines import SparkEngine, part_urls
from jalsa.conversation.spark_session import (
    LOOPBACK,
    is_local_master,
    master_endpoints,
    parse_conf,
    spark_conf,
    spark_session,
)
from jalsa.errors import UserError


@pytest.mark.parametrize("master", [None, "local", "local[1]", "local[*]", "local[2,3]"])
def test_local_masters_bind_the_driver_to_loopback(master: str | None) -> None:
    conf = spark_conf(master)
    assert is_local_master(conf["spark.master"])
    assert conf["spark.driver.bindAddress"] == LOOPBACK == "127.0.0.1"
    assert conf["spark.driver.host"] == LOOPBACK
    assert conf["spark.ui.enabled"] == "false"


@pytest.mark.parametrize(
    "master", ["spark://10.0.0.5:7077", "yarn", "k8s://https://10.0.0.1:6443", "localhost"]
)
def test_a_cluster_master_keeps_sparks_own_addresses(master: str) -> None:
    conf = spark_conf(master)
    assert conf["spark.master"] == master
    assert "spark.driver.bindAddress" not in conf and "spark.driver.host" not in conf


@pytest.mark.parametrize("master", ["spark://127.0.0.1:7077", "spark://localhost:1,[::1]:2"])
def test_a_standalone_master_on_loopback_keeps_the_driver_on_loopback(master: str) -> None:
    conf = spark_conf(master)
    assert conf["spark.driver.bindAddress"] == conf["spark.driver.host"] == LOOPBACK


def test_the_users_settings_come_last() -> None:
    mine = parse_conf(["spark.executor.memory = 4g", "spark.driver.host=10.0.0.9"])
    conf = spark_conf("spark://127.0.0.1:7077", mine)
    assert conf["spark.executor.memory"] == "4g" and conf["spark.driver.host"] == "10.0.0.9"
    assert conf["spark.sql.session.timeZone"] == "UTC"


def test_master_endpoints() -> None:
    assert master_endpoints("spark://a:7077,b:7078") == [("a", 7077), ("b", 7078)]
    assert master_endpoints("k8s://https://api.example:6443") == [("api.example", 6443)]
    assert master_endpoints("k8s://api.example") == [("api.example", 443)]
    assert master_endpoints("yarn") == master_endpoints("local[2]") == []


def _listening(pid: int) -> list[tuple[str, int]]:
    """(address, port) of every TCP socket the process listens on, from /proc."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        lines = Path(table).read_text().splitlines()[1:] if Path(table).exists() else []
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state != "0A" or inode not in inodes:  # 0A: LISTEN
                continue
            hex_address, hex_port = local.split(":")
            raw = bytes.fromhex(hex_address)
            # /proc prints each 32-bit word in host (little-endian) order
            words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
            address: Any = ipaddress.ip_address(words)
            if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
                address = address.ipv4_mapped
            found.append((str(address), int(hex_port, 16)))
    return found


@pytest.mark.integration
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_local_session_listens_on_loopback_only() -> None:
    session = spark_session("local[1]")
    try:
        conf = session.sparkContext.getConf()
        assert conf.get("spark.driver.bindAddress") == "127.0.0.1"
        assert conf.get("spark.driver.host") == "127.0.0.1"
        assert conf.get("spark.ui.enabled") == "false"
        driver_port = int(conf.get("spark.driver.port"))
        jvm = session.sparkContext._gateway.proc.pid  # spark-submit execs the driver's JVM
        sockets = _listening(jvm)
        assert driver_port in {port for _, port in sockets}, sockets
        assert sockets and all(address == "127.0.0.1" for address, _ in sockets), sockets
    finally:
        session.stop()


@pytest.mark.integration
def test_a_part_spark_cannot_read_is_one_message_saying_where_parts_must_be(
    tmp_path: Path,
) -> None:
    session = spark_session("local[1]")
    try:
        with pytest.raises(UserError) as raised:
            SparkEngine([tmp_path / "part-1.parquet"], session=session)
    finally:
        session.stop()
    said = str(raised.value)
    assert said.startswith("Spark cannot read the posts: [PATH_NOT_FOUND]"), said
    assert "mounted at the same path on every worker" in said and "--dataset-url" in said


def test_executors_read_each_part_by_its_absolute_path_or_under_the_dataset_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    parts = [Path("posts/part-1.parquet"), tmp_path / "posts" / "part-2.parquet"]
    assert part_urls(parts) == [str(tmp_path / "posts" / f"part-{n}.parquet") for n in (1, 2)]
    assert part_urls(parts, "s3a://bucket/jalsa/j/posts/") == [
        "s3a://bucket/jalsa/j/posts/part-1.parquet",
        "s3a://bucket/jalsa/j/posts/part-2.parquet",
    ]
