#!/usr/bin/env python3
# dir_tar.py N ORDER OUT: a tar of one directory holding N empty files,
# their entries in ORDER (ascending, descending or random: a fixed seed),
# for the one-big-directory rows of bench/run.sh. Headers are written by
# hand: tarfile takes minutes for a million entries.
import random, sys

n, order, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
idx = list(range(n))
if order == "descending":
    idx.reverse()
elif order == "random":
    random.Random(13).shuffle(idx)
elif order != "ascending":
    sys.exit("order: ascending, descending or random")


def header(name, mode, typeflag):
    h = bytearray(512)
    h[0:len(name)] = name
    h[100:108] = b"%07o\0" % mode
    h[108:116] = b"0000000\0"
    h[116:124] = b"0000000\0"
    h[124:136] = b"00000000000\0"
    h[136:148] = b"00000000000\0"
    h[156:157] = typeflag
    h[257:265] = b"ustar\x0000"
    h[148:156] = b" " * 8
    h[148:156] = b"%06o\0 " % sum(h)
    return bytes(h)


with open(out, "wb") as f:
    f.write(header(b"d/", 0o755, b"5"))
    buf = []
    for i in idx:
        buf.append(header(b"d/f%08d" % i, 0o644, b"0"))
        if len(buf) == 4096:
            f.write(b"".join(buf))
            buf = []
    f.write(b"".join(buf) + bytes(1024))
