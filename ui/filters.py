"""The filter panel: metadata filters that narrow Search, Map and Clusters together.

One filter per browser session and collection, drawn in the sidebar by each
of the three pages (:func:`filter_panel`); its values are kept in
``st.session_state`` (a page's widgets are its own in Streamlit: each page's
panel starts from the values last picked on any of them).
The fields are computed once per collection and the narrowed space once per
filter, for the whole server (:mod:`ui.shared`). The clusters last shown on
the Clusters page are one more field of this session ("3. flowers"), and a
shared link carries the filter (:func:`filter_from_link`, :func:`link_of`).
"""

from __future__ import annotations

import hashlib
import json
import math
from datetime import date, datetime, timedelta, timezone

import numpy as np
import streamlit as st

from similarity.ingest.collection import Collection
from similarity.ingest.fields import CHOICE, DATE, SIZE, TEXT, Field, Fields, choice_field, collection_fields
from similarity.ingest.space import Space
from similarity.limits import MAX_QUERY_CHARS
from similarity.search.filters import Condition, Filter, indexed_mask, narrowed
from similarity.storage.items import ItemTable
from similarity.storage.lance import connect
from similarity.words import plural
from ui.shared import shared
from ui.text import plain

SAVED = "filter_saved"  # widget key -> value, kept while pages without the panel are shown
CLUSTER = "cluster (Clusters page)"
NOT_CLUSTERED = "(not clustered)"
_CLUSTERS = "clusters_field"  # fields key -> (the cluster field, its content tag), from the Clusters page
_APPLIED = "filter_applied"  # fields key -> the Filter the pages use now (for shared links)


def fields_of(collection: Collection) -> Fields:
    """The collection's fields (computed once per server: picture headers are read once), and this session's
    clusters from the Clusters page."""
    key = (collection.content_hash, collection.extras_hash, collection.indexed_in)
    fields = shared("fields", key, lambda: collection_fields(collection))
    clusters = st.session_state.get(_CLUSTERS, {}).get(fields.key)
    if clusters is None:
        return fields
    return Fields({**fields.by_name, CLUSTER: clusters[0]}, fields.n, fields.key, fields.root)


def remember_clusters(collection: Collection, space: Space, rows: np.ndarray, names: list[str]) -> None:
    """The Clusters page's clusters (``names``: one per row of ``rows``) as a filter field, unless the filter
    itself picks clusters: clustering what a cluster filter kept must not redefine that filter."""
    fields = fields_of(collection)
    if CLUSTER in st.session_state.get(SAVED, {}).get(widget_key(fields, ""), ()):
        return
    values = np.full(fields.n, NOT_CLUSTERED, dtype=object)
    values[space.item[rows]] = names
    known = st.session_state.setdefault(_CLUSTERS, {})
    if fields.key not in known or not np.array_equal(known[fields.key][0].values, values):
        # Made once per clustering, not on every page's rerun: the field's counts and what a filter depends on.
        tag = hashlib.sha256("\n".join(values.tolist()).encode()).hexdigest()[:12]
        known[fields.key] = (choice_field(CLUSTER, values.tolist()), tag)
        st.rerun()  # the sidebar's panel, drawn before the clustering, offers the new field at once


def _clusters_tag(flt: Filter, fields: Fields) -> str:
    """What a cluster condition depends on: this session's clustering (another k, other members)."""
    if not any(c.field == CLUSTER for c in flt.conditions):
        return ""
    return st.session_state[_CLUSTERS][fields.key][1]


def widget_key(fields: Fields, name: str) -> str:
    """The session-state key of a field's widget ("" = the field picker); per collection, so values never leak."""
    return f"filter:{hashlib.sha256(fields.key.encode()).hexdigest()[:8]}:{name}"


def kept_by(flt: Filter, fields: Fields, collection: Collection) -> np.ndarray:
    """One bool per item; an indexed collection asks LanceDB (``where`` on its item table)."""
    if not collection.indexed_in:
        return flt.mask(fields)
    sources = np.array([item.source for item in collection.items], dtype=object)
    return indexed_mask(flt, fields, ItemTable(connect(collection.indexed_in), collection.name), sources)


