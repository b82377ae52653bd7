"""One training run of the lab: its settings, checked; the training loop; what it records as it goes.

A run records a :class:`Snapshot` about :data:`SNAPSHOTS` times (and at
step 0, the untrained head): the loss, recall@5 of trained and held-out
concepts, the modality gap, the similarity matrix of the shown pictures and
every picture's vector (so a query can be answered by the head at that
step). Readers in other threads see the snapshots appear one by one.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import numpy as np

from similarity.lab.data import LabData
from similarity.lab.head import AdamW, Head
from similarity.limits import LAB_MAX_BATCH, LAB_MAX_SECONDS, LAB_MAX_STEPS
from similarity.search.topk import top_k_many
from similarity.words import plural

SNAPSHOTS = 20  # recorded after step 0; each holds every picture's vector (~1.4 MB for the demo)
RECALL_AT = 5
TRAINED_SAMPLE = 400  # training concepts whose recall is measured (all held-out ones are)

QUEUED, TRAINING, DONE, STOPPED, FAILED = "queued", "training", "done", "stopped", "failed"


@dataclass(frozen=True)
class LabSettings:
    steps: int = 300
    batch: int = 128  # picture-caption pairs per step: each picture's caption competes with batch - 1 others
    temperature: float = 0.07  # cosines are divided by it before the softmax (CLIP starts at 0.07 and learns it)
    lr: float = 0.003  # AdamW's learning rate
    seed: int = 0  # the head's first weights and the order of batches

    def checked(self, n_train: int) -> LabSettings:
        """These settings when a run can use them; otherwise :class:`ValueError` saying what to change."""
        if not 1 <= self.steps <= LAB_MAX_STEPS:
            raise ValueError(f"Steps must be between 1 and {LAB_MAX_STEPS:,} (a run on this server is bounded).")
        if self.batch < 2:
            raise ValueError(
                "A batch needs at least 2 picture-caption pairs: the loss asks each picture to pick its own "
                "caption among the others in its batch, and with one there is nothing to pick from."
            )
        if self.batch > min(n_train, LAB_MAX_BATCH):
            raise ValueError(
                f"A batch can hold at most {min(n_train, LAB_MAX_BATCH):,} pairs here "
                f"(the training split has {plural(n_train, 'picture')})."
            )
        if not 0 < self.temperature <= 10:
            raise ValueError("The temperature must be above 0 (cosines are divided by it) and at most 10.")
        if not 0 < self.lr <= 1000:
            raise ValueError("The learning rate must be above 0 and at most 1,000.")
        return self


@dataclass(frozen=True)
class Snapshot:
    step: int
    loss: float  # mean training loss over the steps since the last snapshot (step 0: the untrained head's)
    recall_trained: float  # recall@5, caption -> picture among all pictures, for a sample of training concepts
    recall_unseen: float  # the same for concepts training never saw
    gap_angle: float  # degrees between the mean picture direction and the mean caption direction
    matrix: np.ndarray  # (shown, shown) cosines: shown pictures (rows) x their captions (columns)
    pictures: np.ndarray  # (n, d) float16: every picture's vector at this step


@dataclass
class LabRun:
    """A run's settings and everything it has recorded so far (read while it trains)."""

    settings: LabSettings
    status: str = QUEUED
    message: str = ""  # why it stopped or failed, in plain words
    snapshots: list[Snapshot] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)  # every step's loss
    seconds: float = 0.0  # since training began, pauses for watching included
    computing: float = 0.0  # of which spent computing
    _cancel: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def finished(self) -> bool:
        return self.status in (DONE, STOPPED, FAILED)

    def cancel(self) -> None:
        self._cancel.set()

    def train(self, data: LabData, max_seconds: float = LAB_MAX_SECONDS, pace_s: float = 0.0) -> None:
        """Train a head on ``data``, recording snapshots; sets :attr:`status` and :attr:`message` at the end.

        ``pace_s``: the least time between two snapshots. A class watches a
        run of a few seconds' computing step by step; the pauses cost no CPU.
        """
        with np.errstate(over="ignore", invalid="ignore"):  # a diverging run is caught by its loss, not warnings
            self._train(data, max_seconds, pace_s)

    def _train(self, data: LabData, max_seconds: float, pace_s: float) -> None:
        s = self.settings.checked(len(data.train))
        self.status = TRAINING
        rng = np.random.default_rng(s.seed)
        head = Head(data.features.shape[1], data.captions.shape[1], seed=s.seed)
        optimiser = AdamW(head.weights, s.lr)
        every = {round(i * s.steps / SNAPSHOTS) for i in range(1, SNAPSHOTS + 1)}
        trained = rng.choice(data.train, min(TRAINED_SAMPLE, len(data.train)), replace=False)
        first = data.train[rng.choice(len(data.train), s.batch, replace=False)]
        start, since, paused = time.perf_counter(), [], 0.0
        last = start  # when the last snapshot was taken
        self.snapshots.append(snapshot(0, head, data, trained, head.gradients(*_pair(data, first), s.temperature)[0]))
        for step in range(1, s.steps + 1):
            rows = data.train[rng.choice(len(data.train), s.batch, replace=False)]
            loss, grads = head.gradients(*_pair(data, rows), s.temperature)
            if not np.isfinite(loss) or not all(np.isfinite(g).all() for g in grads.values()):
                return self._end(FAILED, diverged(step, s.lr, "the loss became NaN (not a number)"))
            optimiser.step(head.weights, grads)
            self.losses.append(loss)
            since.append(loss)
            if step in every:
                self.snapshots.append(snapshot(step, head, data, trained, float(np.mean(since))))
                since = []
                if rising(self.losses, self.snapshots[0].loss):
                    return self._end(FAILED, diverged(step, s.lr, "the loss rose instead of falling"))
                if (wait := pace_s - (time.perf_counter() - last)) > 0:
                    began = time.perf_counter()
                    self._cancel.wait(wait)  # a Stop ends the pause at once
                    paused += time.perf_counter() - began
                last = time.perf_counter()
            self.seconds = time.perf_counter() - start
            self.computing = self.seconds - paused
            if self._cancel.is_set():
                return self._end(STOPPED, f"Stopped at step {step:,} of {s.steps:,}.")
            if self.seconds > max_seconds:
                return self._end(STOPPED, f"Stopped at step {step:,}: a run may take at most {max_seconds:.0f} s here.")
        speed = f"{s.steps / self.computing:.0f} steps/s"
        how = f"{self.computing:.1f} s of computing at {speed}, paced for watching" if paused else speed
        self._end(DONE, f"Trained {s.steps:,} steps in {self.seconds:.1f} s ({how}).")

    def _end(self, status: str, message: str) -> None:
        self.status, self.message = status, message


