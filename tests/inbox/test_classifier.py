"""The moderation classifier: bad input, model files, training, adoption, reproducibility and
retraining with moderators' labels, all on the hand-written sample (tests/inbox/conftest.py).

The figures on the real datasets are a benchmark, not a test: `python
benchmarks/classifier_quality.py --data DIR` (benchmarks/RESULTS.md, docs/model-card.md).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jalsa.cli.inbox_model import model_app, read_labels
from jalsa.errors import UserError
from jalsa.inbox.classifier import STATUSES, Model, Prediction
from jalsa.inbox.model_files import CURRENT_FILE, load_model
from jalsa.inbox.training import (
    REQUIRED,
    fit_model,
    load_training_data,
    retrain,
    save_model,
    train,
)
from moderation_sample import Sample


@pytest.fixture(scope="module")
def trained(sample: Sample, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Model]:
    """`train` on the sample, as `jalsa inbox train --data DIR` does."""
    return train(sample.data, tmp_path_factory.mktemp("models"), baseline=True)


@pytest.fixture(scope="module")
def model(trained: tuple[Path, Model]) -> Model:
    return trained[1]


def test_training_reads_the_datasets_layout(sample: Sample) -> None:
    data = load_training_data(sample.data)
    assert len(data.roman_urdu[0]) == 42 and sum(data.roman_urdu[1]) == 22
    assert data.frozen_eval["ruhsold_validation"][0] == [
        r.text for r in sample.roman_urdu_validation
    ]
    assert len(data.english[0]) + len(data.frozen_eval["davidson_heldout"][0]) == 48
    assert sorted(set(data.roman_urdu_categories[1])) == [0, 1, 2, 3, 4]
    assert set(data.hashes) == {*REQUIRED, "urdu_script_set.tsv"}


def test_train_writes_adopts_and_records(trained: tuple[Path, Model]) -> None:
    path, model = trained
    assert path.name == f"{model.version}.joblib" and model.version.startswith("model-")
    assert (path.parent / CURRENT_FILE).read_text().strip() == path.name
    info = json.loads(path.with_suffix(".json").read_text())
    assert info["version"] == model.version
    assert set(info["metrics"]) == {"ruhsold_validation", "davidson_heldout", "urdu_script_test"}
    assert set(info["baseline"]) == set(info["metrics"])
    assert info["trained_with"]["scikit-learn"]
    assert not model.shipped and "trained model" in model.describe()


def test_the_model_learns_the_sample(model: Model, sample: Sample) -> None:
    """Held-out sentences (never trained on): abusive ones score higher than normal ones, in
    Roman Urdu and English; and obvious sentences on either side of each other."""
    data = load_training_data(sample.data)
    for name in ("ruhsold_validation", "davidson_heldout"):
        texts, labels = data.frozen_eval[name]
        scores = [p.abusive for p in model.predict(texts)]
        abusive = [s for s, y in zip(scores, labels, strict=True) if y and s is not None]
        normal = [s for s, y in zip(scores, labels, strict=True) if not y and s is not None]
        assert sum(abusive) / len(abusive) > sum(normal) / len(normal) + 0.05, name
    pairs = [
        ("you stupid idiot shut up", "thank you for the great speech"),
        ("tu gadha hai bakwas band kar", "jalsa bohat acha tha"),
        ("تم گدھے ہو", "جلسہ بہت اچھا تھا"),
    ]
    for bad, good in pairs:
        a, b = model.predict([bad, good])
        assert a.abusive is not None and b.abusive is not None
        assert a.abusive > b.abusive + 0.2, (bad, a.abusive, good, b.abusive)


def test_prediction_fields(model: Model) -> None:
    [p] = model.predict(["tu kutta hai"])
    assert isinstance(p, Prediction)
    assert p.status == "ok" and p.language == "roman_urdu"
    assert p.abusive is not None and 0.0 <= p.abusive <= 1.0
    assert p.categories["abusive"] == p.abusive
    assert {"hate", "sexism", "profanity"} <= set(p.categories)
    assert all(0.0 <= v <= 1.0 for v in p.categories.values())
    assert p.model_version == model.version


def test_bad_input_gets_a_status_per_item(model: Model) -> None:
    items: list[object] = [
        "",
        "   \n\t ",
        "x" * 100_000,
        "😂😂😂🔥",
        "12345 !!!",
        "jalsa acha tha، بہت شاندار",
        "تم گدھے ہو",
        None,
        42,
        b"\xff\xfe not utf-8",
        "lone surrogate \ud800 here",
        "Привет мир",
        "NUL\x00 and control \x07 characters, you idiot",
    ]
    predictions = model.predict(items)
    assert [p.status for p in predictions] == [
        "empty",
        "empty",
        "too_long",
        "emoji_only",
        "no_text",
        "ok",
        "ok",
        "invalid",
        "invalid",
        "invalid",
        "ok",
        "unsupported_script",
        "ok",
    ]
    assert all(p.status in STATUSES for p in predictions)
    assert predictions[5].language == "mixed" and predictions[6].language == "urdu"
    for p in predictions:
        assert (p.abusive is None) == (p.status not in ("ok", "too_long"))
        assert p.detail or p.status == "ok"


def test_huge_item_is_quick(model: Model) -> None:
    import time

    start = time.perf_counter()
    model.predict(["gaali " * 20_000] * 5)
    assert time.perf_counter() - start < 5.0


def test_a_failing_model_gives_error_status_not_exception(model: Model) -> None:
    broken = Model("broken", dict(model.routes), gate=object())  # no predict_proba
    [latin, urdu] = broken.predict(["you idiot", "تم گدھے ہو"])
    assert latin.status == "error" and "classifier failed" in latin.detail
    assert urdu.status == "ok"  # the other route still scored


def test_model_files(model: Model, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="jalsa inbox train"):
        load_model(tmp_path / "missing.joblib")
    with pytest.raises(UserError, match="no moderation model"):
        load_model(tmp_path)
    bad = tmp_path / "model-bad.joblib"
    bad.write_bytes(b"not a model")
    with pytest.raises(UserError, match="corrupt"):
        load_model(bad)

    path = save_model(model, tmp_path / "inbox" / "models")
    assert (path.parent / CURRENT_FILE).read_text().strip() == path.name
    loaded = load_model(data_dir=tmp_path)  # the team's model, not the shipped one
    assert loaded.version == model.version and not loaded.shipped
    texts = ["tu kutta hai", "great rally", "تم گدھے ہو"]
    assert [p.abusive for p in loaded.predict(texts)] == [p.abusive for p in model.predict(texts)]


def test_a_pickle_of_another_scikit_learn_is_refused_clearly(model: Model, tmp_path: Path) -> None:
    path = save_model(model, tmp_path)
    info = json.loads(path.with_suffix(".json").read_text())
    info["trained_with"]["scikit-learn"] = "0.24.2"
    path.with_suffix(".json").write_text(json.dumps(info))
    with pytest.raises(UserError, match=r"scikit-learn 0\.24\.2 .*jalsa inbox train --data DIR"):
        load_model(path)


def test_training_is_reproducible(
    sample: Sample, trained: tuple[Path, Model], tmp_path: Path
) -> None:
    path, first = trained
    again_path, again = train(sample.data, tmp_path, baseline=False)
    assert again_path.name == path.name  # the name is a hash of data, parameters, libraries
    assert again.info["metrics"] == first.info["metrics"]
    texts = [r.text for r in sample.roman_urdu_validation + sample.urdu]
    assert [p.abusive for p in again.predict(texts)] == [p.abusive for p in first.predict(texts)]


def test_retraining_is_adopted_only_if_not_worse(sample: Sample, tmp_path: Path) -> None:
    """Moderators label Urdu-script comments, which no training file has: right labels teach
    the Urdu-script route and are adopted; the same comments labelled the wrong way round make
    the frozen Urdu-script test split worse and are refused."""
    base = load_training_data(sample.data)
    current = fit_model(base)
    current.version = "model-current"
    good = [(r.text, r.abusive) for r in sample.urdu]
    bad = [(text, 1 - label) for text, label in good]

    accepted = retrain(base, good, None, current, out_dir=tmp_path)
    assert accepted.adopted, accepted.reasons
    frozen = {text for texts, _ in base.frozen_eval.values() for text in texts}
    assert accepted.model.info["moderator_labels"] == len([t for t, _ in good if t not in frozen])
    assert (tmp_path / CURRENT_FILE).read_text().strip() == accepted.path.name  # type: ignore[union-attr]
    check = "urdu_script_test"
    assert accepted.metrics[check]["macro_f1"] >= accepted.current_metrics[check]["macro_f1"]

    rejected = retrain(base, bad, None, current, out_dir=tmp_path)
    assert not rejected.adopted
    assert any(line.startswith(check) and "worse" in line for line in rejected.reasons)
    # The rejected candidate is kept on disk but the adopted model stays current.
    assert (tmp_path / CURRENT_FILE).read_text().strip() == accepted.path.name  # type: ignore[union-attr]
    assert load_model(tmp_path).version == accepted.model.version


def test_retraining_never_trains_on_a_frozen_item(sample: Sample, tmp_path: Path) -> None:
    base = load_training_data(sample.data)
    current = fit_model(base)
    frozen_text = base.frozen_eval["ruhsold_validation"][0][0]
    candidate = retrain(base, [(frozen_text, 1), ("", 1), ("  ", 0)], None, current)
    assert candidate.model.info["moderator_labels"] == 0 and candidate.path is None


# -- the commands -----------------------------------------------------------------------------


def _run(*args: str) -> str:
    result = CliRunner().invoke(model_app, list(args), env={"JALSA_DATASETS": ""})
    assert "Traceback" not in result.output
    return f"{result.exit_code}\n{result.output}"


def test_train_without_data_says_what_is_missing(tmp_path: Path) -> None:
    out = _run("train", "--out", str(tmp_path / "m"))
    assert not out.startswith("0\n") and "no training data given" in out and "--data" in out
    assert "github.com/haroonshakeel/roman_urdu_hate_speech" in out
    out = _run("train", "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "m"))
    assert not out.startswith("0\n") and "does not exist" in out
    out = _run("train", "--data", str(tmp_path), "--out", str(tmp_path / "m"))
    assert not out.startswith("0\n") and "training data missing" in out
    assert "davidson/labeled_data_dev.csv" in out
    out = _run("evaluate", "--data", str(tmp_path))
    assert not out.startswith("0\n") and "training data missing" in out
    assert not (tmp_path / "m").exists()


def test_train_reads_jalsa_datasets(sample: Sample, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        model_app,
        ["train", "--out", str(tmp_path), "--no-baseline"],
        env={"JALSA_DATASETS": str(sample.data)},
    )
    assert result.exit_code == 0, result.output
    assert "written to" in result.output and (tmp_path / CURRENT_FILE).is_file()


def test_bad_datasets_are_a_clear_error(sample: Sample, tmp_path: Path) -> None:
    import shutil

    data = tmp_path / "data"
    shutil.copytree(sample.data, data)
    (data / "ruhsold" / "task_1_train.tsv").write_text("no label on this line\n")
    out = _run("train", "--data", str(data), "--out", str(tmp_path / "m"))
    assert not out.startswith("0\n") and "without a tab-separated label" in out


def test_evaluate_command_prints_per_language_tables(
    sample: Sample, trained: tuple[Path, Model]
) -> None:
    path, _ = trained
    out = _run("evaluate", "--model", str(path), "--data", str(sample.data))
    assert out.startswith("0\n"), out
    for expected in ("ruhsold_validation", "davidson_heldout", "urdu_script_test", "roman_urdu"):
        assert expected in out
    assert "confusion" in out and "trained model" in out


def test_cli_evaluate_without_model(sample: Sample, tmp_path: Path) -> None:
    out = _run("evaluate", "--model", str(tmp_path / "none.joblib"), "--data", str(sample.data))
    assert not out.startswith("0\n") and "does not exist" in out


def test_moderator_labels_file(tmp_path: Path) -> None:
    labels = tmp_path / "labels.csv"
    labels.write_text(
        "text,label,language\n"
        "tu kutta hai,abuse,roman_urdu\n"
        "great rally,none,english\n"
        "buy followers,spam,english\n"
        "تم گدھے ہو,hate,urdu\n",
        encoding="utf-8",
    )
    assert read_labels(labels) == [("tu kutta hai", 1), ("great rally", 0), ("تم گدھے ہو", 1)]
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n")
    with pytest.raises(UserError, match="columns text and label"):
        read_labels(tmp_path / "bad.csv")


def test_retrain_command_with_labels(
    sample: Sample, trained: tuple[Path, Model], tmp_path: Path
) -> None:
    import shutil

    directory = tmp_path / "models"
    shutil.copytree(trained[0].parent, directory)
    labels = tmp_path / "labels.csv"
    rows = "".join(f'"{r.text}",{"abuse" if r.abusive else "none"}\n' for r in sample.urdu)
    labels.write_text("text,label\n" + rows, encoding="utf-8")
    out = _run(
        "train", "--data", str(sample.data), "--out", str(directory), "--labels", str(labels)
    )
    assert out.startswith("0\n"), out
    assert "urdu_script_test" in out and "adopted" in out
