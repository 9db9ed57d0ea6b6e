"""A real headless Chromium (Debian package `chromium`) for the tests that open what Ronda
writes for people: print to PDF, take a screenshot. Each run has its own profile folder
and no network beyond the file it opens."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

CHROMIUM_TIMEOUT = 120  # seconds: a cold start on a loaded machine is slow


def chromium() -> str:
    """The browser's path; a missing one fails the test (scripts/test installs it)."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    raise AssertionError("chromium is not installed (Debian package 'chromium'; scripts/test)")


def run_chromium(page: Path, profile: Path, *flags: str) -> subprocess.CompletedProcess:
    profile.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",  # root in CI containers
            "--disable-gpu",
            "--disable-extensions",
            "--no-first-run",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            *flags,
            page.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=CHROMIUM_TIMEOUT,
        check=False,
    )


def print_to_pdf(page: Path, pdf: Path, profile: Path) -> Path:
    done = run_chromium(page, profile, "--no-pdf-header-footer", f"--print-to-pdf={pdf}")
    assert pdf.is_file() and pdf.stat().st_size > 0, done.stderr[-2000:]
    return pdf


def screenshot(page: Path, png: Path, profile: Path, width: int = 1100, height: int = 1400) -> Path:
    done = run_chromium(page, profile, f"--window-size={width},{height}", f"--screenshot={png}")
    assert png.is_file() and png.stat().st_size > 0, done.stderr[-2000:]
    return png


def pdf_pages(pdf: Path) -> int:
    info = subprocess.run(
        ["pdfinfo", str(pdf)], capture_output=True, text=True, timeout=30, check=True
    ).stdout
    line = next(line for line in info.splitlines() if line.startswith("Pages:"))
    return int(line.split()[1])


def pdf_text(pdf: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
