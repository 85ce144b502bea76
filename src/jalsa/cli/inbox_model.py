"""`jalsa inbox train` and `jalsa inbox evaluate`: the moderation classifier's own commands.

Mounted under `jalsa inbox` by `jalsa.cli.inbox`; kept apart so the CLI of the inbox does not
import scikit-learn until one of these runs.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from jalsa.errors import UserError

model_app = typer.Typer(help="Train and evaluate the moderation classifier.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)

DataOption = Annotated[
    Path | None,
    typer.Option(
        "--data",
        envvar="JALSA_DATASETS",
        help="Folder with the datasets: ruhsold/ (github.com/haroonshakeel/"
        "roman_urdu_hate_speech) and davidson/ (github.com/t-davidson/"
        "hate-speech-and-offensive-language). Required; jalsa does not ship them.",
    ),
]

# Moderators' labels (`jalsa inbox labels`): these categories mean abusive language; "none" means
# acceptable; spam, personal data and off-topic say nothing about abuse and are not used.
ABUSIVE_LABELS = frozenset({"abuse", "harassment", "hate", "sexism", "abusive", "1"})
CLEAN_LABELS = frozenset({"none", "normal", "0"})


@contextmanager
def _user_errors() -> Iterator[None]:
    """One clear message and a non-zero exit for errors a user can cause, also when this app
    runs on its own (the main CLI does the same)."""
    try:
        yield
    except UserError as exc:
        err.print(f"[bold red]error:[/bold red] {exc}", highlight=False)
        raise typer.Exit(exc.exit_code) from None


def _models_dir(out: Path | None) -> Path:
    if out is not None:
        return out
    from jalsa.config import get_settings
    from jalsa.inbox.model_files import model_dir

    return model_dir(get_settings().data_dir)


def read_labels(path: Path) -> list[tuple[str, int]]:
    """(text, 1 = abusive) from a CSV with `text` and `label` columns."""
    if not path.is_file():
        raise UserError(f"labels file {path} does not exist (make one with `jalsa inbox labels`).")
    out: list[tuple[str, int]] = []
    try:
        with path.open(encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f)
            if not reader.fieldnames or not {"text", "label"} <= set(reader.fieldnames):
                raise UserError(f"{path} needs the columns text and label.")
            for row in reader:
                label = (row.get("label") or "").strip().lower()
                if label in ABUSIVE_LABELS:
                    out.append((row["text"], 1))
                elif label in CLEAN_LABELS:
                    out.append((row["text"], 0))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise UserError(f"cannot read labels file {path}: {exc}") from None
    return out


@model_app.command("train")
def train(
    data: DataOption = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Model folder (default: DATA_DIR/inbox/models).")
    ] = None,
    labels: Annotated[
        Path | None,
        typer.Option(
            "--labels",
            help="Moderators' labels (CSV from `jalsa inbox labels`): retrain with them and adopt "
            "the new model only if it is not worse on any frozen evaluation set.",
        ),
    ] = None,
    baseline: Annotated[
        bool, typer.Option(help="Also train and evaluate the TF-IDF baseline.")
    ] = True,
    tolerance: Annotated[
        float,
        typer.Option(
            help="With --labels: macro-F1 a frozen set may lose and still count as not worse "
            "(0: strict; one item of RUHSOLD's 801 moves it by about 0.001)."
        ),
    ] = 0.0,
    ship: Annotated[
        bool,
        typer.Option(
            "--ship",
            help="For jalsa's maintainers: build the model that ships inside the package "
            "(portable format, written to src/jalsa/inbox/default_model or --out).",
        ),
    ] = False,
) -> None:
    """Train the moderation classifier (fixed seeds: the same data gives the same model).

    The model is written to DATA_DIR/inbox/models and adopted (CURRENT): from then on it
    replaces the model that ships with jalsa."""
    with _user_errors():
        from jalsa.inbox import training

        if ship:
            _ship(training.check_data(data), out, labels)
            return
        directory = _models_dir(out)
        if labels is not None:
            _retrain(training, data, directory, read_labels(labels), tolerance)
            return
        with console.status("training (about 2 minutes on one core)..."):
            path, model = training.train(data, directory, baseline=baseline)
        console.print(f"model {model.version} written to {path}", highlight=False)
        _print_metrics(model.info["metrics"], model.info.get("baseline"))


def _ship(data: Path, out: Path | None, labels: Path | None) -> None:
    if labels is not None:
        raise UserError("--ship builds from the datasets alone: drop --labels.")
    from jalsa.inbox import ship, shipped

    directory = out or shipped.SHIPPED_DIR
    with console.status("training and evaluating the shipped model (about 3 minutes)..."):
        built = ship.build(data, directory)
    console.print(
        f"shipped model {built['version']} written to {directory}: "
        f"{built['bytes'] / 1e6:.1f} MB, loads in {built['load_seconds']:.2f} s",
        highlight=False,
    )
    _print_metrics(built["metrics"], built["baseline"])
    for name, result in built["intervals"].items():
        console.print(
            f"  {name}: 95% bootstrap interval ours {result['ours']}, baseline "
            f"{result['baseline']}, difference {result['difference']}",
            highlight=False,
        )


def _retrain(
    training: Any,
    data: Path | None,
    directory: Path,
    extra: list[tuple[str, int]],
    tolerance: float,
) -> None:
    from jalsa.inbox.model_files import current_model_path, load_model
    from jalsa.inbox.shipped import load_shipped

    base = training.load_training_data(data)
    # The model to beat: the team's adopted one, else the one jalsa ships.
    current = load_model(directory) if current_model_path(directory) else load_shipped()
    with console.status(f"retraining with {len(extra):,} moderators' labels..."):
        candidate = training.retrain(
            base, extra, None, current, out_dir=directory, tolerance=tolerance
        )
    for line in candidate.reasons:
        console.print(f"  {line}", highlight=False)
    verdict = "adopted" if candidate.adopted else "NOT adopted (worse on a frozen set)"
    console.print(f"candidate {candidate.model.version}: {verdict}", highlight=False)


EvalDataOption = Annotated[
    Path | None,
    typer.Option(
        "--data",
        envvar="JALSA_DATASETS",
        help="A labelled file (CSV, TSV, JSONL; RUHSOLD's header-less TSV) to score, or the "
        "datasets folder (ruhsold/, davidson/) to score its held-out splits.",
    ),
]


@model_app.command("evaluate")
def evaluate(
    data: EvalDataOption = None,
    mapping: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            help="For a file: FIELD=COLUMN, fields text, label and language (repeat). Without "
            "it, common column names are used (text, tweet, comment_text...; label, class...).",
        ),
    ] = None,
    abusive: Annotated[
        str | None,
        typer.Option(
            "--abusive",
            help="For a file: the label values that mean abusive, comma-separated (e.g. 0 for "
            "RUHSOLD task 1, 0,1 for Davidson). Needed when the labels are numbers.",
        ),
    ] = None,
    model: Annotated[
        Path | None,
        typer.Option(
            "--model",
            help="Model file or folder (default: the team's adopted model, else the shipped one).",
        ),
    ] = None,
    train_data: Annotated[
        Path | None,
        typer.Option(
            "--train-data",
            envvar="JALSA_DATASETS",
            help="For a file: the datasets folder the baselines are trained from (the same "
            "training splits as the shipped model). Without it a file is scored by the model "
            "alone.",
        ),
    ] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write everything to this JSON file.")
    ] = None,
) -> None:
    """The model against the TF-IDF baselines (plain, and tuned by cross-validation), both
    trained fresh on the same training splits and scored on the same items: macro-F1 with 95%
    bootstrap intervals, the gain's interval, McNemar's test, and how many items the model was
    trained on. On a labelled file, or the datasets folder's held-out splits."""
    with _user_errors():
        from jalsa.inbox import comparison, training
        from jalsa.inbox.labelled_file import read_labelled
        from jalsa.inbox.model_files import load_model

        if data is None:
            raise UserError(
                "say what to evaluate on: --data FILE (a labelled CSV, TSV or JSONL) or "
                "--data DIR (the datasets folder; also JALSA_DATASETS)"
            )
        if data.is_dir():
            training.check_data(data)  # before the model: the likelier mistake, said first
            labelled = None
        else:
            labelled = read_labelled(data, mapping or [], abusive)
            if train_data is not None:
                training.check_data(train_data)
        loaded = load_model(model)
        console.print(f"model: {loaded.describe()}", highlight=False)
        with console.status("evaluating...") as status:

            def progress(message: str) -> None:
                status.update(message)

            if labelled is None:
                result = comparison.compare_held_out(loaded, data, progress)
            else:
                console.print(labelled.summary(), highlight=False)
                result = comparison.compare_file(loaded, labelled, train_data, progress)
        _print_comparison(result)
        if labelled is not None and train_data is None:
            console.print(
                "baselines: not trained; pass --train-data DIR (the datasets folder, or set "
                "JALSA_DATASETS) to train and compare them on the same training splits",
                highlight=False,
            )
        if json_out is not None:
            json_out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")


