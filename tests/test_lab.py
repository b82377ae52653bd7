"""Watch it learn: the head's hand-written gradients, real runs on the demo's frozen features, one run per server."""

import time

import numpy as np
import pytest
from conftest import unit_vectors

from similarity.lab.data import backbone_features, demo_split, lab_data
from similarity.lab.head import Head, clip_loss
from similarity.lab.run import DONE, FAILED, RECALL_AT, STOPPED, LabRun, LabSettings
from similarity.lab.runs import LabRuns

WAIT_S = 120  # bound on waiting for a background run


@pytest.fixture(scope="module")
def data(bundled, demo):
    """The demo through the bundled model's frozen backbone (made by `make`; else read once, ~30 s)."""
    from similarity.encoders import load_encoder

    encoder = load_encoder("bundled")
    features = backbone_features(encoder, demo)
    return lab_data(demo, features, encoder.encode_texts([i.caption for i in demo.items]), demo_split())


def wait(run: LabRun) -> LabRun:
    deadline = time.time() + WAIT_S
    while not run.finished and time.time() < deadline:
        time.sleep(0.1)
    assert run.finished, f"the run did not end within {WAIT_S} s: {run.status}"
    return run


def test_the_hand_written_gradients_match_finite_differences():
    rng = np.random.default_rng(0)
    head = Head(6, 4, hidden=5, seed=1)
    head.weights = {k: v.astype(np.float64) + rng.normal(0, 0.1, v.shape) for k, v in head.weights.items()}
    x, captions = rng.standard_normal((5, 6)), unit_vectors(5, 4, seed=2).astype(np.float64)
    _, grads = head.gradients(x, captions, 0.3)
    for name, weight in head.weights.items():
        for index in np.ndindex(weight.shape):
            old = weight[index]
            weight[index] = old + 1e-6
            up = head.gradients(x, captions, 0.3)[0]
            weight[index] = old - 1e-6
            down = head.gradients(x, captions, 0.3)[0]
            weight[index] = old
            assert grads[name][index] == pytest.approx((up - down) / 2e-6, rel=1e-4, abs=1e-7), (name, index)


def test_the_loss_is_near_zero_for_matched_pairs_and_log_batch_for_a_blind_guess():
    same = unit_vectors(16, 32, seed=3)
    assert clip_loss(same, same, 0.01)[0] < 0.01
    assert clip_loss(same, unit_vectors(16, 32, seed=4), 10.0)[0] == pytest.approx(np.log(16), abs=0.05)


def test_a_run_brightens_the_diagonal_and_finds_concepts_it_never_saw(data):
    run = LabRun(LabSettings(steps=60, batch=64))
    run.train(data)
    first, last = run.snapshots[0], run.snapshots[-1]
    chance = RECALL_AT / len(data.names)
    assert run.status == DONE and last.step == 60 and len(run.losses) == 60 and len(run.snapshots) == 21
    assert first.recall_unseen < 3 * chance and last.recall_unseen > 10 * chance  # held-out concepts
    assert last.recall_trained > last.recall_unseen  # trained concepts are easier
    assert last.loss < first.loss / 2

    def contrast(matrix):
        own = np.eye(len(matrix), dtype=bool)
        return matrix[own].mean() - matrix[~own].mean()

    assert contrast(first.matrix) < 0.05 < 0.2 < contrast(last.matrix)
    assert np.degrees(np.arccos(np.diag(last.matrix))).max() < 85  # every own pair closed in from ~90°
    assert last.pictures.shape == (len(data.names), data.captions.shape[1])


def test_a_seed_gives_the_same_run_and_another_seed_another(data):
    runs = [LabRun(LabSettings(steps=5, batch=32, seed=s)) for s in (7, 7, 8)]
    for run in runs:
        run.train(data)
    assert runs[0].losses == runs[1].losses != runs[2].losses


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (dict(steps=0), "Steps must be between 1 and 5,000"),
        (dict(steps=1_000_000), "Steps must be between 1 and 5,000"),
        (dict(batch=1), "at least 2 picture-caption pairs"),
        (dict(batch=100_000), "at most 512 pairs"),
        (dict(temperature=0), "temperature must be above 0"),
        (dict(temperature=-0.5), "temperature must be above 0"),
        (dict(lr=0), "learning rate must be above 0"),
    ],
)
def test_settings_a_run_cannot_use_are_refused_with_what_to_change(data, change, message):
    with pytest.raises(ValueError, match=message):
        LabRuns().start(data, LabSettings(**change))


