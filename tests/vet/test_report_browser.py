"""The HTML report opened in headless Chromium: every plot renders with a size and its marks."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from .conftest import VetRun

pytestmark = pytest.mark.browser

PLOTS = ("funnel", "caterpillar", "reliability-histogram", "strata", "calibration")


def _chromium() -> tuple[str, str]:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not browser or not driver:
        pytest.skip("headless Chromium not installed here (Debian packages chromium and chromium-driver; .ci/run installs them)")
    return browser, driver


def test_report_renders_its_plots(vet_run: VetRun) -> None:
    browser, driver_path = _chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = browser
    profile = tempfile.mkdtemp(prefix="pedqm-chromium-")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                 f"--user-data-dir={profile}", "--window-size=1280,900"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        driver.get(Path(vet_run.html).resolve().as_uri())
        assert "Measure vetting" in driver.title
        boxes = driver.execute_script("""
            return Array.from(document.querySelectorAll('svg.plot')).map(function (svg) {
              var r = svg.getBoundingClientRect();
              var marks = Array.from(svg.querySelectorAll('.mark')).filter(function (m) {
                var b = m.getBoundingClientRect(); return b.width > 0 || b.height > 0; }).length;
              return {plot: svg.dataset.plot, width: r.width, height: r.height, marks: marks};
            });""")
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
    rendered = {b["plot"]: b for b in boxes}
    for plot in PLOTS:
        assert plot in rendered, f"{plot} plot missing"
        box = rendered[plot]
        assert box["width"] > 100 and box["height"] > 100, f"{plot} plot has no size: {box}"
        assert box["marks"] > 0, f"{plot} plot drew no marks"
