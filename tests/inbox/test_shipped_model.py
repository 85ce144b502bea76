"""The model that ships inside the package: it loads, it is the default, it makes sense, its
files are the ones its metadata names; and the portable format it is written in (on a model
trained on the hand-written sample, so no test needs the datasets)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jalsa.cli.inbox_model import model_app
from jalsa.errors import UserError
from jalsa.inbox.classifier import Model
from jalsa.inbox.model_files import load_model
from jalsa.inbox.shipped import (
    ARRAYS,
    BUILD_COMMAND,
    MANIFEST,
    SHIPPED_DIR,
    VOCABULARY,
    check_roundtrip,
    export_model,
    load_portable,
    load_shipped,
    sha256,
)
from jalsa.inbox.training import fit_model, load_training_data, save_model
from moderation_sample import Sample

MAX_BYTES = 25_000_000  # the whole wheel must stay under 25 MB


@pytest.fixture(scope="module")
def shipped() -> Model:
    return load_shipped()


def test_the_shipped_model_is_complete_and_its_hashes_match() -> None:
    manifest = json.loads((SHIPPED_DIR / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["built_by"] == BUILD_COMMAND
    assert set(manifest["files"]) == {ARRAYS, VOCABULARY}
    for name, digest in manifest["files"].items():
        assert sha256(SHIPPED_DIR / name) == digest, name
    assert sum(f.stat().st_size for f in SHIPPED_DIR.iterdir()) < MAX_BYTES / 2
    # what the model card quotes: the held-out figures, beside the baseline on the same split
    for name in ("ruhsold_validation", "davidson_heldout"):
        ours, base = manifest["metrics"][name]["macro_f1"], manifest["baseline"][name]["macro_f1"]
        assert ours >= 0.89 and ours > base + 0.03, name
        assert manifest["intervals"][name]["difference"][0] > 0, name
    assert set(manifest["data_hashes"]) >= {
        "ruhsold/task_1_train.tsv",
        "ruhsold/task_1_validation.tsv",
        "ruhsold/task_2_train.tsv",
        "davidson/labeled_data_dev.csv",
    }


def test_the_shipped_model_loads_quickly() -> None:
    load_shipped()  # scikit-learn's own import is not the model's time
    start = time.perf_counter()
    model = load_shipped()
    elapsed = time.perf_counter() - start
    assert model.shipped and model.version.startswith("jalsa-default-")
    assert elapsed < 4.0  # about 0.5 s on one free core; generous for a busy CI runner


def test_the_shipped_model_is_the_default(shipped: Model, tmp_path: Path) -> None:
    model = load_model(data_dir=tmp_path)  # a data directory with no model of its own
    assert model.shipped and model.version == shipped.version
    assert "shipped model" in model.describe() and model.version in model.describe()


def test_a_team_model_replaces_the_shipped_one(sample: Sample, tmp_path: Path) -> None:
    team = fit_model(load_training_data(sample.data))
    team.version = "model-20240101-team"
    save_model(team, tmp_path / "inbox" / "models")
    model = load_model(data_dir=tmp_path)
    assert model.version == "model-20240101-team" and not model.shipped


def test_the_shipped_model_predicts_sensibly(shipped: Model) -> None:
    pairs = [
        ("you are a stupid fucking idiot", "thank you all for a wonderful rally"),
        ("shut up you worthless bitch", "the stream is working fine now"),
        ("tu kutta hai harami", "jalsa bohat acha tha shukriya"),
        ("bakwas band kar ullu ke pathay", "hum sab aap ke saath hain"),
        ("تم حرامی کتے ہو", "جلسہ بہت اچھا تھا"),
    ]
    for bad, good in pairs:
        a, b = shipped.predict([bad, good])
        assert a.status == b.status == "ok"
        assert a.abusive is not None and b.abusive is not None
        assert a.abusive > 0.5 > b.abusive, (bad, a.abusive, good, b.abusive)
        assert a.model_version == shipped.version


# -- the portable format ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def small(sample: Sample) -> Model:
    model = fit_model(load_training_data(sample.data))
    model.version = "jalsa-default-test"
    return model


PROBE = ["tu kutta hai", "great speech", "تم گدھے ہو", "fuck off", "jalsa acha tha، بہت شاندار"]


def test_export_is_exact_and_reproducible(small: Model, tmp_path: Path) -> None:
    export_model(small, tmp_path / "a", {"metrics": {"x": 1}})
    export_model(small, tmp_path / "b", {})
    assert check_roundtrip(small, tmp_path / "a", PROBE) == 0.0
    for name in (ARRAYS, VOCABULARY):  # the same model gives the same bytes
        assert sha256(tmp_path / "a" / name) == sha256(tmp_path / "b" / name)
    loaded = load_portable(tmp_path / "a")
    assert loaded.version == "jalsa-default-test" and loaded.info["metrics"] == {"x": 1}
    assert [p.categories for p in loaded.predict(PROBE)] == [
        p.categories for p in small.predict(PROBE)
    ]


def test_a_damaged_model_is_refused_clearly(small: Model, tmp_path: Path) -> None:
    directory = tmp_path / "model"
    export_model(small, directory, {})
    with pytest.raises(UserError, match="no shipped moderation model"):
        load_portable(tmp_path / "nowhere")

    data = bytearray((directory / ARRAYS).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (directory / ARRAYS).write_bytes(bytes(data))
    with pytest.raises(UserError, match=r"does not match its sha256.*jalsa inbox train --data DIR"):
        load_portable(directory)

    export_model(small, directory, {})
    manifest = json.loads((directory / MANIFEST).read_text())
    (directory / MANIFEST).write_text(json.dumps({**manifest, "format": 99}))
    with pytest.raises(UserError, match="format 99"):
        load_portable(directory)
    (directory / MANIFEST).write_text("{not json")
    with pytest.raises(UserError, match="unreadable"):
        load_portable(directory)

    # Numbers that do not fit together (as a scikit-learn that rebuilt them differently would):
    # a clear error naming both versions, not a traceback.
    export_model(small, directory, {})
    manifest = json.loads((directory / MANIFEST).read_text())
    manifest["routes"]["english"]["preprocessor"] = "no-such-preprocessor"
    (directory / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(UserError, match=r"could not be rebuilt.*built with scikit-learn"):
        load_portable(directory)


def test_the_ship_command_builds_from_datasets(sample: Sample, tmp_path: Path) -> None:
    out = tmp_path / "default_model"
    result = CliRunner().invoke(
        model_app, ["train", "--data", str(sample.data), "--ship", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "shipped model jalsa-default-" in result.output and "bootstrap interval" in result.output
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["splits"]["ruhsold_validation"] == len(sample.roman_urdu_validation)
    assert set(manifest["intervals"]) == set(manifest["metrics"]) == set(manifest["baseline"])
    for interval in manifest["intervals"].values():
        low, high = interval["ours"]
        assert 0.0 <= low <= high <= 1.0
    assert load_portable(out).shipped

    result = CliRunner().invoke(
        model_app, ["train", "--ship", "--out", str(out)], env={"JALSA_DATASETS": ""}
    )
    assert result.exit_code != 0 and "no training data given" in result.output
