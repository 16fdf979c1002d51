"""Seeds for fuzz_bsds_mat, written by hand in the MAT 5 format (no SciPy needed): BSDS-layout
ground truth, an ultrametric contour map and segmentations, plain and zlib-compressed, and the
damaged files the long fuzz runs found, kept as regression cases. Each must read or be refused
with an InputError naming it (fuzz_driver replays every seed before mutating them)."""
import struct
import sys
import zlib
from pathlib import Path

MI_INT8, MI_UINT8, MI_UINT16, MI_INT32, MI_UINT32, MI_DOUBLE, MI_MATRIX, MI_COMPRESSED = 1, 2, 4, 5, 6, 9, 14, 15
MX_CELL, MX_STRUCT, MX_DOUBLE, MX_UINT8, MX_UINT16 = 1, 2, 6, 9, 11
LOGICAL = 0x02


def element(kind, data):
    if len(data) <= 4:  # the small data element format: tag and data in 8 bytes
        return struct.pack("<HH", kind, len(data)) + data.ljust(4, b"\0")
    return struct.pack("<II", kind, len(data)) + data + b"\0" * (-len(data) % 8)


def matrix(mx_class, dims, body, name=b"", flags=0):
    head = element(MI_UINT32, struct.pack("<II", mx_class | (flags << 8), 0))
    head += element(MI_INT32, struct.pack(f"<{len(dims)}i", *dims)) + element(MI_INT8, name)
    return element(MI_MATRIX, head + body)


def numeric(values, rows, cols, kind, mx_class, fmt, flags=0, dims=None):
    # MATLAB stores columns first: values[r][c] goes to position c * rows + r.
    flat = [values[r][c] for c in range(cols) for r in range(rows)]
    return matrix(mx_class, dims or (rows, cols), element(kind, struct.pack(f"<{len(flat)}{fmt}", *flat)), flags=flags)


def cell(items, name=b""):
    return matrix(MX_CELL, (1, len(items)), b"".join(items), name)


def struct_1x1(fields):
    width = max(len(k) for k in fields) + 1
    names = b"".join(k.encode().ljust(width, b"\0") for k in fields)
    body = element(MI_INT32, struct.pack("<i", width)) + element(MI_INT8, names) + b"".join(fields.values())
    return matrix(MX_STRUCT, (1, 1), body)


def mat_file(variables, compress):
    out = b"MATLAB 5.0 MAT-file, written by lidere's make_mat_seeds.py".ljust(116, b" ")
    out += b"\0" * 8 + struct.pack("<H", 0x0100) + b"IM"
    for var in variables:
        out += struct.pack("<II", MI_COMPRESSED, len(z := zlib.compress(var))) + z if compress else var
    return out


def named(var, name):
    # Rebuild a top-level variable with its name (elements inside cells and structs have none).
    kind, size = struct.unpack("<II", var[:8])
    body = var[8 : 8 + size]
    flags, dims_and_name = body[:16], body[16:]
    dims_size = struct.unpack("<I", dims_and_name[4:8])[0]
    dims = dims_and_name[: 8 + dims_size + (-dims_size % 8)]
    rest = dims_and_name[len(dims) :]
    rest = rest[8:]  # the empty name (a small element of 8 bytes)
    return element(MI_MATRIX, flags + dims + element(MI_INT8, name) + rest)


def annotator(segmentation, boundaries):
    rows, cols = len(segmentation), len(segmentation[0])
    return struct_1x1({
        "Segmentation": numeric(segmentation, rows, cols, MI_UINT16, MX_UINT16, "H"),
        "Boundaries": numeric(boundaries, rows, cols, MI_UINT8, MX_UINT8, "B", flags=LOGICAL),
    })


