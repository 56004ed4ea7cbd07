"""What scripts/check-helm checks of the chart's options around the service:
commonLabels, the extra env, volumes and containers, the NetworkPolicy, the
helm test, the migration's own credentials, the image digest, Redis TLS files
and Chart.yaml's metadata. Each check takes the rendered objects and the
merged values and returns the problems it finds (empty: none)."""

from urllib.parse import urlsplit

import yaml

# The ports the service's pods serve, by name.
SERVED_PORTS = {"grpc", "metrics"}


def _env(container):
    return {e["name"]: e for e in container.get("env", [])}


def _image(image, app_version):
    """The reference the chart must render for these image values."""
    if image["digest"]:
        return f"{image['repository']}@{image['digest']}"
    return f"{image['repository']}:{image.get('tag') or app_version}"


def _secret_mounts(pod, container):
    """Mount path -> (Secret name, readOnly) of the container's Secret volumes."""
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    mounts = {}
    for mount in container.get("volumeMounts", []):
        volume = volumes.get(mount["name"], {})
        if "secret" in volume:
            mounts[mount["mountPath"]] = (volume["secret"]["secretName"], bool(mount.get("readOnly")))
    return mounts


def common_labels(objects, merged):
    wanted = merged["commonLabels"]
    problems = []
    for obj in objects:
        name = f"{obj['kind']}/{obj['metadata']['name']}"
        labelled = [("metadata", obj["metadata"].get("labels", {}))]
        if obj["kind"] in ("Deployment", "Job"):
            labelled.append(("pod template", obj["spec"]["template"]["metadata"].get("labels", {})))
        for where, labels in labelled:
            missing = {k: v for k, v in wanted.items() if labels.get(k) != v}
            if missing:
                problems.append(f"{name} {where} lacks commonLabels {missing}")
    return problems


def deployment_extras(deployment, merged):
    """extraEnv, extraEnvFrom, extraVolumes, extraVolumeMounts, sidecars,
    initContainers and podAnnotations, each where it belongs and as given."""
    problems = []
    template = deployment["spec"]["template"]
    pod = template["spec"]
    containers = pod["containers"]
    service = containers[0]
    if service["name"] != "access-service":
        problems.append(f"the first container is {service['name']}, not access-service")
    env = _env(service)
    for entry in merged["extraEnv"]:
        if env.get(entry["name"]) != entry:
            problems.append(f"extraEnv {entry['name']} is not in the container's env as given")
    env_from = service.get("envFrom", [])
    if not env_from or "configMapRef" not in env_from[0]:
        problems.append("the chart's ConfigMap must come first in envFrom (extraEnvFrom after it wins)")
    if env_from[1:] != merged["extraEnvFrom"]:
        problems.append(f"envFrom after the ConfigMap is {env_from[1:]}, not extraEnvFrom")
    volumes = pod.get("volumes", [])
    for volume in merged["extraVolumes"]:
        if volume not in volumes:
            problems.append(f"extraVolumes {volume['name']} is not among the pod's volumes")
    names = [v["name"] for v in volumes]
    if len(names) != len(set(names)):
        problems.append(f"two volumes share a name: {names}")
    for mount in merged["extraVolumeMounts"]:
        if mount not in service.get("volumeMounts", []):
            problems.append(f"extraVolumeMounts {mount['mountPath']} is not among the container's mounts")
    if containers[1:] != merged["sidecars"]:
        problems.append(f"the containers after access-service are {[c['name'] for c in containers[1:]]}, not sidecars")
    if pod.get("initContainers", []) != merged["initContainers"]:
        problems.append("the pod's initContainers are not initContainers as given")
    annotations = template["metadata"].get("annotations", {})
    missing = {k: v for k, v in merged["podAnnotations"].items() if annotations.get(k) != v}
    if missing or "checksum/config" not in annotations:
        problems.append(f"pod annotations lack {missing or 'checksum/config'}")
    return problems


