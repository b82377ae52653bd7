import json
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from similarity.ingest import collection as col
from similarity.ingest import files
from similarity.ingest.collection import load_captions_only, load_folder, load_zip
from similarity.ingest.files import BadInput, open_image, read_captions
from similarity.storage.keys import content_id


def test_folder_loads_images_with_captions_and_names_every_bad_file(tmp_path, make_image):
    make_image("pics/red.png")
    make_image("pics/blue.jpg", color=(0, 0, 255))
    make_image("pics/same-as-red.png")  # identical bytes to red.png
    (tmp_path / "pics/empty.png").write_bytes(b"")
    (tmp_path / "pics/fake.jpg").write_text("I am not a picture")
    good = (tmp_path / "pics/red.png").read_bytes()
    (tmp_path / "pics/truncated.png").write_bytes(make_image("t.png", size=(300, 300)).read_bytes()[:200])
    (tmp_path / "pics/notes.txt").write_text("hello")
    (tmp_path / "pics/captions.csv").write_text("file,caption\nred.png,a red square\nblue.jpg,a blue square\n")
    c = load_folder(tmp_path / "pics", allowed=[tmp_path])
    assert {i.source: i.caption for i in c.items} == {"red.png": "a red square", "blue.jpg": "a blue square"}
    problems = "\n".join(c.problems)
    assert "empty.png: empty file" in problems
    assert "fake.jpg: not a picture this app can read" in problems
    assert "truncated.png: corrupt or truncated" in problems
    assert "notes.txt: not an image or caption file" in problems
    assert c.duplicates == ["same-as-red.png = red.png"]
    assert c.items[[i.source for i in c.items].index("red.png")].id == content_id(good)


@pytest.mark.parametrize(
    "mode,color,save",
    [
        ("CMYK", (0, 255, 255, 0), {}),
        ("I;16", 40000, {}),
        ("P", 3, {}),
        ("RGBA", (255, 0, 0, 0), {}),
        ("LA", (10, 128), {}),
    ],
)
def test_unusual_modes_become_rgb(make_image, mode, color, save):
    suffix = ".tiff" if mode == "CMYK" else ".png"
    im = open_image(make_image("x" + suffix, color=color, mode=mode, **save))
    assert im.mode == "RGB" and im.size == (40, 30)
    if mode == "RGBA":
        assert im.getpixel((0, 0)) == (255, 255, 255)  # transparent -> white background


