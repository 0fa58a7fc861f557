"""The engines' typed configuration: one dataclass per engine, every field with a commented default.

    @dataclass
    class Config(EngineConfig):
        error: ClassVar[type[Exception]] = MyInputError   # what a bad option raises
        epochs: int = 3                                   # one comment per option says what it does

    cfg = Config.from_dict({"epochs": 10})                # unknown names and wrong types raise `error`
    cfg = Config.from_dict(cfg, seed=2)                   # a copy with overrides
    cfg.to_dict()                                         # plain JSON-able dict (stored in artifacts)
"""
from __future__ import annotations

import copy
import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, ClassVar


def _kinds(hint) -> tuple:
    """The plain Python types a field annotation admits (None included for ``X | None``)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        out = ()
        for arg in typing.get_args(hint):
            out += _kinds(arg)
        return out
    if hint is type(None) or hint is None:
        return (type(None),)
    if origin is not None:
        return (origin,)
    return (hint,) if isinstance(hint, type) else (object,)


def _coerce(name: str, value, kinds: tuple, error):
    if object in kinds or isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds):
        return value
    if float in kinds and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if list in kinds and isinstance(value, tuple):
        return list(value)
    if int in kinds and isinstance(value, float) and value.is_integer():
        return int(value)
    wanted = " or ".join("null" if k is type(None) else k.__name__ for k in kinds)
    raise error(f"config: option {name!r} must be {wanted}, got {value!r}")


@dataclasses.dataclass
class EngineConfig:
    """Base class of the engines' configs (see the module docstring)."""

    error: ClassVar[type[Exception]] = ValueError

    @classmethod
    def from_dict(cls, d: Mapping | EngineConfig | None = None, **overrides):
        """A validated config from a mapping (or another config) plus keyword overrides."""
        if d is None:
            d = {}
        if isinstance(d, EngineConfig):
            d = d.to_dict()
        if not isinstance(d, Mapping):
            raise cls.error(f"config: expected a JSON object (mapping) of options, got {type(d).__name__}")
        merged = {**d, **overrides}
        hints = typing.get_type_hints(cls)
        known = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(merged) - set(known))
        if unknown:
            raise cls.error(f"unknown config option(s) {unknown}; known: {sorted(known)}")
        values = {k: _coerce(k, copy.deepcopy(v), _kinds(hints[k]), cls.error) for k, v in merged.items()}
        cfg = cls(**values)
        cfg.validate()
        return cfg

    def validate(self) -> None:
        """Cross-field and choice checks; subclasses raise ``self.error`` with a message naming the option."""

    def choice(self, name: str, allowed) -> None:
        if getattr(self, name) not in allowed:
            raise self.error(f"config: option {name!r} must be one of {sorted(allowed, key=str)}, "
                             f"got {getattr(self, name)!r}")

    def to_dict(self) -> dict:
        return copy.deepcopy(dataclasses.asdict(self))

    def replace(self, **changes):
        return type(self).from_dict(self, **changes)

    def __getitem__(self, name: str) -> Any:
        """Read access by name, for callers written against the older dict configs (``cfg["epochs"]``)."""
        if name not in {f.name for f in dataclasses.fields(self)}:
            raise KeyError(name)
        return getattr(self, name)
