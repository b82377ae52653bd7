"""The model search: train each recipe variant on the same budget, score it honestly.

Run ``python -m training.variants``. Each variant changes one thing on top
of the previous one (each share of named icons, on top of the shipped
recipe); every variant is scored by :func:`training.evaluate.evaluate`
(full galleries, held-out designs, free-form queries) and the table goes
into the model card. Weights are
kept in a scratch folder, not in the repository.
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from similarity.encoders.bundled import load_bundled
from similarity.encoders.onnx_export import export_bundled
from similarity.storage.paths import BUNDLED_DIR
from training.evaluate import evaluate
from training.styles import EMOJIONE, TRAINING_STYLES
from training.train import TrainConfig, train

EIGHT_DESIGNS = tuple(s for s in TRAINING_STYLES if s not in EMOJIONE)
VARIANTS = {
    "emoji only (8 designs)": dict(styles=EIGHT_DESIGNS, clipart=0.0),
    "+ English-titled clipart, 1/4 of each batch": dict(styles=EIGHT_DESIGNS),
    "+ two EmojiOne designs (10 designs; shipped)": {},
    "+ named icons, 1/10 of each batch": dict(icons=0.1),
    "+ named icons, 1/4 of each batch": dict(icons=0.25),
}


def run(steps: int, scratch: Path) -> list[dict]:
    rows = []
    for name, change in VARIANTS.items():
        cfg = replace(TrainConfig(steps=steps, out=str(scratch / re.sub(r"\W+", "-", name).strip("-"))), **change)
        t0 = time.time()
        train(cfg)
        seconds = json.loads((Path(cfg.out) / "train_log.json").read_text())[-1]["seconds"]
        export_bundled(model=Path(cfg.out))
        result = evaluate(load_bundled(Path(cfg.out), backend="onnx"))
        rows.append(
            {"variant": name, "change": change, "minutes": round(seconds / 60, 1), "headline": result["headline"]}
        )
        print(json.dumps(rows[-1]), f"({time.time() - t0:.0f}s)", flush=True)
    return rows


def table(rows: list[dict], steps: int) -> str:
    lines = [
        f"Each variant's head trained for {steps} steps of 256 pictures on 2 CPU cores, then scored as above "
        "(demo = the 1,861 Noto pictures; held out = Twemoji + Firefox OS; recall@5 over full galleries).",
        "",
        "| variant | minutes | demo: training / unseen r@5 | held out: training / unseen r@5 | "
        "free-form hits demo / held out | colour bias | photos r@1 | clipart held-out r@5 |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        h = r["headline"]
        lines.append(
            f"| {r['variant']} | {r['minutes']} | {h['demo_training_r5']:.2f} / {h['demo_unseen_r5']:.2f} | "
            f"{h['held_out_training_r5']:.2f} / {h['held_out_unseen_r5']:.2f} | "
            f"{h['demo_free_form'][0]}/{h['demo_free_form'][1]} / "
            f"{h['held_out_free_form'][0]}/{h['held_out_free_form'][1]} | "
            f"{h['colour_bias']:.0%} | {h['photo_r1']:.2f} | {_maybe(h['clipart_held_out_r5'])} |"
        )
    return "\n".join(lines)


def _maybe(value) -> str:
    return "-" if value is None else f"{value:.2f}"


def write_card(rows: list[dict], steps: int, folder: Path = BUNDLED_DIR) -> None:
    (folder / "variants.json").write_text(json.dumps({"steps": steps, "variants": rows}, indent=1) + "\n")
    card = folder.parent / "README.md"
    block = "\n".join(
        [
            "<!-- variants:start (written by python -m training.variants) -->",
            table(rows, steps),
            "<!-- variants:end -->",
        ]
    )
    text = card.read_text(encoding="utf-8")
    card.write_text(
        re.sub(r"<!-- variants:start.*?<!-- variants:end -->", lambda _: block, text, flags=re.S), encoding="utf-8"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=3000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="emoji-clip-variants-") as scratch:
        rows = run(args.steps, Path(scratch))
    write_card(rows, args.steps)
    print(table(rows, args.steps))


if __name__ == "__main__":
    main()
