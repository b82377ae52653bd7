"""Why this matched: occlusion maps and word drops on the bundled model, and their plain messages."""

import numpy as np
import pytest
from PIL import Image

from similarity.ingest.space import Space
from similarity.search.query import PICTURE, TEXT, Query, text_query
from similarity.search.why import SHOWN, Occlusion, WordShares, explain, occlusion, word_shares
from similarity.storage.keys import CAPTION, IMAGE
from similarity.views.why_plots import word_shares as word_shares_figure


def _item(demo, caption):
    return next(item for item in demo.items if item.caption == caption)


def _picture(demo, caption) -> Image.Image:
    return Image.open(_item(demo, caption).image_path).convert("RGB")


def test_occlusion_finds_the_half_of_the_picture_that_matters(bundled, demo):
    # The red apple on the left half, white on the right: covering the apple must cost more.
    canvas = Image.new("RGB", (128, 128), "white")
    canvas.paste(_picture(demo, "red apple").resize((64, 64)), (0, 32))
    found = occlusion(bundled, canvas, bundled.encode_texts(["red apple"])[0], against="'red apple'")
    half = found.grid // 2
    assert found.heat.shape == (8, 8) and found.encodings == 36
    assert found.heat[:, :half].mean() > found.heat[:, half:].mean() + 0.01
    assert abs(found.heat[:, half + 2 :]).max() < 1e-3  # covering blank white with its background changes nothing
    assert "Red parts" in found.sentence() and "not what the model 'sees'" in found.sentence()


def test_occlusion_base_is_the_pictures_own_cosine(bundled, demo):
    apple = _picture(demo, "red apple")
    target = bundled.encode_texts(["a red fruit"])[0]
    found = occlusion(bundled, apple, target)
    assert found.base == pytest.approx(float(bundled.encode_images([apple])[0] @ target), abs=1e-4)


def test_dropping_a_content_word_matters_more_than_dropping_a(bundled, demo):
    apple = bundled.encode_images([_picture(demo, "red apple")])[0]
    shares = word_shares(bundled, "a red fruit", apple, against="this result")
    drops = dict(zip(shares.words, shares.drops))
    assert shares.words == ("a", "red", "fruit")
    assert drops["red"] > drops["a"] and drops["fruit"] > drops["a"]
    positive = shares.shares[shares.drops > 0]
    assert positive.sum() == pytest.approx(1.0, abs=1e-5)
    assert "ignores how words act together" in shares.sentence()


def test_one_word_has_nothing_to_compare(bundled):
    shares = word_shares(bundled, "apple", bundled.encode_texts(["red apple"])[0])
    assert not shares.comparable and "one word" in shares.sentence() and "nothing to leave out" in shares.sentence()
    with pytest.raises(ValueError, match="no text"):
        word_shares(bundled, "   ", bundled.encode_texts(["x"])[0])


def test_a_one_pixel_picture_is_explained_as_flat(bundled):
    found = occlusion(bundled, Image.new("RGB", (1, 1), (200, 30, 30)), bundled.encode_texts(["red apple"])[0])
    assert np.isfinite(found.heat).all() and found.overlay().size == (SHOWN, SHOWN)
    assert "barely changes" in found.sentence()


def test_a_vector_from_another_space_is_refused_plainly(bundled):
    with pytest.raises(ValueError, match="full space"):
        word_shares(bundled, "red apple", np.ones(7, np.float32))


def test_overlay_size_and_colours_without_a_model():
    heat = np.zeros((4, 4), np.float32)
    heat[0, 0], heat[3, 3] = 0.2, -0.2
    found = Occlusion(heat, 0.3, Image.new("RGB", (50, 50), "white"), "the query", 2, 9)
    image = found.overlay(size=100)
    assert image.size == (100, 100) and image.mode == "RGB"
    red, blue = image.getpixel((5, 5)), image.getpixel((95, 95))
    assert red[0] > red[2] + 80 and blue[2] > blue[0] + 80  # red helped, blue pulled away
    assert image.getpixel((50, 5)) == (255, 255, 255)  # no change: the (greyed) picture shows through


