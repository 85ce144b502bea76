"""What a conversation measure and a stage are, and their SQL rendered for a run: stages as
CTEs (or read from the tables `analyze` keeps), parameters as SQL literals (numbers and words,
or small tables of them as `Rows`) put in by sqlglot, never by pasting user text into SQL."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import sqlglot
from sqlglot import exp


@dataclass(frozen=True)
class Stage:
    """A relation several measures start from (totals per minute, per account, ...), defined
    once. `analyze` keeps each stage it needs as a table for the length of the run, so the
    posts are read for it once; a measure rendered on its own gets its stages as CTEs."""

    name: str
    sql: str
    params: dict[str, Any] = field(default_factory=dict)  # defaults
    needs: tuple[Stage, ...] = ()

    @property
    def defaults(self) -> dict[str, Any]:
        return defaults_of(self.needs, self.params)


@dataclass(frozen=True)
class Measure:
    name: str
    title: str
    definition: str
    sql: str
    params: dict[str, Any] = field(default_factory=dict)  # defaults of its own
    needs: tuple[Stage, ...] = ()

    @property
    def stages(self) -> list[Stage]:
        """The stages the measure reads, each after the stages it reads."""
        return stages_of(self.needs)

    @property
    def defaults(self) -> dict[str, Any]:
        """Every parameter of the measure and its stages, with its default."""
        return defaults_of(self.needs, self.params)


def defaults_of(needs: tuple[Stage, ...], params: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for stage in stages_of(needs):
        values.update(stage.params)
    return {**values, **params}


def stages_of(needs: tuple[Stage, ...]) -> list[Stage]:
    ordered: list[Stage] = []
    for stage in needs:
        for earlier in [*stages_of(stage.needs), stage]:
            if earlier not in ordered:
                ordered.append(earlier)
    return ordered


@dataclass(frozen=True)
class Rows:
    """A parameter that is a small table (spikes, voices): rendered as a VALUES body of
    quoted literals; no rows gives one row of NULLs, which matches nothing."""

    width: int
    rows: tuple[tuple[str | int | float, ...], ...]

    def sql(self) -> str:
        if not self.rows:
            return "(" + ", ".join(["NULL"] * self.width) + ")"
        return ", ".join(
            "(" + ", ".join(_literal(v).sql("duckdb") for v in row) + ")" for row in self.rows
        )


def _literal(value: Any) -> exp.Expression:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise TypeError(f"a parameter must be a number or text, not {value!r}")
    return exp.Literal.string(value) if isinstance(value, str) else exp.Literal.number(value)


def render(measure: Measure, kept: Collection[str] = (), **overrides: Any) -> str:
    """The measure's SQL with its parameters as literals, its stages as CTEs except those
    `kept` as tables (which then have their default parameters)."""
    inlined = [s for s in measure.stages if s.name not in kept]
    for stage in measure.stages:
        changed = set(overrides) & set(stage.params)
        if stage.name in kept and changed:
            raise ValueError(f"{sorted(changed)} change stage {stage.name}, which is kept")
    body = measure.sql.strip()
    if inlined:
        ctes = ",\n".join(f"{s.name} AS ({s.sql})" for s in inlined)
        own = body[len("WITH ") :] if body.upper().startswith("WITH ") else None
        body = f"WITH {ctes},\n{own}" if own else f"WITH {ctes}\n{body}"
    return _with_literals(body, {**measure.defaults, **overrides})


def render_stage(stage: Stage, **given: Any) -> str:
    """The stage's SQL with its default parameters (and those `given` by the run, such as
    the voices); the stages it reads must be kept."""
    return _with_literals(stage.sql, {**stage.defaults, **given})


def _with_literals(sql: str, values: dict[str, Any]) -> str:
    text = sql.format(**{k: v.sql() if isinstance(v, Rows) else f"${k}" for k, v in values.items()})
    tree = sqlglot.parse_one(text, read="duckdb")

    def literal(node: exp.Expression) -> exp.Expression:
        return _literal(values[node.name]) if isinstance(node, exp.Placeholder) else node

    return tree.transform(literal).sql(dialect="duckdb")


def sql_list(values: list[str]) -> str:
    return ", ".join(_literal(v).sql("duckdb") for v in values)
