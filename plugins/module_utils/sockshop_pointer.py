# Copyright: sockshop-incidents contributors
# Apache License 2.0

"""JSON pointers (RFC 6901) into Kubernetes objects, for the faults that change a field and the ledger that
restores it.

A fault addresses the field it changes by pointer: `/spec/template/spec/containers/0/resources/limits/cpu`.
Because container order is not something an incident file should depend on, a list segment may also name its
element by the value of its `name` key: `/spec/template/spec/containers/name=catalogue-db/resources/limits/cpu`.
`resolve()` turns that into the index it has in the live object, and the ledger records the resolved pointer.

The ledger records a field that does not exist as ABSENT, and `patch_ops()` writes a recorded value back as an
RFC 6902 JSON patch: `add` with the missing parents created, `replace`, or `remove` for ABSENT. jsonpatch (PyPI)
applies patches but neither resolves name segments nor builds missing parents, and the API server applies the
patch itself, so this small part is written here.
"""

from __future__ import annotations

from typing import Any

ABSENT = "<absent>"


class PointerError(ValueError):
    """A pointer that is malformed or does not lead anywhere in the object."""


def parse(pointer: str) -> list[str]:
    """The unescaped segments of a pointer; a dotted path (spec.replicas, the ledger's first format) is accepted."""
    if not pointer.startswith("/"):
        if not pointer or " " in pointer:
            raise PointerError(f"{pointer!r} is not a JSON pointer (it must start with '/')")
        return pointer.split(".")
    return [part.replace("~1", "/").replace("~0", "~") for part in pointer[1:].split("/")]


def render(parts: list[str]) -> str:
    return "".join("/" + part.replace("~", "~0").replace("/", "~1") for part in parts)


def _index(node: list[Any], part: str, pointer: str) -> int:
    if part.startswith("name="):
        wanted = part[len("name=") :]
        for index, item in enumerate(node):
            if isinstance(item, dict) and item.get("name") == wanted:
                return index
        names = ", ".join(str(i.get("name")) for i in node if isinstance(i, dict))
        raise PointerError(f"{pointer}: no element named {wanted!r} (names: {names or 'none'})")
    if not part.isdigit():
        raise PointerError(f"{pointer}: {part!r} is not a list index (a number, or name=<value>)")
    index = int(part)
    if index >= len(node):
        raise PointerError(f"{pointer}: index {index} is past the end of a list of {len(node)}")
    return index


def resolve(obj: Any, pointer: str) -> str:
    """The pointer with every name=<value> segment replaced by its index in `obj`.

    The path up to the last list may not be missing (a list element cannot be created by a fault); dict keys
    after it may be (the field is then absent, and a fault adds it)."""
    parts = parse(pointer)
    node = obj
    resolved = []
    for part in parts:
        if isinstance(node, list):
            index = _index(node, part, pointer)
            resolved.append(str(index))
            node = node[index]
        else:
            if part.startswith("name="):
                raise PointerError(f"{pointer}: {part!r} selects a list element, but the field there is not a list")
            resolved.append(part)
            node = node.get(part) if isinstance(node, dict) else None
    return render(resolved)


def get(obj: Any, pointer: str) -> Any:
    """The value at a resolved pointer, ABSENT when any step is missing."""
    node = obj
    for part in parse(pointer):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return ABSENT
    return node


def absent_root(obj: Any, pointer: str) -> str:
    """For a field that is ABSENT, the shallowest missing ancestor (itself when its parent exists): what the ledger
    records, so a restore removes exactly what the fault added - `resources/requests`, not an empty `requests: {}`
    left behind by removing `resources/requests/memory`."""
    parts = parse(pointer)
    for depth in range(1, len(parts) + 1):
        if get(obj, render(parts[:depth])) == ABSENT:
            return render(parts[:depth])
    return render(parts)


def patch_ops(obj: Any, pointer: str, value: Any) -> list[dict[str, Any]]:
    """The JSON patch that makes `get(obj, pointer) == value` (value ABSENT removes the field); [] when it holds."""
    before = get(obj, pointer)
    if before == value:
        return []
    parts = parse(pointer)
    pointer = render(parts)
    if value == ABSENT:
        return [{"op": "remove", "path": pointer}]
    node = obj
    for depth, part in enumerate(parts[:-1]):
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise PointerError(f"{pointer}: no element {part} in a list of {len(node)}")
            child = node[int(part)]
        else:
            child = node.get(part)
        if child is None:
            # Build the missing rest in one add: {"limits": {"cpu": "50m"}} under resources.
            built: Any = value
            for key in reversed(parts[depth + 1 :]):
                built = {key: built}
            return [{"op": "add", "path": render(parts[: depth + 1]), "value": built}]
        if not isinstance(child, (dict, list)):
            raise PointerError(f"{pointer}: {render(parts[: depth + 1])} holds {type(child).__name__}, not an object")
        node = child
    # replace for a field that exists (add would insert into a list), add for a new member of an object
    return [{"op": "add" if before == ABSENT else "replace", "path": pointer, "value": value}]
