"""Offline assets: the ImageNet-1K class list and WordNet through nltk."""

from __future__ import annotations

import pytest

from coarse2fine.hierarchy import wordnet as wn_mod
from coarse2fine.hierarchy.classes import class_table


def test_class_list_is_imagenet_1k():
    table = class_table()
    assert len(table) == 1000 and table["wnid"].is_unique
    assert table.loc[0, ["wnid", "label"]].tolist() == ["n01440764", "tench"]
    assert table.loc[999, "wnid"] == "n15075141"  # toilet tissue


def test_wordnet_resolves_every_class():
    names = [wn_mod.synset_from_wnid(w).name() for w in class_table()["wnid"]]
    assert len(set(names)) == 1000
    assert names[0] == "tench.n.01"


def test_wu_palmer_orders_related_classes():
    tench, goldfish, toilet_tissue = "n01440764", "n01443537", "n15075141"
    assert wn_mod.wup_similarity(tench, tench) == 1.0
    assert wn_mod.wup_similarity(tench, goldfish) > wn_mod.wup_similarity(tench, toilet_tissue)


def test_bad_wnid_is_named():
    with pytest.raises(ValueError, match="not an ImageNet wnid"):
        wn_mod.synset_from_wnid("x123")


def test_missing_debian_files_name_the_packages(tmp_path):
    with pytest.raises(wn_mod.WordNetUnavailable, match="wordnet-base"):
        wn_mod.install_from_debian(tmp_path / "target", source=tmp_path / "empty")


def test_install_from_debian_builds_a_readable_corpus(tmp_path):
    import nltk
    from nltk.corpus.reader.wordnet import WordNetCorpusReader

    corpus = wn_mod.install_from_debian(tmp_path)
    nltk.data.path.insert(0, str(tmp_path))  # nltk reads corpora only from its search path
    assert len((corpus / "lexnames").read_text().splitlines()) == 45
    reader = WordNetCorpusReader(str(corpus), None)
    assert reader.synset("dog.n.01").lexname() == "noun.animal"
