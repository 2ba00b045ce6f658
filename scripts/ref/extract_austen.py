#!/usr/bin/env python3
"""Extract Jane Austen's novels from Debian's r-cran-janeaustenr package.

Usage: extract_austen.py PKGROOT OUTDIR

PKGROOT is the directory the .deb was unpacked into (``dpkg-deb -x``), i.e. it
contains ``usr/lib/R/site-library/janeaustenr/data/Rdata.{rdb,rdx}``.

Rdata.rdx is a gzip-compressed R XDR serialization of a list with
``$variables`` (name -> c(offset, length) into Rdata.rdb) and ``$compressed``.
Each Rdata.rdb entry is [u32 BE uncompressed length][zlib stream] (compression
type 1; types 2/3 = bzip2/xz carry an extra type byte and are handled too),
and the payload is the XDR serialization of a character vector, one element
per line of the book.  Each book is written as OUTDIR/<name>.txt: its lines
joined with "\n" plus a final "\n" (UTF-8).  The sha256 of each file is printed.

Only the Python standard library is used.
"""
import bz2
import gzip
import hashlib
import lzma
import os
import struct
import sys
import zlib

DATA = "usr/lib/R/site-library/janeaustenr/data"


class RUnserializer:
    """Minimal reader for R's XDR serialization format (versions 2 and 3)."""

    def __init__(self, buf):
        self.b = buf
        self.p = 0
        self.refs = []

    def int(self):
        (v,) = struct.unpack_from(">i", self.b, self.p)
        self.p += 4
        return v

    def double(self):
        (v,) = struct.unpack_from(">d", self.b, self.p)
        self.p += 8
        return v

    def bytes(self, n):
        v = self.b[self.p:self.p + n]
        self.p += n
        return v

    def header(self):
        fmt = self.bytes(2)
        if fmt != b"X\n":
            raise ValueError("not an XDR serialization: %r" % fmt)
        version = self.int()
        self.int()  # writer R version
        self.int()  # minimal reader R version
        if version == 3:
            n = self.int()
            self.bytes(n)  # native encoding name
        elif version != 2:
            raise ValueError("unsupported serialization version %d" % version)

    def charsxp(self, flags):
        n = self.int()
        if n == -1:
            return None  # NA_character_
        raw = self.bytes(n)
        levels = flags >> 12
        if levels & 4 and not levels & 8:  # LATIN1
            return raw.decode("latin-1")
        return raw.decode("utf-8")

    def item(self):
        flags = self.int()
        t = flags & 0xFF
        has_attr = bool(flags & (1 << 9))
        has_tag = bool(flags & (1 << 10))
        if t == 254:  # NILVALUE_SXP
            return None
        if t in (242, 253, 251, 252):  # EMPTYENV, GLOBALENV, MISSINGARG, UNBOUNDVALUE
            return None
        if t == 255:  # REFSXP
            idx = flags >> 8
            if idx == 0:
                idx = self.int()
            return self.refs[idx - 1]
        if t == 1:  # SYMSXP
            sym = self.item()
            self.refs.append(sym)
            return sym
        if t == 9:  # CHARSXP
            return self.charsxp(flags)
        if t in (2, 6):  # LISTSXP / LANGSXP: pairlist
            out = []
            while True:
                attr = self.item() if has_attr else None
                tag = self.item() if has_tag else None
                car = self.item()
                out.append((tag, car))
                nf = self.int()
                t2 = nf & 0xFF
                if t2 == 254:
                    break
                if t2 not in (2, 6):
                    self.p -= 4
                    out.append((None, self.item()))
                    break
                has_attr = bool(nf & (1 << 9))
                has_tag = bool(nf & (1 << 10))
            return out
        if t == 16:  # STRSXP
            n = self.int()
            v = []
            for _ in range(n):
                v.append(self.item())
        elif t == 19 or t == 20:  # VECSXP / EXPRSXP
            n = self.int()
            v = [self.item() for _ in range(n)]
        elif t == 13 or t == 10:  # INTSXP / LGLSXP
            n = self.int()
            v = list(struct.unpack_from(">%di" % n, self.b, self.p))
            self.p += 4 * n
        elif t == 14:  # REALSXP
            n = self.int()
            v = list(struct.unpack_from(">%dd" % n, self.b, self.p))
            self.p += 8 * n
        elif t == 24:  # RAWSXP
            n = self.int()
            v = self.bytes(n)
        else:
            raise ValueError("unsupported SEXP type %d at offset %d" % (t, self.p))
        attrs = self.item() if has_attr else None
        if attrs:
            names = dict((k, a) for k, a in attrs).get("names")
            if names is not None and t == 19:
                return dict(zip(names, v))
        return v

    def read(self):
        self.header()
        return self.item()


def unserialize(buf):
    return RUnserializer(buf).read()


def rdb_entry(rdb, offset, length):
    blob = rdb[offset:offset + length]
    (n,) = struct.unpack(">I", blob[:4])
    body = blob[4:]
    if body[:1] in (b"2", b"3", b"0") and len(body) > 1:
        # type byte for bzip2 ('2'), xz ('3') or stored ('0') compression
        kind, rest = body[:1], body[1:]
        if kind == b"2":
            data = bz2.decompress(rest)
        elif kind == b"3":
            data = lzma.decompress(rest)
        else:
            data = rest
        if len(data) == n:
            return data
    data = zlib.decompress(body)
    if len(data) != n:
        raise ValueError("bad rdb entry length")
    return data


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    root, outdir = sys.argv[1], sys.argv[2]
    base = os.path.join(root, DATA)
    index = unserialize(gzip.decompress(open(base + "/Rdata.rdx", "rb").read()))
    variables = index["variables"]
    rdb = open(base + "/Rdata.rdb", "rb").read()
    os.makedirs(outdir, exist_ok=True)
    for name, (offset, length) in variables.items():
        lines = unserialize(rdb_entry(rdb, int(offset), int(length)))
        if not isinstance(lines, list) or not all(isinstance(x, str) for x in lines):
            raise ValueError("%s: expected a character vector without NA" % name)
        text = "\n".join(lines) + "\n"
        data = text.encode("utf-8")
        path = os.path.join(outdir, name + ".txt")
        with open(path, "wb") as f:
            f.write(data)
        print("%s  %s  (%d lines, %d bytes)" % (hashlib.sha256(data).hexdigest(), path, len(lines), len(data)))


if __name__ == "__main__":
    main()
