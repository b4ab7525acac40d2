"""Decoding under pressure: images that declare up to the pixel limit, decoded many at once, and the peak memory it
costs (measured in a fresh process, so nothing else's allocations count).

    .venv/bin/python -m benchmarks.decoding OUT_DIR [--workers 8] [--json FILE]
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

SIDE = 8944  # 8944² ≈ 80 megapixels: the decoder's limit
HEAVY = ("grey16", "rgb", "rgba", "palette", "bilevel", "jpeg")


def _png_rows(path: Path, side: int, colour_type: int, bit_depth: int, channels_bytes: int) -> None:
    """A constant-valued PNG of side² pixels written row by row: a few hundred KB declaring ~80 MP."""
    import struct

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    row_bytes = -(-side * bit_depth * channels_bytes // 8)
    row = b"\x00" + bytes([0x5A]) * row_bytes
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, bit_depth, colour_type, 0, 0, 0)
    palette = chunk(b"PLTE", bytes(range(48))) if colour_type == 3 else b""
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + palette + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


def make_heavy_corpus(folder: Path, side: int = SIDE) -> list[Path]:
    """One file per kind in HEAVY, each declaring side² pixels."""
    folder.mkdir(parents=True, exist_ok=True)
    specs = {"grey16": (0, 16, 1), "rgb": (2, 8, 3), "rgba": (6, 8, 4), "palette": (3, 8, 1), "bilevel": (0, 1, 1)}
    files = []
    for name, (colour, depth, channels) in specs.items():
        path = folder / f"{name}-{side}.png"
        if not path.is_file():
            _png_rows(path, side, colour, depth, channels)
        files.append(path)
    jpeg = folder / f"jpeg-{side}.jpg"
    if not jpeg.is_file():
        Image.new("RGB", (side, side), (90, 120, 30)).save(jpeg, quality=80)
    return files + [jpeg]


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def decode_at_once(files: list[Path], workers: int) -> dict:
    """In this process: decode `workers` files at once (cycling through `files`); peak memory over the baseline."""
    from amint_demo.data import load_image
    from amint_demo.runtime.memory import return_large_allocations

    return_large_allocations()  # as the app does at start-up
    load_image(Image.new("L", (64, 64)))  # imports and lazy initialisation are not the corpus's cost
    baseline = _peak_mb()
    began = time.perf_counter()
    jobs = [files[i % len(files)] for i in range(workers)]
    with ThreadPoolExecutor(workers) as pool:
        sizes = list(pool.map(lambda path: load_image(path).size, jobs))
    return {"workers": workers, "files": [p.name for p in jobs], "decoded_sizes": sizes,
            "baseline_peak_mb": round(baseline, 1), "peak_mb": round(_peak_mb(), 1),
            "added_mb": round(_peak_mb() - baseline, 1), "seconds": round(time.perf_counter() - began, 2)}


def measure(files: list[Path], workers: int) -> dict:
    """`decode_at_once` in a fresh Python process."""
    code = ("import json, sys; from pathlib import Path; from benchmarks.decoding import decode_at_once; "
            f"print(json.dumps(decode_at_once([Path(p) for p in {[str(f) for f in files]!r}], {workers})))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, check=True,
                          cwd=Path(__file__).resolve().parents[1])
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = measure(make_heavy_corpus(args.out), args.workers)
    print(json.dumps(result, indent=1))
    if args.json:
        from amint_demo.machine import machine_info

        args.json.write_text(json.dumps(result | {"machine": machine_info()}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
