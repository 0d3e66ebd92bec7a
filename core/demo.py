"""The built-in demo set: synthetic catalogue photos in the Kaggle layout.

So that a new user sees every page work without downloading anything, this
module draws about 1,500 product silhouettes (shirts, trousers, dresses, shoes,
sandals, watches, bags, belts, wallets, sunglasses, perfume bottles, lipsticks,
caps, balls, cushions...) 60 wide by 80 high on a white background, as the
catalogue photographs are, over the seven masterCategory classes in roughly the
real proportions, and writes them with a ``styles.csv`` whose every column is
filled. Colours, sizes and positions vary a little, so PCA, clustering and the
classifier find real structure. Everything is generated from one seeded
generator, so the set is the same on every machine.

The data is synthetic and says so: every product name starts with "Demo", and
:class:`core.dataset.Dataset` marks it ``kind == "demo"``.
"""
from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path
from typing import Callable, Optional

import cv2
import numpy as np

from . import config, files
from .progress import ProgressFn, report

#: Bump when the generated images or rows change, so old copies are replaced.
DEMO_VERSION = 1
DEMO_SEED = 20240611
N_IMAGES = 1500
_MARKER = "demo.json"
_W, _H = 60, 80
_SS = 4  # drawn at 4x, then reduced with area averaging: smooth edges

#: Rows per masterCategory out of 1,500, close to the real catalogue's shares.
_CLASS_COUNTS = {
    "Apparel": 720,
    "Accessories": 375,
    "Footwear": 315,
    "Personal Care": 75,
    "Free Items": 6,
    "Sporting Goods": 5,
    "Home": 4,
}

#: baseColour name -> RGB.
_COLOURS = {
    "Black": (30, 30, 32), "White": (245, 245, 242), "Blue": (40, 90, 190),
    "Navy Blue": (30, 40, 90), "Red": (200, 35, 40), "Grey": (128, 128, 130),
    "Green": (40, 140, 70), "Brown": (120, 75, 40), "Pink": (235, 130, 170),
    "Purple": (110, 50, 140), "Yellow": (235, 200, 40), "Beige": (220, 200, 160),
    "Maroon": (110, 20, 35), "Olive": (110, 115, 50), "Orange": (240, 130, 30),
    "Silver": (190, 192, 198), "Gold": (210, 170, 60), "Teal": (20, 130, 130),
    "Charcoal": (60, 62, 66), "Cream": (245, 235, 210),
}
_ALL = tuple(_COLOURS)
_DARK = ("Black", "Navy Blue", "Brown", "Charcoal", "Maroon", "Grey")
_BRANDS = ("Nimbus", "Arcadia", "Kestrel", "Lumen", "Orchid", "Tundra", "Vela", "Quill")


class _Pen:
    """Draws on a 60x80 canvas (coordinates in catalogue pixels) at 4x resolution,
    after a small random scale and shift, the jitter that varies every product."""

    def __init__(self, scale: float, dx: float, dy: float, rgb):
        self.img = np.full((_H * _SS, _W * _SS, 3), 255, np.uint8)
        self.s, self.dx, self.dy = scale, dx, dy
        self.rgb = np.asarray(rgb, float)

    def p(self, pts) -> np.ndarray:
        a = (np.asarray(pts, float).reshape(-1, 2) - (30, 40)) * self.s + (30 + self.dx, 40 + self.dy)
        return np.round(a * _SS).astype(np.int32)

    def _c(self, c) -> tuple:
        c = self.rgb if c is None else np.asarray(c, float)
        return tuple(int(v) for v in np.clip(c, 0, 255))  # the canvas is RGB

    def shade(self, k: float):
        """The main colour, darker (k < 1) or lighter (k > 1)."""
        return self.rgb * k if k <= 1 else self.rgb + (255 - self.rgb) * (k - 1)

    def poly(self, pts, c=None, outline: bool = True) -> None:
        p = self.p(pts)
        cv2.fillPoly(self.img, [p], self._c(c), cv2.LINE_AA)
        if outline:
            cv2.polylines(self.img, [p], True, self._c(self._outline(c)), _SS, cv2.LINE_AA)

    def _outline(self, c):
        c = self.rgb if c is None else np.asarray(c, float)
        return c * 0.6 if c.mean() > 60 else c + 50

    def rect(self, x0, y0, x1, y1, c=None, outline: bool = True) -> None:
        self.poly([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], c, outline)

    def ellipse(self, center, axes, c=None, thickness: int = -1, start=0, end=360,
                angle=0, outline: bool = False) -> None:
        ctr = tuple(int(v) for v in self.p([center])[0])
        ax = tuple(int(round(a * self.s * _SS)) for a in axes)
        th = thickness if thickness < 0 else max(1, int(round(thickness * self.s * _SS)))
        cv2.ellipse(self.img, ctr, ax, angle, start, end, self._c(c), th, cv2.LINE_AA)
        if outline and thickness < 0:
            cv2.ellipse(self.img, ctr, ax, angle, start, end, self._c(self._outline(c)), _SS,
                        cv2.LINE_AA)

    def line(self, p0, p1, c=None, width: float = 1.0) -> None:
        a, b = self.p([p0, p1])
        cv2.line(self.img, tuple(int(v) for v in a), tuple(int(v) for v in b), self._c(c),
                 max(1, int(round(width * self.s * _SS))), cv2.LINE_AA)

    def image(self) -> np.ndarray:
        return cv2.resize(self.img, (_W, _H), interpolation=cv2.INTER_AREA)


