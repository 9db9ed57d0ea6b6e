"""Save the README's picture of the TUI: the demo's live queue, as an SVG made by Textual.

Run: python scripts/tui_screenshot.py [docs/tui-queue.svg]
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

from ronda.demo.app import DemoDesk, DemoSettings
from ronda.sla import SlaPolicy
from ronda.tui.app import RondaApp


async def shoot(demo: DemoDesk, target: Path) -> None:
    app = RondaApp(demo.store, "maria", policy=SlaPolicy.from_config(demo.config))
    async with app.run_test(size=(140, 40)) as pilot:
        for _ in range(100):  # until the first queue is on screen (bounded)
            await pilot.pause(0.1)
            if app.settled:
                break
        app.save_screenshot(str(target.name), str(target.parent))


def main() -> None:
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/tui-queue.svg").resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        demo = DemoDesk(Path(tmp), DemoSettings(round_seconds=1.0, listen="127.0.0.1:0"))
        demo.start()
        try:
            deadline = time.monotonic() + 60
            while not demo.driver.finished and time.monotonic() < deadline:
                time.sleep(0.5)
            asyncio.run(shoot(demo, target))
        finally:
            demo.stop()
    print(f"saved {target}")


if __name__ == "__main__":
    main()
