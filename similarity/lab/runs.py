"""Every lab run on one server: one per settings, trained one at a time, the finished ones kept for replay.

Thirty students pressing Start with the same settings get one run: the
first press queues it, the others watch it. Runs train one after another in
one worker thread (a 2-core server also answers the class's searches), at
most :data:`~similarity.limits.LAB_WAITING` wait, and only runs that finished
are kept (a stopped or diverged one is forgotten, so the next Start trains
again). Runs are paced for watching: a few seconds of computing are spread
over at least :data:`~similarity.limits.LAB_PACE_S` per snapshot.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor

from similarity.lab.data import LabData
from similarity.lab.run import DONE, FAILED, LabRun, LabSettings
from similarity.limits import LAB_KEPT_RUNS, LAB_PACE_S, LAB_WAITING


class LabRuns:
    def __init__(self, kept: int = LAB_KEPT_RUNS, waiting: int = LAB_WAITING, pace_s: float = LAB_PACE_S):
        self.kept, self.waiting, self.pace_s = kept, waiting, pace_s
        self.trained = 0  # runs actually trained (tests and the load benchmark read it)
        self._runs: OrderedDict[tuple, LabRun] = OrderedDict()
        self._lock = threading.Lock()
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lab")

    def find(self, data: LabData, settings: LabSettings) -> LabRun | None:
        """The run of these settings on this data, queued, training or finished; None if there is none."""
        with self._lock:
            return self._runs.get((data.key, settings))

    def start(self, data: LabData, settings: LabSettings) -> LabRun:
        """The run of these settings: the existing one, or a new one queued (:class:`ValueError` when too many wait)."""
        settings = settings.checked(len(data.train))
        key = (data.key, settings)
        with self._lock:
            if (run := self._runs.get(key)) is not None:
                return run
            if sum(not r.finished for r in self._runs.values()) > self.waiting:
                raise ValueError(
                    f"{self.waiting} runs are already waiting on this server: watch one of them, or start "
                    "again when it is done."
                )
            run = self._runs[key] = LabRun(settings)
        self._worker.submit(self._train, key, run, data)
        return run

    def _train(self, key: tuple, run: LabRun, data: LabData) -> None:
        try:
            run.train(data, pace_s=self.pace_s)
        except Exception as err:  # a thread's error would otherwise vanish: the page shows it
            run._end(FAILED, f"The run failed: {err}")
        with self._lock:
            self.trained += 1
            if run.status != DONE:
                self._runs.pop(key, None)
                return
            finished = [k for k, r in self._runs.items() if r.status == DONE]
            for old in finished[: max(0, len(finished) - self.kept)]:
                del self._runs[old]
