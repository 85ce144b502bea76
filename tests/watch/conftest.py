"""The censor lab fixture (see netlab.py): built once per test module, torn down even when a
test fails. Without root or `ip netns` the lab's tests skip -- in CI they fail instead."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator

import pytest

from watch.netlab import Lab, LabError


def lab_unavailable() -> str | None:
    """Why the lab cannot be built here, or None."""
    if os.geteuid() != 0:
        return "the censor lab needs root (network namespaces, nftables)"
    missing = [tool for tool in ("ip", "nft", "tc", "dnsmasq") if shutil.which(tool) is None]
    if missing:
        return f"the censor lab needs {', '.join(missing)} (see .ci/run's apt_packages)"
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False)
    if listed.returncode:
        return f"`ip netns` is unavailable: {listed.stderr.strip()}"
    return None


def _cannot(why: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"the censor lab must run in CI: {why}")
    pytest.skip(why)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    why = lab_unavailable()
    if why:
        _cannot(why)
    built = Lab(tmp_path_factory.mktemp("netlab"))
    try:
        built.start()
    except LabError as exc:
        _cannot(f"the censor lab could not be built: {exc}")
    try:
        yield built
    finally:
        built.close()
