# SPDX-License-Identifier: Apache-2.0
"""xxHash32, which libsquashfs keys its duplicate fragments on, and a
collision maker: two different byte strings of the same length and hash."""
import struct

P1, P2, P3, P4, P5 = 2654435761, 2246822519, 3266489917, 668265263, 374761393
M = 0xFFFFFFFF


def _rotl(x, r):
    return ((x << r) | (x >> (32 - r))) & M


def _lanes(seed=0):
    return [(seed + P1 + P2) & M, (seed + P2) & M, seed & M, (seed - P1) & M]


def xxh32(data, seed=0):
    n, p = len(data), 0
    if n >= 16:
        v = _lanes(seed)
        while p + 16 <= n:
            for i in range(4):
                w, = struct.unpack_from("<I", data, p + 4 * i)
                v[i] = _rotl((v[i] + w * P2) & M, 13) * P1 & M
            p += 16
        h = (_rotl(v[0], 1) + _rotl(v[1], 7) + _rotl(v[2], 12) + _rotl(v[3], 18)) & M
    else:
        h = (seed + P5) & M
    h = (h + n) & M
    while p + 4 <= n:
        w, = struct.unpack_from("<I", data, p)
        h = _rotl((h + w * P3) & M, 17) * P4 & M
        p += 4
    while p < n:
        h = _rotl((h + data[p] * P5) & M, 11) * P1 & M
        p += 1
    h ^= h >> 15
    h = h * P2 & M
    h ^= h >> 13
    h = h * P3 & M
    return h ^ (h >> 16)


def collide(data):
    """data with its first 16-byte stripe changed and the second chosen so
    that each lane's state is the same again: same length, same xxh32. Lane 4
    is left alone (its start value differs in libsquashfs' copy of xxh32)."""
    assert len(data) >= 32
    b = bytearray(data)
    inv = pow(P2, -1, 1 << 32)
    v = _lanes()
    for i in range(3):
        w0, = struct.unpack_from("<I", b, 4 * i)
        w1, = struct.unpack_from("<I", b, 16 + 4 * i)
        s = _rotl((v[i] + w0 * P2) & M, 13) * P1 & M
        w0x = w0 ^ 0x01010101
        sx = _rotl((v[i] + w0x * P2) & M, 13) * P1 & M
        struct.pack_into("<I", b, 4 * i, w0x)
        struct.pack_into("<I", b, 16 + 4 * i, (w1 + (s - sx) * inv) & M)
    assert bytes(b) != data and xxh32(bytes(b)) == xxh32(data)
    return bytes(b)
