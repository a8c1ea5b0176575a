"""Writing results so that nothing is destroyed and nothing is left behind: the one mechanism every
command that writes uses (``serve.batch``, ``serve.convert``, the trainer's export).

- ``check_outputs`` refuses, before anything is opened, an output that is the input (by any
  spelling, symlink or hard link), lies inside an input folder, is a folder, or has no folder.
- ``staged`` writes each output to a temporary file beside it and renames them all into place only
  when the block completes; on any failure or stop they are removed, and a replaced file keeps
  its permissions. ``staged_dir`` does the same for a folder (a model export), and refuses to
  replace a folder that holds anything but an earlier export.
- ``stop_on_signals`` turns SIGINT and SIGTERM into ``Stopped``, so that the clean-up above runs as
  for any failure. While temporaries are created, renamed or removed the stop is *held* and
  raised after (or dropped, once the results are in place): Python runs signal handlers in the
  main thread whichever thread the signal reached, so the hold is kept here, not in a signal mask.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sentilens.errors import DataError

__all__ = ["STOP_SIGNALS", "Stopped", "check_folder", "check_outputs", "held", "is_export", "staged", "staged_dir",
           "stop_on_signals"]

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Stopped(BaseException):
    """The run was stopped by a signal; nothing was written. A ``BaseException`` like
    ``KeyboardInterrupt``, so that no handler meant for one bad row can swallow it."""

    def __init__(self, signum: int):
        self.code = 128 + signum
        super().__init__(f"stopped by {signal.Signals(signum).name}; no output was written and existing files "
                         "are unchanged")


class _Stops:
    """What the signal handler needs to know: is a stop being held, is one pending, is the work done."""

    def __init__(self) -> None:
        self.held, self.pending, self.done = 0, None, False

    def handler(self, signum, frame) -> None:
        if self.done:
            return
        if self.held:
            self.pending = self.pending or signum
            return
        raise Stopped(signum)


_stops = _Stops()


@contextmanager
def stop_on_signals(restore: bool = True) -> Iterator[None]:
    """SIGINT/SIGTERM raise ``Stopped`` inside the block; once ``staged`` has put the results in place
    a stop changes nothing. ``restore=False`` keeps the handler (a command about to exit)."""
    _stops.held, _stops.pending, _stops.done = 0, None, False
    previous = {s: signal.signal(s, _stops.handler) for s in STOP_SIGNALS}
    try:
        yield
    finally:
        if restore:
            for s, handler in previous.items():
                signal.signal(s, handler)


@contextmanager
def held(finishing: bool = False) -> Iterator[None]:
    """No stop inside: one that arrives is raised when the block ends, or dropped when the block
    was ``finishing`` (putting complete results in place)."""
    _stops.held += 1
    try:
        yield
        if finishing:
            _stops.done = True
    finally:
        _stops.held -= 1
        if not _stops.held and _stops.pending is not None:
            signum, _stops.pending = _stops.pending, None
            if not _stops.done:
                raise Stopped(signum)


def check_outputs(src: Path, outputs: list[Path]) -> None:
    """Refuse outputs that would overwrite the input or cannot be written, before anything is opened."""
    source = src.resolve()
    for target in outputs:
        if not target.parent.is_dir():
            raise DataError(f"{target}: folder {target.parent} does not exist")
        if target.is_dir():
            raise DataError(f"{target}: is a folder; name a file to write")
        resolved = target.resolve()
        if resolved == source or (target.exists() and src.exists() and os.path.samefile(target, src)):
            raise DataError(f"{target}: is the input file; choose another output (nothing was written)")
        if src.is_dir() and source in resolved.parents:
            raise DataError(f"{target}: lies inside the input folder; choose another output (nothing was written)")


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


@contextmanager
def staged(*targets: Path) -> Iterator[list]:
    """Binary files to write ``targets`` through: temporaries beside them, renamed into place only if
    the block completes, else removed; the targets stay exactly as they were."""
    temps, files = [], []
    try:
        with held():
            for target in targets:
                fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
                temps.append(Path(name))
                files.append(os.fdopen(fd, "wb"))
        yield files
        for f in files:
            if not f.closed:
                f.flush()
                os.fsync(f.fileno())
                f.close()
        with held(finishing=True):
            for temp, target in zip(temps, targets):
                os.chmod(temp, target.stat().st_mode & 0o7777 if target.exists() else 0o666 & ~_umask())
                os.replace(temp, target)
            temps.clear()
    finally:
        with held():  # a second stop must not cut the clean-up short; a full disk must not either
            for f in files:
                try:
                    f.close()
                except OSError:
                    pass
            for temp in temps:
                temp.unlink(missing_ok=True)


def is_export(folder: Path) -> bool:
    """An earlier export: ``metadata.json`` naming files, and nothing but those files in the folder."""
    import json

    try:
        meta = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
        ours = set(meta["files"].values()) | {"metadata.json"}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False
    return all(p.name in ours and p.is_file() for p in folder.iterdir())


def check_folder(target: Path, replaceable: Callable[[Path], bool] = is_export) -> None:
    """Refuse to replace a folder that holds anything ``replaceable`` does not accept (before any work)."""
    if target.exists() and not target.is_dir():
        raise DataError(f"{target}: is a file; name a folder to write the model into")
    if target.is_dir() and any(target.iterdir()) and not replaceable(target):
        raise DataError(f"{target}: holds files that are not an earlier export; choose a new or empty folder "
                        "(nothing was written)")


@contextmanager
def staged_dir(target: Path, replaceable: Callable[[Path], bool] = is_export) -> Iterator[Path]:
    """A folder to fill beside ``target``, swapped into its place only if the block completes."""
    target = Path(target)
    check_folder(target, replaceable)
    target.parent.mkdir(parents=True, exist_ok=True)
    with held():
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-staging-", dir=target.parent))
    try:
        yield staging
        check_folder(target, replaceable)  # still ours to replace after the work
        with held(finishing=True):
            staging.chmod(0o777 & ~_umask())  # mkdtemp makes it private
            backup = target.with_name(target.name + ".old")
            if target.exists():
                shutil.rmtree(backup, ignore_errors=True)
                target.rename(backup)
            staging.rename(target)
            shutil.rmtree(backup, ignore_errors=True)
    finally:
        with held():
            shutil.rmtree(staging, ignore_errors=True)
