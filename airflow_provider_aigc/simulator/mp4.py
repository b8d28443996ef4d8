"""Real MP4 videos of any size, built in a few KiB of code and streamed piece by piece.

The picture is H.264 (Baseline profile) whose macroblocks are all ``I_PCM``: raw samples, so no
encoder is needed and any decoder (a browser's ``<video>``, ffmpeg) plays it: a colour wave that
moves frame by frame, the colours picked by a seed. The container is a plain ISO base media file
(``ftyp``, ``moov``, ``mdat``); bulk comes from a trailing ``free`` box, which players skip, so a
video of hundreds of MiB for the benchmark costs no memory and no CPU to make.
"""

from __future__ import annotations

import hashlib
import struct
from typing import TYPE_CHECKING

from airflow_provider_aigc.simulator.padding import padding

if TYPE_CHECKING:
    from collections.abc import Iterator

BOX_HEADER = 8
MAX_BOX_BYTES = 2**32 - 1
MB = 16  # a macroblock is 16x16 luma samples
I_PCM = 25  # mb_type of a raw-sample macroblock in an I slice


class _Bits:
    """An RBSP being written bit by bit (big-endian), with Exp-Golomb codes."""

    def __init__(self) -> None:
        self._bits: list[int] = []

    def u(self, width: int, value: int) -> None:
        self._bits.extend((value >> shift) & 1 for shift in range(width - 1, -1, -1))

    def ue(self, value: int) -> None:
        code = value + 1
        self.u(2 * code.bit_length() - 1, code)

    def align_zero(self) -> None:
        while len(self._bits) % 8:
            self._bits.append(0)

    def raw(self, data: bytes) -> None:
        for byte in data:
            self.u(8, byte)

    def trailing(self) -> bytes:
        """``rbsp_trailing_bits`` and the bytes."""
        self._bits.append(1)
        self.align_zero()
        return bytes(int("".join(map(str, self._bits[i : i + 8])), 2) for i in range(0, len(self._bits), 8))


def _nal(header: int, rbsp: bytes) -> bytes:
    """A NAL unit: its header byte and the RBSP with emulation-prevention bytes inserted."""
    out = bytearray([header])
    zeros = 0
    for byte in rbsp:
        if zeros >= 2 and byte <= 3:
            out.append(3)
            zeros = 0
        out.append(byte)
        zeros = zeros + 1 if byte == 0 else 0
    return bytes(out)


def _sps(width_mbs: int, height_mbs: int) -> bytes:
    bits = _Bits()
    bits.u(8, 66)  # profile_idc: Baseline
    bits.u(8, 0xC0)  # constraint_set0 and set1
    bits.u(8, 30)  # level_idc 3.0
    bits.ue(0)  # seq_parameter_set_id
    bits.ue(0)  # log2_max_frame_num_minus4
    bits.ue(2)  # pic_order_cnt_type 2: output order = decoding order
    bits.ue(1)  # max_num_ref_frames
    bits.u(1, 0)  # gaps_in_frame_num_value_allowed_flag
    bits.ue(width_mbs - 1)
    bits.ue(height_mbs - 1)
    bits.u(1, 1)  # frame_mbs_only_flag
    bits.u(1, 1)  # direct_8x8_inference_flag
    bits.u(1, 0)  # frame_cropping_flag
    bits.u(1, 0)  # vui_parameters_present_flag
    return _nal(0x67, bits.trailing())


def _pps() -> bytes:
    bits = _Bits()
    bits.ue(0)  # pic_parameter_set_id
    bits.ue(0)  # seq_parameter_set_id
    bits.u(1, 0)  # entropy_coding_mode_flag: CAVLC
    bits.u(1, 0)  # bottom_field_pic_order_in_frame_present_flag
    bits.ue(0)  # num_slice_groups_minus1
    bits.ue(0)  # num_ref_idx_l0_default_active_minus1
    bits.ue(0)  # num_ref_idx_l1_default_active_minus1
    bits.u(1, 0)  # weighted_pred_flag
    bits.u(2, 0)  # weighted_bipred_idc
    bits.ue(0)  # pic_init_qp_minus26 (se 0 codes as ue 0)
    bits.ue(0)  # pic_init_qs_minus26
    bits.ue(0)  # chroma_qp_index_offset
    bits.u(1, 0)  # deblocking_filter_control_present_flag
    bits.u(1, 0)  # constrained_intra_pred_flag
    bits.u(1, 0)  # redundant_pic_cnt_present_flag
    return _nal(0x68, bits.trailing())


def _frame(number: int, width_mbs: int, height_mbs: int, seed: bytes) -> bytes:
    """One IDR picture, one slice, every macroblock I_PCM: a wave of luma that moves with ``number``."""
    bits = _Bits()
    bits.ue(0)  # first_mb_in_slice
    bits.ue(7)  # slice_type: I (every slice of the picture)
    bits.ue(0)  # pic_parameter_set_id
    bits.u(4, 0)  # frame_num
    bits.ue(number % 2)  # idr_pic_id: consecutive IDR pictures differ
    bits.u(1, 0)  # no_output_of_prior_pics_flag
    bits.u(1, 0)  # long_term_reference_flag
    bits.ue(0)  # slice_qp_delta (se 0)
    u, v = 64 + seed[0] % 128, 64 + seed[1] % 128
    for mb_y in range(height_mbs):
        for mb_x in range(width_mbs):
            bits.ue(I_PCM)
            bits.align_zero()
            level = 16 + (mb_x * 37 + mb_y * 23 + number * 12 + seed[2]) % 220  # never 0: no emulation
            bits.raw(bytes([level]) * (MB * MB) + bytes([u]) * 64 + bytes([v]) * 64)
    return _nal(0x65, bits.trailing())


