"""HTTP body codings for the tests, written from the format specifications with the standard
library only (no compression packages are allowed here).

Encoders produce valid streams without real compression where the stdlib has no codec: zstd raw
blocks (RFC 8878), LZ4 frames of uncompressed blocks, snappy framing with uncompressed chunks,
brotli uncompressed meta-blocks (RFC 7932). That is enough to check that the server's decoders
accept what any conforming encoder may send. Decoders exist for what a response may carry and
is small to decode: gzip (multi-member), raw deflate (concatenated streams), snappy framing
(incl. compressed chunks) and LZ4 frames (incl. compressed blocks). zstd and brotli responses can
only be checked by their magic number / header here.
"""

import gzip
import struct
import zlib

M32 = 0xFFFFFFFF

# ------------------------------------------------------------------ checksums


def _rotl32(x, r):
    return ((x << r) | (x >> (32 - r))) & M32


_P1, _P2, _P3, _P4, _P5 = 2654435761, 2246822519, 3266489917, 668265263, 374761393


def xxh32(data, seed=0):
    n = len(data)
    i = 0
    if n >= 16:
        v = [(seed + _P1 + _P2) & M32, (seed + _P2) & M32, seed & M32, (seed - _P1) & M32]
        while i + 16 <= n:
            for k in range(4):
                (w,) = struct.unpack_from("<I", data, i + 4 * k)
                v[k] = (_rotl32((v[k] + w * _P2) & M32, 13) * _P1) & M32
            i += 16
        h = (_rotl32(v[0], 1) + _rotl32(v[1], 7) + _rotl32(v[2], 12) + _rotl32(v[3], 18)) & M32
    else:
        h = (seed + _P5) & M32
    h = (h + n) & M32
    while i + 4 <= n:
        (w,) = struct.unpack_from("<I", data, i)
        h = (_rotl32((h + w * _P3) & M32, 17) * _P4) & M32
        i += 4
    while i < n:
        h = (_rotl32((h + data[i] * _P5) & M32, 11) * _P1) & M32
        i += 1
    h ^= h >> 15
    h = (h * _P2) & M32
    h ^= h >> 13
    h = (h * _P3) & M32
    h ^= h >> 16
    return h


def _crc32c_table():
    t = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        t.append(c)
    return t


_CRC32C = _crc32c_table()


