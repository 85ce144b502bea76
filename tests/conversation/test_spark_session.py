"""Spark in local mode listens on loopback only: `jalsa analyze --engine spark` must not open
the driver's RPC and block manager ports on the machine's external address. A master URL of
a cluster keeps Spark's own choice (the executors must reach the driver)."""

from __future__ import annotations

import ipaddress
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from jalsa.conversation.engines import LOOPBACK, is_local_master, spark_conf, spark_session


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
