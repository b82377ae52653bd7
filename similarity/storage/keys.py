"""The names vectors are stored under: a content hash and the kind (picture or caption).

The same picture loaded twice, under any name, has one key, so it is
embedded once per model; so has the same caption.
"""

from __future__ import annotations

import hashlib

IMAGE, CAPTION = "image", "caption"  # the two kinds of vector an item can have
_IMAGE_PREFIX, _CAPTION_PREFIX = "img:", "txt:"


def content_id(data: bytes) -> str:
    """A short content hash.

    >>> content_id(b"apple")
    '3a7bd3e2360a3d29eea4'
    """
    return hashlib.sha256(data).hexdigest()[:20]


def text_id(caption: str) -> str:
    """The id of a caption-only item (``t`` + its hash, so it never equals a picture's)."""
    return "t" + content_id(caption.encode("utf-8"))[1:]


def image_key_of(picture_id: str) -> str:
    """Store key of a picture, from its content id."""
    return _IMAGE_PREFIX + picture_id


def caption_key(caption: str) -> str:
    """Store key of a caption, from its text."""
    return _CAPTION_PREFIX + content_id(caption.encode("utf-8"))


def kind_of_key(key: str) -> str:
    """IMAGE or CAPTION, read from a store key.

    >>> kind_of_key(image_key_of("ab12")), kind_of_key(caption_key("a red apple"))
    ('image', 'caption')
    """
    return IMAGE if key.startswith(_IMAGE_PREFIX) else CAPTION
