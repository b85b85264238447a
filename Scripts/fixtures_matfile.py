"""Fixtures for the MAT-file reader and the published AIGCIQA2023 layout (Tests/IQADataTests/Fixtures/MAT).

Writes, with scipy.io.savemat (level-5 MAT-files) and openpyxl:
  plain.mat        MOSz 5x1 double, counts 2x3 int16, label (char) -- uncompressed
  compressed.mat   the same variables, do_compression=True (miCOMPRESSED elements)
  typed.mat        a 2x2 matrix saved as uint8, single, int32, int64, uint16 (the classes MATLAB stores compactly)
  cell.mat         MOSz as a cell array (the wrong type), and a complex vector
  bigendian.mat    MOSz 3x1 double written big-endian by hand (scipy writes native order only)
  aigciqa2023/     a miniature of the published layout: DATA/MOS/mosz{1,2,3}.mat (8 images), pic-index.xlsx,
                   AIGCIQA2023_Prompts.xlsx (2 prompts), both workbooks without a header as published
Expected values are restated in Tests/IQADataTests/MATFileTests.swift.
"""
import os
import struct

import numpy as np
import openpyxl
import scipy.io

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "IQADataTests", "Fixtures", "MAT")
os.makedirs(OUT, exist_ok=True)

mos = np.array([[10.5], [20.25], [30.0], [47.125], [99.0]])
counts = np.array([[1, -2, 3], [4, 5, -6]], dtype=np.int16)
variables = {"MOSz": mos, "counts": counts, "label": "quality"}
scipy.io.savemat(os.path.join(OUT, "plain.mat"), variables, do_compression=False)
scipy.io.savemat(os.path.join(OUT, "compressed.mat"), variables, do_compression=True)

m = np.array([[1, 2], [3, 250]])
scipy.io.savemat(os.path.join(OUT, "typed.mat"), {
    "u8": m.astype(np.uint8), "f32": (m / 4).astype(np.float32), "i32": (-m).astype(np.int32),
    "i64": (m * 1_000_000_000).astype(np.int64), "u16": m.astype(np.uint16)}, do_compression=False)

cell = np.empty((2, 1), dtype=object)
cell[0, 0] = np.array([1.0])
cell[1, 0] = np.array([2.0])
scipy.io.savemat(os.path.join(OUT, "cell.mat"), {"MOSz": cell, "z": np.array([1 + 2j, 3 - 1j])}, do_compression=False)


def big_endian_mat(path, name, values):
    """One uncompressed double column vector, every number big-endian, endian mark 'MI'."""
    def element(kind, payload):
        pad = (8 - len(payload) % 8) % 8
        return struct.pack(">II", kind, len(payload)) + payload + b"\0" * pad
    body = element(6, struct.pack(">II", 6, 0))                       # miUINT32 flags: class double
    body += element(5, struct.pack(">ii", len(values), 1))            # miINT32 dimensions
    body += element(1, name.encode())                                 # miINT8 name
    body += element(9, struct.pack(">%dd" % len(values), *values))    # miDOUBLE real part
    header = b"MATLAB 5.0 MAT-file, big-endian fixture".ljust(116, b" ") + b"\0" * 8 + struct.pack(">H", 0x0100) + b"MI"
    with open(path, "wb") as f:
        f.write(header + struct.pack(">II", 14, len(body)) + body)


big_endian_mat(os.path.join(OUT, "bigendian.mat"), "MOSz", [1.5, -2.0, 3.25])

# A miniature AIGCIQA2023: 2 prompts x 1 generator x 4 images = 8 images, MOS k * 10 + i.
root = os.path.join(OUT, "aigciqa2023")
os.makedirs(os.path.join(root, "DATA", "MOS"), exist_ok=True)
for k in (1, 2, 3):
    scipy.io.savemat(os.path.join(root, "DATA", "MOS", f"mosz{k}.mat"),
                     {"MOSz": np.array([[k * 10.0 + i] for i in range(8)])}, do_compression=(k == 2))
wb = openpyxl.Workbook()
ws = wb.active
for p in range(2):
    for i in range(1, 5):
        ws.append(["Controlnet", f"{p:03d}-{i}.png"])
wb.save(os.path.join(root, "pic-index.xlsx"))
wb = openpyxl.Workbook()
ws = wb.active
ws.append(["Basic", "Animals", "a corgi"])
ws.append(["Basic", "People", "a girl"])
wb.save(os.path.join(root, "AIGCIQA2023_Prompts.xlsx"))
print("wrote", OUT)
