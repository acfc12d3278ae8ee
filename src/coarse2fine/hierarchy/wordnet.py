"""Offline WordNet 3.0 for nltk.

nltk will not read Debian's /usr/share/wordnet directly: its reader expects a
`corpora/wordnet` folder that also holds a `lexnames` file, which Debian does not ship. We
copy the database files into an nltk_data folder of our own and write `lexnames` (the 45
lexicographer files of WordNet 3.0). Where the Debian files are absent and the machine has
network, `nltk.download('wordnet')` is the other source.
"""

from __future__ import annotations

import functools
import os
import shutil
import sys
from pathlib import Path

DEBIAN_WORDNET = Path("/usr/share/wordnet")
DATABASE_FILES = (
    "adj.exc",
    "adv.exc",
    "cntlist.rev",
    "data.adj",
    "data.adv",
    "data.noun",
    "data.verb",
    "index.adj",
    "index.adv",
    "index.noun",
    "index.sense",
    "index.verb",
    "noun.exc",
    "verb.exc",
)
# WordNet 3.0 lexicographer files: number, name, syntactic category (1 noun, 2 verb, 3 adj, 4 adv).
LEXNAMES = (
    "adj.all 3",
    "adj.pert 3",
    "adv.all 4",
    "noun.Tops 1",
    "noun.act 1",
    "noun.animal 1",
    "noun.artifact 1",
    "noun.attribute 1",
    "noun.body 1",
    "noun.cognition 1",
    "noun.communication 1",
    "noun.event 1",
    "noun.feeling 1",
    "noun.food 1",
    "noun.group 1",
    "noun.location 1",
    "noun.motive 1",
    "noun.object 1",
    "noun.person 1",
    "noun.phenomenon 1",
    "noun.plant 1",
    "noun.possession 1",
    "noun.process 1",
    "noun.quantity 1",
    "noun.relation 1",
    "noun.shape 1",
    "noun.state 1",
    "noun.substance 1",
    "noun.time 1",
    "verb.body 2",
    "verb.change 2",
    "verb.cognition 2",
    "verb.communication 2",
    "verb.competition 2",
    "verb.consumption 2",
    "verb.contact 2",
    "verb.creation 2",
    "verb.emotion 2",
    "verb.motion 2",
    "verb.perception 2",
    "verb.possession 2",
    "verb.social 2",
    "verb.stative 2",
    "verb.weather 2",
    "adj.ppl 3",
)


class WordNetUnavailable(RuntimeError):
    """Neither the Debian WordNet files nor nltk's downloader could provide WordNet."""


def default_nltk_data_dir() -> Path:
    """nltk searches `<sys.prefix>/nltk_data`; inside a venv that is private to the project."""
    return Path(os.environ.get("C2F_NLTK_DATA", Path(sys.prefix) / "nltk_data"))


def install_from_debian(target: Path | None = None, source: Path = DEBIAN_WORDNET) -> Path:
    """Copy Debian's WordNet files into `<target>/corpora/wordnet` and write `lexnames`."""
    target = Path(target or default_nltk_data_dir())
    corpus = target / "corpora" / "wordnet"
    missing = [name for name in DATABASE_FILES if not (source / name).is_file()]
    if missing:
        raise WordNetUnavailable(
            f"Debian WordNet files missing under {source}: {', '.join(missing)} "
            "(install the Debian packages wordnet-base and wordnet-sense-index)"
        )
    corpus.mkdir(parents=True, exist_ok=True)
    for name in DATABASE_FILES:
        dst = corpus / name
        if not dst.exists() or dst.stat().st_size != (source / name).stat().st_size:
            shutil.copyfile(source / name, dst)
    lexnames = "".join(f"{i:02d}\t{entry.split()[0]}\t{entry.split()[1]}\n" for i, entry in enumerate(LEXNAMES))
    if not (corpus / "lexnames").exists() or (corpus / "lexnames").read_text() != lexnames:
        (corpus / "lexnames").write_text(lexnames)
    return corpus


@functools.lru_cache(maxsize=1)
def wordnet():
    """The nltk WordNet corpus reader, provisioned from Debian files or nltk's downloader."""
    import nltk
    from nltk.corpus import wordnet as wn

    data_dir = default_nltk_data_dir()
    if str(data_dir) not in nltk.data.path:
        nltk.data.path.insert(0, str(data_dir))
    try:
        wn.ensure_loaded()
        return wn
    except LookupError:
        pass
    errors = []
    try:
        install_from_debian(data_dir)
    except WordNetUnavailable as exc:
        errors.append(str(exc))
        try:
            if not nltk.download("wordnet", download_dir=str(data_dir), quiet=True, raise_on_error=True):
                raise RuntimeError("nltk.download returned False")
        except Exception as download_exc:  # network errors come in many types
            errors.append(f"nltk.download('wordnet') failed: {download_exc}")
            raise WordNetUnavailable(
                "WordNet is not available. Sources tried: (1) Debian packages wordnet-base and "
                "wordnet-sense-index under /usr/share/wordnet; (2) nltk.download('wordnet'). " + " | ".join(errors)
            ) from download_exc
    wn.ensure_loaded()
    return wn


def synset_from_wnid(wnid: str):
    """An ImageNet wnid such as 'n01440764' names the noun synset with that WordNet offset."""
    if len(wnid) != 9 or wnid[0] != "n" or not wnid[1:].isdigit():
        raise ValueError(f"not an ImageNet wnid: {wnid!r} (expected 'n' and 8 digits)")
    return wordnet().synset_from_pos_and_offset("n", int(wnid[1:]))


def wup_similarity(wnid_a: str, wnid_b: str) -> float:
    """Wu-Palmer similarity between the synsets of two wnids (1.0 for the same class)."""
    if wnid_a == wnid_b:
        return 1.0
    return float(synset_from_wnid(wnid_a).wup_similarity(synset_from_wnid(wnid_b)) or 0.0)


def add_arguments(parser) -> None:
    parser.add_argument("--install", action="store_true", help="build the nltk WordNet folder")
    parser.add_argument("--target", type=Path, default=None)


def run_command(args) -> int:
    if args.install:
        # Copies only what is missing or changed, so a repeated set-up costs milliseconds.
        print(install_from_debian(args.target) if DEBIAN_WORDNET.exists() else wordnet().root)
        return 0
    wn = wordnet()
    print(f"WordNet {wn.get_version()}: {len(list(wn.all_synsets('n')))} noun synsets")
    return 0
