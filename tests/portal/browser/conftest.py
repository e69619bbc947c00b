"""Real headless Chromium (Debian's package) driven by Playwright, against the live
gunicorn of tests/conftest.py. Vendor host names (*.test) resolve to 127.0.0.1 inside the
browser, so each vendor's portal is visited on its own host, cookies and all."""

import os
import shutil
import subprocess
from email import message_from_bytes
from pathlib import Path

import pytest

from tests.conftest import live_mail_dir
from tests.support.requirements import missing

# Playwright's sync API runs an event loop in this thread; the tests' own ORM calls are
# still plain synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

HERE = Path(__file__).resolve().parent
AXE = HERE / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = Path(__file__).resolve().parents[3] / "screenshots"  # git-ignored
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        missing(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--host-resolver-rules=MAP *.test 127.0.0.1"],
        )
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser):
    """`new_page(width=...)`: a page in a fresh browser context (its own cookies)."""
    contexts = []

    def make(width: int = 1280, height: int = 900, bypass_csp: bool = True):
        # axe-core is injected as a script, which the portal's CSP would refuse.
        context = browser.new_context(
            viewport={"width": width, "height": height}, bypass_csp=bypass_csp
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def axe_script() -> Path:
    """axe-core from the npm registry (pinned in package.json), installed on first use."""
    if not AXE.exists():
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--prefix", str(HERE)],
            check=True,
            capture_output=True,
            timeout=300,
        )
    return AXE


def axe_violations(page, axe_script: Path) -> list[dict]:
    page.add_script_tag(path=str(axe_script))
    result = page.evaluate(
        "async () => await axe.run(document, {runOnly: {type: 'tag', values: "
        "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"
    )
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"]][:5],
        }
        for v in result["violations"]
    ]


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
def mailbox():
    """Reads the emails the live server wrote (filebased backend), newest last."""
    directory = live_mail_dir()
    for old in directory.glob("*"):
        old.unlink()

    class Mailbox:
        def messages(self):
            found = []
            for path in sorted(directory.glob("*.log"), key=lambda p: p.stat().st_mtime):
                # One file per connection; messages are separated by a line of dashes.
                for chunk in path.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
                    if chunk.strip():
                        found.append(message_from_bytes(chunk.strip()))
            return found

    return Mailbox()