def _interval(system: dict[str, Any]) -> str:
    low, high = system["interval"]
    return f"{system['macro_f1']:.3f} [{low:.3f}, {high:.3f}]"


def _gain(against: dict[str, Any]) -> str:
    low, high = against["interval"]
    return f"{against['difference']:+.3f} [{low:+.3f}, {high:+.3f}]"


def _comparison_table(title: str, blocks: list[tuple[str, dict[str, Any]]]) -> Table:
    others = list(blocks[0][1]["against"])
    table = Table(title=title, title_justify="left")
    for column in ("language", "n", "precision", "recall"):
        table.add_column(column, justify="left" if column == "language" else "right")
    table.add_column("macro-F1 [95%]", justify="right", style="bold")
    for name in others:
        table.add_column(f"{name.replace('_', ' ')} [95%]", justify="right")
    for name in others:
        table.add_column(f"gain vs {name.replace('_', ' ')}", justify="right")
        table.add_column("McNemar p", justify="right")
    for lang, block in blocks:
        ours = block["systems"]["model"]
        row = [lang, f"{block['n']:,}", _fmt(ours["abusive"]["precision"]),
               _fmt(ours["abusive"]["recall"]), _interval(ours)]  # fmt: skip
        row += [_interval(block["systems"][name]) for name in others]
        for name in others:
            row += [_gain(block["against"][name]), f"{block['against'][name]['mcnemar']['p']:.3g}"]
        table.add_row(*row)
    return table


