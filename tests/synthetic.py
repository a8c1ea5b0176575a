"""Tiny corpora written by the tests: our own words, never IMDB text."""

from __future__ import annotations

import random
import tarfile
from pathlib import Path

FILLER = ("the plot camera actor scene story ending music film movie script light color "
          "sound long short early late house city night day train boat road river").split()


def review(label: int | None, rng: random.Random, n_words: int = 12) -> str:
    """Filler words plus one decisive word: 'splendid' for positive, 'dreadful' for negative
    (none for ``label=None``)."""
    words = [rng.choice(FILLER) for _ in range(n_words)]
    if label is not None:
        words.insert(rng.randrange(len(words) + 1), "splendid" if label else "dreadful")
    return " ".join(words).capitalize() + ".<br /><br />" + rng.choice(FILLER) + "!"


def write_aclimdb(root: Path, per_folder: int = 4, seed: int = 0) -> Path:
    """The real aclImdb layout: aclImdb/{train,test}/{pos,neg}/ID_RATING.txt."""
    rng = random.Random(seed)
    for split in ("train", "test"):
        for polarity, label in (("pos", 1), ("neg", 0)):
            folder = root / "aclImdb" / split / polarity
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(per_folder):
                rating = rng.randint(7, 10) if label else rng.randint(1, 4)
                (folder / f"{i}_{rating}.txt").write_text(review(label, rng), encoding="utf-8")
    return root / "aclImdb"


def tar_aclimdb(root: Path, per_folder: int = 4, seed: int = 0) -> Path:
    tree = write_aclimdb(root / "tree", per_folder, seed)
    archive = root / "aclImdb_small.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tree, arcname="aclImdb")
    return archive
