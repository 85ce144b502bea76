"""What this machine has for jalsa, what it lacks, how to install it, and what a gap disables.

One table (`COMPONENTS`) is the single place that knows which outside pieces jalsa and its tests
use: `jalsa doctor` prints it, `scripts/test` asks it which Debian packages to install
(`python -m jalsa.doctor --missing-debian`), and the tests' `needs` helper skips or fails with
its words. Checks only look (files, `PATH`, fontconfig, a version string): they change nothing
and need nothing beyond the standard library, so the test script can run them before anything
else is installed.
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

CHROMIUM = "/usr/bin/chromium"
KANNEL = ("/usr/sbin/bearerbox", "/usr/sbin/smsbox", "/usr/lib/kannel/test/fakesmsc")
# Letters of Urdu that fonts without Urdu lack (yeh barree, heh goal, the full stop).
URDU_LETTERS = ("06d2", "06c1", "06d4")


@dataclass(frozen=True)
class Check:
    """The outcome of one component's check: found or not, and what was seen."""

    ok: bool
    detail: str


@dataclass(frozen=True)
class Component:
    """An outside piece jalsa uses: what it is for, how to get it, what its absence disables."""

    name: str
    purpose: str
    debian: tuple[str, ...]
    disables: str
    check: Callable[[], Check]
    needs_root: bool = False

    @property
    def install(self) -> str:
        if not self.debian:
            return "part of jalsa's own install (pip install -e .)"
        return "apt-get install " + " ".join(self.debian)


def _executables(paths: Sequence[str]) -> Check:
    missing = [path for path in paths if not os.access(path, os.X_OK)]
    if missing:
        return Check(False, "missing " + ", ".join(missing))
    return Check(True, ", ".join(paths))


def _on_path(tools: Sequence[str]) -> Check:
    # Debian keeps ip, nft, tc and dnsmasq in /usr/sbin, which a user's PATH may lack.
    search = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
    found = {tool: shutil.which(tool, path=search) for tool in tools}
    missing = [tool for tool, where in found.items() if where is None]
    if missing:
        return Check(False, "missing " + ", ".join(missing))
    return Check(True, ", ".join(str(where) for where in found.values()))


def check_postgresql() -> Check:
    servers = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    if not servers:
        return Check(False, "no PostgreSQL server in /usr/lib/postgresql")
    version = servers[-1].split("/")[4]
    return Check(True, f"PostgreSQL {version} server ({os.path.dirname(servers[-1])})")


def check_chromium() -> Check:
    path = os.environ.get("JALSA_CHROMIUM", CHROMIUM)
    return _executables([path])


def check_java() -> Check:
    java = shutil.which("java")
    if java is None:
        return Check(False, "no java on PATH")
    try:
        done = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Check(False, f"{java} -version failed: {exc}")
    match = re.search(r'version "(\d+)', done.stderr + done.stdout)
    if match is None:
        return Check(False, f"{java} printed no version")
    major = int(match.group(1))
    if major < 17:
        return Check(False, f"Java {major} at {java}; Spark 4 needs 17 or newer")
    return Check(True, f"Java {major} ({java})")


def check_kannel() -> Check:
    return _executables(KANNEL)


def check_censor_lab() -> Check:
    tools = _on_path(["ip", "nft", "tc", "dnsmasq"])
    if not tools.ok:
        return tools
    if os.geteuid() != 0:
        return Check(False, "tools present, but network namespaces need root")
    return tools