# ----------------------------------------------------------------------------
# Silhouettes, one per articleType; r is the generator, for small variations
# ----------------------------------------------------------------------------
def _tshirt(d: _Pen, r) -> None:
    d.poly([(22, 14), (26, 17), (34, 17), (38, 14), (50, 21), (46, 31), (41, 28), (41, 66),
            (19, 66), (19, 28), (14, 31), (10, 21)])
    d.ellipse((30, 15), (5, 3), (250, 250, 250), start=0, end=180)


def _shirt(d: _Pen, r) -> None:
    d.poly([(22, 12), (30, 17), (38, 12), (48, 17), (54, 54), (47, 55), (42, 30), (42, 68),
            (18, 68), (18, 30), (13, 55), (6, 54), (12, 17)])
    d.poly([(22, 12), (30, 20), (27, 23)], d.shade(0.75))
    d.poly([(38, 12), (30, 20), (33, 23)], d.shade(0.75))
    d.line((30, 20), (30, 68), d.shade(0.6), 0.7)
    for y in range(26, 66, 8):
        d.ellipse((31.5, y), (0.8, 0.8), d.shade(1.5))


def _top(d: _Pen, r) -> None:
    d.poly([(23, 13), (30, 21), (37, 13), (40, 15), (39, 30), (44, 64), (16, 64), (21, 30),
            (20, 15)])


def _kurta(d: _Pen, r) -> None:
    d.poly([(23, 8), (30, 13), (37, 8), (46, 13), (50, 40), (44, 41), (41, 24), (43, 76),
            (17, 76), (19, 24), (16, 41), (10, 40), (14, 13)])
    d.line((30, 13), (30, 32), d.shade(0.55), 0.8)
    d.line((19, 70), (41, 70), d.shade(1.4), 1.2)


def _jacket(d: _Pen, r) -> None:
    _shirt(d, r)
    d.line((30, 20), (30, 68), (200, 200, 200), 1.0)
    d.rect(20, 46, 26, 49, d.shade(0.6), outline=False)
    d.rect(34, 46, 40, 49, d.shade(0.6), outline=False)


def _trousers(d: _Pen, r) -> None:
    d.poly([(18, 8), (42, 8), (45, 74), (33, 74), (30, 28), (27, 74), (15, 74)])
    d.line((18, 12), (42, 12), d.shade(0.6), 0.8)


def _jeans(d: _Pen, r) -> None:
    _trousers(d, r)
    d.ellipse((22, 16), (4, 4), d.shade(1.35), 0.6, start=0, end=180)
    d.ellipse((38, 16), (4, 4), d.shade(1.35), 0.6, start=0, end=180)


def _track_pants(d: _Pen, r) -> None:
    _trousers(d, r)
    d.line((17, 14), (16, 72), (245, 245, 245), 1.6)
    d.line((43, 14), (44, 72), (245, 245, 245), 1.6)


def _shorts(d: _Pen, r) -> None:
    d.poly([(17, 24), (43, 24), (46, 54), (32, 55), (30, 38), (28, 55), (14, 54)])
    d.line((17, 28), (43, 28), d.shade(0.6), 0.8)


