"""Which locally installable Python packages ship image-network weights inside their wheels?

Issue 23 asks to start GeoSAM's encoder from pretrained weights that a Python package ships (no
downloads here). This lists every weight-like file (.pth .pt .onnx .h5 .safetensors .tflite .pb
.ckpt .npz .bin .keras ...) over a size floor in every wheel the machine's package index holds, so
the answer is a measurement, not a guess. Usage: python bench/scan_wheel_weights.py [folders...]
(default: the index folders in pip's configuration, /opt/pypi/files /opt/pypi-more/files /opt/wheels).
"""

import argparse
import glob
import os
import zipfile

WEIGHT_SUFFIXES = (".pth", ".pt", ".onnx", ".h5", ".hdf5", ".safetensors", ".tflite", ".pb", ".ckpt", ".npz",
                   ".bin", ".keras", ".caffemodel", ".params", ".pkl", ".weights", ".msgpack", ".ot")
DEFAULT_FOLDERS = ("/opt/pypi/files", "/opt/pypi-more/files", "/opt/wheels")


def scan(folders, min_bytes):
    """(number of wheels read, [(bytes, wheel, member)]) of weight-like members of at least min_bytes."""
    found, n = [], 0
    for folder in folders:
        for path in sorted(glob.glob(os.path.join(folder, "*.whl"))):
            try:
                with zipfile.ZipFile(path) as z:
                    n += 1
                    found += [(i.file_size, os.path.basename(path), i.filename) for i in z.infolist()
                              if i.filename.lower().endswith(WEIGHT_SUFFIXES) and i.file_size >= min_bytes]
            except (zipfile.BadZipFile, OSError) as e:
                print(f"unreadable: {path}: {e}")
    return n, sorted(found, reverse=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folders", nargs="*", default=DEFAULT_FOLDERS)
    ap.add_argument("--min-mb", type=float, default=0.2, help="smallest member reported (MB)")
    args = ap.parse_args()
    n, found = scan(args.folders, int(args.min_mb * 1e6))
    print(f"{n} wheels read in {', '.join(args.folders)}; weight-like members >= {args.min_mb} MB: {len(found)}")
    seen = set()
    for size, wheel, member in found:
        name = wheel.split("-")[0]
        if (name, member) in seen:  # the same file in several versions of a package
            continue
        seen.add((name, member))
        print(f"{size / 1e6:8.2f} MB  {name:24s} {member}")


if __name__ == "__main__":
    main()
