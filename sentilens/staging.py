"""Writing results so that nothing is destroyed and nothing is left behind: the one mechanism every
command that writes uses (``serve.batch``, ``serve.convert``, the trainer's export).

- ``check_outputs`` refuses, before anything is opened, an output that is the input (by any
  spelling, symlink or hard link), lies inside an input folder, is a folder, or has no folder.
- ``staged`` writes each output to a temporary file beside it and renames them all into place only
  when the block completes; on any failure or stop they are removed, and a replaced file keeps
  its permissions. ``staged_dir`` does the same for a folder (a model export), and refuses to
  replace a folder that holds anything but an earlier export, or that is, lies in or holds an input.
- A writer never deletes or replaces what it did not make in this run, whatever its name: its
  temporaries and backups get fresh names made exclusively (``mkstemp``, ``mkdtemp``), and replacing
  an earlier export removes only the files its ``metadata.json`` lists, by their role's own name,
  whose bytes still match the sha256 listed (``export_files``).
- ``stop_on_signals`` turns SIGINT and SIGTERM into ``Stopped``, so that the clean-up above runs as
  for any failure. While temporaries are created, renamed or removed the stop is *held* and
  raised after (or dropped, once the results are in place): Python runs signal handlers in the
  main thread whichever thread the signal reached, so the hold is kept here, not in a signal mask.
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import json
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sentilens.artifact import METADATA
from sentilens.digest import file_sha256
from sentilens.errors import DataError

__all__ = ["STOP_SIGNALS", "Stopped", "check_apart", "check_folder", "check_outputs", "export_files", "held",
           "is_export", "staged", "staged_dir", "stop_on_signals"]

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


def _role_names() -> dict[str, str]:
    """Role -> the name every export gives its file: ``FILES`` and every other ``*_FILES`` map of
    ``sentilens.artifact``, read from the module so that a role added there is known here too."""
    from sentilens import artifact

    return {role: name for key, files in vars(artifact).items()
            if (key == "FILES" or key.endswith("_FILES")) and isinstance(files, dict) for role, name in files.items()}


def export_files(folder: Path) -> dict[str, str] | None:
    """The files of an earlier export in ``folder`` (name -> sha256, ``metadata.json`` included), or None
    when it is not one: ``metadata.json`` names each file by its role's own name (``model.onnx``, ...)
    with a sha256 its bytes match, and the folder holds those files and nothing else (no other file,
    folder or link). A ``metadata.json`` written to name someone's thesis.tex makes nothing an export."""
    names = _role_names()
    try:
        raw = (folder / METADATA).read_bytes()
        meta = json.loads(raw)
        files, sums = meta["files"], meta["sha256"]
        listed = {name: sums[name] for role, name in files.items() if names.get(role) == name}
        entries = list(os.scandir(folder))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    if (len(listed) != len(files) or set(sums) != set(listed) or not all(isinstance(v, str) for v in listed.values())
            or {e.name for e in entries} != set(listed) | {METADATA}
            or not all(e.is_file(follow_symlinks=False) for e in entries)):
        return None
    try:
        if any(file_sha256(folder / name) != want for name, want in listed.items()):
            return None
    except OSError:
        return None
    return listed | {METADATA: hashlib.sha256(raw).hexdigest()}


def is_export(folder: Path) -> bool:
    """An earlier export (``export_files``): the only folder a writer may replace."""
    return export_files(folder) is not None


def check_apart(output: Path, inputs: Iterable[str | Path | None]) -> None:
    """Refuse an output that is an input, lies inside one or holds one (by resolved path, so any
    spelling or link), before any work. ``None`` inputs (not given) are passed over."""
    out = Path(output).resolve()
    for given in inputs:
        if given is None:
            continue
        src = Path(given).resolve()
        if out == src or (Path(output).exists() and src.exists() and os.path.samefile(output, src)):
            raise DataError(f"{output}: is the input {given}; choose another output (nothing was written)")
        if src in out.parents:
            raise DataError(f"{output}: lies inside the input {given}; choose another output (nothing was written)")
        if out in src.parents:
            raise DataError(f"{output}: holds the input {given}; choose another output (nothing was written)")


