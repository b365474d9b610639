"""Prometheus remote storage bodies for the tests, encoded and decoded by hand (protobuf wire
format over the field numbers of prompb's remote.proto and types.proto), compressed with
snappy's block format (Debian's python3-snappy)."""

import struct

import snappy

from bodycoding import crc32c

SAMPLES, STREAMED_XOR_CHUNKS = 0, 1
EQ, NEQ, RE, NRE = 0, 1, 2, 3
STALE_NAN = struct.unpack("<d", struct.pack("<Q", 0x7FF0000000000002))[0]


def _varint(n):
    n &= (1 << 64) - 1  # negative int64 as protobuf writes it: ten bytes
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _key(field, wire):
    return _varint(field << 3 | wire)


def _bytes(field, data):
    if isinstance(data, str):
        data = data.encode()
    return _key(field, 2) + _varint(len(data)) + data


def _int(field, n):
    return _key(field, 0) + _varint(n) if n else b""


def _double(field, v):
    return _key(field, 1) + struct.pack("<d", v)


def label(name, value):
    return _bytes(1, name) + _bytes(2, value)


def series(labels, samples):
    """labels: [(name, value)] in the order given; samples: [(ts_ms, value)]."""
    out = b"".join(_bytes(1, label(n, v)) for n, v in labels)
    for ts, v in samples:
        out += _bytes(2, _double(1, v) + _int(2, ts))
    return out


def write_request(timeseries):
    """timeseries: [(labels, samples)]."""
    return b"".join(_bytes(1, series(l, s)) for l, s in timeseries)


def query(start_ms, end_ms, matchers):
    out = _int(1, start_ms) + _int(2, end_ms)
    for t, n, v in matchers:
        out += _bytes(3, _int(1, t) + _bytes(2, n) + _bytes(3, v))
    return out


def read_request(queries, accepted=()):
    out = b"".join(_bytes(1, query(*q)) for q in queries)
    if accepted:  # packed, as proto3 writes repeated enums
        out += _bytes(2, b"".join(_varint(a) for a in accepted))
    return out


def compress(msg):
    return snappy.compress(msg)


# ---------------------------------------------------------------- decoding a ReadResponse


def _fields(buf):
    i = 0
    while i < len(buf):
        key, i = _read_varint(buf, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            v, i = _read_varint(buf, i)
        elif wire == 1:
            v, i = buf[i:i + 8], i + 8
        elif wire == 2:
            n, i = _read_varint(buf, i)
            v, i = buf[i:i + n], i + n
        elif wire == 5:
            v, i = buf[i:i + 4], i + 4
        else:
            raise ValueError(f"wire type {wire}")
        yield field, wire, v


def _read_varint(buf, i):
    n = shift = 0
    while True:
        b = buf[i]
        i += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return n, i


def _signed(n):
    return n - (1 << 64) if n >= 1 << 63 else n


def _label(msg):
    d = {f: x.decode() for f, _, x in _fields(msg)}
    return d.get(1, ""), d.get(2, "")


def decode_read_response(msg):
    """→ [[(labels as [(name, value)], [(ts_ms, value)])] per query]."""
    results = []
    for f, _, qr in _fields(msg):
        assert f == 1
        result = []
        for f2, _, ts in _fields(qr):
            assert f2 == 1
            labels, samples = [], []
            for f3, _, v in _fields(ts):
                if f3 == 1:
                    labels.append(_label(v))
                elif f3 == 2:
                    val, t = 0.0, 0
                    for f4, _, x in _fields(v):
                        if f4 == 1:
                            val = struct.unpack("<d", x)[0]
                        elif f4 == 2:
                            t = _signed(x)
                    samples.append((t, val))
            result.append((labels, samples))
        results.append(result)
    return results


def decompress(body):
    return snappy.uncompress(body)


# ---------------------------------------------------------------- STREAMED_XOR_CHUNKS

def decode_frames(body):
    """A streamed answer → [(query_index, labels, [(min_ms, max_ms, type, data bytes)])], one
    entry per ChunkedSeries of each frame; every frame's CRC-32C checked."""
    out, i = [], 0
    while i < len(body):
        n, i = _read_varint(body, i)
        crc, msg = int.from_bytes(body[i:i + 4], "big"), body[i + 4:i + 4 + n]
        assert len(msg) == n, "truncated frame"
        assert crc == crc32c(msg), "bad frame checksum"
        i += 4 + n
        qi, series = 0, []
        for f, _, v in _fields(msg):
            if f == 2:
                qi = _signed(v)
            elif f == 1:
                labels, chunks = [], []
                for f2, _, x in _fields(v):
                    if f2 == 1:
                        labels.append(_label(x))
                    elif f2 == 2:
                        c = {1: 0, 2: 0, 3: 0, 4: b""}
                        for k, _, y in _fields(x):
                            c[k] = y
                        chunks.append((_signed(c[1]), _signed(c[2]), c[3], bytes(c[4])))
                series.append((labels, chunks))
        out.extend((qi, l, c) for l, c in series)
    return out


class _Bits:
    def __init__(self, data):
        self.big, self.nbits, self.pos = int.from_bytes(data, "big"), len(data) * 8, 0

    def read(self, n):
        """The next n bits, most significant first."""
        if self.pos + n > self.nbits:
            raise ValueError("chunk ends inside a sample")
        self.pos += n
        return (self.big >> (self.nbits - self.pos)) & ((1 << n) - 1)

    def uvarint(self):
        n = shift = 0
        while True:
            b = self.read(8)
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return n


def _to_signed(v, bits):
    # the buckets reach +2^(bits-1) but only -(2^(bits-1) - 1): the top pattern is positive
    if bits == 64:
        return v - (1 << 64) if v >= 1 << 63 else v
    return v - (1 << bits) if v > 1 << (bits - 1) else v


def xor_decode(data):
    """An XOR chunk (Prometheus' Gorilla encoding) → [(ts_ms, value bits as int)]."""
    n = int.from_bytes(data[:2], "big")
    r = _Bits(data[2:])
    out = []
    t = v = tdelta = 0
    leading = trailing = 0
    for i in range(n):
        if i == 0:
            z = r.uvarint()
            t = (z >> 1) ^ -(z & 1)
            v = r.read(64)
        else:
            if i == 1:
                tdelta = r.uvarint()
            else:
                for width, size in ((0, 0), (1, 14), (2, 17), (3, 20), (4, 64)):
                    if width == 4 or not r.read(1):
                        break
                dod = _to_signed(r.read(size), size) if size else 0
                tdelta += dod
            t += tdelta
            if r.read(1):
                if r.read(1):
                    leading = r.read(5)
                    sig = r.read(6) or 64
                    trailing = 64 - leading - sig
                v ^= r.read(64 - leading - trailing) << trailing
        out.append((t, v))
    return out
