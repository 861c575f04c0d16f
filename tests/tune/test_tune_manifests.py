"""The cluster manifests against their upstream schemas: the rendered KubeRay RayJob against
KubeRay's CRD OpenAPI schema (a verbatim copy in tests/tune/schemas/), and the `ray up` cluster
launcher YAML against the schema shipped in the ray package. Unknown fields are errors, as with
`kubectl apply --validate=strict`, so a misspelt key cannot pass."""
from __future__ import annotations

import copy
import hashlib
import re
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
import yaml

from tune.submit import main as submit

SCHEMAS = Path(__file__).resolve().parent / "schemas"
CRD = SCHEMAS / "kuberay-v1.7.0-ray.io_rayjobs.yaml"
REPO = Path(__file__).resolve().parents[2]


def strict(schema):
    """The schema with `additionalProperties: false` on every object that lists its properties
    and does not keep unknown fields (x-kubernetes-preserve-unknown-fields): the API server
    prunes or (strict validation) rejects such fields, jsonschema would let them pass."""
    if isinstance(schema, dict):
        out = {k: strict(v) for k, v in schema.items()}
        if ("properties" in out and "additionalProperties" not in out
                and not out.get("x-kubernetes-preserve-unknown-fields")):
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [strict(v) for v in schema]
    return schema


@pytest.fixture(scope="module")
def rayjob_validator():
    crd = yaml.safe_load(CRD.read_text())
    assert crd["kind"] == "CustomResourceDefinition" and crd["spec"]["names"]["kind"] == "RayJob"
    v1 = next(v for v in crd["spec"]["versions"] if v["name"] == "v1")
    schema = strict(v1["schema"]["openAPIV3Schema"])
    jsonschema.Draft4Validator.check_schema(schema)   # OpenAPI v3.0 schemas are JSON Schema draft 4
    return jsonschema.Draft4Validator(schema)


def test_crd_copy_is_the_one_its_readme_names():
    note = (SCHEMAS / "README.md").read_text()
    digest = hashlib.sha256(CRD.read_bytes()).hexdigest()
    assert f"| sha256 | `{digest}` |" in note
    assert "ray-project/kuberay/blob/v1.7.0/ray-operator/config/crd/bases/ray.io_rayjobs.yaml" in note


def render_k8s(tmp_path, *extra: str) -> dict:
    out = tmp_path / "rayjob.yaml"
    assert submit(["--target", "k8s", "quickstart", "--out", str(out), *extra]) == 0
    return yaml.safe_load(out.read_text())


@pytest.mark.parametrize("extra", [
    (),
    ("--nodes", "4", "--cpus-per-node", "8", "--gpus-per-node", "2", "--gpus-per-trial", "0.25",
     "--mem", "32Gi", "--storage", "s3://bucket/ssvae", "--smoke"),
])
def test_rendered_rayjob_validates_against_kuberay_crd(rayjob_validator, tmp_path, extra):
    job = render_k8s(tmp_path, *extra)
    errors = sorted(rayjob_validator.iter_errors(job), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors)
    # What the schema cannot say: the pieces the study needs are there.
    cluster = job["spec"]["rayClusterSpec"]
    assert cluster["authOptions"] == {"mode": "token"}
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", cluster["rayVersion"])


def test_crd_validation_catches_a_broken_manifest(rayjob_validator, tmp_path):
    job = render_k8s(tmp_path)
    typo = copy.deepcopy(job)
    typo["spec"]["rayClusterSpec"]["workerGroupSpecs"][0]["replica"] = 3       # not `replicas`
    wrong_type = copy.deepcopy(job)
    wrong_type["spec"]["rayClusterSpec"]["workerGroupSpecs"][0]["replicas"] = "3"
    bad_mode = copy.deepcopy(job)
    bad_mode["spec"]["rayClusterSpec"]["authOptions"]["mode"] = "tokens"
    for broken in (typo, wrong_type, bad_mode):
        assert list(rayjob_validator.iter_errors(broken))


def ray_cluster_schema() -> dict:
    path = resources.files("ray.autoscaler") / "ray-schema.json"
    if not path.is_file():
        pytest.skip(f"this ray has no cluster schema at {path}")
    import json

    return json.loads(path.read_text())


def test_ray_up_yaml_validates_against_rays_schema():
    schema = ray_cluster_schema()
    config = yaml.safe_load((REPO / "tune" / "cluster" / "ray_cluster.yaml").read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    errors = list(jsonschema.Draft7Validator(schema).iter_errors(config))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)
    assert config["provider"]["type"] == "local"
    broken = {**config, "head_start_ray_command": config["head_start_ray_commands"]}  # a typo
    assert list(jsonschema.Draft7Validator(schema).iter_errors(broken))
