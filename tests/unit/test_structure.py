"""The layer's structure, read from its imports (ast): which module may know what.

- The services and the domain (everything in the layer outside ``aws/``, ``tencent/`` and the
  configuration) never import an AWS adapter, boto3, botocore or Tencent's HTTP client: they are
  written against ``liveguard.ports``, and ``functions/*/app.py`` choose the adapters.
- The AWS adapters never import a service: they fill ports, they do not call back.
- ``liveguard.ports`` holds protocols and nothing else.
- What is deployed (the layer, ``functions/``) never imports the development tools
  (``liveguard_local``) nor the ``liveguard`` command (``liveguard_ops``).
- Importing the ingress function in a fresh interpreter leaves boto3 unloaded (its cold start), and
  botocore too beyond the bare package Powertools imports for its user-agent hook.

Every import is counted, wherever it is written (inside a function too), since a lazy import is
still a dependency.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYER = ROOT / "layers" / "liveguard"
PACKAGE = LAYER / "liveguard"
SERVICES = frozenset({"liveguard.ingress", "liveguard.moderator", "liveguard.actuator", "liveguard.drain"})
# Outside the domain: the adapters, Tencent's client side, and the configuration (which reads the
# secret's model, not the store).
NOT_DOMAIN = ("liveguard.aws", "liveguard.tencent")
FORBIDDEN_IN_DOMAIN = ("liveguard.aws", "boto3", "botocore", "liveguard.tencent.client")


def module_name(path: Path) -> str:
    parts = path.relative_to(LAYER).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imports_of(path: Path) -> set[str]:
    """Every module ``path`` imports, absolute, wherever the import is written."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def is_within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


DOMAIN = sorted(
    name for name in layer_modules() if not any(is_within(name, outside) for outside in NOT_DOMAIN)
)


def test_the_guard_sees_the_whole_layer():
    # A guard over nothing passes; make sure it reads the modules it speaks of.
    assert set(DOMAIN) >= SERVICES
    assert {"liveguard.ports", "liveguard.rules.engine", "liveguard.aws.state_table"} <= set(layer_modules())


@pytest.mark.parametrize("module", DOMAIN)
def test_the_services_and_the_domain_know_no_adapter(module):
    path = layer_modules()[module]
    reached = sorted(
        name
        for name in imports_of(path)
        if any(is_within(name, forbidden) for forbidden in FORBIDDEN_IN_DOMAIN)
    )
    assert reached == [], f"{module} imports {reached}: write it against liveguard.ports instead"


@pytest.mark.parametrize(
    "module", sorted(name for name in layer_modules() if is_within(name, "liveguard.aws"))
)
def test_the_aws_adapters_never_import_a_service(module):
    reached = sorted(
        name
        for name in imports_of(layer_modules()[module])
        if any(is_within(name, service) for service in SERVICES)
    )
    assert reached == [], f"{module} imports the services {reached}"


def test_the_ports_module_holds_protocols_and_nothing_else():
    tree = ast.parse((PACKAGE / "ports.py").read_text(encoding="utf-8"))
    definitions = [node for node in tree.body if not isinstance(node, ast.Import | ast.ImportFrom | ast.If)]
    docstring, *rest = definitions
    assert isinstance(docstring, ast.Expr)
    assert rest, "no protocols found"
    for node in rest:
        assert isinstance(node, ast.ClassDef), f"line {node.lineno}: only protocols belong in ports.py"
        assert any(isinstance(base, ast.Name) and base.id == "Protocol" for base in node.bases), node.name


DEPLOYED = {"layer": LAYER, "functions": ROOT / "functions"}
NOT_DEPLOYED = ("liveguard_local", "liveguard_ops")


@pytest.mark.parametrize("deployed", sorted(DEPLOYED))
def test_deployed_code_never_imports_the_development_tools_or_the_liveguard_command(deployed: str) -> None:
    # Given every Python file of what is deployed
    files = sorted(DEPLOYED[deployed].rglob("*.py"))
    assert files
    # When their imports are read
    offending = {
        f"{path.relative_to(ROOT)}: {module}"
        for path in files
        for module in imports_of(path)
        if module.split(".")[0] in NOT_DEPLOYED
    }
    # Then none is of liveguard_local or liveguard_ops
    assert offending == set()


def test_importing_the_ingress_function_leaves_boto3_unloaded():
    # Given the ingress's environment, in a fresh interpreter (the cold start)
    environment = {
        **os.environ,
        "PYTHONPATH": str(LAYER),
        "EVENTS_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/liveguard-events.fifo",
        "TENCENT_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:liveguard-AbCdEf",
        "STATE_TABLE_NAME": "liveguard-state",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    environment.pop("AWS_LAMBDA_INITIALIZATION_TYPE", None)
    app = str(ROOT / "functions" / "ingress" / "app.py")
    probe = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('ingress_app', {app!r})\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(module)\n"
        # Powertools imports the bare botocore package to register a user-agent hook; its client
        # machinery (botocore.*) is what costs, with boto3.
        "print(sorted(n for n in sys.modules if n.split('.')[0] == 'boto3' or n.startswith('botocore.')))\n"
    )
    # When its module is imported
    done = subprocess.run(
        [sys.executable, "-c", probe],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # Then it loaded, and neither boto3 nor botocore's client machinery did
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"


def test_the_development_tools_never_import_the_liveguard_command() -> None:
    # The command mounts the emulator and the local stack, not the other way round
    offending = {
        f"{path.relative_to(ROOT)}: {module}"
        for path in sorted((ROOT / "local").rglob("*.py"))
        for module in imports_of(path)
        if module.split(".")[0] == "liveguard_ops"
    }
    assert offending == set()