def test_exif_rotation_is_applied(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    path = tmp_path / "rotated.jpg"
    Image.new("RGB", (40, 20), "red").save(path, exif=exif)
    assert open_image(path).size == (20, 40)


def test_gif_uses_first_frame(tmp_path):
    frames = [Image.new("RGB", (10, 10), c) for c in ("red", "blue")]
    frames[0].save(tmp_path / "a.gif", save_all=True, append_images=frames[1:])
    assert open_image(tmp_path / "a.gif").getpixel((5, 5))[0] > 200


def test_decompression_bombs_are_refused(make_image, monkeypatch):
    monkeypatch.setattr(files, "MAX_IMAGE_PIXELS", 100)
    with pytest.raises(BadInput, match="big.png: image too large"):
        open_image(make_image("big.png", size=(300, 300)))


def test_caption_files_with_bad_encoding_or_shape_name_the_file():
    assert read_captions("c.json", json.dumps({"a.png": " cat "}).encode()) == {"a.png": "cat"}
    with pytest.raises(BadInput, match="c.csv: not UTF-8"):
        read_captions("c.csv", "a.png,caf\xe9".encode("latin-1"))
    with pytest.raises(BadInput, match="c.json: malformed JSON"):
        read_captions("c.json", b"{not json")
    with pytest.raises(BadInput, match="c.json: expected a JSON object"):
        read_captions("c.json", b"[1, 2]")
    with pytest.raises(BadInput, match="line 2 has no caption"):
        read_captions("c.csv", b"a.png,cat\nb.png\n")


def test_bad_caption_file_keeps_the_pictures(tmp_path, make_image):
    make_image("p/a.png")
    (tmp_path / "p/caps.json").write_bytes(b"{broken")
    c = load_folder(tmp_path / "p", allowed=[tmp_path])
    assert [i.source for i in c.items] == ["a.png"] and "caps.json: malformed JSON" in c.problems[0]


def _zip(path, members: dict):
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def test_zip_skips_paths_that_escape_and_keeps_the_rest(tmp_path, make_image):
    png = make_image("a.png").read_bytes()
    archive = _zip(
        tmp_path / "x.zip",
        {"ok/a.png": png, "../evil.png": png, "/abs.png": png, "captions.json": json.dumps({"a.png": "red"})},
    )
    c = load_zip(archive, tmp_path / "out")
    assert [(i.source, i.caption) for i in c.items] == [("ok/a.png", "red")]
    assert sum("unsafe path" in p for p in c.problems) == 2
    assert not (tmp_path / "evil.png").exists()


def test_oversized_or_broken_zip_is_refused(tmp_path):
    with pytest.raises(BadInput, match="big.zip: unpacks to"):
        load_zip(_zip(tmp_path / "big.zip", {"a.txt": b"0" * 5000}), tmp_path / "o", max_bytes=1000)
    (tmp_path / "bad.zip").write_bytes(b"PK not really")
    with pytest.raises(BadInput, match="bad.zip: not a readable zip"):
        load_zip(tmp_path / "bad.zip", tmp_path / "o")


def test_text_only_corpus_and_missing_folder():
    c = load_captions_only("notes", ["a cat", "", "a dog"])
    assert [i.caption for i in c.items] == ["a cat", "a dog"] and c.n_images == 0
    with pytest.raises(BadInput, match="no such folder"):
        load_folder(Path("/no/such/folder"), allowed=[Path("/")])


def test_demo_collection_has_pictures_captions_and_groups(demo):
    assert demo.n_images > 1800 and demo.n_captions == demo.n_images
    assert {i.label for i in demo.items} >= {"Food & Drink", "Animals & Nature", "Flags"}
    assert len({i.id for i in demo.items}) == len(demo.items)


def test_uploads_are_stored_by_content_and_typed_captions_attach(tmp_path, make_image):
    data = make_image("cat.png").read_bytes()
    saved = col.save_uploads([("cat.png", data), ("again.png", data), ("bad.jpg", b"\x00" * 10)], tmp_path / "up")
    assert len(list((tmp_path / "up").iterdir())) == 2  # identical uploads share one file
    c = col.load_files("mine", saved, {"cat.png": "my cat"})
    assert [(i.source, i.caption) for i in c.items] == [("cat.png", "my cat")]
    assert c.duplicates == ["again.png = cat.png"] and "bad.jpg: not a picture this app can read" in c.problems[0]


def test_adding_to_a_collection_keeps_what_was_there(make_image, tmp_path):
    first = col.load_files("mine", [("a.png", make_image("a.png"))])
    both = first.merged(col.load_files("mine", [("b.png", make_image("b.png", color=(1, 2, 3)))]))
    assert [i.source for i in both.items] == ["a.png", "b.png"] and [i.source for i in first.items] == ["a.png"]


def test_a_zip_bomb_is_refused_before_anything_is_written(tmp_path):
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("zeros.png", b"\0" * 50_000_000)  # 50 MB of zeros in ~50 KB
    assert bomb.stat().st_size < 200_000
    with pytest.raises(BadInput, match="bomb.zip: .* look like a zip bomb; nothing was unpacked"):
        load_zip(bomb, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_symbolic_links_in_a_zip_are_skipped(tmp_path, make_image):
    archive = tmp_path / "links.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("a.png", make_image("a.png").read_bytes())
        link = zipfile.ZipInfo("passwd.png")
        link.external_attr = 0o120777 << 16  # a symlink entry, as `zip --symlinks` writes it
        z.writestr(link, "/etc/passwd")
    c = load_zip(archive, tmp_path / "out")
    assert [i.source for i in c.items] == ["a.png"]
    assert c.problems == ["passwd.png: a symbolic link in the zip, skipped"]
    assert not (tmp_path / "out" / "passwd.png").exists()


def test_server_folders_only_where_the_host_allows(tmp_path, make_image, monkeypatch):
    from similarity.storage.paths import ALLOWED_FOLDERS

    make_image("allowed/pics/a.png")
    monkeypatch.delenv(ALLOWED_FOLDERS, raising=False)
    with pytest.raises(BadInput, match=f"off. The host can allow some with {ALLOWED_FOLDERS}"):
        load_folder(tmp_path / "allowed")
    monkeypatch.setenv(ALLOWED_FOLDERS, str(tmp_path / "allowed"))
    assert [i.source for i in load_folder(tmp_path / "allowed" / "pics").items] == ["a.png"]
    for outside in (Path("/etc"), tmp_path / "allowed" / ".." / "elsewhere", Path("~")):
        with pytest.raises(BadInput, match=f"outside the folders the host allows .*{ALLOWED_FOLDERS}"):
            load_folder(outside)
    (tmp_path / "allowed" / "pics" / "secret.png").symlink_to("/etc/hostname")  # a link out of the allowed folder
    c = load_folder(tmp_path / "allowed" / "pics")
    assert [i.source for i in c.items] == ["a.png"]
    assert c.problems == ["secret.png: links outside the allowed folders, skipped"]


def test_old_unpacked_zips_are_removed(tmp_path):
    import os
    import time

    from similarity.ingest.zips import remove_old_unpacked

    old, new = tmp_path / "zip-old", tmp_path / "zip-new"
    for folder in (old, new):
        (folder / "files").mkdir(parents=True)
    os.utime(old, (time.time() - 10 * 86_400, time.time() - 10 * 86_400))
    assert remove_old_unpacked(tmp_path) == 1 and not old.exists() and new.exists()


def test_the_zip_clean_up_never_reaches_a_hosts_folders_beside_the_cache(tmp_path, monkeypatch):
    """A host's own old zip-* folder beside the cache survives: unpacked zips have a folder of their own."""
    import os
    import time

    from similarity.ingest.zips import remove_old_unpacked
    from similarity.storage.paths import default_root, unpacked_folder

    monkeypatch.setenv("CLIP_EXPLORER_CACHE", str(tmp_path / "cache" / "embeddings"))
    precious = tmp_path / "cache" / "zip-precious-backup"
    precious.mkdir(parents=True)
    os.utime(precious, (time.time() - 3 * 86_400, time.time() - 3 * 86_400))
    unpacked = unpacked_folder(default_root())
    assert unpacked == tmp_path / "cache" / "unpacked" and precious.parent != unpacked
    unpacked.mkdir()
    remove_old_unpacked(unpacked)
    assert precious.exists()
