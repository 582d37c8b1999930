#!/usr/bin/env python3
"""vnet_capture.py IFACE SECONDS: what arrives on IFACE as the kernel hands it to an AF_PACKET socket with
PACKET_VNET_HDR, until SIGTERM (SECONDS is only a backstop). Prints one JSON line: how many IPv6-in-IPv6 frames came in, how many of them as
GSO TCPv6 super-frames (longer than one 1514-byte frame), and the largest one with its gso_size; the same for
IPv4-in-IPv6 (outer next header 4, GSO TCPv4) with a "4" suffix. An independent
look at "the super-frame crossed the uplink whole": Python's socket module, not the daemon's code."""
import json
import signal
import socket
import struct
import sys
import time

ETH_P_ALL, SOL_PACKET, PACKET_VNET_HDR, PACKET_OUTGOING = 3, 263, 15, 4
VIRTIO_NET_HDR_GSO_TCPV4, VIRTIO_NET_HDR_GSO_TCPV6 = 1, 4

iface, seconds = sys.argv[1], float(sys.argv[2])
stopped = False


def stop(_signum, _frame):
    global stopped
    stopped = True


signal.signal(signal.SIGTERM, stop)
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
s.setsockopt(SOL_PACKET, PACKET_VNET_HDR, 1)
s.bind((iface, 0))
s.settimeout(0.2)
print("capturing", file=sys.stderr, flush=True)
end = time.time() + seconds
tunnelled = superframes = largest = largest_gso = 0
tunnelled4 = superframes4 = largest4 = largest_gso4 = 0
while time.time() < end and not stopped:
    try:
        data, addr = s.recvfrom(70000)
    except socket.timeout:
        continue
    if addr[2] == PACKET_OUTGOING:
        continue
    _flags, gso_type, _hdr_len, gso_size, _start, _offset = struct.unpack("<BBHHHH", data[:10])
    frame = data[10:]
    if len(frame) < 54 or frame[12:14] != b"\x86\xdd" or frame[20] not in (41, 4):
        continue
    if frame[20] == 4:
        tunnelled4 += 1
        if gso_type & 0x7F == VIRTIO_NET_HDR_GSO_TCPV4 and len(frame) > 1514:
            superframes4 += 1
            if len(frame) > largest4:
                largest4, largest_gso4 = len(frame), gso_size
        continue
    tunnelled += 1
    if gso_type & 0x7F == VIRTIO_NET_HDR_GSO_TCPV6 and len(frame) > 1514:
        superframes += 1
        if len(frame) > largest:
            largest, largest_gso = len(frame), gso_size
print(json.dumps({"tunnelled": tunnelled, "superframes": superframes, "largest": largest, "gso_size": largest_gso,
                  "tunnelled4": tunnelled4, "superframes4": superframes4, "largest4": largest4, "gso_size4": largest_gso4}))
