#!/usr/bin/python3
"""A hostile IPv4 VM for the end-to-end test: what a misbehaving guest may put on an IPv4 access link.

Usage: hostile_vm4.py IFACE OWN_MAC OWN_ADDRESS OTHER_VM_ADDRESS CLIENT ROUTER SUBNET_BROADCAST
Prints one line per kind of frame sent: "<name> <frames> <seconds it took>".
"""
import sys
import time
import logging
logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import ARP, BOOTP, DHCP, Ether, ICMP, IP, UDP, Raw, sendp

iface, mac, own, other, client, router, subnet_broadcast = sys.argv[1:8]
router_mac = "00:00:5e:00:52:13"
broadcast = "ff:ff:ff:ff:ff:ff"

def send(name, frames):
    # The test holds rate-limit counts against how fast the frames really went out, which a busy machine changes.
    start = time.monotonic()
    sendp(frames, iface=iface, verbose=False)
    print(f"{name} {len(frames) if isinstance(frames, list) else 1} {time.monotonic() - start:.3f}", flush=True)

# 1. ARP spoofing: a gratuitous ARP claiming the default router's address, and one claiming the other VM's.
send("arp-claims-router", [Ether(src=mac, dst=broadcast) / ARP(op=2, hwsrc=mac, psrc=router, hwdst=broadcast, pdst=router)] * 5)
send("arp-claims-other-vm", [Ether(src=mac, dst=broadcast) / ARP(op=1, hwsrc=mac, psrc=other, pdst=other)] * 5)
# 2. An ARP reply to the router from the other VM's address, and a request whose sender MAC is not its own.
send("arp-reply-as-other-vm", [Ether(src=mac, dst=router_mac) / ARP(op=2, hwsrc=mac, psrc=other, hwdst=router_mac, pdst=router)] * 5)
send("arp-foreign-hardware", [Ether(src=mac, dst=broadcast) / ARP(op=1, hwsrc="52:54:00:aa:aa:aa", psrc=own, pdst=router)] * 5)
# 3. Spoofed IPv4 sources: an address from nowhere, and the other VM's.
send("spoofed", [Ether(src=mac, dst=router_mac) / IP(src="192.0.2.66", dst=client) / ICMP(id=1, seq=i) for i in range(5)])
send("other-vm-source", [Ether(src=mac, dst=router_mac) / IP(src=other, dst=client) / ICMP(id=2, seq=i) for i in range(5)])
# 4. A rogue DHCP server: an OFFER of the other VM's address to everyone, and a BOOTREPLY sent to the server port.
offer = (Ether(src=mac, dst=broadcast) / IP(src=own, dst="255.255.255.255") / UDP(sport=67, dport=68)
         / BOOTP(op=2, yiaddr=other, siaddr=own, chaddr=bytes.fromhex("525400000002") + bytes(10), xid=0x1234)
         / DHCP(options=[("message-type", "offer"), ("server_id", own), ("router", own), ("subnet_mask", "255.255.255.0"), "end"]))
send("rogue-dhcp-offer", [offer] * 3)
reply = (Ether(src=mac, dst=broadcast) / IP(src="0.0.0.0", dst="255.255.255.255") / UDP(sport=68, dport=67)
         / BOOTP(op=2, yiaddr=own, chaddr=bytes.fromhex(mac.replace(":", "")) + bytes(10), xid=0x4321)
         / DHCP(options=[("message-type", "ack"), ("server_id", own), "end"]))
send("rogue-dhcp-reply", [reply] * 3)
# 5. Broadcasts (limited and the subnet's) and multicast, which no other VM may receive.
send("broadcast", [Ether(src=mac, dst=broadcast) / IP(src=own, dst="255.255.255.255") / UDP(sport=9, dport=9) / Raw(b"x" * 8)] * 5
     + [Ether(src=mac, dst=router_mac) / IP(src=own, dst=subnet_broadcast) / UDP(sport=9, dport=9) / Raw(b"x" * 8)] * 5)
send("multicast", [Ether(src=mac, dst="01:00:5e:00:00:fb") / IP(src=own, dst="224.0.0.251", ttl=1) / UDP(sport=5353, dport=5353) / Raw(b"x" * 8)] * 5)
# 6. A flood of ARP requests for the router.
send("arp-flood", [Ether(src=mac, dst=broadcast) / ARP(op=1, hwsrc=mac, psrc=own, pdst=router)] * 500)
