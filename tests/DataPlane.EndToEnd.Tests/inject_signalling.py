#!/usr/bin/env python3
"""Send hand-made signalling from inside a testbed namespace, as an attacker on an authorised MAG's address would.

  inject_signalling.py raw PROTO DST HEX          send HEX as the payload of an IPv6 packet with next header PROTO
                                                  (135: a Mobility Header in the clear, 50: ESP) to DST
  inject_signalling.py replay PCAP SRC DST        resend, byte for byte, every ESP packet SRC sent to DST in PCAP
Prints how many packets it sent. The kernel builds the IPv6 header (source: the namespace's address towards DST).
"""
import socket
import sys


def send(proto, dst, payload):
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, proto)
    if proto == 135:
        # Let the kernel fill the MH checksum (IPV6_CHECKSUM at offset 4), as our daemons' MH socket does.
        s.setsockopt(socket.IPPROTO_IPV6, 7, 4)
    s.sendto(payload, (dst, 0))
    s.close()


def main():
    if sys.argv[1] == "raw":
        send(int(sys.argv[2]), sys.argv[3], bytes.fromhex(sys.argv[4]))
        print(1)
    elif sys.argv[1] == "replay":
        from scapy.all import IPv6, rdpcap  # python3-scapy, installed by scripts/install-deps
        sent = 0
        for p in rdpcap(sys.argv[2]):
            if IPv6 in p and p[IPv6].nh == 50 and p[IPv6].src == sys.argv[3] and p[IPv6].dst == sys.argv[4]:
                send(50, sys.argv[4], bytes(p[IPv6].payload))
                sent += 1
        print(sent)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
