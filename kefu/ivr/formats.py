"""Flow sources: JSON or YAML text to a definition mapping and back (the editor's formats)."""

from __future__ import annotations

import json
from typing import Any, Literal

import yaml

from kefu.core.errors import FieldError, ValidationFailed

__all__ = ["Format", "dump_source", "load_source"]

Format = Literal["json", "yaml"]
MAX_SOURCE = 200_000  # characters


def load_source(text: str, fmt: Format) -> Any:
    """Parse an editor's text; a syntax error is a 422 naming the line."""
    if len(text) > MAX_SOURCE:
        raise ValidationFailed(
            "flow_source_invalid",
            errors=[FieldError("source", "error.field.too_long", max_length=MAX_SOURCE)],
            line=0,
            problem="too long",
        )
    try:
        if fmt == "yaml":
            return yaml.safe_load(text)
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationFailed("flow_source_invalid", line=exc.lineno, problem=exc.msg) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        problem = str(getattr(exc, "problem", "") or exc)
        raise ValidationFailed("flow_source_invalid", line=line, problem=problem) from exc


def dump_source(definition: Any, fmt: Format) -> str:
    if fmt == "yaml":
        return str(yaml.safe_dump(definition, allow_unicode=True, sort_keys=False))
    return json.dumps(definition, ensure_ascii=False, indent=2)
