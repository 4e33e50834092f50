"""The compiled registry shipped in the package is exactly what the pinned compiler builds."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_shipped_artifact_matches_a_fresh_compile() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "compile.py"), "--check"], capture_output=True, text=True, cwd=ROOT
    )
    assert proc.returncode == 0, proc.stderr
    assert "up to date" in proc.stdout
