"""The policy's options, made once from :class:`~ledgerlearn.flows.policy.Policy`: both
``ledgerlearn publish`` and ``ledgerlearn api publish`` take them (:func:`policy_options`)."""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable
from typing import Annotated, Any

import typer

from ledgerlearn.cli.common import clear_errors
from ledgerlearn.flows.policy import Policy

__all__ = ["POLICY_OPTIONS", "policy_options"]

_OPTION_NAMES = {"aggregation_rule": "--rule"}

POLICY_OPTIONS: dict[str, str] = {
    name: _OPTION_NAMES.get(name, "--" + name.replace("_", "-")) for name in Policy.model_fields
}
"""Policy field -> the option that sets it (in ``publish`` and ``api publish``)."""

_FIELD_REFERENCE = re.compile(r"`(\w+)`")


def _parameter(option: str) -> str:
    """The command's parameter of an option: ``--max-parents`` -> ``max_parents``."""
    return option.removeprefix("--").replace("-", "_")


def _option_help(description: str | None) -> str:
    """A policy field's description, with the fields it names shown as their options."""
    return _FIELD_REFERENCE.sub(lambda m: POLICY_OPTIONS.get(m[1], m[1]), description or "")


def policy_options(command: Callable[..., None]) -> Callable[..., None]:
    """Give ``command`` one option per :class:`~ledgerlearn.flows.policy.Policy` field in
    place of its ``policy`` parameter: the option of :data:`POLICY_OPTIONS`, the field's type
    and default, its description as help. ``command`` is called with the ``Policy`` they make;
    an invalid one ends the command with ``error: invalid policy: --option: ...``."""
    signature = inspect.signature(command, eval_str=True)
    options = []
    for name, option in POLICY_OPTIONS.items():
        field = Policy.model_fields[name]
        help_text = _option_help(field.description)
        options.append(
            inspect.Parameter(
                _parameter(option),
                inspect.Parameter.KEYWORD_ONLY,
                default=field.default,
                annotation=Annotated[field.annotation, typer.Option(option, help=help_text)],
            )
        )
    parameters: list[inspect.Parameter] = []
    for parameter in signature.parameters.values():
        if parameter.name == "policy":
            parameters += options
        else:
            parameters.append(parameter.replace(kind=inspect.Parameter.KEYWORD_ONLY))

    @functools.wraps(command)
    def with_policy(**values: Any) -> None:
        fields = {name: values.pop(_parameter(option)) for name, option in POLICY_OPTIONS.items()}
        with clear_errors("policy", POLICY_OPTIONS):
            policy = Policy(**fields)
        command(policy=policy, **values)

    with_policy.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    with_policy.__annotations__ = {p.name: p.annotation for p in parameters}
    del with_policy.__wrapped__
    return with_policy
