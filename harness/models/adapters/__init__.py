"""Model adapters: the built-in ones, found by convention (card `adapter: foo-bar` ->
`harness/models/adapters/foo_bar.py`), and those installed packages declare in the entry-point group
`harness.adapters` (`tiny = "tiny_plugin.encoders:TinyEncoder"`).

A built-in adapter module exposes `ADAPTER`; a declared entry point names the class itself. Either is an
`Encoder` subclass, optionally with a pydantic `Parameters` model that validates the card's `parameters`.
A new model family is one module (or one installed package) plus a card. A card names an adapter, never a
module: only what an installed package declared is ever imported, and only once a card (or a listing of
adapters) asks for it. A declared name equal to a built-in one never replaces it: the built-in wins; a name two
packages declare is refused. `harness list adapters` shows both clashes.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path

from harness.catalog.cards import ModelCard
from harness.core.errors import InputError
from harness.encode import Encoder, EncodeSettings, Family

ENTRY_POINT_GROUP = "harness.adapters"
BUILT_IN = "built-in"

_NOT_ADAPTERS = {"learned_sparse", "multivector", "xmod"}


@dataclass(frozen=True)
class PluginAdapter:
    """An adapter an installed distribution declares; `clash` says why a card naming it cannot get it (a
    built-in adapter has its name, or another package declares it too), None when it can."""

    entry_point: EntryPoint
    clash: str | None = None

    @property
    def name(self) -> str:
        return self.entry_point.name

    @property
    def package(self) -> str:
        """The distribution and its version, as pip lists them (`tiny-plugin 0.1`)."""
        dist = self.entry_point.dist
        return f"{dist.name} {dist.version}" if dist is not None else "an unnamed distribution"

    @property
    def origin(self) -> str:
        point = self.entry_point
        return f"package {self.package} (entry point {ENTRY_POINT_GROUP}: {point.name} = {point.value})"


def builtin_names() -> list[str]:
    """The adapter modules shipped in this package (the helper modules adapters share are not adapters)."""
    return sorted(
        module.name.replace("_", "-")
        for module in pkgutil.iter_modules([str(Path(__file__).parent)])
        if module.name not in _NOT_ADAPTERS
    )


def _clash(point: EntryPoint, points: list[EntryPoint], builtins: set[str]) -> str | None:
    """A built-in name always stays the built-in adapter; a name two packages declare is neither's, since which
    one `sys.path` lists first is no choice a user made."""
    if point.name in builtins:
        return "ignored: the built-in adapter of this name wins"
    others = [PluginAdapter(other).package for other in points if other.name == point.name and other is not point]
    return f"ambiguous: package {', '.join(others)} declares this name too" if others else None


def plugin_adapters() -> list[PluginAdapter]:
    """Every adapter installed packages declare, each with the clash (if any) that keeps cards from it."""
    builtins = set(builtin_names())
    points = list(entry_points(group=ENTRY_POINT_GROUP))
    return [PluginAdapter(point, _clash(point, points, builtins)) for point in points]


def adapter_names() -> list[str]:
    """Built-in and declared adapter names, sorted."""
    return sorted({*builtin_names(), *(plugin.name for plugin in plugin_adapters())})


def _declared(name: str) -> PluginAdapter:
    """The one declaration of a name that is not built-in; the known names when there is none."""
    declarations = [plugin for plugin in plugin_adapters() if plugin.name == name]
    if not declarations:
        raise InputError(f"unknown adapter {name!r}; known: {', '.join(adapter_names())}", key="adapter")
    if len(declarations) > 1:
        origins = "; ".join(plugin.origin for plugin in declarations)
        raise InputError(
            f"adapter {name!r} is declared by several packages ({origins}); uninstall all but one", key="adapter"
        )
    return declarations[0]


def adapter_origin(name: str, brief: bool = False) -> str:
    """Where adapter `name` comes from: `built-in`, or the package and entry point declaring it (`brief`:
    the package alone); found without importing it."""
    if name in builtin_names():
        return BUILT_IN
    plugin = _declared(name)
    return f"package {plugin.package}" if brief else plugin.origin


def _one_line(error: BaseException) -> str:
    message = " ".join(str(error).split())
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def _imported(plugin: PluginAdapter) -> tuple[type[Encoder], None] | tuple[None, str]:
    """The class a declaration names, imported now, or why it cannot serve as an adapter: one line, since a
    traceback would be in someone else's code."""
    try:
        loaded = plugin.entry_point.load()
    except Exception as error:
        return None, f"fails on import: {_one_line(error)}"
    if not (inspect.isclass(loaded) and issubclass(loaded, Encoder)):
        return None, "is not a subclass of harness.encode.Encoder"
    if inspect.isabstract(loaded):
        return None, f"does not define {', '.join(sorted(loaded.__abstractmethods__))} (it is abstract)"
    return loaded, None


def plugin_problem(plugin: PluginAdapter) -> str | None:
    """Why a declared adapter cannot be loaded (importing it to find out), None when it can."""
    return _imported(plugin)[1]


def _load_plugin(plugin: PluginAdapter) -> type[Encoder]:
    loaded, problem = _imported(plugin)
    if loaded is None:
        raise InputError(f"adapter from {plugin.origin} {problem}", key="adapter")
    return loaded


def adapter_class(name: str) -> type[Encoder]:
    """The adapter called `name`: a built-in module's `ADAPTER`, else the class a package declares."""
    if name in builtin_names():
        return importlib.import_module(f"harness.models.adapters.{name.replace('-', '_')}").ADAPTER
    return _load_plugin(_declared(name))


def card_adapter(card: ModelCard) -> type[Encoder]:
    """The adapter a card names; an unknown or broken one is reported with the card's file and key."""
    try:
        return adapter_class(card.adapter)
    except InputError as error:
        raise InputError(error.reason, path=card.path, key="adapter") from None


def card_family(card: ModelCard) -> Family:
    """The family of the model a card describes, from the card alone (no weights are loaded)."""
    return card_adapter(card).family_of(card)


def load_encoder(card: ModelCard, settings: EncodeSettings | None = None) -> Encoder:
    """Build the encoder a card describes; errors name the card file and the key at fault."""
    return card_adapter(card)(card, settings or EncodeSettings())


__all__ = [
    "BUILT_IN",
    "ENTRY_POINT_GROUP",
    "PluginAdapter",
    "adapter_class",
    "adapter_names",
    "adapter_origin",
    "builtin_names",
    "card_adapter",
    "card_family",
    "load_encoder",
    "plugin_adapters",
    "plugin_problem",
]
