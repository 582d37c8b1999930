#!/usr/bin/python3
"""A hostile VM for the end-to-end test: everything a misbehaving guest may put on its link.

Usage: hostile_vm.py IFACE OWN_MAC OWN_ADDRESS OTHER_VM_ADDRESS CLIENT
Prints one line per kind of frame sent, with the count and the seconds the sending took.
"""
import sys
import time
import logging
logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import (Ether, IPv6, ICMPv6EchoRequest, ICMPv6ND_RA, ICMPv6NDOptPrefixInfo, ICMPv6ND_RS,
                       ICMPv6NDOptSrcLLAddr, IPv6ExtHdrHopByHop, HBHOptUnknown, UDP, Raw, sendp, ICMPv6ND_Redirect)

iface, mac, own, other, client = sys.argv[1:6]
router_mac = "00:00:5e:00:52:13"
ll = "fe80::5054:ff:fe00:1"

def send(name, frames):
    # Prints "<name> <frames> <seconds it took>": the test holds rate-limit counts against how fast the
    # frames really went out, which a busy machine changes.
    start = time.monotonic()
    sendp(frames, iface=iface, verbose=False)
    print(f"{name} {len(frames) if isinstance(frames, list) else 1} {time.monotonic() - start:.3f}", flush=True)

# 1. Its own router advertisement, for a prefix of its choosing, to all nodes.
send("ra", Ether(src=mac, dst="33:33:00:00:00:01") / IPv6(src=ll, dst="ff02::1", hlim=255)
     / ICMPv6ND_RA() / ICMPv6NDOptSrcLLAddr(lladdr=mac) / ICMPv6NDOptPrefixInfo(prefix="2001:db8:bad::", prefixlen=64))
# 2. A redirect.
send("redirect", Ether(src=mac, dst=router_mac) / IPv6(src=ll, dst="fe80::200:5eff:fe00:5213", hlim=255)
     / ICMPv6ND_Redirect(tgt="fe80::1", dst=client))
# 3. A spoofed source address from nowhere.
send("spoofed", [Ether(src=mac, dst=router_mac) / IPv6(src="2001:db8:dead::1", dst=client) / ICMPv6EchoRequest(id=1, seq=i) for i in range(5)])
# 4. The other VM's address as source.
send("other-vm-source", [Ether(src=mac, dst=router_mac) / IPv6(src=other, dst=client) / ICMPv6EchoRequest(id=2, seq=i) for i in range(5)])
# 5. Frames from a second MAC on the same port.
send("foreign-mac", [Ether(src="52:54:00:aa:aa:aa", dst=router_mac) / IPv6(src=own, dst=client) / ICMPv6EchoRequest(id=3, seq=i) for i in range(5)])
# 6. A malformed extension header chain: a hop-by-hop option running past its header.
bad = Ether(src=mac, dst=router_mac) / IPv6(src=own, dst=client, nh=0) / Raw(bytes([58, 0, 0x3e, 200, 0, 0, 0, 0]))
send("malformed", [bad] * 5)
# 7. A DHCPv6 server's advertise (UDP 547 -> 546) to all nodes.
send("dhcpv6-server", Ether(src=mac, dst="33:33:00:01:00:02") / IPv6(src=ll, dst="ff02::1:2") / UDP(sport=547, dport=546) / Raw(b"\x02\x00\x00\x01"))
# 8. A flood of router solicitations.
rs = Ether(src=mac, dst="33:33:00:00:00:02") / IPv6(src=ll, dst="ff02::2", hlim=255) / ICMPv6ND_RS() / ICMPv6NDOptSrcLLAddr(lladdr=mac)
send("rs-flood", [rs] * 500)
