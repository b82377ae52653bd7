"""What a page shows, as files: a table (CSV), the pictures (zip) and the vectors (Parquet).

Rows are numbered as on the page (1 = the first shown), and every file of one
export carries the same numbers, so "#3" means the same item in all of them.
"""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from similarity.limits import EXPORT_MAX_BYTES
from similarity.storage.keys import IMAGE


def table(space, rows, cosines=None, extra: dict[str, list] | None = None) -> list[dict]:
    """One dict per row, in page order: number, kind, file, caption, category, and cosine / angle when given.

    ``extra``: more columns (e.g. ``{"cluster": [...]}``), one value per row.
    """
    out = []
    for i, row in enumerate(np.asarray(rows, dtype=int)):
        item = space.item_of(row)
        record = {
            "number": i + 1,
            "kind": "picture" if space.kind[row] == IMAGE else "caption",
            "file": space.name_of(item) if item.image_path is not None else "",
            "caption": item.caption or "",
            "category": item.label or "",
        }
        if cosines is not None:
            cos = float(cosines[i])
            record["cosine"] = round(cos, 4)
            record["angle_degrees"] = round(float(np.degrees(np.arccos(np.clip(cos, -1, 1)))), 2)
        for name, values in (extra or {}).items():
            record[name] = values[i]
        out.append(record)
    return out


def to_csv(records: list[dict]) -> bytes:
    """The table as UTF-8 CSV (with a BOM, so spreadsheet programs read accents right).

    >>> to_csv([{"number": 1, "caption": "café"}]).decode("utf-8-sig").splitlines()
    ['number,caption', '1,café']
    """
    out = io.StringIO()
    if records:
        writer = csv.DictWriter(out, fieldnames=list(records[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def pictures_zip(space, rows, records: list[dict] | None = None) -> bytes:
    """A zip of the rows' picture files, named ``003_apple.png`` by page number.

    The table (``records``) goes in as ``table.csv``. Stops before
    :data:`~similarity.limits.EXPORT_MAX_BYTES` of pictures; what was left
    out, and why, is listed in ``left_out.txt``.
    """
    buffer, skipped, total = io.BytesIO(), [], 0
    rows = [int(r) for r in rows]
    width = len(str(len(rows)))
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:  # pictures are compressed already
        if records:
            archive.writestr("table.csv", to_csv(records))
        for number, row in enumerate(rows, start=1):
            item = space.item_of(row)
            if space.kind[row] != IMAGE or item.image_path is None:
                continue
            try:
                data = Path(item.image_path).read_bytes()
            except OSError as err:
                skipped.append(f"{space.name_of(item)}: {err.strerror or err}")
                continue
            if total + len(data) > EXPORT_MAX_BYTES:
                skipped.append(f"#{number} and after: over {EXPORT_MAX_BYTES / 1e6:,.0f} MB of pictures")
                break
            total += len(data)
            archive.writestr(f"{number:0{width}d}_{Path(item.source).name}", data)
        if skipped:
            archive.writestr("left_out.txt", "\n".join(skipped) + "\n")
    return buffer.getvalue()


def vectors_parquet(space, rows, records: list[dict]) -> bytes:
    """The table plus each row's vector (``vector``: float32, the model's dimension) as Parquet."""
    rows = np.asarray(rows, dtype=int)
    columns = {name: [r[name] for r in records] for name in (records[0] if records else {})}
    vectors = space.vectors[rows].astype(np.float32)
    dim = vectors.shape[1] if vectors.ndim == 2 else 0
    columns["vector"] = pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), dim)
    out = io.BytesIO()
    pq.write_table(pa.table(columns), out)
    return out.getvalue()
