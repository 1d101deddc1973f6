#!/usr/bin/env python3
"""Drift checks of deploy/kubernetes/ against the code: what the schemas cannot know.

    kubernetes_drift.py [--self-test] NAME=RENDERED.yaml ...

Each NAME=FILE is one `kubectl kustomize` output (base, dev, production, …; `dev` may run one
pod, every other render at least two). The facts come from
the sources, never from a copy: the variables the server reads from `struct Env` in
app/src/infra/config.rs (and `env::var("…")` calls), their defaults from its `impl Default`, the
required ones from deploy/CHECKLIST.md's **required** marks, the routes from
server/src/startup.rs, the subcommands from server/src/cli.rs, the metric names from
app/src/infra/metrics.rs and server/src/metrics.rs.

--self-test then breaks the production render in memory once per check (a probe path, a port, a
variable, a selector, …) and fails unless each break is caught: a check that cannot fail is no
check. Needs PyYAML and promql-parser (scripts/kubernetes.sh installs both into its venv).
"""

from __future__ import annotations

import base64
import copy
import ipaddress
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import promql_parser
import yaml

ROOT = Path(__file__).resolve().parent.parent
KUBE = ROOT / "deploy" / "kubernetes"
SECRET_TEMPLATE = KUBE / "secret.example.yaml"
ALERTS = KUBE / "alerts" / "accounts.rules.yaml"
# The pods of this app (the server and the migrations Job) carry this label.
APP_LABEL = ("app.kubernetes.io/name", "accounts")
# Postgres's default superuser_reserved_connections.
SUPERUSER_RESERVED = 3
# The kinds with a pod template.
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Job"}


