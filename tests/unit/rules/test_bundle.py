"""The rules bundle: what `liveguard rules publish` uploads and the functions compile (the YAML and
the term files it reads), and the version it gives the rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from liveguard.rules.bundle import RulesBundle, sha256_hex, short_sha
from liveguard.rules.loader import DEFAULT_RULES, RulesInvalid, load_bundle, load_rules, read_rules_bundle

RULES = """\
terms:
  banned:
    file: terms/banned.txt
rules:
  - name: mask-banned
    on: [Group.CallbackBeforeSendMsg]
    when: {terms: [banned]}
    verdict: {action: mask}
"""


@pytest.fixture
def rules_file(tmp_path: Path) -> Path:
    (tmp_path / "terms").mkdir()
    (tmp_path / "terms" / "banned.txt").write_text("# one a line\nbadword\n", encoding="utf-8")
    path = tmp_path / "rules.yaml"
    path.write_text(RULES, encoding="utf-8")
    return path


def test_a_bundle_holds_the_yaml_and_every_term_file_it_reads_by_the_path_it_gives(rules_file: Path) -> None:
    # Given a rules file whose term list is a file beside it
    # When it is bundled
    _, bundle = read_rules_bundle(rules_file)
    # Then the bundle has the YAML as written and the term file under its relative path
    assert bundle.rules == RULES
    assert bundle.files == {"terms/banned.txt": "# one a line\nbadword\n"}


def test_a_file_and_its_published_bundle_carry_the_same_sha(rules_file: Path) -> None:
    # Given a rules file, loaded from disk and bundled
    from_disk = load_rules(rules_file)
    _, bundle = read_rules_bundle(rules_file)
    body = bundle.to_bytes()
    # When the bundle's bytes are compiled as a published version
    published = load_bundle(body, version_id="v-7")
    # Then both name the same sha: file:<sha12> and <version id>:<sha12>
    sha = short_sha(sha256_hex(body))
    assert from_disk.version == f"file:{sha}"
    assert published.version == f"v-7:{sha}"


def test_the_layers_defaults_are_versioned_as_defaults() -> None:
    # When the layer's defaults are loaded (no file given)
    rules = load_rules()
    # Then their version says so, with the sha of their bundle
    _, bundle = read_rules_bundle(DEFAULT_RULES)
    assert rules.version == f"defaults:{short_sha(sha256_hex(bundle.to_bytes()))}"


def test_a_changed_term_changes_the_version(rules_file: Path) -> None:
    # Given the version of a rules file
    before = load_rules(rules_file).version
    # When one term is added to its term file
    (rules_file.parent / "terms" / "banned.txt").write_text("badword\nworseword\n", encoding="utf-8")
    # Then the version differs
    assert load_rules(rules_file).version != before


def test_a_bundle_compiles_its_terms_from_itself_not_from_the_disk(rules_file: Path) -> None:
    # Given a bundle made from a file, and the term file then deleted from the disk
    _, bundle = read_rules_bundle(rules_file)
    (rules_file.parent / "terms" / "banned.txt").unlink()
    # When the bundle is compiled
    rules = load_bundle(bundle.to_bytes(), version_id="v1")
    # Then its term list is the bundled one: it finds the bundled term
    assert rules.terms["banned"].terms == frozenset({"badword"})
    assert [match.term for match in rules.terms["banned"].matches("a badword here")] == ["badword"]


def test_a_bundle_missing_a_term_file_is_refused_naming_the_file() -> None:
    # Given a bundle whose rules name a term file it does not hold
    body = RulesBundle(rules=RULES, files={}).to_bytes()
    # When it is compiled
    with pytest.raises(RulesInvalid) as refused:
        load_bundle(body, version_id="v1")
    # Then the loader's own message names the list, the file and why
    assert refused.value.errors == ['terms.banned.file: cannot read "terms/banned.txt": not in the bundle']


def test_a_bundle_is_validated_with_the_same_messages_as_a_file() -> None:
    # Given a bundle whose rule misspells a callback
    misspelt = RULES.replace("Group.CallbackBeforeSendMsg", "Group.CallbackBeforeSendMsgg")
    body = RulesBundle(rules=misspelt, files={"terms/banned.txt": "x\n"}).to_bytes()
    # When it is compiled
    with pytest.raises(RulesInvalid) as refused:
        load_bundle(body, version_id="v1")
    # Then the message is the one `rules check` prints for the same file
    assert any('rule "mask-banned": on[0]: unknown CallbackCommand' in line for line in refused.value.errors)


@pytest.mark.parametrize("body", [b"", b"not json", b'{"v": 2, "rules": ""}', b'{"rules": "x", "extra": 1}'])
def test_bytes_that_are_not_a_bundle_are_refused_in_one_line(body: bytes) -> None:
    # When something that is not a bundle is compiled
    with pytest.raises(RulesInvalid) as refused:
        load_bundle(body, version_id="v1")
    # Then one line says it is not a bundle
    assert len(refused.value.errors) == 1
    assert refused.value.errors[0].startswith("not a rules bundle: ")
