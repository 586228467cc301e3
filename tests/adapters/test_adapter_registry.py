"""The registry is the one list of adapters; adding a product is one module plus one line in it."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest
from pydantic import ValidationError

import jairouter
import jairouter.adapters
from jairouter.adapters.registry import ADAPTERS, capabilities
from jairouter.config.models import Config, InstanceConfig
from jairouter.types import ServiceType

SRC = Path(jairouter.__file__).parent
DOCS = SRC.parent.parent / "docs" / "adapters.md"


def adapter_classes() -> dict[str, type]:
    """Every class in the adapters package that implements the adapter contract, by module."""
    found = {}
    for info in pkgutil.iter_modules(jairouter.adapters.__path__):
        module = importlib.import_module(f"jairouter.adapters.{info.name}")
        for obj in vars(module).values():
            if (
                inspect.isclass(obj)
                and obj.__module__ == module.__name__
                and all(callable(getattr(obj, m, None)) for m in ("prepare", "translator"))
                and isinstance(getattr(obj, "name", None), str)
            ):
                found[module.__name__] = obj
    return found


def test_the_table_lists_every_adapter_in_order() -> None:
    assert list(ADAPTERS) == ["openai", "vllm", "gpustack", "xinference", "localai", "ollama"]
    assert all(factory.name == name for name, factory in ADAPTERS.items())


def test_every_adapter_module_is_registered() -> None:
    classes = adapter_classes()
    assert sorted(classes.values(), key=id) == sorted(ADAPTERS.values(), key=id)
    assert all(module.endswith(cls.name) for module, cls in classes.items())  # one module each


def test_capabilities() -> None:
    caps = capabilities()
    assert caps.pop("ollama") == {ServiceType.CHAT, ServiceType.COMPLETION, ServiceType.EMBEDDING}
    assert caps == dict.fromkeys(caps, frozenset(ServiceType))


@pytest.mark.parametrize("name", list(ADAPTERS))
def test_every_factory_builds_an_adapter_from_config_alone(name: str) -> None:
    adapter = ADAPTERS[name](InstanceConfig(model="m", url="http://h:1", adapter=name))
    for method in ("prepare", "translator", "translate_error"):
        assert callable(getattr(adapter, method))
    assert adapter.name == name
    assert adapter.services == capabilities()[name]


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_nothing_outside_the_adapters_package_names_an_adapter_module() -> None:
    adapter_modules = set(adapter_classes())
    for path in SRC.rglob("*.py"):
        if path.parent.name == "adapters" and path.parent.parent == SRC:
            continue
        named = imported_modules(path) & adapter_modules
        assert not named, f"{path.relative_to(SRC)} imports {named}: go through the registry"


def test_inside_the_package_only_the_registry_and_subclasses_import_adapter_modules() -> None:
    classes = adapter_classes()
    for path in (SRC / "adapters").glob("*.py"):
        module = f"jairouter.adapters.{path.stem}"
        if path.stem == "registry":
            assert imported_modules(path) >= set(classes)
            continue
        for named in imported_modules(path) & set(classes):
            assert module in classes, f"{module} is no adapter, yet imports {named}"
            assert issubclass(classes[module], classes[named]), f"{module} imports {named}"


def test_config_validation_uses_the_capabilities() -> None:
    data = {
        "services": {
            "rerank": {
                "instances": [{"model": "bge", "url": "http://h:11434", "adapter": "ollama"}]
            }
        }
    }
    with pytest.raises(ValidationError, match="cannot serve rerank"):
        Config.model_validate(data, context={"adapters": capabilities()})
    data["services"]["rerank"]["instances"][0]["adapter"] = "vllm"
    Config.model_validate(data, context={"adapters": capabilities()})


def test_the_docs_describe_every_adapter() -> None:
    text = DOCS.read_text()
    for name in ADAPTERS:
        assert f"| `{name}` |" in text, f"docs/adapters.md has no table row for {name}"