def _pair(data: LabData, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return data.features[rows], data.captions[rows]


def rising(losses: list[float], untrained: float, window: int = 20) -> bool:
    """Whether training diverges: the recent losses are above the untrained head's."""
    return len(losses) >= window and float(np.mean(losses[-window:])) > untrained * 1.05


def diverged(step: int, lr: float, what: str) -> str:
    return (
        f"Stopped at step {step:,}: {what}. The learning rate {lr:g} is too large: each step overshoots, "
        "so the weights jump past the better values instead of settling on them. Nothing was kept; "
        "try a learning rate 10 times smaller."
    )


def snapshot(step: int, head: Head, data: LabData, trained: np.ndarray, loss: float) -> Snapshot:
    pictures = head(data.features)
    return Snapshot(
        step,
        loss,
        recall(pictures, data.captions, trained),
        recall(pictures, data.captions, data.unseen),
        centre_angle(pictures, data.captions),
        pictures[data.shown] @ data.captions[data.shown].T,
        pictures.astype(np.float16),
    )


def recall(pictures: np.ndarray, captions: np.ndarray, rows: np.ndarray, k: int = RECALL_AT) -> float:
    """Share of ``rows``' captions whose own picture is among their ``k`` best of all pictures."""
    found, _ = top_k_many(captions[rows], pictures, k)
    return float(np.mean((found == rows[:, None]).any(axis=1)))


def centre_angle(pictures: np.ndarray, captions: np.ndarray) -> float:
    """Degrees between the mean picture and the mean caption: the modality gap's size."""
    a, b = pictures.mean(0), captions.mean(0)
    cos = float(a @ b / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-12))
    return float(np.degrees(np.arccos(np.clip(cos, -1, 1))))