def _print_comparison(result: dict[str, Any]) -> None:
    """Per set: a table of the model and the baselines overall and per language route, the
    model's confusion matrix, McNemar's counts; then the contamination lines."""
    from jalsa.inbox.comparison import contamination_lines

    for name, res in result["sets"].items():
        title = f"{name} (abusive = positive class; precision and recall of the model)"
        blocks = [("all", res), *res["by_language"].items()]
        console.print(_comparison_table(title, blocks))
        if res.get("by_file_language"):
            blocks = list(res["by_file_language"].items())
            console.print(_comparison_table(f"{name} by the file's language column", blocks))
        (tn, fp), (fn, tp) = res["systems"]["model"]["confusion"]
        console.print(
            f"  model's confusion (rows true, columns predicted): normal→normal {tn:,}  "
            f"normal→abusive {fp:,}  abusive→normal {fn:,}  abusive→abusive {tp:,}",
            highlight=False,
        )
        for other, against in res["against"].items():
            m = against["mcnemar"]
            console.print(
                f"  McNemar vs {other.replace('_', ' ')}: model right where it is wrong "
                f"b = {m['b']:,}, the reverse c = {m['c']:,}, exact two-sided p = {m['p']:.3g}",
                highlight=False,
            )
            permutation = against.get("permutation")
            if permutation:
                console.print(
                    f"  macro-F1 difference vs {other.replace('_', ' ')}: "
                    f"{permutation['difference']:+.4f}, paired permutation test p = "
                    f"{permutation['p']:.3g} ({permutation['permutations']:,} shuffles)",
                    highlight=False,
                )
    if result.get("baselines"):
        chosen = result["baselines"]["C"].get("tuned_baseline", {})
        dataset = result["baselines"].get("dataset")
        console.print(
            "  baselines trained fresh on the training splits"
            + (f", scored with their {dataset} model" if dataset else "")
            + "; the tuned one's C by 5-fold cross-validation: "
            + ", ".join(f"{k} {v:g}" for k, v in chosen.items()),
            highlight=False,
        )
    for line in contamination_lines(result):
        console.print(f"contamination: {line}", highlight=False)


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _print_metrics(metrics: dict[str, Any], baseline: dict[str, Any] | None) -> None:
    """One table per held-out set: overall and per language, ours and the baseline's macro-F1,
    then the confusion matrix."""
    for name, result in metrics.items():
        table = Table(title=f"{name} (abusive = positive class)", title_justify="left")
        for column in ("language", "n", "precision", "recall", "F1 abusive", "F1 normal"):
            table.add_column(column, justify="right" if column != "language" else "left")
        table.add_column("macro-F1", justify="right", style="bold")
        table.add_column("baseline macro-F1", justify="right")
        base = (baseline or {}).get(name, {})
        rows: list[tuple[str, dict[str, Any], dict[str, Any]]] = [("all", result, base)]
        rows += [
            (lang, r, base.get("by_language", {}).get(lang, {}))
            for lang, r in result["by_language"].items()
        ]
        for lang, r, b in rows:
            get: Callable[[str], Any] = r["abusive"].get
            table.add_row(
                lang,
                f"{r['n']:,}",
                _fmt(get("precision")),
                _fmt(get("recall")),
                _fmt(get("f1")),
                _fmt(r["normal"]["f1"]),
                _fmt(r["macro_f1"]),
                _fmt(b.get("macro_f1")),
            )
        console.print(table)
        (tn, fp), (fn, tp) = result["confusion"]
        console.print(
            f"  confusion (rows true, columns predicted): normal→normal {tn:,}  "
            f"normal→abusive {fp:,}  abusive→normal {fn:,}  abusive→abusive {tp:,}",
            highlight=False,
        )