def network_policy(by_kind, merged):
    policies = by_kind.get("NetworkPolicy", [])
    problems = []
    if len(policies) != int(merged["networkPolicy"]["enabled"]):
        return [f"{len(policies)} NetworkPolicy objects with networkPolicy.enabled={merged['networkPolicy']['enabled']}"]
    if not policies:
        return []
    spec = policies[0]["spec"]
    values = merged["networkPolicy"]
    deployment = by_kind["Deployment"][0]
    if spec["podSelector"] != {"matchLabels": deployment["spec"]["selector"]["matchLabels"]}:
        problems.append("the NetworkPolicy must select exactly the Deployment's pods")
    if sorted(spec.get("policyTypes", [])) != ["Egress", "Ingress"]:
        problems.append(f"policyTypes {spec.get('policyTypes')}: both Ingress and Egress must be restricted")
    # In: only the served ports, the gRPC one from the callers (and the test
    # pod), the metrics one from the monitoring namespaces.
    ingress = {}
    for rule in spec.get("ingress", []):
        ports = [p.get("port") for p in rule.get("ports", [])]
        if not ports or not set(ports) <= SERVED_PORTS or not rule.get("from"):
            problems.append(f"ingress rule {rule} opens more than a served port to named peers")
        for port in ports:
            ingress[port] = rule.get("from", [])
    callers = {"podSelector": {"matchLabels": values["ingress"]["callerPodLabels"]}}
    if values["ingress"]["callerNamespaceLabels"]:
        callers["namespaceSelector"] = {"matchLabels": values["ingress"]["callerNamespaceLabels"]}
    if callers not in ingress.get("grpc", []):
        problems.append(f"the gRPC port does not admit the callers {callers}")
    for peer in values["ingress"]["extraFrom"]:
        if peer not in ingress.get("grpc", []):
            problems.append(f"the gRPC port does not admit networkPolicy.ingress.extraFrom {peer}")
    tests = by_kind.get("Pod", [])
    for test in tests:
        labels = test["metadata"]["labels"]
        if not any(peer.get("podSelector", {}).get("matchLabels", {"": None}).items() <= labels.items()
                   and "namespaceSelector" not in peer for peer in ingress.get("grpc", [])):
            problems.append("the helm test's pod is not let in to the gRPC port")
    if merged["metrics"]["enabled"]:
        monitoring = {"namespaceSelector": {"matchLabels": values["ingress"]["metricsNamespaceLabels"]}}
        if values["ingress"]["metricsPodLabels"]:
            monitoring["podSelector"] = {"matchLabels": values["ingress"]["metricsPodLabels"]}
        if ingress.get("metrics") != [monitoring]:
            problems.append(f"the metrics port admits {ingress.get('metrics')}, not {monitoring}")
    elif "metrics" in ingress:
        problems.append("the metrics port is opened while metrics are off")
    # Out: DNS, then each destination the chart uses on its port.
    egress = spec.get("egress", [])
    extra = values["egress"]["extraTo"]
    own = egress[:len(egress) - len(extra)] if extra else egress
    if extra and egress[len(own):] != extra:
        problems.append("networkPolicy.egress.extraTo is not rendered as given, last")
    dns = next((r for r in own if {"port": 53, "protocol": "UDP"} in r.get("ports", [])), None)
    if dns is None or {"port": 53, "protocol": "TCP"} not in dns["ports"]:
        problems.append("DNS (53 over UDP and TCP) is not allowed out")
    used = {"database": True, "redis": bool(merged["redis"]["existingSecret"]),
            "smtp": bool(merged["smtp"]["existingSecret"]), "otlp": bool(merged["otel"]["endpoint"]),
            "jwks": bool(merged["actors"]["jwksUrl"])}
    by_port = {}
    for rule in own:
        if rule is dns:
            continue
        if len(rule.get("ports", [])) != 1:
            problems.append(f"egress rule {rule}: one TCP port each")
            continue
        by_port.setdefault(rule["ports"][0]["port"], []).append(rule)
    urls = {"otlp": merged["otel"]["endpoint"], "jwks": merged["actors"]["jwksUrl"]}
    expected_rules = 0
    for target, on in used.items():
        if not on:
            continue
        expected_rules += 1
        wanted = values["egress"][target]
        port = wanted.get("port")  # Helm drops a null value's key
        if port is None:  # the port of the URL, else its scheme's
            url = urlsplit(urls[target])
            port = url.port or (443 if url.scheme == "https" else 80)
        peers = [{"ipBlock": {"cidr": c}} for c in wanted["cidrs"]] + wanted["peers"]
        rule = {"ports": [{"port": port, "protocol": "TCP"}]}
        if peers:
            rule["to"] = peers
        if rule not in by_port.get(port, []):
            problems.append(f"egress to {target} is not {rule}")
    if sum(len(rules) for rules in by_port.values()) != expected_rules:
        problems.append(f"egress opens {sorted(by_port)} while the chart uses "
                        f"{[t for t, on in used.items() if on]}")
    return problems


