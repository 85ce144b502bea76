"""`jalsa metrics`: the metric catalogue, what every number means and where it comes from."""

from __future__ import annotations

from jalsa.platforms.registry import CATALOGUE
from jalsa.terminal import console


def metrics_list() -> None:
    """Print the metric catalogue: what every number means and where it comes from."""
    for m in CATALOGUE:
        console.print(f"[bold]{m.name}[/bold] — {m.label} [{m.unit}, {m.kind.value}]")
        console.print(f"  {m.definition}", highlight=False)
        console.print(f"  source: {m.source}", style="dim", highlight=False)
