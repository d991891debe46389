"""Offline query translation between French and English, with Apertium through Spanish.

A French question over an English base shares few words with its answer, so BM25 finds
little; the same question translated shares many. Debian's ``apertium`` translates
French to English through Spanish (``fr-es`` then ``spa-eng``, the packages
``apertium-fr-es`` and ``apertium-eng-spa``) and back (``eng-spa`` then ``es-fr``) in a
fraction of a second, with no model to download. The translation is rough, but a query
is a bag of words to BM25 and a rough sentence to the embedder; what it brings to search
is measured in ``benchmarks/results/cross-language-latest.md``.

:class:`ApertiumTranslator` keeps each direction's pipeline running: every stage of
its two modes (morphological analysis, tagging, transfer, generation: 24 processes)
started once, in Apertium's null-flush mode, connected by pipes with no shell, so a
translation costs a few milliseconds instead of the 0.2–0.7 s of loading every
dictionary again (about 180 MB of memory per direction; ``persistent=False`` runs the
``apertium`` command per call instead, as it does wherever the pipeline cannot be
set up). It strips Apertium's marks on unknown words, and keeps the last translations in
a bounded LRU cache. Apertium is an optional system package:
:meth:`~ApertiumTranslator.available` says whether it is installed, and a caller that
asks for a translation without it gets :class:`TranslatorMissingError` naming the
packages to install.
"""

from __future__ import annotations

import logging
import os
import re
import select
import shlex
import shutil
import subprocess
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

from ..errors import InputError, MissingDependencyError, SrmkbError

__all__ = [
    "DEFAULT_TIMEOUT",
    "MAX_TRANSLATION_CHARS",
    "PACKAGES",
    "PAIRS",
    "ApertiumTranslator",
    "TranslationError",
    "Translator",
    "TranslatorMissingError",
    "default_translator",
]

logger = logging.getLogger(__name__)

#: (source, target) -> the Apertium modes run one after the other (through Spanish).
PAIRS: dict[tuple[str, str], tuple[str, ...]] = {
    ("fr", "en"): ("fr-es", "spa-eng"),
    ("en", "fr"): ("eng-spa", "es-fr"),
}
#: The Debian packages that provide those modes.
PACKAGES = ("apertium", "apertium-fr-es", "apertium-eng-spa")
#: Longest text translated (characters): a query or a question, as search accepts it.
MAX_TRANSLATION_CHARS = 10_000
#: Seconds one translation (every step of the pipeline) may take.
DEFAULT_TIMEOUT = 10.0
# Apertium's marks: * unknown word (``-u`` drops it), # and @ generation and transfer
# gaps; a mark is dropped, the word kept. One pass, linear in the text.
_MARK = re.compile(r"(?<!\w)[*#@]+(?=\w)")
# Line breaks and other control characters would split one text into several lines.
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\x85]+")
# Characters of Apertium's stream format become spaces in a text sent to a pipeline:
# escaped (as ``apertium-destxt`` does), some still stop a stage (``lrx-proc`` never
# answers a text ending in an escaped ^), and a query's symbols are not words to
# translate. In the output, an unescaped [ ... ] is a blank of the format and a
# backslash escapes the character after it.
_SPECIAL = re.compile(r"[\\\[\]^$<>/@{}~]+")
_SUPERBLANK = re.compile(r"(?<!\\)\[(?:[^\]\\]|\\.)*\]")
_ESCAPED = re.compile(r"\\(.)")
# What ends a text sent to a pipeline: a blank holding a line break (a stage reads one
# character past a word before it answers), then the null character that flushes every
# stage.
_END = b"[][\n]\0"


class TranslationError(SrmkbError):
    """The translator failed on a text: it exited with an error, timed out, or returned
    something other than one line per text."""


class TranslatorMissingError(MissingDependencyError):
    """Apertium or one of its language pairs is not installed."""

    def __init__(self, missing: str) -> None:
        SrmkbError.__init__(
            self,
            f"{missing} is required to translate queries: apt-get install"
            f" {' '.join(PACKAGES)} (``make`` does it when run as root)",
        )
        self.package = missing
        self.extra = "apertium"


