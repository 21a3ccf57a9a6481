#!/usr/bin/env python3
"""Checks the launch recipes of scripts/scale-out/ without a cluster (docs/scale-out.md).

kforge-job.yaml must parse as YAML and be an indexed Job whose pods each take one GPU, number
themselves from the completion index, count as many nodes as the Job has completions, run the
node script from the ConfigMap they mount, and take the store's password from a Secret, never
from a value written in the manifest or a URL. The shell scripts must parse (bash -n), and the
Slurm script must be an array job of one GPU per task.

Exit 0 and one line when all hold; otherwise every failure, one a line, and exit 1.
`--self-test` breaks the manifest in each of the ways above and checks that each is caught.
"""
import copy
import pathlib
import re
import subprocess
import sys
import urllib.parse

import yaml

HERE = pathlib.Path(__file__).resolve().parent
INDEX_FIELD = "metadata.annotations['batch.kubernetes.io/job-completion-index']"


def env_of(container):
    return {item["name"]: item for item in container.get("env", [])}


def check_job(documents):
    errors = []
    jobs = [d for d in documents if d and d.get("kind") == "Job"]
    if len(jobs) != 1:
        return [f"kforge-job.yaml: expected one Job, found {len(jobs)}"]
    job = jobs[0]
    spec = job.get("spec", {})
    if job.get("apiVersion") != "batch/v1":
        errors.append("the Job's apiVersion is not batch/v1")
    if spec.get("completionMode") != "Indexed":
        errors.append("the Job is not indexed (completionMode: Indexed)")
    completions = spec.get("completions")
    if not isinstance(completions, int) or completions < 1:
        errors.append("the Job has no positive completions")
    if spec.get("parallelism") != completions:
        errors.append("parallelism differs from completions: some GPUs would wait")
    pod = spec.get("template", {}).get("spec", {})
    if pod.get("restartPolicy") not in ("Never", "OnFailure"):
        errors.append("a Job's pods need restartPolicy Never or OnFailure")
    containers = pod.get("containers", [])
    if len(containers) != 1:
        return errors + [f"expected one container, found {len(containers)}"]
    container = containers[0]
    gpus = container.get("resources", {}).get("limits", {}).get("nvidia.com/gpu")
    if gpus != 1:
        errors.append(f"each pod must take one GPU (limits nvidia.com/gpu: 1), not {gpus}")
    env = env_of(container)
    index = env.get("KFORGE_INDEX", {}).get("valueFrom", {}).get("fieldRef", {})
    if index.get("fieldPath") != INDEX_FIELD:
        errors.append("KFORGE_INDEX is not the pod's completion index")
    if env.get("KFORGE_NODES", {}).get("value") != str(completions):
        errors.append("KFORGE_NODES differs from the Job's completions")
    for name in ("KFORGE_DB", "KFORGE_TASKS"):
        if not env.get(name, {}).get("value"):
            errors.append(f"{name} is not set")
    url = urllib.parse.urlsplit(env.get("KFORGE_DB", {}).get("value", ""))
    if url.password is not None:
        errors.append("KFORGE_DB holds a password: kforge refuses one; use the Secret")
    if "sslmode=verify-full" not in url.query:
        errors.append("KFORGE_DB does not ask for sslmode=verify-full")
    secret = env.get("PGPASSWORD", {}).get("valueFrom", {}).get("secretKeyRef")
    if not secret or not secret.get("name") or not secret.get("key"):
        errors.append("PGPASSWORD does not come from a Secret (secretKeyRef)")
    for item in env.values():
        if re.search(r"pass(word)?", item["name"], re.I) and "value" in item:
            errors.append(f"{item['name']} is written in the manifest: take it from a Secret")
    words = container.get("command", []) + container.get("args", [])
    if any("password" in str(word).lower() for word in words):
        errors.append("a password appears on the container's command line")
    # The node script: the command runs it from a mounted ConfigMap.
    mounts = {m["name"]: m["mountPath"] for m in container.get("volumeMounts", [])}
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    script = next((w for w in words if str(w).endswith("kforge-node.sh")), None)
    if script is None:
        errors.append("the container does not run kforge-node.sh")
    else:
        holder = [n for n, path in mounts.items() if str(script).startswith(path.rstrip("/") + "/")]
        if not holder or "configMap" not in volumes.get(holder[0], {}):
            errors.append(f"{script} is not in a mounted ConfigMap")
    for name in mounts:
        if name not in volumes:
            errors.append(f"the volume mount {name} has no volume")
    return errors