def filter_panel(space: Space, collection: Collection) -> Space:
    """The sidebar's filter widgets; returns ``space`` narrowed to the kept items (or stops on none kept)."""
    fields = fields_of(collection)
    if not fields.names:
        return space
    with st.sidebar.expander("Filter items", icon=":material/filter_alt:"):
        flt = _widgets(fields)
        for note in fields.notes:
            st.caption(note)
    st.session_state.setdefault(_APPLIED, {})[fields.key] = flt
    if not flt:
        return space
    clusters = _clusters_tag(flt, fields)

    def compute():
        keep = kept_by(flt, fields, collection)
        tag = hashlib.sha256(f"{fields.key}/{flt.key}/{clusters}".encode()).hexdigest()[:12]
        return int(keep.sum()), narrowed(space, keep, tag)

    n_kept, small = shared("narrowed", (space.key, fields.key, flt.key, clusters), compute)
    said = plain(flt.describe(fields))  # CSV columns and values, typed text
    if n_kept == 0 or len(small.vectors) == 0:
        st.info(
            f"The filter ({said}) keeps none of the {fields.n:,} items. Widen it or clear it under "
            "**Filter items** in the sidebar.",
            icon=":material/filter_alt_off:",
        )
        st.stop()
    st.caption(f"The filter keeps {n_kept:,} of {plural(fields.n, 'item')}: {said}.")
    return small


KIND = "kind (picture / caption)"
_CATEGORY = "category"  # the map's category colour: every item's label, "unknown" where it has none


def colour_choices(space: Space, collection: Collection) -> list[str]:
    """The map's "Colour by" options: kind, category (where known), then every field of the collection."""
    fields = fields_of(collection)
    known = [_CATEGORY] if any(i.label for i in space.items) else []
    return [KIND, *known, *(n for n in fields.names if n != _CATEGORY)]


def colour_groups(space: Space, collection: Collection, rows, choice: str) -> list[str]:
    """One colour group per row of ``rows`` for a :func:`colour_choices` option."""
    if choice == KIND:
        return space.kind[rows].tolist()
    if choice == _CATEGORY:
        return [space.item_of(r).label or "unknown" for r in rows]
    return fields_of(collection)[choice].groups(space.item[rows])


def _widgets(fields: Fields) -> Filter:
    saved = st.session_state.setdefault(SAVED, {})
    pick = widget_key(fields, "")
    chosen = st.multiselect("Filter by", fields.names, default=saved.get(pick), key=pick, placeholder="Choose fields…")
    saved[pick] = chosen
    conditions = []
    for name in chosen:
        key = widget_key(fields, name)
        condition, saved[key] = _widget(fields[name], key, saved.get(key))
        if condition is not None:
            conditions.append(condition)
    if chosen:
        st.button("Clear the filter", key=widget_key(fields, "clear"), on_click=_clear, args=(fields,))
    return Filter(tuple(conditions))


def _clear(fields: Fields) -> None:
    prefix = widget_key(fields, "")
    for store in (st.session_state, st.session_state.get(SAVED, {})):
        for key in [k for k in store if str(k).startswith(prefix)]:
            del store[key]


