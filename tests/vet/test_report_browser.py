"""The HTML report opened in headless Chromium: every plot renders with a size and its marks, and
the report printed to PDF keeps every entity row (pdftotext/pdftoppm from poppler-utils when present)."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

from .conftest import MEASURE, VetRun

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


def _driver(browser: str, driver_path: str, profile: str) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                 f"--user-data-dir={profile}", "--window-size=1280,900"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(driver_path), options=options)


def test_printed_report_keeps_every_entity_row(population_dir: Path, tmp_path: Path) -> None:
    """The entity table scrolls on screen; printed or saved as PDF, every row must still be there
    (40 entities: far taller than the screen's scroll box)."""
    browser, driver_path = _chromium()
    from pedqm.vet import vet_measure

    patients = sorted(f.stem for f in population_dir.glob("*.json") if f.stem != "organizations")
    listing = tmp_path / "attribution.csv"
    listing.write_text("patient,entity\n" + "".join(f"Patient/{p},clinic-{i % 40:02d}\n" for i, p in enumerate(patients)),
                       encoding="utf-8")
    result = vet_measure(MEASURE, str(population_dir), listing, min_n=3)
    entities = [e.entity for e in result.groups[0].entities]
    assert len(entities) == 40
    html = tmp_path / "report.html"
    html.write_text(result.to_html(), encoding="utf-8")
    profile = tempfile.mkdtemp(prefix="pedqm-chromium-")
    driver = _driver(browser, driver_path, profile)
    try:
        driver.get(html.resolve().as_uri())
        pdf = base64.b64decode(driver.execute_cdp_cmd("Page.printToPDF", {"printBackground": True})["data"])
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
    pdf_path = tmp_path / "report.pdf"
    pdf_path.write_bytes(pdf)
    assert pdf.startswith(b"%PDF")
    if shutil.which("pdftoppm"):  # the first page as an image, for a person to look at
        subprocess.run(["pdftoppm", "-f", "1", "-l", "1", "-png", "-r", "60", str(pdf_path), str(tmp_path / "page")],
                       check=True, timeout=120)
        assert list(tmp_path.glob("page-*1.png"))
    if not shutil.which("pdftotext"):
        assert pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages") >= 3  # the table alone spans pages
        return
    text = subprocess.run(["pdftotext", str(pdf_path), "-"], capture_output=True, text=True,
                          check=True, timeout=120).stdout
    text = re.sub(r"-\s+", "-", text)  # a name wrapped at its hyphen is still there
    missing = [e for e in entities if e not in text]
    assert not missing, f"entity rows cut from the printed report: {missing}"


