"""Platforms as plugins: the registry refuses contradictions, and the worked example of
docs/adding-a-platform.md (examples/jalsa-twitch) is found through its entry point alone and
tracked end to end: a real `jalsa track` process polling a Helix-shaped server on loopback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import select

from jalsa.metrics import Kind, Metric
from jalsa.platforms.plugin import Platform, PluginError
from jalsa.platforms.registry import PLATFORMS, build
from jalsa.platforms.youtube.connector import YouTubeConnector
from jalsa.platforms.youtube.inbox import YouTubeInbox
from jalsa.store import Sample, Store

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "jalsa-twitch"


def test_the_built_in_platforms_register_through_the_hook() -> None:
    assert list(PLATFORMS) == ["youtube", "facebook", "x", "instagram"]


class _Copycat(YouTubeConnector):
    platform = "tube"
    metrics = ("tube.viewers",)


def test_a_stream_kind_claimed_twice_is_refused() -> None:
    youtube = PLATFORMS["youtube"]
    tube = Platform(name="tube", title="Tube")
    assert build([youtube, tube]).platforms == {"youtube": youtube, "tube": tube}
    copycat = Platform(
        name="tube",
        title="Tube",
        metrics=(replace(youtube.metrics[0], name="tube.viewers", platform="tube"),),
        connectors=(_Copycat,),
    )
    with pytest.raises(PluginError, match="stream kind 'youtube' of platform 'tube'"):
        build([youtube, copycat])


def test_a_platform_name_claimed_twice_is_refused() -> None:
    other = Platform(name="youtube", title="Another YouTube")
    with pytest.raises(PluginError, match="platform 'youtube' is already registered"):
        build([PLATFORMS["youtube"], other])


def test_parts_must_belong_to_their_platform() -> None:
    with pytest.raises(PluginError, match="YouTubeConnector says it belongs to 'youtube'"):
        Platform(name="twitch", title="Twitch", connectors=(YouTubeConnector,))
    with pytest.raises(PluginError, match="produces undeclared metrics"):
        Platform(name="youtube", title="YouTube", connectors=(YouTubeConnector,))
    wrong = Metric("t.x", "twitch", "x", "x", Kind.CONCURRENT, "x", "x")
    with pytest.raises(PluginError, match=r"t\.x says it belongs to 'twitch'"):
        Platform(name="tiktok", title="TikTok", metrics=(wrong,))
    with pytest.raises(PluginError, match="must start with 'tiktok_'"):
        Platform(name="tiktok", title="TikTok", settings={"base_url": (str, "")})
    with pytest.raises(PluginError, match="YouTubeInbox says it belongs to 'youtube'"):
        Platform(name="tiktok", title="TikTok", inbox=YouTubeInbox)


class _Helix(BaseHTTPRequestHandler):
    """Get Streams as documented: 401 with Twitch's error body without the app's headers; the
    channel `afro` live with a viewer count that grows by one per request; others offline."""

    calls = 0

    def do_GET(self) -> None:
        url = urlparse(self.path)
        ok = (
            self.headers.get("Authorization") == "Bearer app-token"
            and self.headers.get("Client-Id") == "client-id"
        )
        if url.path != "/helix/streams" or not ok:
            status = 404 if ok else 401
            body = {"error": "Unauthorized", "status": status, "message": "Invalid OAuth token"}
        else:
            type(self).calls += 1
            logins = parse_qs(url.query).get("user_login", [])
            body = {
                "data": [
                    {
                        "id": "40952121085",
                        "user_id": "101051819",
                        "user_login": "afro",
                        "user_name": "Afro",
                        "game_id": "32982",
                        "game_name": "Grand Theft Auto V",
                        "type": "live",
                        "title": "Jacob: Digital Den Laptops & Tablets",
                        "tags": ["English"],
                        "viewer_count": 1490 + type(self).calls,
                        "started_at": "2021-03-10T03:18:11Z",
                        "language": "en",
                        "thumbnail_url": "https://static-cdn.jtvnw.net/previews-ttv/x.jpg",
                        "tag_ids": [],
                        "is_mature": False,
                    }
                ]
                if "afro" in logins
                else [],
                "pagination": {},
            }
            status = 200
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def helix() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Helix)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/helix"
    server.shutdown()


def _installed(tmp_path: Path) -> Path:
    """The example installed as pip would: its module and a dist-info with its entry point."""
    site = tmp_path / "site"
    info = site / "jalsa_twitch-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: jalsa-twitch\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text("[jalsa.plugins]\ntwitch = jalsa_twitch\n")
    (site / "jalsa_twitch.py").write_text((EXAMPLE / "jalsa_twitch.py").read_text())
    return site


def _pythonpath(tmp_path: Path) -> str:
    return os.pathsep.join([str(_installed(tmp_path)), os.environ.get("PYTHONPATH", "")])


@pytest.mark.integration
def test_the_worked_example_is_tracked_end_to_end(tmp_path: Path, helix: str) -> None:
    database = f"sqlite:///{tmp_path / 'jalsa.db'}"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            [str(_installed(tmp_path)), os.environ.get("PYTHONPATH", "")]
        ),
        "JALSA_DATABASE_URL": database,
        "JALSA_DATA_DIR": str(tmp_path),
        "JALSA_CONFIG": str(tmp_path / "none.toml"),
        "JALSA_TWITCH_BASE_URL": helix,
        "JALSA_TWITCH_CLIENT_ID": "client-id",
        "JALSA_TWITCH_APP_TOKEN": "app-token",
        "JALSA_TWITCH_INTERVAL": "1",
    }

    def jalsa(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "jalsa.cli", *args]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)

    starts = (datetime.now(UTC) - timedelta(minutes=10)).strftime("%Y-%m-%d %H:%M")
    created = jalsa("event", "create", "Rally", "--starts", starts, "--slug", "rally")
    assert created.returncode == 0, created.stderr
    for login in ("afro", "offline_channel"):
        added = jalsa("stream", "add", "rally", "twitch", login)
        assert added.returncode == 0, added.stderr
    tracked = jalsa("track", "rally", "--minutes", "0.08")
    assert tracked.returncode == 0, tracked.stderr

    store = Store(database)
    with store.session() as s:
        values = s.scalars(select(Sample.value).where(Sample.metric == "twitch.viewer_count")).all()
    store.dispose()
    assert len(values) >= 2
    assert sorted(values) == values and min(values) > 1490  # every poll a new reading
    # the Helix server saw only authorised requests: one per poll of the live channel and of
    # the offline one
    assert _Helix.calls >= 2 * len(values) - 1


def test_a_plugin_that_is_not_installed_is_not_there() -> None:
    assert "twitch" not in PLATFORMS