def _dress(d: _Pen, r) -> None:
    d.poly([(24, 12), (36, 12), (38, 30), (49, 74), (11, 74), (22, 30)])
    d.line((25, 12), (24, 5), d.shade(0.8), 1.0)
    d.line((35, 12), (36, 5), d.shade(0.8), 1.0)
    d.line((22, 30), (38, 30), d.shade(0.65), 1.0)


def _skirt(d: _Pen, r) -> None:
    d.poly([(20, 22), (40, 22), (49, 64), (11, 64)])
    d.rect(20, 22, 40, 26, d.shade(0.7))


def _watch(d: _Pen, r) -> None:
    strap = d.shade(0.9)
    d.rect(24, 4, 36, 76, strap)
    face = _COLOURS["Silver"] if r.random() < 0.6 else _COLOURS["Gold"]
    d.ellipse((30, 40), (14, 14), face, outline=True)
    d.ellipse((30, 40), (11, 11), (250, 250, 250) if r.random() < 0.6 else (25, 25, 30))
    d.line((30, 40), (30, 32), (60, 60, 60), 0.9)
    d.line((30, 40), (36, 42), (60, 60, 60), 0.9)


def _handbag(d: _Pen, r) -> None:
    d.ellipse((30, 34), (12, 13), d.shade(0.7), 2.5, start=180, end=360)
    d.poly([(12, 34), (48, 34), (53, 70), (7, 70)])
    d.line((12, 42), (48, 42), d.shade(0.7), 0.6)


def _backpack(d: _Pen, r) -> None:
    d.ellipse((30, 16), (6, 5), d.shade(0.6), 1.5, start=180, end=360)
    d.poly([(16, 22), (22, 16), (38, 16), (44, 22), (46, 72), (14, 72)])
    d.rect(20, 46, 40, 66, d.shade(0.8))
    d.line((20, 50), (40, 50), d.shade(0.55), 0.6)


def _belt(d: _Pen, r) -> None:
    d.poly([(4, 62), (10, 68), (56, 20), (50, 14)])
    d.rect(44, 8, 58, 22, _COLOURS["Silver"])
    d.rect(47, 11, 55, 19, (250, 250, 250), outline=False)
    for t in np.linspace(0.25, 0.6, 4):
        d.ellipse((7 + 46 * t, 65 - 48 * t), (0.9, 0.9), (230, 230, 230))


def _wallet(d: _Pen, r) -> None:
    d.rect(9, 27, 51, 57)
    d.poly([(9, 27), (51, 27), (51, 38), (9, 38)], d.shade(0.8))
    d.rect(40, 35, 46, 41, _COLOURS["Silver"])


def _sunglasses(d: _Pen, r) -> None:
    lens = d.shade(0.5)
    d.line((5, 36), (2, 30), d.shade(0.8), 1.2)
    d.line((55, 36), (58, 30), d.shade(0.8), 1.2)
    d.ellipse((18, 40), (11, 8), lens, outline=True)
    d.ellipse((42, 40), (11, 8), lens, outline=True)
    d.ellipse((30, 37), (4, 3), d.shade(0.8), 1.2, start=180, end=360)


def _cap(d: _Pen, r) -> None:
    d.ellipse((42, 50), (16, 4), d.shade(0.75), outline=True)
    d.ellipse((29, 50), (19, 18), None, start=180, end=360, outline=True)
    d.ellipse((29, 32), (2, 1.5), d.shade(0.6))


def _necklace(d: _Pen, r) -> None:
    metal = _COLOURS["Gold"] if r.random() < 0.5 else _COLOURS["Silver"]
    d.ellipse((30, 28), (17, 24), metal, 1.2, start=0, end=180)
    d.ellipse((30, 56), (5, 6), None, outline=True)


def _earrings(d: _Pen, r) -> None:
    metal = _COLOURS["Gold"] if r.random() < 0.5 else _COLOURS["Silver"]
    for x in (19, 41):
        d.ellipse((x, 26), (3, 3), metal, 1.0)
        d.line((x, 29), (x, 40), metal, 1.0)
        d.poly([(x, 40), (x + 6, 52), (x, 62), (x - 6, 52)])


def _socks(d: _Pen, r) -> None:
    d.poly([(20, 8), (36, 8), (36, 52), (48, 58), (48, 72), (28, 72), (20, 62)])
    d.rect(20, 8, 36, 15, d.shade(0.7))


