"""Bad input a user could send: each is named with its reason, and the rest of the collection is kept.

Every case writes one file (or a few) beside a good picture, loads the folder
(or zip) as the app does, and checks both halves of the promise.
"""

import io
import json
import warnings
import zipfile

import numpy as np
import pytest
from PIL import Image

from similarity.ingest.collection import load_folder, load_zip
from similarity.ingest.files import BadInput, open_image

GOOD = "good.png"


def _png(size=(40, 30), mode="RGB", color=(200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, color).save(out, "PNG")
    return out.getvalue()


def _picture(mode, size=(40, 30), fmt="PNG", **save) -> bytes:
    out = io.BytesIO()
    colour = {"CMYK": (0, 255, 255, 0), "I;16": 40000, "P": 3, "RGBA": (255, 0, 0, 0), "1": 1}.get(mode, (9, 99, 199))
    Image.new(mode, size, colour).save(out, fmt, **save)
    return out.getvalue()


def _animated_gif() -> bytes:
    out = io.BytesIO()
    frames = [Image.new("P", (20, 20), i) for i in (1, 2, 3)]
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=100)
    return out.getvalue()


def _exif_rotated() -> bytes:
    picture = Image.new("RGB", (60, 20), (0, 200, 0))
    exif = picture.getexif()
    exif[0x0112] = 6  # orientation: rotate 90° to show upright
    out = io.BytesIO()
    picture.save(out, "JPEG", exif=exif)
    return out.getvalue()


def _zip(members: dict, compression=zipfile.ZIP_STORED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=compression) as z:
        for name, data in members.items():
            if isinstance(data, zipfile.ZipInfo):
                z.writestr(data, "/etc/passwd")
            else:
                z.writestr(name, data)
    return out.getvalue()


def _symlink_entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = 0o120777 << 16
    return info


BAD = _png((50, 50), color=(1, 2, 3))  # the bad entry's data, found again in the zip by its bytes


def _forged(name: str, **header) -> bytes:
    """good.png and ``name`` stored in a zip whose directory says ``header`` of ``name`` (what a reader trusts)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr(GOOD, _png())
        z.writestr(name, BAD)
        for field, value in header.items():
            setattr(z.getinfo(name), field, value)
    return out.getvalue()


def _flipped(data: bytes) -> bytes:
    """The zip with one byte of the bad entry's data changed: what a damaged download looks like."""
    at = data.index(BAD) + len(BAD) // 2
    return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :]


def _twice() -> bytes:
    out = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(out, "w") as z:
        warnings.simplefilter("ignore")  # zipfile warns of a duplicate name: the point of this zip
        z.writestr(GOOD, _png())
        z.writestr(GOOD, BAD)
    return out.getvalue()


# case id -> (zip bytes, the entry named, its reason, what is on disk afterwards)
BAD_ENTRIES = {
    "corrupt CRC": (_flipped(_forged("bad.png")), "bad.png", "damaged in the zip", [GOOD]),
    "encrypted": (_forged("bad.png", flag_bits=0x1), "bad.png", "encrypted (password-protected)", [GOOD]),
    "Deflate64": (_forged("bad.png", compress_type=9), "bad.png", "compressed with deflate64 (method 9)", [GOOD]),
    "size that lies": (_forged("bad.png", file_size=10), "bad.png", "sizes do not match its data", [GOOD]),
    "file and folder of one name": (
        _zip({"a": b"a file", "a/b.png": _png(color=(0, 0, 200)), GOOD: _png()}),
        "a",
        "a file with the name of a folder",
        ["a", "a/b.png", GOOD],
    ),
    "folder first, then a file of its name": (
        _zip({"a/b.png": _png(color=(0, 0, 200)), "a": b"a file", GOOD: _png()}),
        "a",
        "a file with the name of a folder",
        ["a", "a/b.png", GOOD],
    ),
    "Windows drive paths": (
        _zip({"C:/x.png": _png(), "D:\\y.png": _png(), GOOD: _png()}),
        "C:/x.png",
        "unsafe path",
        [GOOD],
    ),
    "one name twice": (_twice(), GOOD, "a second entry of this name", [GOOD]),
}


