"""The report in a real browser: headless Chromium prints it to PDF (`--print-to-pdf`) and
the PDF is read back with poppler's pdfinfo and pdftotext; a screenshot shows the charts."""

from __future__ import annotations

import struct
import subprocess
import zlib
from dataclasses import replace
from pathlib import Path

from browser import pdf_pages, pdf_text, print_to_pdf, screenshot
from report_desk import AFTER, build

from ronda.reports.period import Month
from ronda.reports.run import write_reports


def test_chromium_prints_the_report_to_a_clean_pdf(tmp_path: Path) -> None:
    config, store = build(tmp_path)
    try:
        (page,) = write_reports(
            config,
            store,
            Month(2026, 11),
            out=tmp_path / "out",
            customers=["Ana Pérez"],
            lang="en",
            now=AFTER,
        )
    finally:
        store.close()
    pdf = print_to_pdf(page, tmp_path / "report.pdf", tmp_path / "profile")
    pages = pdf_pages(pdf)
    assert 1 < pages <= 4, pages  # A4, print CSS: a few pages, not one endless strip
    text = " ".join(pdf_text(pdf).split())
    for shown in (
        "Monthly report: November 2026",
        "Ana Pérez",
        "Hosting Andino",
        "99.71 %",  # tienda-ana
        "R-1001",
        "1 h 15 min",
        "overdue",  # (wrapped in its column)
        "Security certificate expires",
        "Times in America/Bogota",
    ):
        assert shown in text, shown
    assert "<script>alert('x')" in text  # shown as text, not run
    assert "hunter2" not in text
    assert "file://" not in text  # no header or footer with the file's address


def test_chromium_screenshot_of_the_report(tmp_path: Path) -> None:
    config, store = build(tmp_path)
    try:
        (page,) = write_reports(
            config, store, Month(2026, 11), out=tmp_path, customers=["Luis Gómez"], now=AFTER
        )
    finally:
        store.close()
    png = screenshot(page, tmp_path / "report.png", tmp_path / "profile")
    data = png.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1100, 1400)


def _png(path: Path, width: int = 40, height: int = 20) -> Path:
    """A small solid PNG, written by hand."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = b"".join(b"\0" + b"\x22\x55\x88" * width for _ in range(height))
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )
    return path


def test_weasyprint_writes_the_pdf_next_to_the_html(tmp_path: Path) -> None:
    config, store = build(tmp_path)
    logo = _png(tmp_path / "logo.png")
    config = replace(config, reports=replace(config.reports, logo=logo))
    try:
        paths = write_reports(
            config,
            store,
            Month(2026, 11),
            out=tmp_path / "out",
            customers=["Luis Gómez"],
            pdf=True,
            now=AFTER,
        )
    finally:
        store.close()
    html, pdf = paths
    assert pdf == html.with_suffix(".pdf") and pdf.read_bytes().startswith(b"%PDF-")
    assert pdf_pages(pdf) >= 1
    text = " ".join(pdf_text(pdf).split())
    assert "Monthly report: November 2026" in text and "99.93 %" in text  # web-luis
    images = subprocess.run(
        ["pdfimages", "-list", str(pdf)], capture_output=True, text=True, timeout=30, check=True
    ).stdout.splitlines()[2:]
    assert len(images) == 1 and images[0].split()[3:5] == ["40", "20"]  # the inlined logo
