#!/usr/bin/env python3
"""Checks deploy/ (CI runs it; needs the PyPI package kubernetes-validate, which brings PyYAML).

1. Every manifest validates strictly against the Kubernetes schemas (unknown fields and wrong
   types fail), and the kustomization lists every manifest but the `*.example.yaml` ones, which
   it must not list (an example Secret applied by `kubectl apply -k` would overwrite the real
   one).
2. Every setting the ConfigMap, the Secret and the compose file give the gateway is one the
   gateway knows (the VARIABLES list in src/config/mod.rs), so a typo cannot pass unnoticed.
"""

import pathlib
import re
import subprocess
import sys

import yaml

DEPLOY = pathlib.Path(__file__).resolve().parent
ROOT = DEPLOY.parent
KUBERNETES = DEPLOY / "kubernetes"
# The optional Redis, applied on its own (`kubectl apply -k deploy/kubernetes/redis`).
REDIS = KUBERNETES / "redis"


def known_settings():
    source = (ROOT / "src" / "config" / "mod.rs").read_text()
    block = source.split("pub const VARIABLES: &[&str] = &[", 1)[1].split("];", 1)[0]
    return set(re.findall(r'"(GATEWAY_[A-Z_]+)"', block))


def main():
    failures = []
    kustomization = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text())
    listed = sorted(kustomization["resources"])
    manifests = sorted(p.name for p in KUBERNETES.glob("*.yaml") if p.name != "kustomization.yaml")
    present = [name for name in manifests if not name.endswith(".example.yaml")]
    if listed != present:
        failures.append(f"kustomization.yaml lists {listed}, the folder's manifests are {present}")
    for name in manifests:
        for document in yaml.safe_load_all((KUBERNETES / name).read_text()):
            if document["kind"] == "Secret" and name in listed:
                failures.append(f"kustomization.yaml lists the Secret {name}: it would replace the real one")
    redis_listed = sorted(yaml.safe_load((REDIS / "kustomization.yaml").read_text())["resources"])
    redis_manifests = sorted(p.name for p in REDIS.glob("*.yaml") if p.name != "kustomization.yaml")
    if redis_listed != redis_manifests:
        failures.append(f"redis/kustomization.yaml lists {redis_listed}, the folder has {redis_manifests}")
    validated = subprocess.run(
        [
            "kubernetes-validate",
            "--strict",
            *(str(KUBERNETES / name) for name in manifests),
            *(str(REDIS / name) for name in redis_manifests),
        ]
    )
    if validated.returncode != 0:
        failures.append("kubernetes-validate refused a manifest (above)")

    settings = known_settings()
    given = {}
    for name in manifests:
        for document in yaml.safe_load_all((KUBERNETES / name).read_text()):
            if document["kind"] == "ConfigMap":
                given[f"kubernetes/{name}"] = document.get("data", {})
            elif document["kind"] == "Secret":
                given[f"kubernetes/{name}"] = document.get("stringData", {})
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    given["docker-compose.yml"] = compose["services"]["gateway"]["environment"]
    for where, values in given.items():
        for key in values:
            if key not in settings:
                failures.append(f"{where}: {key} is not a gateway setting")
    for failure in failures:
        print(f"FAIL {failure}")
    if failures:
        sys.exit(1)
    print(f"deploy/ checked: {len(manifests) + len(redis_manifests)} manifests, {sum(map(len, given.values()))} settings")


if __name__ == "__main__":
    main()
