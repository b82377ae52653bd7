"""The training and demo data: concepts from Unicode files, honest splits."""

import pytest

from similarity import emoji_data

pytestmark = pytest.mark.skipif(not emoji_data.EMOJI_TEST.exists(), reason="needs Debian's unicode-data (make system)")


def test_emoji_are_read_with_names_groups_keywords_and_no_skin_tones():
    emoji = emoji_data.read_emoji()
    assert len(emoji) > 1800
    assert not any(emoji_data.SKIN_TONES & set(e.chars) for e in emoji)
    first = emoji[0]
    assert (first.name, first.group, first.subgroup) == ("grinning face", "Smileys & Emotion", "face-smiling")
    assert "grin" in first.keywords and first.captions()[0] == "grinning face"


def test_close_variants_share_a_concept_and_the_split_never_divides_one():
    emoji = emoji_data.read_emoji()
    by_name = {e.name: e for e in emoji}
    assert by_name["man cook"].concept == by_name["woman cook"].concept == by_name["cook"].concept
    assert by_name["cat face"].concept == by_name["cat"].concept
    train, test = emoji_data.split_by_concept(emoji)
    assert {e.concept for e in train}.isdisjoint({e.concept for e in test})
    assert 0.15 < len(test) / len(emoji) < 0.25
    assert emoji_data.split_by_concept(emoji) == (train, test)  # seeded: the same every time


@pytest.mark.skipif(not emoji_data.NOTO_FONT.exists(), reason="needs fonts-noto-color-emoji (make system)")
def test_noto_renders_centred_on_white():
    picture = emoji_data.render_noto(emoji_data.read_emoji()[0], 64)
    assert picture.size == (64, 64) and picture.mode == "RGB"
    assert picture.getpixel((0, 0)) == (255, 255, 255) and picture.getpixel((32, 32)) != (255, 255, 255)
