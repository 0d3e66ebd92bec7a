"""Tiny datasets in the Kaggle layout, generated for tests, with every defect the reader handles.

``make_dataset(folder)`` writes ``styles.csv`` and ``images/`` and returns what a
correct reader must find, so tests compare against exact counts.
``make_classifier_dataset(folder)`` writes a clean one a classifier can learn
in one epoch.
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

HEADER = "id,gender,masterCategory,subCategory,articleType,baseColour,season,year,usage,productDisplayName"
_CLASSES = (
    ("Apparel", "Topwear", "Tshirts"),
    ("Accessories", "Watches", "Watches"),
    ("Footwear", "Shoes", "Casual Shoes"),
    ("Personal Care", "Fragrance", "Perfume and Body Mist"),
)


def product_image(rng: np.random.Generator, size=(60, 80), mode: str = "RGB") -> Image.Image:
    """A plain product-like picture: white ground, one coloured block."""
    w, h = size
    arr = np.full((h, w, 3), 250, np.uint8)
    x0, y0 = rng.integers(2, max(3, w // 4)), rng.integers(2, max(3, h // 4))
    x1, y1 = w - rng.integers(2, max(3, w // 4)), h - rng.integers(2, max(3, h // 4))
    arr[y0:y1, x0:x1] = rng.integers(0, 200, 3)
    arr = np.clip(arr.astype(int) + rng.integers(-4, 5, arr.shape), 0, 255).astype(np.uint8)
    img = Image.fromarray(arr)
    return img if mode == "RGB" else img.convert(mode)


def jpeg_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def encoded(img: Image.Image, fmt: str, **kwargs) -> bytes:
    """The bytes of ``img`` saved in format ``fmt`` (Pillow's name), as an upload would send them."""
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kwargs)
    return buf.getvalue()


def make_classifier_dataset(folder: Path, n_per_class: int = 16, first_id: int = 1000) -> Path:
    """A clean dataset of three classes told apart by colour and shape, for training tests.

    Each class is a block of its own colour (jittered) on the catalogue's white
    background, so one epoch of a small model already tells them apart.

    Returns
    -------
    Path
        ``folder``, holding ``styles.csv`` and ``images/`` of ``3 * n_per_class`` products.
    """
    import pandas as pd

    rng = np.random.default_rng(0)
    folder = Path(folder)
    (folder / "images").mkdir(parents=True)
    rows = []
    looks = {"Apparel": (200, 30, 30), "Footwear": (30, 30, 200), "Accessories": (30, 160, 30)}
    pid = first_id
    for name, colour in looks.items():
        for _ in range(n_per_class):
            arr = np.full((80, 60, 3), 255, np.uint8)
            arr[20:60, 15:45] = np.clip(np.array(colour) + rng.integers(-20, 20, 3), 0, 255)
            Image.fromarray(arr).save(folder / "images" / f"{pid}.jpg", quality=95)
            rows.append({"id": pid, "gender": "Men", "masterCategory": name, "subCategory": "x",
                         "articleType": "x", "baseColour": "Red", "season": "Summer", "year": 2012,
                         "usage": "Casual", "productDisplayName": f"product {pid}"})
            pid += 1
    pd.DataFrame(rows).to_csv(folder / "styles.csv", index=False)
    return folder


def _row(pid, cat=("Apparel", "Topwear", "Tshirts"), gender="Men", colour="Blue", season="Summer",
         year="2012", usage="Casual", name=None) -> str:
    master, sub, article = cat
    name = name if name is not None else f"Brand {gender} {colour} {article}"
    return ",".join([str(pid), gender, master, sub, article, colour, season, year, usage, name])


