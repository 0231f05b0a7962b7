#!/usr/bin/env python3
"""Create a benchmark conference on a running Easel through its public API.

    scripts/bench-fixture.py http://127.0.0.1:PORT CHARTS CHARTS_FILE

Easel only serves charts that belong to a session, and only to a token of
that conference, so the load generator needs both: this creates one
conference with CHARTS sessions (rounds of 10 spaces), writes their chart
ids to CHARTS_FILE (one per line, the load generator's --charts-file) and
prints an edit token on stdout. Standard library only.
"""

import json
import math
import sys
import urllib.request


def call(base, method, path, body=None, token=None):
    req = urllib.request.Request(base + "/api/v1" + path, method=method)
    req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", "Bearer " + token)
    data = json.dumps(body).encode() if body is not None else None
    with urllib.request.urlopen(req, data, timeout=30) as resp:
        return json.loads(resp.read() or b"null")


def main():
    base, charts, out = sys.argv[1].rstrip("/"), int(sys.argv[2]), sys.argv[3]
    spaces = 10
    rounds = math.ceil(charts / spaces)
    created = call(base, "POST", "/conferences", {
        "name": "Benchmark", "time_zone": "UTC",
        "start_date": "2026-01-01", "end_date": "2026-01-31"})
    cid, org = created["conference"]["id"], created["organizer_token"]
    call(base, "POST", f"/conferences/{cid}/rounds/pattern", {"segments": [{
        "kind": "breakout", "count": rounds, "interval_minutes": 60,
        "duration_minutes": 50, "label": "Round",
        "start": {"type": "at", "start": {"type": "instant", "at": "2026-01-01T00:00:00Z"}}}]},
        org)
    space_ids = []
    for s in range(spaces):
        conf = call(base, "POST", f"/conferences/{cid}/spaces", {"name": f"Space {s}"}, org)
        space_ids = [sp["id"] for sp in conf["spaces"]]
    edit = call(base, "POST", f"/conferences/{cid}/links",
                {"role": "edit", "label": "benchmark"}, org)["token"]
    round_ids = [r["id"] for r in call(base, "GET", f"/conferences/{cid}", token=edit)["rounds"]]
    ids = []
    for i in range(charts):
        session = call(base, "POST", f"/conferences/{cid}/sessions", {
            "topic": f"Topic {i}", "convener": "bench",
            "round_id": round_ids[i // spaces], "space_id": space_ids[i % spaces]}, edit)
        ids.append(session["session"]["chart_id"])
    with open(out, "w") as f:
        f.write("\n".join(ids) + "\n")
    print(edit)


if __name__ == "__main__":
    main()
