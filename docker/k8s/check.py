"""Checks docker/k8s/*.yaml: valid Kubernetes objects (kubernetes-validate, strict, against
the API schemas of a recent Kubernetes), and the fields that make rwsgi run well there.
Prints ok/not ok lines and "N passed, N failed"."""
import glob
import os
import sys

import kubernetes_validate
import yaml

VERSION = "1.30.0"
HERE = os.path.dirname(os.path.abspath(__file__))
passed = failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
        print("ok - " + what)
    else:
        failed += 1
        print("not ok - " + what)


objects = {}
for path in sorted(glob.glob(os.path.join(HERE, "*.yaml"))):
    for doc in yaml.safe_load_all(open(path)):
        try:
            kubernetes_validate.validate(doc, VERSION, strict=True)
            check(True, "%s %s is a valid Kubernetes %s object" % (os.path.basename(path), doc["kind"], VERSION))
        except kubernetes_validate.ValidationError as e:
            check(False, "%s %s: %s" % (os.path.basename(path), doc["kind"], e))
        objects[doc["kind"]] = doc

deployment, service = objects["Deployment"], objects["Service"]
pod = deployment["spec"]["template"]["spec"]
(container,) = pod["containers"]
args = container["args"]
port = int(args[args.index("--port") + 1])
shutdown = int(args[args.index("--shutdown-timeout") + 1]) if "--shutdown-timeout" in args else 5
ports = {p["name"]: p["containerPort"] for p in container["ports"]}
check(ports.get("http") == port, "the container port named http is rwsgi-express's --port %d" % port)
check(service["spec"]["selector"] == deployment["spec"]["template"]["metadata"]["labels"]
      and service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"],
      "the Service selects the Deployment's pods")
check(service["spec"]["ports"][0]["targetPort"] in ("http", port), "the Service sends to that port")
for probe in ("readinessProbe", "livenessProbe"):
    get = container[probe].get("httpGet", {})
    check(get.get("port") in ("http", port) and get.get("path", "").startswith("/"),
          "%s is an HTTP GET on the application's port" % probe)
stop = container["lifecycle"]["preStop"]["exec"]["command"]
wait = int(stop[1]) if stop[0] == "sleep" else 0
grace = pod["terminationGracePeriodSeconds"]
check(wait > 0, "preStop waits (%d s) for the endpoints to drop the pod" % wait)
check(grace >= wait + shutdown + 5,
      "terminationGracePeriodSeconds %d covers preStop %d s + the graceful stop %d s + 5 s"
      % (grace, wait, shutdown))
security = dict(pod.get("securityContext", {}), **container.get("securityContext", {}))
check(security.get("runAsNonRoot") is True and security.get("runAsUser") == 10001,
      "runs as non-root, the image's user 10001")
check(security.get("readOnlyRootFilesystem") is True and security.get("allowPrivilegeEscalation") is False,
      "read-only root file system, no privilege escalation")
mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
volumes = {v["name"]: v for v in pod.get("volumes", [])}
check("/tmp" in mounts and "emptyDir" in volumes.get(mounts["/tmp"], {}),
      "/tmp (rwsgi-express's server root) is a writable emptyDir")
requests = container.get("resources", {}).get("requests", {})
check("cpu" in requests and "memory" in requests, "resource requests for CPU and memory")
print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
