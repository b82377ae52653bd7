"""Watch it learn: a projection head trained live with the CLIP loss, one run per settings for the whole server."""

import time
from dataclasses import replace

import streamlit as st

from similarity.encoders import ModelLoadError
from similarity.lab.run import FAILED, QUEUED, RECALL_AT, SNAPSHOTS, STOPPED, TRAINING, LabRun, LabSettings
from similarity.limits import LAB_PACE_S, LAB_REFRESH_S
from similarity.views import lab_plots
from ui import cache, lab
from ui.state import page_header
from ui.text import plain

REPLAY_S = 12  # a replay shows a run's snapshots over this long
RATES = (0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 10.0, 1000.0)
TEMPERATURES = (0.01, 0.03, 0.07, 0.2, 0.5, 1.0)
NO_COMPARISON = "no second run"
KEPT_PER_SESSION = 4  # runs a session remembers (a stopped one is gone from the server, not from its watchers)
QUESTION = "something that flies"  # the before/after question a class starts from
DEFAULT = LabSettings()

page_header("Watch it learn", "lab")
try:
    data = lab.data()
except (ValueError, OSError, ModelLoadError) as err:
    st.info(f"The lab needs the bundled model 3.0 and its exported backbone: {plain(err)}")
    st.stop()

# The settings fold away once a run is on show, so the figure fits a projector's 768 pixels.
if st.session_state.pop("lab_fold", False):  # set by Start, before the rerun that shows the run
    st.session_state["lab_settings"] = False
box = st.expander(
    "Settings: steps, batch, temperature, learning rate, seed, a second run",
    expanded=lab.runs().find(data, DEFAULT) is None,  # a student arriving at a shown run sees the figure
    key="lab_settings",
    on_change="rerun",
)
columns = box.columns([1, 1, 1.1, 1.6, 0.8])
steps = columns[0].number_input(
    "Steps", value=DEFAULT.steps, step=50, key="lab_steps", help="Updates of the head's weights"
)
batch = columns[1].number_input(
    "Batch",
    value=DEFAULT.batch,
    step=16,
    key="lab_batch",
    help="Pictures per step: each must pick its own caption among them",
)
temperature = columns[2].number_input(
    "Temperature",
    value=DEFAULT.temperature,
    step=0.01,
    format="%.2f",
    key="lab_temperature",
    help="Cosines are divided by it",
)
lr = columns[3].select_slider("Learning rate", RATES, value=DEFAULT.lr, key="lab_lr", help="How far each step moves")
seed = columns[4].number_input(
    "Seed", value=DEFAULT.seed, step=1, key="lab_seed", help="The head's first weights, the batches"
)
compare = box.selectbox(
    "Side by side: a second run at temperature",
    [NO_COMPARISON, *TEMPERATURES],
    key="lab_compare",
    help="The same settings with another temperature, trained after this one",
)
settings = LabSettings(int(steps), int(batch), float(temperature), float(lr), int(seed))
other = replace(settings, temperature=float(compare)) if compare != NO_COMPARISON else None
try:
    settings.checked(len(data.train))
except ValueError as err:
    st.error(plain(err))
    st.stop()

registry = lab.runs()
if other == settings:
    other = None


def found(wanted: LabSettings | None) -> LabRun | None:
    """The server's run of these settings, else the one this session saw (the server forgets stopped runs)."""
    if wanted is None:
        return None
    seen = st.session_state.setdefault("lab_runs", {})
    if (current := registry.find(data, wanted)) is not None:
        seen.pop(wanted, None)
        seen[wanted] = current
        while len(seen) > KEPT_PER_SESSION:
            seen.pop(next(iter(seen)))
    return seen.get(wanted)


