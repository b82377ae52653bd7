"""How good the model is on a collection: recall both ways, mean rank, zero-shot, recomputed independently."""

from pathlib import Path

import numpy as np
import pytest
from conftest import unit_vectors

from similarity.ingest.collection import Item
from similarity.ingest.space import Space, embed_collection
from similarity.storage.keys import CAPTION, IMAGE
from similarity.storage.paths import DEMO_VECTORS
from similarity.storage.vectors import EmbeddingStore
from similarity.views import quality
from similarity.views.quality import own_pair_quality, side_by_side


@pytest.fixture(scope="module")
def demo_space(bundled, demo, tmp_path_factory):
    store = EmbeddingStore(tmp_path_factory.mktemp("store"), bundled.key, shipped=(DEMO_VECTORS,))
    return embed_collection(bundled, store, demo)


def paired_space(pictures: np.ndarray, captions: np.ndarray, texts: list[str], labels=None) -> Space:
    """Item i has picture ``pictures[i]`` and caption ``texts[i]`` (vector ``captions[i]``): rows interleaved."""
    n = len(pictures)
    labels = labels or [None] * n
    items = [Item(f"id{i}", f"p{i}.png", Path(f"p{i}.png"), texts[i], labels[i]) for i in range(n)]
    vectors = np.empty((2 * n, pictures.shape[1]), np.float32)
    vectors[0::2], vectors[1::2] = pictures, captions
    return Space(vectors, np.repeat(np.arange(n), 2), np.array([IMAGE, CAPTION] * n, dtype=object), items)


# --- the demo, recomputed with a plain argsort over the full matrix -----------------------------------


def test_demo_figures_match_an_independent_argsort(demo_space):
    by_item = {(int(i), k): r for r, (i, k) in enumerate(zip(demo_space.item, demo_space.kind))}
    both = sorted(i for i, k in by_item if k == IMAGE and (i, CAPTION) in by_item)
    pictures = demo_space.vectors[[by_item[i, IMAGE] for i in both]]
    captions = demo_space.vectors[[by_item[i, CAPTION] for i in both]]
    assert len({demo_space.items[i].caption for i in both}) == len(both)  # the demo's captions are all distinct
    similarity = captions @ pictures.T  # (caption, picture), the whole matrix at once
    n = len(both)

    def ranks(matrix):
        order = np.argsort(-matrix, axis=1, kind="stable")  # ties: the lower column first
        return np.array([int(np.nonzero(order[i] == i)[0][0]) + 1 for i in range(n)])

    result = own_pair_quality(demo_space)
    for mine, theirs in ((ranks(similarity), result.text_to_picture), (ranks(similarity.T), result.picture_to_text)):
        assert theirs.pool == n == result.pairs == result.all_pairs == 1861
        assert theirs.recall == tuple(float(np.mean(mine <= k)) for k in (1, 5, 10))
        assert theirs.mean_rank == pytest.approx(mine.mean(), abs=1e-9)
        assert theirs.median_rank == np.median(mine)
        assert theirs.chance == pytest.approx((1 / n, 5 / n, 10 / n))
        assert theirs.chance_mean_rank == pytest.approx((n + 1) / 2)
    # The bundled model knows the demo: far above chance both ways (measured: recall@5 0.79 / 0.78).
    assert min(result.text_to_picture.recall[1], result.picture_to_text.recall[1]) > 0.6
    assert result.shared_captions == 0 and "by chance: 0.3%" in result.sentence()


def test_demo_zero_shot_per_label_matches_an_independent_count(bundled, demo_space):
    labels = tuple(sorted({i.label for i in demo_space.items if i.label}))
    label_vectors = bundled.encode_texts(list(labels))
    result = own_pair_quality(demo_space, labels, label_vectors).zero_shot
    rows = demo_space.rows((IMAGE,))
    truth = [demo_space.items[demo_space.item[r]].label for r in rows]
    guess = [labels[int(np.argmax(label_vectors @ demo_space.vectors[r]))] for r in rows]
    for label, pictures, correct in zip(result.labels, result.pictures, result.correct):
        assert pictures == truth.count(label)
        assert correct == sum(t == g == label for t, g in zip(truth, guess))
    assert result.chance == 1 / 9 and result.accuracy > 3 * result.chance  # measured: 57% against 11%