def _casual_shoe(d: _Pen, r) -> None:
    d.poly([(5, 54), (9, 42), (25, 40), (33, 32), (45, 32), (50, 40), (56, 47), (56, 58), (5, 58)])
    d.rect(4, 56, 57, 61, _COLOURS["White"] if r.random() < 0.6 else _COLOURS["Brown"])
    for x in (36, 40, 44):
        d.line((x, 34), (x - 3, 40), d.shade(1.5), 0.6)


def _sports_shoe(d: _Pen, r) -> None:
    d.poly([(4, 52), (8, 40), (22, 38), (32, 28), (46, 28), (52, 38), (57, 45), (57, 56), (4, 56)])
    d.rect(3, 54, 58, 62, (245, 245, 245))
    d.line((12, 50), (44, 38), d.shade(1.6), 1.6)


def _heels(d: _Pen, r) -> None:
    d.poly([(6, 40), (12, 36), (22, 44), (38, 52), (52, 50), (57, 56), (54, 61), (40, 61),
            (20, 54), (12, 52)])
    d.poly([(9, 50), (14, 52), (12, 72), (9, 72)], d.shade(0.6))


def _sandal(d: _Pen, r) -> None:
    d.rect(4, 56, 57, 62, _COLOURS["Brown"] if r.random() < 0.5 else d.shade(0.6))
    d.ellipse((20, 56), (10, 12), None, 2.2, start=180, end=360)
    d.ellipse((42, 56), (9, 9), None, 2.2, start=180, end=360)
    d.line((10, 50), (16, 42), None, 1.6)


def _flip_flop(d: _Pen, r) -> None:
    d.ellipse((30, 42), (12, 31), d.shade(0.85), outline=True)
    d.line((30, 24), (20, 44), d.shade(0.5), 2.0)
    d.line((30, 24), (40, 44), d.shade(0.5), 2.0)


def _perfume(d: _Pen, r) -> None:
    d.rect(26, 12, 34, 26, _COLOURS["Black"] if r.random() < 0.5 else _COLOURS["Gold"])
    d.rect(28, 26, 32, 30, _COLOURS["Silver"])
    d.poly([(16, 30), (44, 30), (46, 72), (14, 72)], d.shade(1.25))
    d.rect(21, 44, 39, 56, (245, 245, 245))


def _deodorant(d: _Pen, r) -> None:
    d.rect(22, 16, 38, 74)
    d.ellipse((30, 16), (8, 5), d.shade(0.6))
    d.rect(22, 34, 38, 40, (245, 245, 245), outline=False)


def _lipstick(d: _Pen, r) -> None:
    d.rect(23, 44, 37, 74, _COLOURS["Gold"] if r.random() < 0.5 else _COLOURS["Black"])
    d.rect(25, 36, 35, 44, _COLOURS["Silver"])
    d.poly([(26, 36), (26, 20), (34, 14), (34, 36)])


def _nail_polish(d: _Pen, r) -> None:
    d.rect(26, 12, 34, 44, _COLOURS["Black"])
    d.poly([(20, 44), (40, 44), (42, 72), (18, 72)])


def _gift(d: _Pen, r) -> None:
    ribbon = _COLOURS["Red"] if r.random() < 0.5 else _COLOURS["Gold"]
    d.rect(12, 32, 48, 70)
    d.rect(27, 32, 33, 70, ribbon, outline=False)
    d.rect(12, 46, 48, 52, ribbon, outline=False)
    d.ellipse((24, 27), (6, 4), ribbon, outline=True, angle=20)
    d.ellipse((36, 27), (6, 4), ribbon, outline=True, angle=-20)


def _football(d: _Pen, r) -> None:
    d.ellipse((30, 40), (22, 22), (245, 245, 245), outline=True)
    d.ellipse((30, 40), (6, 6), (30, 30, 30))
    for a in np.linspace(0, 2 * np.pi, 6)[:-1]:
        d.ellipse((30 + 16 * np.sin(a), 40 - 16 * np.cos(a)), (4, 4), (30, 30, 30))


def _basketball(d: _Pen, r) -> None:
    d.ellipse((30, 40), (22, 22), (225, 110, 30), outline=True)
    d.line((8, 40), (52, 40), (40, 30, 20), 1.0)
    d.line((30, 18), (30, 62), (40, 30, 20), 1.0)
    d.ellipse((12, 40), (10, 18), (40, 30, 20), 1.0, start=-90, end=90)
    d.ellipse((48, 40), (10, 18), (40, 30, 20), 1.0, start=90, end=270)


