"""Label and field selectors as the apiserver parses and applies them.

Label selectors
    ``parse_label_selector`` reads the query-string form (``a=b,c!=d,e in (x,y),f notin (z),g,!h,n>3``);
    ``label_selector_from_spec`` reads a ``metav1.LabelSelector`` dict (workload ``spec.selector``);
    ``label_selector_from_map`` reads a Service ``spec.selector`` map.

    Choices, all following Kubernetes: an empty or absent query matches everything; a ``LabelSelector``
    spec of ``None`` matches nothing while ``{}`` matches everything (``metav1.LabelSelectorAsSelector``);
    a Service selector that is ``None`` or empty matches nothing (such a Service gets no endpoints).

Field selectors
    ``parse_field_selector`` reads ``f=v,g==w,h!=x`` (backslash escapes ``\\``, ``\\,`` and ``\\=``); every field
    must be in ``allowed`` (each resource's ``field_selectors`` in :mod:`kubesim.resources`). A missing
    field reads as ``""``, so ``spec.nodeName=`` matches unscheduled pods, as in Kubernetes.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from kubesim.names import field_error, validate_label_key, validate_label_value


class SelectorError(ValueError):
    """A selector that cannot be parsed or is not allowed; the message suits a 400 BadRequest Status."""


# ---------------------------------------------------------------------------------------------- label selectors

EQUALS = "="
NOT_EQUALS = "!="
IN = "in"
NOT_IN = "notin"
EXISTS = "exists"
DOES_NOT_EXIST = "!"
GREATER_THAN = "gt"
LESS_THAN = "lt"

_SPEC_OPERATORS = {"In": IN, "NotIn": NOT_IN, "Exists": EXISTS, "DoesNotExist": DOES_NOT_EXIST}


@dataclass(frozen=True)
class Requirement:
    """One term of a label selector; ``values`` is sorted and deduplicated for set operators."""

    key: str
    operator: str
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        if self.operator in (EQUALS, IN):
            return present and value in self.values
        if self.operator in (NOT_EQUALS, NOT_IN):
            return not present or value not in self.values
        if self.operator == EXISTS:
            return present
        if self.operator == DOES_NOT_EXIST:
            return not present
        # gt / lt: both sides must be integers.
        try:
            have, want = int(str(value)), int(self.values[0])
        except (TypeError, ValueError):
            return False
        return present and (have > want if self.operator == GREATER_THAN else have < want)

    def __str__(self) -> str:
        if self.operator == EXISTS:
            return self.key
        if self.operator == DOES_NOT_EXIST:
            return "!" + self.key
        if self.operator in (EQUALS, NOT_EQUALS):
            return f"{self.key}{self.operator}{self.values[0]}"
        if self.operator == GREATER_THAN:
            return f"{self.key}>{self.values[0]}"
        if self.operator == LESS_THAN:
            return f"{self.key}<{self.values[0]}"
        return f"{self.key} {self.operator} ({','.join(self.values)})"


def _requirement(key: str, operator: str, values: Collection[str] = ()) -> Requirement:
    """Validate like ``labels.NewRequirement`` and normalise the value set."""
    errs = [field_error("key", key, msg) for msg in validate_label_key(key)]
    vals = list(values)
    if operator in (IN, NOT_IN) and not vals:
        errs.append("for 'in', 'notin' operators, values set can't be empty")
    if operator in (EQUALS, NOT_EQUALS) and len(vals) != 1:
        errs.append("exact-match compatibility requires one single value")
    if operator in (EXISTS, DOES_NOT_EXIST) and vals:
        errs.append("values set must be empty for exists and does not exist")
    if operator in (GREATER_THAN, LESS_THAN):
        if len(vals) != 1:
            errs.append("for 'Gt', 'Lt' operators, exactly one value is required")
        else:
            try:
                int(vals[0])
            except ValueError:
                errs.append(f"for 'Gt', 'Lt' operators, the value must be an integer: {vals[0]!r}")
    else:
        for i, val in enumerate(vals):
            errs.extend(field_error(f"values[{i}][{key}]", val, msg) for msg in validate_label_value(val))
    if errs:
        raise SelectorError("unable to parse requirement: " + "; ".join(errs))
    return Requirement(key, operator, tuple(sorted(set(vals))))


@dataclass(frozen=True)
class LabelSelector:
    """An immutable label selector. ``nothing=True`` is the selector that matches no object at all."""

    requirements: tuple[Requirement, ...] = ()
    nothing: bool = False

    @property
    def empty(self) -> bool:
        """True when the selector matches everything."""
        return not self.requirements and not self.nothing

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        if self.nothing:
            return False
        have = labels or {}
        return all(req.matches(have) for req in self.requirements)

    def __str__(self) -> str:
        return ",".join(str(req) for req in self.requirements)


def _selector(reqs: list[Requirement]) -> LabelSelector:
    return LabelSelector(tuple(sorted(reqs, key=lambda r: r.key)))


_SPECIAL = "=!(),<>"


def _tokens(text: str) -> Iterator[str]:
    """Split a label selector into tokens: operators, parentheses, commas and identifiers."""
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            i += 1
        elif text.startswith(("!=", "=="), i):
            yield text[i : i + 2]
            i += 2
        elif ch in _SPECIAL:
            yield ch
            i += 1
        else:
            start = i
            while i < len(text) and not text[i].isspace() and text[i] not in _SPECIAL:
                i += 1
            yield text[start:i]


def _is_ident(tok: str | None) -> bool:
    return tok is not None and tok not in ("=", "==", "!=", "!", "(", ")", ",", "<", ">")


def parse_label_selector(text: str | None) -> LabelSelector:
    """Parse the ``labelSelector`` query form; ``None`` or blank matches everything."""
    if text is None or not text.strip():
        return LabelSelector()
    toks = list(_tokens(text))
    pos = 0

    def peek() -> str | None:
        return toks[pos] if pos < len(toks) else None

    def take() -> str | None:
        nonlocal pos
        tok = peek()
        pos += 1
        return tok

    def fail(expected: str) -> SelectorError:
        found = toks[pos - 1] if 0 < pos <= len(toks) else ""
        return SelectorError(f"unable to parse selector {text!r}: found '{found}', expected: {expected}")

    reqs: list[Requirement] = []
    while True:
        tok = take()
        if tok == "!":
            key = take()
            if not _is_ident(key) or key in (IN, NOT_IN):
                raise fail("identifier after '!'")
            assert key is not None
            reqs.append(_requirement(key, DOES_NOT_EXIST))
        elif _is_ident(tok) and tok not in (IN, NOT_IN):
            assert tok is not None
            key = tok
            op = peek()
            if op is None or op == ",":
                reqs.append(_requirement(key, EXISTS))
            elif op in ("=", "==", "!="):
                take()
                nxt = peek()
                value = ""
                if _is_ident(nxt):
                    value = take() or ""
                elif nxt not in (None, ","):
                    take()
                    raise fail("identifier")
                reqs.append(_requirement(key, NOT_EQUALS if op == "!=" else EQUALS, [value]))
            elif op in (IN, NOT_IN):
                take()
                if take() != "(":
                    raise fail("'('")
                values: list[str] = []
                expect_value = True
                while True:
                    item = take()
                    if item == ")":
                        if expect_value and values:
                            values.append("")
                        break
                    if item == ",":
                        if expect_value:
                            values.append("")
                        expect_value = True
                    elif _is_ident(item) and expect_value:
                        assert item is not None
                        values.append(item)
                        expect_value = False
                    else:
                        raise fail("',', ')' or identifier")
                reqs.append(_requirement(key, op, values))
            elif op in (">", "<"):
                take()
                number = take()
                if number is None or not _is_ident(number):
                    raise fail("integer")
                reqs.append(_requirement(key, GREATER_THAN if op == ">" else LESS_THAN, [number]))
            else:
                take()
                raise fail("'=', '!=', '==', 'in', 'notin'")
        else:
            raise fail("'!' or identifier")
        sep = take()
        if sep is None:
            return _selector(reqs)
        if sep != ",":
            raise fail("',' or 'end of string'")


def label_selector_from_spec(spec: Mapping[str, Any] | None) -> LabelSelector:
    """A ``metav1.LabelSelector``: ``None`` matches nothing, ``{}`` matches everything."""
    if spec is None:
        return LabelSelector(nothing=True)
    if not isinstance(spec, Mapping):
        raise SelectorError(f"invalid label selector: expected an object, got {type(spec).__name__}")
    reqs: list[Requirement] = []
    match_labels = spec.get("matchLabels") or {}
    if not isinstance(match_labels, Mapping):
        raise SelectorError("invalid label selector: matchLabels must be a map of strings")
    for key, value in match_labels.items():
        reqs.append(_requirement(str(key), EQUALS, [str(value)]))
    expressions = spec.get("matchExpressions") or []
    if not isinstance(expressions, list):
        raise SelectorError("invalid label selector: matchExpressions must be a list")
    for expr in expressions:
        if not isinstance(expr, Mapping):
            raise SelectorError("invalid label selector: each matchExpressions item must be an object")
        operator = expr.get("operator")
        if operator not in _SPEC_OPERATORS:
            raise SelectorError(f'"{operator}" is not a valid label selector operator')
        values = expr.get("values") or []
        if not isinstance(values, list):
            raise SelectorError("invalid label selector: values must be a list of strings")
        reqs.append(_requirement(str(expr.get("key", "")), _SPEC_OPERATORS[operator], [str(v) for v in values]))
    return _selector(reqs)


def label_selector_from_map(sel: Mapping[str, str] | None) -> LabelSelector:
    """A Service ``spec.selector``: equality on every pair; ``None`` or ``{}`` matches nothing."""
    if not sel:
        return LabelSelector(nothing=True)
    return _selector([_requirement(str(k), EQUALS, [str(v)]) for k, v in sel.items()])


def selector_from_spec_or_error(spec: Any) -> tuple[LabelSelector | None, str | None]:
    """Validation helper: ``(selector, None)`` when ``spec`` is a valid LabelSelector, else ``(None, message)``."""
    try:
        return label_selector_from_spec(spec), None
    except SelectorError as exc:
        return None, str(exc)


def selector_to_string(spec: Mapping[str, Any] | None) -> str:
    """The ``SELECTOR`` column of a workload: ``app=web``, ``app in (a,b)``, ``<none>`` or ``<error>``."""
    if spec is None:
        return "<none>"
    try:
        text = str(label_selector_from_spec(spec))
    except SelectorError:
        return "<error>"
    return text or "<none>"


def format_labels(labels: Mapping[str, str] | None) -> str:
    """A label map as ``a=b,c=d`` sorted by key (Service ``SELECTOR``, ``LABELS`` columns); ``<none>`` when empty."""
    if not labels:
        return "<none>"
    return ",".join(f"{k}={labels[k]}" for k in sorted(labels))


# ---------------------------------------------------------------------------------------------- field selectors


def field_value(obj: Mapping[str, Any], path: str) -> str:
    """The string value of a dotted field path; missing (or non-scalar) reads as ``""``, booleans as true/false."""
    cur: Any = obj
    for part in path.split("."):
        if not isinstance(cur, Mapping) or part not in cur:
            return ""
        cur = cur[part]
    if isinstance(cur, bool):
        return "true" if cur else "false"
    if isinstance(cur, str | int | float):
        return str(cur)
    return ""


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")


def _unescape(value: str, text: str) -> str:
    out: list[str] = []
    chars = iter(value)
    for ch in chars:
        if ch != "\\":
            out.append(ch)
            continue
        nxt = next(chars, None)
        if nxt not in ("\\", ",", "="):
            raise SelectorError(f"invalid field selector: {text!r}: invalid escape sequence")
        out.append(nxt)
    return "".join(out)


def _split_unescaped(text: str, sep: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    escaped = False
    for ch in text:
        if escaped:
            current.append(ch)
            escaped = False
        elif ch == "\\":
            current.append(ch)
            escaped = True
        elif ch == sep:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


def _split_term(term: str) -> tuple[str, str, str] | None:
    escaped = False
    for i, ch in enumerate(term):
        if escaped:
            escaped = False
            continue
        if ch == "\\":
            escaped = True
            continue
        for op in ("!=", "==", "="):
            if term.startswith(op, i):
                return term[:i], op, term[i + len(op) :]
    return None


@dataclass(frozen=True)
class FieldRequirement:
    field: str
    operator: str  # "=" or "!="
    value: str

    def __str__(self) -> str:
        return f"{self.field}{self.operator}{_escape(self.value)}"


@dataclass(frozen=True)
class FieldSelector:
    """An immutable field selector: every requirement must hold."""

    requirements: tuple[FieldRequirement, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.requirements

    def matches(self, obj: Mapping[str, Any]) -> bool:
        for req in self.requirements:
            equal = field_value(obj, req.field) == req.value
            if equal != (req.operator == "="):
                return False
        return True

    def exact(self, field: str) -> str | None:
        """The value ``field`` must equal, if the selector pins it (``metadata.name=x`` for a single-object watch)."""
        for req in self.requirements:
            if req.field == field and req.operator == "=":
                return req.value
        return None

    def __str__(self) -> str:
        return ",".join(str(req) for req in self.requirements)


def parse_field_selector(text: str | None, allowed: Collection[str]) -> FieldSelector:
    """Parse ``fieldSelector``; every field must be in ``allowed``, else ``field label not supported: <field>``."""
    if text is None or not text.strip():
        return FieldSelector()
    reqs: list[FieldRequirement] = []
    for term in _split_unescaped(text, ","):
        if not term:
            continue
        split = _split_term(term)
        if split is None:
            raise SelectorError(f"invalid selector: '{text}'; can't understand '{term}'")
        lhs, op, rhs = split
        field = lhs.strip()
        if field not in allowed:
            raise SelectorError(f"field label not supported: {field}")
        reqs.append(FieldRequirement(field, "!=" if op == "!=" else "=", _unescape(rhs, text)))
    return FieldSelector(tuple(reqs))