def make_dataset(folder: Path, n_good: int = 40, damaged: bool = True, seed: int = 0,
                 crlf: bool = True, bom: bool = True) -> dict:
    """Write a dataset and return what reading it must find.

    Parameters
    ----------
    folder : Path
        Created; receives ``styles.csv`` and ``images/``.
    n_good : int
        Clean rows with a good JPEG, spread over four classes.
    damaged : bool
        Add one row or file for each defect (see the returned dict).

    Returns
    -------
    dict
        Expected figures: ``rows_read``, ``rows_kept``, ``recovered`` (id to
        the rejoined name), ``dropped`` (reason to count), ``repaired``
        (reason to ids), ``flagged`` ids, ``missing`` ids, ``unreadable`` (id
        to reason), ``converted`` (note to ids), ``readable`` (count),
        ``null_rows`` (ids with a null), ``clean_rows``.
    """
    rng = np.random.default_rng(seed)
    folder = Path(folder)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    lines = [HEADER]
    ids = list(range(1000, 1000 + n_good))
    for k, pid in enumerate(ids):
        lines.append(_row(pid, _CLASSES[k % len(_CLASSES)], gender=("Men", "Women")[k % 2]))
        (folder / "images" / f"{pid}.jpg").write_bytes(jpeg_bytes(product_image(rng)))
    exp = {"recovered": {}, "dropped": {}, "repaired": {}, "flagged": [], "missing": [],
           "unreadable": {}, "converted": {}, "null_rows": [], "files_without_row": 0}
    if damaged:
        img = lambda pid: (folder / "images" / f"{pid}.jpg").write_bytes(  # noqa: E731
            jpeg_bytes(product_image(rng)))
        # unquoted commas in the name: recovered by joining the extra fields
        lines.append(_row(2001, name="Puma Men, Blue, Round Neck T-shirt"))
        exp["recovered"][2001] = "Puma Men, Blue, Round Neck T-shirt"
        img(2001)
        lines.append(_row(2002, _CLASSES[1], name="Fossil Women,Silver Watch"))
        exp["recovered"][2002] = "Fossil Women,Silver Watch"
        img(2002)
        # a properly quoted name with a comma is not a defect
        lines.append(_row(2003, _CLASSES[2], name='"Nike Men, Running Shoes"'))
        img(2003)
        # stray quotes: an opening quote never closed, and an inch mark
        lines.append(_row(2004, _CLASSES[2], name='"Catwalk Women Black Heels'))
        lines.append(_row(2005, name='Nike Men 7" Shorts, Grey'))
        exp["repaired"]["stray quote"] = [2004, 2005]
        exp["recovered"][2005] = 'Nike Men 7" Shorts, Grey'
        img(2004), img(2005)
        # too few fields: kept with NaN, dropped later by the null filter
        lines.append("2006,Men,Accessories,Watches")
        exp["repaired"]["missing fields"] = [2006]
        img(2006)
        # pandas' missing-value tokens
        lines.append(_row(2007, usage="NA"))
        lines.append(_row(2008, season=""))
        img(2007), img(2008)
        # a non-numeric year becomes NaN
        lines.append(_row(2009, year="20x2"))
        exp["repaired"]["non-numeric year"] = [2009]
        img(2009)
        exp["null_rows"] = [2006, 2007, 2008, 2009]
        # ids that are not whole numbers, and a duplicate
        lines.append(_row("abc"))
        lines.append(_row(""))
        lines.append(_row("12x"))
        lines.append(_row(ids[0], name="Duplicate of the first row"))
        exp["dropped"] = {"non-numeric id": 3, "duplicate id": 1}
        # a blank line in the middle
        lines.append("")
        # masterCategory spelt differently, and one no class knows
        lines.append(_row(2010, (" apparel ", "Topwear", "Tshirts")))
        exp["repaired"]["category spelling"] = [2010]
        img(2010)
        lines.append(_row(2011, ("Gadgets", "Phones", "Phones")))
        exp["flagged"] = [2011]
        img(2011)
        # rows whose image is missing
        lines.append(_row(2012))
        lines.append(_row(2013, _CLASSES[1]))
        exp["missing"] = [2012, 2013]
        # unreadable images
        lines += [_row(pid) for pid in range(2020, 2025)]
        (folder / "images" / "2020.jpg").write_bytes(b"")
        good = jpeg_bytes(product_image(rng))
        (folder / "images" / "2021.jpg").write_bytes(good[: len(good) // 2])
        (folder / "images" / "2022.jpg").write_bytes(b"this is not an image, just text\n")
        (folder / "images" / "2023.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(rng.integers(0, 256, 300, dtype=np.uint8)) + b"\xff\xd9")
        png = io.BytesIO()
        product_image(rng).save(png, format="PNG")
        (folder / "images" / "2024.jpg").write_bytes(png.getvalue()[:-40])
        exp["unreadable"] = {2020: "empty file", 2021: "truncated", 2022: "not an image",
                             2023: "corrupt", 2024: "truncated"}
        # readable after conversion
        conv = {
            2030: ("png", lambda b: product_image(rng).save(b, format="PNG")),
            2031: ("grayscale", lambda b: product_image(rng, mode="L").save(b, format="JPEG")),
            2032: ("cmyk", lambda b: product_image(rng, mode="CMYK").save(b, format="JPEG")),
            2033: ("odd size", lambda b: product_image(rng, size=(47, 80)).save(b, format="JPEG")),
            2034: ("16-bit", lambda b: Image.fromarray(
                (np.asarray(product_image(rng, mode="L"), np.uint16) * 257)).save(b, format="PNG")),
        }
        for pid, (note, save) in conv.items():
            lines.append(_row(pid, _CLASSES[pid % 4]))
            buf = io.BytesIO()
            save(buf)
            (folder / "images" / f"{pid}.jpg").write_bytes(buf.getvalue())
        exp["converted"] = {"png": [2030, 2034], "grayscale": [2031], "cmyk": [2032],
                            "odd size": [2033], "16-bit": [2034]}
        # an image file no row refers to
        (folder / "images" / "9999.jpg").write_bytes(jpeg_bytes(product_image(rng)))
        exp["files_without_row"] = 1
    text = ("\r\n" if crlf else "\n").join(lines) + ("\r\n" if crlf else "\n")
    (folder / "styles.csv").write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))

    n_lines = sum(1 for ln in lines[1:] if ln)
    dropped = sum(exp["dropped"].values())
    kept = n_lines - dropped
    exp["rows_read"] = n_lines
    exp["rows_kept"] = kept
    exp["readable"] = kept - len(exp["missing"]) - len(exp["unreadable"])
    exp["clean_rows"] = kept - len(exp["null_rows"]) - len(exp["flagged"])
    return exp


#: The looks of the tagging dataset: each attribute is told by its own feature of
#: the picture, so every head has something to learn.
TAG_SHAPES = {  # (masterCategory, subCategory, articleType): block (top, bottom, left, right)
    ("Apparel", "Topwear", "Tshirts"): (10, 70, 12, 48),
    ("Footwear", "Shoes", "Casual Shoes"): (50, 72, 4, 56),
    ("Accessories", "Watches", "Watches"): (28, 52, 20, 40),
}
TAG_COLOURS = {"Red": (210, 30, 30), "Blue": (30, 40, 210), "Green": (30, 170, 40)}
TAG_GENDERS = ("Men", "Women")  # Women's products are hollow


def tagging_image(shape, colour, gender, rng) -> Image.Image:
    """The photo of one product of the tagging dataset."""
    top, bottom, left, right = TAG_SHAPES[shape]
    arr = np.full((80, 60, 3), 255, np.uint8)
    arr[top:bottom, left:right] = np.clip(np.array(TAG_COLOURS[colour]) + rng.integers(-20, 20, 3), 0, 255)
    if gender == "Women":
        arr[top + 5:bottom - 5, left + 5:right - 5] = 255
    arr = np.clip(arr.astype(int) + rng.integers(-6, 7, arr.shape), 0, 255).astype(np.uint8)
    return Image.fromarray(arr)


def make_tagging_dataset(folder: Path, n_per_combination: int = 4, first_id: int = 5000,
                         relabel: dict | None = None) -> Path:
    """A clean dataset where masterCategory, subCategory, articleType, gender and colour are learnable.

    Every combination of :data:`TAG_SHAPES`, :data:`TAG_COLOURS` and
    :data:`TAG_GENDERS` gets ``n_per_combination`` products; ``relabel`` maps
    an id to ``{column: value}`` written instead of the truth (a deliberate
    catalogue mistake).

    Returns
    -------
    Path
        ``folder``, holding ``styles.csv`` and ``images/``.
    """
    import pandas as pd

    rng = np.random.default_rng(0)
    folder = Path(folder)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    rows, pid = [], first_id
    for shape in TAG_SHAPES:
        for colour in TAG_COLOURS:
            for gender in TAG_GENDERS:
                for _ in range(n_per_combination):
                    tagging_image(shape, colour, gender, rng).save(folder / "images" / f"{pid}.jpg",
                                                                   quality=95)
                    master, sub, article = shape
                    row = {"id": pid, "gender": gender, "masterCategory": master, "subCategory": sub,
                           "articleType": article, "baseColour": colour, "season": "Summer",
                           "year": 2012, "usage": "Casual",
                           "productDisplayName": f"{gender} {colour} {article} {pid}"}
                    row.update((relabel or {}).get(pid, {}))
                    rows.append(row)
                    pid += 1
    pd.DataFrame(rows).to_csv(folder / "styles.csv", index=False)
    return folder


# ----------------------------------------------------------------------------
# Catalogues in other layouts
# ----------------------------------------------------------------------------
DIGITS_TOML = """\
# scikit-learn's handwritten digits as a catalogue: one PNG per digit.
table = "digits.csv"
id_column = "id"
image_column = "image"
name_column = "name"
label_columns = ["digit", "parity"]
"""


def make_digits_catalogue(folder: Path, n: int | None = None, toml: bool = True) -> Path:
    """scikit-learn's handwritten digits written out as a catalogue: a CSV and PNGs in nested folders.

    ``sklearn.datasets.load_digits`` (1,797 images of 8x8 pixels, shipped
    inside scikit-learn) becomes ``digits.csv`` (columns ``id``, ``image``,
    ``name``, ``digit``, ``parity``) and ``images/batch-<k>/<digit>/<id>.png``
    (dark ink on white, 0..16 scaled to 255..0), with a ``catalogue.toml``
    naming the columns.

    Parameters
    ----------
    folder : Path
        Created.
    n : int, optional
        Only the first ``n`` digits (all 1,797 by default).
    toml : bool, default True
        Write ``catalogue.toml``; without it the description must come from
        flags or environment variables.

    Returns
    -------
    Path
        ``folder``.
    """
    import pandas as pd
    from sklearn.datasets import load_digits

    digits = load_digits()
    count = len(digits.target) if n is None else int(n)
    folder = Path(folder)
    rows = []
    for i in range(count):
        digit = int(digits.target[i])
        rel = f"images/batch-{i // 500}/{digit}/{i}.png"
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        pixels = (255 - np.round(digits.images[i] * 255 / 16)).astype(np.uint8)
        Image.fromarray(pixels, mode="L").save(folder / rel)
        rows.append({"id": i, "image": rel, "name": f"digit {digit} #{i}", "digit": digit,
                     "parity": "even" if digit % 2 == 0 else "odd"})
    pd.DataFrame(rows).to_csv(folder / "digits.csv", index=False)
    if toml:
        (folder / "catalogue.toml").write_text(DIGITS_TOML)
    return folder


def make_class_folders(folder: Path, n_per_class: int = 12, classes=("boots", "hats", "shirts")) -> Path:
    """A folder of class folders, ``folder/<class>/<shade>/<k>.<ext>``, with mixed formats and sizes.

    Each class is a block of its own colour, so classes are easy to tell
    apart; files alternate JPEG, PNG and WebP.
    """
    rng = np.random.default_rng(0)
    folder = Path(folder)
    colours = [(200, 40, 40), (40, 160, 40), (40, 40, 200), (200, 160, 40)]
    exts = (("jpg", "JPEG"), ("png", "PNG"), ("webp", "WEBP"))
    for c, name in enumerate(classes):
        for k in range(n_per_class):
            sub = folder / name / ("light" if k % 2 else "dark")
            sub.mkdir(parents=True, exist_ok=True)
            w, h = (int(rng.integers(40, 120)), int(rng.integers(40, 120)))
            arr = np.full((h, w, 3), 250, np.uint8)
            arr[h // 4: 3 * h // 4, w // 4: 3 * w // 4] = np.clip(
                np.array(colours[c % len(colours)]) + rng.integers(-20, 20, 3), 0, 255)
            ext, fmt = exts[k % 3]
            Image.fromarray(arr).save(sub / f"{k}.{ext}", format=fmt)
    return folder


def make_odd_catalogue(folder: Path, n: int = 30, fmt: str = "parquet") -> Path:
    """A merchant-style catalogue: text ids, photos of odd sizes and shapes in three formats.

    Table ``products.<fmt>`` (``parquet``, ``csv`` or ``tsv``) with columns
    ``sku`` (``SKU-0001``...), ``photo`` (``photos/<department>/<sku>.<ext>``),
    ``title``, ``department``, ``family`` and ``colour``; photos from 20 to
    400 pixels a side, wide and tall, JPEG, PNG and WebP. A ``catalogue.toml``
    describes it.
    """
    import pandas as pd

    rng = np.random.default_rng(0)
    folder = Path(folder)
    departments = ("Shoes", "Bags", "Knitwear")
    families = ("Classic", "Sport", "Outdoor", "Kids")
    colours = ("red", "green", "blue", "black", "white")
    exts = (("jpg", "JPEG"), ("png", "PNG"), ("webp", "WEBP"))
    rows = []
    for i in range(n):
        dep = departments[i % 3]
        sku = f"SKU-{i:04d}"
        ext, kind = exts[i % 3]
        rel = f"photos/{dep.lower()}/{sku}.{ext}"
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        size = [(400, 120), (30, 200), (20, 20), (300, 300), (64, 48)][i % 5]
        product_image(rng, size=size).save(folder / rel, format=kind)
        rows.append({"sku": sku, "photo": rel, "title": f"{dep} {families[i % 4]} {i}",
                     "department": dep, "family": families[i % 4], "colour": colours[i % 5]})
    frame = pd.DataFrame(rows)
    table = f"products.{fmt}"
    if fmt == "parquet":
        frame.to_parquet(folder / table, index=False)
    else:
        frame.to_csv(folder / table, index=False, sep="\t" if fmt == "tsv" else ",")
    (folder / "catalogue.toml").write_text(
        f'table = "{table}"\nid_column = "sku"\nimage_column = "photo"\nname_column = "title"\n'
        'label_columns = ["department", "family", "colour"]\n')
    return folder