def _widget(f: Field, key: str, last) -> tuple[Condition | None, object]:
    """(the field's condition or None, the widget's value); ``last``: its value on the page shown before."""
    if f.kind == CHOICE:
        count = dict(zip(f.choices, f.counts))
        default = [v for v in last or () if v in count]
        keep = st.multiselect(plain(f.name), f.choices, default, key=key, format_func=lambda v: f"{v} ({count[v]:,})")
        return (Condition(f.name, keep=tuple(keep)) if keep else None), keep
    if f.kind == TEXT:
        typed = st.text_input(f"{plain(f.name)} contains", last or "", key=key, max_chars=MAX_QUERY_CHARS)
        return (Condition(f.name, contains=typed.strip()) if typed.strip() else None), typed
    low, high = f.bounds()
    if f.kind == DATE:
        return _date_range(f, key, low, high, last)
    if f.name == SIZE:  # bytes, picked in KB
        lo, hi = math.floor(low / 1000), math.ceil(high / 1000)
        picked = st.slider(f"{plain(f.name)} (KB)", lo, hi, last or (lo, hi), key=key)
        full = tuple(picked) == (lo, hi)
        return (None if full else Condition(f.name, low=picked[0] * 1000.0, high=picked[1] * 1000.0)), picked
    if f.integer:
        lo, hi = int(low), int(high)
        picked = st.slider(plain(f.name), lo, hi, last or (lo, hi), key=key)
    else:
        lo, hi = low, high
        picked = st.slider(plain(f.name), lo, hi, last or (lo, hi), step=(hi - lo) / 100, key=key)
    full = tuple(picked) == (lo, hi)
    return (None if full else Condition(f.name, low=float(picked[0]), high=float(picked[1]))), picked


def _date_range(f: Field, key: str, low: float, high: float, last) -> tuple[Condition | None, object]:
    first, final = (datetime.fromtimestamp(v, timezone.utc).date() for v in (low, high))
    picked = st.date_input(plain(f.name), last or (first, final), min_value=first, max_value=final, key=key)
    if not isinstance(picked, (tuple, list)) or len(picked) != 2:  # the second day is not picked yet
        return None, None
    if tuple(picked) == (first, final):
        return None, tuple(picked)
    start, end = (_midnight(d) for d in (picked[0], picked[1] + timedelta(days=1)))
    return Condition(f.name, low=start, high=end - 0.001), tuple(picked)


def _midnight(day: date) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp()


def link_of(collection: Collection) -> str | None:
    """The filter the pages use now, as a link's ``filter`` value (JSON); None when there is none."""
    flt = st.session_state.get(_APPLIED, {}).get(fields_of(collection).key)
    if not flt:
        return None
    return json.dumps([{k: v for k, v in vars(c).items() if v is not None} for c in flt.conditions])


def filter_from_link(collection: Collection, text: str) -> list[str]:
    """Set the filter widgets from a link's ``filter`` value; returns what could not be used."""
    fields = fields_of(collection)
    try:
        asked = json.loads(text) if len(text) <= 4 * MAX_QUERY_CHARS else None
        conditions = [Condition(**c) for c in asked] if isinstance(asked, list) else None
    except (ValueError, TypeError, RecursionError):
        conditions = None
    if conditions is None:
        return ["its filter is not a list of conditions"]
    saved, problems, chosen = st.session_state.setdefault(SAVED, {}), [], []
    for c in conditions:
        if c.field not in fields:
            problems.append(f"this collection has no field {str(c.field)[:60]!r} to filter by")
            continue
        value = _widget_value(fields[c.field], c)
        if value is None:
            problems.append(f"the filter on {c.field!r} does not fit that field")
            continue
        chosen.append(c.field)
        saved[widget_key(fields, c.field)] = value
    saved[widget_key(fields, "")] = chosen
    return problems


def _widget_value(f: Field, c: Condition):
    """What ``f``'s widget shows for condition ``c`` (the inverse of :func:`_widget`); None when it cannot."""
    if f.kind == CHOICE and isinstance(c.keep, list):
        return [v for v in c.keep if v in f.choices] or None
    if f.kind == TEXT and isinstance(c.contains, str):
        return c.contains[:MAX_QUERY_CHARS]
    if not f.ranged or not all(isinstance(v, (int, float)) and math.isfinite(v) for v in (c.low, c.high)):
        return None
    low, high = f.bounds()
    picked = (min(max(min(c.low, c.high), low), high), max(min(max(c.low, c.high), high), low))
    if f.kind == DATE:
        return tuple(datetime.fromtimestamp(v, timezone.utc).date() for v in picked)
    if f.name == SIZE:
        return (math.floor(picked[0] / 1000), math.ceil(picked[1] / 1000))
    return tuple(int(round(v)) for v in picked) if f.integer else picked