@runtime_checkable
class Translator(Protocol):
    """Translates short texts (queries, questions) from one language to another."""

    def can_translate(self, source: str, target: str) -> bool:
        """Whether texts in ``source`` can be translated to ``target`` here."""
        ...

    def translate(self, text: str, source: str, target: str) -> str:
        """``text`` in ``target``; :class:`TranslationError` when the translator fails."""
        ...


class ApertiumTranslator:
    """French <-> English through Spanish with the ``apertium`` binary (see the module).

    ``binary`` is the command (looked up on ``PATH``), ``timeout`` the seconds a
    translation may take, ``cache_size`` how many translations are kept (least recently
    used first out); ``persistent`` keeps each direction's pipeline running (see the
    module). Thread-safe; a forked child starts its own pipelines.
    """

    def __init__(
        self,
        *,
        binary: str = "apertium",
        timeout: float = DEFAULT_TIMEOUT,
        cache_size: int = 4096,
        max_chars: int = MAX_TRANSLATION_CHARS,
        persistent: bool = True,
    ) -> None:
        if timeout <= 0 or cache_size < 0 or max_chars < 1:
            raise InputError("timeout must be > 0, cache_size >= 0 and max_chars >= 1")
        self.binary = binary
        self.timeout = timeout
        self.cache_size = cache_size
        self.max_chars = max_chars
        self.persistent = persistent
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple[str, str, str], str] = OrderedDict()
        self._modes: frozenset[str] | None = None
        self.calls = 0  # translations run (the cache's misses)
        # (source, target) -> its running pipeline, or None where one cannot be set up
        self._pipelines: dict[tuple[str, str], _Pipeline | None] = {}
        self._pipelines_lock = threading.Lock()
        self._pid = os.getpid()
        self._finalizer = weakref.finalize(self, _close_all, self._pipelines)

    def __repr__(self) -> str:
        return f"ApertiumTranslator(binary={self.binary!r}, timeout={self.timeout})"

    # -- what is installed ---------------------------------------------------------------

    def modes(self) -> frozenset[str]:
        """The Apertium modes installed (``apertium -l``), empty without the binary;
        asked once per translator."""
        if self._modes is None:
            self._modes = self._list_modes()
        return self._modes

    def _list_modes(self) -> frozenset[str]:
        path = shutil.which(self.binary)
        if path is None:
            return frozenset()
        try:
            done = subprocess.run(
                [path, "-l"],
                capture_output=True,
                timeout=self.timeout,
                check=False,
                stdin=subprocess.DEVNULL,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            logger.warning("%s -l failed: %s", self.binary, exc)
            return frozenset()
        # ``apertium -l`` exits 1 after listing the modes on some versions.
        text = done.stdout.decode("utf-8", "replace")
        return frozenset(line.strip() for line in text.splitlines() if line.strip())

    def available(self, source: str = "fr", target: str = "en") -> bool:
        """Whether ``apertium`` and the modes for ``source`` -> ``target`` are installed."""
        return self.can_translate(source, target)

    def can_translate(self, source: str, target: str) -> bool:
        steps = PAIRS.get((source, target))
        return steps is not None and set(steps) <= self.modes()

    # -- translating ---------------------------------------------------------------------

    def translate(self, text: str, source: str, target: str) -> str:
        """``text`` (at most ``max_chars`` characters) translated from ``source`` to
        ``target``; line breaks become spaces."""
        return self.translate_many([text], source, target)[0]

    def translate_many(self, texts: Sequence[str], source: str, target: str) -> list[str]:
        """Each text translated, in order, with one run of the pipeline for those not
        in the cache (a benchmark translates its queries at once this way)."""
        steps = self._steps(source, target)
        cleaned = [self._clean(text) for text in texts]
        out: list[str | None] = []
        with self._lock:
            for text in cleaned:
                key = (source, target, text)
                found = self._cache.get(key)
                if found is not None:
                    self._cache.move_to_end(key)
                out.append(found)
        todo = list(dict.fromkeys(t for t, o in zip(cleaned, out) if o is None and t.strip()))
        done = dict(zip(todo, self._translate(source, target, steps, todo))) if todo else {}
        with self._lock:
            for text, translated in done.items():
                self._remember((source, target, text), translated)
        return [o if o is not None else done.get(t, t) for t, o in zip(cleaned, out)]

    def _steps(self, source: str, target: str) -> tuple[str, ...]:
        steps = PAIRS.get((source, target))
        if steps is None:
            known = ", ".join(f"{s}->{t}" for s, t in PAIRS)
            raise InputError(f"no translation from {source!r} to {target!r}; known: {known}")
        if shutil.which(self.binary) is None:
            raise TranslatorMissingError(self.binary)
        missing = [mode for mode in steps if mode not in self.modes()]
        if missing:
            raise TranslatorMissingError(f"the Apertium mode(s) {', '.join(missing)}")
        return steps

    def _clean(self, text: str) -> str:
        if not isinstance(text, str):
            raise InputError(f"text to translate must be a string, got {type(text).__name__}")
        if len(text) > self.max_chars:
            raise InputError(
                f"text to translate is {len(text):,} characters long;"
                f" at most {self.max_chars:,} are accepted"
            )
        return _CONTROL.sub(" ", text).strip()

    def _remember(self, key: tuple[str, str, str], value: str) -> None:
        if self.cache_size == 0:
            return
        self._cache[key] = value
        self._cache.move_to_end(key)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    def close(self) -> None:
        """Stop the pipelines this translator keeps running (a later translation starts
        them again)."""
        with self._pipelines_lock:
            _close_all(self._pipelines)

    def _translate(
        self, source: str, target: str, steps: Sequence[str], texts: list[str]
    ) -> list[str]:
        pipeline = self._pipeline(source, target, steps) if self.persistent else None
        if pipeline is None:
            return self._run(steps, texts)
        out = []
        for text in texts:
            self.calls += 1
            try:
                out.append(pipeline.translate(text, self.timeout))
            except TranslationError:
                with self._pipelines_lock:  # the next translation starts a new one
                    if self._pipelines.get((source, target)) is pipeline:
                        del self._pipelines[source, target]
                pipeline.close()
                raise
        return out

    def _pipeline(self, source: str, target: str, steps: Sequence[str]) -> _Pipeline | None:
        """The running pipeline from ``source`` to ``target``, started on first use;
        None where the installed Apertium cannot run one (then each call runs
        ``apertium``)."""
        with self._pipelines_lock:
            if os.getpid() != self._pid:  # a forked child: its parent's pipes are not its
                self._finalizer.detach()  # nor are they its to close
                self._pipelines = {}
                self._pid = os.getpid()
                self._finalizer = weakref.finalize(self, _close_all, self._pipelines)
            key = (source, target)
            if key not in self._pipelines:
                commands = _stage_commands(self.binary, steps, self.timeout)
                pipeline = None
                if commands is not None:
                    try:
                        pipeline = _Pipeline(commands)
                    except OSError as exc:
                        logger.warning("cannot start the Apertium pipeline: %s", exc)
                self._pipelines[key] = pipeline
            return self._pipelines[key]

    def _run(self, steps: Sequence[str], texts: list[str]) -> list[str]:
        """The pipeline over ``texts``, one line each, every step within one deadline."""
        self.calls += 1
        data = "\n".join(texts) + "\n"
        deadline = time.monotonic() + self.timeout
        for mode in steps:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TranslationError(f"translation timed out after {self.timeout:g} s")
            try:
                done = subprocess.run(
                    [self.binary, "-u", "-f", "line", mode],
                    input=data.encode("utf-8"),
                    capture_output=True,
                    timeout=left,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                raise TranslationError(
                    f"translation ({mode}) timed out after {self.timeout:g} s"
                ) from None
            except OSError as exc:
                raise TranslatorMissingError(f"{self.binary} ({exc.strerror})") from None
            if done.returncode != 0:
                said = done.stderr.decode("utf-8", "replace").strip().splitlines()
                reason = said[0] if said else "no message"
                raise TranslationError(
                    f"{self.binary} {mode} exited with status {done.returncode}: {reason}"
                )
            data = done.stdout.decode("utf-8", "replace")
        lines = data.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        if len(lines) != len(texts):
            raise TranslationError(
                f"{self.binary} returned {len(lines)} line(s) for {len(texts)} text(s)"
            )
        return [_MARK.sub("", line).strip() for line in lines]


class _Pipeline:
    """One direction's Apertium stages kept running, each its own process reading the
    previous one's output, in null-flush mode: a text followed by the null character
    comes out translated, followed by it, and every stage waits for the next."""

    def __init__(self, commands: Sequence[Sequence[str]]) -> None:
        self._procs: list[subprocess.Popen[bytes]] = []
        self._lock = threading.Lock()
        try:
            for argv in commands:
                before = self._procs[-1].stdout if self._procs else None
                proc = subprocess.Popen(
                    list(argv),
                    stdin=before if before is not None else subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                )
                if before is not None:
                    before.close()  # the stage after owns it now
                self._procs.append(proc)
        except BaseException:
            self.close()
            raise
        assert self._procs[0].stdin is not None and self._procs[-1].stdout is not None
        self._stdin, self._stdout = self._procs[0].stdin, self._procs[-1].stdout
        os.set_blocking(self._stdin.fileno(), False)
        os.set_blocking(self._stdout.fileno(), False)

    def translate(self, text: str, timeout: float) -> str:
        """``text`` (one line, no control character) through every stage, within
        ``timeout`` seconds; :class:`TranslationError` when a stage has died or hangs."""
        data = memoryview(_SPECIAL.sub(" ", text).encode("utf-8") + _END)
        deadline = time.monotonic() + timeout
        out = bytearray()
        with self._lock:
            infd, outfd = self._stdin.fileno(), self._stdout.fileno()
            while not out.endswith(b"\0"):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TranslationError(f"translation timed out after {timeout:g} s")
                readable, writable, _ = select.select([outfd], [infd] if data else [], [], left)
                try:
                    if writable:
                        data = data[os.write(infd, data) :]
                    if readable:
                        chunk = os.read(outfd, 65536)
                        if not chunk:
                            raise TranslationError("the Apertium pipeline stopped")
                        out += chunk
                except BrokenPipeError:
                    raise TranslationError("the Apertium pipeline stopped") from None
        translated = _SUPERBLANK.sub(" ", out[:-1].decode("utf-8", "replace"))
        return " ".join(_MARK.sub("", _ESCAPED.sub(r"\1", translated)).split())

    def close(self) -> None:
        for proc in self._procs:
            if proc.poll() is None:
                proc.kill()
            for stream in (proc.stdin, proc.stdout):
                if stream is not None:
                    stream.close()
            proc.wait()


def _close_all(pipelines: dict[tuple[str, str], _Pipeline | None]) -> None:
    for pipeline in list(pipelines.values()):
        if pipeline is not None:
            pipeline.close()
    pipelines.clear()


def _stage_commands(binary: str, steps: Sequence[str], timeout: float) -> list[list[str]] | None:
    """The argument lists of every stage of ``steps``' modes in null-flush mode, as
    ``apertium-wblank-mode -z`` writes them from the installed mode files (the
    ``apertium`` command's own options: unknown words unmarked, one tagger output);
    None when that tool, a mode file or anything in it is not as expected."""
    path = shutil.which(binary)
    tool = shutil.which("apertium-wblank-mode")
    if path is None or tool is None:
        return None
    roots = [Path(p) for p in (os.environ.get("APERTIUM_DATADIR"),) if p]
    roots.append(Path(path).resolve().parent.parent / "share" / "apertium")
    commands: list[list[str]] = []
    for mode in steps:
        found = next(
            (
                r / "modes" / f"{mode}.mode"
                for r in roots
                if (r / "modes" / f"{mode}.mode").is_file()
            ),
            None,
        )
        if found is None:
            return None
        try:
            done = subprocess.run(
                [tool, "-z", str(found)], capture_output=True, timeout=timeout, check=False
            )
        except (OSError, subprocess.SubprocessError):
            return None
        if done.returncode != 0:
            return None
        lexer = shlex.shlex(
            done.stdout.decode("utf-8", "replace"), posix=True, punctuation_chars="|"
        )
        lexer.whitespace_split = True
        stage: list[str] = []
        for token in [*lexer, "|"]:
            if token != "|":
                # $1: the generator's option (-n: no marks on unknown words, as
                # ``apertium -u``); $2: the tagger's (none).
                stage += {"$1": ["-n"], "$2": []}.get(token, [token])
            elif stage:
                if any("$" in word or "`" in word for word in stage):
                    return None  # something the shell would expand
                commands.append(stage)
                stage = []
    return commands or None


_default: ApertiumTranslator | None = None
_default_lock = threading.Lock()


def default_translator() -> ApertiumTranslator:
    """The process's shared Apertium translator (one cache for every base)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = ApertiumTranslator()
        return _default
