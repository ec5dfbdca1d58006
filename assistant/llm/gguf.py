"""Read a GGUF file's metadata and tensor shapes without loading its weights.

A small reader of our own: it stops before the tensor data, so `model info`
is instant on a 5 GB file and a truncated or corrupt file gives a clear
error instead of a crash in native code."""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from assistant.errors import ModelLoadError, ModelNotFoundError

_SCALARS = {
    0: "<B",
    1: "<b",
    2: "<H",
    3: "<h",
    4: "<I",
    5: "<i",
    6: "<f",
    7: "<?",
    10: "<Q",
    11: "<q",
    12: "<d",
}
_STRING, _ARRAY = 8, 9
_ARRAY_KEEP = 64  # longer arrays (the vocabulary) are summarised by their length

# llama_ftype names, as llama.cpp prints them.
FILE_TYPES = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1",
    10: "Q2_K", 11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M",
    16: "Q5_K_S", 17: "Q5_K_M", 18: "Q6_K", 19: "IQ2_XXS", 20: "IQ2_XS", 21: "Q2_K_S",
    22: "IQ3_XS", 23: "IQ3_XXS", 24: "IQ1_S", 25: "IQ4_NL", 26: "IQ3_S", 27: "IQ3_M",
    28: "IQ2_S", 29: "IQ2_M", 30: "IQ4_XS", 31: "IQ1_M", 32: "BF16", 36: "TQ1_0",
    37: "TQ2_0", 38: "MXFP4",
}  # fmt: skip


# ggml type id -> (elements per block, bytes per block), as gguf-py's
# GGML_QUANT_SIZES (llama.cpp gguf-py/gguf/constants.py) lists them.
GGML_BLOCKS: dict[int, tuple[int, int]] = {
    0: (1, 4), 1: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24), 8: (32, 34),
    9: (32, 40), 10: (256, 84), 11: (256, 110), 12: (256, 144), 13: (256, 176),
    14: (256, 210), 15: (256, 292), 16: (256, 66), 17: (256, 74), 18: (256, 98),
    19: (256, 50), 20: (32, 18), 21: (256, 110), 22: (256, 82), 23: (256, 136), 24: (1, 1),
    25: (1, 2), 26: (1, 4), 27: (1, 8), 28: (1, 8), 29: (256, 56), 30: (1, 2), 34: (256, 54),
    35: (256, 66), 39: (32, 17), 40: (64, 36), 41: (128, 18),
}  # fmt: skip
DEFAULT_ALIGNMENT = 32


@dataclass
class GGUFInfo:
    path: Path
    version: int
    metadata: dict[str, Any] = field(default_factory=dict)
    tensor_count: int = 0
    parameter_count: int = 0
    file_size: int = 0
    needed_size: int = 0  # where the last tensor's data ends (0: not known)

    @property
    def architecture(self) -> str:
        return str(self.metadata.get("general.architecture", "unknown"))

    @property
    def name(self) -> str:
        return str(self.metadata.get("general.name", self.path.stem))

    @property
    def context_length(self) -> int | None:
        value = self.metadata.get(f"{self.architecture}.context_length")
        return int(value) if value is not None else None

    @property
    def quantization(self) -> str:
        ftype = self.metadata.get("general.file_type")
        if ftype is None:
            return "unknown"
        return FILE_TYPES.get(int(ftype), f"type {ftype}")

    @property
    def chat_template(self) -> str | None:
        value = self.metadata.get("tokenizer.chat_template")
        return str(value) if value else None


class _Reader:
    def __init__(self, fh: BinaryIO, path: Path) -> None:
        self.fh = fh
        self.path = path

    def take(self, n: int) -> bytes:
        data = self.fh.read(n)
        if len(data) != n:
            raise ModelLoadError(
                f"{self.path} is truncated: the GGUF header ends early, at "
                f"{os.fstat(self.fh.fileno()).st_size} bytes; download again"
            )
        return data

    def scalar(self, fmt: str) -> Any:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def string(self) -> str:
        n = self.scalar("<Q")
        if n > 1 << 30:
            raise ModelLoadError(f"{self.path} is corrupt (string of {n} bytes)")
        return self.take(n).decode("utf-8", errors="replace")

    def value(self, vtype: int) -> Any:
        if vtype in _SCALARS:
            return self.scalar(_SCALARS[vtype])
        if vtype == _STRING:
            return self.string()
        if vtype == _ARRAY:
            item_type = self.scalar("<I")
            count = self.scalar("<Q")
            if count > 1 << 32:
                raise ModelLoadError(f"{self.path} is corrupt (array of {count} items)")
            if count > _ARRAY_KEEP:
                self.skip(item_type, count)
                return f"<array of {count}>"
            return [self.value(item_type) for _ in range(count)]
        raise ModelLoadError(f"{self.path} is corrupt (unknown value type {vtype})")

    def skip(self, item_type: int, count: int) -> None:
        if item_type in _SCALARS:
            self.fh.seek(struct.calcsize(_SCALARS[item_type]) * count, 1)
            return
        if item_type == _STRING:
            unpack, take, seek = struct.unpack, self.take, self.fh.seek
            for _ in range(count):
                (n,) = unpack("<Q", take(8))
                seek(n, 1)
            return
        for _ in range(count):
            self.value(item_type)


def read_gguf_info(path: Path) -> GGUFInfo:
    """The header of a GGUF file. Raises ModelLoadError (exit 3) with one line
    for a file that is not GGUF, is corrupt, or is shorter than its own tensor
    table says (a download cut short)."""
    path = Path(path).expanduser()
    if not path.exists():
        raise ModelNotFoundError(f"model file not found: {path}")
    if not path.is_file():
        raise ModelLoadError(f"model path is not a file: {path}")
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        reader = _Reader(fh, path)
        if fh.read(4) != b"GGUF":
            raise ModelLoadError(f"{path} is not a GGUF model file")
        version = reader.scalar("<I")
        if version not in (2, 3):
            raise ModelLoadError(f"{path}: unsupported GGUF version {version}")
        n_tensors = reader.scalar("<Q")
        n_kv = reader.scalar("<Q")
        if n_tensors > 1 << 24 or n_kv > 1 << 24:
            raise ModelLoadError(f"{path} is corrupt ({n_tensors} tensors, {n_kv} keys)")
        info = GGUFInfo(path=path, version=version, tensor_count=n_tensors, file_size=size)
        for _ in range(n_kv):
            key = reader.string()
            info.metadata[key] = reader.value(reader.scalar("<I"))
        data_end = 0  # relative to the start of the data section
        for _ in range(n_tensors):
            reader.string()
            n_dims = reader.scalar("<I")
            if n_dims > 8:
                raise ModelLoadError(f"{path} is corrupt (tensor with {n_dims} dims)")
            count = 1
            for _ in range(n_dims):
                count *= reader.scalar("<Q")
            ggml_type = reader.scalar("<I")
            offset = reader.scalar("<Q")
            info.parameter_count += count
            block = GGML_BLOCKS.get(ggml_type)
            if block is not None:
                data_end = max(data_end, offset + -(-count // block[0]) * block[1])
        alignment = info.metadata.get("general.alignment", DEFAULT_ALIGNMENT)
        if not isinstance(alignment, int) or alignment <= 0:
            alignment = DEFAULT_ALIGNMENT
        data_start = -(-fh.tell() // alignment) * alignment
    info.needed_size = data_start + data_end if n_tensors else 0
    if info.needed_size > size:
        raise ModelLoadError(
            f"{path} is truncated: {size} of {info.needed_size} bytes; download again"
        )
    return info
