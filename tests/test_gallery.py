"""The page gallery (`make gallery OUT=dir`) works from a clone: a smoke run of a few rows. The full
gallery is for people to look at; it is not run here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import TEST_DATABASE_URL
from tests.support.served import CHROMIUM

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(
    bool(TEST_DATABASE_URL) or not CHROMIUM.exists(),
    reason="the gallery runs on SQLite with Debian's chromium (the SQLite pass of CI)",
)


def test_a_few_rows_give_pictures_and_mails(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "tools/gallery.py", "--out", str(tmp_path), "--only", "mandate", "--limit", "2"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    pictures = sorted(tmp_path.glob("*/*/*.png"))
    assert len(pictures) == 2 * 2 * 2, pictures  # 2 rows x 2 viewports x 2 languages
    assert all(p.stat().st_size > 10_000 for p in pictures)  # a rendered page, not a blank
    overview = (tmp_path / "nl" / "email" / "email-mandate-granted-high-risk.txt").read_text()
    assert "Jan de Vries" in overview and "Subject:" in overview
    assert "index.html" in done.stdout
