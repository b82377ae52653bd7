"""The model factory (training/): concepts from Unicode files, honest splits,
designs from registry packages, the free-form query set."""

import numpy as np
import pytest

from training import emoji_data, styles
from training.free_form import QUERIES

pytestmark = pytest.mark.skipif(not emoji_data.EMOJI_TEST.exists(), reason="needs Debian's unicode-data (make system)")


def test_emoji_are_read_with_names_groups_keywords_and_no_skin_tones():
    emoji = emoji_data.read_emoji()
    assert len(emoji) > 1800
    assert not any(emoji_data.SKIN_TONES & set(e.chars) for e in emoji)
    first = emoji[0]
    assert (first.name, first.group, first.subgroup) == ("grinning face", "Smileys & Emotion", "face-smiling")
    captions = first.captions()
    assert captions[0] == "grinning face" and "grin" in first.keywords
    # Unicode's grouping and CLDR keywords are phrased too, not only the name.
    assert any("face smiling" in c for c in captions) and any("grin" in c for c in captions)


def test_close_variants_share_a_concept_and_the_split_never_divides_one():
    emoji = emoji_data.read_emoji()
    by_name = {e.name: e for e in emoji}
    assert by_name["man cook"].concept == by_name["woman cook"].concept == by_name["cook"].concept
    assert by_name["cat face"].concept == by_name["cat"].concept
    train, test = emoji_data.split_by_concept(emoji)
    assert {e.concept for e in train}.isdisjoint({e.concept for e in test})
    assert 0.15 < len(test) / len(emoji) < 0.25
    assert emoji_data.split_by_concept(emoji) == (train, test)  # seeded: the same every time


@pytest.mark.skipif(not styles.NOTO_FONT.exists(), reason="needs fonts-noto-color-emoji (make system)")
def test_noto_renders_centred_on_white():
    picture = styles.render(emoji_data.read_emoji()[0], "noto-font", 64)
    assert picture.size == (64, 64) and picture.mode == "RGB"
    assert picture.getpixel((0, 0)) == (255, 255, 255) and picture.getpixel((32, 32)) != (255, 255, 255)


def test_held_out_designs_are_never_training_designs():
    assert set(styles.HELD_OUT_STYLES) == {"twemoji", "fxemoji"}
    assert set(styles.HELD_OUT_STYLES).isdisjoint(styles.TRAINING_STYLES)
    assert all(s in styles.ICONIFY or s in ("noto-font", "openmoji") for s in styles.TRAINING_STYLES)


def test_every_free_form_query_names_real_subgroups():
    subgroups = {e.subgroup for e in emoji_data.read_emoji()}
    assert len(QUERIES) >= 40
    for query, accepted in QUERIES.items():
        assert set(accepted) <= subgroups, query


def test_renders_are_cached_on_disk(tmp_path, monkeypatch):
    monkeypatch.setattr(styles, "CACHE", tmp_path)
    emoji = emoji_data.read_emoji()[:5]
    images, index = styles.rendered("openmoji", emoji, px=32)
    assert images.shape == (5, 32, 32, 3) and images.dtype == np.uint8 and list(index) == [0, 1, 2, 3, 4]
    assert len(list(tmp_path.glob("openmoji-32-*.npz"))) == 1
    monkeypatch.setattr(styles, "render", lambda *_: pytest.fail("a cached style was drawn again"))
    again, _ = styles.rendered("openmoji", emoji, px=32)
    assert np.array_equal(images, again)


def test_only_english_titled_drawings_train():
    """Untranslated titles taught the first model 3.0 that unknown words have pictures (nonsense matched)."""
    from training.clipart import english_titled

    titles = ["bass guitar (music)", "ragazza seduta (people)", "kjumpingcube (applications)", "red apple"]
    assert english_titled(titles).tolist() == [True, False, False, True]
    assert not english_titled(["(flags)"]).any()  # a folder alone is no title


def test_named_icons_never_train_a_concept_held_out_from_the_emoji():
    """An icon named like a held-out emoji concept would train it, and the card's "unseen" figures would lie."""
    from training.icons import caption_of, kept_names, unseen_words

    held_out = next(w for w in sorted(unseen_words()) if w.isalpha() and len(w) >= 3)
    names = [f"big-{held_out}-3", "claw-hammer", "claw-hammer-2", "ragazza-seduta", "x", "blue-claw-hammer"]
    assert caption_of("claw-hammer-2") == "claw hammer"
    # held out, drawn twice, not English, not a word; a colour word holds nothing back
    assert kept_names(names) == ["claw-hammer", "blue-claw-hammer"]
