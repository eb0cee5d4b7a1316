"""The README's example runs as written, and its placeholders are filled."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).parent.parent / "README.md"


def test_readme_opens_with_the_two_commands() -> None:
    text = README.read_text(encoding="utf-8")
    head = text[: text.index("```python")]
    assert "make run" in head and "make test" in head


def test_readme_example_runs(capsys: object) -> None:
    text = README.read_text(encoding="utf-8")
    block = re.search(r"```python\n(.*?)```", text, re.S)
    assert block is not None
    code = block.group(1)
    assert len(code.strip().splitlines()) <= 12
    namespace: dict[str, object] = {}
    exec(compile(code, "README.md", "exec"), namespace)
    assert namespace["result"].summary()["planned"] == 2  # type: ignore[attr-defined]


def test_readme_has_no_unfilled_placeholders() -> None:
    text = README.read_text(encoding="utf-8")
    assert not re.search(r"^[A-Z_]{8,}$", text, re.M)


def test_readme_lists_every_setting_with_its_default() -> None:
    from service.settings import Settings

    text = README.read_text(encoding="utf-8")
    for name in Settings.model_fields:
        row = re.search(rf"^\| `SILKROUTE_{name.upper()}` \| ([^|]+) \|", text, re.M)
        assert row is not None, f"SILKROUTE_{name.upper()} is not in the README's settings table"
        assert row.group(1).strip()
