"""A Dockerfile reader for the kaniko runtime: the image config its instructions produce."""

from __future__ import annotations

import json
import posixpath
import re
import shlex
from dataclasses import dataclass, field


@dataclass
class ImageConfig:
    """What a build records in the image config (and the instructions, for the log)."""

    base: str = "scratch"
    labels: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    workdir: str = "/"
    entrypoint: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)
    instructions: list[tuple[str, str]] = field(default_factory=list)


def _logical_lines(text: str) -> list[str]:
    lines: list[str] = []
    current = ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        if current.strip():
            lines.append(current.strip())
        current = ""
    if current.strip():
        lines.append(current.strip())
    return lines


def _substitute(value: str, variables: dict[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        return variables.get(name, "")

    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)", replace, value)


def _pairs(rest: str, variables: dict[str, str]) -> dict[str, str]:
    tokens = shlex.split(rest)
    if tokens and "=" not in tokens[0]:
        return {tokens[0]: _substitute(" ".join(tokens[1:]), variables)}
    result: dict[str, str] = {}
    for token in tokens:
        key, _, value = token.partition("=")
        result[key] = _substitute(value, variables)
    return result


def _exec_form(rest: str) -> list[str]:
    if rest.startswith("["):
        try:
            parsed = json.loads(rest)
            if isinstance(parsed, list):
                return [str(p) for p in parsed]
        except ValueError:
            pass
    return ["/bin/sh", "-c", rest]


def parse_dockerfile(text: str, build_args: dict[str, str] | None = None) -> ImageConfig:
    """The final stage's config: ``FROM``, ``LABEL``, ``ENV``, ``WORKDIR``, ``ENTRYPOINT``,
    ``CMD`` (``ARG``/``ENV`` values are substituted); other instructions are listed only."""
    config = ImageConfig()
    variables: dict[str, str] = {}
    args = dict(build_args or {})
    for line in _logical_lines(text):
        instruction, _, rest = line.partition(" ")
        keyword = instruction.upper()
        rest = rest.strip()
        config.instructions.append((keyword, rest))
        if keyword == "ARG":
            name, _, default = rest.partition("=")
            variables[name] = args.get(name, default.strip('"'))
        elif keyword == "FROM":
            config = ImageConfig(
                base=_substitute(rest.split()[0], variables), instructions=config.instructions
            )
        elif keyword == "LABEL":
            config.labels.update(_pairs(rest, {**variables, **config.env}))
        elif keyword == "ENV":
            values = _pairs(rest, {**variables, **config.env})
            config.env.update(values)
        elif keyword == "WORKDIR":
            path = _substitute(rest, {**variables, **config.env})
            config.workdir = posixpath.normpath(posixpath.join(config.workdir, path))
        elif keyword == "ENTRYPOINT":
            config.entrypoint = _exec_form(rest)
            config.cmd = []
        elif keyword == "CMD":
            config.cmd = _exec_form(rest)
    return config