def _cushion(d: _Pen, r) -> None:
    d.poly([(8, 20), (30, 16), (52, 20), (54, 40), (52, 62), (30, 66), (8, 62), (6, 40)])
    for x in (18, 26, 34, 42):
        d.line((x + 4, 24), (x - 4, 58), d.shade(1.4), 1.4)


# (masterCategory, subCategory, articleType, drawer, weight, genders, usages, colours)
_APPAREL_G = ("Men", "Women", "Boys", "Girls", "Unisex")
_CATALOGUE = (
    ("Apparel", "Topwear", "Tshirts", _tshirt, 0.28, _APPAREL_G, ("Casual", "Sports"), _ALL),
    ("Apparel", "Topwear", "Shirts", _shirt, 0.2, ("Men", "Boys"), ("Casual", "Formal"), _ALL),
    ("Apparel", "Topwear", "Tops", _top, 0.08, ("Women", "Girls"), ("Casual",), _ALL),
    ("Apparel", "Topwear", "Kurtas", _kurta, 0.08, ("Men", "Women"), ("Ethnic",), _ALL),
    ("Apparel", "Topwear", "Jackets", _jacket, 0.03, ("Men", "Women"), ("Casual",), _DARK),
    ("Apparel", "Bottomwear", "Jeans", _jeans, 0.1, _APPAREL_G, ("Casual",),
     ("Blue", "Navy Blue", "Black", "Grey")),
    ("Apparel", "Bottomwear", "Trousers", _trousers, 0.06, ("Men", "Women"), ("Formal", "Casual"),
     ("Black", "Navy Blue", "Grey", "Beige", "Brown", "Charcoal")),
    ("Apparel", "Bottomwear", "Shorts", _shorts, 0.05, _APPAREL_G, ("Casual", "Sports"), _ALL),
    ("Apparel", "Bottomwear", "Track Pants", _track_pants, 0.04, ("Men", "Women"), ("Sports",),
     _DARK),
    ("Apparel", "Dress", "Dresses", _dress, 0.06, ("Women", "Girls"), ("Casual", "Party"), _ALL),
    ("Apparel", "Bottomwear", "Skirts", _skirt, 0.02, ("Women", "Girls"), ("Casual",), _ALL),
    ("Accessories", "Watches", "Watches", _watch, 0.24, ("Men", "Women", "Unisex"),
     ("Casual", "Formal"), ("Black", "Brown", "Silver", "Gold", "Navy Blue")),
    ("Accessories", "Bags", "Handbags", _handbag, 0.14, ("Women",), ("Casual",), _ALL),
    ("Accessories", "Bags", "Backpacks", _backpack, 0.08, ("Unisex", "Men"), ("Casual", "Travel"),
     _ALL),
    ("Accessories", "Belts", "Belts", _belt, 0.1, ("Men", "Women"), ("Casual", "Formal"),
     ("Black", "Brown", "Maroon", "Beige")),
    ("Accessories", "Wallets", "Wallets", _wallet, 0.1, ("Men", "Women"), ("Casual",),
     ("Black", "Brown", "Maroon", "Navy Blue", "Pink")),
    ("Accessories", "Eyewear", "Sunglasses", _sunglasses, 0.12, ("Men", "Women", "Unisex"),
     ("Casual",), ("Black", "Brown", "Gold", "Silver", "Blue")),
    ("Accessories", "Headwear", "Caps", _cap, 0.06, ("Men", "Unisex"), ("Casual", "Sports"), _ALL),
    ("Accessories", "Jewellery", "Necklace and Chains", _necklace, 0.05, ("Women",),
     ("Ethnic", "Casual"), ("Red", "Green", "Blue", "Pink", "White")),
    ("Accessories", "Jewellery", "Earrings", _earrings, 0.05, ("Women",), ("Ethnic", "Casual"),
     ("Red", "Green", "Blue", "Pink", "White", "Gold")),
    ("Accessories", "Socks", "Socks", _socks, 0.06, ("Men", "Women", "Unisex"), ("Casual",), _ALL),
    ("Footwear", "Shoes", "Casual Shoes", _casual_shoe, 0.3, ("Men", "Women"), ("Casual",), _ALL),
    ("Footwear", "Shoes", "Sports Shoes", _sports_shoe, 0.25, ("Men", "Women"), ("Sports",), _ALL),
    ("Footwear", "Shoes", "Heels", _heels, 0.12, ("Women",), ("Casual", "Party"), _ALL),
    ("Footwear", "Sandal", "Sandals", _sandal, 0.15, ("Men", "Women"), ("Casual",), _ALL),
    ("Footwear", "Flip Flops", "Flip Flops", _flip_flop, 0.18, ("Men", "Women", "Unisex"),
     ("Casual",), _ALL),
    ("Personal Care", "Fragrance", "Perfume and Body Mist", _perfume, 0.35,
     ("Men", "Women", "Unisex"), ("Casual",), ("Pink", "Blue", "Yellow", "Purple", "Teal", "Orange")),
    ("Personal Care", "Fragrance", "Deodorant", _deodorant, 0.2, ("Men", "Women"), ("Casual",),
     _ALL),
    ("Personal Care", "Lips", "Lipstick", _lipstick, 0.25, ("Women",), ("Casual", "Party"),
     ("Red", "Pink", "Maroon", "Purple", "Orange")),
    ("Personal Care", "Nails", "Nail Polish", _nail_polish, 0.2, ("Women",), ("Casual",), _ALL),
    ("Free Items", "Free Gifts", "Free Gifts", _gift, 1.0, ("Men", "Women", "Unisex"),
     ("Casual",), _ALL),
    ("Sporting Goods", "Sports Equipment", "Footballs", _football, 0.6, ("Unisex",), ("Sports",),
     ("White", "Black")),
    ("Sporting Goods", "Sports Equipment", "Basketballs", _basketball, 0.4, ("Unisex",),
     ("Sports",), ("Orange",)),
    ("Home", "Home Furnishing", "Cushion Covers", _cushion, 1.0, ("Unisex",), ("Home",), _ALL),
)
_SEASONS = ("Summer", "Fall", "Winter", "Spring")
_SEASON_P = (0.48, 0.26, 0.19, 0.07)