def read(relative: str) -> str:
    return (ROOT / relative).read_text(encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# Facts from the sources


@dataclass
class Facts:
    variables: set[str]
    defaults: dict[str, str]
    required: set[str]
    routes: set[str]
    subcommands: set[str]
    metrics: set[str]
    metrics_path: str
    secret_keys: set[str]
    secret_name: str


def env_struct_fields(config: str) -> list[str]:
    body = config.split("struct Env {", 1)[1].split("}", 1)[0]
    fields = []
    for line in body.splitlines():
        line = line.strip()
        if not line or line.startswith("//") or ":" not in line:
            continue
        fields.append(line.split(":", 1)[0].strip())
    if len(fields) < 30:
        sys.exit(f"drift: parsed only {len(fields)} fields of struct Env in app/src/infra/config.rs")
    return fields


def variables_read(config: str) -> set[str]:
    """The fields of `Env` (each is its variable in lower case) and `env::var("NAME")` literals."""
    names = {f.upper() for f in env_struct_fields(config)}
    for directory in ("app/src", "server/src"):
        for source in sorted((ROOT / directory).rglob("*.rs")):
            text = source.read_text(encoding="utf-8")
            names.update(re.findall(r'env::var(?:_os)?\("([A-Z0-9_]+)"\)', text))
    return names


def env_defaults(config: str) -> dict[str, str]:
    """`impl Default for Env`: each field's default as the text a variable would hold."""
    consts = dict(re.findall(r'pub const ([A-Z_]+): &str = "([^"]*)";', config))
    body = config.split("impl Default for Env", 1)[1].split("\n}\n", 1)[0]
    defaults = {}
    for name, value in re.findall(r"^\s*([a-z_0-9]+): (.+),$", body, re.MULTILINE):
        value = value.strip()
        if m := re.fullmatch(r'"([^"]*)"\.into\(\)', value):
            defaults[name.upper()] = m.group(1)
        elif m := re.fullmatch(r"([A-Z_]+)\.into\(\)", value):
            defaults[name.upper()] = consts[m.group(1)]
        elif re.fullmatch(r"[0-9 *]+", value):
            product = 1
            for factor in value.split("*"):
                product *= int(factor)
            defaults[name.upper()] = str(product)
        elif value in ("true", "false"):
            defaults[name.upper()] = value
    for needed in ("LEPTOS_SITE_ADDR", "METRICS_ADDR", "SHUTDOWN_GRACE_SECS", "APP_ENV",
                   "DATABASE_MAX_CONNECTIONS"):
        if needed not in defaults:
            sys.exit(f"drift: no default for {needed} found in `impl Default for Env`")
    return defaults


def checklist_required() -> set[str]:
    required = set()
    for line in read("deploy/CHECKLIST.md").splitlines():
        if not line.startswith("| `"):
            continue
        name = line[3:].split("`", 1)[0]
        if line.rstrip("| ").rsplit("|", 1)[-1].strip().startswith("**required**"):
            required.add(name)
    if not required:
        sys.exit("drift: deploy/CHECKLIST.md marks no variable **required**")
    return required


def public_routes() -> set[str]:
    return set(re.findall(r'\.route\(\s*"([^"]+)"', read("server/src/startup.rs")))


def subcommands() -> set[str]:
    parse = read("server/src/cli.rs").split("pub fn parse", 1)[1]
    return {word for arm in re.findall(r'^\s*("[^=]+")\s*=>', parse, re.MULTILINE)
            for word in re.findall(r'"([^"]+)"', arm)}


def without_tests(text: str) -> str:
    return text.split("#[cfg(test)]", 1)[0]


def metric_names() -> tuple[set[str], str]:
    """The series the server exports: the event names of app/src/infra/metrics.rs, and the
    build-info and scrape-time gauges of server/src/metrics.rs."""
    app = without_tests(read("app/src/infra/metrics.rs"))
    server = without_tests(read("server/src/metrics.rs"))
    names = set(re.findall(r'pub const [A-Z_]+: &str = "([a-z_:][a-z0-9_:]*)";', app))
    consts = dict(re.findall(r'const ([A-Z_]+): &str = "([^"]*)";', app + server))
    for const in re.findall(r"(?:counter|gauge)!\(\s*(?:names::)?([A-Z_]+)", server):
        names.add(consts[const])
    names.update(re.findall(r'\bgauge\(\s*[^,()]+,\s*"([a-z_:][a-z0-9_:]*)"', server))
    if "METRICS_PATH" not in consts or len(names) < 10:
        sys.exit("drift: could not read the metric names of server/src/metrics.rs")
    # A histogram is exported as its _bucket, _sum and _count series.
    for const in re.findall(r"histogram!\(\s*(?:names::)?([A-Z_]+)", server):
        name = consts[const]
        names.update({f"{name}_bucket", f"{name}_sum", f"{name}_count"})
    return names, consts["METRICS_PATH"]


def load_facts() -> Facts:
    config = read("app/src/infra/config.rs")
    template = yaml.safe_load(SECRET_TEMPLATE.read_text(encoding="utf-8"))
    keys = set(template.get("stringData", {})) | set(template.get("data", {}))
    metrics, metrics_path = metric_names()
    return Facts(
        variables=variables_read(config),
        defaults=env_defaults(config),
        required=checklist_required(),
        routes=public_routes(),
        subcommands=subcommands(),
        metrics=metrics,
        metrics_path=metrics_path,
        secret_keys=keys,
        secret_name=template["metadata"]["name"],
    )


# ---------------------------------------------------------------------------------------------
# The rendered manifests


@dataclass
class Render:
    name: str
    docs: list[dict]
    min_replicas: int
    failures: list[tuple[str, str]] = field(default_factory=list)

    def fail(self, check: str, message: str) -> None:
        self.failures.append((check, message))

    def of_kind(self, *kinds: str) -> list[dict]:
        return [d for d in self.docs if d.get("kind") in kinds]

    def named(self, kind: str, name: str) -> dict | None:
        return next((d for d in self.of_kind(kind) if d["metadata"]["name"] == name), None)


def pod_spec(workload: dict) -> dict:
    return workload["spec"]["template"]["spec"]


def template_labels(workload: dict) -> dict:
    return workload["spec"]["template"].get("metadata", {}).get("labels", {}) or {}


def containers(workload: dict) -> list[dict]:
    spec = pod_spec(workload)
    return spec.get("initContainers", []) + spec.get("containers", [])


def selects(selector: dict | None, labels: dict) -> bool:
    """Whether a selector (matchLabels/matchExpressions, or a Service's plain map) picks pods with
    `labels`. An empty selector counts as picking nothing: every selector here must be explicit."""
    if not selector:
        return False
    if "matchLabels" in selector or "matchExpressions" in selector:
        match, expressions = selector.get("matchLabels") or {}, selector.get("matchExpressions") or []
    else:
        match, expressions = selector, []
    if not match and not expressions:
        return False
    if any(labels.get(key) != value for key, value in match.items()):
        return False
    for expression in expressions:
        key, values = expression["key"], expression.get("values", [])
        holds = {"In": labels.get(key) in values, "NotIn": labels.get(key) not in values,
                 "Exists": key in labels, "DoesNotExist": key not in labels}[expression["operator"]]
        if not holds:
            return False
    return True


def app_workloads(render: Render) -> list[dict]:
    key, value = APP_LABEL
    return [w for w in render.of_kind(*WORKLOAD_KINDS) if template_labels(w).get(key) == value]


def secret_data(secret: dict) -> dict[str, str]:
    data = dict(secret.get("stringData", {}) or {})
    for key, value in (secret.get("data", {}) or {}).items():
        data[key] = base64.b64decode(value or "").decode("utf-8", "replace")
    return data


def effective_env(render: Render, container: dict) -> dict[str, object]:
    """Each variable the container gets: its value (text), or the reference it comes from."""
    env: dict[str, object] = {}
    for source in container.get("envFrom", []):
        if ref := source.get("configMapRef"):
            config_map = render.named("ConfigMap", ref["name"])
            if config_map is None:
                render.fail("references", f"envFrom names ConfigMap {ref['name']}, not in the render")
                continue
            for key, value in (config_map.get("data") or {}).items():
                env[source.get("prefix", "") + key] = value
        if ref := source.get("secretRef"):
            secret = render.named("Secret", ref["name"])
            for key in secret_data(secret) if secret else []:
                env[source.get("prefix", "") + key] = {"secretRef": ref["name"]}
    for var in container.get("env", []):
        env[var["name"]] = var["value"] if "value" in var else var.get("valueFrom", {})
        # A key of a Secret in the render (the dev overlay's) has a value to look at.
        ref = var.get("valueFrom", {}).get("secretKeyRef")
        secret = render.named("Secret", ref["name"]) if ref else None
        if secret is not None:
            env[var["name"]] = secret_data(secret).get(ref["key"], "")
    return env


def is_set(value: object) -> bool:
    """A non-empty value, or a reference to one that must exist (its value is not in the render)."""
    if isinstance(value, str):
        return value.strip() != ""
    if isinstance(value, dict):
        ref = value.get("secretKeyRef") or value.get("configMapKeyRef") or {}
        return bool(value) and not ref.get("optional", False)
    return False


def socket_port(address: str) -> tuple[str, int] | None:
    """`IP:port` as the server parses it (a socket address, never a name); None for `off` or
    anything it would refuse."""
    host, _, port = address.rpartition(":")
    try:
        return str(ipaddress.ip_address(host.strip("[]"))), int(port)
    except ValueError:
        return None


def setting(env: dict, facts: Facts, name: str) -> str:
    value = env.get(name)
    return value if isinstance(value, str) and value.strip() else facts.defaults[name]


def is_server(container: dict) -> bool:
    """The serving container: the one the server runs in with no subcommand."""
    return not container.get("args") and not container.get("command")


# ---------------------------------------------------------------------------------------------
# Checks: each takes the render and the facts, and records failures under its own name.


def check_variables(render: Render, facts: Facts) -> None:
    for workload in app_workloads(render):
        for container in containers(workload):
            env = effective_env(render, container)
            where = f"{workload['kind']}/{workload['metadata']['name']}"
            for name in sorted(set(env) - facts.variables):
                render.fail("variables", f"{where} sets {name}, which the server never reads")
            production = setting(env, facts, "APP_ENV") == "production"
            for name in sorted(facts.required if production else set()):
                if name != "APP_ENV" and not is_set(env.get(name)):
                    render.fail("variables", f"{where}: {name} is required in production and not set")
            # The development mailbox shows every code to whoever opens it: never on a cluster.
            if not is_set(env.get("SMTP_URL")):
                render.fail("variables", f"{where}: SMTP_URL unset, so the development mailbox is on")


def check_secrets(render: Render, facts: Facts) -> None:
    rendered = {s["metadata"]["name"]: secret_data(s) for s in render.of_kind("Secret")}
    for workload in app_workloads(render):
        for container in containers(workload):
            for var in container.get("env", []):
                ref = var.get("valueFrom", {}).get("secretKeyRef")
                if not ref:
                    continue
                where = f"{workload['metadata']['name']}: {var['name']}"
                if ref["key"] not in facts.secret_keys:
                    render.fail("secrets", f"{where} reads key {ref['key']}, not in {SECRET_TEMPLATE.name}")
                if ref["name"] in rendered:
                    if ref["key"] not in rendered[ref["name"]] and not ref.get("optional"):
                        render.fail("secrets", f"{where}: Secret {ref['name']} has no key {ref['key']}")
                elif ref["name"] != facts.secret_name:
                    render.fail("secrets", f"{where} names Secret {ref['name']}, neither rendered nor the template's")
    for key in sorted(facts.secret_keys - facts.variables):
        render.fail("secrets", f"{SECRET_TEMPLATE.name} holds {key}, which the server never reads")
    # Secrets stay out of ConfigMaps: no secret's key, no password in a URL, no secret's value.
    secret_keys = facts.secret_keys | {k for data in rendered.values() for k in data}
    secret_values = {v for data in rendered.values() for v in data.values() if len(v) >= 8}
    for config_map in render.of_kind("ConfigMap"):
        for key, value in (config_map.get("data") or {}).items():
            where = f"ConfigMap {config_map['metadata']['name']}: {key}"
            if key in secret_keys:
                render.fail("secrets", f"{where} is a secret's key")
            if re.search(r"://[^/@\s:]+:[^/@\s]+@", value):
                render.fail("secrets", f"{where} holds a URL with a password")
            if any(v in value for v in secret_values):
                render.fail("secrets", f"{where} holds a Secret's value")


def check_probes_and_ports(render: Render, facts: Facts) -> None:
    for workload in app_workloads(render):
        for container in containers(workload):
            if not is_server(container):
                continue
            env = effective_env(render, container)
            where = f"{workload['metadata']['name']}/{container['name']}"
            ports = {p.get("name"): p["containerPort"] for p in container.get("ports", [])}
            site = socket_port(setting(env, facts, "LEPTOS_SITE_ADDR"))
            if site is None or ports.get("http") != site[1]:
                render.fail("ports", f"{where}: port http is {ports.get('http')}, the server listens on {site}")
            elif ipaddress.ip_address(site[0]).is_loopback:
                render.fail("ports", f"{where}: LEPTOS_SITE_ADDR {site[0]} is loopback, out of the Service's reach")
            metrics = socket_port(setting(env, facts, "METRICS_ADDR"))
            if "metrics" in ports and (metrics is None or ports["metrics"] != metrics[1]):
                render.fail("ports", f"{where}: port metrics is {ports['metrics']}, METRICS_ADDR says {metrics}")
            elif metrics and "metrics" in ports and ipaddress.ip_address(metrics[0]).is_loopback:
                render.fail("ports", f"{where}: METRICS_ADDR is loopback, Prometheus cannot scrape it")
            annotations = workload["spec"]["template"].get("metadata", {}).get("annotations", {}) or {}
            if "prometheus.io/path" in annotations and annotations["prometheus.io/path"] != facts.metrics_path:
                render.fail("ports", f"{where}: prometheus.io/path is not {facts.metrics_path}")
            if "prometheus.io/port" in annotations and int(annotations["prometheus.io/port"]) != ports.get("metrics"):
                render.fail("ports", f"{where}: prometheus.io/port is not the metrics port")
            for kind in ("startupProbe", "livenessProbe", "readinessProbe"):
                probe = container.get(kind)
                if probe is None:
                    render.fail("probes", f"{where} has no {kind}")
                    continue
                get = probe.get("httpGet", {})
                if get.get("path") not in facts.routes:
                    render.fail("probes", f"{where}: {kind} asks {get.get('path')}, not a route of server/src/startup.rs")
                if get.get("port") not in ("http", ports.get("http")):
                    render.fail("probes", f"{where}: {kind} does not ask the public listener")
            ready = (container.get("readinessProbe") or {}).get("httpGet", {}).get("path")
            if ready == "/readyz":
                render.fail("probes", f"{where}: readiness on /readyz fails every replica when mail stalls")


def check_shutdown(render: Render, facts: Facts) -> None:
    for workload in app_workloads(render):
        if workload["kind"] == "Job":
            continue
        for container in containers(workload):
            if not is_server(container):
                continue
            grace = int(setting(effective_env(render, container), facts, "SHUTDOWN_GRACE_SECS"))
            pause = (container.get("lifecycle", {}).get("preStop", {}).get("sleep") or {}).get("seconds", 0)
            period = pod_spec(workload).get("terminationGracePeriodSeconds", 30)
            if pause <= 0:
                render.fail("shutdown", f"{workload['metadata']['name']}: no preStop pause")
            if period <= pause + grace:
                render.fail("shutdown", f"{workload['metadata']['name']}: terminationGracePeriodSeconds "
                            f"{period} is not above the preStop pause {pause} + SHUTDOWN_GRACE_SECS {grace}")


def check_jobs(render: Render, facts: Facts) -> None:
    jobs = [w for w in app_workloads(render) if w["kind"] == "Job"]
    if not jobs:
        render.fail("jobs", "no migrations Job")
    for job in jobs:
        for container in containers(job):
            args = container.get("args", [])
            if not args or args[0] not in facts.subcommands:
                render.fail("jobs", f"Job {job['metadata']['name']} runs `server {' '.join(args)}`, "
                            "not a subcommand of server/src/cli.rs")


def check_images(render: Render, facts: Facts) -> None:
    for workload in render.of_kind(*WORKLOAD_KINDS):
        for container in containers(workload):
            image = container.get("image", "")
            name = image.split("@", 1)[0]
            tag = name.rsplit(":", 1)[1] if ":" in name.rsplit("/", 1)[-1] else None
            if "@sha256:" not in image and (tag is None or tag == "latest"):
                render.fail("images", f"{workload['metadata']['name']}/{container['name']}: image {image} "
                            "has no fixed tag (never :latest)")


def check_selectors(render: Render, facts: Facts) -> None:
    workloads = render.of_kind(*WORKLOAD_KINDS)
    for workload in workloads:
        selector = workload["spec"].get("selector")
        if workload["kind"] != "Job" and not selects(selector, template_labels(workload)):
            render.fail("selectors", f"{workload['kind']}/{workload['metadata']['name']}: selector does not "
                        "match its own pod labels")
        for spread in pod_spec(workload).get("topologySpreadConstraints", []):
            if not selects(spread.get("labelSelector"), template_labels(workload)):
                render.fail("selectors", f"{workload['metadata']['name']}: a topology spread selects other pods")
    for service in render.of_kind("Service"):
        matched = [w for w in workloads if selects(service["spec"].get("selector"), template_labels(w))]
        name = service["metadata"]["name"]
        if not matched:
            render.fail("selectors", f"Service {name} selects no pods")
        if any(w["kind"] == "Job" for w in matched):
            render.fail("selectors", f"Service {name} selects a Job's pods")
        for port in service["spec"].get("ports", []):
            target = port.get("targetPort", port["port"])
            for workload in matched:
                known = {p.get("name") for c in containers(workload) for p in c.get("ports", [])} | \
                    {p["containerPort"] for c in containers(workload) for p in c.get("ports", [])}
                if target not in known:
                    render.fail("selectors", f"Service {name}: targetPort {target} is not a port of "
                                f"{workload['metadata']['name']}")
    for kind in ("PodDisruptionBudget", "NetworkPolicy"):
        for policy in render.of_kind(kind):
            selector = policy["spec"].get("selector") or policy["spec"].get("podSelector")
            if not any(selects(selector, template_labels(w)) for w in workloads):
                render.fail("selectors", f"{kind} {policy['metadata']['name']} selects no pods")
    for hpa in render.of_kind("HorizontalPodAutoscaler"):
        target = hpa["spec"]["scaleTargetRef"]
        if render.named(target["kind"], target["name"]) is None:
            render.fail("selectors", f"HPA {hpa['metadata']['name']} scales {target['kind']}/{target['name']}, "
                        "not in the render")
    services = {s["metadata"]["name"]: s for s in render.of_kind("Service")}

    def backend(where: str, name: str, port: object) -> None:
        service = services.get(name)
        ports = {p.get("name") for p in service["spec"]["ports"]} | \
            {p["port"] for p in service["spec"]["ports"]} if service else set()
        if service is None or port not in ports:
            render.fail("selectors", f"{where} sends to {name}:{port}, not a Service port of the render")

    for ingress in render.of_kind("Ingress"):
        for rule in ingress["spec"].get("rules", []):
            for path in rule.get("http", {}).get("paths", []):
                svc = path["backend"]["service"]
                backend(f"Ingress {ingress['metadata']['name']}", svc["name"],
                        svc["port"].get("name", svc["port"].get("number")))
    for route in render.of_kind("HTTPRoute"):
        for rule in route["spec"].get("rules", []):
            for ref in rule.get("backendRefs", []):
                backend(f"HTTPRoute {route['metadata']['name']}", ref["name"], ref.get("port"))


def check_security(render: Render, facts: Facts) -> None:
    """The "restricted" Pod Security Standard, and a read-only root file system, for every pod."""
    for workload in render.of_kind(*WORKLOAD_KINDS):
        spec = pod_spec(workload)
        pod = spec.get("securityContext", {}) or {}
        name = workload["metadata"]["name"]
        for host in ("hostNetwork", "hostPID", "hostIPC"):
            if spec.get(host):
                render.fail("security", f"{name}: {host}")
        if any("hostPath" in v for v in spec.get("volumes", [])):
            render.fail("security", f"{name}: a hostPath volume")
        for container in containers(workload):
            ctx = container.get("securityContext", {}) or {}
            where = f"{name}/{container['name']}"
            if not (ctx.get("runAsNonRoot", pod.get("runAsNonRoot")) is True):
                render.fail("security", f"{where}: runAsNonRoot is not true")
            if ctx.get("runAsUser", pod.get("runAsUser")) == 0:
                render.fail("security", f"{where}: runs as root")
            seccomp = (ctx.get("seccompProfile") or pod.get("seccompProfile") or {}).get("type")
            if seccomp not in ("RuntimeDefault", "Localhost"):
                render.fail("security", f"{where}: seccompProfile is not RuntimeDefault")
            if ctx.get("allowPrivilegeEscalation") is not False:
                render.fail("security", f"{where}: allowPrivilegeEscalation is not false")
            if ctx.get("privileged"):
                render.fail("security", f"{where}: privileged")
            if "ALL" not in (ctx.get("capabilities", {}) or {}).get("drop", []):
                render.fail("security", f"{where}: capabilities not all dropped")
            if set((ctx.get("capabilities", {}) or {}).get("add", [])) - {"NET_BIND_SERVICE"}:
                render.fail("security", f"{where}: adds capabilities")
            if ctx.get("readOnlyRootFilesystem") is not True:
                render.fail("security", f"{where}: root file system is writable")
    for namespace in render.of_kind("Namespace"):
        labels = namespace["metadata"].get("labels", {}) or {}
        if labels.get("pod-security.kubernetes.io/enforce") != "restricted":
            render.fail("security", f"Namespace {namespace['metadata']['name']} does not enforce restricted")


def check_capacity(render: Render, facts: Facts) -> None:
    """Enough pods, rolled without losing one; and, when the render holds its Postgres, room in
    max_connections for every pool at the peak of a rollout."""
    hpas = {h["spec"]["scaleTargetRef"]["name"]: h for h in render.of_kind("HorizontalPodAutoscaler")}
    peak = 0
    for workload in app_workloads(render):
        if workload["kind"] == "Job":
            pool = max((int(setting(effective_env(render, c), facts, "DATABASE_MAX_CONNECTIONS"))
                        for c in containers(workload)), default=0)
            peak += pool
            continue
        name = workload["metadata"]["name"]
        hpa = hpas.get(name)
        least = hpa["spec"].get("minReplicas", 1) if hpa else workload["spec"].get("replicas", 1)
        most = hpa["spec"]["maxReplicas"] if hpa else workload["spec"].get("replicas", 1)
        if least < render.min_replicas:
            render.fail("capacity", f"{name}: at least {least} replicas, this render needs {render.min_replicas}")
        rolling = workload["spec"].get("strategy", {}).get("rollingUpdate", {})
        if workload["kind"] == "Deployment" and rolling.get("maxUnavailable") != 0:
            render.fail("capacity", f"{name}: a rollout may take a pod away first (maxUnavailable is not 0)")
        surge = rolling.get("maxSurge", 1)
        if isinstance(surge, str):
            surge = -(-most * int(surge.rstrip("%")) // 100)
        pool = max(int(setting(effective_env(render, c), facts, "DATABASE_MAX_CONNECTIONS"))
                   for c in containers(workload))
        peak += (most + surge) * pool
    for database in render.of_kind("StatefulSet"):
        for container in containers(database):
            words = container.get("args", []) + container.get("command", [])
            for word in words:
                if m := re.fullmatch(r"max_connections=(\d+)", str(word)):
                    room = int(m.group(1)) - SUPERUSER_RESERVED
                    if peak > room:
                        render.fail("capacity", f"pools at a rollout's peak need {peak} connections, "
                                    f"{database['metadata']['name']} allows {room}")


CHECKS = [check_variables, check_secrets, check_probes_and_ports, check_shutdown, check_jobs,
          check_images, check_selectors, check_security, check_capacity]


def check_alerts(facts: Facts) -> list[str]:
    """Every alert parses as PromQL and names only metrics the server exports."""
    failures = []
    rules = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))
    count = 0
    for group in rules["groups"]:
        for rule in group["rules"]:
            count += 1
            try:
                expr = promql_parser.parse(rule["expr"])
            except ValueError as e:
                failures.append(f"{rule.get('alert')}: not PromQL ({e})")
                continue
            for name in selector_names(expr):
                if name not in facts.metrics:
                    failures.append(f"{rule.get('alert')}: {name} is not a metric the server exports")
    if count == 0:
        failures.append("no alerting rules")
    return failures