def test_caption_results_and_arithmetic_get_words_and_plain_notes(bundled):
    query = text_query(bundled.encode_texts, "red fruit - green")
    caption = bundled.encode_texts(["red apple"])[0]
    found = explain(bundled, query.label, query.vector, "red apple", caption, "the query")
    assert [type(p) for p in found.parts] == [WordShares, WordShares, WordShares]
    assert any("combines 2 terms" in n for n in found.notes)
    assert any("caption: there is no picture to cover" in n for n in found.notes)
    assert not found.parts[1].comparable  # "- green" is one word


def test_picture_to_picture_maps_both_and_a_missing_query_picture_is_said(bundled, demo):
    apple, pear = _picture(demo, "red apple"), _picture(demo, "green apple")
    a, p = bundled.encode_images([apple, pear])
    both = explain(bundled, apple, a, pear, p, "the query picture")
    assert [type(part) for part in both.parts] == [Occlusion, Occlusion] and not both.notes
    assert both.parts[0].against == "this result" and both.seconds < 5
    alone = explain(bundled, None, a, pear, p, "the uploaded picture")
    assert len(alone.parts) == 1 and "not kept" in alone.notes[0]


def test_word_shares_figure_has_one_bar_per_word_and_titled_axes(bundled):
    shares = word_shares(bundled, "a red fruit", bundled.encode_texts(["red apple"])[0])
    figure = word_shares_figure(shares)
    assert len(figure.data[0].y) == 3 and "cosine" in figure.layout.xaxis.title.text
    assert figure.layout.yaxis.title.text


def _space(bundled, demo, captions, kinds=(IMAGE, CAPTION)) -> Space:
    items = [_item(demo, c) for c in captions]
    rows = [(i, kind) for i in range(len(items)) for kind in kinds]
    vectors = np.concatenate(
        [
            bundled.encode_images([Image.open(items[i].image_path)])
            if kind == IMAGE
            else bundled.encode_texts([items[i].caption])
            for i, kind in rows
        ]
    )
    return Space(vectors, np.array([i for i, _ in rows]), np.array([k for _, k in rows]), items, key="test")


def test_the_app_side_caches_each_explanation_once_per_server(bundled, demo):
    from ui.shared import caches
    from ui.why import explanation_for

    space = _space(bundled, demo, ["red apple", "green apple", "pineapple"])
    query = text_query(bundled.encode_texts, "a shiny red fruit")  # a query no other test explains (one cache)
    before = caches()["why"].computed
    first = explanation_for(bundled, space, 0, query)
    assert explanation_for(bundled, space, 0, query) is first and caches()["why"].computed == before + 1
    assert [type(p) for p in first.parts] == [WordShares, Occlusion]
    item = explanation_for(bundled, space, 2, Query(space.vectors[0], "red apple", PICTURE, row=0))
    assert [type(p) for p in item.parts] == [Occlusion, Occlusion]
    upload = explanation_for(bundled, space, 2, Query(space.vectors[0], "mine.png", PICTURE))
    assert "not kept" in upload.notes[0]


def test_a_caption_only_collection_gets_words_and_a_plain_note(bundled, demo):
    from ui.why import explanation_for

    space = _space(bundled, demo, ["red apple", "pineapple"], kinds=(CAPTION,))
    found = explanation_for(bundled, space, 0, Query(space.vectors[1], "pineapple", TEXT, row=1))
    assert "caption" in found.notes[0] and all(isinstance(p, WordShares) for p in found.parts)
    assert "one word" in found.parts[0].sentence()  # "pineapple" alone


def test_the_why_button_opens_an_explanation_without_errors():
    from streamlit.testing.v1 import AppTest

    def page():
        import numpy as np
        from PIL import Image

        from similarity.encoders.bundled import load_bundled
        from similarity.ingest.collection import load_demo
        from similarity.ingest.space import Space
        from similarity.search.query import text_query
        from similarity.storage.keys import IMAGE
        from ui.why import why_button

        encoder, demo = load_bundled(), load_demo()
        items = [next(i for i in demo.items if i.caption == "red apple")]
        vectors = encoder.encode_images([Image.open(items[0].image_path)])
        space = Space(vectors, np.array([0]), np.array([IMAGE]), items, key="t")
        why_button(encoder, space, 0, text_query(encoder.encode_texts, "a red fruit"))

    at = AppTest.from_function(page, default_timeout=60).run()
    at.button(key="why_0").click().run()
    assert not at.exception
    shown = " ".join(t.value for t in at.text)
    assert "Red parts" in shown and "left out" in shown