def demo_dir(cache_directory=None) -> Path:
    """Where the generated demo set lives (under the cache folder)."""
    return config.cache_dir(cache_directory) / "data" / "demo"


def _rows_and_images(n_images: int, rng: np.random.Generator):
    """Generate the rows and images, in a random order of products."""
    total = sum(_CLASS_COUNTS.values())
    counts = {k: int(round(v * n_images / total)) for k, v in _CLASS_COUNTS.items()}
    counts["Apparel"] += n_images - sum(counts.values())
    plan = []
    for master, n in counts.items():
        items = [c for c in _CATALOGUE if c[0] == master]
        w = np.array([c[4] for c in items], float)
        # every articleType appears at least once when the class has room for it
        picks = list(range(len(items)))[:n] + list(rng.choice(len(items), max(0, n - len(items)),
                                                              p=w / w.sum()))
        plan += [items[i] for i in picks]
    order = rng.permutation(len(plan))
    ids = rng.choice(np.arange(10000, 60000), size=len(plan), replace=False)
    rows, images = [], []
    for k, idx in enumerate(order):
        master, sub, article, draw, _, genders, usages, colours = plan[idx]
        colour = colours[rng.integers(len(colours))]
        rgb = np.clip(np.asarray(_COLOURS[colour], float) + rng.normal(0, 10, 3), 0, 255)
        pen = _Pen(scale=rng.uniform(0.86, 1.04), dx=rng.uniform(-2.5, 2.5),
                   dy=rng.uniform(-3, 3), rgb=rgb)
        draw(pen, rng)
        img = pen.image().astype(np.float32)
        # soft light from above and a little sensor noise, as a photo has
        img *= np.linspace(1.0, 0.93, _H, dtype=np.float32)[:, None, None]
        img += rng.normal(0, 1.5, img.shape).astype(np.float32)
        images.append(np.clip(img, 0, 255).astype(np.uint8))
        gender = genders[rng.integers(len(genders))]
        brand = _BRANDS[rng.integers(len(_BRANDS))]
        name = f"Demo {brand} {gender} {colour} {article}"
        rows.append({
            "id": int(ids[k]), "gender": gender, "masterCategory": master, "subCategory": sub,
            "articleType": article, "baseColour": colour,
            "season": _SEASONS[rng.choice(4, p=_SEASON_P)], "year": int(rng.integers(2010, 2019)),
            "usage": usages[rng.integers(len(usages))], "productDisplayName": name,
        })
    return rows, images


