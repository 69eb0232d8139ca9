"""The local stack: LiveGuard's template.yaml run on loopback without Docker (`liveguard local up`).

    from liveguard_local.stack import LocalStack, LocalStackOptions

    with LocalStack(LocalStackOptions(port=0, emulator_port=0, aws_port=0)) as stack:
        stack.callback_url, stack.emulator_url, stack.aws_url, stack.settings_path

The names are loaded on first use: the function worker processes and the moto process import
modules of this package and must not pay for (or be influenced by) the rest of it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .core import Invocation, LocalStack, LocalStackError, LocalStackOptions, run

__all__ = ["Invocation", "LocalStack", "LocalStackError", "LocalStackOptions", "run"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import core

        return getattr(core, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
