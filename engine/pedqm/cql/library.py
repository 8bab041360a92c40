"""Compiling CQL libraries and evaluating their definitions (the engine's front door).

`LibraryManager` finds included libraries by name and version (never by URL: published
packages disagree on canonicals), parses, resolves and compiles each once, and reports every
syntax and semantic error of a library together.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Mapping
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

from . import ast
from .compiler import CompiledLibrary
from .context import EvaluationContext
from .convert import from_python
from .errors import CqlCompileError, CqlError, SourceError
from .parser import parse_expression, parse_library
from .resolver import ResolvedLibrary, Resolver

SourceLookup = Callable[[str, "str | None"], "tuple[str, str] | None"]
"""(name, version) -> (cql text, display name for errors), or None when unknown."""


def directory_lookup(*dirs: Path | str) -> SourceLookup:
    """Find `Name.cql` or `Name-version.cql` in the given directories."""

    def find(name: str, version: str | None) -> tuple[str, str] | None:
        for d in dirs:
            base = Path(d)
            candidates = [base / f"{name}-{version}.cql"] if version else []
            candidates += [base / f"{name}.cql"]
            candidates += sorted(base.glob(f"{name}-*.cql"))
            for c in candidates:
                if c.is_file():
                    return c.read_text(encoding="utf-8"), str(c)
        return None

    return find


ModelLoader = Callable[[str, "str | None"], Any]
"""(model name, version) -> the data model (see resolver.DataModel), for `using` declarations."""

_DEFAULT_MODELS: list[ModelLoader] = []


def set_default_model_loader(loader: ModelLoader) -> None:
    """The data models a LibraryManager uses when none is given. The CQL engine knows no data
    model itself: the FHIR layer installs its loader (FHIR, QI-Core, US Core model info) when
    pedqm is imported (see pedqm/composition.py)."""
    _DEFAULT_MODELS[:] = [loader]


def _default_model(name: str, version: str | None) -> Any:
    if not _DEFAULT_MODELS:
        raise CqlError(f"no data model is available for `using {name}`: give LibraryManager(models=...)")
    return _DEFAULT_MODELS[0](name, version)


def builtin_library(name: str, version: str | None) -> tuple[str, str] | None:
    """Libraries pedqm ships (e.g. ChronicConditions), found when a package does not carry them."""
    folder = resources.files("pedqm").joinpath("cql_libraries")
    candidates = [f"{name}-{version}.cql"] if version else []
    candidates.append(f"{name}.cql")
    for filename in candidates:
        f = folder.joinpath(filename)
        if f.is_file():
            text = f.read_text(encoding="utf-8")
            return text, f"pedqm:{filename}"
    return None


class LibraryManager:
    """Compiles libraries and the libraries they include, each once."""

    def __init__(self, lookup: SourceLookup | None = None, *, strict_versions: bool = True,
                 models: ModelLoader | None = None):
        self.lookup = lookup
        self.models = models or _default_model
        # A measure package is one unit: when it ships one version of a library and an include
        # asks for another (packages assembled from several releases do), the package's version
        # is used and the substitution is recorded in `warnings`. Elsewhere versions must match.
        self.strict_versions = strict_versions
        self.warnings: list[str] = []
        self.registry: dict[str, CompiledLibrary] = {}
        self._resolved: dict[tuple[str, str | None], ResolvedLibrary] = {}
        self._loading: set[tuple[str, str | None]] = set()

    def _load_resolved(self, name: str, version: str | None) -> ResolvedLibrary:
        key = (name, version)
        if key in self._resolved:
            return self._resolved[key]
        for (n, _v), lib in self._resolved.items():
            if n == name and version is None:
                return lib
        if key in self._loading:
            raise CqlError(f"circular include of library {name}")
        found = self.lookup(name, version) if self.lookup else None
        if found is None:
            found = builtin_library(name, version)
        if found is None:
            raise CqlError(f"library {name}{' version ' + repr(version) if version else ''} not found")
        text, display = found
        self._loading.add(key)
        try:
            resolved = self.resolve(text, display)
        finally:
            self._loading.discard(key)
        if version and resolved.version and resolved.version != version:
            if self.strict_versions:
                raise CqlError(f"library {name} has version {resolved.version!r}, not {version!r}")
            self.warnings.append(f"an include asks for library {name} version {version!r}; "
                                 f"the only version available, {resolved.version!r}, is used")
        self._resolved[key] = resolved
        return resolved

    def resolve(self, text: str, source_name: str = "<library>") -> ResolvedLibrary:
        tree = parse_library(text, source_name)
        return self.resolve_ast(tree, text, source_name)

    def resolve_ast(self, tree: ast.Library, text: str, source_name: str) -> ResolvedLibrary:
        resolver = Resolver(tree, text, source_name, self._load_resolved, self.models)
        resolved = resolver.resolve_library()
        if resolver.errors:
            raise CqlCompileError(resolver.errors)
        return resolved

    def compile(self, text: str, source_name: str = "<library>") -> Library:
        try:
            resolved = self.resolve(text, source_name)
            return Library(CompiledLibrary(resolved, self.registry))
        except RecursionError:
            # a chain of hundreds of definitions or functions each calling the next: the
            # parser bounds one expression's nesting, not the depth across definitions
            raise CqlCompileError([SourceError(
                "definitions or functions refer to one another too deeply to compile (a chain of several "
                "hundred, or a cycle)", 1, 1, source_name, "")]) from None

    def compile_file(self, path: Path | str) -> Library:
        p = Path(path)
        if self.lookup is None:
            self.lookup = directory_lookup(p.parent)
        return self.compile(p.read_text(encoding="utf-8"), str(p))


class Library:
    """A compiled library: evaluate its definitions for an evaluation request."""

    def __init__(self, compiled: CompiledLibrary):
        self.compiled = compiled

    @property
    def name(self) -> str | None:
        return self.compiled.name

    @property
    def version(self) -> str | None:
        return self.compiled.version

    @property
    def definitions(self) -> list[str]:
        return self.compiled.definition_names

    def context(
        self,
        parameters: Mapping[str, Any] | None = None,
        now: _dt.datetime | None = None,
        timezone_offset: Decimal | float | int | None = None,
        **kw: Any,
    ) -> EvaluationContext:
        ctx = EvaluationContext.create(now=now, timezone_offset=timezone_offset, **kw)
        if parameters:
            values = {k: from_python(v) for k, v in parameters.items()}
            ctx.parameters[self.compiled.key] = values
            ctx.parameters["*"] = values  # included libraries declaring the same name see it too
        return ctx

    def evaluate(self, name: str, ctx: EvaluationContext | None = None, **context_kw: Any) -> Any:
        """The value of definition `name` (raises CqlRuntimeError on a CQL run-time error)."""
        if name not in self.compiled.definition_names:
            raise CqlError(f"library {self.name or '<anonymous>'} has no definition {name!r}")
        ctx = ctx or self.context(**context_kw)
        return self.compiled.evaluate_definition(name, ctx)

    def call(self, function: str, args: list[Any], ctx: EvaluationContext) -> Any:
        """Call one of the library's functions with run-time values."""
        return self.compiled.call_function(function, args, ctx)

    def evaluate_all(self, ctx: EvaluationContext | None = None, **context_kw: Any) -> dict[str, Any | CqlError]:
        """Every definition's value; a definition that fails gives its error, the rest still run."""
        ctx = ctx or self.context(**context_kw)
        out: dict[str, Any] = {}
        for name in self.definitions:
            try:
                out[name] = self.compiled.evaluate_definition(name, ctx)
            except CqlError as exc:
                out[name] = exc
        return out


def compile_library(source: str | Path, lookup: SourceLookup | None = None) -> Library:
    """Compile CQL from text, or from a `.cql` file path (includes are looked up beside it)."""
    if isinstance(source, Path) or (isinstance(source, str) and source.endswith(".cql") and "\n" not in source and Path(source).is_file()):
        return LibraryManager(lookup).compile_file(source)
    return LibraryManager(lookup).compile(str(source))


def compile_expression(text: str, parameter_names: list[str] | None = None) -> Library:
    """A one-definition library for a standalone expression (used by `evaluate`)."""
    expr = parse_expression(text)
    tree = ast.Library(None, None)
    for name in parameter_names or []:
        tree.parameters.append(ast.ParameterDef(name, None, None))
    tree.statements.append(ast.ExpressionDef("$expression", expr, None))
    manager = LibraryManager()
    resolved = manager.resolve_ast(tree, text, "<expression>")
    return Library(CompiledLibrary(resolved, manager.registry))
