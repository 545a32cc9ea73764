#!/usr/bin/env python3
"""Writes the seed corpora in fuzz/corpus/<target>/.

Queries are laid out byte for byte as dig sends them (RD, EDNS 1232 with a cookie-free OPT);
replies as a resolver answers, names compressed the way BIND and CoreDNS compress them, plus a
few hostile shapes (pointer loops, forward pointers, truncated records). The text seeds are the
repository's own examples (conf/, docker/) and short cases in the shapes the unit tests use;
targets that read a first option byte (hosts, k8s_objects, log_format) get it prepended;
configmap seeds are ConfigMaps as kubectl prints them.
Run from anywhere: python3 fuzz/make_seeds.py
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "corpus")
REPO = os.path.dirname(HERE)

A, NS, CNAME, SOA, PTR, MX, TXT, AAAA, SRV, OPT, RRSIG = 1, 2, 5, 6, 12, 15, 16, 28, 33, 41, 46


class Writer:
    """A DNS message writer that compresses names as most servers do (suffix table)."""

    def __init__(self, ident, flags, compress=True):
        self.buf = bytearray(12)
        self.ident, self.flags = ident, flags
        self.counts = [0, 0, 0, 0]
        self.table = {}
        self.compress = compress

    def name(self, text):
        labels = [l for l in text.rstrip(".").split(".") if l] if text != "." else []
        for i in range(len(labels)):
            suffix = ".".join(labels[i:]).lower()
            if self.compress and suffix in self.table:
                self.buf += struct.pack("!H", 0xC000 | self.table[suffix])
                return
            if len(self.buf) < 0x3FFF:
                self.table[suffix] = len(self.buf)
            label = labels[i].encode()
            self.buf += bytes([len(label)]) + label
        self.buf.append(0)

    def question(self, name, qtype, qclass=1):
        self.name(name)
        self.buf += struct.pack("!HH", qtype, qclass)
        self.counts[0] += 1

    def rr(self, section, name, rtype, ttl, rdata_fn, rclass=1):
        self.name(name)
        self.buf += struct.pack("!HHI", rtype, rclass, ttl)
        at = len(self.buf)
        self.buf += b"\0\0"
        rdata_fn(self)
        struct.pack_into("!H", self.buf, at, len(self.buf) - at - 2)
        self.counts[section] += 1

    def opt(self, size=1232, do=False, ext=0, version=0):
        self.buf += b"\0" + struct.pack("!HHBBHH", OPT, size, ext, version, 0x8000 if do else 0, 0)
        self.counts[3] += 1

    def bytes(self):
        struct.pack_into("!HHHHHH", self.buf, 0, self.ident, self.flags, *self.counts)
        return bytes(self.buf)


def raw(data):
    return lambda w: w.buf.extend(data)


def name_rdata(text, prefix=b""):
    def fn(w):
        w.buf.extend(prefix)
        w.name(text)
    return fn


def soa(mname, rname, serial=2024010101, refresh=7200, retry=3600, expire=1209600, minimum=300):
    def fn(w):
        w.name(mname)
        w.name(rname)
        w.buf.extend(struct.pack("!IIIII", serial, refresh, retry, expire, minimum))
    return fn


def query(name, qtype, ident=0x1234, flags=0x0100, edns=1232, do=False, qclass=1):
    w = Writer(ident, flags, compress=False)
    w.question(name, qtype, qclass)
    if edns is not None:
        w.opt(edns, do)
    return w.bytes()


def reply(name, qtype, rcode=0, ident=0x1234, flags=0x8180, edns=1232):
    w = Writer(ident, flags | rcode)
    w.question(name, qtype)
    return w, edns


# rewrite rules as CoreDNS's README writes them (the body of a `.` block).
REWRITE_RULES = [
    b"rewrite name substring service.us-west-1.example.org service.us-west-1.consul\n",
    b"rewrite name regex (.*)-(us-west-1)\\.coredns\\.rocks {1}.service.{2}.consul answer auto\n",
    b"rewrite stop {\n  name regex (.*)-(us-west-1)\\.coredns\\.rocks {1}.service.{2}.consul\n"
    b"  answer name (.*)\\.service\\.(us-west-1)\\.consul {1}-{2}.coredns.rocks\n}\n",
    b"rewrite continue name suffix .example.org. .example.net. answer auto\nrewrite name prefix www. web.\n",
    b"rewrite continue {\n  ttl regex (.*)\\.coredns\\.rocks 30-300\n}\nrewrite rcode suffix .org SERVFAIL 0\n",
    b"rewrite type ANY HINFO\nrewrite class CH IN\nrewrite name exact www.example.org. target.example.\n",
    b"rewrite continue edns0 local set 0xffee 0x61626364 revert\nrewrite continue edns0 nsid append\n"
    b"rewrite continue edns0 subnet set 24 56\nrewrite edns0 local replace 65001 {qname}\n",
    b"rewrite continue edns0 subnet unset\nrewrite continue edns0 local set 1 {client_ip}\n"
    b"rewrite continue cname regex (.*)\\.example\\. {1}.other.\nrewrite name suffix .org. .net. answer auto\n",
]


def write(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def queries():
    q = {
        "a_dig": query("example.org.", A),
        "aaaa_upper": query("WWW.Example.ORG.", AAAA),
        "mx_noedns": query("example.org.", MX, edns=None),
        "ptr_v4": query("1.0.0.10.in-addr.arpa.", PTR),
        "srv_k8s": query("_http._tcp.web.default.svc.cluster.local.", SRV, do=True),
        "any_root": query(".", 255, edns=4096),
        "chaos_txt": query("version.bind.", TXT, qclass=3, edns=None),
        "notify": query("example.org.", SOA, flags=0x2000),
        "edns_v1": query("example.org.", A)[:-6] + bytes([0, 1, 0, 0, 0, 0]),
        "axfr_tcp": query("example.org.", 252, edns=None),
        "qdcount0": struct.pack("!HHHHHH", 7, 0x0100, 0, 0, 0, 0),
        "qdcount2": query("a.example.", A, edns=None)[:4] + b"\0\2" + query("a.example.", A, edns=None)[6:]
        + query("b.example.", A, edns=None)[12:],
        "response": query("example.org.", A, flags=0x8180),
        "short_header": b"\x12\x34\x01\x00\x00\x01",
        "label64": struct.pack("!HHHHHH", 1, 0x0100, 1, 0, 0, 0) + b"\x40" + b"a" * 64 + b"\0\0\1\0\1",
        "pointer_in_question": struct.pack("!HHHHHH", 1, 0x0100, 1, 0, 0, 0) + b"\xc0\x0c\0\1\0\1",
        "two_opts": query("example.org.", A)[:10] + b"\0\2" + query("example.org.", A)[12:]
        + b"\0\0\x29\x04\xd0\0\0\0\0\0\0",
        "long_name": query(".".join(["abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxy"] * 4) + ".", A),
        "opt_not_root": query("example.org.", A)[:-11] + b"\x01x\0\0\x29\x04\xd0\0\0\0\0\0\0",
    }
    for name, data in q.items():
        write("wire_query", name, data)
        write("record_walker", "query_" + name, data)


def replies():
    out = {}
    w, _ = reply("example.org.", A)
    w.rr(1, "example.org.", A, 300, raw(bytes([93, 184, 216, 34])))
    w.opt()
    out["a_one"] = w.bytes()

    w, _ = reply("www.example.org.", A)
    w.rr(1, "www.example.org.", CNAME, 60, name_rdata("web.example.org."))
    for i in range(4):
        w.rr(1, "web.example.org.", A, 60, raw(bytes([10, 0, 0, i + 1])))
    w.rr(2, "example.org.", NS, 3600, name_rdata("ns1.example.org."))
    w.rr(3, "ns1.example.org.", A, 3600, raw(bytes([192, 0, 2, 53])))
    w.opt(do=True)
    out["cname_a4_glue"] = w.bytes()

    w, _ = reply("example.org.", MX)
    w.rr(1, "example.org.", MX, 300, name_rdata("mail.example.org.", struct.pack("!H", 10)))
    w.rr(1, "example.org.", MX, 300, name_rdata("mx2.mail.example.org.", struct.pack("!H", 20)))
    w.rr(3, "mail.example.org.", A, 300, raw(bytes([192, 0, 2, 25])))
    w.rr(3, "mx2.mail.example.org.", A, 300, raw(bytes([192, 0, 2, 26])))
    w.rr(3, "mx2.mail.example.org.", AAAA, 300, raw(bytes.fromhex("20010db8000000000000000000000026")))
    out["mx_glue"] = w.bytes()

    w, _ = reply("nope.example.org.", A, rcode=3, flags=0x8580)
    w.rr(2, "example.org.", SOA, 300, soa("ns1.example.org.", "hostmaster.example.org."))
    w.opt()
    out["nxdomain_soa"] = w.bytes()

    w, _ = reply("example.org.", AAAA)
    w.rr(2, "example.org.", SOA, 300, soa("ns1.example.org.", "hostmaster.example.org."))
    out["nodata"] = w.bytes()

    w, _ = reply("example.org.", A, rcode=2)
    out["servfail"] = w.bytes()

    w, _ = reply("example.org.", A)
    w.rr(2, "org.", NS, 172800, name_rdata("a0.org.afilias-nst.info."))
    w.rr(2, "org.", NS, 172800, name_rdata("b0.org.afilias-nst.org."))
    w.rr(3, "b0.org.afilias-nst.org.", A, 172800, raw(bytes([199, 19, 54, 1])))
    out["delegation"] = w.bytes()

    w, _ = reply("1.0.0.10.in-addr.arpa.", PTR)
    w.rr(1, "1.0.0.10.in-addr.arpa.", PTR, 5, name_rdata("web-0.web.default.svc.cluster.local."))
    out["ptr"] = w.bytes()

    w, _ = reply("_http._tcp.web.default.svc.cluster.local.", SRV)
    for i in range(3):
        w.rr(1, "_http._tcp.web.default.svc.cluster.local.", SRV, 5,
             name_rdata("web-%d.web.default.svc.cluster.local." % i, struct.pack("!HHH", 0, 33, 80)))
    for i in range(3):
        w.rr(3, "web-%d.web.default.svc.cluster.local." % i, A, 5, raw(bytes([10, 1, 0, i])))
    out["srv_additional"] = w.bytes()

    w, _ = reply("example.org.", TXT)
    w.rr(1, "example.org.", TXT, 300, raw(b"\x0bv=spf1 -all\x05hello"))
    w.rr(1, "example.org.", RRSIG, 300, name_rdata("example.org.", bytes(18)))
    out["txt_rrsig"] = w.bytes()

    w, _ = reply("big.example.org.", A)
    for i in range(40):
        w.rr(1, "big.example.org.", A, 60 + i, raw(bytes([10, 2, i // 256, i % 256])))
    w.opt(4096)
    out["a40_large"] = w.bytes()

    w, _ = reply("example.org.", A)
    w.opt(ext=1)  # BADVERS
    out["badvers"] = w.bytes()

    # Hostile shapes.
    base = bytearray(out["a_one"])
    loop = bytearray(struct.pack("!HHHHHH", 0x1234, 0x8180, 1, 1, 0, 0)) + b"\x07example\x03org\0\0\1\0\1"
    loop += b"\xc0\x1d" + struct.pack("!HHIH", A, 1, 60, 4) + bytes([1, 2, 3, 4])  # points at itself
    out["pointer_loop"] = bytes(loop)
    fwd = bytearray(struct.pack("!HHHHHH", 0x1234, 0x8180, 1, 2, 0, 0)) + b"\x07example\x03org\0\0\1\0\1"
    fwd += b"\xc0\x2d" + struct.pack("!HHIH", A, 1, 60, 4) + bytes([1, 2, 3, 4])
    fwd += b"\x03www\xc0\x0c" + struct.pack("!HHIH", A, 1, 60, 4) + bytes([5, 6, 7, 8])
    out["forward_pointer"] = bytes(fwd)
    out["truncated_rdata"] = bytes(base[:-5])
    trunc = bytearray(out["a40_large"])
    trunc[2] |= 0x02
    out["tc_set"] = bytes(trunc[:300])
    counts = bytearray(out["cname_a4_glue"])
    struct.pack_into("!H", counts, 6, 0xFFFF)
    out["ancount_huge"] = bytes(counts)

    for name, data in out.items():
        write("wire_reply", name, data)
        write("record_walker", name, data)


def walker_shapes():
    """Where the record walker and ldns read differently, one seed each (record_walker_fuzz.cpp)."""
    def head(qd, an, ns, ar):
        return struct.pack("!HHHHHH", 0x1234, 0x8180, qd, an, ns, ar)
    question = b"\x07example\x03org\0\0\1\0\1"       # at offset 12, 17 bytes
    a_rr = struct.pack("!HHIH", A, 1, 60, 4) + bytes([192, 0, 2, 1])
    out = {}
    # An A of 8 bytes: ldns reads 4 and takes the other 4 for the next record.
    out["a_rdata_long"] = head(1, 2, 0, 0) + question + b"\xc0\x0c" + struct.pack("!HHIH", A, 1, 60, 8) \
        + bytes(8) + b"\xc0\x0c" + a_rr
    # An A of 2 bytes: ldns rejects it, the walker hands it out.
    out["a_rdata_short"] = head(1, 1, 0, 0) + question + b"\xc0\x0c" + struct.pack("!HHIH", A, 1, 60, 2) + bytes(2)
    # A pointer to offset 0: ldns's "no pointer".
    out["pointer_to_zero"] = head(1, 1, 0, 0) + question + b"\xc0\x00" + a_rr
    # A chain of 126 pointers after the record (the walker's limit), and one of 127.
    for n in (126, 127):
        body = head(1, 1, 0, 0) + question
        chain = len(body) + 2 + len(a_rr)
        body += struct.pack("!H", 0xC000 | chain) + a_rr
        for i in range(n - 2):
            body += struct.pack("!H", 0xC000 | (len(body) + 2))
        body += b"\xc0\x0c"
        out["pointer_chain_%d" % n] = body
    # Two TSIGs (RDLENGTH 0) then a broken record: ldns stops two records early.
    tsig = b"\0" + struct.pack("!HHIH", 250, 255, 0, 0)
    out["two_tsigs"] = head(1, 0, 0, 4) + question + tsig + tsig + b"\0" + struct.pack("!HHIH", A, 1, 0, 4)
    # A name in RDATA running past RDLENGTH, then a record.
    out["cname_past_rdlength"] = head(1, 2, 0, 0) + question + b"\xc0\x0c" + struct.pack("!HHIH", CNAME, 1, 60, 2) \
        + b"\x03www\xc0\x0c" + b"\xc0\x0c" + a_rr
    # Every section, an OPT in the middle of the additional section.
    out["opt_middle"] = head(1, 1, 1, 3) + question + b"\xc0\x0c" + a_rr + b"\xc0\x0c" \
        + struct.pack("!HHIH", NS, 1, 60, 2) + b"\xc0\x0c" + b"\xc0\x0c" + a_rr \
        + b"\0" + struct.pack("!HHIH", OPT, 1232, 0x8000, 0) + b"\xc0\x0c" + a_rr
    out["header_only"] = head(0, 0, 0, 0)
    for name, data in out.items():
        write("record_walker", name, data)


def repo_file(path):
    with open(os.path.join(REPO, path), "rb") as f:
        return f.read()


COREFILES = {
    "tls": b"""tls://.:853 example.org {
    tls cert.pem key.pem ca.pem {
        client_auth require_and_verify
        keylog keys.log
    }
    timeouts {
        read 2s
    }
    whoami
}
tls://. {
    tls {
        acme dns.example.org
        email hostmaster@example.org
    }
}
""",
    "k8s_external": b""". {
    transfer example.org {
        to *
    }
    k8s_external example.org 10.0.0.0/8 {
        apex ext
        ttl 60
        headless
        fallthrough 10.in-addr.arpa
    }
    kubernetes cluster.local {
        objects cluster.objects.yaml
    }
}
""",
    "split_horizon": b"""(common) {
    errors
    log . "{remote}:{port} {type} {name} {rcode}" {
        class denial error
    }
}
corp.example:1053 10.0.0.0/8 {
    import common
    hosts {
        10.0.0.1 db.corp.example
        fallthrough
    }
    private corp.example
}
.:1053 {
    import common
    forward . 10.0.0.1 [2001:db8::1]:5353 dns://192.0.2.1 {
        except corp.example
        policy sequential
        health_check 5s
        max_fails 3
        expire 10s
    }
    cache 300 {
        success 5000 3600 30
        denial 2000
        prefetch 10
        serve_stale
    }
    loadbalance round_robin {
        prefer 10.0.0.0/8 2001:db8::/32
    }
    reload 10s 2s
}
""",
    "acl_bind": b""". {
    bind lo 192.0.2.2 {
        except ::1
    }
    bind eth0 {
        except fe80::1%eth0 192.0.2.2
    }
    acl {
        allow net 192.168.1.0/24 2001:db8::/32
        BLOCK type A AAAA net 192.168.0.0/16 10.0.0.1
        filter type * net ::1
        drop TYPE None CAA Net *
    }
    acl example.org 10.0.0.0/8 {
        block type TXT
    }
    whoami
}
""",
    "imports_env": b"""import /fuzz/snippets.conf
{$ZONE}:{%PORT%} {
    import common
    import conf.d/*.conf
    forward . {$UPSTREAM}
}
""",
    "errors_consolidate": b""". {
    errors {
        consolidate 5m ".* i/o timeout$" warning
        consolidate 30s "^Failed to .+" error
        stacktrace
    }
    whoami
}
""",
    "kubernetes_options": b"""cluster.local:53 in-addr.arpa ip6.arpa {
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        objects objects.yaml /etc/moat/extra
        namespaces default shop
        pods verified
        endpoint_pod_names
        ttl 0
        fallthrough in-addr.arpa ip6.arpa
        ignore empty_service
        noendpoints
        labels environment in (production, qa), tier!=frontend
    }
    health localhost:8080 {
        lameduck 5s
    }
    ready :8181
    prometheus :9153
    loop
}
""",
    "quotes_comments": b"""# comment
"example.org" dns://example.net:1053 { # trailing
    log "example.org" "{>id} \"quoted\" {combined}"
    whoami
}
""",
    "no_braces": b"""example.org
whoami
log
""",
}

HOSTS = {
    "etc_hosts": b"""127.0.0.1	localhost
::1	localhost ip6-localhost ip6-loopback
fe00::0 ip6-localnet
ff02::1 ip6-allnodes
# comment line
10.0.0.1 db.example.org db   # alias without dot
10.0.0.2 *.apps.example.org
::ffff:10.0.0.3 mapped.example.org
fe80::1%eth0 linklocal.example.org
2001:db8::1 v6.example.org V6-Alias.EXAMPLE.org.
192.0.2.1 a\.b.example.org \065bc.example.org
300.1.1.1 bad.example.org
10.1.2.3
""",
}

OBJECTS_JSON = b"""{
    "apiVersion": "v1",
    "items": [
        {"apiVersion": "v1", "kind": "Service",
         "metadata": {"name": "web", "namespace": "default"},
         "spec": {"clusterIP": "10.96.0.20", "clusterIPs": ["10.96.0.20", "fd00::20"],
                  "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}},
        {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
         "metadata": {"name": "web-abcde", "namespace": "default",
                      "labels": {"kubernetes.io/service-name": "web"}},
         "addressType": "IPv4",
         "endpoints": [{"addresses": ["10.1.0.5"], "conditions": {"ready": true},
                        "hostname": "web-0", "targetRef": {"kind": "Pod", "name": "web-0"}}],
         "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]},
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-0", "namespace": "default"},
         "status": {"podIP": "10.1.0.5", "podIPs": [{"ip": "10.1.0.5"}]}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "ext", "namespace": "default"},
         "spec": {"type": "ExternalName", "externalName": "example.org"}},
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-system"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}, "data": {"a": "b"}}
    ],
    "kind": "List",
    "metadata": {"resourceVersion": ""}
}
"""

# Services with what k8s_external answers: external IPs, load balancer IPs and hostnames.
OBJECTS_EXTERNAL_YAML = b"""kind: Service
metadata: {name: web, namespace: shop}
spec:
  clusterIP: 10.96.0.20
  externalIPs: [192.0.2.10, "2001:db8::10"]
  ports: [{name: http, port: 80}]
status:
  loadBalancer:
    ingress: [{ip: 198.51.100.7}, {hostname: lb.example.net}]
---
kind: Service
metadata: {name: db, namespace: shop}
spec: {clusterIP: None, externalIPs: [192.0.2.10]}
"""

OBJECTS_YAML = b"""---
kind: Service
apiVersion: v1
metadata: &meta {name: db, namespace: shop}
spec:
  clusterIP: None
  ports: [{name: pg, port: 5432, protocol: TCP}]
---
kind: Endpoints
apiVersion: v1
metadata: {name: db, namespace: shop}
subsets:
- addresses:
  - {ip: 10.1.1.1, hostname: db-0}
  - {ip: "fd00::1:1"}
  notReadyAddresses:
  - {ip: 10.1.1.2}
  ports: [{name: pg, port: 5432}]
---
kind: Pod
apiVersion: v1
metadata: {name: "db-0", namespace: shop}
status: {podIP: 10.1.1.1}
"""

LOG_FORMATS = [
    b"{common}",
    b"{combined}",
    b"{remote}:{port} - {>id} \"{type} {class} {name} {proto} {size} {>do} {>bufsize}\" "
    b"{rcode} {>rflags} {rsize} {duration}",
    b"{local} {>opcode} {/meta/label} { {type} } }{ {{name}}",
    b"plain text without placeholders }",
    b"{common} {common} {combined}{",
]


# ConfigMaps as kubectl prints them: YAML with the Corefile a literal block (plus an import of
# another key), JSON with escapes, a List of two, and a folded scalar that maps only coarsely.
CONFIGMAPS = {
    "json": b'{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "coredns"},\n'
            b' "data": {"Corefile": ".:53 {\\n    errors\\n    forward . \\u002fetc/resolv.conf\\n}\\n",\n'
            b'          "extra.server": "example.org {\\n  whoami\\n}\\n"}}\n',
    "list_imports": b"apiVersion: v1\nkind: List\nitems:\n- kind: ConfigMap\n  metadata: {name: a}\n"
                    b"  data:\n    Corefile: |-\n      import *.server\n      .:53 {\n          whoami\n      }\n"
                    b"    b.server: |2\n        example.org {\n        hosts {\n          fallthrough\n        }\n      }\n"
                    b"- kind: ConfigMap\n  data:\n    Corefile: >\n      . { whoami }\n",
    "anchors": b"kind: ConfigMap\ndata:\n  Corefile: &c |\n    . {\n      whoami\n    }\n  copy: *c\n",
}


def texts():
    write("configmap", "docker", repo_file("docker/kubernetes/configmap.yaml"))
    for name, data in CONFIGMAPS.items():
        write("configmap", name, data)
    write("corefile", "default", repo_file("conf/Corefile"))
    write("corefile", "cluster", repo_file("conf/examples/cluster.Corefile"))
    write("corefile", "docker", repo_file("docker/Corefile"))
    for name, data in COREFILES.items():
        write("corefile", name, data)
    write("hosts", "example", b"\0" + repo_file("conf/example.hosts"))
    write("hosts", "etc_hosts_zones", b"\1" + HOSTS["etc_hosts"])
    write("hosts", "etc_hosts_noreverse", b"\x82" + HOSTS["etc_hosts"])
    write("k8s_objects", "cluster_yaml", b"\0" + repo_file("conf/examples/cluster.objects.yaml"))
    write("k8s_objects", "list_json", b"\2" + OBJECTS_JSON)
    write("k8s_objects", "list_json_chunked", b"\x35" + OBJECTS_JSON)
    write("k8s_objects", "documents_yaml", b"\6" + OBJECTS_YAML)
    write("k8s_objects", "external_yaml", b"\0" + OBJECTS_EXTERNAL_YAML)
    for i, rules in enumerate(REWRITE_RULES):
        write("rewrite", "rules%d" % i, rules)
    for i, fmt in enumerate(LOG_FORMATS):
        write("log_format", "format%d" % i, bytes([i * 0x11]) + fmt)


if __name__ == "__main__":
    queries()
    replies()
    walker_shapes()
    texts()
