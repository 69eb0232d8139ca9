"""Infrastructure tests: assertions on template.yaml as written, before SAM transforms it."""

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "template.yaml"
LAYER_REQUIREMENTS = REPO / "layers" / "liveguard" / "requirements.txt"
PYPROJECT = REPO / "pyproject.toml"
RUNTIME = "python3.13"

# name[extras]==version, and nothing else: no ranges, no markers, no second specifier.
EXACT_PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==(?P<version>[^\s=<>!~,;]+)$")


class CloudFormationLoader(yaml.SafeLoader):
    """A safe YAML loader that reads CloudFormation's short-form tags (!Sub, !Ref, !GetAtt...)."""


def _construct_intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


CloudFormationLoader.add_multi_constructor("!", _construct_intrinsic)


def _requirement_lines(path: Path) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


def _normalized(name: str) -> str:
    # PEP 503: Pydantic, pydantic and py_dantic name the same distribution.
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(requirements: list[str]) -> dict[str, str]:
    pins = {}
    for requirement in requirements:
        match = EXACT_PIN.match(requirement.replace(" ", ""))
        if match:
            pins[_normalized(match["name"])] = match["version"]
    return pins


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return yaml.load(TEMPLATE.read_text(), Loader=CloudFormationLoader)  # noqa: S506 (a SafeLoader)


@pytest.fixture(scope="module")
def layer(template: dict[str, Any]) -> dict[str, Any]:
    resource = template["Resources"]["LiveGuardLayer"]
    assert resource["Type"] == "AWS::Serverless::LayerVersion"
    return resource


def test_layer_is_built_with_the_lambda_runtime_python(layer: dict[str, Any]) -> None:
    # Given the layer resource
    # When sam build reads its metadata
    build_method = layer["Metadata"]["BuildMethod"]
    # Then it builds the layer with the same Python the functions run on
    assert build_method == RUNTIME


def test_layer_is_compatible_with_python_3_13_only(layer: dict[str, Any]) -> None:
    # Given the layer resource
    # When Lambda checks which runtimes may attach it
    runtimes = layer["Properties"]["CompatibleRuntimes"]
    # Then only python3.13 may, the runtime its compiled wheels were chosen for
    assert runtimes == [RUNTIME]


def test_layer_is_built_for_the_architecture_it_declares(layer: dict[str, Any]) -> None:
    # Given the layer resource
    # When sam build picks wheels for its BuildArchitecture
    build_architecture = layer["Metadata"]["BuildArchitecture"]
    # Then Lambda is told the same architecture, so compiled deps (pydantic-core) load at runtime
    assert layer["Properties"]["CompatibleArchitectures"] == [build_architecture]


def test_layer_content_uri_holds_the_package_and_its_requirements(layer: dict[str, Any]) -> None:
    # Given the layer's ContentUri, relative to the template
    content = (TEMPLATE.parent / layer["Properties"]["ContentUri"]).resolve()
    # When sam build copies it under python/
    # Then the liveguard package sits directly in it, with the requirements pip installs beside it
    assert (content / "liveguard" / "__init__.py").is_file()
    assert (content / "requirements.txt").is_file()
    assert content / "requirements.txt" == LAYER_REQUIREMENTS


def test_every_layer_requirement_is_pinned_exactly() -> None:
    # Given the layer's runtime requirements
    requirements = _requirement_lines(LAYER_REQUIREMENTS)
    # When each line is read as a requirement
    loose = [line for line in requirements if not EXACT_PIN.match(line.replace(" ", ""))]
    # Then every one pins a single version with ==, so two builds ship the same code
    assert requirements
    assert loose == []


def test_runtime_pins_in_pyproject_agree_with_the_layer_requirements() -> None:
    # Given the project's dependencies (the dev venv) and the layer's requirements (what Lambda runs)
    project = _pins(tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"])
    layer = _pins(_requirement_lines(LAYER_REQUIREMENTS))
    # When the packages both list are compared
    shared = project.keys() & layer.keys()
    disagreements = {name: (project[name], layer[name]) for name in shared if project[name] != layer[name]}
    # Then tests run against exactly the versions that are deployed
    assert shared
    assert disagreements == {}


def test_every_layer_requirement_is_also_a_project_dependency() -> None:
    # Given the layer's requirements and the project's dependencies
    project = _pins(tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"])
    layer = _pins(_requirement_lines(LAYER_REQUIREMENTS))
    # When the layer's packages are looked up in the project
    missing = sorted(layer.keys() - project.keys())
    # Then none is missing, so the dev venv can import everything the layer imports
    assert missing == []