def _valid(folder: Path, n_images: int) -> bool:
    try:
        meta = json.loads((folder / _MARKER).read_text())
    except (OSError, ValueError):
        return False
    return meta.get("version") == DEMO_VERSION and meta.get("n_images") == n_images


def ensure_demo(folder: Optional[os.PathLike | str] = None,
                progress: Optional[ProgressFn] = None, n_images: int = N_IMAGES) -> Path:
    """The demo dataset folder, generated on first use.

    Parameters
    ----------
    folder : path-like, optional
        Where the set lives; default :func:`demo_dir` (under the cache).
    progress : callable, optional
        ``progress(fraction, message)`` while generating.
    n_images : int, default 1500
        Number of products.

    Returns
    -------
    pathlib.Path
        ``folder``, holding ``styles.csv`` and ``images/<id>.jpg``.

    Notes
    -----
    The set is written to a temporary sibling folder and renamed into place,
    so a reader never sees half of it; when two processes generate it at once
    the first rename wins and the other's copy is discarded. A copy made by an
    older version of this module is replaced.
    """
    if folder is None:
        folder = demo_dir()
    folder = Path(folder)
    if _valid(folder, n_images):
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    try:
        with files.atomic_path(folder) as tmp:
            _write(tmp, n_images, progress)
            if folder.exists() and not _valid(folder, n_images):
                shutil.rmtree(folder, ignore_errors=True)  # written by an older version
    except OSError:
        if not _valid(folder, n_images):  # not the other process's finished copy
            raise
    report(progress, 1.0, f"demo set ready: {n_images:,} synthetic products")
    return folder


