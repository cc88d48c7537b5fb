"""Writes the small data files of the broken-spec corpus (run once; outputs are committed).

Command: .venv/bin/python tests/study/broken/_make_data.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent / "_data"


def main() -> None:
    rng = np.random.default_rng(7)
    cities = list("ABCDEFGH")
    cohorts = {"A": 2004, "B": 2004, "C": 2006, "D": 2006}
    rows = []
    for city in cities:
        for year in range(2001, 2009):
            g = cohorts.get(city, 0)
            treat = int(g > 0 and year >= g)
            rows.append(
                {
                    "city": city,
                    "year": year,
                    "treat": treat,
                    "cohort": g,
                    "population": float(rng.integers(1, 9)),
                    "x1": float(rng.normal()),
                    "y": float(0.5 * treat + rng.normal(0, 0.1)),
                }
            )
    panel = pd.DataFrame(rows)
    HERE.mkdir(exist_ok=True)
    panel.to_csv(HERE / "panel.csv", index=False)
    pd.concat([panel, panel.iloc[[3]]]).to_csv(HERE / "duplicates.csv", index=False)
    text = panel.assign(year=panel["year"].astype(str))
    text.loc[5, "year"] = "unknown"
    text.to_csv(HERE / "text_year.csv", index=False)
    words = panel.assign(treat=np.where(panel["treat"] == 1, "yes", "no"))
    words.to_csv(HERE / "treat_words.csv", index=False)
    two = panel.assign(treat=panel["treat"] * 2)
    two.to_csv(HERE / "treat_two.csv", index=False)
    chinese = panel.assign(city=panel["city"].map(lambda c: f"城市{c}"))
    (HERE / "gbk.csv").write_bytes(chinese.to_csv(index=False).encode("gbk"))
    (HERE / "empty.csv").write_bytes(b"")


if __name__ == "__main__":
    main()
