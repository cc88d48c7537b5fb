"""report.html in a real browser: headless Chromium decodes every figure and shows every table.

Skipped (with the reason printed) when Chromium is not installed; CI's .ci/run installs it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from didstudy.report.html import build_html_report
from tests.report.fixtures.report import report_parts

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")
BROWSER_TIMEOUT_S = 90  # cold start of Chromium on a busy 2-core machine

# Appended to a copy of the report (the product itself carries no script): after load, record
# how many images decoded and how many tables exist as attributes that --dump-dom prints.
PROBE = """
<script>
window.addEventListener("load", function () {
  var images = Array.prototype.slice.call(document.images);
  var decoded = images.filter(function (i) { return i.complete && i.naturalWidth > 0; });
  var body = document.body;
  body.setAttribute("data-images-total", String(images.length));
  body.setAttribute("data-images-decoded", String(decoded.length));
  var tables = document.querySelectorAll("table.didstudy-table");
  body.setAttribute("data-tables", String(tables.length));
  var banner = document.getElementById("simulated-banner");
  body.setAttribute("data-banner-height", String(banner ? banner.offsetHeight : 0));
  var missing = Array.prototype.slice.call(document.querySelectorAll("nav a")).filter(
    function (a) { return !document.getElementById(a.getAttribute("href").slice(1)); });
  body.setAttribute("data-broken-links", String(missing.length));
  document.title = "probe-done";
});
</script>
"""


def _chromium() -> str | None:
    for candidate in CHROMIUM_CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    return None


def _run(browser: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        *args,
    ]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=BROWSER_TIMEOUT_S, check=False
    )


@pytest.mark.browser
def test_report_renders_in_chromium(tmp_path: Path) -> None:
    """The Chinese report (the harder case: CJK text in the page and in the figures)."""
    lang = "zh"
    browser = _chromium()
    if browser is None:
        print("chromium not found: apt-get install chromium to run the browser test")
        pytest.skip("headless Chromium is not installed (apt-get install chromium)")
    sections, meta = report_parts(lang)
    report = build_html_report(sections, meta, tmp_path / "report.html")
    probed = tmp_path / "probed.html"
    probed.write_text(
        report.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8"
    )
    result = _run(
        browser,
        tmp_path / "profile",
        "--virtual-time-budget=5000",
        "--dump-dom",
        probed.as_uri(),
    )
    dom = result.stdout
    assert "probe-done" in dom, result.stderr[-2000:]

    def attribute(name: str) -> int:
        match = re.search(rf'{name}="(\d+)"', dom)
        assert match, f"{name} missing from the dumped DOM"
        return int(match.group(1))

    assert attribute("data-images-total") == 2
    assert attribute("data-images-decoded") == 2
    assert attribute("data-tables") == 3 + 3  # 3 result tables + cohorts, dropped, manifest
    assert attribute("data-banner-height") > 0
    assert attribute("data-broken-links") == 0

    shot = tmp_path / f"report_{lang}.png"
    result = _run(
        browser,
        tmp_path / "profile",
        f"--screenshot={shot}",
        "--window-size=1200,3000",
        report.as_uri(),
    )
    assert shot.is_file() and shot.stat().st_size > 10_000, result.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