def check_folder(target: Path, inputs: Iterable[str | Path | None] = ()) -> None:
    """Refuse, before any work, a folder to write that is (or is inside, or holds) an input, a link,
    a file, or a folder holding anything but an earlier export."""
    target = Path(target)
    check_apart(target, inputs)
    if target.is_symlink():
        raise DataError(f"{target}: is a link; name the folder itself (nothing was written)")
    if target.exists() and not target.is_dir():
        raise DataError(f"{target}: is a file; name a folder to write the model into")
    if target.is_dir() and any(target.iterdir()) and not is_export(target):
        raise DataError(f"{target}: holds files that are not an earlier export; choose a new or empty folder "
                        "(nothing was written)")


def _exchange(a: Path, b: Path) -> bool:
    """Swap two folders in one step (Linux ``renameat2(RENAME_EXCHANGE)``); False where it is not offered."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):  # a filesystem or kernel without it
        return False
    raise OSError(err, os.strerror(err), str(b))


def _remove_export(folder: Path, files: dict[str, str]) -> None:
    """Delete from ``folder`` (the earlier export, moved aside) only the files it listed, each only if its
    bytes are still the ones listed, then the folder if that left it empty; anything else stays, and
    the folder is named on stderr."""
    for name, want in files.items():
        path = folder / name
        try:
            if path.is_file() and not path.is_symlink():
                got = hashlib.sha256(path.read_bytes()).hexdigest() if name == METADATA else file_sha256(path)
                if got == want:
                    path.unlink()
        except OSError:
            pass
    try:
        folder.rmdir()
    except OSError:
        print(f"note: {folder} holds files the earlier export did not list; they were kept there", file=sys.stderr)


def _put_in_place(staging: Path, target: Path) -> None:
    """``staging`` becomes ``target``. A new or empty target is renamed over (a target filled meanwhile
    makes the rename fail, touching nothing); an earlier export is swapped out, then only its own files
    are removed (``_remove_export``)."""
    if not target.is_dir() or not any(target.iterdir()):
        os.rename(staging, target)
        return
    files = export_files(target)
    if files is None:  # filled with something else while the work ran
        raise DataError(f"{target}: holds files that are not an earlier export; choose a new or empty folder "
                        "(nothing was written)")
    if _exchange(staging, target):  # the earlier export is now at `staging`
        _remove_export(staging, files)
        return
    backup = Path(tempfile.mkdtemp(prefix=f".{target.name}-old-", dir=target.parent))  # ours alone: made now
    os.rename(target, backup)  # onto the empty folder just made
    try:
        os.rename(staging, target)
    except BaseException:
        os.rename(backup, target)
        raise
    _remove_export(backup, files)


@contextmanager
def staged_dir(target: Path, inputs: Iterable[str | Path | None] = ()) -> Iterator[Path]:
    """A folder to fill beside ``target`` (a fresh hidden one, made for this run), put in its place only
    if the block completes (``_put_in_place``); removed otherwise. Nothing is deleted that this run did
    not make, except the files of an earlier export at ``target`` that it replaces."""
    target = Path(target)
    check_folder(target, inputs)
    target.parent.mkdir(parents=True, exist_ok=True)
    with held():
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-staging-", dir=target.parent))
    placed = False
    try:
        yield staging
        check_folder(target)  # still ours to replace after the work
        with held(finishing=True):
            staging.chmod(0o777 & ~_umask())  # mkdtemp makes it private
            _put_in_place(staging, target)
            placed = True  # `staging` is now the target's, or what is left of the earlier export: not ours
    finally:
        if not placed:
            with held():
                shutil.rmtree(staging, ignore_errors=True)