def _write(tmp: Path, n_images: int, progress: Optional[Callable]) -> None:
    report(progress, 0.0, "generating the synthetic demo set")
    rng = np.random.default_rng(DEMO_SEED)
    rows, images = _rows_and_images(n_images, rng)
    (tmp / "images").mkdir(parents=True)
    for k, (row, img) in enumerate(zip(rows, images)):
        ok, buf = cv2.imencode(".jpg", img[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 92])
        if not ok:
            raise RuntimeError("could not encode a demo image")
        (tmp / "images" / f"{row['id']}.jpg").write_bytes(buf.tobytes())
        if k % 250 == 0:
            report(progress, 0.1 + 0.85 * k / len(rows), "drawing synthetic products")
    with open(tmp / "styles.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(config.STYLE_COLUMNS))
        writer.writeheader()
        writer.writerows(rows)
    (tmp / _MARKER).write_text(json.dumps({
        "version": DEMO_VERSION, "n_images": n_images, "seed": DEMO_SEED,
        "note": "Synthetic product images generated by core.demo; not real catalogue data.",
    }))


# ----------------------------------------------------------------------------
# A synthetic catalogue of any size (the demo generator, scaled)
# ----------------------------------------------------------------------------
#: Products generated per task of :func:`write_catalogue`; each chunk has its own
#: seeded generator, so the output does not depend on how many processes ran.
CATALOGUE_CHUNK = 2000
#: Marker file of a finished catalogue written by :func:`write_catalogue`.
CATALOGUE_MARKER = "catalogue.json"
#: First product id of a generated catalogue; ids are consecutive from here.
CATALOGUE_FIRST_ID = 100000


def _catalogue_chunk(images_dir: str, start: int, stop: int, seed: int) -> list:
    """Draw products ``start:stop`` of a catalogue, write their JPEGs, return their rows."""
    cv2.setNumThreads(1)
    rng = np.random.default_rng([int(seed), int(start)])
    rows, images = _rows_and_images(stop - start, rng)
    for k, (row, img) in enumerate(zip(rows, images)):
        row["id"] = CATALOGUE_FIRST_ID + start + k
        ok, buf = cv2.imencode(".jpg", img[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 92])
        if not ok:
            raise RuntimeError("could not encode a generated image")
        with open(os.path.join(images_dir, f"{row['id']}.jpg"), "wb") as fh:
            fh.write(buf.tobytes())
    return rows


def _catalogue_valid(folder: Path, n_rows: int, seed: int) -> bool:
    try:
        meta = json.loads((folder / CATALOGUE_MARKER).read_text())
    except (OSError, ValueError):
        return False
    return (meta.get("version") == DEMO_VERSION and meta.get("n_rows") == n_rows
            and meta.get("seed") == seed)


def write_catalogue(out_dir: os.PathLike | str, n_rows: int, seed: int = DEMO_SEED,
                    progress: Optional[ProgressFn] = None, n_jobs: Optional[int] = None) -> Path:
    """Write ``n_rows`` synthetic products in the Kaggle layout, for tests and benchmarks at scale.

    The demo set's drawings (:func:`ensure_demo`), at any size: products are
    drawn in chunks of :data:`CATALOGUE_CHUNK` by a pool of processes, each
    chunk written to ``images/`` as it is drawn and its rows appended to
    ``styles.csv`` in order, so memory stays at a few chunks whatever the
    size. Class shares are the demo set's (close to the real catalogue's);
    ids are consecutive from :data:`CATALOGUE_FIRST_ID`; every product name
    starts with "Demo".

    Parameters
    ----------
    out_dir : path-like
        The folder to create; it receives ``styles.csv``, ``images/`` and a
        ``catalogue.json`` marker. A finished catalogue of the same size and
        seed already there is kept as is; anything else there is replaced.
    n_rows : int
        Number of products, at least 1.
    seed : int, default DEMO_SEED
        Chunk ``i`` draws from ``default_rng([seed, i * CATALOGUE_CHUNK])``:
        the same catalogue on every machine and for any ``n_jobs``.
    progress : callable, optional
        ``progress(fraction, message)``.
    n_jobs : int, optional
        Processes; default the CPUs this process may use (at most 8).

    Returns
    -------
    pathlib.Path
        ``out_dir``.

    Notes
    -----
    About 1.1 ms of wall time per product on 2 shared cores (8,000 in 9 s;
    200,000 in about 4 minutes) and about 2.5 KB per product on disk. The folder is written beside
    ``out_dir`` and renamed into place when complete, so an interrupted run
    leaves no half catalogue behind (and starts over).
    """
    n_rows = int(n_rows)
    if n_rows < 1:
        raise ValueError(f"n_rows must be at least 1, got {n_rows}")
    folder = Path(out_dir)
    if _catalogue_valid(folder, n_rows, int(seed)):
        report(progress, 1.0, f"catalogue of {n_rows:,} products already at {folder}")
        return folder
    if n_jobs is None or n_jobs < 1:
        try:
            n_jobs = len(os.sched_getaffinity(0))
        except AttributeError:  # not on Linux
            n_jobs = os.cpu_count() or 1
        n_jobs = max(1, min(int(n_jobs), 8))
    folder.parent.mkdir(parents=True, exist_ok=True)
    starts = list(range(0, n_rows, CATALOGUE_CHUNK))
    report(progress, 0.0, f"drawing {n_rows:,} synthetic products ({n_jobs} processes)")
    with files.atomic_path(folder) as tmp:
        images_dir = tmp / "images"
        images_dir.mkdir(parents=True)
        tasks = [(str(images_dir), s, min(n_rows, s + CATALOGUE_CHUNK), int(seed)) for s in starts]
        with open(tmp / "styles.csv", "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(config.STYLE_COLUMNS))
            writer.writeheader()
            done = 0
            if n_jobs > 1 and len(tasks) > 1:
                from concurrent.futures import ProcessPoolExecutor

                with ProcessPoolExecutor(n_jobs) as pool:
                    # map keeps the order: styles.csv lists the products by id
                    for rows in pool.map(_catalogue_chunk, *zip(*tasks)):
                        writer.writerows(rows)
                        done += len(rows)
                        report(progress, done / n_rows, f"drawn {done:,}/{n_rows:,} products")
            else:
                for task in tasks:
                    rows = _catalogue_chunk(*task)
                    writer.writerows(rows)
                    done += len(rows)
                    report(progress, done / n_rows, f"drawn {done:,}/{n_rows:,} products")
        (tmp / CATALOGUE_MARKER).write_text(json.dumps({
            "version": DEMO_VERSION, "n_rows": n_rows, "seed": int(seed),
            "note": "Synthetic product images generated by core.demo; not real catalogue data.",
        }))
        if folder.exists():
            shutil.rmtree(folder)
    report(progress, 1.0, f"catalogue ready: {n_rows:,} synthetic products at {folder}")
    return folder