def check_urdu_font() -> Check:
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return Check(False, "fontconfig (fc-list) is missing")
    charset = " ".join(URDU_LETTERS)
    try:
        done = subprocess.run(
            [fc_list, f":charset={charset}", "family"], capture_output=True, text=True, timeout=20
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Check(False, f"fc-list failed: {exc}")
    families = sorted({line.split(",")[0].strip() for line in done.stdout.splitlines() if line})
    if not families:
        return Check(False, "no installed font has the Urdu letters ے ہ ۔")
    more = f" and {len(families) - 3} more" if len(families) > 3 else ""
    return Check(True, ", ".join(families[:3]) + more)


def check_pango() -> Check:
    found = [
        path
        for pattern in ("/usr/lib/*/libpango-1.0.so.0", "/usr/lib/*/libpangoft2-1.0.so.0")
        for path in glob.glob(pattern)
    ]
    if len(found) < 2:
        return Check(False, "libpango-1.0 and libpangoft2-1.0 not found")
    return Check(True, "Pango " + os.path.dirname(found[0]))


def check_model() -> Check:
    try:
        from jalsa.errors import UserError
        from jalsa.inbox.model_files import load_model
    except ImportError as exc:  # run before jalsa's dependencies are installed
        return Check(False, f"cannot import the classifier: {exc}")
    try:
        model = load_model()
    except UserError as exc:
        return Check(False, str(exc))
    name = model.info.get("name") or "trained by the team"
    return Check(True, f"{model.version} ({name})")


COMPONENTS: tuple[Component, ...] = (
    Component(
        "PostgreSQL",
        "the team database for several processes (JALSA_DATABASE_URL)",
        ("postgresql",),
        "several processes on one database; the tests' PostgreSQL half. "
        "One process on the built-in SQLite works without it",
        check_postgresql,
    ),
    Component(
        "Chromium",
        "the tests that open every page in a real browser",
        ("chromium",),
        "the browser tests only; the web app does not need it",
        check_chromium,
    ),
    Component(
        "Java",
        "Spark, the second analytics engine (jalsa analyze --engine spark)",
        ("openjdk-17-jre-headless",),
        "jalsa analyze --engine spark and its tests; DuckDB, the default engine, still works",
        check_java,
    ),
    Component(
        "Kannel",
        "the Kannel SMS gateway (bearerbox, smsbox, and the fake SMSC for tests)",
        ("kannel", "kannel-extras"),
        "JALSA_SMS_GATEWAY=kannel and its tests; the SMPP and REST gateways still work",
        check_kannel,
    ),
    Component(
        "Censor lab",
        "the disruption watch's tests in network namespaces (root, nftables, tc, dnsmasq)",
        ("iproute2", "nftables", "dnsmasq-base"),
        "the disruption watch's lab tests; the watch itself still works",
        check_censor_lab,
        needs_root=True,
    ),
    Component(
        "Urdu fonts",
        "Urdu text in the PDF report (Noto Nastaliq Urdu)",
        ("fonts-noto-core",),
        "Urdu in PDF reports (shown as boxes) and the PDF test",
        check_urdu_font,
    ),
    Component(
        "Pango",
        "the PDF report's layout (WeasyPrint uses Pango)",
        ("libpango-1.0-0", "libpangoft2-1.0-0"),
        "PDF reports (HTML, JSON and CSV still work)",
        check_pango,
    ),
    Component(
        "Moderation model",
        "the classifier that scores comments for the inbox",
        (),
        "scores in the inbox: comments are moderated by the policy's rules alone",
        check_model,
    ),
)


def find(name: str) -> Component:
    """The component called `name` (case-insensitive); KeyError names the known ones."""
    for component in COMPONENTS:
        if component.name.lower() == name.lower():
            return component
    raise KeyError(f"unknown component {name!r}: one of {', '.join(c.name for c in COMPONENTS)}")


def missing_reason(name: str) -> str | None:
    """Why component `name` is unusable here (with how to install it), or None when it works."""
    component = find(name)
    result = component.check()
    if result.ok:
        return None
    return f"{component.name} is missing ({result.detail}): {component.install}"


def report() -> list[tuple[Component, Check]]:
    """Every component with the result of its check, in table order."""
    return [(component, component.check()) for component in COMPONENTS]


def missing_debian(results: Sequence[tuple[Component, Check]]) -> list[str]:
    """Debian packages that would fill the gaps (not the model: pip installs that)."""
    packages: list[str] = []
    for component, result in results:
        if not result.ok:
            packages.extend(p for p in component.debian if p not in packages)
    return packages


def format_report(results: Sequence[tuple[Component, Check]]) -> list[str]:
    """The report as lines of plain text: a line per component, and for a missing one what it
    is for, what its absence disables and how to install it."""
    width = max(len(component.name) for component, _ in results)
    lines: list[str] = []
    for component, result in results:
        mark = "ok     " if result.ok else "MISSING"
        lines.append(f"{mark}  {component.name:<{width}}  {result.detail}")
        if not result.ok:
            lines.append(f"         for:        {component.purpose}")
            lines.append(f"         without it: {component.disables}")
            lines.append(f"         install:    {component.install}")
    packages = missing_debian(results)
    if packages:
        lines.append("")
        lines.append("Every missing Debian package at once (as root):")
        lines.append(f"  apt-get install {' '.join(packages)}")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m jalsa.doctor`: the report for scripts that run before jalsa's dependencies
    exist. `--missing-debian` prints only the packages to install, on one line."""
    parser = argparse.ArgumentParser(prog="python -m jalsa.doctor", description=__doc__)
    parser.add_argument("--missing-debian", action="store_true")
    parser.add_argument("--skip", action="append", default=[], help="component not to check")
    args = parser.parse_args(argv)
    skipped = {name.lower() for name in args.skip}
    results = [
        (component, component.check())
        for component in COMPONENTS
        if component.name.lower() not in skipped
    ]
    if args.missing_debian:
        print(" ".join(missing_debian(results)))
        return 0
    print("\n".join(format_report(results)))
    return 0 if all(result.ok for _, result in results) else 1


if __name__ == "__main__":
    sys.exit(main())