def check_sbatch(text):
    errors = []
    directives = re.findall(r"^#SBATCH\s+(\S+)", text, re.M)
    if not any(d.startswith("--array=") for d in directives):
        errors.append("kforge-array.sbatch: no #SBATCH --array")
    if "--gres=gpu:1" not in directives:
        errors.append("kforge-array.sbatch: no #SBATCH --gres=gpu:1 (one GPU per array task)")
    return errors


def check_shell(path):
    result = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
    return [] if result.returncode == 0 else [f"{path.name}: {result.stderr.strip()}"]


def check_all():
    errors = []
    try:
        documents = list(yaml.safe_load_all((HERE / "kforge-job.yaml").read_text()))
    except yaml.YAMLError as error:
        return [f"kforge-job.yaml does not parse: {error}".replace("\n", " ")]
    errors += check_job(documents)
    errors += check_sbatch((HERE / "kforge-array.sbatch").read_text())
    for script in ("kforge-node.sh", "kforge-array.sbatch"):
        errors += check_shell(HERE / script)
    return errors


def self_test():
    documents = list(yaml.safe_load_all((HERE / "kforge-job.yaml").read_text()))
    assert check_job(documents) == [], check_job(documents)

    def container(docs):
        return docs[0]["spec"]["template"]["spec"]["containers"][0]

    def env(docs, name):
        return env_of(container(docs))[name]

    breakages = {
        "not indexed": lambda d: d[0]["spec"].pop("completionMode"),
        "parallelism": lambda d: d[0]["spec"].update(parallelism=1),
        "two GPUs": lambda d: container(d)["resources"]["limits"].update({"nvidia.com/gpu": 2}),
        "index": lambda d: env(d, "KFORGE_INDEX").update(valueFrom={"fieldRef": {"fieldPath": "x"}}),
        "nodes": lambda d: env(d, "KFORGE_NODES").update(value="3"),
        "password in URL": lambda d: env(d, "KFORGE_DB").update(
            value="postgresql://kforge:hunter2@db/kforge?sslmode=verify-full"),
        "no TLS": lambda d: env(d, "KFORGE_DB").update(value="postgresql://kforge@db/kforge"),
        "password written": lambda d: env(d, "PGPASSWORD").update(value="hunter2"),
        "no secret": lambda d: env(d, "PGPASSWORD").pop("valueFrom"),
        "script not mounted": lambda d: container(d).update(command=["bash", "/tmp/kforge-node.sh"]),
        "no job": lambda d: d[0].update(kind="Pod"),
    }
    for name, breakage in breakages.items():
        broken = copy.deepcopy(documents)
        breakage(broken)
        assert check_job(broken), f"the check missed: {name}"
    assert check_sbatch("#SBATCH --array=0-1\n"), "the check missed: no GPU per array task"
    assert check_sbatch("#SBATCH --gres=gpu:1\n"), "the check missed: no array"
    try:
        yaml.safe_load("kind: Job\n  spec: [")
        raise AssertionError("broken YAML parsed")
    except yaml.YAMLError:
        pass
    print(f"check-manifests self-test: {len(breakages) + 3} breakages caught")


def main():
    if sys.argv[1:] == ["--self-test"]:
        self_test()
        return 0
    errors = check_all()
    for error in errors:
        print(f"check-manifests: {error}")
    if errors:
        return 1
    print("check-manifests: kforge-job.yaml, kforge-array.sbatch and kforge-node.sh hold")
    return 0


if __name__ == "__main__":
    sys.exit(main())
