"""Cold decode and warm load of every image of a dataset.

    python bench/bench_images.py [--data DIR] [--jobs N]

Cold, on an empty, fresh cache folder: the parallel pass that checks every
file (``images.scan``, what ``python -m core info`` and any subsample need),
then the pass that decodes every readable image into the default 100x100
grayscale matrix (``images.pixels``, what the whole-dataset subsample needs).
Warm: a new process loading the scan and the whole pixel matrix back from the
cache (memory-mapped), imports excluded. Also times the same passes on one
process, so the parallel speed-up is measured in the same run.

Wall-clock figures depend on what else the machine is doing; the load average
is printed beside them.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

_WARM = """
import json, sys, time
from core import dataset, images, styles
ds = dataset.open_dataset(sys.argv[1])
t = time.perf_counter()
found = images.scan(ds)
px = images.pixels(ds, found["readable"])
total = int(px[:, :100].sum())  # touch the rows
print(json.dumps({"seconds": time.perf_counter() - t, "shape": list(px.shape)}))
"""


def cold(data_dir: str, jobs: int | None) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-images-") as folder:
        env = {**os.environ, "FASHION_CACHE_DIR": folder}
        code = (
            "import json, sys, time\n"
            "from core import dataset, images, styles\n"
            "ds = dataset.open_dataset(sys.argv[1])\n"
            "styles.load_styles(ds)\n"
            "t = time.perf_counter()\n"
            f"found = images.scan(ds, n_jobs={jobs!r})\n"
            "scan = time.perf_counter() - t\n"
            f"images.pixels(ds, found['readable'], n_jobs={jobs!r})\n"
            "print(json.dumps({'seconds': time.perf_counter() - t, 'scan': scan,"
            " 'readable': len(found['readable']), 'missing': len(found['missing']),"
            " 'unreadable': len(found['unreadable'])}))\n"
        )
        out = subprocess.run([sys.executable, "-c", code, data_dir], cwd=REPO, env=env,
                             capture_output=True, text=True, check=True)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        warm = subprocess.run([sys.executable, "-c", _WARM, data_dir], cwd=REPO, env=env,
                              capture_output=True, text=True, check=True)
        result["warm"] = json.loads(warm.stdout.strip().splitlines()[-1])
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "fashion-small"),
                        help="dataset folder (default: ../shared/data/fashion-small)")
    parser.add_argument("--jobs", type=int, default=None, help="worker processes (default: all CPUs)")
    parser.add_argument("--no-serial", action="store_true", help="skip the one-process comparison")
    args = parser.parse_args()

    load = os.getloadavg()[0]
    par = cold(args.data, args.jobs)
    print(f"load average before: {load:.1f} on {os.cpu_count()} CPUs")
    print(f"images: {par['readable']:,} readable, {par['missing']:,} missing, "
          f"{par['unreadable']:,} unreadable")
    print(f"cold ({args.jobs or 'all'} processes): check every file {par['scan']:.1f} s, then the "
          f"whole pixel matrix: {par['seconds']:.1f} s in all "
          f"({par['readable'] / par['seconds']:,.0f} images/s)")
    print(f"warm load of scan + the whole pixel matrix {tuple(par['warm']['shape'])}: "
          f"{par['warm']['seconds']:.2f} s")
    if not args.no_serial:
        one = cold(args.data, 1)
        print(f"cold, one process: {one['seconds']:.1f} s; parallel speed-up "
              f"{one['seconds'] / par['seconds']:.2f}x")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
