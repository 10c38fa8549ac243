#!/usr/bin/python3
"""A vnawire sink in Python that speaks the wire protocol itself: an exec stage in zmq mode.

Written from docs/protocol.md alone, with pyzmq (Debian's python3-zmq). The daemon starts it with its
endpoints in VNAWIRE_* environment variables. Each record is stored as DIR/<id>.json, written aside and
renamed, so that a replay rewrites the same file and a reader never sees half of one. DIR is the first
argument, else the stage's own folder (VNAWIRE_STATE_DIR).

  pipeline.yaml:  - {name: files, type: exec, inputs: [extract],
                     options: {mode: zmq, command: [examples/sinks/python/store.py, /var/lib/vnawire/records]}}
"""
import json
import os
import signal
import sys
import time

import zmq

env = os.environ
directory = sys.argv[1] if len(sys.argv) > 1 else env["VNAWIRE_STATE_DIR"]
os.makedirs(directory, exist_ok=True)
counts = {"received": 0, "forwarded": 0, "dropped": 0, "dead_lettered": 0, "retried": 0, "pending": 0}
stopping = False


def on_signal(_number, _frame):
    global stopping
    stopping = True


def report(control, verb):
    body = dict(counts, pid=os.getpid(), counters={"stored": counts["forwarded"]})
    control.send_multipart([verb, json.dumps(body).encode()])


def dead_letter(reason, document_id, header, payload):
    counts["dead_lettered"] += 1
    print(f"[{env['VNAWIRE_IDENTITY']}] dead-lettered {document_id or '(no id)'}: {reason}", file=sys.stderr)
    record = {"time": int(time.time() * 1000), "stage": env["VNAWIRE_STAGE"], "replica": int(env["VNAWIRE_REPLICA"]),
              "reason": reason, "id": document_id, "header": header.decode(errors="replace"),
              "payload": payload.decode(errors="replace")}
    with open(env["VNAWIRE_DEAD_LETTER"], "a", encoding="utf-8") as letters:
        letters.write(json.dumps(record) + "\n")


def store(frames):
    """Checks one data message (two frames: header, JSON record) and stores it."""
    if len(frames) != 2:
        return dead_letter(f"malformed message: expected 2 frames, got {len(frames)}", "", b"", b"")
    header, payload = frames
    fields = header.decode(errors="replace").split(" ", 4)  # VNAW <version> <attempt> <trace> <id>
    if len(fields) != 5 or fields[0] != "VNAW" or fields[1] != "1":
        return dead_letter("cannot decode: not a version 1 VNAW header", "", header, payload)
    document_id = fields[4]
    if document_id.startswith(".") or "/" in document_id:
        return dead_letter("no usable id for a file name", document_id, header, payload)
    aside = os.path.join(directory, document_id + ".json.tmp")
    with open(aside, "wb") as file:
        file.write(payload + b"\n")
    os.replace(aside, os.path.join(directory, document_id + ".json"))
    counts["forwarded"] += 1


def main():
    global stopping
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    context = zmq.Context()
    control = context.socket(zmq.DEALER)
    control.setsockopt(zmq.IDENTITY, env["VNAWIRE_IDENTITY"].encode())
    control.setsockopt(zmq.LINGER, 2000)
    control.connect(env["VNAWIRE_CONTROL"])
    data = context.socket(zmq.PULL)
    data.setsockopt(zmq.RCVHWM, int(env["VNAWIRE_HWM"]))
    data.setsockopt(zmq.MAXMSGSIZE, int(env["VNAWIRE_MAX_MESSAGE_BYTES"]))
    for endpoint in env["VNAWIRE_INPUTS"].split():
        data.connect(endpoint)
    report(control, b"READY")
    heartbeat = int(env["VNAWIRE_HEARTBEAT_MS"]) / 1000
    next_beat = time.monotonic() + heartbeat
    poller = zmq.Poller()
    poller.register(control, zmq.POLLIN)
    poller.register(data, zmq.POLLIN)
    while True:
        wait = 0.02 if stopping else max(0.0, min(1.0, next_beat - time.monotonic()))
        poller.poll(int(wait * 1000))
        while control.poll(0):
            verb = control.recv_multipart()[0]
            if verb == b"STOP":
                stopping = True
            elif verb == b"STATS":
                report(control, b"HEARTBEAT")
        taken = 0
        while taken < 256:  # a bounded batch, so that control messages are never starved
            try:
                frames = data.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                break
            taken += 1
            counts["received"] += 1
            store(frames)
        # After work, the daemon hears of it at once (a crash would lose what it was not told), and at every beat.
        if 0 < taken < 256 or time.monotonic() >= next_beat:
            report(control, b"HEARTBEAT")
            next_beat = time.monotonic() + heartbeat
        if stopping and taken == 0:  # the daemon sends STOP once nothing more can come
            break
    report(control, b"STOPPED")
    data.close(linger=0)
    control.close()  # lingers (2 s at most) until STOPPED has left
    context.term()
    return 0


if __name__ == "__main__":
    sys.exit(main())
