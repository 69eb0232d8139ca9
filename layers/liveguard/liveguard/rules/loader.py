"""Load a rules file and compile it, once per cold start, into the ``RuleSet`` the engine runs.

Everything that can be decided before the first event is decided here: term lists are read and
compiled (one trie regex each), room globs become one regex, action params become templates whose
variables are checked against the callbacks the rule listens to, and (by default) every action's
params, rendered with sample values, are validated against LiveClient's request model for its
command. A file that is wrong in any way raises ``RulesInvalid``, whose message has one line per
mistake, each naming the rule and the field: ``rule "comment-terms": when.terms: unknown term list
"slurz"``. The compiled types are ``liveguard.rules.compiled``; the params' template language is
``liveguard.rules.template``.
"""

from __future__ import annotations

import difflib
import errno
import fnmatch
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]  # (no types-PyYAML in the pinned dev set)
from pydantic import ValidationError

from liveguard.counters import Kind
from liveguard.rules.bundle import MAX_BUNDLE_BYTES, RulesBundle, sha256_hex, short_sha
from liveguard.rules.compiled import CompiledAction, CompiledRule, RuleSet
from liveguard.rules.model import (
    ALL_TEXT_FIELDS,
    BEFORE_EVENTS,
    METADATA_EVENTS,
    NAME_PATTERN,
    NAME_WORDS,
    TEXT_FIELDS,
    WRITE_COMMANDS,
    ActionSpec,
    RaidCondition,
    RateCondition,
    RepeatCondition,
    Rule,
    RulesFile,
    TermFile,
)
from liveguard.rules.template import Template, TemplateInvalid, compile_template
from liveguard.rules.terms import MAX_REGEX_LISTS, TermList, TermsInvalid, normalize
from liveguard.rules.variables import VARIABLES
from liveguard.webhooks.commands import GIFT_BEFORE, MESSAGE_AFTER, MESSAGE_BEFORE, MODERATION_RESULT
from liveguard.webhooks.models import KNOWN_COMMANDS

MESSAGE_EVENTS = frozenset({MESSAGE_BEFORE, MESSAGE_AFTER})
COUNTED_EVENTS = MESSAGE_EVENTS | {GIFT_BEFORE}
"""What rate conditions count: messages and gifts (repeat and raid: messages, which have a text and a
poster)."""

DEFAULT_RULES = Path(__file__).with_name("defaults.yaml")
"""The rules shipped in the layer (with their term lists under ``terms/``)."""

MAX_ERRORS = 20

SAMPLE_VALUES: dict[str, Any] = {name: variable.sample for name, variable in VARIABLES.items()}
"""What the loader renders params with to validate them before any event comes."""


class RulesInvalid(Exception):  # noqa: N818 - the domain's word: the rules file is invalid
    """A rules file that cannot be used. ``errors`` holds one line per mistake, each naming the rule
    (by its name) and the field path; ``str()`` is those lines."""

    def __init__(self, errors: Sequence[str], source: str = "<rules>") -> None:
        self.errors = list(errors)
        self.source = source
        super().__init__("\n".join(self.errors))


# --- YAML --------------------------------------------------------------------------------------------

_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_BOOL = "tag:yaml.org,2002:bool"


