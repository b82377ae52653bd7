"""The offline photo check: scikit-image's and scikit-learn's bundled sample photos, a caption each.

Also the ImageNet classes that count as a correct top-1 for the picture
backbone's sanity check (None: the photo shows no ImageNet class). Nothing
is downloaded: both packages ship these photos.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

# name: (loader, caption, acceptable ImageNet class indexes or None)
PHOTOS = {
    "chelsea": ("skimage", "a cat", {281, 282, 283, 285, 287}),  # tabby, tiger cat, Persian, Egyptian cat, lynx
    "coffee": ("skimage", "a cup of coffee", {967, 968, 504, 505}),  # espresso, cup, coffee mug, coffeepot
    "astronaut": ("skimage", "an astronaut in a space suit", None),
    "rocket": ("skimage", "a rocket on the launch pad", {657, 744, 812}),  # missile, projectile, space shuttle
    "coins": ("skimage", "old coins", None),
    "horse": ("skimage", "the silhouette of a horse", None),
    "camera": ("skimage", "a photographer with a camera", None),
    "hubble_deep_field": ("skimage", "galaxies in deep space", None),
    "retina": ("skimage", "the retina of an eye", None),
    "moon": ("skimage", "craters on the moon", None),
    "clock": ("skimage", "a clock", {409, 892}),  # analog clock, wall clock
    "grass": ("skimage", "green grass", None),
    "gravel": ("skimage", "gravel stones", None),
    "brick": ("skimage", "a brick wall", None),
    "text": ("skimage", "printed text", None),
    "immunohistochemistry": ("skimage", "cells under a microscope", None),
    "colorwheel": ("skimage", "a colour wheel", None),
    "checkerboard": ("skimage", "a checkerboard", None),
    "china.jpg": ("sklearn", "a Chinese temple", {698, 663, 832}),  # palace, monastery, stupa
    "flower.jpg": ("sklearn", "a flower", {985}),  # daisy
}


def load_photos() -> tuple[list[str], list[Image.Image], list[str], list]:
    import skimage.data
    from sklearn.datasets import load_sample_images

    skl = load_sample_images()
    by_file = {f.rsplit("/", 1)[-1]: im for f, im in zip(skl.filenames, skl.images)}
    names, images, captions, accept = [], [], [], []
    for name, (src, caption, ok) in PHOTOS.items():
        arr = by_file[name] if src == "sklearn" else getattr(skimage.data, name)()
        arr = np.asarray(arr)
        if arr.dtype == bool:
            arr = arr.astype(np.uint8) * 255
        if arr.ndim == 2:
            arr = np.stack([arr] * 3, -1)
        arr = arr[..., :3].astype(np.uint8)
        names.append(name)
        images.append(Image.fromarray(arr))
        captions.append(caption)
        accept.append(ok)
    return names, images, captions, accept