def helm_test(by_kind, merged, app_version, release, namespace):
    tests = by_kind.get("Pod", [])
    if len(tests) != int(merged["test"]["enabled"]):
        return [f"{len(tests)} test pods with test.enabled={merged['test']['enabled']}"]
    if not tests:
        return []
    problems = []
    test = tests[0]
    pod = test["spec"]
    if test["metadata"].get("annotations", {}).get("helm.sh/hook") != "test":
        problems.append("the test pod is not a helm.sh/hook: test")
    service = next(s for s in by_kind["Service"] if s["spec"]["ports"][0]["name"] == "grpc")
    if service["spec"]["selector"].items() <= test["metadata"]["labels"].items():
        problems.append("the Service selects the test pod")
    if pod.get("securityContext") != merged["podSecurityContext"] or pod.get("automountServiceAccountToken") is not False:
        problems.append("the test pod must have the chart's podSecurityContext and no service-account token")
    if pod.get("restartPolicy") != "Never" or len(pod["containers"]) != 1:
        problems.append("the test pod runs one container once")
    container = pod["containers"][0]
    if container.get("securityContext") != merged["securityContext"]:
        problems.append("the test container must have the chart's securityContext")
    if container["image"] != _image(merged["test"]["image"], app_version):
        problems.append(f"test image {container['image']} is not {_image(merged['test']['image'], app_version)}")
    args = container.get("args", [])
    address = f"-addr={service['metadata']['name']}.{namespace}.svc:{service['spec']['ports'][0]['port']}"
    if address not in args or "-service=access.v1.AccessService" not in args:
        problems.append(f"the test must ask the Service ({address}) about access.v1.AccessService, got {args}")
    tls = merged["tls"]["existingSecret"]
    if tls:
        flags = dict(a.split("=", 1) for a in args if "=" in a)
        mounts = _secret_mounts(pod, container)
        expected_secret = merged["test"]["tls"]["existingSecret"] or tls
        wanted = ["-tls-ca-cert"] + (["-tls-client-cert", "-tls-client-key"] if merged["test"]["tls"]["certKey"] else [])
        if "-tls" not in args or flags.get("-tls-server-name") != f"{service['metadata']['name']}.{namespace}.svc":
            problems.append("with TLS on the test must speak TLS and check the Service's name")
        for flag in wanted:
            directory = flags.get(flag, "").rsplit("/", 1)[0]
            if mounts.get(directory) != (expected_secret, True):
                problems.append(f"test {flag} {flags.get(flag)} is not in a read-only mount of Secret {expected_secret}")
    elif any(a.startswith("-tls") for a in args):
        problems.append("the test speaks TLS to a plaintext port")
    return problems


