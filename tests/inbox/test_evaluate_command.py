"""`jalsa inbox evaluate`: on the datasets folder's held-out splits and on any labelled file,
the model against baselines trained fresh on the same training splits, with intervals,
McNemar's test and the contamination line (a model trained on the hand-written sample; no test
needs the datasets)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jalsa.cli.inbox_model import model_app
from jalsa.inbox.classifier import Model
from jalsa.inbox.comparison import compare_file, contamination_lines
from jalsa.inbox.contamination import keys
from jalsa.inbox.labelled_file import read_labelled
from jalsa.inbox.training import load_training_data, train
from moderation_sample import Sample


@pytest.fixture(scope="module")
def trained(sample: Sample, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Model]:
    return train(sample.data, tmp_path_factory.mktemp("models"), baseline=False)


@pytest.fixture(scope="module")
def labelled_csv(sample: Sample, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The held-out Roman Urdu rows and the Urdu-script rows (in no training file), with words
    as labels and a language column."""
    path = tmp_path_factory.mktemp("files") / "comments.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["comment", "verdict", "lang"])
        for r in [*sample.roman_urdu_validation, *sample.urdu]:
            writer.writerow([r.text, "abusive" if r.abusive else "normal", r.language])
        writer.writerow(["a row with a missing label"])
    return path


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(model_app, list(args), env={"JALSA_DATASETS": ""})
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_evaluate_a_file_against_fresh_baselines(
    sample: Sample, trained: tuple[Path, Model], labelled_csv: Path, tmp_path: Path
) -> None:
    out_json = tmp_path / "eval.json"
    code, out = _run(
        "evaluate", "--data", str(labelled_csv), "--map", "label=verdict",
        "--model", str(trained[0]), "--train-data", str(sample.data), "--json", str(out_json),
    )  # fmt: skip
    assert code == 0, out
    assert "1 rows quarantined (first: line" in out
    for expected in ("comments.csv", "baseline", "tuned baseline", "gain vs", "McNemar p",
                     "b = ", "by the file's language column", "roman_urdu", "urdu"):  # fmt: skip
        assert expected in out, expected
    # a trained model records what it was trained on: none of the file's texts
    assert "0 of the" in out and "in the baselines' training splits" in out
    result = json.loads(out_json.read_text())
    block = result["sets"]["comments.csv"]
    n = len(sample.roman_urdu_validation) + len(sample.urdu)
    assert block["n"] == n and set(block["systems"]) == {"model", "baseline", "tuned_baseline"}
    assert set(block["against"]) == {"baseline", "tuned_baseline"}
    m = block["against"]["baseline"]["mcnemar"]
    assert 0 <= m["p"] <= 1 and m["b"] + m["c"] == m["discordant"]
    assert set(block["by_file_language"]) == {"roman_urdu", "urdu"}
    assert result["file"]["quarantined"] == 1 and result["file"]["columns"]["text"] == "comment"
    # the held-out rows are in no training split of the baselines
    assert result["contamination"]["comments.csv"]["in_baseline_training"] == 0
    assert result["baselines"]["C"]["baseline"] == {"roman_urdu": 1.0, "english": 1.0}
    assert result["baselines"]["dataset"] == "roman_urdu"  # most rows are Roman Urdu
    assert "scored with their roman_urdu model" in out


def test_a_file_without_train_data_is_scored_by_the_model_alone(
    trained: tuple[Path, Model], labelled_csv: Path
) -> None:
    code, out = _run(
        "evaluate",
        "--data",
        str(labelled_csv),
        "--map",
        "label=verdict",
        "--model",
        str(trained[0]),
    )
    assert code == 0, out
    assert "pass --train-data DIR" in out and "McNemar" not in out and "macro-F1" in out


def test_the_model_says_which_texts_it_was_trained_on(
    sample: Sample, trained: tuple[Path, Model], labelled_csv: Path
) -> None:
    model = trained[1]
    labelled = read_labelled(labelled_csv, ["label=verdict"])
    data = load_training_data(sample.data)
    # the model's training keys, plus two of the file's texts as if trained on them
    recorded = model.training_keys
    model.training_keys = keys([*data.roman_urdu[0], *labelled.texts[:2]])
    try:
        result = compare_file(model, labelled, None)
    finally:
        model.training_keys = recorded
    seen = result["contamination"]["comments.csv"]
    assert seen["in_model_training"] == 2 and result["baselines"] is None
    [line] = contamination_lines(result)
    assert f"2 of the {len(labelled.texts)} texts were in the model's training data" in line


def test_evaluate_the_datasets_folder_trains_the_baselines(
    sample: Sample, trained: tuple[Path, Model], tmp_path: Path
) -> None:
    out_json = tmp_path / "eval.json"
    code, out = _run(
        "evaluate", "--data", str(sample.data), "--model", str(trained[0]), "--json", str(out_json)
    )
    assert code == 0, out
    result = json.loads(out_json.read_text())
    assert set(result["sets"]) == {"ruhsold_validation", "davidson_heldout", "urdu_script_test"}
    for block in result["sets"].values():
        assert set(block["systems"]) == {"model", "baseline", "tuned_baseline"}
    assert result["baselines"]["removed_from_training"] == {
        "roman_urdu": 0, "english": 0, "roman_urdu_categories": 0,
    }  # fmt: skip
    assert "McNemar vs tuned baseline" in out and "contamination: ruhsold_validation" in out


def test_evaluate_refuses_bad_input_clearly(trained: tuple[Path, Model], tmp_path: Path) -> None:
    model = ["--model", str(trained[0])]
    numeric = tmp_path / "task.tsv"
    numeric.write_text("tu bura hai\t0\nacha hai\t1\n", encoding="utf-8")
    code, out = _run("evaluate", "--data", str(numeric), *model)
    assert code != 0 and "--abusive" in out and "'0': 1, '1': 1" in out
    binary = tmp_path / "image.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    code, out = _run("evaluate", "--data", str(binary), *model)
    assert code != 0 and "PNG image" in out
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    code, out = _run("evaluate", "--data", str(empty), *model)
    assert code != 0 and "is empty" in out
    code, out = _run("evaluate", *model)
    assert code != 0 and "--data FILE" in out
    code, out = _run("evaluate", "--data", str(numeric), "--abusive", "0", *model,
                     "--train-data", str(tmp_path / "nowhere"))  # fmt: skip
    assert code != 0 and "does not exist" in out