def selector_names(node: object) -> list[str]:
    if isinstance(node, promql_parser.VectorSelector):
        return [node.name] if node.name else []
    if isinstance(node, promql_parser.MatrixSelector):
        return selector_names(node.vector_selector)
    names = []
    for attr in ("lhs", "rhs", "expr"):
        if hasattr(node, attr):
            names += selector_names(getattr(node, attr))
    for arg in getattr(node, "args", None) or []:
        names += selector_names(arg)
    return names


def run_checks(render: Render, facts: Facts) -> None:
    for check in CHECKS:
        check(render, facts)


# ---------------------------------------------------------------------------------------------
# Self-test: one break per check, each must be caught.


def server_container(docs: list[dict]) -> dict:
    deployment = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "accounts")
    return pod_spec(deployment)["containers"][0]


def settings_map(docs: list[dict]) -> dict:
    return next(d for d in docs if d["kind"] == "ConfigMap")["data"]


def job(docs: list[dict]) -> dict:
    return next(d for d in docs if d["kind"] == "Job")


BREAKS = {
    "probes: a path the server does not serve":
        ("probes", lambda d: server_container(d)["readinessProbe"]["httpGet"].update(path="/ready")),
    "probes: readiness on the shared /readyz":
        ("probes", lambda d: server_container(d)["readinessProbe"]["httpGet"].update(path="/readyz")),
    "ports: the container port is not the listener's":
        ("ports", lambda d: server_container(d)["ports"][0].update(containerPort=8080)),
    "ports: the server listens on loopback":
        ("ports", lambda d: settings_map(d).update(LEPTOS_SITE_ADDR="127.0.0.1:3000")),
    "variables: a variable the server does not read":
        ("variables", lambda d: settings_map(d).update(DATABASE_POOL_SIZE="8")),
    "variables: a required variable missing":
        ("variables", lambda d: server_container(d).update(
            env=[v for v in server_container(d)["env"] if v["name"] != "SECRET_KEY"])),
    "secrets: a key the Secret template lacks":
        ("secrets", lambda d: server_container(d)["env"][0]["valueFrom"]["secretKeyRef"].update(key="SECRET")),
    "secrets: a secret in the ConfigMap":
        ("secrets", lambda d: settings_map(d).update(DATABASE_URL="postgres://a:b@db/accounts")),
    "selectors: a Service that selects nothing":
        ("selectors", lambda d: next(x for x in d if x["kind"] == "Service")["spec"]["selector"].update(
            {"app.kubernetes.io/component": "web"})),
    "selectors: a PodDisruptionBudget that selects nothing":
        ("selectors", lambda d: next(x for x in d if x["kind"] == "PodDisruptionBudget")["spec"]["selector"][
            "matchLabels"].update({"app.kubernetes.io/name": "acounts"})),
    "images: a latest tag":
        ("images", lambda d: server_container(d).update(image="registry.example.com/accounts/server:latest")),
    "images: no tag at all":
        ("images", lambda d: server_container(d).update(image="registry.example.com/accounts/server")),
    "shutdown: the kubelet kills before the drain ends":
        ("shutdown", lambda d: pod_spec(next(x for x in d if x["kind"] == "Deployment")).update(
            terminationGracePeriodSeconds=25)),
    "jobs: a subcommand the server does not have":
        ("jobs", lambda d: pod_spec(job(d))["containers"][0].update(args=["migrations"])),
    "security: a writable root file system":
        ("security", lambda d: server_container(d)["securityContext"].update(readOnlyRootFilesystem=False)),
    "capacity: one replica in production":
        ("capacity", lambda d: next(x for x in d if x["kind"] == "HorizontalPodAutoscaler")["spec"].update(
            minReplicas=1)),
}