def _box(kind: bytes, *parts: bytes) -> bytes:
    payload = b"".join(parts)
    return struct.pack(">I", BOX_HEADER + len(payload)) + kind + payload


def _full_box(kind: bytes, version_flags: int, *parts: bytes) -> bytes:
    return _box(kind, struct.pack(">I", version_flags), *parts)


_MATRIX = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)


def _moov(
    width: int, height: int, fps: int, samples: list[int], mdat_offset: int, sps: bytes, pps: bytes
) -> bytes:
    count = len(samples)
    duration_ms = count * 1000 // fps
    mvhd = _full_box(
        b"mvhd", 0, struct.pack(">IIII", 0, 0, 1000, duration_ms), struct.pack(">IH", 0x10000, 0x100),
        bytes(10), _MATRIX, bytes(24), struct.pack(">I", 2),
    )  # fmt: skip
    tkhd = _full_box(
        b"tkhd", 3, struct.pack(">IIIII", 0, 0, 1, 0, duration_ms), bytes(8),
        struct.pack(">hhhH", 0, 0, 0, 0), _MATRIX, struct.pack(">II", width << 16, height << 16),
    )  # fmt: skip
    mdhd = _full_box(b"mdhd", 0, struct.pack(">IIIIHH", 0, 0, fps, count, 0x55C4, 0))  # language "und"
    hdlr = _full_box(b"hdlr", 0, struct.pack(">I4s", 0, b"vide"), bytes(12), b"VideoHandler\x00")
    avcc = _box(
        b"avcC", bytes([1, sps[1], sps[2], sps[3], 0xFF, 0xE1]), struct.pack(">H", len(sps)), sps,
        bytes([1]), struct.pack(">H", len(pps)), pps,
    )  # fmt: skip
    avc1 = _box(
        b"avc1", bytes(6), struct.pack(">H", 1), bytes(16), struct.pack(">HH", width, height),
        struct.pack(">IIIH", 0x480000, 0x480000, 0, 1), bytes(32), struct.pack(">Hh", 0x18, -1), avcc,
    )  # fmt: skip
    stbl = _box(
        b"stbl",
        _full_box(b"stsd", 0, struct.pack(">I", 1), avc1),
        _full_box(b"stts", 0, struct.pack(">III", 1, count, 1)),
        _full_box(b"stsc", 0, struct.pack(">IIII", 1, 1, count, 1)),
        _full_box(b"stsz", 0, struct.pack(">II", 0, count), struct.pack(f">{count}I", *samples)),
        _full_box(b"stco", 0, struct.pack(">II", 1, mdat_offset)),
    )
    dinf = _box(b"dinf", _full_box(b"dref", 0, struct.pack(">I", 1), _full_box(b"url ", 1)))
    minf = _box(b"minf", _full_box(b"vmhd", 1, bytes(8)), dinf, stbl)
    return _box(b"moov", mvhd, _box(b"trak", tkhd, _box(b"mdia", mdhd, hdlr, minf)))


def movie(width: int, height: int, fps: int, frames: int, seed: bytes) -> bytes:
    """A complete, playable MP4 (``width``/``height`` multiples of 16)."""
    width_mbs, height_mbs = width // MB, height // MB
    sps, pps = _sps(width_mbs, height_mbs), _pps()
    samples = [_frame(n, width_mbs, height_mbs, seed) for n in range(frames)]
    sizes = [4 + len(sample) for sample in samples]  # each sample: a 4-byte length, then the NAL
    ftyp = _box(b"ftyp", b"isom", struct.pack(">I", 0x200), b"isomiso2avc1mp41")
    moov_size = len(_moov(width, height, fps, sizes, 0, sps, pps))
    offset = len(ftyp) + moov_size + BOX_HEADER
    mdat = _box(b"mdat", *(struct.pack(">I", len(sample)) + sample for sample in samples))
    return ftyp + _moov(width, height, fps, sizes, offset, sps, pps) + mdat


class Mp4Video:
    """A deterministic MP4 for ``seed``, padded to ``target_size`` bytes with a ``free`` box when
    that is larger than the movie (up to 4 GiB)."""

    def __init__(
        self,
        seed: bytes,
        target_size: int = 0,
        *,
        width: int = 48,
        height: int = 32,
        fps: int = 8,
        frames: int = 12,
    ) -> None:
        self.seed = hashlib.sha256(seed).digest()
        self.head = movie(width, height, fps, frames, self.seed)
        natural = len(self.head)
        wanted = min(target_size, natural + MAX_BOX_BYTES)
        self.pad = wanted - natural - BOX_HEADER if wanted >= natural + BOX_HEADER else None
        self.size = natural if self.pad is None else wanted

    def pieces(self) -> Iterator[bytes]:
        """The whole file in pieces of at most ``PIECE`` bytes (plus the movie itself)."""
        if self.pad is None:
            yield self.head
            return
        yield self.head + struct.pack(">I", BOX_HEADER + self.pad) + b"free"
        yield from padding(self.seed, self.pad)

    def endless(self) -> Iterator[bytes]:
        """The movie and a ``free`` box that never ends: for testing size caps."""
        yield self.head + struct.pack(">I", MAX_BOX_BYTES) + b"free"
        yield from padding(self.seed, None)