def test_a_diverging_learning_rate_stops_with_a_plain_message_and_is_not_kept(data):
    registry = LabRuns(pace_s=0)
    settings = LabSettings(steps=200, lr=1000.0)
    run = wait(registry.start(data, settings))
    assert run.status == FAILED and "NaN" in run.message and "learning rate 1000 is too large" in run.message
    assert registry.find(data, settings) is None  # nothing cached: the next Start trains again


def test_thirty_starts_of_the_same_settings_train_once(data):
    registry = LabRuns(pace_s=0)
    settings = LabSettings(steps=20, batch=32)
    runs = {id(registry.start(data, settings)) for _ in range(30)}
    run = wait(registry.find(data, settings))
    assert len(runs) == 1 and run.status == DONE and registry.trained == 1
    assert registry.start(data, settings) is run  # a replay, not a second training
    assert registry.trained == 1


def test_a_run_can_be_stopped_and_others_wait_their_turn(data):
    registry = LabRuns(waiting=1, pace_s=0)
    long = registry.start(data, LabSettings(steps=5_000))
    queued = registry.start(data, LabSettings(steps=5_000, seed=1))
    with pytest.raises(ValueError, match="already waiting"):
        registry.start(data, LabSettings(steps=5_000, seed=2))
    deadline = time.time() + WAIT_S
    while len(long.snapshots) < 2 and time.time() < deadline:
        time.sleep(0.05)
    assert queued.status == "queued"
    long.cancel()
    queued.cancel()
    assert wait(long).status == STOPPED and long.message.startswith("Stopped at step")
    assert wait(queued).status == STOPPED
    assert registry.find(data, long.settings) is None


def test_a_run_is_paced_for_watching_without_computing_more(data):
    run = LabRun(LabSettings(steps=20, batch=32))
    run.train(data, pace_s=0.1)
    assert run.seconds >= 20 * 0.1 > run.computing  # 20 snapshots at least 0.1 s apart; the pauses are not work
    assert "paced for watching" in run.message


def test_a_run_past_the_time_bound_stops(data):
    run = LabRun(LabSettings(steps=100))
    run.train(data, max_seconds=0)
    assert run.status == STOPPED and "at most 0 s" in run.message and len(run.losses) == 1


def test_the_page_starts_a_run_shows_it_and_refuses_bad_settings(app):
    from similarity.lab.run import LabSettings

    app.switch_page("app_pages/lab.py").run()
    assert not app.exception
    assert any("No run with these settings" in i.value for i in app.info)
    app.number_input(key="lab_steps").set_value(40).run()
    app.button(key="lab_start").click().run()
    assert not app.exception
    from ui import lab

    data = lab.data()
    wait(lab.runs().find(data, LabSettings(steps=40)))
    app.run()
    assert any("Trained 40 steps" in c.value for c in app.caption), [c.value for c in app.caption]
    charts = {"Similarity matrix": 1, "Loss and recall": 2, "Angles": 2, "Modality gap": 1, "Before and after": 0}
    for name, n in charts.items():  # one view at a time
        app.radio(key="lab_view").set_value(name).run()
        assert not app.exception and len(app.get("plotly_chart")) == n, name
        if name == "Loss and recall":
            assert any("recall@5" in c.value and "held-out" in c.value for c in app.caption)
    assert app.text_input(key="lab_query").value == "something that flies"
    titles = [m.value for m in app.main.markdown if m.value.startswith("**")]
    assert titles == ["**Untrained head (step 0)**", "**This run at step 40**", "**Shipped model 3.0**"]
    app.radio(key="lab_view").set_value("Similarity matrix").run()
    app.selectbox(key="lab_compare").set_value(1.0).run()  # the same run at another temperature, side by side
    assert not app.button(key="lab_start").disabled
    app.button(key="lab_start").click().run()
    wait(lab.runs().find(data, LabSettings(steps=40, temperature=1.0)))
    app.run()
    assert not app.exception and len(app.get("plotly_chart")) == 2  # two matrices
    assert any("temperature 1: Trained 40 steps" in c.value for c in app.caption)
    assert app.button(key="lab_start").disabled  # both runs exist: nothing to start
    app.number_input(key="lab_batch").set_value(1).run()
    assert any("at least 2 picture-caption pairs" in e.value for e in app.error)
    app.number_input(key="lab_batch").set_value(128).run()
    app.number_input(key="lab_temperature").set_value(0.0).run()
    assert any("temperature must be above 0" in e.value for e in app.error)
