#!/usr/bin/python3
"""The client never sends a confirmed request larger than the device accepts.

A fake BACnet/IP device (this script, a UDP socket on 127.0.0.1) answers
Who-Is with an I-Am announcing Max_APDU_Length_Accepted 480 and records
every confirmed request it receives (answering a WriteProperty with a
Simple-ACK). `bacsc write … location "<text>"` over BACnet/IP:

  - a request of exactly 480 octets is sent and acknowledged (exit 0);
  - one of 481 octets is refused at once (exit 3, well before one APDU
    timeout), with one line naming both sizes, and nothing reaches the device.
"""
import os
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from sc_support import *  # noqa: F401,F403

INSTANCE = 4321
MAX_APDU = 480


def fake_device(sock, received, stop):
    iam_apdu = bytes([0x10, 0x00, 0xC4, 0x02, (INSTANCE >> 16) & 0x3F, (INSTANCE >> 8) & 0xFF,
                      INSTANCE & 0xFF, 0x22, MAX_APDU >> 8, MAX_APDU & 0xFF, 0x91, 0x03, 0x21, 0x0F])
    while not stop.is_set():
        try:
            data, addr = sock.recvfrom(2048)
        except socket.timeout:
            continue
        if len(data) < 6 or data[0] != 0x81:
            continue
        npdu = data[4:]
        # NPDU: version, control (no routing info from the bacsc client here)
        if npdu[1] & 0x28:
            continue
        apdu = npdu[2:]
        if apdu[:2] == b"\x10\x08":  # Who-Is
            msg = bytes([0x01, 0x00]) + iam_apdu
            sock.sendto(bytes([0x81, 0x0A, 0, 4 + len(msg)]) + msg, addr)
        elif apdu and apdu[0] >> 4 == 0:  # confirmed request
            received.append(len(apdu))
            invoke, service = apdu[2], apdu[3]
            msg = bytes([0x01, 0x00, 0x20, invoke, service])
            sock.sendto(bytes([0x81, 0x0A, 0, 4 + len(msg)]) + msg, addr)


def main():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.1)
    dport = sock.getsockname()[1]
    received, stop = [], threading.Event()
    th = threading.Thread(target=fake_device, args=(sock, received, stop), daemon=True)
    th.start()
    net = ["--bip-local", f"127.0.0.1:{free_port()}", "--bip-broadcast", f"127.0.0.1:{dport}",
           "--timeout", "2"]

    def write(text):
        t0 = time.time()
        r = tool(["write", str(INSTANCE), f"device,{INSTANCE}", "location", text, "--type",
                  "character-string"] + net)
        return r, time.time() - t0

    # WriteProperty APDU: 4 header + object id 5 + property id 2 + opening 1 + string tag
    # (0x75 0xFE, 2-octet length, charset) + closing 1 = 18 + len(text) for 254..65535
    base = 18
    r, dt = write("x" * (MAX_APDU - base))
    check(r.returncode == 0 and received and received[-1] == MAX_APDU,
          f"a {MAX_APDU}-octet request is sent and acknowledged (exit {r.returncode}, "
          f"received {received}) {r.stderr.strip()}")
    n_before = len(received)
    r, dt = write("x" * (MAX_APDU - base + 1))
    check(r.returncode == 3, f"a {MAX_APDU + 1}-octet request: exit 3 ({r.returncode})")
    lines = r.stderr.strip().splitlines()
    check(len(lines) == 1 and f"{MAX_APDU + 1} octets" in lines[0] and f"{MAX_APDU}" in lines[0].split("octets", 1)[1],
          f"one line naming both sizes: {lines}")
    check(dt < 1.5, f"refused at once ({dt:.2f} s; one APDU timeout is 2 s)")
    time.sleep(0.3)
    check(len(received) == n_before, "nothing reached the device")
    stop.set()
    th.join(2)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