def crc32c(data):
    c = M32
    for b in data:
        c = _CRC32C[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ M32


def snappy_mask(crc):
    return ((((crc >> 15) | (crc << 17)) & M32) + 0xA282EAD8) & M32


# ------------------------------------------------------------------ encoders


def enc_gzip(data):
    return gzip.compress(data)


def enc_deflate(data):
    """Raw DEFLATE, no zlib header (what CnosDB means by `deflate`)."""
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def enc_zstd_raw(data):
    out = bytearray(b"\x28\xb5\x2f\xfd")
    out.append(0x00)  # frame header: no content size, window descriptor follows
    out.append(7 << 3)  # window 128 KiB
    if not data:
        out += (1).to_bytes(3, "little")  # last, raw, size 0
        return bytes(out)
    step = 128 * 1024
    for off in range(0, len(data), step):
        part = data[off:off + step]
        last = 1 if off + step >= len(data) else 0
        out += (last | (0 << 1) | (len(part) << 3)).to_bytes(3, "little")
        out += part
    return bytes(out)


def enc_lz4_frame_stored(data):
    flg, bd = 0x60, 0x40  # version 1, independent blocks, no checksums; 64 KiB blocks
    hc = (xxh32(bytes([flg, bd])) >> 8) & 0xFF
    out = bytearray(b"\x04\x22\x4d\x18") + bytes([flg, bd, hc])
    step = 64 * 1024
    for off in range(0, len(data), step):
        part = data[off:off + step]
        out += struct.pack("<I", len(part) | 0x80000000) + part
    out += b"\x00\x00\x00\x00"
    return bytes(out)


SNAPPY_STREAM_ID = b"\xff\x06\x00\x00sNaPpY"


def enc_snappy_framed_stored(data):
    out = bytearray(SNAPPY_STREAM_ID)
    step = 65536
    for off in range(0, len(data), step):
        part = data[off:off + step]
        out.append(0x01)
        out += (len(part) + 4).to_bytes(3, "little")
        out += struct.pack("<I", snappy_mask(crc32c(part)))
        out += part
    return bytes(out)


class _Bits:
    def __init__(self):
        self.out = bytearray()
        self.acc = 0
        self.n = 0

    def put(self, value, nbits):
        for i in range(nbits):
            self.acc |= ((value >> i) & 1) << self.n
            self.n += 1
            if self.n == 8:
                self.out.append(self.acc)
                self.acc = 0
                self.n = 0

    def align(self):
        if self.n:
            self.out.append(self.acc)
            self.acc = 0
            self.n = 0

    def raw(self, data):
        assert self.n == 0
        self.out += data


def enc_brotli_stored(data):
    b = _Bits()
    b.put(0, 1)  # WBITS = 16
    step = 65536
    for off in range(0, len(data), step):
        part = data[off:off + step]
        b.put(0, 1)  # ISLAST = 0
        b.put(0, 2)  # MNIBBLES = 4
        b.put(len(part) - 1, 16)
        b.put(1, 1)  # ISUNCOMPRESSED
        b.align()
        b.raw(part)
    b.put(1, 1)  # ISLAST
    b.put(1, 1)  # ISLASTEMPTY
    b.align()
    return bytes(b.out)


ENCODERS = {
    "identity": lambda d: d,
    "gzip": enc_gzip,
    "deflate": enc_deflate,
    "zstd": enc_zstd_raw,
    "lz4": enc_lz4_frame_stored,
    "snappy": enc_snappy_framed_stored,
    "br": enc_brotli_stored,
}

# ------------------------------------------------------------------ decoders


def dec_gzip(data):
    return gzip.decompress(data)  # handles concatenated members


def dec_deflate(data):
    out = bytearray()
    while data:
        d = zlib.decompressobj(-15)
        out += d.decompress(data)
        out += d.flush()
        if not d.eof:
            raise ValueError("truncated deflate stream")
        data = d.unused_data
    return bytes(out)


def snappy_raw_decode(src):
    pos = 0
    n = 0
    shift = 0
    while True:
        b = src[pos]
        pos += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            break
    out = bytearray()
    while pos < len(src):
        tag = src[pos]
        pos += 1
        kind = tag & 3
        if kind == 0:
            ln = tag >> 2
            if ln >= 60:
                nb = ln - 59
                ln = int.from_bytes(src[pos:pos + nb], "little")
                pos += nb
            ln += 1
            out += src[pos:pos + ln]
            pos += ln
            continue
        if kind == 1:
            ln = ((tag >> 2) & 7) + 4
            off = ((tag >> 5) << 8) | src[pos]
            pos += 1
        elif kind == 2:
            ln = (tag >> 2) + 1
            off = int.from_bytes(src[pos:pos + 2], "little")
            pos += 2
        else:
            ln = (tag >> 2) + 1
            off = int.from_bytes(src[pos:pos + 4], "little")
            pos += 4
        if off == 0 or off > len(out):
            raise ValueError("bad snappy copy offset")
        for _ in range(ln):
            out.append(out[-off])
    if len(out) != n:
        raise ValueError(f"snappy length {len(out)} != {n}")
    return bytes(out)


def dec_snappy_framed(data):
    out = bytearray()
    pos = 0
    seen_id = False
    while pos < len(data):
        typ = data[pos]
        ln = int.from_bytes(data[pos + 1:pos + 4], "little")
        body = data[pos + 4:pos + 4 + ln]
        if len(body) != ln:
            raise ValueError("truncated snappy chunk")
        pos += 4 + ln
        if typ == 0xFF:
            if body != SNAPPY_STREAM_ID[4:]:
                raise ValueError("bad snappy stream id")
            seen_id = True
            continue
        if not seen_id:
            raise ValueError("snappy data before stream identifier")
        if typ in (0x00, 0x01):
            (crc,) = struct.unpack_from("<I", body, 0)
            chunk = snappy_raw_decode(body[4:]) if typ == 0 else body[4:]
            if snappy_mask(crc32c(chunk)) != crc:
                raise ValueError("snappy checksum mismatch")
            out += chunk
        elif typ <= 0x7F:
            raise ValueError(f"reserved unskippable snappy chunk {typ:#x}")
    return bytes(out)


def lz4_block_decode(src, out):
    pos = 0
    while pos < len(src):
        token = src[pos]
        pos += 1
        lit = token >> 4
        if lit == 15:
            while True:
                b = src[pos]
                pos += 1
                lit += b
                if b != 255:
                    break
        out += src[pos:pos + lit]
        pos += lit
        if pos >= len(src):
            break
        off = src[pos] | (src[pos + 1] << 8)
        pos += 2
        ml = token & 15
        if ml == 15:
            while True:
                b = src[pos]
                pos += 1
                ml += b
                if b != 255:
                    break
        ml += 4
        if off == 0 or off > len(out):
            raise ValueError("bad lz4 offset")
        for _ in range(ml):
            out.append(out[-off])


def dec_lz4_frame(data):
    out = bytearray()
    pos = 0
    while pos < len(data):
        if data[pos:pos + 4] != b"\x04\x22\x4d\x18":
            raise ValueError("bad lz4 frame magic")
        flg = data[pos + 4]  # the BD byte (block size) does not matter for decoding
        hdr_end = pos + 6 + (8 if flg & 0x08 else 0) + (4 if flg & 0x01 else 0)
        if (xxh32(data[pos + 4:hdr_end]) >> 8) & 0xFF != data[hdr_end]:
            raise ValueError("bad lz4 header checksum")
        pos = hdr_end + 1
        while True:
            (sz,) = struct.unpack_from("<I", data, pos)
            pos += 4
            if sz == 0:
                break
            stored = sz & 0x80000000
            sz &= 0x7FFFFFFF
            blk = data[pos:pos + sz]
            pos += sz
            if stored:
                out += blk
            else:
                lz4_block_decode(blk, out)
            if flg & 0x10:
                pos += 4
        if flg & 0x04:
            pos += 4
    return bytes(out)


DECODERS = {
    "identity": lambda d: d,
    "gzip": dec_gzip,
    "deflate": dec_deflate,
    "snappy": dec_snappy_framed,
    "lz4": dec_lz4_frame,
}

MAGIC = {
    "gzip": b"\x1f\x8b",
    "zstd": b"\x28\xb5\x2f\xfd",
    "lz4": b"\x04\x22\x4d\x18",
    "snappy": SNAPPY_STREAM_ID,
}


def _selftest():
    assert crc32c(b"123456789") == 0xE3069283
    # The header checksum every LZ4 frame with FLG=0x64, BD=0x40 carries.
    assert (xxh32(bytes([0x64, 0x40])) >> 8) & 0xFF == 0xA7
    assert xxh32(b"") == 0x02CC5D05
    for name in ("lz4", "snappy"):
        enc = {"lz4": enc_lz4_frame_stored, "snappy": enc_snappy_framed_stored}[name]
        for d in (b"", b"x", bytes(range(256)) * 700):
            assert DECODERS[name](enc(d)) == d
    assert dec_deflate(enc_deflate(b"abc") + enc_deflate(b"def")) == b"abcdef"


_selftest()
