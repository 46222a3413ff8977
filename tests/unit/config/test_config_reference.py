"""The README's configuration reference is what docs/gen_config_reference.py prints now."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from wardstream.config.settings import Settings

ROOT = Path(__file__).resolve().parents[3]


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "gen_config_reference", ROOT / "docs/gen_config_reference.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_reference_is_up_to_date() -> None:
    gen = _generator()
    assert gen.current_section((ROOT / "README.md").read_text()) == gen.reference(), (
        "README.md's configuration reference is stale: "
        "run python docs/gen_config_reference.py --write"
    )


def test_every_setting_is_in_the_reference_with_its_environment_variable() -> None:
    text = _generator().reference()
    for section, field in Settings.model_fields.items():
        model = field.annotation
        for name, sub in getattr(model, "model_fields", {}).items():
            inner = getattr(sub.annotation, "model_fields", None)  # a section in a section
            for key in [f"{name}.{n}" for n in inner] if inner else [name]:
                assert f"`{section}.{key}`" in text
                env = key.upper().replace(".", "__")
                assert f"`WARDSTREAM__{section.upper()}__{env}`" in text
