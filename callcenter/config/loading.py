"""Loading the config file: YAML in, every problem of it and of the IVR file it
names as ``file:line: dotted.path: reason``, ``HOTLINE_...`` environment
overrides put in; a :class:`HotlineConfig` or a :class:`ConfigError` out."""

from __future__ import annotations

import copy
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from ivr import ConfigProblem, IvrConfigError, IvrDefinition, load_ivr
from yamlconf import YamlDocument, YamlProblems, dotted

from .hotline import HotlineConfig


class ConfigError(Exception):
    """The config file (or the IVR file it names) failed to load.

    ``problems`` holds every problem found, sorted by file and line; ``str()``
    is one ``file:line: path: reason`` line per problem.
    """

    def __init__(self, problems: Iterable[ConfigProblem]) -> None:
        self.problems: tuple[ConfigProblem, ...] = tuple(sorted(problems))
        super().__init__("\n".join(str(p) for p in self.problems))


def load_config(path: str | Path, *, environ: Mapping[str, str] | None = None) -> HotlineConfig:
    """Read and validate the config file at ``path``, then the IVR file it names.

    ``environ`` (default ``os.environ``) is where ``secret_env`` and
    ``secret_key_env`` are looked up. Raises :class:`ConfigError` listing
    every problem of both files, including an unreadable or missing one.
    """
    path = Path(path)
    try:
        doc = YamlDocument.load(path)
    except YamlProblems as e:
        raise ConfigError(e.problems) from None
    env = os.environ if environ is None else environ
    doc, overridden, env_problems = _with_env_overrides(doc, env)
    config, problems = doc.validate(HotlineConfig, context={"environ": env})
    problems = env_problems + [_named_by_env(p, overridden) for p in problems]

    ivr_file = config.ivr_file if config is not None else _raw(doc.data, "ivr_file")
    queues = [q.name for q in config.queues] if config is not None else _raw_queue_names(doc.data)
    ivr: IvrDefinition | None = None
    if isinstance(ivr_file, str) and ivr_file:
        ivr_path = path.parent / ivr_file
        try:
            ivr = load_ivr(ivr_path, queues=queues)
        except IvrConfigError as e:
            for p in e.problems:
                if p.file == str(ivr_path) and p.line == 0:  # the IVR file itself is unreadable
                    problems.append(doc.problem(("ivr_file",), f"{ivr_path}: {p.reason}"))
                else:
                    problems.append(p)

    if config is not None and ivr is not None:
        problems += _overflow_problems(doc, config, ivr)
    if problems or config is None or ivr is None:
        raise ConfigError(problems)
    config._path = path
    config._ivr = ivr
    return config


#: ``HOTLINE_WEB__PORT=8081`` sets ``web.port``: the prefix, then the path with ``__``
#: between keys (list items by index: ``HOTLINE_NODES__0__HOST``). Only variables whose
#: first key is a top-level key of the file count, so ``HOTLINE_SECRET_KEY`` (a secret
#: the file names by ``secret_key_env``) and ``HOTLINE_LOG_FORMAT`` are not read here.
ENV_PREFIX = "HOTLINE_"


def _with_env_overrides(
    doc: YamlDocument, env: Mapping[str, str]
) -> tuple[YamlDocument, dict[str, str], list[ConfigProblem]]:
    """The document with the environment's ``HOTLINE_...`` values put in (each value
    read as YAML: ``8081`` a number, ``[a, b]`` a list), the dotted paths set (path ->
    variable) and the problems of variables naming no place in the file."""
    tops = set(HotlineConfig.model_fields)
    data = copy.deepcopy(doc.data) if isinstance(doc.data, dict) else doc.data
    overridden: dict[str, str] = {}
    problems: list[ConfigProblem] = []
    for name in sorted(env):
        if not name.startswith(ENV_PREFIX):
            continue
        keys = name.removeprefix(ENV_PREFIX).lower().split("__")
        if keys[0] not in tops or not isinstance(data, dict):
            continue
        where = f"environment variable {name}"
        try:
            value = yaml.safe_load(env[name]) if env[name].strip() else None
        except yaml.YAMLError as exc:
            why = getattr(exc, "problem", None) or exc
            problems.append(ConfigProblem(where, 0, ".".join(keys), f"not a YAML value: {why}"))
            continue
        node: Any = data
        loc: list[str | int] = []
        for i, key in enumerate(keys):
            last = i == len(keys) - 1
            step: str | int = int(key) if key.isdigit() and isinstance(node, list) else key
            if isinstance(node, list) and not (isinstance(step, int) and step < len(node)):
                problems.append(ConfigProblem(where, 0, dotted((*loc, key)),
                                              f"the file's list has {len(node)} item(s)"))  # fmt: skip
                break
            if not isinstance(node, (dict, list)):
                problems.append(
                    ConfigProblem(where, 0, dotted(tuple(loc)), "not a mapping in the file")
                )
                break
            loc.append(step)
            if last:
                node[step] = value  # type: ignore[index]
                overridden[dotted(tuple(loc))] = name
            else:
                if isinstance(node, dict) and node.get(step) is None:
                    node[step] = {}
                node = node[step]
    return YamlDocument(doc.filename, doc.root, data), overridden, problems


def _named_by_env(problem: ConfigProblem, overridden: Mapping[str, str]) -> ConfigProblem:
    """A problem of a value the environment set names the variable, not a file line."""
    for path, name in overridden.items():
        if problem.path == path or problem.path.startswith(path + "."):
            return ConfigProblem(f"environment variable {name}", 0, problem.path, problem.reason)
    return problem


def _raw(data: Any, key: str) -> Any:
    return data.get(key) if isinstance(data, dict) else None


def _raw_queue_names(data: Any) -> list[str] | None:
    """Queue names from a document that failed validation; None when unusable."""
    queues = _raw(data, "queues")
    if not isinstance(queues, list):
        return None
    names = [_raw(q, "name") for q in queues]
    return names if all(isinstance(n, str) for n in names) else None


def _overflow_problems(
    doc: YamlDocument, config: HotlineConfig, ivr: IvrDefinition
) -> list[ConfigProblem]:
    """Each queue's overflow target exists: a queue, an IVR node of the right type."""
    out: list[ConfigProblem] = []
    names = {q.name for q in config.queues}
    for index, queue in enumerate(config.queues):
        if queue.overflow is None:
            continue
        target = queue.overflow.target()
        at = ("queues", index, "overflow", target.kind)
        if target.kind == "queue":
            if target.target not in names:
                out.append(doc.problem(at, f"unknown queue {target.target!r}"))
            elif target.target == queue.name:
                out.append(doc.problem(at, "a queue cannot overflow into itself"))
        elif target.kind in ("voicemail", "callback", "ivr"):
            node = ivr.nodes.get(target.target or "")
            if node is None:
                out.append(doc.problem(at, f"no IVR node {target.target!r} in {config.ivr_file}"))
            elif target.kind != "ivr" and node.type != target.kind:
                out.append(doc.problem(at, f"IVR node {target.target!r} is a {node.type} node, "
                                           f"not a {target.kind} node"))  # fmt: skip
        never = (queue.max_wait_s is None and queue.max_length is None and queue.join_empty
                 and not queue.leave_when_empty)  # fmt: skip
        if never:
            out.append(doc.problem(("queues", index, "overflow"), "nothing overflows: set "
                                   "max_wait_s, max_length, join_empty: false or "
                                   "leave_when_empty: true"))  # fmt: skip
    return out
