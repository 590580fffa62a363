#!/usr/bin/env python3
# printable.py FILE...: each file is valid UTF-8 with no control character
# but newlines (no C0, DEL, C1, bidirectional or other format characters):
# what may reach a terminal. Exits non-zero naming the first offender.
import sys
import unicodedata

for name in sys.argv[1:]:
    data = open(name, "rb").read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        sys.exit("# %s: invalid UTF-8 at byte %d: %r" % (name, e.start, data[max(0, e.start - 20):e.start + 20]))
    bad = sorted({c for c in text if c != "\n" and unicodedata.category(c) in ("Cc", "Cf")})
    if bad:
        sys.exit("# %s: raw control characters %r in %r" % (name, bad, text))