# --- synthetic spaces with known answers ------------------------------------------------------------------


def test_identical_pairs_are_found_first_and_shuffled_ones_near_chance():
    pictures = unit_vectors(200, 64, seed=1)
    exact = own_pair_quality(paired_space(pictures, pictures, [f"c{i}" for i in range(200)]))
    for way in (exact.text_to_picture, exact.picture_to_text):
        assert way.recall == (1.0, 1.0, 1.0) and way.mean_rank == way.median_rank == 1
        assert way.chance[0] == pytest.approx(1 / 200)
    shuffled = own_pair_quality(
        paired_space(pictures, pictures[np.random.default_rng(0).permutation(200)], [f"c{i}" for i in range(200)])
    )
    for way in (shuffled.text_to_picture, shuffled.picture_to_text):
        assert way.recall[0] <= 0.02 and way.recall[2] < 0.2 and way.mean_rank > 50  # chance: 100.5
    assert "For 100% of the pictures" in exact.sentence() and "among the 5 closest of all 200 captions" in (
        exact.sentence()
    )


def test_shared_caption_counts_every_picture_with_its_text_as_its_own():
    eye = np.eye(4, dtype=np.float32)
    cat = np.array([0.6, 0.8, 0, 0], np.float32)  # nearer the second cat picture than the first
    space = paired_space(eye, np.stack([cat, cat, eye[2], eye[3]]), ["a cat", "a cat", "a dog", "a car"])
    result = own_pair_quality(space)
    to_picture, to_text = result.text_to_picture, result.picture_to_text
    assert (to_picture.pool, len(to_picture.ranks), to_text.pool, len(to_text.ranks)) == (4, 3, 3, 4)
    assert to_picture.recall == (1.0, 1.0, 1.0) and to_text.recall[0] == 1.0
    assert result.shared_captions == 1 and "any picture with that text counts as its own" in result.sentence()
    # Chance of a random ranking putting an own picture first: 2/4 for "a cat", 1/4 for the others.
    assert to_picture.chance[0] == pytest.approx((2 / 4 + 1 / 4 + 1 / 4) / 3)


def test_ranks_are_counted_chunk_by_chunk_with_the_same_answer(monkeypatch):
    pictures = unit_vectors(300, 16, seed=2)
    captions = unit_vectors(300, 16, seed=3) + pictures
    space = paired_space(
        pictures, captions / np.linalg.norm(captions, axis=1, keepdims=True), [str(i) for i in range(300)]
    )
    whole = own_pair_quality(space)
    monkeypatch.setattr(quality, "CHUNK", 7)
    chunked = own_pair_quality(space)
    np.testing.assert_array_equal(whole.text_to_picture.ranks, chunked.text_to_picture.ranks)
    np.testing.assert_array_equal(whole.picture_to_text.ranks, chunked.picture_to_text.ranks)


def test_big_collections_are_measured_on_a_seeded_sample_and_say_so():
    pictures = unit_vectors(120, 16, seed=4)
    space = paired_space(pictures, pictures, [str(i) for i in range(120)])
    result = own_pair_quality(space, max_pairs=50, seed=7)
    assert (result.pairs, result.all_pairs, result.text_to_picture.pool) == (50, 120, 50)
    assert "seeded sample of 50 of the 120" in result.sentence()
    again = own_pair_quality(space, max_pairs=50, seed=7)
    np.testing.assert_array_equal(result.picture_to_text.ranks, again.picture_to_text.ranks)


