# SPDX-License-Identifier: Apache-2.0
"""Hand-made sparse tars for the tests (check-flatten, check-hostile)."""
import io
import tarfile


def pax_sparse(name, realsize):
    """A tar of one sparse file in GNU's pax 1.0 format (as GNU tar
    --sparse-version=1.0 writes it): realsize bytes, all hole but the last
    byte. The map block leads the data; the header says only the real size."""
    mapblock = (b"1\n%d\n1\n" % (realsize - 1)).ljust(512, b"\0")
    ti = tarfile.TarInfo("GNUSparseFile.0/" + name)
    ti.size = len(mapblock) + 1
    ti.pax_headers = {"GNU.sparse.major": "1", "GNU.sparse.minor": "0", "GNU.sparse.name": name,
                      "GNU.sparse.realsize": str(realsize)}
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        t.addfile(ti, io.BytesIO(mapblock + b"x"))
    return buf.getvalue()


def pax_sparse_map(name, entries):
    """A pax 1.0 sparse file whose map lists `entries` empty extents
    ("0\n0\n", 4 bytes each): libarchive keeps ~50 bytes of memory an entry."""
    mapblock = (b"%d\n" % entries) + b"0\n0\n" * entries
    mapblock = mapblock.ljust((len(mapblock) + 511) // 512 * 512, b"\0")
    ti = tarfile.TarInfo("GNUSparseFile.0/" + name)
    ti.size = len(mapblock)
    ti.pax_headers = {"GNU.sparse.major": "1", "GNU.sparse.minor": "0", "GNU.sparse.name": name,
                      "GNU.sparse.realsize": "0"}
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        t.addfile(ti, io.BytesIO(mapblock))
    return buf.getvalue()