run, second = found(settings), found(other)
buttons = st.columns([1, 1, 1.1, 2.4])
# Start is offered while a wanted run (this one, or its side-by-side one) is missing or was stopped.
wanted = [run, second] if other else [run]
again = any(r is None or r.status in (FAILED, STOPPED) for r in wanted)
if buttons[0].button("Start", type="primary", icon=":material/play_arrow:", disabled=not again, key="lab_start"):
    try:
        registry.start(data, settings)
        if other:
            registry.start(data, other)
        st.session_state["lab_fold"] = True
        st.rerun()  # drawn again with the run: Start disabled, Stop enabled
    except ValueError as err:
        st.error(plain(err))
live = [r for r in (run, second) if r is not None and not r.finished]
if buttons[1].button("Stop", icon=":material/stop:", disabled=not live, help="Stops it for everyone watching"):
    for r in live:
        r.cancel()
if buttons[2].button("Replay", icon=":material/replay:", disabled=run is None or bool(live)):
    st.session_state["lab_replay"] = time.time()

if run is None:
    st.info(
        "No run with these settings on this server yet: press **Start**. Training is for everyone on this "
        "server: the same settings start one run, shown to all and kept for replay. The figures update as it "
        f"trains, {SNAPSHOTS} times, at least {LAB_PACE_S:g} s apart so the class can follow."
    )
    st.stop()


def status(r: LabRun, label: str) -> None:
    done = r.snapshots[-1].step if r.snapshots else 0
    if r.status == QUEUED:
        st.caption(f"{label}: waiting, another run is training on this server (one at a time).")
    elif r.status == TRAINING:
        st.caption(f"{label}: training for everyone on this server, step {done:,} of {r.settings.steps:,}.")
    elif r.status in (FAILED, STOPPED):
        st.warning(f"{label}: {plain(r.message)}")
    else:
        slider = " The slider shows any step." if r is run else ""
        st.caption(f"{label}: {plain(r.message)}{slider}")


def label_of(r: LabRun) -> str:
    return f"temperature {r.settings.temperature:g}"


def shown_index(r: LabRun, replaying: bool) -> int:
    """Which snapshot to draw: the newest while training, the replay's, or the one the slider picks."""
    last = len(r.snapshots) - 1
    if not r.finished:
        return last
    if replaying:
        share = (time.time() - st.session_state["lab_replay"]) / REPLAY_S
        return min(last, int(share * (last + 1)))
    steps = [s.step for s in r.snapshots]
    step = st.select_slider(
        "Show the run at step", steps, value=steps[-1], key=f"lab_step_{id(r)}", label_visibility="collapsed"
    )
    return steps.index(step)


def show_matrix(runs: list[LabRun], index: int, names: list[str]) -> None:
    for column, r in zip(st.columns(len(runs)), runs):
        at = r.snapshots[min(index, len(r.snapshots) - 1)]
        column.plotly_chart(lab_plots.similarity_matrix(at, names, label_of(r)), key=f"matrix_{len(runs)}_{id(r)}")
    st.caption(
        "Each cell: the cosine of a picture's vector (row) and a caption's (column). The loss asks the diagonal "
        "to win each row and each column; watch it brighten while the rest stays dark."
    )


def show_loss_and_recall(runs: list[LabRun], index: int, names: list[str]) -> None:
    snap, chance = run.snapshots[index], RECALL_AT / len(data.names)
    curves = [(label_of(r), list(r.losses), list(r.snapshots)) for r in runs]
    left, right = st.columns(2)
    left.plotly_chart(lab_plots.loss_curve(curves, snap.step), key="loss")
    right.plotly_chart(lab_plots.recall_curve(curves, snap.step, chance, lab.shipped()[1]), key="recall")
    st.caption(
        f"Step {snap.step:,}: loss {snap.loss:.3f}; recall@{RECALL_AT} {snap.recall_trained:.0%} on trained "
        f"concepts, {snap.recall_unseen:.0%} on held-out ones (chance {chance:.1%}). Held-out recall is "
        "what generalises; trained recall near 100% while held-out stalls is memorising."
    )