class _RulesLoader(_Base):  # type: ignore[misc]
    """YAML's safe loader, minus two traps: a duplicate key is an error (not a silent overwrite), and
    only true/false are booleans (YAML 1.1 reads a bare ``on:`` key, or ``Notice: no``, as one)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, str | int | float | bool) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        return mapping


_RulesLoader.yaml_implicit_resolvers = {
    first: [(tag, regex) for tag, regex in resolvers if tag != _BOOL]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_RulesLoader.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def _read_yaml(text: str, source: str) -> object:
    try:
        return yaml.load(text, Loader=_RulesLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = error.problem or error.context or "invalid YAML"
        raise RulesInvalid([f"{where}{problem}"], source) from None
    except yaml.YAMLError as error:
        raise RulesInvalid([f"invalid YAML: {error}"], source) from None


# --- error paths -------------------------------------------------------------------------------------


def _path(parts: Iterable[object]) -> str:
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _rule_label(data: object, index: int) -> str:
    rules = data.get("rules") if isinstance(data, dict) else None
    if isinstance(rules, list) and index < len(rules):
        rule = rules[index]
        name = rule.get("name") if isinstance(rule, dict) else None
        if isinstance(name, str) and name:
            return f'rule "{name}"'
    return f"rules[{index}]"


_MESSAGES = {"missing": "is required", "extra_forbidden": "is not a field here"}


def _validation_errors(error: ValidationError, data: object) -> list[str]:
    lines = []
    for item in error.errors(include_url=False, include_input=False, include_context=False):
        loc = list(item["loc"])
        message = _MESSAGES.get(item["type"], item["msg"])
        if item["type"] == "value_error":
            message = message.removeprefix("Value error, ")
        if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
            where = _path(loc[2:])
            lines.append(
                f"{_rule_label(data, loc[1])}: {where}: {message}"
                if where
                else f"{_rule_label(data, loc[1])}: {message}"
            )
        else:
            lines.append(f"{_path(loc) or '<file>'}: {message}")
    return lines


# --- loading -----------------------------------------------------------------------------------------


def load_rules(path: str | Path | None = None, *, check_params: bool = True) -> RuleSet:
    """Read and compile a rules file (None: the defaults shipped in the layer). Term list files are
    read relative to it. ``check_params=False`` skips validating action params against LiveClient's
    request models (importing them all costs ~200 ms: the ingress, which only needs verdicts, may skip
    it; the moderator should not). Its version is ``file:<sha12>`` (``defaults:<sha12>`` for the
    layer's), the sha of the bundle the file makes (``read_rules_bundle``). Raises RulesInvalid."""
    rules, _ = read_rules_bundle(path, check_params=check_params)
    return rules


def read_rules_bundle(
    path: str | Path | None = None, *, check_params: bool = True
) -> tuple[RuleSet, RulesBundle]:
    """Compile a rules file, as ``load_rules`` does, and gather what it read into a bundle: the YAML
    and each term file it read, under the path the YAML gives (what ``liveguard rules publish``
    uploads). Raises RulesInvalid."""
    source = Path(path) if path is not None else DEFAULT_RULES
    try:
        text = source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        raise RulesInvalid([f"{source}: cannot read: {reason}"], str(source)) from None
    read: dict[str, str] = {}

    def read_term_file(name: str) -> str:
        content = (source.parent / name).read_text(encoding="utf-8")
        read[name] = content
        return content

    rules = parse_rules(text, source=str(source), check_params=check_params, read_file=read_term_file)
    bundle = RulesBundle(rules=text, files=read)
    kind = "defaults" if path is None else "file"
    return replace(rules, version=f"{kind}:{short_sha(sha256_hex(bundle.to_bytes()))}"), bundle


def load_bundle(
    body: bytes, *, version_id: str | None, source: str = "<bundle>", check_params: bool = True
) -> RuleSet:
    """Compile a bundle's bytes (an object of the rules bucket) with the same loader as a file: the
    same checks, the same messages. Its term files come from the bundle only. Its version is
    ``<version_id>:<sha12>``. Raises RulesInvalid (a body that is not a bundle says so in one line)."""
    if len(body) > MAX_BUNDLE_BYTES:
        raise RulesInvalid([f"<bundle>: {len(body)} bytes, more than {MAX_BUNDLE_BYTES}"], source)
    try:
        bundle = RulesBundle.model_validate_json(body)
    except ValidationError as error:
        first = error.errors(include_url=False, include_input=False, include_context=False)[0]
        where = _path(first["loc"]) or "<bundle>"
        raise RulesInvalid([f"not a rules bundle: {where}: {first['msg']}"], source) from None

    def read_term_file(name: str) -> str:
        if name not in bundle.files:
            raise FileNotFoundError(errno.ENOENT, "not in the bundle")
        return bundle.files[name]

    rules = parse_rules(bundle.rules, source=source, check_params=check_params, read_file=read_term_file)
    sha = short_sha(sha256_hex(body))
    return replace(rules, version=f"{version_id}:{sha}" if version_id else f"bundle:{sha}")


def parse_rules(
    text: str,
    *,
    base_dir: str | Path = ".",
    source: str = "<rules>",
    check_params: bool = True,
    read_file: Callable[[str], str] | None = None,
) -> RuleSet:
    """Compile rules given as YAML text (term list files relative to ``base_dir``, or given by
    ``read_file``, which raises OSError or UnicodeDecodeError as reading a file would)."""
    data = _read_yaml(text, source)
    if not isinstance(data, dict):
        raise RulesInvalid(["<file>: must be a mapping with a rules: list"], source)
    try:
        model = RulesFile.model_validate(data)
    except ValidationError as error:
        raise RulesInvalid(_validation_errors(error, data)[:MAX_ERRORS], source) from None
    base = Path(base_dir)
    reader = read_file or (lambda name: (base / name).read_text(encoding="utf-8"))
    return _Compiler(model, reader, source, check_params).compile()


class _Compiler:
    def __init__(
        self, model: RulesFile, read_file: Callable[[str], str], source: str, check_params: bool
    ) -> None:
        self.model = model
        self.read_file = read_file
        self.source = source
        self.check_params = check_params
        self.errors: list[str] = []

    def compile(self) -> RuleSet:
        terms = self._term_lists()
        recorded = {rule.violation for rule in self.model.rules if rule.violation}
        seen: set[str] = set()
        compiled: list[CompiledRule] = []
        disabled: list[str] = []
        for rule in self.model.rules:
            if rule.name in seen:
                self.errors.append(f'rule "{rule.name}": name: another rule has this name')
            seen.add(rule.name)
            result = _RuleCompiler(rule, terms, set(self.model.terms), recorded, self.check_params).compile()
            self.errors.extend(f'rule "{rule.name}": {line}' for line in result.errors)
            if result.rule is not None and rule.enabled:
                compiled.append(result.rule)
            elif result.rule is not None:
                disabled.append(rule.name)
        if self.errors:
            raise RulesInvalid(self.errors[:MAX_ERRORS], self.source)
        return RuleSet(
            rules=tuple(compiled),
            terms=terms,
            source=self.source,
            disabled=tuple(disabled),
            warnings=tuple(self._never_fire()),
        )

    def _never_fire(self) -> list[str]:
        """Enabled rules that can never fire: warned about, not refused (the file may be half-written,
        or a rule switched off on purpose elsewhere in it)."""
        enabled = [rule for rule in self.model.rules if rule.enabled]
        strikes_added = any(rule.strike for rule in enabled)
        # A shadow rule's strikes and violations are never recorded: live rules never count them.
        live_strikes = any(rule.strike for rule in enabled if rule.mode == "live")
        live_violations = {rule.violation for rule in enabled if rule.violation and rule.mode == "live"}
        warnings = []
        for rule in enabled:
            if rule.when.rooms == []:
                warnings.append(
                    f'rule "{rule.name}": when.rooms: an empty list names no room, so the rule never fires'
                    " (leave rooms out for every room)"
                )
            counted = [
                name
                for name in ("rate", "repeat", "raid")
                if (condition := getattr(rule.when, name)) is not None
                and not condition.once
                and condition.below is None
            ]
            if counted and (rule.then or rule.strike or rule.violation or rule.sanction):
                warnings.append(
                    f'rule "{rule.name}": when.{counted[0]}: holds on every event while the count is at'
                    " least at_least, so its actions, strikes or sanction repeat on each; give once: true"
                    " to act once per flood (a verdict rule without once keeps deciding each event)"
                )
            if rule.when.strikes is not None and not strikes_added:
                warnings.append(
                    f'rule "{rule.name}": when.strikes: no enabled rule adds strikes (strike: true), so the'
                    " threshold is never reached"
                )
            elif rule.when.strikes is not None and rule.mode == "live" and not live_strikes:
                warnings.append(
                    f'rule "{rule.name}": when.strikes: only shadow rules add strikes, and a live rule never'
                    " counts a shadow rule's, so the threshold is never reached"
                )
            if rule.when.violations is not None and rule.mode == "live":
                warnings.extend(
                    f'rule "{rule.name}": when.violations.kinds[{index}]: only shadow rules record violation'
                    f' "{kind}", and a live rule never counts a shadow rule\'s'
                    for index, kind in enumerate(rule.when.violations.kinds)
                    if kind not in live_violations and any(r.violation == kind for r in enabled)
                )
        return warnings

    def _term_lists(self) -> dict[str, TermList]:
        lists: dict[str, TermList] = {}
        regex_lists = [name for name, spec in self.model.terms.items() if spec.match == "regex"]
        if len(regex_lists) > MAX_REGEX_LISTS:
            self.errors.append(
                f"terms: {len(regex_lists)} regex lists ({', '.join(regex_lists)}): at most {MAX_REGEX_LISTS}"
                " (each is bounded in time on every text)"
            )
        for name, spec in self.model.terms.items():
            if not re.match(NAME_PATTERN, name):
                self.errors.append(f"terms.{name}: {NAME_WORDS}")
                continue
            words = list(spec.terms)
            if spec.file is not None:
                lines = self._read_terms(f"terms.{name}.file", spec.file)
                if lines is None:
                    continue
                words.extend(lines)
            allowed = spec.except_
            if isinstance(allowed, TermFile):
                read = self._read_terms(f"terms.{name}.except.file", allowed.file)
                if read is None:
                    continue
                allowed = read
            try:
                lists[name] = TermList(
                    name, words, match=spec.match, evasion=spec.evasion, exceptions=allowed
                )
            except TermsInvalid as error:
                self.errors.append(f"terms.{name}: {error}")
        return lists

    def _read_terms(self, where: str, file: str) -> list[str] | None:
        """The terms of a file (one a line, blank lines and ``#`` comments left out); None once the
        reason it cannot be read is in the errors."""
        try:
            lines = self.read_file(file).splitlines()
        except OSError as error:
            self.errors.append(f'{where}: cannot read "{file}": {error.strerror}')
            return None
        except UnicodeDecodeError:
            self.errors.append(f'{where}: "{file}" is not UTF-8 text')
            return None
        return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


@dataclass
class _Result:
    rule: CompiledRule | None
    errors: list[str]


class _RuleCompiler:
    """Checks one rule against the vocabulary and compiles it; collects every mistake it finds."""

    def __init__(
        self,
        rule: Rule,
        terms: Mapping[str, TermList],
        defined: set[str],
        recorded: set[str],
        check_params: bool,
    ) -> None:
        self.rule = rule
        self.terms = terms
        self.unreadable = defined - set(terms)
        self.recorded = recorded
        self.check_params = check_params
        self.errors: list[str] = []
        self.commands = frozenset(rule.on)

    def _error(self, path: str, reason: str) -> None:
        self.errors.append(f"{path}: {reason}")

    def _only_on(self, path: str, allowed: frozenset[str], what: str) -> None:
        others = sorted(self.commands - allowed)
        if others:
            self._error(path, f"{what} only on {', '.join(sorted(allowed))}, not on {', '.join(others)}")

    def compile(self) -> _Result:
        rule, when = self.rule, self.rule.when
        self._check_commands()
        term_lists = self._check_terms()
        fields = self._check_fields()
        if when.keys is not None:
            self._only_on("when.keys", METADATA_EVENTS, "metadata keys exist")
        if when.labels is not None:
            self._only_on("when.labels", frozenset({MODERATION_RESULT}), "labels exist")
        if when.coins_over is not None:
            self._only_on("when.coins_over", frozenset({GIFT_BEFORE}), "coins exist")
        if when.violations is not None:
            for index, kind in enumerate(when.violations.kinds):
                if kind not in self.recorded:
                    self._error(f"when.violations.kinds[{index}]", f'no rule records violation "{kind}"')
        counted = self._check_counted()
        self._check_verdict()
        if rule.snapshot:
            self._only_on("snapshot", METADATA_EVENTS, "metadata can be snapshotted")
        variables: set[str] = set()
        actions = tuple(
            action
            for index, spec in enumerate(rule.then)
            if (action := self._compile_action(index, spec, variables)) is not None
        )
        if not (rule.verdict or rule.then or rule.strike or rule.violation or rule.sanction or rule.snapshot):
            self._error(
                "then", "the rule does nothing: give a verdict, then, strike, violation, sanction or snapshot"
            )
        if self.errors:
            return _Result(None, self.errors)
        return _Result(
            CompiledRule(
                name=rule.name,
                commands=self.commands,
                actor=when.actor,
                rooms=_globs(when.rooms) if when.rooms is not None else None,
                not_rooms=_globs(when.not_rooms) if when.not_rooms else None,
                terms=term_lists,
                fields=fields,
                key_prefixes=tuple(when.keys.prefix) if when.keys else (),
                key_names=frozenset(when.keys.names) if when.keys else frozenset(),
                labels=frozenset(label.casefold() for label in when.labels)
                if when.labels is not None
                else None,
                sanctioned=frozenset(when.sanctioned) if when.sanctioned is not None else None,
                coins_over=when.coins_over,
                strikes=when.strikes,
                violations=when.violations,
                verdict=rule.verdict,
                actions=actions,
                strike=rule.strike is not None,
                strike_count=rule.strike.count if rule.strike is not None else 1,
                violation=rule.violation,
                sanction=rule.sanction,
                snapshot=rule.snapshot,
                variables=frozenset(variables),
                counted=counted,
                shadow=rule.mode == "shadow",
            ),
            [],
        )

    def _check_counted(self) -> tuple[tuple[Kind, RateCondition | RepeatCondition | RaidCondition], ...]:
        """The rate, repeat and raid conditions with the counters they read; each only where its
        events are counted."""
        when = self.rule.when
        counted: list[tuple[Kind, RateCondition | RepeatCondition | RaidCondition]] = []
        if when.rate is not None:
            self._only_on("when.rate", COUNTED_EVENTS, "rates are counted")
            counted.append((when.rate.per, when.rate))
        if when.repeat is not None:
            self._only_on("when.repeat", MESSAGE_EVENTS, "repeated texts are counted")
            counted.append(("repeat", when.repeat))
        if when.raid is not None:
            self._only_on("when.raid", MESSAGE_EVENTS, "users arriving are counted")
            counted.append(("raid", when.raid))
        return tuple(counted)

    def _check_commands(self) -> None:
        for index, command in enumerate(self.rule.on):
            if command not in KNOWN_COMMANDS:
                hint = _closest_command(command)
                suggestion = f' (did you mean "{hint}"?)' if hint else ""
                self._error(f"on[{index}]", f'unknown CallbackCommand "{command}"{suggestion}')
        if len(self.commands) != len(self.rule.on):
            self._error("on", "a CallbackCommand is listed twice")

    def _check_terms(self) -> tuple[TermList, ...]:
        names = self.rule.when.terms
        if names is None:
            return ()
        if not names:
            self._error("when.terms", "name at least one term list")
        found = []
        for name in names:
            if name in self.unreadable:
                continue  # already reported where the list is defined
            if name not in self.terms:
                known = ", ".join(sorted(self.terms)) or "none defined"
                self._error("when.terms", f'unknown term list "{name}" (known: {known})')
            else:
                found.append(self.terms[name])
        for command in sorted(self.commands):
            if command in KNOWN_COMMANDS and command not in TEXT_FIELDS:
                self._error("when.terms", f"{command} carries no text to look for terms in")
        return tuple(found)

    def _check_fields(self) -> frozenset[str] | None:
        fields = self.rule.when.fields
        if fields is None:
            return None
        if self.rule.when.terms is None:
            self._error("when.fields", "fields choose where when.terms looks: give when.terms too")
        for index, name in enumerate(fields):
            if name not in ALL_TEXT_FIELDS:
                self._error(
                    f"when.fields[{index}]",
                    f'unknown field "{name}" (known: {", ".join(sorted(ALL_TEXT_FIELDS))})',
                )
        for command in sorted(self.commands):
            carried = set(TEXT_FIELDS.get(command, ()))
            if command in TEXT_FIELDS and not carried & set(fields):
                self._error(
                    "when.fields",
                    f"{command} carries none of {', '.join(fields)} (it has {', '.join(sorted(carried))})",
                )
        return frozenset(fields)

    def _check_verdict(self) -> None:
        verdict = self.rule.verdict
        if verdict is None:
            return
        self._only_on("verdict", BEFORE_EVENTS, "a verdict is answered")
        if verdict.action in ("drop", "mask", "hold"):
            self._only_on(
                "verdict.action", frozenset({MESSAGE_BEFORE}), f"{verdict.action} applies to messages"
            )
        if verdict.action == "mask":
            if not self.rule.when.terms:
                self._error("verdict.action", "mask hides the terms of when.terms: give when.terms")
            mask = normalize(verdict.mask_char)
            for name in self.rule.when.terms or []:
                terms = self.terms.get(name)
                if terms is not None and terms.mode != "regex" and any(mask in term for term in terms.terms):
                    self._error(
                        "verdict.mask_char",
                        f'term list "{name}" has a term containing "{verdict.mask_char}": '
                        "masking would not hide it",
                    )

    def _compile_action(self, index: int, spec: ActionSpec, variables: set[str]) -> CompiledAction | None:
        path = f"then[{index}]"
        if spec.command not in WRITE_COMMANDS:
            if spec.command.startswith("get_"):
                reason = "is a read: rules run write commands only"
            else:
                hint = difflib.get_close_matches(spec.command, WRITE_COMMANDS, n=1)
                suggestion = f' (did you mean "{hint[0]}"?)' if hint else ""
                reason = f"is not a LiveClient write command{suggestion}"
            self._error(f"{path}.command", f'"{spec.command}" {reason}')
            return None
        used: set[str] = set()
        try:
            template = compile_template(spec.params, f"{path}.params", used)
        except TemplateInvalid as error:
            self._error(error.path, error.reason)
            return None
        if spec.unless_empty is not None:
            if spec.unless_empty not in VARIABLES:
                self._error(f"{path}.unless_empty", f'unknown variable "{spec.unless_empty}"')
                return None
            used.add(spec.unless_empty)
        ok = True
        for name in sorted(used):
            carriers = VARIABLES[name].commands
            if carriers is not None and not self.commands <= carriers:
                missing = ", ".join(sorted(self.commands - carriers))
                self._error(f"{path}.params", f"{{{name}}} is not carried by {missing}")
                ok = False
        if ok and self.check_params:
            ok = self._check_params(path, spec.command, template)
        variables.update(used)
        return CompiledAction(spec.command, template, spec.unless_empty, spec.delay_seconds) if ok else None

    def _check_params(self, path: str, command: str, template: Template) -> bool:
        # Imported here: the request models cost ~200 ms to import, and only this check needs them.
        from liveguard.tencent.commands import COMMANDS

        params = template.render(SAMPLE_VALUES.__getitem__)
        try:
            COMMANDS[command].model_validate(params)
        except ValidationError as error:
            for item in error.errors(include_url=False, include_input=False, include_context=False)[:3]:
                where = _path([f"{path}.params", *item["loc"]])
                self._error(where, _MESSAGES.get(item["type"], item["msg"]))
            return False
        return True


def _closest_command(command: str) -> str | None:
    """The known CallbackCommand ``command`` most likely meant. The name after the namespace is compared
    first, so a right name under the wrong namespace (``Group.CallbackBeforeSendGift``) finds
    ``Live.CallbackBeforeSendGift`` rather than a look-alike in its own namespace; then the whole."""
    by_name: dict[str, list[str]] = {}
    for known in sorted(KNOWN_COMMANDS):
        by_name.setdefault(known.rpartition(".")[2], []).append(known)
    close = difflib.get_close_matches(command.rpartition(".")[2], by_name, n=1)
    if close:
        return max(by_name[close[0]], key=lambda known: difflib.SequenceMatcher(None, command, known).ratio())
    whole = difflib.get_close_matches(command, KNOWN_COMMANDS, n=1)
    return whole[0] if whole else None


def _globs(patterns: Sequence[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{fnmatch.translate(pattern)})" for pattern in patterns))
