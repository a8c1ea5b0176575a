"""The versions learned in the app, kept beside the annotation database, and which one is served.

    annotations.sqlite3.versions/
        v1/ v2/ ...      each a complete export (serve.learn.version), its lineage in metadata.json
        .v3.partial/     a version being written (or a learner that was killed): never listed
        current          the name of the version in use ("base": the model the app was started with)

``current`` is replaced atomically (written beside, fsynced, renamed), so a restart serves what was in
use and a kill at any moment leaves either the old name or the new one. Versions are never
overwritten or deleted by the app: a rollback is using an earlier one.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sentilens.artifact import Artifact, read_metadata
from sentilens.errors import InputError, ModelError

__all__ = ["BASE", "Registry", "VersionInfo"]

BASE = "base"
_NAME = re.compile(r"v[1-9][0-9]{0,5}")


@dataclass(frozen=True)
class VersionInfo:
    name: str
    directory: Path
    parent: str  # the version it was learned from
    sha256: str
    lineage: dict


class Registry:
    def __init__(self, folder: str | Path, base_dir: str | Path):
        self.folder = Path(folder)
        self.base_dir = Path(base_dir)

    @classmethod
    def beside(cls, db: str | Path, base_dir: str | Path) -> Registry:
        return cls(Path(f"{db}.versions"), base_dir)

    def names(self) -> list[str]:
        """Complete versions, oldest first (a folder without a loadable metadata.json is not listed)."""
        if not self.folder.is_dir():
            return []
        found = [p.name for p in self.folder.iterdir() if p.is_dir() and _NAME.fullmatch(p.name)
                 and (p / "metadata.json").is_file()]
        return sorted(found, key=lambda n: int(n[1:]))

    def directory(self, name: str) -> Path:
        if name == BASE:
            return self.base_dir
        if not _NAME.fullmatch(name or "") or name not in self.names():
            raise InputError(f"no version named {str(name)[:40]!r}; the versions are {', '.join(self.all())}")
        return self.folder / name

    def all(self) -> list[str]:
        return [BASE] + self.names()

    def info(self, name: str) -> VersionInfo:
        """What the list shows, from ``metadata.json`` alone: it is read on every page load, so the files are
        not hashed here (``use`` loads a version through every check before it is served)."""
        directory = self.directory(name)
        meta = read_metadata(directory)
        try:
            sha256 = meta["sha256"][meta["files"]["onnx"]]
            lineage = meta.get("lineage") or {}
            parent = lineage.get("parent_version", "") if name != BASE else ""
        except (KeyError, TypeError, AttributeError):
            raise ModelError(f"{directory / 'metadata.json'}: incomplete; this version cannot be listed") from None
        return VersionInfo(name, directory, str(parent), str(sha256), lineage)

    def next_name(self) -> str:
        taken = [int(n[1:]) for n in self.names()]
        if self.folder.is_dir():  # a partial folder's number is not reused while it lies there
            taken += [int(m.group(1)) for p in self.folder.iterdir() if (m := re.fullmatch(r"\.v(\d+)\.partial", p.name))]
        return f"v{max(taken, default=0) + 1}"

    def new_path(self) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        return self.folder / self.next_name()

    def current(self) -> str:
        """The version in use: the one named in ``current`` when it still loads, else the base."""
        try:
            name = (self.folder / "current").read_text(encoding="utf-8").strip()
        except OSError:
            return BASE
        return name if name == BASE or name in self.names() else BASE

    def use(self, name: str) -> Path:
        """Make ``name`` the version in use (checked to load first); returns its folder."""
        directory = self.directory(name)
        try:
            Artifact.load(directory)
        except ModelError as err:
            raise InputError(f"version {name} cannot be used: {err}") from None
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=self.folder, prefix=".current.")  # its own, whatever runs at once
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(name + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, self.folder / "current")
        return directory