def cut_short_ground_truth(seg_a, rows, cols):
    claimed = (rows * cols) % 2**32
    boundaries_head = element(MI_UINT32, struct.pack("<II", MX_UINT8 | (LOGICAL << 8), 0))
    boundaries_head += element(MI_INT32, struct.pack("<2i", rows, cols)) + element(MI_INT8, b"")
    data = struct.pack("<II", MI_UINT8, claimed) + bytes(4096)
    boundaries = struct.pack("<II", MI_MATRIX, len(boundaries_head) + 8 + claimed) + boundaries_head + data
    width = len("Segmentation") + 1
    names = b"".join(k.ljust(width, b"\0") for k in (b"Segmentation", b"Boundaries"))
    entry_body = element(MI_INT32, struct.pack("<i", width)) + element(MI_INT8, names)
    entry_body += numeric(seg_a, 4, 5, MI_UINT16, MX_UINT16, "H") + boundaries
    entry_head = element(MI_UINT32, struct.pack("<II", MX_STRUCT, 0)) + element(MI_INT32, struct.pack("<2i", 1, 1))
    entry_head += element(MI_INT8, b"")
    entry = struct.pack("<II", MI_MATRIX, len(entry_head) + len(entry_body) - 4096 + claimed) + entry_head + entry_body
    cell_head = element(MI_UINT32, struct.pack("<II", MX_CELL, 0)) + element(MI_INT32, struct.pack("<2i", 1, 1))
    cell_head += element(MI_INT8, b"groundTruth")
    var = struct.pack("<II", MI_MATRIX, len(cell_head) + len(entry) - 4096 + claimed) + cell_head + entry
    packer = zlib.compressobj()
    stream = packer.compress(var) + packer.flush(zlib.Z_SYNC_FLUSH)  # not finished: the file ends here
    return mat_file([], False) + struct.pack("<II", MI_COMPRESSED, 2 * len(stream)) + stream


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    seg_a = [[1, 1, 2, 2, 2], [1, 1, 2, 2, 2], [3, 3, 3, 2, 2], [3, 3, 3, 3, 3]]
    seg_b = [[1, 1, 1, 2, 2], [1, 1, 1, 2, 2], [1, 1, 1, 2, 2], [3, 3, 3, 3, 3]]
    bdry_a = [[0, 1, 1, 0, 0], [0, 1, 1, 0, 0], [1, 1, 1, 1, 0], [0, 0, 0, 0, 0]]
    bdry_b = [[0, 0, 1, 1, 0], [0, 0, 1, 1, 0], [1, 1, 1, 1, 1], [0, 0, 0, 0, 0]]
    ground_truth = named(cell([annotator(seg_a, bdry_a), annotator(seg_b, bdry_b)]), b"groundTruth")
    ucm = [[((r * 3 + c) % 5) / 4.0 for c in range(11)] for r in range(9)]  # (2H+1) x (2W+1)
    ucm2 = named(numeric(ucm, 9, 11, MI_DOUBLE, MX_DOUBLE, "d"), b"ucm2")
    segs = named(cell([numeric(seg_a, 4, 5, MI_UINT16, MX_UINT16, "H"),
                       numeric(seg_b, 4, 5, MI_UINT16, MX_UINT16, "H")]), b"segs")
    for compress in (False, True):
        suffix = "_z" if compress else ""
        (out / f"ground_truth{suffix}.mat").write_bytes(mat_file([ground_truth], compress))
        (out / f"ucm2{suffix}.mat").write_bytes(mat_file([ucm2], compress))
        (out / f"segs{suffix}.mat").write_bytes(mat_file([segs], compress))
    # Regressions: compressed ground truth cut short, whose Boundaries claim far more pixels than
    # the file holds (the data tag holds that size modulo 2^32). The file must be refused by name,
    # not end in a failed allocation.
    # The long fuzz run's case 61354: 131809 x 131649. libmatio allocates such a buffer lazily and
    # inflates what there is; our int64 copy of it would have been 138 GB.
    (out / "regression_huge_dims_z.mat").write_bytes(cut_short_ground_truth(seg_a, 131809, 131649))
    # The short fuzz run of CI (stop 18, under AddressSanitizer): 65537 x 553787650, 36 TB, which
    # libmatio asked malloc for (ASan aborted). datasets/mat5_structure.cpp now refuses the array
    # before libmatio: it claims more elements than its data holds.
    (out / "regression_dims_over_1tb_z.mat").write_bytes(cut_short_ground_truth(seg_a, 65537, 553787650))
    # The long fuzz run of stop 19: a 326-byte compressed file whose groundTruth cell claims hundreds
    # of millions of entries. libmatio allocated a variable header for each (9 GB and counting inside
    # Mat_VarReadInfo); datasets/mat5_structure.cpp now refuses a cell that claims more entries than
    # its bytes could hold, before libmatio reads it.
    entry = annotator(seg_a, bdry_a)
    cell_head = element(MI_UINT32, struct.pack("<II", MX_CELL, 0))
    cell_head += element(MI_INT32, struct.pack("<2i", 1, 400_000_000)) + element(MI_INT8, b"groundTruth")
    var = struct.pack("<II", MI_MATRIX, (len(cell_head) + 400_000_000 * len(entry)) % 2**32) + cell_head + entry
    packer = zlib.compressobj()
    stream = packer.compress(var) + packer.flush(zlib.Z_SYNC_FLUSH)
    (out / "regression_cell_count_z.mat").write_bytes(
        mat_file([], False) + struct.pack("<II", MI_COMPRESSED, len(stream)) + stream)


if __name__ == "__main__":
    main()
