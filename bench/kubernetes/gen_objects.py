#!/usr/bin/env python3
"""Writes a synthetic cluster dump shaped like `kubectl get services,endpointslices,namespaces
-A -o json|yaml`: N Services with M ready endpoints each (one EndpointSlice per Service), spread
over namespaces, with the metadata noise real dumps carry. Deterministic: same arguments, same
bytes. Python 3 standard library only.

  gen_objects.py --services 10000 --endpoints 5 --format json -o /tmp/k8s-10k.json
"""
import argparse
import json
import re
import sys

TIMESTAMP = "2024-05-01T12:00:00Z"


def uid(kind, n):
    return "%08x-0000-4000-8000-%012x" % (kind, n)


def namespace(i):
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "creationTimestamp": TIMESTAMP,
            "labels": {"kubernetes.io/metadata.name": "ns-%d" % i},
            "name": "ns-%d" % i,
            "resourceVersion": str(100 + i),
            "uid": uid(1, i),
        },
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    }


def service(i, ns, headless):
    name = "svc-%d" % i
    ip = "10.%d.%d.%d" % (96 + (i >> 16) % 32, (i >> 8) & 255, i & 255)
    spec = {
        "clusterIP": "None" if headless else ip,
        "clusterIPs": ["None" if headless else ip],
        "internalTrafficPolicy": "Cluster",
        "ipFamilies": ["IPv4"],
        "ipFamilyPolicy": "SingleStack",
        "ports": [
            {"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080},
            {"name": "metrics", "port": 9090, "protocol": "TCP", "targetPort": 9090},
        ],
        "selector": {"app": name},
        "sessionAffinity": "None",
        "type": "ClusterIP",
    }
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "annotations": {"example.com/owner": "team-%d" % (i % 50)},
            "creationTimestamp": TIMESTAMP,
            "labels": {"app": name, "tier": "backend"},
            "name": name,
            "namespace": ns,
            "resourceVersion": str(1000 + i),
            "uid": uid(2, i),
        },
        "spec": spec,
        "status": {"loadBalancer": {}},
    }


def slice_(i, ns, m, headless):
    name = "svc-%d" % i
    endpoints = []
    for j in range(m):
        n = i * m + j
        endpoints.append({
            "addresses": ["10.%d.%d.%d" % (128 + (n >> 16) % 64, (n >> 8) & 255, n & 255)],
            "conditions": {"ready": True, "serving": True, "terminating": False},
            **({"hostname": "%s-%d" % (name, j)} if headless else {}),
            "nodeName": "node-%d" % (n % 200),
            "targetRef": {"kind": "Pod", "name": "%s-%x" % (name, 0x5f00 + j),
                          "namespace": ns, "uid": uid(3, n)},
            "zone": "zone-%d" % (n % 3),
        })
    return {
        "addressType": "IPv4",
        "apiVersion": "discovery.k8s.io/v1",
        "endpoints": endpoints,
        "kind": "EndpointSlice",
        "metadata": {
            "annotations": {"endpoints.kubernetes.io/last-change-trigger-time": TIMESTAMP},
            "creationTimestamp": TIMESTAMP,
            "generateName": name + "-",
            "generation": 1,
            "labels": {"endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
                       "kubernetes.io/service-name": name},
            "name": "%s-%05x" % (name, i & 0xFFFFF),
            "namespace": ns,
            "ownerReferences": [{"apiVersion": "v1", "blockOwnerDeletion": True,
                                 "controller": True, "kind": "Service", "name": name,
                                 "uid": uid(2, i)}],
            "resourceVersion": str(500000 + i),
            "uid": uid(4, i),
        },
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"},
                  {"name": "metrics", "port": 9090, "protocol": "TCP"}],
    }


def objects(args):
    spaces = max(1, args.namespaces)
    for k in range(spaces):
        yield namespace(k)
    for i in range(args.services):
        yield service(i, "ns-%d" % (i % spaces), args.headless_every and i % args.headless_every == 0)
    for i in range(args.services):
        headless = args.headless_every and i % args.headless_every == 0
        yield slice_(i, "ns-%d" % (i % spaces), args.endpoints, headless)


PLAIN = re.compile(r"^[A-Za-z_/][A-Za-z0-9_./-]*$|^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$")
RESERVED = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"}


def scalar(v):
    if v is True:
        return "true"
    if v is False:
        return "false"
    if v is None:
        return "null"
    if isinstance(v, int):
        return str(v)
    if PLAIN.match(v) and v.lower() not in RESERVED:
        return v
    return json.dumps(v)  # a double-quoted YAML scalar


def yaml_lines(v, indent, out):
    """kubectl's (go-yaml) block style: list items start at the parent key's column."""
    pad = " " * indent
    if isinstance(v, dict):
        for k, x in v.items():
            if isinstance(x, dict) and x:
                out.append("%s%s:" % (pad, k))
                yaml_lines(x, indent + 2, out)
            elif isinstance(x, list) and x:
                out.append("%s%s:" % (pad, k))
                yaml_lines(x, indent, out)
            else:
                out.append("%s%s: %s" % (pad, k, "{}" if x == {} else "[]" if x == [] else scalar(x)))
    else:
        for x in v:
            if isinstance(x, (dict, list)) and x:
                sub = []
                yaml_lines(x, indent + 2, sub)
                sub[0] = pad + "- " + sub[0][indent + 2:]
                out.extend(sub)
            else:
                out.append("%s- %s" % (pad, scalar(x)))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--services", type=int, default=10000)
    p.add_argument("--endpoints", type=int, default=5, help="ready endpoints per service")
    p.add_argument("--namespaces", type=int, default=100)
    p.add_argument("--headless-every", type=int, default=10, help="every Nth service is headless (0: none)")
    p.add_argument("--format", choices=["json", "yaml"], default="json")
    p.add_argument("-o", "--output", default="-")
    args = p.parse_args()
    out = sys.stdout if args.output == "-" else open(args.output, "w")
    if args.format == "json":
        # kubectl -o json: 4-space indent; written item by item to keep memory flat.
        out.write('{\n    "apiVersion": "v1",\n    "items": [')
        for n, obj in enumerate(objects(args)):
            text = json.dumps(obj, indent=4)
            out.write(("," if n else "") + "\n        " + text.replace("\n", "\n        "))
        out.write('\n    ],\n    "kind": "List",\n    "metadata": {\n        "resourceVersion": ""\n    }\n}\n')
    else:
        out.write("apiVersion: v1\nitems:\n")
        for obj in objects(args):
            lines = []
            yaml_lines([obj], 0, lines)
            out.write("\n".join(lines) + "\n")
        out.write('kind: List\nmetadata:\n  resourceVersion: ""\n')
    if out is not sys.stdout:
        out.close()


if __name__ == "__main__":
    main()