def database_credentials(by_kind, merged):
    """The runtime reads database.existingSecret; the migration Job its own
    Secret when one is given, and the runtime never reads that one."""
    problems = []
    runtime = (merged["database"]["existingSecret"], merged["database"]["key"])
    migrator = ((merged["migration"]["database"]["existingSecret"], merged["migration"]["database"]["key"])
                if merged["migration"]["database"]["existingSecret"] else runtime)
    for kind, wanted in (("Deployment", runtime), ("Job", migrator)):
        for obj in by_kind.get(kind, []):
            env = _env(obj["spec"]["template"]["spec"]["containers"][0])
            ref = env.get("ACCESS_DATABASE_URL", {}).get("valueFrom", {}).get("secretKeyRef", {})
            if (ref.get("name"), ref.get("key")) != wanted:
                problems.append(f"{kind} reads ACCESS_DATABASE_URL from {ref}, not {wanted}")
    if migrator != runtime:
        for deployment in by_kind.get("Deployment", []):
            if migrator[0] in yaml.safe_dump(deployment["spec"]["template"]):
                problems.append(f"the service's pods reference the migration's Secret {migrator[0]}")
    return problems


def images(by_kind, merged, app_version):
    wanted = _image(merged["image"], app_version)
    problems = []
    for kind in ("Deployment", "Job"):
        for obj in by_kind.get(kind, []):
            image = obj["spec"]["template"]["spec"]["containers"][0]["image"]
            if image != wanted:
                problems.append(f"{kind} runs {image}, not {wanted} (a digest wins over the tag)")
    return problems


def redis_tls(deployment, merged):
    problems = []
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    env = {name: e.get("value") for name, e in _env(container).items()}
    values = merged["redis"]["tls"]
    on = bool(values["existingSecret"] and merged["redis"]["existingSecret"])
    mounts = _secret_mounts(pod, container)
    for variable, key in (("ACCESS_REDIS_CA_FILE", "caKey"), ("ACCESS_REDIS_CLIENT_CERT_FILE", "certKey"),
                          ("ACCESS_REDIS_CLIENT_KEY_FILE", "keyKey")):
        if (variable in env) != bool(on and values[key]):
            problems.append(f"{variable} must be set exactly when redis.tls.existingSecret and redis.tls.{key} are")
        elif variable in env:
            directory, file = env[variable].rsplit("/", 1)
            if file != values[key] or mounts.get(directory) != (values["existingSecret"], True):
                problems.append(f"{variable} {env[variable]} is not {values[key]} of a read-only mount of "
                                f"Secret {values['existingSecret']}")
    return problems


def redis_entry_keys(deployment, merged):
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    env = {name: e.get("value") for name, e in _env(container).items()}
    values = merged["redis"]["entryKeys"]
    on = bool(values["existingSecret"] and merged["redis"]["existingSecret"])
    variable = "ACCESS_REDIS_ENTRY_KEYS_FILE"
    if (variable in env) != on:
        return [f"{variable} must be set exactly when redis.entryKeys.existingSecret and redis.existingSecret are"]
    if not on:
        return []
    directory, _ = env[variable].rsplit("/", 1)
    if _secret_mounts(pod, container).get(directory) != (values["existingSecret"], True):
        return [f"{variable} {env[variable]} is not in a read-only mount of Secret {values['existingSecret']}"]
    return []


def chart_metadata(path):
    with open(f"{path}/Chart.yaml") as f:
        chart = yaml.safe_load(f)
    problems = []
    urls = [chart.get("home", "")] + chart.get("sources", [])
    if len(urls) < 2 or not all(isinstance(u, str) and u.startswith("https://") for u in urls):
        problems.append(f"Chart.yaml needs an https:// home and sources, got {urls}")
    maintainers = chart.get("maintainers", [])
    if not maintainers or not all(m.get("name") and "@" in m.get("email", "") for m in maintainers):
        problems.append(f"Chart.yaml needs maintainers with a name and an email, got {maintainers}")
    return problems


def check_all(objects, merged, app_version, release, namespace):
    by_kind = {}
    for obj in objects:
        by_kind.setdefault(obj["kind"], []).append(obj)
    problems = common_labels(objects, merged)
    deployment = by_kind["Deployment"][0]
    problems += deployment_extras(deployment, merged)
    problems += network_policy(by_kind, merged)
    problems += helm_test(by_kind, merged, app_version, release, namespace)
    problems += database_credentials(by_kind, merged)
    problems += images(by_kind, merged, app_version)
    problems += redis_tls(deployment, merged)
    problems += redis_entry_keys(deployment, merged)
    return problems