# case id -> (files to write beside good.png, expected problem: (file, reason) or None if accepted)
REFUSED = {
    "corrupt": ({"broken.png": b"\x89PNG\r\n\x1a\n" + b"\x00garbage" * 20}, ("broken.png", "corrupt")),
    "truncated": ({"half.png": _png((300, 300))[:200]}, ("half.png", "corrupt or truncated")),
    "zero bytes": ({"empty.jpg": b""}, ("empty.jpg", "empty file (0 bytes)")),
    "text named .png": ({"notes.png": b"just some text"}, ("notes.png", "not a picture this app can read")),
    "unsupported type": ({"slides.pdf": b"%PDF-1.4"}, ("slides.pdf", "not an image or caption file")),
    "no extension": ({"README": b"hello"}, ("README", "no extension")),
    "decompression bomb": (
        {"bomb.png": _picture("1", (9000, 8000))},
        ("bomb.png", "image too large (9,000 x 8,000 pixels)"),
    ),
    "non-UTF-8 captions": ({"captions.csv": "good.png,café".encode("latin-1")}, ("captions.csv", "not UTF-8")),
    "CSV without captions": ({"captions.csv": b"good.png\n"}, ("captions.csv", "no caption column")),
    "malformed JSON": ({"captions.json": b"{'good.png': 'x'"}, ("captions.json", "malformed JSON")),
    "JSON list": ({"captions.json": b'["a", "b"]'}, ("captions.json", "expected a JSON object")),
    "caption for a missing picture": (
        {"captions.csv": b"good.png,a red square\nghost.png,a ghost\n"},
        ("ghost.png", "no such image was loaded"),
    ),
    "1 MB caption": (
        {"captions.csv": b"good.png," + b"very long " * 100_000},
        ("good.png", "cut to 1,000"),
    ),
}
ACCEPTED = {
    "JPEG named .png": {"photo.png": _picture("RGB", fmt="JPEG")},
    "CMYK": {"print.jpg": _picture("CMYK", fmt="JPEG")},
    "16-bit greyscale": {"scan.png": _picture("I;16")},
    "palette with transparency": {"icon.png": _picture("P", transparency=0)},
    "transparent RGBA": {"clear.png": _picture("RGBA")},
    "animated GIF": {"wave.gif": _animated_gif()},
    "EXIF-rotated": {"phone.jpg": _exif_rotated()},
    "1x1": {"dot.png": _png((1, 1))},
    "20000x20": {"strip.png": _png((20000, 20))},
    "WebP": {"web.webp": _picture("RGB", fmt="WEBP")},
    "BMP": {"old.bmp": _picture("RGB", fmt="BMP")},
    "TIFF": {"scan.tiff": _picture("RGB", fmt="TIFF")},
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_refused_files_are_named_with_the_reason_and_the_rest_kept(tmp_path, case):
    files, (name, reason) = REFUSED[case]
    (tmp_path / GOOD).write_bytes(_png())
    for file, data in files.items():
        (tmp_path / file).write_bytes(data)
    collection = load_folder(tmp_path, allowed=[tmp_path])
    assert GOOD in [item.source for item in collection.items if item.image_path]
    assert any(p.startswith(name) and reason in p for p in collection.problems), collection.problems


@pytest.mark.parametrize("case", list(ACCEPTED))
def test_unusual_but_valid_pictures_load_as_upright_rgb(tmp_path, case):
    (tmp_path / GOOD).write_bytes(_png())
    for file, data in ACCEPTED[case].items():
        (tmp_path / file).write_bytes(data)
    collection = load_folder(tmp_path, allowed=[tmp_path])
    assert not collection.problems and len(collection.items) == 2
    for item in collection.items:
        picture = open_image(item.image_path)
        assert picture.mode == "RGB" and min(picture.size) >= 1
    if case == "EXIF-rotated":
        assert open_image(tmp_path / "phone.jpg").size == (20, 60)  # shown upright, as the phone meant


@pytest.mark.parametrize(
    "case,members,message",
    [
        ("zip bomb", {"zeros.png": b"\0" * 30_000_000}, "look like a zip bomb; nothing was unpacked"),
        ("zip-slip", {"../../escape.png": _png(), GOOD: _png()}, "../../escape.png: unsafe path"),
        ("absolute path", {"/tmp/abs.png": _png(), GOOD: _png()}, "/tmp/abs.png: unsafe path"),
        ("symlink in a zip", {"link.png": _symlink_entry("link.png"), GOOD: _png()}, "link.png: a symbolic link"),
        ("not a zip", None, "not a readable zip file"),
    ],
)
def test_hostile_zips_are_refused_or_cleaned(tmp_path, case, members, message):
    archive = tmp_path / f"{case.replace(' ', '-')}.zip"
    archive.write_bytes(b"PK\x03\x04 nope" if members is None else _zip(members, zipfile.ZIP_DEFLATED))
    try:
        collection = load_zip(archive, tmp_path / "out")
    except ValueError as err:  # refused as a whole: named, and nothing written
        assert str(err).startswith(archive.name) and message in str(err)
        assert not (tmp_path / "out").exists()
        return
    assert [i.source for i in collection.items] == [GOOD]
    assert any(message in p for p in collection.problems), collection.problems
    assert not (tmp_path / "escape.png").exists() and not (tmp_path / "out" / "link.png").exists()


@pytest.mark.parametrize("case", list(BAD_ENTRIES))
def test_unusable_zip_entries_are_named_and_leave_nothing_on_disk(tmp_path, case):
    data, name, reason, on_disk = BAD_ENTRIES[case]
    (tmp_path / "in.zip").write_bytes(data)
    collection = load_zip(tmp_path / "in.zip", tmp_path / "out")
    assert GOOD in [i.source for i in collection.items]
    assert any(p.startswith(f"{name}: ") and reason in p for p in collection.problems), collection.problems
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*")) == on_disk
    assert (tmp_path / "out" / GOOD).read_bytes() == _png()


@pytest.mark.parametrize(
    "path,message",
    [
        ("pics\x00/../etc", "pics\\x00/../etc: a folder name cannot contain a NUL byte"),
        ("loop", "loop: a symbolic link loop"),
    ],
)
def test_a_server_folder_with_a_nul_byte_or_a_link_loop_is_named(tmp_path, path, message):
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    with pytest.raises(BadInput) as refused:
        load_folder(tmp_path / path, allowed=[tmp_path])
    assert message in str(refused.value), refused.value


@pytest.mark.parametrize(
    "data,reason",
    [
        (b"[" * 5_000 + b"]" * 5_000, "JSON nested 5,000 deep; the limit is 32"),
        (b'{"good.png": ' + b"9" * 4_301 + b"}", "a number of 4,301 characters; the limit is 100"),
    ],
)
def test_hostile_json_captions_are_named_and_the_pictures_kept(tmp_path, data, reason):
    (tmp_path / GOOD).write_bytes(_png())
    (tmp_path / "captions.json").write_bytes(data)
    collection = load_folder(tmp_path, allowed=[tmp_path])
    assert [i.source for i in collection.items] == [GOOD]
    assert collection.problems == [f"captions.json: {reason}"]


def test_html_markdown_and_control_characters_in_captions_stay_plain_text(tmp_path):
    (tmp_path / GOOD).write_bytes(_png())
    caption = "<script>alert(1)</script> **bold** [link](javascript:x)\x00\x1b[31m red\tsquare"
    (tmp_path / "captions.json").write_text(json.dumps({GOOD: caption}), encoding="utf-8")
    (item,) = load_folder(tmp_path, allowed=[tmp_path]).items
    assert item.caption == "<script>alert(1)</script> **bold** [link](javascript:x) [31m red square"


def test_a_bom_prefixed_caption_file_is_read(tmp_path):
    (tmp_path / GOOD).write_bytes(_png())
    (tmp_path / "captions.csv").write_bytes("\ufefffile,caption\ngood.png,a red square\n".encode())
    assert [i.caption for i in load_folder(tmp_path, allowed=[tmp_path]).items] == ["a red square"]


def test_the_same_picture_a_thousand_times_is_stored_once(tmp_path):
    data = _png()
    for i in range(1000):
        (tmp_path / f"copy{i:04d}.png").write_bytes(data)
    collection = load_folder(tmp_path, allowed=[tmp_path])
    assert len(collection.items) == 1 and len(collection.duplicates) == 999
    assert collection.duplicates[0] == "copy0001.png = copy0000.png"


def test_an_empty_folder_is_an_empty_collection(tmp_path):
    collection = load_folder(tmp_path, allowed=[tmp_path])
    assert collection.items == [] and collection.problems == []


@pytest.fixture(scope="module")
def broken_checkpoint():
    """The bundled model with NaN weights in its picture head: what a damaged weights file gives."""
    import torch

    from similarity.encoders.bundled import load_bundled

    broken = load_bundled(backend="torch")
    with torch.no_grad():
        broken.towers.model.visual.head[-1].weight.fill_(float("nan"))
    return broken


def test_a_broken_checkpoint_giving_nan_vectors_is_named_and_nothing_is_stored(broken_checkpoint, tmp_path):
    """The app and the indexer run one pipeline: the same message, the caption kept, nothing broken stored."""
    from similarity.ingest.collection import Collection, Item
    from similarity.ingest.indexer import gather, index_local
    from similarity.ingest.pipeline import BROKEN_VECTOR
    from similarity.ingest.space import embed_collection
    from similarity.storage.items import ItemTable
    from similarity.storage.lance import connect
    from similarity.storage.vectors import EmbeddingStore

    (tmp_path / GOOD).write_bytes(_png())
    collection = Collection("c", [Item("id-good", GOOD, tmp_path / GOOD, "a red square")])
    store = EmbeddingStore(tmp_path / "app", broken_checkpoint.key)
    space = embed_collection(broken_checkpoint, store, collection)
    assert space.problems == [f"{GOOD}: {BROKEN_VECTOR}"]
    assert len(space.vectors) == 1 and space.kind.tolist() == ["caption"]  # the caption is kept
    assert np.isfinite(space.vectors).all() and len(store) == 1

    db = connect(tmp_path / "index")
    vectors, items = EmbeddingStore(db.uri, broken_checkpoint.key), ItemTable(db, "c")
    report = index_local(broken_checkpoint, vectors, items, gather([tmp_path / GOOD], {GOOD: "a red square"}, tmp_path))
    assert report.problems == [f"{tmp_path / GOOD}: {BROKEN_VECTOR}"]  # the same message, naming the file
    assert report.indexed == 0 and items.rows().num_rows == 0  # no item points at a missing vector
    assert len(vectors) == 1 and report.encoded_captions == 1  # its caption is stored, as in the app
