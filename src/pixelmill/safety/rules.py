"""The operators' hard-block rules file, reloaded without a restart.

Format (UTF-8, one rule per line; ``#`` starts a comment line; blank lines are ignored)::

    <python regex><TAB or two+ spaces or " => "><category>

The regex is matched case-insensitively against the prompt's ``folded`` and ``latin`` views
(see :mod:`pixelmill.safety.normalize`), so a rule written in plain lower case also catches
fullwidth, accented, zero-width and leetspeak spellings. Category is one of
:data:`~pixelmill.safety.verdict.CATEGORIES`.

Reload: :meth:`RulesFile.rules` compares the file's mtime (and size) with the last load and
re-reads it when they differ; a file with a bad line keeps the previous rules in force and
logs the error with its line number (an operator typo never opens a hole).
"""

from __future__ import annotations

import logging
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from pixelmill.safety.normalize import Normalized
from pixelmill.safety.verdict import CATEGORIES, LAYER_RULES, Verdict

log = logging.getLogger("pixelmill.safety.rules")
_SPLIT = re.compile(r"\t+|\s{2,}|\s+=>\s+")


class RulesError(ValueError):
    """A rules file line that cannot be used; the message names the line and the fix."""


@dataclass(frozen=True)
class Rule:
    pattern: re.Pattern[str]
    category: str
    line: int


def default_rules_path() -> Path:
    """``$PIXELMILL_HOME/safety_rules.txt`` (or ``~/.pixelmill/safety_rules.txt``)."""
    return Path(os.environ.get("PIXELMILL_HOME", "~/.pixelmill")).expanduser() / "safety_rules.txt"


def parse_rules(text: str, source: str = "<rules>") -> list[Rule]:
    """Parse rules text; raise :class:`RulesError` naming the first bad line."""
    rules: list[Rule] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = _SPLIT.split(line)
        if len(parts) < 2:
            raise RulesError(
                f"{source}:{number}: expected '<regex><TAB><category>', got {line!r}; "
                f"categories: {', '.join(CATEGORIES)}"
            )
        pattern, category = " ".join(parts[:-1]).strip(), parts[-1].strip()
        if category not in CATEGORIES:
            raise RulesError(
                f"{source}:{number}: unknown category {category!r}; use one of {', '.join(CATEGORIES)}"
            )
        try:
            compiled = re.compile(pattern, re.IGNORECASE)
        except re.error as exc:
            raise RulesError(f"{source}:{number}: bad regex {pattern!r}: {exc}") from exc
        rules.append(Rule(compiled, category, number))
    return rules


class RulesFile:
    """Hard-block rules from a file, re-read whenever the file's mtime or size changes.

    A missing file means no rules. Thread-safe.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._stamp: tuple[int, int] | None = None
        self._rules: list[Rule] = []
        self._lock = threading.Lock()

    def rules(self) -> list[Rule]:
        """The current rules (reloading first if the file changed)."""
        try:
            st = self.path.stat()
            stamp: tuple[int, int] | None = (st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            stamp = None
        if stamp == self._stamp:
            return self._rules
        with self._lock:
            if stamp != self._stamp:
                if stamp is None:
                    self._rules = []
                else:
                    try:
                        self._rules = parse_rules(self.path.read_text(encoding="utf-8"), str(self.path))
                        log.info(
                            "safety rules loaded", extra={"path": str(self.path), "rules": len(self._rules)}
                        )
                    except (RulesError, OSError, UnicodeDecodeError) as exc:
                        log.error("safety rules not reloaded; previous rules stay in force: %s", exc)
                self._stamp = stamp
        return self._rules

    def check(self, norm: Normalized) -> Verdict | None:
        """A blocking verdict for the first rule that matches, or None."""
        for rule in self.rules():
            for text in (norm.folded, norm.latin):
                if rule.pattern.search(text):
                    return Verdict.block(
                        rule.category,
                        1.0,
                        LAYER_RULES,
                        f"operator rule line {rule.line}: {rule.pattern.pattern!r}",
                    )
        return None
