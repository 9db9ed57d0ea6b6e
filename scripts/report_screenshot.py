"""Save the README's picture of a monthly report: the tests' sample desk (a known November
of two customers), rendered and photographed by headless Chromium, as a PNG under docs/.

Run: python scripts/report_screenshot.py [docs/report.png]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # the tests' sample desk and browser helpers

from browser import screenshot  # noqa: E402
from report_desk import AFTER, build  # noqa: E402

from ronda.reports.period import Month  # noqa: E402
from ronda.reports.run import write_reports  # noqa: E402


def main() -> None:
    target = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "docs" / "report.png").resolve()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        config, store = build(folder)
        try:
            (page,) = write_reports(
                config,
                store,
                Month(2026, 11),
                out=folder / "out",
                customers=["Ana Pérez"],
                lang="en",
                now=AFTER,
            )
        finally:
            store.close()
        screenshot(page, target, folder / "profile", width=1100, height=1500)
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