def test_zero_shot_per_label_with_chance_and_a_labels_only_collection():
    eye = np.eye(3, dtype=np.float32)
    pictures = np.stack([eye[0], eye[0], eye[1], eye[0]])  # the last "dog" picture looks like a cat
    space = paired_space(pictures, pictures, ["a", "b", "c", "d"], ["cat", "cat", "dog", "dog"])
    result = own_pair_quality(space, ("cat", "dog", "car"), eye)
    z = result.zero_shot
    assert (z.pictures, z.correct, z.chance, z.accuracy) == ((2, 2, 0), (2, 1, 0), 1 / 3, 0.75)
    assert [r["right"] for r in result.label_rows()] == ["100%", "50%", "–"]
    assert any(r["measure"] == "zero-shot accuracy (3 labels)" and r["by chance"] == "33%" for r in result.rows())
    labels_only = Space(pictures, np.arange(4), np.array([IMAGE] * 4, dtype=object), space.items)
    only = own_pair_quality(labels_only, ("cat", "dog", "car"), eye)
    assert only.text_to_picture is None and only.zero_shot == z


def test_a_caption_only_collection_is_refused_with_a_clear_message():
    items = [Item(f"t{i}", f"line {i}", None, text) for i, text in enumerate(["a cat", "a dog", "a car"])]
    space = Space(unit_vectors(3, 8), np.arange(3), np.array([CAPTION] * 3, dtype=object), items)
    with pytest.raises(ValueError, match="at least 2 pictures that each have a caption"):
        own_pair_quality(space)
    with pytest.raises(ValueError, match="one vector per label"):
        own_pair_quality(space, ("cat",), None)


def test_two_models_side_by_side_share_one_chance_column():
    pictures = unit_vectors(30, 8, seed=5)
    space = paired_space(pictures, pictures, [str(i) for i in range(30)])
    shuffled = paired_space(pictures, pictures[::-1], [str(i) for i in range(30)])
    table = side_by_side({"good": own_pair_quality(space), "bad": own_pair_quality(shuffled)})
    recall1 = next(r for r in table if r["measure"] == "caption → picture: recall@1")
    assert recall1 == {"measure": "caption → picture: recall@1", "good": "100%", "bad": "0%", "by chance": "3.3%"}


# --- the page ----------------------------------------------------------------------------------------------


def test_page_shows_the_recall_table_with_chance_and_keeps_it_when_a_second_model_is_unavailable(app):
    app.switch_page("app_pages/quality.py").run()
    assert not app.exception
    table = app.dataframe[0].value
    assert list(table.columns)[-1] == "by chance" and "caption → picture: recall@5" in table["measure"].tolist()
    row = table[table["measure"] == "picture → caption: recall@5"].iloc[0]
    assert row["by chance"] == "0.3%" and row.iloc[1].endswith("%")
    assert any("by chance: 0.3%" in m.value for m in app.markdown)
    assert any(s.value == "Zero-shot accuracy per label" for s in app.subheader)
    offline = next(o for o in app.selectbox(key="quality_second").options if o.startswith("open_clip"))
    app.selectbox(key="quality_second").set_value(offline).run()  # no hub here: the model cannot load
    assert not app.exception
    assert any("Showing" in i.value and "only" in i.value for i in app.info)
    assert list(app.dataframe[0].value.columns) == list(table.columns)  # the first model's figures stay


def test_page_on_a_caption_only_collection_says_what_it_needs(app):
    app.switch_page("app_pages/collections.py").run()
    app.text_area(key="lines").set_value("a red apple\na fast car").run()
    app.button(key="add_lines").click().run()
    app.switch_page("app_pages/quality.py").run()
    assert not app.exception
    assert any("at least 2 pictures that each have a caption" in i.value for i in app.info)


def test_page_puts_a_second_model_beside_the_first(app, monkeypatch):
    """A second model that loads (here the bundled one under another spec: no hub) gets its own column."""
    from ui import cache, state

    real = cache.encoder_for
    monkeypatch.setitem(state.MODEL_CHOICES, "Another model", "another")
    monkeypatch.setattr(cache, "encoder_for", lambda spec: real("bundled" if spec == "another" else spec))
    app.switch_page("app_pages/quality.py").run()
    app.selectbox(key="quality_second").set_value("Another model").run()
    assert not app.exception
    columns = list(app.dataframe[0].value.columns)
    assert len(columns) == 4 and columns[2] == f"{columns[1]} (second)" and columns[-1] == "by chance"
    table = app.dataframe[0].value
    assert (table[columns[1]] == table[columns[2]]).all()  # the same model twice: the same figures
