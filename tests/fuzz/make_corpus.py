#!/usr/bin/env python3
"""make_corpus.py - writes the committed seed corpus of the fuzz targets
(tests/fuzz/corpus/<target>/seed-*), small inputs that reach every
operation: the fuzzer mutates from there. Encoding: see step() in
fuzz_common.h and patch()/use() in fuzz_region.c."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
(GET, PUT, CAS, ADD, DEL, TX, ROLLBACK, SEND, RECV, RESET, FILL, CHECK,
 RECOVER) = range(13)


def put(k, ln, seed):
    return bytes([PUT, k, ln, seed])


def cas(k, ln, seed, mode):
    return bytes([CAS, k, ln, seed, mode]) + (b"\x11" * 8 if mode == 3 else b"")


def add(k, kind, arg=0):
    return bytes([ADD, k, kind]) + (struct.pack("<q", arg) if kind == 3 else
                                    (bytes([arg & 0xff]) if kind > 3 else b""))


def op(o, k=0):
    return bytes([o, k])


SEQS = {
    "basic": put(1, 10, 1) + op(GET, 1) + cas(1, 20, 2, 0) + cas(1, 5, 3, 2)
    + add(2, 4, 5) + add(2, 0) + add(2, 4, 1) + op(DEL, 1) + op(GET, 1)
    + put(7, 0xff, 9) + op(CHECK),
    "tx": put(1, 3, 1) + op(TX) + put(1, 30, 2) + op(DEL, 1) + add(3, 4, 7)
    + put(4, 0xfe, 5) + op(TX) + op(CHECK) + op(TX) + put(5, 8, 8)
    + op(DEL, 3) + op(ROLLBACK) + op(CHECK),
    "txfull": op(TX) + b"".join(put(k, 4, k) for k in range(18)) + op(TX)
    + op(CHECK),
    "chan": bytes([SEND, 0, 1, 5, SEND, 0, 2, 0xff, RECV, 0, 2, RECV, 0, 0xff,
                   RECV, 0, 0xff, SEND, 1, 3, 0, RECV, 1, 0]) + op(CHECK),
    "full": put(0, 5, 1) + op(FILL) + put(9, 4, 4) + add(10, 4, 1)
    + op(DEL, 0) + put(9, 4, 4) + op(CHECK) + op(RESET) + op(CHECK),
    "recover": put(1, 9, 9) + op(RECOVER) + op(TX) + put(2, 3, 3) + op(TX)
    + op(RECOVER) + op(CHECK),
}


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


for name, seq in SEQS.items():
    write("fuzz_model", name, seq)
    for at in (1, 3, 7):
        write("fuzz_crash", "%s-%d" % (name, at), struct.pack("<H", at) + seq)


# fuzz_region: setup byte, patches (area, index, offset, length, how,
# bytes), a 0 byte, then operations (op, key, args).
def patch(area, idx, off, data, how=0):
    wide = area % 8 == 7
    return (bytes([area, idx]) + (struct.pack("<I", off) if wide else
                                  struct.pack("<H", off))
            + bytes([len(data) - 1, how]) + data)


USE = bytes([0, 1, 1, 1, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 3, 2, 4, 1, 0,
             4, 2, 1, 0, 5, 2, 6, 6, 2, 9, 7, 0] + [0] * 256
            + [8, 0, 9, 0, 0x55, 10, 0, 1, 11, 3])
REGION = {
    "none": b"\x00" + b"\x00" + USE,
    "meta": b"\x00" + patch(2, 1, 8, b"\xff" * 8) + b"\x00" + USE,
    "seq": b"\x02" + patch(2, 0, 0, b"\x01") + patch(1, 0, 4, b"\0\0\0\0")
    + b"\x00" + USE,
    "journal": b"\x01" + patch(8, 0, 0x70, b"\x05\x00\x00\x00\x02")
    + patch(3, 0, 0, b"\x07") + b"\x00" + USE,
    "chan": b"\x00" + patch(6, 1, 0x48, b"\xff" * 8, 0xc0) + b"\x00" + USE,
    "peer": b"\x00" + patch(4, 1, 0, b"\x00\x10\x00\x00\x00\x00\x00\x00")
    + patch(5, 0, 0, b"\xff" * 16) + b"\x00" + USE,
    "anywhere": b"\x03" + patch(7, 0, 200000, b"\xde\xad\xbe\xef" * 4)
    + b"\x00" + USE,
}
for name, data in REGION.items():
    write("fuzz_region", name, data)
