"""The README's library example runs as written and learns its toy task."""

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_example_runs_and_learns():
    text = README.read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, "README has no python example"
    code = blocks[0]
    assert len(code.strip().splitlines()) <= 13
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    accuracy = float(re.search(r"accuracy ([0-9.]+)", out.stdout).group(1))
    assert accuracy > 0.9, out.stdout


def test_readme_names_the_commands_ci_runs():
    text = README.read_text()
    ci = (README.parent / ".ci" / "run").read_text()
    assert "scripts/setup-tests.sh" in text and "scripts/setup-tests.sh" in ci
    assert "python -m pytest" in text and "python -m pytest" in ci
