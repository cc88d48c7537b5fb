"""Regenerate the report screenshots in this folder from the bundled demo.

Run from the repository root (needs headless Chromium: Debian ``apt-get install chromium``, and
``fonts-noto-cjk`` for the Chinese report):

    PYTHONPATH=src python docs/screenshots/generate.py

It runs ``didstudy demo`` into a temporary folder and photographs ``report.html`` at 1280 px
wide: the top of the report and the sections named in ``SECTIONS``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
WIDTH, HEIGHT = 1280, 900
SECTIONS = {
    "report_top": "",
    "report_table3_baseline": "table3_baseline",
    "report_figure1_event_study": "figure1_event_study",
    "report_table5_robustness": "table5_robustness",
    "report_table7_mechanisms": "table7_mechanisms",
    "report_figure_timing": "figure_timing",
}
PROBE = """<script>window.addEventListener("load", function () {
  var out = [];
  document.querySelectorAll("section[id]").forEach(function (s) {
    out.push(s.id + ":" + Math.round(s.getBoundingClientRect().top + window.scrollY)); });
  document.body.setAttribute("data-tops", out.join(" "));
  document.body.setAttribute("data-height", String(document.documentElement.scrollHeight));
});</script>"""


def _chromium(browser: str, profile: Path, *args: str) -> str:
    command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
               f"--user-data-dir={profile}", "--virtual-time-budget=3000", *args]  # fmt: skip
    done = subprocess.run(command, check=True, capture_output=True, text=True, timeout=180)
    return done.stdout


def main() -> int:
    import re

    from PIL import Image

    browser = next(
        (shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)),
        None,
    )
    if browser is None:
        print("headless Chromium not found (apt-get install chromium)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report"
        profile = Path(tmp) / "profile"
        subprocess.run([sys.executable, "-m", "didstudy", "demo", "--out", str(out)], check=True)
        page = (out / "report.html").read_text(encoding="utf-8")
        probed = out / "probed.html"
        probed.write_text(page.replace("</body>", PROBE + "</body>"), encoding="utf-8")
        dom = _chromium(browser, profile, f"--window-size={WIDTH},{HEIGHT}", "--dump-dom",
                        probed.as_uri())  # fmt: skip
        tops = dict(re.findall(r"([\w-]+):(\d+)", re.search(r'data-tops="([^"]*)"', dom)[1]))
        total = int(re.search(r'data-height="(\d+)"', dom)[1])
        full = Path(tmp) / "full.png"
        _chromium(browser, profile, f"--window-size={WIDTH},{total}", f"--screenshot={full}",
                  (out / "report.html").as_uri())  # fmt: skip
        image = Image.open(full)
        for name, anchor in SECTIONS.items():
            top = int(tops[anchor]) - 16 if anchor else 0
            shot = image.crop((0, top, WIDTH, min(top + HEIGHT, image.height)))
            shot.save(HERE / f"{name}.png", optimize=True)
            print("wrote", HERE / f"{name}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
