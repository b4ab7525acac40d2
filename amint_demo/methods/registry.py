"""The method registry: each method module registers one `Method`; everything else enumerates it."""
from __future__ import annotations

from amint_demo.errors import InvalidConfig
from amint_demo.methods.base import Method

_METHODS: dict[str, Method] = {}


def register_method(cls: type[Method]) -> type[Method]:
    """Class decorator: add one instance of `cls` under `cls.name` (registration order is display order)."""
    if cls.name in _METHODS:
        raise ValueError(f"method {cls.name!r} is registered twice")
    _METHODS[cls.name] = cls()
    return cls


def list_methods() -> list[str]:
    """Method names in registration order (aMINT first, the plain model's loss threshold last)."""
    return list(_METHODS)


def get_method(name: str) -> Method:
    """The registered method called `name`, or InvalidConfig listing the known ones."""
    try:
        return _METHODS[name]
    except KeyError:
        raise InvalidConfig(f"unknown method {name!r}; known: {', '.join(_METHODS)}") from None


def method_rank(name: str) -> int:
    """Position of `name` in the registry (unknown names last): the order of tables and lists."""
    return list(_METHODS).index(name) if name in _METHODS else len(_METHODS)