def show_angles(runs: list[LabRun], index: int, names: list[str]) -> None:
    snap = run.snapshots[index]
    chosen = st.selectbox("Caption as the query", names, key="lab_caption")
    st.plotly_chart(lab_plots.caption_angle_view(snap, names, names.index(chosen)), key="angle_view")
    st.caption(
        "The Map page's angle view: the caption is the query at 0°, each shown picture at its true angle from it "
        "(φ = arccos of the cosine). Training pulls its own picture (✓) in; the others stay near 90°, unrelated."
    )
    st.plotly_chart(lab_plots.angle_curves(run.snapshots[: index + 1], names, snap.step), key="angles")


def show_gap(runs: list[LabRun], index: int, names: list[str]) -> None:
    snap = run.snapshots[index]
    curves = [(label_of(r), list(r.losses), list(r.snapshots)) for r in runs]
    shipped_gap = lab.shipped()[2]
    st.plotly_chart(lab_plots.gap_curve(curves, snap.step, shipped_gap), key="gap")
    st.caption(
        f"At step {snap.step:,} the average picture points {snap.gap_angle:.0f}° away from the average caption "
        f"(the shipped model: {shipped_gap:.0f}°: it trained ten times longer, and 30% of each of its picture "
        "vectors is made of caption vectors, its ImageNet-label bridge). Each picture gets closer to its own "
        "caption, yet pictures as a whole stay in their own region: that is the gap the Map page shows. The "
        "captions never move (their tower is frozen); only the pictures' side does."
    )


def show_before_after(runs: list[LabRun], index: int, names: list[str]) -> None:
    snap = run.snapshots[index]
    text = st.text_input("A question for all three", QUESTION, max_chars=200, key="lab_query")
    if not text.strip():
        return
    answered = (
        ("Untrained head (step 0)", run.snapshots[0].pictures),
        (f"This run at step {snap.step:,}", snap.pictures),
        ("Shipped model 3.0", lab.shipped()[0]),
    )
    for column, (title, pictures) in zip(st.columns(3), answered):
        rows = lab.answers(pictures, text)
        column.markdown(f"**{title}**")
        column.image(
            [cache.thumbnail(data.paths[i], 64) for i in rows], width=64, caption=[data.names[i] for i in rows]
        )
    st.caption(
        f"The same question, three heads, the same {len(data.names):,} pictures, the top 5 of each. The untrained "
        f"head answers at random. This run learnt from {len(data.train):,} of these very pictures; the shipped "
        "model learnt from ten emoji designs and thousands of drawings, with a share of ImageNet's labels mixed "
        "into each picture: it copes with designs it never saw, yet on this one gallery a short run can answer "
        "some questions better."
    )


# One figure at a time: every watching session redraws it as the run goes (tabs would draw all five).
VIEWS = {
    "Similarity matrix": show_matrix,
    "Loss and recall": show_loss_and_recall,
    "Angles": show_angles,
    "Modality gap": show_gap,
    "Before and after": show_before_after,
}


def view() -> None:
    runs = [r for r in (run, second) if r is not None]
    # Read before the status lines: the page reruns only once they say the run ended.
    finished = all(r.finished for r in runs)
    replaying = time.time() - st.session_state.get("lab_replay", 0) < REPLAY_S + LAB_REFRESH_S
    left, right = st.columns([2, 1.2], vertical_alignment="bottom")
    with left:
        for r in runs:
            status(r, label_of(r))
    if not run.snapshots:
        return
    with right:
        index = shown_index(run, replaying)
    shown = st.radio("Show", list(VIEWS), horizontal=True, key="lab_view", label_visibility="collapsed")
    VIEWS[shown](runs, index, [data.names[i] for i in data.shown])
    if (replaying or not finished) and not st.session_state.get("lab_live"):
        st.session_state["lab_live"] = True
    elif st.session_state.get("lab_live") and not replaying and finished:
        st.session_state["lab_live"] = False
        st.rerun()  # the whole page: buttons enable again and the figures stop refreshing


live_now = any(r is not None and not r.finished for r in (run, second))
replay_on = time.time() - st.session_state.get("lab_replay", 0) < REPLAY_S
st.fragment(run_every=LAB_REFRESH_S if live_now or replay_on else None)(view)()
