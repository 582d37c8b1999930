#!/usr/bin/env python3
"""Send hand-made signalling from inside a testbed namespace, as an attacker on an authorised MAG's address would.

  inject_signalling.py raw PROTO DST HEX          send HEX as the payload of an IPv6 packet with next header PROTO
                                                  (135: a Mobility Header in the clear, 50: ESP) to DST
  inject_signalling.py replay PCAP SRC DST        resend, byte for byte, every ESP packet SRC sent to DST in PCAP
                                                  (a classic pcap of Ethernet frames: tshark -F pcap)
Prints how many packets it sent. The kernel builds the IPv6 header (source: the namespace's address towards DST).
"""
import ipaddress
import socket
import struct
import sys


def send(proto, dst, payload):
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, proto)
    if proto == 135:
        # Let the kernel fill the MH checksum (IPV6_CHECKSUM at offset 4), as our daemons' MH socket does.
        s.setsockopt(socket.IPPROTO_IPV6, 7, 4)
    s.sendto(payload, (dst, 0))
    s.close()


def ethernet_frames(path):
    """The frames of a classic little-endian pcap with link type Ethernet (what tshark -F pcap writes here)."""
    with open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack("<I", data[:4])
    if magic not in (0xA1B2C3D4, 0xA1B23C4D) or struct.unpack("<I", data[20:24])[0] != 1:
        sys.exit(f"{path}: not a little-endian Ethernet pcap")
    at = 24
    while at + 16 <= len(data):
        caplen, = struct.unpack("<I", data[at + 8:at + 12])
        yield data[at + 16:at + 16 + caplen]
        at += 16 + caplen


def main():
    if sys.argv[1] == "raw":
        send(int(sys.argv[2]), sys.argv[3], bytes.fromhex(sys.argv[4]))
        print(1)
    elif sys.argv[1] == "replay":
        src, dst = ipaddress.IPv6Address(sys.argv[3]).packed, ipaddress.IPv6Address(sys.argv[4]).packed
        sent = 0
        for frame in ethernet_frames(sys.argv[2]):
            ip = frame[14:]
            if frame[12:14] == b"\x86\xdd" and len(ip) >= 40 and ip[6] == 50 and ip[8:24] == src and ip[24:40] == dst:
                send(50, sys.argv[4], ip[40:40 + struct.unpack("!H", ip[4:6])[0]])
                sent += 1
        print(sent)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