def self_test(base: Render, facts: Facts) -> list[str]:
    """Caught means a failure of that check the unbroken render does not have, so a check that
    already fails on the real manifests cannot pass its own test."""
    failures = []
    unbroken = Render(base.name, copy.deepcopy(base.docs), base.min_replicas)
    run_checks(unbroken, facts)
    for description, (check, breaking) in BREAKS.items():
        docs = copy.deepcopy(base.docs)
        breaking(docs)
        broken = Render(base.name, docs, base.min_replicas)
        run_checks(broken, facts)
        if not any(name == check for name, _ in set(broken.failures) - set(unbroken.failures)):
            failures.append(f"self-test: {description}: not caught by the {check} check")
    # The capacity sum against a Postgres in the render, and the alert names.
    dev_like = copy.deepcopy(base.docs) + [{
        "kind": "StatefulSet", "metadata": {"name": "postgres"},
        "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {
            "metadata": {"labels": {"a": "b"}},
            "spec": {"containers": [{"name": "p", "image": "postgres:16", "args": ["-c", "max_connections=20"]}]}}}}]
    broken = Render(base.name, dev_like, base.min_replicas)
    check_capacity(broken, facts)
    if not any(name == "capacity" for name, _ in broken.failures):
        failures.append("self-test: pools over max_connections: not caught by the capacity check")
    bad = copy.copy(facts)
    bad.metrics = facts.metrics - {"email_outbox_oldest_pending_age_seconds"}
    if not check_alerts(bad):
        failures.append("self-test: an alert on a metric the server lacks: not caught")
    return failures


def main(argv: list[str]) -> int:
    self_testing = "--self-test" in argv
    renders = []
    for arg in (a for a in argv if a != "--self-test"):
        name, _, path = arg.partition("=")
        docs = [d for d in yaml.safe_load_all(Path(path).read_text(encoding="utf-8")) if d]
        # Production runs at least two pods; the dev overlay one.
        renders.append(Render(name, docs, min_replicas=1 if name == "dev" else 2))
    if not renders:
        print(__doc__, file=sys.stderr)
        return 2
    facts = load_facts()
    failed = 0
    for render in renders:
        run_checks(render, facts)
        for check, message in render.failures:
            print(f"FAIL {render.name} [{check}] {message}")
        failed += len(render.failures)
        if not render.failures:
            print(f"ok   {render.name}: {len(render.docs)} objects agree with the code")
    for message in check_alerts(facts):
        print(f"FAIL alerts {message}")
        failed += 1
    if self_testing:
        production = next((r for r in renders if r.name == "production"), renders[-1])
        for message in self_test(production, facts):
            print(f"FAIL {message}")
            failed += 1
        if not failed:
            print(f"ok   self-test: each of {len(BREAKS) + 2} breaks was caught")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
