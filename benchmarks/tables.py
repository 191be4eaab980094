"""Markdown tables for the benchmark scripts (no extra dependency such as ``tabulate``)."""

from __future__ import annotations

import pandas as pd


def to_markdown(frame: pd.DataFrame) -> str:
    """A markdown table of a small frame: floats to 4 significant digits (below 1e-6 as 0), others as text."""

    def cell(value: object) -> str:
        if isinstance(value, float):
            return f"{value:.4g}" if abs(value) >= 1e-6 else "0"
        return str(value)

    cols = [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)
