#!/usr/bin/env python3
"""How the disk under a directory answers small synced appends.

    python3 scripts/diskprobe.py [SECONDS] [DIR]

Appends 4 KiB and fdatasyncs, every 2 ms, for SECONDS (30); prints the
latency distribution and the stalls over 20 ms. Easel's group commit pays
this per flush, so a stall here is a stall for every chart.
"""
import os
import sys
import tempfile
import time

secs = float(sys.argv[1]) if len(sys.argv) > 1 else 30
where = sys.argv[2] if len(sys.argv) > 2 else "."
fd, path = tempfile.mkstemp(prefix="diskprobe.", dir=where)
buf = b"x" * 4096
lat, stalls = [], []
t_end = time.monotonic() + secs
try:
    while time.monotonic() < t_end:
        t0 = time.monotonic()
        os.write(fd, buf)
        os.fdatasync(fd)
        d = (time.monotonic() - t0) * 1000
        lat.append(d)
        if d > 20:
            stalls.append(round(d, 1))
        time.sleep(0.002)
finally:
    os.close(fd)
    os.unlink(path)
lat.sort()


def q(p):
    return round(lat[min(len(lat) - 1, int(len(lat) * p))], 2)


print(f"n={len(lat)} p50={q(.5)} p99={q(.99)} p999={q(.999)} max={round(lat[-1], 1)} ms; "
      f"stalls over 20 ms: {len(stalls)} {stalls[:10]}")
